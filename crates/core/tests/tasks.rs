//! The engine's whole tasks against the simulator, each driven with a recording event
//! sink and a fixed clock, as both shells drive them: import → audit → plan → apply →
//! apply again (nothing left), recover, renewal, intents a crash left open, and device
//! names numbered across the site whatever part of it is planned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::{Arc, Mutex};

use portcullis_core::history::{Change, Outcome};
use portcullis_core::posture::Value;
use portcullis_core::secret::Secret;
use portcullis_core::setting::Setting;
use portcullis_core::tasks::apply::{self as apply_task, ApplyRequest, RenewRequest};
use portcullis_core::tasks::audit::AuditRequest;
use portcullis_core::tasks::{self, Event};
use portcullis_core::vault::{FileVault, Vault};
use portcullis_core::workspace::{Clock, Selection, Workspace};
use portcullis_sim::{Fleet, FleetConfig, Profile};

/// Every record and snapshot of a run carries this time.
#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z").unwrap().into()
    }
}

/// Keeps every event, as a shell would render them.
#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    fn sink(&self) -> impl Fn(Event) + Send + Sync + 'static {
        let all = self.0.clone();
        move |e| all.lock().unwrap().push(e)
    }
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Site {
    _fleet: Fleet,
    ws: Arc<Workspace>,
    home: std::path::PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// A fleet imported into a fresh workspace (file vault, low work factor).
async fn site(name: &str, count: usize, profile: Profile) -> Site {
    let fleet = Fleet::start(FleetConfig::for_tests(count, profile)).await.unwrap();
    let home = std::env::temp_dir().join(format!("pc-tasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let file = FileVault::new(home.join("vault.age"), Secret::new("a test passphrase")).with_work_factor(10);
    let ws = Arc::new(Workspace::open(&home, Vault::new(Box::new(file), &home)).unwrap());
    let json = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() }).to_string();
    let imported = tasks::import::run(&ws, "fleet.json", &json, Some("hq")).unwrap();
    assert_eq!((imported.read, imported.credentials_stored), (count, count));
    Site { _fleet: fleet, ws, home }
}

fn quick(selection: Selection) -> AuditRequest {
    AuditRequest { selection, timeout: Some(std::time::Duration::from_secs(20)), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_plan_apply_and_apply_again_through_the_tasks() {
    let s = site("flow", 2, Profile::HikvisionCurrent).await;
    let rec = Recorder::default();

    let run = tasks::audit::run(&s.ws, &quick(Selection::All), &Fixed, &rec.sink()).await.unwrap();
    let audited: Vec<String> = rec
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Event::Audited(a) => Some(a.target),
            _ => None,
        })
        .collect();
    assert_eq!(audited.len(), 2, "one event per device");
    assert_eq!(run.errors(), 0, "{:?}", run.devices);
    let snaps = s.ws.snapshots.all().unwrap();
    assert_eq!((snaps.len(), snaps[0].time.as_str()), (1, "2026-12-01T09:30:00Z"), "kept, at the task's clock");
    assert_eq!(snaps[0].id, run.snapshot);
    let kept: Vec<&str> = snaps[0].devices.iter().map(|d| d.target.as_str()).collect();
    assert_eq!(kept, audited.iter().map(String::as_str).collect::<Vec<_>>(), "every device kept, in the order read");
    assert!(run
        .devices
        .iter()
        .zip(&snaps[0].devices)
        .all(|(line, d)| line.score == d.score && line.target == d.target));

    let (plans, _) = tasks::plan::run(&s.ws, &quick(Selection::All), &rec.sink()).await.unwrap();
    assert_eq!(plans.plans.len(), 2);
    assert!(plans.actionable_steps() > 4, "{plans:?}");

    let request = ApplyRequest { audit: quick(Selection::All), operator: Some("ana".into()), ..Default::default() };
    let prepared =
        apply_task::prepare(&s.ws, request.clone(), Arc::new(Fixed), Arc::default(), &rec.sink()).await.unwrap();
    assert_eq!(prepared.steps(), plans.actionable_steps(), "what is run is what the plan showed");
    let outcome = prepared.run(Arc::new(rec.sink())).await.unwrap();
    assert!(outcome.ok(), "{:#?}", outcome.reports);
    let events = rec.take();
    let done =
        events.iter().filter(|e| matches!(e, Event::Apply(portcullis_core::apply::Event::StepDone { .. }))).count();
    let verified: usize = outcome.reports.iter().map(|r| r.verified + r.skipped).sum();
    assert_eq!(done, verified, "a StepDone event for every step");
    let totals = outcome.totals();
    assert_eq!((totals.devices, totals.ok, totals.problems, totals.cancelled), (2, 2, 0, 0), "{totals:?}");
    assert_eq!(totals.verified + totals.skipped, done, "{totals:?}");

    let records = s.ws.history.all().unwrap();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.change.operator == "ana" && r.time == "2026-12-01T09:30:00.000Z"));

    // Idempotent: the same baseline again changes nothing.
    let again = apply_task::prepare(&s.ws, request, Arc::new(Fixed), Arc::default(), &rec.sink()).await.unwrap();
    assert!(again.plans.is_empty(), "{:#?}", again.plans);

    // Nothing was interrupted: recover has nothing to do.
    let timeout = Some(std::time::Duration::from_secs(10));
    let recovered = apply_task::recover(&s.ws, timeout, None, Arc::new(Fixed), &rec.sink()).await.unwrap();
    assert!(recovered.is_empty());

    // Certificates were installed and pinned: a renewal of those due "within 10 years"
    // re-issues both, through the same runner.
    let renew = RenewRequest { within_days: 3650, timeout, concurrency: 2, operator: None };
    let prepared = apply_task::prepare_renewal(&s.ws, &renew, Arc::new(Fixed), Arc::default()).await.unwrap();
    assert_eq!(prepared.plans.len(), 2);
    let outcome = prepared.run(Arc::new(rec.sink())).await.unwrap();
    assert!(outcome.ok() && outcome.reports.iter().all(|r| r.verified == 1), "{:#?}", outcome.reports);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_a_crash_left_open_are_closed_from_reviewed_audits_too() {
    let s = site("intents", 1, Profile::HikvisionCurrent).await;
    let rec = Recorder::default();
    let run = tasks::audit::run(&s.ws, &quick(Selection::All), &Fixed, &rec.sink()).await.unwrap();
    let audit = s.ws.snapshots.get(run.snapshot).unwrap().unwrap().devices.remove(0);
    let held = audit.findings.iter().find(|f| f.observed.is_some() && f.setting != Setting::AccountPassword).unwrap();
    // A run killed after changing the device and before recording that it did.
    let intent = Change {
        operator: "killed".into(),
        device: audit.target.clone(),
        site: None,
        control: Some(held.control.clone()),
        setting: held.setting,
        before: None,
        after: held.observed.clone(),
        outcome: Outcome::Intent,
        vault_entry: None,
    };
    s.ws.history.append(intent, "2026-12-01T09:00:00.000Z").unwrap();
    // The desktop's path: plan from the audits the user reviewed, no new read.
    let request =
        ApplyRequest { reviewed: Some(vec![audit.clone()]), audit: quick(Selection::All), ..Default::default() };
    let prepared = apply_task::prepare(&s.ws, request, Arc::new(Fixed), Arc::default(), &rec.sink()).await.unwrap();
    assert_eq!(prepared.closed, 1);
    assert!(rec.take().iter().any(|e| matches!(e, Event::IntentsClosed { count: 1 })));
    let last = s.ws.history.all().unwrap().pop().unwrap();
    assert_eq!((last.change.setting, &last.change.outcome), (held.setting, &Outcome::Verified));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_names_are_numbered_across_the_site_whatever_is_planned() {
    let s = site("names", 3, Profile::HikvisionCurrent).await;
    let baseline = "[baseline]\nname = \"hq\"\nversion = \"1\"\ntitle = \"HQ\"\nextends = \"hikvision-hardening\"\n\n[site]\nname = \"hq\"\ndevice_name = \"{site}-{n:02}\"\n";
    s.ws.set_site_baseline("site.toml", baseline).unwrap();
    let run = tasks::audit::run(&s.ws, &quick(Selection::All), &Fixed, &tasks::Quiet).await.unwrap();
    let name_of = |plans: &tasks::plan::Plans, device: &str| -> Option<Value> {
        let p = plans.plans.iter().find(|p| p.device == device)?;
        p.steps.iter().find(|s| s.setting == Setting::DeviceName).map(|s| s.to.clone())
    };
    let policy = s.ws.policy(&Default::default()).unwrap();
    let audits = s.ws.snapshots.get(run.snapshot).unwrap().unwrap().devices;
    let whole = tasks::plan::from_audits(&s.ws, &policy, &audits).unwrap();
    let mut sorted = audits;
    sorted.sort_by_key(|a| tasks::plan::by_address(&a.target));
    let last = sorted.last().unwrap();
    // The third camera alone (the CLI's `--device`, or one row picked in the desktop).
    let alone = tasks::plan::from_audits(&s.ws, &policy, std::slice::from_ref(last)).unwrap();
    assert_eq!(name_of(&whole, &last.target), Some(Value::Text("hq-03".into())));
    assert_eq!(name_of(&alone, &last.target), name_of(&whole, &last.target));
}
