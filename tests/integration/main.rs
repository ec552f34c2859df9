//! Integration tests of the `portcullis` binary against the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod inventory;

use std::process::{Command, Output};

/// Run the real `portcullis` binary.
pub fn portcullis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis")).args(args).output().expect("portcullis runs")
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn help_lists_the_planned_subcommands() {
    let o = portcullis(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for cmd in ["inventory", "discover", "audit", "plan", "apply", "recover", "history", "report", "handover"] {
        assert!(t.contains(cmd), "--help lacks {cmd}:\n{t}");
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
