//! `portcullis plan`: read each device (an audit), then show the ordered changes its
//! failing controls need, as `setting: current → target`. Writes nothing anywhere.

use std::process::ExitCode;

use portcullis_core::plan::{plan_device, DevicePlan, SiteParameters};

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[group(id = "plan_args")]
pub struct Args {
    #[command(flatten)]
    audit: crate::audit::Args,
    /// NTP server the site uses (repeatable).
    #[arg(long = "ntp-server")]
    ntp_servers: Vec<String>,
    /// Host the IP filter must always admit (repeatable; the management host first).
    #[arg(long = "management-host")]
    management_hosts: Vec<String>,
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let site =
        SiteParameters { ntp_servers: args.ntp_servers.clone(), management_hosts: args.management_hosts.clone() };
    let mut audits = crate::audit::collect(&args.audit, |_| {})?;
    audits.sort_by_key(|a| a.target.parse::<std::net::SocketAddr>().map_err(|_| a.target.clone()));
    let mut plans: Vec<DevicePlan> = Vec::new();
    for a in &audits {
        if let Some(e) = &a.error {
            if !out.json {
                println!("{}: not planned: {}", a.target, e.message);
            }
            if a.findings.is_empty() {
                continue;
            }
        }
        plans.push(plan_device(&a.target, &a.findings, &site));
    }
    let steps: usize = plans.iter().map(|p| p.steps.len()).sum();
    if out.json {
        for p in &plans {
            out.record("plan", p);
        }
        out.record("summary", &serde_json::json!({ "devices": plans.len(), "steps": steps }));
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plans {
        if p.is_empty() {
            println!("{}: nothing to change", p.device);
            continue;
        }
        println!("{}:", p.device);
        for (i, s) in p.steps.iter().enumerate() {
            let show =
                |v: &Option<portcullis_core::posture::Value>| v.as_ref().map_or("?".to_string(), ToString::to_string);
            let blocked = s.blocked.as_ref().map(|b| format!("   [blocked: {b}]")).unwrap_or_default();
            println!(
                "  {:>2}. {:<15} {:<30} {} → {}   ({}){blocked}",
                i + 1,
                format!("{:?}", s.phase).to_lowercase(),
                s.setting,
                show(&s.from),
                s.to,
                s.action
            );
        }
    }
    println!("{} device(s), {steps} step(s). Nothing was changed (this is a plan).", plans.len());
    Ok(ExitCode::SUCCESS)
}
