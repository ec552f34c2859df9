//! Test clients for the simulator: ISAPI with HTTP digest (the `digest_auth` crate, a
//! client nobody here wrote), ONVIF SOAP with WS-Security, raw TCP and UDP probes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use portcullis_sim::{DeviceRecord, Fleet, FleetConfig, Profile};
use sha1::Digest;

pub async fn fleet(count: usize, profile: Profile) -> Fleet {
    Fleet::start(FleetConfig::for_tests(count, profile)).await.expect("fleet starts")
}

pub async fn fleet_with(config: FleetConfig) -> Fleet {
    Fleet::start(config).await.expect("fleet starts")
}

pub fn device(f: &Fleet, i: usize) -> DeviceRecord {
    f.devices().into_iter().nth(i).expect("device exists")
}

fn http_client(source: Option<IpAddr>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(0);
    if let Some(ip) = source {
        b = b.local_address(ip);
    }
    b.build().unwrap()
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub www_authenticate: Vec<String>,
}

impl Answer {
    /// Status, body and every `WWW-Authenticate` challenge of a response.
    pub async fn from_response(resp: reqwest::Response) -> reqwest::Result<Answer> {
        let status = resp.status().as_u16();
        let www_authenticate = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(String::from)
            .collect();
        Ok(Answer { status, body: resp.text().await?, www_authenticate })
    }
}

/// An ISAPI client with digest authentication.
#[derive(Debug, Clone)]
pub struct Isapi {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub pass: String,
}

impl Isapi {
    pub fn new(d: &DeviceRecord, pass: &str) -> Self {
        Isapi {
            http: http_client(None),
            base: format!("http://{}:{}", d.address, d.http_port.expect("http open")),
            user: d.username.clone(),
            pass: pass.to_string(),
        }
    }
    pub fn from(mut self, source: Ipv4Addr) -> Self {
        self.http = http_client(Some(IpAddr::V4(source)));
        self
    }
    pub fn https(mut self, d: &DeviceRecord) -> Self {
        self.base = format!("https://{}:{}", d.address, d.https_port.expect("https open"));
        self
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<String>,
    ) -> reqwest::Result<Answer> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.http.request(m, format!("{}{}", self.base, path));
        if let Some(b) = body {
            r = r.body(b.to_string()).header("Content-Type", "application/xml");
        }
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        Answer::from_response(r.send().await?).await
    }

    /// Challenge, then answer it: what a careful client does for every request.
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> reqwest::Result<Answer> {
        let first = self.raw(method, path, body, None).await?;
        if first.status != 401 {
            return Ok(first);
        }
        let Some(challenge) = first.www_authenticate.iter().find(|h| h.starts_with("Digest")) else {
            return Ok(first);
        };
        let header = digest_header(challenge, &self.user, &self.pass, method, path);
        self.raw(method, path, body, Some(header)).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await.expect("GET answered")
    }
    pub async fn put(&self, path: &str, body: &str) -> Answer {
        self.call("PUT", path, Some(body)).await.expect("PUT answered")
    }
}

pub fn digest_header(challenge: &str, user: &str, pass: &str, method: &str, path: &str) -> String {
    let mut prompt = digest_auth::parse(challenge).expect("a digest challenge");
    let ctx = digest_auth::AuthContext::new_with_method(
        user,
        pass,
        path,
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::from(method.to_string()),
    );
    prompt.respond(&ctx).expect("digest computes").to_header_string()
}

/// The text of the first element with this local name.
pub fn text_of(xml: &str, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants().find(|n| n.tag_name().name() == local).map(|n| n.text().unwrap_or("").trim().to_string())
}

pub fn ns_of(xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.root_element().tag_name().namespace().map(String::from)
}

/// A WS-Security UsernameToken header with PasswordDigest.
pub fn wsse_header(user: &str, pass: &str, created: &str, nonce: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(pass.as_bytes());
    let digest = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);
    format!(
        r#"<s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"#
    )
}

pub fn soap(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tas="http://www.onvif.org/ver10/advancedsecurity/wsdl">{header}<s:Body>{body}</s:Body></s:Envelope>"#
    )
}

pub fn now_created(offset_s: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_s)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn random_nonce() -> Vec<u8> {
    (0..16).map(|_| rand::random::<u8>()).collect()
}

/// An ONVIF client authenticating with UsernameToken.
#[derive(Debug, Clone)]
pub struct Onvif {
    pub http: reqwest::Client,
    pub url: String,
    pub user: String,
    pub pass: String,
    pub clock_offset_s: i64,
}

impl Onvif {
    pub fn new(d: &DeviceRecord, pass: &str) -> Self {
        Onvif {
            http: http_client(None),
            url: d.onvif_url.clone().expect("ONVIF on"),
            user: d.username.clone(),
            pass: pass.into(),
            clock_offset_s: 0,
        }
    }
    pub async fn post(&self, envelope: String) -> reqwest::Result<Answer> {
        let resp = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/soap+xml; charset=utf-8")
            .body(envelope)
            .send()
            .await?;
        Answer::from_response(resp).await
    }
    /// An authenticated call with a fresh nonce.
    pub async fn call(&self, body: &str) -> Answer {
        let header = wsse_header(&self.user, &self.pass, &now_created(self.clock_offset_s), &random_nonce());
        self.post(soap(&header, body)).await.expect("ONVIF answered")
    }
    pub async fn anonymous(&self, body: &str) -> Answer {
        self.post(soap("", body)).await.expect("ONVIF answered")
    }
}

/// Whether a TCP port accepts connections.
pub async fn tcp_open(ip: Ipv4Addr, port: u16) -> bool {
    matches!(tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect((ip, port))).await, Ok(Ok(_)))
}

/// Wait until a condition on the port holds (listeners change a few ms after the answer).
pub async fn eventually_tcp(ip: Ipv4Addr, port: u16, open: bool) -> bool {
    for _ in 0..40 {
        if tcp_open(ip, port).await == open {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Send one datagram and wait for an answer.
pub async fn udp_ask(to: SocketAddr, payload: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
    s.send_to(payload, to).await.ok()?;
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(wait, s.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

pub const PROBE_NVT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>urn:uuid:0f0e0d0c-0000-4000-8000-000000000001</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"#;
