//! The apply runner's decisions against a scripted device (no sockets): a write that
//! does not read back is rolled back; an answer lost on the way whose value holds is
//! verified; a device fault leaves the old value, recorded; an unsupported write is
//! skipped. Each is judged from the history records and the requests the device saw.

use std::sync::Arc;

use super::*;
use crate::driver::transport::script::{ok, status, Answer, Script};
use crate::posture::Value;
use crate::secret::Secret;
use crate::vault::FileVault;
use crate::workspace::Clock;

const DEVICE_INFO: &str = include_str!(
    "../../../../../shared/fixtures/isapi/hikvision-DS-2CD2155FWD-I-V5.5.0_build_170725-System.deviceInfo.xml"
);
const UPNP: &str = "/ISAPI/System/Network/UPnP";

fn upnp(on: bool) -> Answer {
    ok(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<UPnP version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><enabled>{on}</enabled></UPnP>"
    ))
}

fn response_status(code: u8, sub: &str) -> String {
    format!("<ResponseStatus version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><requestURL>{UPNP}</requestURL><statusCode>{code}</statusCode><statusString>x</statusString><subStatusCode>{sub}</subStatusCode></ResponseStatus>")
}

#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z").map(Into::into).unwrap_or_default()
    }
}

/// A scripted Hikvision camera: it refuses an anonymous request with its `userCheck`
/// document, as current firmware does, so the ISAPI driver is chosen.
fn camera() -> Arc<Script> {
    const USER_CHECK: &str = "<userCheck version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><statusValue>401</statusValue><statusString>Unauthorized</statusString></userCheck>";
    Script::new().with_digest_refusing(USER_CHECK).on("GET", "/ISAPI/System/deviceInfo", vec![ok(DEVICE_INFO)])
}

