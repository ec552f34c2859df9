//! The firmware library: images the operator added, kept in the data directory under
//! their SHA-256 with what each is for. An image is read back only if its digest still
//! matches: a file changed on disk is never uploaded to a camera.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::header;
use crate::advisories::Firmware;
use crate::error::{Error, Result};
use crate::posture::Identity;

/// Where the library lives, inside the data directory.
const DIR: &str = "firmware";
const INDEX: &str = "library.json";
/// The largest image accepted: vendors' camera and recorder images are 30–300 MB.
pub const IMAGE_LIMIT: u64 = 1 << 30;

/// One image in the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "FirmwareImage", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct Image {
    /// Lower-case hex SHA-256 of the whole file: its name in the library.
    pub sha256: String,
    /// Lower-case vendor name (`hikvision`).
    pub vendor: String,
    /// Model patterns as advisories write them (`x` for any one character, a prefix
    /// covers the models it starts).
    pub models: Vec<String>,
    /// The version the image installs, as the device will report it.
    pub version: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    /// The file's name when it was added.
    pub file_name: String,
    /// Whether vendor, models and version were read from the image (else the operator gave them).
    pub from_header: bool,
    /// When it was added (RFC 3339).
    pub added: String,
}

impl Image {
    /// Whether this image is meant for the device.
    pub fn fits(&self, id: &Identity) -> bool {
        id.is_from(&self.vendor) && self.models.iter().any(|p| crate::advisories::model_in_line(&id.model, p))
    }

    pub fn firmware(&self) -> Option<Firmware> {
        Firmware::parse(&self.version)
    }

    /// The first twelve hex digits, as messages name an image.
    pub fn short(&self) -> &str {
        self.sha256.get(..12).unwrap_or(&self.sha256)
    }
}

/// What the operator says about an image whose header we cannot read (or to check one
/// we can against).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "FirmwareImageRequest", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct Given {
    pub vendor: Option<String>,
    pub models: Vec<String>,
    pub version: Option<String>,
    /// The digest the vendor publishes for the file.
    pub sha256: Option<String>,
}

impl Given {
    /// Blanks around values dropped, and blank values as not given (what a form sends).
    fn trimmed(&self) -> Given {
        let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        Given {
            vendor: text(&self.vendor),
            models: self.models.iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect(),
            version: text(&self.version),
            sha256: text(&self.sha256),
        }
    }
}

/// What adding an image did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Added {
    pub image: Image,
    /// The library already held this exact file.
    pub already: bool,
}

/// The library in a data directory.
#[derive(Debug, Clone)]
pub struct Library {
    dir: PathBuf,
}

impl Library {
    pub fn at(home: &Path) -> Library {
        Library { dir: home.join(DIR) }
    }

    /// Every image, newest version first within a vendor.
    pub fn list(&self) -> Result<Vec<Image>> {
        let path = self.dir.join(INDEX);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Local(format!("{}: not a firmware library index: {e}", path.display())))
    }

    /// Record an image: its digest computed here, the rest read from its header or given.
    /// Given values that contradict the header are an error, not a choice.
    pub fn add(&self, file: &Path, given: &Given, now: &str) -> Result<Added> {
        let given = &given.trimmed();
        let input = |e: std::io::Error| Error::Input(format!("{}: {e}", file.display()));
        let len = std::fs::metadata(file).map_err(input)?.len();
        if len == 0 || len > IMAGE_LIMIT {
            return Err(Error::Input(format!("{}: {len} bytes is not a firmware image", file.display())));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        std::fs::File::open(file).map_err(input)?.take(IMAGE_LIMIT).read_to_end(&mut bytes).map_err(input)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(want) = &given.sha256 {
            if !want.trim().eq_ignore_ascii_case(&sha256) {
                return Err(Error::Input(format!("{}: SHA-256 is {sha256}, not the {want} given", file.display())));
            }
        }
        let declared = header::read(&bytes).map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
        let (vendor, models, version, from_header) = match declared {
            Some(d) => {
                let contradicts = given.vendor.as_ref().is_some_and(|v| !v.eq_ignore_ascii_case(&d.vendor))
                    || given.version.as_ref().is_some_and(|v| Firmware::parse(v) != Firmware::parse(&d.version))
                    || (!given.models.is_empty() && given.models != d.models);
                if contradicts {
                    return Err(Error::Input(format!(
                        "{}: the image says it is {} {} for {}, which is not what was given",
                        file.display(),
                        d.vendor,
                        d.version,
                        d.models.join(", ")
                    )));
                }
                (d.vendor, d.models, d.version, true)
            }
            None => {
                let need = |what: &str| {
                    Error::Input(format!("{}: the image does not say its {what}; give it (--{what})", file.display()))
                };
                let vendor = given.vendor.clone().ok_or_else(|| need("vendor"))?.to_ascii_lowercase();
                if given.models.is_empty() {
                    return Err(need("model"));
                }
                let version = given.version.clone().ok_or_else(|| need("version"))?;
                (vendor, given.models.clone(), version, false)
            }
        };
        if Firmware::parse(&version).is_none() {
            return Err(Error::Input(format!("{version:?} is not a firmware version")));
        }
        let mut images = self.list()?;
        if let Some(known) = images.iter().find(|i| i.sha256 == sha256) {
            return Ok(Added { image: known.clone(), already: true });
        }
        let image = Image {
            sha256,
            vendor,
            models,
            version,
            size: len,
            file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            from_header,
            added: now.to_string(),
        };
        crate::files::write_private(&self.image_path(&image.sha256), &bytes)?;
        images.push(image.clone());
        images.sort_by(|a, b| a.vendor.cmp(&b.vendor).then_with(|| order(b, a)));
        let index = serde_json::to_vec_pretty(&images).map_err(|e| Error::Local(e.to_string()))?;
        crate::files::write_private(&self.dir.join(INDEX), &index)?;
        Ok(Added { image, already: false })
    }

    /// An image's bytes, only if they still have the digest the library recorded.
    pub fn read(&self, image: &Image) -> Result<Vec<u8>> {
        let path = self.image_path(&image.sha256);
        let bytes = std::fs::read(&path).map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        let now = hex::encode(Sha256::digest(&bytes));
        if now != image.sha256 {
            return Err(Error::Local(format!(
                "firmware image {} changed on disk (its SHA-256 is now {now}): not uploaded",
                image.short()
            )));
        }
        Ok(bytes)
    }

    /// The image for this device at this version, if the library holds one.
    pub fn find(&self, id: &Identity, version: &str) -> Result<Option<Image>> {
        let want = Firmware::parse(version);
        Ok(self.list()?.into_iter().find(|i| i.fits(id) && i.firmware() == want && want.is_some()))
    }

    fn image_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("images").join(format!("{sha256}.bin"))
    }
}

