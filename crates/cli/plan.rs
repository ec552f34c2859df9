//! `portcullis plan`: read each device (an audit), then show the ordered changes its
//! failing controls need, as `setting: current → target`. Writes nothing anywhere.

use std::process::ExitCode;

use portcullis_core::baseline::Baseline;
use portcullis_core::plan::{plan_device, DevicePlan, SiteParameters};

use crate::output::Output;

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
    /// The site parameters: the baseline's `[site]` table, the flags filling its gaps.
    pub(crate) fn site(&self) -> anyhow::Result<SiteParameters> {
        let baseline = self.audit.baseline.as_deref().map(Baseline::load).transpose()?;
        let section = baseline.as_ref().and_then(|b| b.site.as_ref());
        SiteParameters::merge(section, &self.ntp_servers, &self.management_hosts).map_err(anyhow::Error::msg)
    }
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let plans = build(args, out)?;
    let steps: usize = plans.iter().map(|p| p.steps.len()).sum();
    if out.json {
        for p in &plans {
            out.record("plan", p);
        }
        out.record("summary", &serde_json::json!({ "devices": plans.len(), "steps": steps }));
        return Ok(ExitCode::SUCCESS);
    }
    print(&plans);
    println!("{} device(s), {steps} step(s). Nothing was changed (this is a plan).", plans.len());
    Ok(ExitCode::SUCCESS)
}

/// Audit the devices and plan each one that could be read.
pub(crate) fn build(args: &Args, out: &Output) -> anyhow::Result<Vec<DevicePlan>> {
    Ok(build_with_audits(args, out)?.0)
}

/// The plans, and the audits they come from.
pub(crate) fn build_with_audits(
    args: &Args,
    out: &Output,
) -> anyhow::Result<(Vec<DevicePlan>, Vec<portcullis_core::audit::DeviceAudit>)> {
    let mut site = args.site()?;
    let mut audits = crate::audit::collect(&args.audit, |_| {})?;
    audits.sort_by_key(|a| a.target.parse::<std::net::SocketAddr>().map_err(|_| a.target.clone()));
    let labelled: Vec<(&str, &portcullis_core::audit::DeviceAudit)> =
        audits.iter().map(|a| (a.target.as_str(), a)).collect();
    site.name_devices(&labelled);
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
    Ok((plans, audits))
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
}
