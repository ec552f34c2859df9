//! What an image says about itself. Only one container is read here: the simulator's
//! (`PORTCULLIS-SIM-FIRMWARE/1`, a short text header before the payload), which the
//! demo site and the tests upgrade with. Vendors' own containers (Hikvision's
//! `digicap.dav`, Axis' `.bin`) carry their version in obfuscated or undocumented
//! fields, and no captured image is at hand to test a reader against: for those the
//! operator names vendor, models and version, and the library records that it did.

/// The first line of a simulator image.
pub const SIM_MAGIC: &str = "PORTCULLIS-SIM-FIRMWARE/1";
/// A header is short: anything longer is a payload that happens to start alike.
const HEADER_LIMIT: usize = 4096;

/// What a header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub vendor: String,
    pub models: Vec<String>,
    pub version: String,
}

/// The header of an image, if its container is one we read. `Err` for a header that
/// starts right but cannot be read (a damaged or forged image): never guessed from.
pub fn read(image: &[u8]) -> Result<Option<Declared>, String> {
    let Some(rest) = image.strip_prefix(SIM_MAGIC.as_bytes()).and_then(|r| r.strip_prefix(b"\n")) else {
        return Ok(None);
    };
    let window = rest.get(..rest.len().min(HEADER_LIMIT)).unwrap_or(rest);
    let end = find(window, b"\n\n").ok_or("the image header has no end (a blank line) in its first 4 KiB")?;
    let text =
        std::str::from_utf8(window.get(..end).unwrap_or_default()).map_err(|_| "the image header is not UTF-8 text")?;
    let (mut vendor, mut models, mut version) = (None, None, None);
    for line in text.lines() {
        let (key, value) =
            line.split_once(':').ok_or_else(|| format!("image header line {line:?} is not `key: value`"))?;
        let value = value.trim();
        match key.trim() {
            "vendor" => vendor = Some(value.to_ascii_lowercase()),
            "models" => {
                models = Some(value.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect())
            }
            "version" => version = Some(value.to_string()),
            _ => {} // later header versions may add fields
        }
    }
    let missing = |what: &str| format!("the image header names no {what}");
    let declared = Declared {
        vendor: vendor.filter(|v| !v.is_empty()).ok_or_else(|| missing("vendor"))?,
        models: models.filter(|m: &Vec<String>| !m.is_empty()).ok_or_else(|| missing("models"))?,
        version: version.filter(|v| !v.is_empty()).ok_or_else(|| missing("version"))?,
    };
    if crate::advisories::Firmware::parse(&declared.version).is_none() {
        return Err(format!("the image header's version {:?} is not a version number", declared.version));
    }
    Ok(Some(declared))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(header: &str) -> Vec<u8> {
        let mut v = format!("{SIM_MAGIC}\n{header}\n\n").into_bytes();
        v.extend_from_slice(&[0u8, 1, 2, 255]);
        v
    }

    #[test]
    fn a_simulator_image_names_vendor_models_and_version() {
        let d =
            read(&image("vendor: Hikvision\nmodels: DS-2CD2xx2F-I, DS-2CD2xx2F-IS\nversion: V5.5.800 build 210628"))
                .unwrap()
                .unwrap();
        assert_eq!(d.vendor, "hikvision");
        assert_eq!(d.models, ["DS-2CD2xx2F-I", "DS-2CD2xx2F-IS"]);
        assert_eq!(d.version, "V5.5.800 build 210628");
    }

    #[test]
    fn other_containers_have_no_header_we_read_and_damaged_headers_are_refused() {
        assert_eq!(read(b"\x00\x01digicap").unwrap(), None);
        assert_eq!(read(b"").unwrap(), None);
        assert!(read(&image("vendor: hikvision\nversion: V5.5.800")).unwrap_err().contains("models"));
        assert!(read(&image("vendor: hikvision\nmodels: X\nversion: latest")).unwrap_err().contains("version"));
        assert!(read(&image("vendor hikvision")).unwrap_err().contains("key: value"));
        let endless = format!("{SIM_MAGIC}\nvendor: hikvision\n{}", "x".repeat(5000));
        assert!(read(endless.as_bytes()).unwrap_err().contains("no end"));
    }
}
