//! A site baseline from a reference ("golden") camera: an integrator sets one camera up
//! by hand, and every other camera of the deployment is made to match it.
//!
//! The file extends the built-in baseline the camera was read against. Each value the
//! camera shows becomes an expectation only where it is at least as strict as the
//! built-in's: a value that would fail a built-in control (Telnet on, say) is left out
//! unless the operator asks for it, so copying a camera never weakens the site by
//! accident. What describes one device (its name, certificate, firmware, accounts and
//! passwords) is never copied; the time zone, NTP servers and IP filter hosts go to the
//! `[site]` table, because they are the site's. Every value carries a comment that says
//! where it came from.

use crate::audit::DeviceAudit;
use crate::baseline::eval::{Finding, Status};
use crate::baseline::{Baseline, Expect};
use crate::posture::Value;
use crate::setting::Setting;

/// Settings that describe one device, never copied to other devices.
const DEVICE_SPECIFIC: &[Setting] = &[
    Setting::DeviceName,
    Setting::TlsCertificateSelfSigned,
    Setting::FirmwareVersion,
    Setting::AccountActivated,
    Setting::AccountDefaultPassword,
    Setting::AccountWeakPassword,
    Setting::AccountUsers,
    Setting::AccountService,
    Setting::AccountPasswordUnique,
    Setting::AccountPasswordRecent,
];

/// Settings whose value is the site's: they go to the `[site]` table. The audit reads
/// them besides the built-in's controls ([`crate::workspace::SitePolicy::observe`]).
pub const SITE_VALUES: &[Setting] = &[Setting::TimeZone, Setting::TimeNtpServers, Setting::NetworkIpFilterAddresses];

/// How the file is written.
#[derive(Debug, Clone)]
pub struct Options {
    /// `[baseline] name`.
    pub name: String,
    /// Copy values that fail a built-in control too (each marked in the file).
    pub keep_weaker: bool,
    /// When the reference camera was read (RFC 3339).
    pub read_at: String,
}

/// What happened to one value of the reference camera.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Taken {
    /// Pinned to the camera's value (an `[[override]]`, or a `[site]` field).
    Copied { setting: Setting, control: Option<String>, value: Value },
    /// The built-in already expects exactly this value.
    AsBuiltIn { setting: Setting, control: String },
    /// Weaker than the built-in's expectation: the built-in's stays.
    LeftWeaker { setting: Setting, control: String, value: Value, expected: String },
    /// Weaker, and copied because the operator asked for it.
    CopiedWeaker { setting: Setting, control: String, value: Value, expected: String },
    /// Not read on the reference camera: the built-in's stays.
    NotRead { setting: Setting, control: String, why: String },
}

/// The baseline file, and what became of each value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Golden {
    pub text: String,
    pub extends: String,
    pub taken: Vec<Taken>,
}

/// What a golden baseline took from its camera, counted as both shells show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "GoldenView", export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Summary {
    /// The baseline file's text (TOML), every value commented with where it came from.
    pub text: String,
    /// The built-in baseline it extends.
    pub extends: String,
    /// Values pinned to the camera's (site values and overrides), the weaker ones
    /// copied as asked included.
    pub copied: usize,
    /// Values the built-in already expects.
    pub as_built_in: usize,
    /// Settings the camera did not show.
    pub not_read: usize,
    /// Values weaker than the built-in's, left out (`HIK-12 service.telnet.enabled = true`).
    pub left_weaker: Vec<String>,
    /// Values weaker than the built-in's, copied because the person asked.
    pub copied_weaker: Vec<String>,
}

impl Golden {
    /// The counts and the weaker values by name.
    pub fn summary(&self) -> Summary {
        let count = |f: fn(&Taken) -> bool| self.taken.iter().filter(|t| f(t)).count();
        let named = |weaker_copied: bool| {
            (self.taken.iter())
                .filter_map(|t| match t {
                    Taken::LeftWeaker { setting, control, value, .. } if !weaker_copied => {
                        Some((setting, control, value))
                    }
                    Taken::CopiedWeaker { setting, control, value, .. } if weaker_copied => {
                        Some((setting, control, value))
                    }
                    _ => None,
                })
                .map(|(setting, control, value)| format!("{control} {setting} = {value}"))
                .collect()
        };
        Summary {
            text: self.text.clone(),
            extends: self.extends.clone(),
            copied: count(|t| matches!(t, Taken::Copied { .. } | Taken::CopiedWeaker { .. })),
            as_built_in: count(|t| matches!(t, Taken::AsBuiltIn { .. })),
            not_read: count(|t| matches!(t, Taken::NotRead { .. })),
            left_weaker: named(false),
            copied_weaker: named(true),
        }
    }
}

