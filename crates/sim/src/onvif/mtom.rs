//! MTOM/XOP requests (`multipart/related`, W3C XOP 1.0): the SOAP envelope is the part
//! the `start` parameter names (else the first), and `xop:Include href="cid:…"` elements
//! point at the other parts. Firmware answers `UpgradeSystemFirmware` only in this form.

use bytes::Bytes;

use crate::http::HttpRequest;

/// A request's parts: the envelope, and the attachments by Content-ID.
#[derive(Debug, Default)]
pub struct Package {
    pub root: Bytes,
    attachments: Vec<(String, Bytes)>,
}

impl Package {
    /// The attachment an `href="cid:…"` names.
    pub fn attachment(&self, href: &str) -> Option<&Bytes> {
        let id = href.strip_prefix("cid:")?;
        self.attachments.iter().find(|(cid, _)| cid == id).map(|(_, b)| b)
    }
}

/// `None` for an ordinary SOAP request; the parts of an MTOM one; an error for a
/// multipart body that does not read.
pub fn read(req: &HttpRequest) -> Result<Option<Package>, String> {
    let Some(content_type) = req.header("content-type") else { return Ok(None) };
    let mime: mime::Mime = content_type.parse().map_err(|_| "a Content-Type that does not read".to_string())?;
    if mime.type_() != mime::MULTIPART || mime.subtype() != "related" {
        return Ok(None);
    }
    let boundary = mime.get_param(mime::BOUNDARY).ok_or("multipart without a boundary")?.to_string();
    let start = mime.get_param("start").map(|s| bare_id(s.as_str()).to_string());
    let body = req.body.clone();
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The body is already in memory: the parser's futures never wait.
    let parts = futures::executor::block_on(async move {
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
            let id = field.headers().get("content-id").and_then(|v| v.to_str().ok()).map(bare_id).unwrap_or("");
            let id = id.to_string();
            parts.push((id, field.bytes().await.map_err(|e| e.to_string())?));
        }
        Ok::<_, String>(parts)
    })?;
    let root_at = match &start {
        Some(s) => parts.iter().position(|(id, _)| id == s).ok_or("no part is the start the header names")?,
        None => 0,
    };
    let mut attachments = parts;
    if root_at >= attachments.len() {
        return Err("an empty multipart body".into());
    }
    let (_, root) = attachments.remove(root_at);
    Ok(Some(Package { root, attachments }))
}

/// `<id@host>` → `id@host`.
fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &[u8]) -> HttpRequest {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        let local: std::net::SocketAddr = "127.0.0.1:80".parse().unwrap();
        HttpRequest {
            method: "POST".into(),
            path: "/onvif/device_service".into(),
            query: String::new(),
            uri: "/onvif/device_service".into(),
            headers,
            body: Bytes::copy_from_slice(body),
            peer: local,
            local,
            https: false,
        }
    }

    #[test]
    fn the_start_part_is_the_envelope_and_the_others_are_found_by_content_id() {
        let body = b"--b1\r\nContent-ID: <img@x>\r\n\r\n\x00\xffimage\r\n--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root@x>\r\n\r\n<Envelope/>\r\n--b1--\r\n";
        let req = request("multipart/related; type=\"application/xop+xml\"; start=\"<root@x>\"; boundary=b1", body);
        let p = read(&req).unwrap().unwrap();
        assert_eq!(&p.root[..], b"<Envelope/>");
        assert_eq!(p.attachment("cid:img@x").map(|b| &b[..]), Some(&b"\x00\xffimage"[..]));
        assert!(p.attachment("cid:other@x").is_none() && p.attachment("img@x").is_none());
    }

    #[test]
    fn plain_soap_is_no_package_and_a_broken_one_is_an_error() {
        assert!(read(&request("application/soap+xml", b"<Envelope/>")).unwrap().is_none());
        assert!(read(&request("multipart/related", b"--b1\r\n")).is_err(), "no boundary");
        assert!(read(&request("multipart/related; boundary=b1", b"no parts at all")).is_err());
        let wrong_start = request("multipart/related; start=\"<nope>\"; boundary=b1", b"--b1\r\n\r\nx\r\n--b1--\r\n");
        assert!(read(&wrong_start).is_err());
    }
}
