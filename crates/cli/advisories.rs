//! `portcullis advisories show` and `portcullis advisories update FILE`: the firmware
//! advisory database the audit matches devices against, and replacing it offline with
//! a newer one whose checksum the operator confirms.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::advisories::{self, Origin};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The database in use: its version, where it came from, and every advisory with
    /// its sources (and why an advisory has no range, where its source gives none).
    Show,
    /// Install a newer database file. Refused unless its SHA-256 matches the one
    /// published with it (--sha256, or FILE.sha256 beside it) and its version is newer.
    Update {
        file: PathBuf,
        /// The file's SHA-256 (hex), as published beside it.
        #[arg(long)]
        sha256: Option<String>,
    },
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    match command {
        Command::Show => {
            let active = advisories::for_home(&home);
            show(&active, out);
        }
        Command::Update { file, sha256 } => {
            let digest = advisories::expected_digest(&file, sha256.as_deref())?;
            let active = advisories::update(&home, &file, &digest)?;
            let db = &active.database;
            if out.json {
                out.record(
                    "advisories_updated",
                    &serde_json::json!({ "version": db.version, "published": db.published, "advisories": db.advisories.len() }),
                );
            } else {
                println!(
                    "Installed advisory database version {} ({} advisories, published {}).",
                    db.version,
                    db.advisories.len(),
                    db.published
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(active: &advisories::Active, out: &Output) {
    let db = &active.database;
    if out.json {
        out.record(
            "advisory_database",
            &serde_json::json!({ "version": db.version, "published": db.published, "origin": active.origin }),
        );
        for a in &db.advisories {
            out.record("advisory", a);
        }
        return;
    }
    let origin = match &active.origin {
        Origin::Shipped => "shipped with this build".to_string(),
        Origin::Updated { path } => format!("installed from an update ({path})"),
        Origin::Refused { path, reason } => format!("shipped with this build; {path} was refused: {reason}"),
    };
    println!("Advisory database version {}, published {}, {origin}.", db.version, db.published);
    for a in &db.advisories {
        let kev = if a.kev { ", known exploited" } else { "" };
        println!("\n{} [{:?}{kev}] {}: {}", a.cves.join(", "), a.severity, a.vendor, a.title);
        for r in &a.affected {
            let fixed = r.fixed.as_ref().map(|f| format!(", fixed in {f}")).unwrap_or_default();
            println!("  {}{fixed}  ({})", r.describe(), r.source);
        }
        if let Some(why) = &a.no_range {
            println!("  no range: {why}");
        }
        for s in &a.sources {
            println!("  source: {} {}", s.name, s.url);
        }
    }
}
