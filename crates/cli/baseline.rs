//! `portcullis baseline list`: the baselines in force, each control with its standards
//! mappings; `portcullis baseline from-device ADDR --out FILE`: a site baseline from a
//! reference camera (the golden camera), for `audit`, `plan` and `apply --baseline FILE` or
//! as the data directory's `site-baseline.toml`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use portcullis_core::baseline::golden::Taken;
use portcullis_core::tasks::golden::{from_device, GoldenRequest};
use portcullis_core::tasks::Event;
use portcullis_core::workspace::{Selection, SystemClock, Workspace};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The site's baseline file (when it keeps one: audits use it) and the built-in
    /// profiles, with the site's parameters as SITE-* controls and each control's
    /// ETSI EN 303 645, NIST CSF 2.0 and IEC 62443-4-2 mappings.
    List,
    /// Write a site baseline from a reference camera's settings (extending the built-in
    /// baseline for its protocol). Addresses, names, certificates, firmware and accounts
    /// are left out; a value weaker than the built-in's is left out unless --keep-weaker.
    FromDevice {
        /// The reference camera: ADDR or ADDR:PORT.
        device: String,
        /// Where to write the baseline (TOML).
        #[arg(long)]
        out: PathBuf,
        /// The baseline's name (`[baseline] name`).
        #[arg(long, default_value = "site")]
        name: String,
        /// Copy values that fail a built-in control too (each is marked in the file).
        #[arg(long)]
        keep_weaker: bool,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        /// Seconds a read may take (default: the built-in timing).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: Option<u64>,
    },
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let Command::FromDevice { device, out: file, name, keep_weaker, force, timeout } = command else {
        return list(out);
    };
    if file.exists() && !force {
        anyhow::bail!("{} exists: pass --force to replace it", file.display());
    }
    let ws = Arc::new(Workspace::from_env()?);
    let req = GoldenRequest {
        device: Selection::Specs(vec![device]),
        name,
        keep_weaker,
        timeout: timeout.map(Duration::from_secs),
    };
    let quiet = |_: Event| {};
    let golden = crate::audit::runtime()?.block_on(from_device(&ws, &req, &SystemClock, &quiet))?;
    std::fs::write(&file, &golden.text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if out.json {
        out.record("baseline", &serde_json::json!({ "file": file, "extends": golden.extends, "taken": golden.taken }));
        return Ok(ExitCode::SUCCESS);
    }
    let summary = golden.summary();
    println!(
        "Wrote {} (extends {}): {} value(s) copied, {} as the built-in expects, {} not read.",
        file.display(),
        summary.extends,
        summary.copied,
        summary.as_built_in,
        summary.not_read,
    );
    for t in &golden.taken {
        match t {
            Taken::LeftWeaker { setting, control, value, expected } => println!(
                "  left out: {control} {setting} is {value} on the reference camera, weaker than {expected} \
                 (--keep-weaker copies it)"
            ),
            Taken::CopiedWeaker { setting, control, value, expected } => {
                println!("  WEAKER, copied as asked: {control} {setting} = {value} (the built-in expects {expected})")
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Workspace::from_env()?;
    let site = ws.policy(&portcullis_core::workspace::PolicyInput::default())?.site;
    for p in portcullis_core::tasks::baselines::profiles(Some(&ws), Some(&site))? {
        if out.json {
            out.record("profile", &p);
            continue;
        }
        let used = if p.active { "  (audits use it)" } else { "" };
        println!("{}@{} — {} ({}){used}", p.name, p.version, p.title, p.source);
        let mapped = |m: &[String]| if m.is_empty() { "-".to_string() } else { m.join(",") };
        for c in &p.controls {
            println!(
                "  {:<14} {:<8} {} {}   ETSI {} · NIST {} · IEC {}",
                c.id,
                format!("{:?}", c.severity).to_lowercase(),
                c.setting,
                c.expect,
                mapped(&c.etsi_en_303_645),
                mapped(&c.nist_csf_2),
                mapped(&c.iec_62443_4_2),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
