//! Integration tests of the `portcullis` binary against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod advisories;
mod apply;
mod backups;
mod campaign;
mod commissioning;
mod discover;
mod firmware;
mod inventory;
mod keyring;
mod recover;
mod report;
mod shared;
mod site;
mod traffic;
mod trust;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The multicast tests share one loopback-only namespace: one at a time, so that one's
/// flood of spoofed announcements is not another's discovery.
pub static MULTICAST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything any test's `portcullis` printed: the canary test searches it.
pub static ALL_OUTPUT: Mutex<String> = Mutex::new(String::new());

/// Whether `password` shows in `text`. A factory default such as `12345` is also a run of
/// digits inside a hash, a port or a size, so a short password counts only as a whole word;
/// a long one counts wherever it appears.
pub fn shows_password(text: &str, password: &str) -> bool {
    if password.len() >= 8 {
        return text.contains(password);
    }
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(password).any(|(at, _)| {
        let before = text.get(..at).and_then(|t| t.chars().next_back());
        let after = text.get(at + password.len()..).and_then(|t| t.chars().next());
        !word_char(before) && !word_char(after)
    })
}

#[test]
fn a_short_password_shows_only_as_a_whole_word() {
    assert!(shows_password("admin:12345@", "12345"));
    assert!(shows_password("12345", "12345"));
    assert!(!shows_password("sha256 9f812345ab", "12345"));
    assert!(!shows_password("took 123456 ms", "12345"));
    assert!(shows_password("xSim-abcdefgh7y", "Sim-abcdefgh7"));
}

/// The simulator's fleet file written into `home`, imported into its inventory.
pub async fn import_fleet(home: &Home, fleet: &portcullis_sim::Fleet) {
    let doc = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() });
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let imported = home.run(&["inventory", "import", file.to_str().unwrap()]).await;
    assert!(imported.ok, "{}", imported.text);
}

/// A site baseline for the simulator's quick restarts: the built-in Hikvision baseline,
/// the test site's management host and NTP server, and `reboot_s` (a camera not back by
/// then is not coming). Written into `home`; its path.
pub fn quick_site_baseline(home: &Home, reboot_s: u32) -> PathBuf {
    let file = home.dir.join("site.toml");
    let text = format!(
        "[baseline]\nname = \"site\"\nversion = \"1\"\ntitle = \"Site\"\nextends = \"hikvision-hardening\"\n\n\
         [site]\nmanagement_hosts = [\"127.0.0.1\"]\nntp_servers = [\"192.0.2.1\"]\n\n[site.timing]\nreboot_s = {reboot_s}\n"
    );
    std::fs::write(&file, text).unwrap();
    file
}

#[derive(Debug)]
pub struct Outcome {
    pub ok: bool,
    /// The exit status (None when a signal ended the process).
    pub code: Option<i32>,
    pub text: String,
}

/// A throwaway PORTCULLIS_HOME with a file vault.
#[derive(Debug)]
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn new(tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("pc-home-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Home { dir }
    }

    pub async fn run(&self, args: &[&str]) -> Outcome {
        self.run_stdin(args, "").await
    }

    /// Run the real binary off the async runtime (the simulator lives on it).
    pub async fn run_stdin(&self, args: &[&str], input: &str) -> Outcome {
        self.run_with_vault(args, input, "file").await
    }

    pub async fn run_with_vault(&self, args: &[&str], input: &str, vault: &str) -> Outcome {
        self.spawn(args, input, vault, &[]).await
    }

    /// As `run`, with more of the environment set (a system proxy the engine ignores).
    pub async fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        self.spawn(args, "", "file", env).await
    }

    async fn spawn(&self, args: &[&str], input: &str, vault: &str, env: &[(&str, &str)]) -> Outcome {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (dir, input, vault) = (self.dir.clone(), input.to_string(), vault.to_string());
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
                .args(&args)
                .envs(env)
                .env("PORTCULLIS_HOME", &dir)
                .env("PORTCULLIS_VAULT", vault)
                .env("PORTCULLIS_VAULT_PASSPHRASE", "integration tests only")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            ALL_OUTPUT.lock().unwrap().push_str(&text);
            Outcome { ok: out.status.success(), code: out.status.code(), text }
        })
        .await
        .unwrap()
    }
}

#[test]
fn help_lists_the_planned_subcommands() {
    let o = Command::new(env!("CARGO_BIN_EXE_portcullis")).arg("--help").output().unwrap();
    assert!(o.status.success());
    let t = String::from_utf8_lossy(&o.stdout);
    for cmd in ["inventory", "creds", "audit", "discover", "plan", "apply", "recover", "history", "report", "handover"]
    {
        assert!(t.contains(cmd), "--help lacks {cmd}:\n{t}");
    }
}

/// Issue #16: the CLI as people install it: completions for every shell, the manual
/// pages, and a version that names the commit.
#[test]
fn completions_man_pages_and_the_version_with_its_commit() {
    let portcullis = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_portcullis")).args(args).output().unwrap();
    for (shell, mark) in [
        ("bash", "_portcullis()"),
        ("zsh", "#compdef portcullis"),
        ("fish", "complete -c portcullis"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = portcullis(&["completions", shell]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && text.contains(mark), "{shell}: {text:.200}");
        assert!(text.contains("handover") && text.contains("rotate-passwords"), "{shell} knows the commands and flags");
    }
    let dir = std::env::temp_dir().join(format!("pc-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(portcullis(&["man", "--out", dir.to_str().unwrap()]).status.success());
    let page = std::fs::read_to_string(dir.join("portcullis.1")).unwrap();
    assert!(page.contains(".TH portcullis 1") && page.contains("PORTCULLIS_VAULT"), "{page:.300}");
    let apply = std::fs::read_to_string(dir.join("portcullis-apply.1")).unwrap();
    assert!(apply.contains("rotate") && apply.contains("passwords"), "the apply page has its flags: {apply:.300}");
    let _ = std::fs::remove_dir_all(&dir);
    let version = String::from_utf8_lossy(&portcullis(&["--version"]).stdout).to_string();
    let head =
        Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok().filter(|o| o.status.success());
    match head {
        Some(h) => assert!(version.contains(String::from_utf8_lossy(&h.stdout).trim()), "{version}"),
        None => assert!(version.contains("(commit "), "{version}"),
    }
}

#[test]
fn portcullis_home_follows_the_environment() {
    let o = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("home")
        .env("PORTCULLIS_HOME", "/tmp/portcullis-test-home")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "/tmp/portcullis-test-home");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_history_verifies() {
    let home = Home::new("history");
    let o = home.run(&["history", "verify", "--json"]).await;
    assert!(o.ok, "{}", o.text);
    let v: serde_json::Value = serde_json::from_str(o.text.trim()).unwrap();
    assert_eq!(v["records"], 0);
    assert_eq!(v["head"], "genesis");
    assert!(v["first_bad"].is_null());
}