/// Write the site baseline from the reference camera's audit against `builtin`.
pub fn write(audit: &DeviceAudit, builtin: &Baseline, opts: &Options) -> Result<Golden, String> {
    if let Some(e) = &audit.error {
        return Err(format!("{} could not be read: {}", audit.target, e.message));
    }
    let id = audit.identity.clone().unwrap_or_default();
    let extends = builtin.baseline.name.clone();
    let mut taken = Vec::new();
    let mut site = Vec::new();
    let mut overrides = Vec::new();
    let mut notes = Vec::new();

    let observed = |s: Setting| audit.findings.iter().find(|f| f.setting == s).and_then(|f| f.observed.clone());
    // The site's own values.
    if let Some(Value::Text(tz)) = observed(Setting::TimeZone).filter(|v| !is_blank(v)) {
        site.push(field("time_zone", &Value::Text(tz.clone()), Setting::TimeZone));
        taken.push(Taken::Copied { setting: Setting::TimeZone, control: None, value: Value::Text(tz) });
    }
    if let Some(Value::List(servers)) = observed(Setting::TimeNtpServers).filter(|v| !is_blank(v)) {
        let servers: Vec<String> = servers.into_iter().take(4).collect();
        site.push(field("ntp_servers", &Value::List(servers.clone()), Setting::TimeNtpServers));
        taken.push(Taken::Copied { setting: Setting::TimeNtpServers, control: None, value: Value::List(servers) });
    }
    let filtering = observed(Setting::NetworkIpFilterEnabled) == Some(Value::Bool(true));
    if let (true, Some(Value::List(hosts))) = (filtering, observed(Setting::NetworkIpFilterAddresses)) {
        if !hosts.is_empty() {
            site.push(field("management_hosts", &Value::List(hosts.clone()), Setting::NetworkIpFilterAddresses));
            taken.push(Taken::Copied {
                setting: Setting::NetworkIpFilterAddresses,
                control: None,
                value: Value::List(hosts),
            });
        }
    }

    // The built-in's controls, one by one.
    for f in &audit.findings {
        let Some(control) = builtin.controls.iter().find(|c| c.id == f.control) else { continue };
        if DEVICE_SPECIFIC.contains(&f.setting) || SITE_VALUES.contains(&f.setting) {
            continue;
        }
        let setting = f.setting;
        let decided = (f.status, f.observed.clone());
        match decided {
            (Status::Pass, Some(v)) if control.expect == Expect::Equals(v.clone()) => {
                notes.push(format!("# {} {setting} = {}: as {extends} expects", f.control, inline(&v)));
                taken.push(Taken::AsBuiltIn { setting, control: f.control.clone() });
            }
            (Status::Pass, Some(v)) => {
                overrides.push(override_of(
                    f,
                    &v,
                    &format!("read from the reference camera ({extends} accepts {})", f.expected),
                ));
                taken.push(Taken::Copied { setting, control: Some(f.control.clone()), value: v });
            }
            (Status::Pass, None) => {
                notes.push(format!(
                    "# {} {setting}: the reference camera has no such service, as {extends} allows",
                    f.control
                ));
                taken.push(Taken::AsBuiltIn { setting, control: f.control.clone() });
            }
            (Status::Fail, Some(v)) if opts.keep_weaker => {
                let why = format!(
                    "WEAKER than {extends}, which expects {}: copied because --keep-weaker was given",
                    f.expected
                );
                overrides.push(override_of(f, &v, &why));
                taken.push(Taken::CopiedWeaker {
                    setting,
                    control: f.control.clone(),
                    value: v,
                    expected: f.expected.clone(),
                });
            }
            (Status::Fail, Some(v)) => {
                notes.push(format!(
                    "# {} {setting}: the reference camera has {}, weaker than {extends}'s {}; not copied",
                    f.control,
                    inline(&v),
                    f.expected
                ));
                taken.push(Taken::LeftWeaker {
                    setting,
                    control: f.control.clone(),
                    value: v,
                    expected: f.expected.clone(),
                });
            }
            (status, _) => {
                let why = format!("{status:?}: {}", f.evidence).to_lowercase();
                notes.push(format!(
                    "# {} {setting}: not read on the reference camera ({}); {extends}'s expectation stays",
                    f.control,
                    comment_text(&why)
                ));
                taken.push(Taken::NotRead { setting, control: f.control.clone(), why });
            }
        }
    }
    if let Some(Value::List(users)) = observed(Setting::AccountUsers).filter(|v| !is_blank(v)) {
        notes.push(format!(
            "# The reference camera also has the accounts {}: if the site keeps them (a recorder's), list them in \
             keep_accounts or service_accounts under [site].",
            inline(&Value::List(users))
        ));
    }

    let text = render(&id, audit, &extends, opts, &site, &overrides, &notes);
    // What we write must read back as a baseline; anything else is our bug, not the file's.
    Baseline::parse("golden", &text).map_err(|e| format!("the written baseline does not read back: {e}"))?;
    Ok(Golden { text, extends, taken })
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Text(t) => t.trim().is_empty(),
        Value::List(l) => l.is_empty(),
        _ => false,
    }
}