/// Images by version, lowest first (unreadable versions first of all).
pub fn order(a: &Image, b: &Image) -> std::cmp::Ordering {
    match (a.firmware(), b.firmware()) {
        (Some(x), Some(y)) => x.compare(&y).unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.is_some().cmp(&y.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn sim_image(models: &str, version: &str) -> Vec<u8> {
        format!("{}\nvendor: hikvision\nmodels: {models}\nversion: {version}\n\npayload", header::SIM_MAGIC)
            .into_bytes()
    }

    #[test]
    fn an_image_is_recorded_once_with_its_digest_and_read_back_only_unchanged() {
        let home = tempfile::tempdir().unwrap();
        let lib = Library::at(home.path());
        let file = write(home.path(), "fw.bin", &sim_image("DS-2CD2xx2F-I", "V5.5.800 build 210628"));
        let added = lib.add(&file, &Given::default(), "2026-12-04T00:00:00Z").unwrap();
        assert!(!added.already && added.image.from_header);
        assert_eq!(added.image.sha256, hex::encode(Sha256::digest(std::fs::read(&file).unwrap())));
        assert!(lib.add(&file, &Given::default(), "later").unwrap().already, "the same file twice is one image");
        assert_eq!(lib.list().unwrap().len(), 1);
        assert_eq!(lib.read(&added.image).unwrap(), std::fs::read(&file).unwrap());
        // Someone swaps the stored file: it is never uploaded.
        std::fs::write(lib.image_path(&added.image.sha256), b"tampered").unwrap();
        assert!(lib.read(&added.image).unwrap_err().to_string().contains("changed on disk"));
    }

    #[test]
    fn an_image_without_a_header_needs_vendor_models_and_version_and_a_wrong_digest_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let lib = Library::at(home.path());
        let file = write(home.path(), "digicap.dav", b"\x10\x20vendor container");
        assert!(lib.add(&file, &Given::default(), "t").unwrap_err().to_string().contains("--vendor"));
        let given = Given {
            vendor: Some("Hikvision".into()),
            models: vec!["DS-2CD2xx2F-I".into()],
            version: Some("V5.5.800 build 210628".into()),
            sha256: Some("00".repeat(32)),
        };
        assert!(lib.add(&file, &given, "t").unwrap_err().to_string().contains("SHA-256 is"));
        let given = Given { sha256: None, ..given };
        let image = lib.add(&file, &given, "t").unwrap().image;
        assert!(!image.from_header);
        assert_eq!(image.vendor, "hikvision");
        // A header that says otherwise than the operator wins nothing: it is an error.
        let other = write(home.path(), "sim.bin", &sim_image("DS-2CD2xx2F-I", "V5.6.0"));
        let contradicting = Given { version: Some("V5.7.0".into()), ..Default::default() };
        assert!(lib.add(&other, &contradicting, "t").unwrap_err().to_string().contains("not what was given"));
    }

    #[test]
    fn find_picks_the_image_for_the_model_and_version() {
        let home = tempfile::tempdir().unwrap();
        let lib = Library::at(home.path());
        lib.add(&write(home.path(), "a", &sim_image("DS-2CD2xx2F-I", "V5.5.800 build 210628")), &Given::default(), "t")
            .unwrap();
        lib.add(&write(home.path(), "b", &sim_image("DS-2CD2xx5", "V5.5.800 build 210628")), &Given::default(), "t")
            .unwrap();
        let id = Identity {
            vendor: "hikvision".into(),
            model: "DS-2CD2132F-IS".into(),
            firmware_version: "V5.3.0".into(),
            ..Default::default()
        };
        let found = lib.find(&id, "V5.5.800 build 210628").unwrap().unwrap();
        assert_eq!(found.models, ["DS-2CD2xx2F-I"]);
        assert!(lib.find(&id, "V5.6.0").unwrap().is_none());
    }
}