struct Bench {
    ctx: ApplyContext,
    home: std::path::PathBuf,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn bench(name: &str, script: &Arc<Script>) -> Bench {
    let home = std::env::temp_dir().join(format!("pc-apply-script-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let vault = Vault::new(Box::new(FileVault::new(home.join("v.age"), Secret::new("scripted passphrase"))), &home);
    let ctx = ApplyContext {
        ca_scope: Default::default(),
        backup_to: Some(crate::backups::BackupIdentity::generate().recipient()),
        history: Arc::new(History::open(&home, crate::history::HistoryKey::generate()).unwrap()),
        vault: Arc::new(vault),
        backups: home.join("backups"),
        operator: "tester".into(),
        site: Default::default(),
        passwords: Default::default(),
        client: script.client(),
        pins: Default::default(),
        connect: ConnectOptions {
            timings: crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
        },
        concurrency: 1,
        ca: None,
        home: home.clone(),
        hostnames: Default::default(),
        cancel: Default::default(),
        clock: Arc::new(Fixed),
        firmware: Arc::new(crate::firmware::Library::at(&home)),
        uploads: Arc::new(tokio::sync::Semaphore::new(1)),
        images: Default::default(),
    };
    Bench { ctx, home }
}

/// Run one step on the scripted camera (192.0.2.9:80, admin); its result.
async fn run_step(b: &Bench, step: Step) -> StepResult {
    let target = Target {
        address: [192, 0, 2, 9].into(),
        http_port: Some(80),
        https_port: None,
        wsd_port: None,
        shared_port: None,
        said_hikvision: false,
    };
    let job = DeviceJob { target, site: None, plan: DevicePlan { device: "192.0.2.9:80".into(), steps: vec![step] } };
    let events = std::sync::Mutex::new(Vec::new());
    let report =
        apply_device(&job, Some(Credentials::new("admin", "Secret-123")), &b.ctx, &|e| events.lock().unwrap().push(e))
            .await;
    assert!(report.error.is_none(), "{report:?}");
    events
        .into_inner()
        .unwrap()
        .into_iter()
        .find_map(|e| match e {
            Event::StepDone { result, .. } => Some(result),
            _ => None,
        })
        .unwrap()
}

/// Switch UPnP off on the scripted camera; the step's result and the history's outcomes.
async fn upnp_off(name: &str, script: &Arc<Script>) -> (StepResult, Vec<Outcome>) {
    let b = bench(name, script);
    let step = Step {
        phase: Phase::Services,
        control: Some("HIK-UPNP".into()),
        setting: Setting::ServiceUpnpEnabled,
        from: Some(Value::Bool(true)),
        to: Value::Bool(false),
        action: "switch UPnP off".into(),
        blocked: None,
    };
    let result = run_step(&b, step).await;
    let outcomes = b.ctx.history.all().unwrap().into_iter().map(|r| r.change.outcome).collect();
    (result, outcomes)
}

/// The bodies the camera was sent for UPnP, as the `enabled` values they carry.
fn puts(script: &Script) -> Vec<bool> {
    script
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT" && r.path() == UPNP && r.authorization.is_some())
        .map(|r| r.body.as_deref().unwrap_or_default().contains("<enabled>true</enabled>"))
        .collect()
}

#[tokio::test]
async fn an_acknowledged_write_that_does_not_read_back_is_rolled_back() {
    // The camera says OK but keeps UPnP on.
    let script = camera().on("GET", UPNP, vec![upnp(true)]).on("PUT", UPNP, vec![ok(&response_status(1, "ok"))]);
    let (result, outcomes) = upnp_off("mismatch", &script).await;
    assert!(matches!(&result, StepResult::RolledBack { reason } if reason.contains("read back true")), "{result:?}");
    assert!(matches!(outcomes.as_slice(), [Outcome::Intent, Outcome::RolledBack { .. }]), "{outcomes:?}");
    assert_eq!(puts(&script), [false, true], "the change, then the old value put back");
}

#[tokio::test]
async fn a_lost_answer_whose_value_holds_is_verified() {
    // The connection drops after the camera acted: the read-back shows the change.
    let script = camera().on("GET", UPNP, vec![upnp(true), upnp(false)]).on("PUT", UPNP, vec![Answer::Drop]);
    let (result, outcomes) = upnp_off("dropped", &script).await;
    assert_eq!(result, StepResult::Verified);
    assert_eq!(outcomes, [Outcome::Intent, Outcome::Verified]);
    assert_eq!(puts(&script), [false], "no second write, no rollback");
}

#[tokio::test]
async fn a_device_fault_keeps_the_old_value_and_says_why() {
    // statusCode 6 (invalid content): nothing changed on the camera.
    let script =
        camera().on("GET", UPNP, vec![upnp(true)]).on("PUT", UPNP, vec![ok(&response_status(6, "badXmlContent"))]);
    let (result, outcomes) = upnp_off("fault", &script).await;
    let StepResult::RolledBack { reason } = &result else { panic!("{result:?}") };
    assert!(reason.contains("statusCode 6 badXmlContent"), "the device's words reach the record: {reason}");
    assert!(matches!(outcomes.as_slice(), [Outcome::Intent, Outcome::RolledBack { .. }]));
}

#[tokio::test]
async fn a_write_the_firmware_does_not_know_is_skipped_not_failed() {
    let not_supported = "<ResponseStatus version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><statusCode>4</statusCode><statusString>Invalid Operation</statusString><subStatusCode>notSupport</subStatusCode></ResponseStatus>";
    let script = camera().on("GET", UPNP, vec![status(403, not_supported)]);
    let (result, outcomes) = upnp_off("unsupported", &script).await;
    assert!(matches!(result, StepResult::Skipped { .. }), "{result:?}");
    assert!(matches!(outcomes.as_slice(), [Outcome::Intent, Outcome::Failed { .. }]), "{outcomes:?}");
    assert!(puts(&script).is_empty(), "nothing was written");
}

/// Run the site-service-account step (`nvr`, viewer) on the scripted camera; plain HTTP
/// allowed, so that the step reaches the account list.
async fn service_step(name: &str, script: &Arc<Script>, rotate: bool) -> StepResult {
    let mut b = bench(name, script);
    b.ctx.site.allow_plaintext_secrets = true;
    b.ctx.site.service_accounts =
        vec![crate::site::service::ServiceAccount { name: "nvr".into(), role: crate::site::service::Role::Viewer }];
    let step = Step {
        phase: Phase::Accounts,
        control: Some(crate::site::service::CONTROL.into()),
        setting: Setting::AccountService,
        from: None,
        to: if rotate { Value::Text("rotated".into()) } else { Value::List(vec!["nvr (viewer)".into()]) },
        action: "create the service accounts nvr (viewer)".into(),
        blocked: None,
    };
    run_step(&b, step).await
}

fn user_writes(script: &Script) -> Vec<String> {
    script.calls().into_iter().filter(|c| c.contains("/Security/users") && !c.starts_with("GET")).collect()
}

#[tokio::test]
async fn an_unreadable_account_list_touches_no_service_account() {
    // Were "unreadable" taken for "missing", every recorder's password would change unasked.
    let script = camera().on("GET", "/ISAPI/Security/users", vec![status(500, "")]);
    let result = service_step("svc-unreadable", &script, false).await;
    assert!(matches!(&result, StepResult::Skipped { reason } if reason.contains("could not be read")), "{result:?}");
    assert!(user_writes(&script).is_empty(), "{:?}", script.calls());
}

#[tokio::test]
async fn an_administrator_of_the_service_accounts_name_is_never_demoted() {
    const USERS: &str = "<UserList version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><User><id>1</id><userName>admin</userName><userLevel>Administrator</userLevel></User><User><id>2</id><userName>nvr</userName><userLevel>Administrator</userLevel></User></UserList>";
    let script = camera().on("GET", "/ISAPI/Security/users", vec![ok(USERS)]);
    let result = service_step("svc-admin", &script, true).await;
    assert!(matches!(&result, StepResult::Failed { reason } if reason.contains("administrator")), "{result:?}");
    assert!(user_writes(&script).is_empty(), "{:?}", script.calls());
}
