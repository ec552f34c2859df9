//! Fuzzes the site CA's signing of device CSRs (`certs::SiteCa::sign_csr` on the input
//! as PEM, `SiteCa::sign_csr_der` on it as DER) and the SANs made from names
//! (`sign_csr` of a good CSR for names taken from the input), plus the customer-CA
//! import check (`SiteCa::import`, the input as both certificate and key PEM).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_core::certs::SiteCa;
use portcullis_core::secret::Secret;
use portcullis_core::vault::{FileVault, Vault};

struct Site {
    ca: SiteCa,
    csr: String,
    home: std::path::PathBuf,
    vault: Vault,
}

fn site() -> &'static Option<Site> {
    static SITE: OnceLock<Option<Site>> = OnceLock::new();
    SITE.get_or_init(|| {
        let home = portcullis_fuzz::scratch("csr");
        let store = FileVault::new(home.join("vault.age"), Secret::new("fuzz only")).with_work_factor(4);
        let vault = Vault::new(Box::new(store), &home);
        let ca = SiteCa::load_or_create(&home, &vault, "fuzz", &Default::default()).ok()?;
        let device = rcgen::KeyPair::generate().ok()?;
        let csr = rcgen::CertificateParams::new(vec!["cam.site.example".to_string()])
            .ok()?
            .serialize_request(&device)
            .ok()?
            .pem()
            .ok()?;
        Some(Site { ca, csr, home, vault })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(site) = site() else { return };
    let names = ["192.0.2.10".to_string(), "cam-7.site.example".to_string()];
    let text = portcullis_fuzz::text(data);
    let _ = site.ca.sign_csr(&text, &names);
    let _ = site.ca.sign_csr_der(data, &names);
    let fuzzed: Vec<String> = text.split_whitespace().take(4).map(str::to_string).collect();
    let _ = site.ca.sign_csr(&site.csr, &fuzzed);
    let _ = SiteCa::import(&site.home, &site.vault, &text, &Secret::new(text.clone()), true);
});
