//! `portcullis history [filters]` and `portcullis history verify`.

use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::history::{Filter, Outcome};
use portcullis_core::workspace::Workspace;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Only this device (ADDR:PORT as the audit names it).
    #[arg(long)]
    device: Option<String>,
    #[arg(long)]
    site: Option<String>,
    /// From this time on (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Up to this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Recompute the hash chain; names the first bad record. Exit status 1 if broken.
    Verify,
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let history = &Workspace::from_env()?.history;
    if let Some(Command::Verify) = args.command {
        let v = history.verify()?;
        if out.json {
            out.record("verification", &v);
        } else if let Some((seq, why)) = &v.first_bad {
            println!("BROKEN at record {seq}: {why} ({} records before it verify)", v.records);
        } else {
            println!("OK: {} record(s), chain head {}", v.records, v.head);
        }
        return Ok(if v.first_bad.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let filter = Filter {
        device: args.device.clone(),
        site: args.site.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
    };
    let records = history.query(&filter)?;
    if out.json {
        for r in &records {
            out.record("record", r);
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>5} {:<26} {:<22} {:<8} {:<30} {:<22} OUTCOME",
        "SEQ", "TIME", "DEVICE", "CONTROL", "SETTING", "CHANGE"
    );
    for r in &records {
        let c = &r.change;
        let show =
            |v: &Option<portcullis_core::posture::Value>| v.as_ref().map_or("-".to_string(), ToString::to_string);
        let outcome = match &c.outcome {
            Outcome::Intent => "intent".to_string(),
            Outcome::Verified => "verified".to_string(),
            Outcome::RolledBack { reason } => format!("rolled back: {reason}"),
            Outcome::Failed { reason } => format!("failed: {reason}"),
        };
        println!(
            "{:>5} {:<26} {:<22} {:<8} {:<30} {:<22} {outcome}",
            r.seq,
            r.time,
            c.device,
            c.control.as_deref().unwrap_or("-"),
            c.setting,
            format!("{} → {}", show(&c.before), show(&c.after)),
        );
    }
    println!("{} record(s)", records.len());
    Ok(ExitCode::SUCCESS)
}
