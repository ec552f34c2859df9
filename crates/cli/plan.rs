//! `portcullis plan`: read each device (an audit), then show the ordered changes its
//! failing controls need, as `setting: current → target`. Writes nothing anywhere.

use std::process::ExitCode;
use std::sync::Arc;

use portcullis_core::plan::DevicePlan;
use portcullis_core::site::SiteSection;
use portcullis_core::tasks::{self, audit::AuditRequest, Event};
use portcullis_core::workspace::Workspace;

use crate::output::{show, Output};

#[derive(Debug, Clone, clap::Args)]
#[group(id = "plan_args")]
pub struct Args {
    #[command(flatten)]
    pub(crate) audit: crate::audit::Args,
    /// NTP server the site uses (repeatable).
    #[arg(long = "ntp-server")]
    pub(crate) ntp_servers: Vec<String>,
    /// Host the IP filter must always admit (repeatable; the management host first).
    #[arg(long = "management-host")]
    pub(crate) management_hosts: Vec<String>,
}

impl Args {
    /// The request: the flags fill what the baseline's `[site]` table leaves empty.
    pub(crate) fn request(&self) -> anyhow::Result<AuditRequest> {
        let site = SiteSection {
            ntp_servers: self.ntp_servers.clone(),
            management_hosts: self.management_hosts.clone(),
            ..Default::default()
        };
        self.audit.request(site)
    }
}

/// Devices that get no plan, said on the terminal.
pub(crate) fn say_not_planned(out: &Output) -> impl Fn(Event) + Send + Sync + '_ {
    move |e| {
        if let (false, Event::NotPlanned { device, reason }) = (out.json, e) {
            println!("{device}: not planned: {reason}");
        }
    }
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Arc::new(Workspace::from_env()?);
    let (plans, _) =
        crate::audit::runtime()?.block_on(tasks::plan::run(&ws, &args.request()?, &say_not_planned(out)))?;
    let steps: usize = plans.plans.iter().map(|p| p.steps.len()).sum();
    if out.json {
        for p in &plans.plans {
            out.record("plan", p);
        }
        out.record("summary", &serde_json::json!({ "devices": plans.plans.len(), "steps": steps }));
        return Ok(ExitCode::SUCCESS);
    }
    print(&plans.plans);
    println!("{} device(s), {steps} step(s). Nothing was changed (this is a plan).", plans.plans.len());
    Ok(ExitCode::SUCCESS)
}

/// The plans as a diff, one line per step.
pub(crate) fn print(plans: &[DevicePlan]) {
    for p in plans {
        if p.is_empty() {
            println!("{}: nothing to change", p.device);
            continue;
        }
        println!("{}:", p.device);
        for (i, s) in p.steps.iter().enumerate() {
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
}