/// A value as TOML writes it inline: quoted and escaped, so nothing a device says can
/// end a comment or start a table.
fn inline(v: &Value) -> String {
    let t = match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Int(i) => toml::Value::Integer(*i),
        Value::Text(s) => toml::Value::String(s.clone()),
        Value::List(l) => toml::Value::Array(l.iter().cloned().map(toml::Value::String).collect()),
    };
    t.to_string()
}

/// Text for a comment: one line, without control characters.
fn comment_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn field(name: &str, v: &Value, from: Setting) -> String {
    format!("# {name}: read from the reference camera ({from})\n{name} = {}\n", inline(v))
}

fn override_of(f: &Finding, v: &Value, why: &str) -> String {
    format!(
        "[[override]]\n# {} {}: {}\ncontrol = {}\nexpect = {{ equals = {} }}\nreason = {}\n",
        f.control,
        f.setting,
        comment_text(why),
        inline(&Value::Text(f.control.clone())),
        inline(v),
        inline(&Value::Text(format!("the reference camera's value ({})", f.setting)))
    )
}

fn render(
    id: &crate::posture::Identity,
    audit: &DeviceAudit,
    extends: &str,
    opts: &Options,
    site: &[String],
    overrides: &[String],
    notes: &[String],
) -> String {
    let described = comment_text(&format!(
        "{} {} (serial {}, firmware {}) at {}",
        id.manufacturer,
        id.model,
        id.serial,
        id.firmware(),
        audit.target
    ));
    let mut out = format!(
        "# A site baseline written by `portcullis baseline from-device` from the reference camera\n\
         # {described}, read {}.\n\
         # Left out as device-specific: addresses, the device name, certificates, firmware, accounts and passwords.\n\n\
         [baseline]\nname = {}\nversion = \"1\"\ntitle = {}\ndescription = {}\nextends = {}\n",
        comment_text(&opts.read_at),
        inline(&Value::Text(opts.name.clone())),
        inline(&Value::Text(comment_text(&format!("Site baseline from {} {}", id.model, id.serial)))),
        inline(&Value::Text(comment_text(&format!(
            "{extends}, with the values of the reference camera {} {}",
            id.model, id.serial
        )))),
        inline(&Value::Text(extends.to_string())),
    );
    if !site.is_empty() {
        out.push_str("\n[site]\n");
        for f in site {
            out.push_str(f);
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(n);
            out.push('\n');
        }
    }
    for o in overrides {
        out.push('\n');
        out.push_str(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::{Identity, Posture, Protocol};

    fn reference(posture: impl Fn(&mut Posture)) -> (DeviceAudit, Baseline) {
        let b = Baseline::load("hikvision-hardening").unwrap();
        let mut p = Posture::new(
            Identity {
                vendor: "hikvision".into(),
                manufacturer: "Hikvision".into(),
                model: "DS-2CD2386G2-IU".into(),
                serial: "SER\n[[override]]".into(),
                firmware_version: "V5.7.15".into(),
                ..Default::default()
            },
            Protocol::Isapi,
        );
        for c in &b.controls {
            if let Expect::Equals(v) = &c.expect {
                p.known(c.setting, v.clone());
            }
        }
        p.known(Setting::TimeZone, Value::Text("CET-1CEST,M3.5.0,M10.5.0/3".into()));
        p.known(Setting::TimeNtpServers, Value::List(vec!["10.0.0.5".into()]));
        p.known(Setting::NetworkIpFilterEnabled, Value::Bool(true));
        p.known(Setting::NetworkIpFilterAddresses, Value::List(vec!["10.0.0.9".into()]));
        posture(&mut p);
        let mut observing = b.clone();
        observing.controls.extend(crate::audit::observation_controls(SITE_VALUES));
        let findings = crate::baseline::eval::evaluate(&observing, &p);
        let audit = DeviceAudit {
            target: "127.1.0.7:80".into(),
            site: None,
            protocol: Some(Protocol::Isapi),
            baseline: None,
            identity: Some(p.identity.clone()),
            findings,
            score: None,
            error: None,
        };
        (audit, b)
    }

    fn opts(keep_weaker: bool) -> Options {
        Options { name: "acme".into(), keep_weaker, read_at: "2026-12-04T17:00:00Z".into() }
    }

    #[test]
    fn site_values_go_to_the_site_table_and_the_file_reads_back_as_a_baseline() {
        let (audit, b) = reference(|_| {});
        let g = write(&audit, &b, &opts(false)).unwrap();
        let parsed = Baseline::parse("golden", &g.text).unwrap();
        let site = parsed.site.clone().unwrap();
        assert_eq!(site.time_zone.as_deref(), Some("CET-1CEST,M3.5.0,M10.5.0/3"));
        assert_eq!(site.ntp_servers, ["10.0.0.5"]);
        assert_eq!(site.management_hosts, ["10.0.0.9"]);
        assert_eq!(parsed.baseline.extends.as_deref(), Some("hikvision-hardening"));
        assert!(g.text.contains("# time_zone: read from the reference camera (time.zone)"), "{}", g.text);
        assert!(g.text.contains("as hikvision-hardening expects"), "every value says where it stands: {}", g.text);
        assert!(!g.text.contains("\n[[override]]\ncontrol"), "nothing differs from the built-in: {}", g.text);
        // A device's words stay inside a comment or a string.
        assert!(!g.text.contains("SER\n[[override]]"), "{}", g.text);
    }

    #[test]
    fn a_weaker_value_is_left_out_unless_asked_for_and_device_specifics_never_go() {
        let (audit, b) = reference(|p| {
            p.known(Setting::ServiceTelnetEnabled, Value::Bool(true));
            p.known(Setting::DeviceName, Value::Text("lobby-01".into()));
        });
        let g = write(&audit, &b, &opts(false)).unwrap();
        assert!(g.taken.iter().any(|t| matches!(t, Taken::LeftWeaker { setting: Setting::ServiceTelnetEnabled, .. })));
        let parsed = Baseline::parse("golden", &g.text).unwrap();
        let telnet = parsed.controls.iter().find(|c| c.setting == Setting::ServiceTelnetEnabled).unwrap();
        assert_eq!(telnet.expect, Expect::Equals(Value::Bool(false)), "the built-in's stays");
        assert!(!g.text.contains("lobby-01"), "the device name is the device's own");

        let asked = write(&audit, &b, &opts(true)).unwrap();
        let parsed = Baseline::parse("golden", &asked.text).unwrap();
        let telnet = parsed.controls.iter().find(|c| c.setting == Setting::ServiceTelnetEnabled).unwrap();
        assert_eq!(telnet.expect, Expect::Equals(Value::Bool(true)));
        assert!(asked.text.contains("WEAKER than hikvision-hardening"), "{}", asked.text);

        // Both shells show these counts: a weaker value copied counts as copied, and is named.
        let (left, copied) = (g.summary(), asked.summary());
        assert_eq!(left.left_weaker.len(), 1, "{left:?}");
        assert!(left.left_weaker[0].ends_with("service.telnet.enabled = true"), "{left:?}");
        assert!(left.copied_weaker.is_empty() && copied.left_weaker.is_empty());
        assert_eq!(copied.copied_weaker.len(), 1);
        assert_eq!(copied.copied, left.copied + 1, "the weaker value, copied as asked, is one more copied");
        assert_eq!((copied.as_built_in, copied.not_read), (left.as_built_in, left.not_read));
    }

    #[test]
    fn a_camera_that_could_not_be_read_gives_no_baseline() {
        let (mut audit, b) = reference(|_| {});
        audit.error =
            Some(crate::audit::Problem { code: crate::error::ErrorCode::Unreachable, message: "timed out".into() });
        assert!(write(&audit, &b, &opts(false)).unwrap_err().contains("could not be read"));
    }
}
