//! Fuzzes the drivers end to end on a scripted device whose answers are the input
//! (`portcullis_fuzz::answers`): `driver::connect` (ISAPI probe, ONVIF clock), then the
//! ISAPI and ONVIF drivers' identify, read_posture, read_settings, activated,
//! https_port, a few writes (GET → splice → PUT, ONVIF Set*), delete_users and
//! set_password, all through `HttpSession` (digest challenges via `digest_auth`,
//! lock and activation bodies, the login guard).
#![no_main]

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::isapi::IsapiDriver;
use portcullis_core::driver::onvif::OnvifDriver;
use portcullis_core::driver::transport::Client;
use portcullis_core::driver::{connect, ConnectOptions, Driver, HttpSession, LoginGuard, Target, Timings, WriteContext};
use portcullis_core::posture::Value;
use portcullis_core::secret::{Credentials, Secret};
use portcullis_core::setting::Setting;
use portcullis_fuzz::{answers, ScriptedDevice};

/// A paused clock: the runtime jumps to the next timer whenever it would idle, so waits
/// between retries and polls take no wall time (the scripted device never blocks).
fn runtime() -> &'static Option<tokio::runtime::Runtime> {
    static RT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().ok())
}

fn creds() -> Credentials {
    Credentials { username: "admin".into(), password: Secret::new("Fuzz-pass-1234") }
}

async fn exercise(driver: &dyn Driver) {
    let _ = driver.identify().await;
    let _ = driver.activated().await;
    let _ = driver.read_posture(&[]).await;
    let _ = driver.read_settings(&[Setting::TimeZone, Setting::DeviceName, Setting::TlsV12]).await;
    let _ = driver.https_port().await;
    let ctx = WriteContext { management_hosts: vec!["192.0.2.10".into()] };
    let writes = [
        (Setting::ServiceTelnetEnabled, Value::Bool(false)),
        (Setting::TimeZone, Value::Text("CET-1CEST,M3.5.0,M10.5.0/3".into())),
        (Setting::NetworkIpFilterEnabled, Value::Bool(true)),
        (Setting::TimeNtpServers, Value::List(vec!["192.0.2.1".into()])),
        (Setting::DeviceName, Value::Text("hq-cam-01".into())),
        (Setting::DiscoveryOnvif, Value::Bool(false)),
    ];
    for (key, to) in &writes {
        let _ = driver.write_setting(*key, to, &ctx).await;
    }
    let _ = driver.delete_users(&["installer".to_string()]).await;
    let _ = driver.set_password("admin", &Secret::new("New-pass-5678")).await;
}

/// A session on a fresh scripted device (a fresh client: a fresh login budget).
fn session(data: &[u8]) -> (HttpSession, Client, Arc<LoginGuard>) {
    let client = Client::new(Arc::new(ScriptedDevice::new(answers(data))), Duration::from_secs(5));
    let address: IpAddr = [192, 0, 2, 7].into();
    let guard = client.guards.of(&address.to_string());
    let base = "http://192.0.2.7:80".to_string();
    let session = HttpSession::new(client.clone(), base, Some(creds()), guard.clone(), Timings::reads_and_writes(Duration::from_secs(5)));
    (session, client, guard)
}

fuzz_target!(|data: &[u8]| {
    let Some(rt) = runtime() else { return };
    rt.block_on(async {
        let (s, _, _) = session(data);
        exercise(&IsapiDriver::new(s)).await;
        let (s, _, guard) = session(data);
        exercise(&OnvifDriver::new(s, Some(creds()), guard)).await;
        let (_, client, _) = session(data);
        let target = Target::new([192, 0, 2, 7].into());
        if let Ok(d) = connect(&target, Some(creds()), &client, &ConnectOptions::default()).await {
            let _ = d.identify().await;
            let _ = d.read_posture(&[]).await;
        }
    });
});
