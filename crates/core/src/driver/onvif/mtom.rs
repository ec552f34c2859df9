//! An MTOM/XOP package (W3C XOP 1.0, SOAP 1.2 MTOM): the SOAP envelope as the root part
//! of a `multipart/related` body, and one binary attachment it points to with
//! `<xop:Include href="cid:…"/>`. `UpgradeSystemFirmware` carries its image so.
//!
//! Written here because the Rust multipart crates build `multipart/form-data` only;
//! `multipart/related` with XOP's `type`, `start` and `start-info` parameters is two part
//! headers and three boundary lines around bytes we already hold.

use bytes::{BufMut, Bytes, BytesMut};
use rand::RngCore;

/// The Content-ID the envelope's `xop:Include` names.
pub const ATTACHMENT_ID: &str = "firmware@portcullis";
const ROOT_ID: &str = "envelope@portcullis";

/// The body and its Content-Type header.
pub struct Package {
    pub content_type: String,
    pub body: Bytes,
}

/// Wrap `envelope` and `attachment`. The boundary is 128 random bits: that it also
/// occurs inside the image is as likely as guessing a key.
pub fn package(envelope: &str, attachment: &Bytes) -> Package {
    let mut random = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut random);
    let boundary = format!("portcullis-{}", hex::encode(random));
    let root = format!(
        "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <{ROOT_ID}>\r\n\r\n{envelope}\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{ATTACHMENT_ID}>\r\n\r\n"
    );
    let end = format!("\r\n--{boundary}--\r\n");
    let mut body = BytesMut::with_capacity(root.len() + attachment.len() + end.len());
    body.put_slice(root.as_bytes());
    body.put_slice(attachment);
    body.put_slice(end.as_bytes());
    Package {
        content_type: format!(
            "multipart/related; type=\"application/xop+xml\"; start=\"<{ROOT_ID}>\"; start-info=\"application/soap+xml\"; boundary=\"{boundary}\""
        ),
        body: body.freeze(),
    }
}

/// The element that points at the attachment, for the envelope's body.
pub fn include() -> String {
    format!("<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:{ATTACHMENT_ID}\"/>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_the_start_part_and_the_image_follows_byte_for_byte() {
        let image = Bytes::from_static(b"\x00\x01binary\r\n--not-a-boundary\xff");
        let p = package("<env:Envelope/>", &image);
        assert!(p.content_type.starts_with("multipart/related; type=\"application/xop+xml\""));
        let boundary = p.content_type.rsplit_once("boundary=\"").unwrap().1.trim_end_matches('"');
        let text = String::from_utf8_lossy(&p.body).into_owned();
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        let root_at = text.find("<env:Envelope/>").unwrap();
        let image_at = p.body.windows(image.len()).position(|w| w == image.as_ref()).unwrap();
        assert!(root_at < image_at);
        assert!(text.contains(&format!("Content-ID: <{ATTACHMENT_ID}>")));
        assert!(include().contains(&format!("cid:{ATTACHMENT_ID}")));
    }
}
