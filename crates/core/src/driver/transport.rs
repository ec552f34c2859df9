//! The seam under every driver: one HTTP exchange (a request out, its status, digest
//! challenges and body back). The product exchanges over the network on hyper's
//! HTTP/1.1 connections ([`super::connections`]; rustls, pinned certificates); unit
//! tests exchange with a script, so that the drivers' and the apply runner's decisions
//! (rollback, read-back mismatch, a dropped answer, a fault) are tested without sockets. Digest authentication, the login
//! guard and everything above stay the same code either way.

use std::sync::Arc;
use std::time::Duration;

/// A request as the drivers make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// `http://127.1.0.1:80/ISAPI/System/deviceInfo`
    pub url: String,
    pub content_type: Option<String>,
    pub body: Option<String>,
    /// A binary body (a firmware image), sent instead of `body`; shared, not copied,
    /// when the digest exchange sends it again.
    pub payload: Option<bytes::Bytes>,
    pub authorization: Option<String>,
    /// The most bytes the answer may have: a device that sends more is refused, not
    /// read into memory ([`ANSWER_LIMIT`] unless the request says otherwise).
    pub limit: usize,
    /// The answer is binary (a configuration export): kept byte for byte in
    /// [`Reply::bytes`], not read as text.
    pub binary: bool,
    /// How long the whole exchange may take (by kind of operation, see
    /// [`super::timing`]).
    pub timeout: Duration,
    /// The device's key where it shares its address with others: its certificate is
    /// checked against its own pin, not the address's.
    pub device: Option<Arc<str>>,
    /// The request changes nothing on the device (a read): it may go a second time, on a
    /// new connection, when a kept one fails under it
    /// ([`super::connections::Connections::send`]).
    pub read_only: bool,
}

/// What an answer may weigh: every document a camera sends is a few kilobytes.
pub const ANSWER_LIMIT: usize = 1024 * 1024;

/// The most an answer's buffer is made for before its bytes arrive: a device that
/// announces a megabyte and sends nothing holds no more than this.
const PRESIZE_AT_MOST: usize = 64 * 1024;

impl Request {
    /// The path and query of the URL (`/ISAPI/System/deviceInfo`).
    pub fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or(self.url.as_str(), |(_, r)| r);
        rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `WWW-Authenticate: Digest …` challenges.
    pub challenges: Vec<String>,
    /// The answer as text (invalid UTF-8 replaced); empty for a binary request.
    pub body: String,
    /// The answer byte for byte, for a binary request only.
    pub bytes: Option<Vec<u8>>,
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    Timeout,
    /// Refused, reset, a TLS failure (a pin that does not match): the reason in words.
    Unreachable(String),
    /// The answer was larger than the request's limit (in bytes).
    TooLarge(usize),
    /// The device presented another certificate than its pin (fingerprints, hex).
    CertificateChanged {
        pinned: String,
        presented: String,
    },
}

/// One HTTP exchange.
#[async_trait::async_trait]
pub trait Exchange: Send + Sync + std::fmt::Debug {
    async fn exchange(&self, request: Request) -> Result<Reply, ExchangeError>;
    /// The device at `base` (known by `device` where it shares its address) has had its
    /// turn: what is kept for its next request (idle connections) can go now.
    fn done_with(&self, _device: Option<&str>, _base: &str) {}
}

/// What the drivers are given: a cheap, shareable handle on an exchange. One client
/// per run: it carries the run's login guards, one per device.
#[derive(Debug, Clone)]
pub struct Client {
    exchange: Arc<dyn Exchange>,
    /// How long an exchange may take (for messages).
    pub timeout: Duration,
    /// The run's login budget, per device.
    pub guards: super::login::Guards,
    /// The run's exchanges in flight, per device, where the scheduler limits them.
    pub lanes: super::lanes::Lanes,
}

impl Client {
    pub fn new(exchange: Arc<dyn Exchange>, timeout: Duration) -> Client {
        Client { exchange, timeout, guards: Default::default(), lanes: Default::default() }
    }

    pub async fn exchange(&self, request: Request) -> Result<Reply, ExchangeError> {
        self.exchange.exchange(request).await
    }

    /// See [`Exchange::done_with`].
    pub fn done_with(&self, device: Option<&str>, base: &str) {
        self.exchange.done_with(device, base);
    }
}

/// Which idle connections may carry a request: the device's own key where it shares its
/// address (its TLS pin is its own, so are its connections), and `scheme://authority`.
fn server_key(device: Option<&str>, https: bool, authority: &http::uri::Authority) -> String {
    format!("{}|{}://{}", device.unwrap_or_default(), if https { "https" } else { "http" }, authority.as_str())
}

/// Over the network.
#[derive(Debug)]
pub(crate) struct Network {
    /// The run's TLS handshakes: pins by address, the site CA, resumption.
    pub tls: Arc<rustls::ClientConfig>,
    /// How `tls` was made: for the handshakes of devices that share an address.
    pub configs: super::tls::TlsConfigs,
    /// The handshakes of each device that shares its address with others, by its key.
    pub shared: std::sync::Mutex<std::collections::HashMap<Arc<str>, Arc<rustls::ClientConfig>>>,
    /// What the client's handshakes checked: says why one was refused.
    pub pins: super::tls::LivePins,
    /// Which HTTPS servers this run has reached once (see [`FirstContact`]).
    pub first_contact: FirstContact,
    /// The connections, kept alive between a device's requests.
    pub connections: super::connections::Connections,
}

/// One full TLS handshake per device per run (issue #19): the first exchange with an
/// HTTPS server goes alone, and requests made meanwhile wait for it; then they find its
/// connection idle in the pool, or resume its TLS session on a connection of their own.
/// Without this, the protocol probe and the clock, asked at once, cost two full
/// handshakes: a camera's CPU spends tens of milliseconds on each, far more than the
/// round trip this waits. Whatever the first exchange's outcome, the others then go at
/// once, so a device that does not answer costs two time-outs in a row (the first
/// exchange's, then the others' together), not one per request.
#[derive(Debug, Default)]
pub(crate) struct FirstContact {
    servers: super::per_device::PerDevice<tokio::sync::Mutex<bool>>,
}

impl FirstContact {
    /// The gate of this server (`host:port`): held while it is first reached.
    fn gate(&self, authority: &str) -> Option<Arc<tokio::sync::Mutex<bool>>> {
        self.servers.get_or_insert_with(authority, Default::default)
    }
}

/// `127.1.0.1:443` of `https://127.1.0.1:443/onvif/device_service`; `None` for plain HTTP.
fn https_authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

#[async_trait::async_trait]
impl Exchange for Network {
    fn done_with(&self, device: Option<&str>, base: &str) {
        let Ok(uri) = base.parse::<http::Uri>() else { return };
        if let Some(authority) = uri.authority() {
            self.connections.close_idle(&server_key(device, uri.scheme_str() == Some("https"), authority));
        }
    }

    async fn exchange(&self, request: Request) -> Result<Reply, ExchangeError> {
        let Some(gate) = https_authority(&request.url).and_then(|a| self.first_contact.gate(a)) else {
            return self.send(request).await;
        };
        let mut reached = gate.lock().await;
        if *reached {
            drop(reached);
            return self.send(request).await;
        }
        let reply = self.send(request).await;
        *reached = true;
        reply
    }
}

impl Network {
    /// The handshakes for this request: the run's, or the device's own where it shares
    /// its address (made on its first request).
    fn tls_for(&self, device: Option<&Arc<str>>) -> Result<Arc<rustls::ClientConfig>, ExchangeError> {
        let Some(device) = device else { return Ok(self.tls.clone()) };
        let mut shared = self.shared.lock().map_err(|_| ExchangeError::Unreachable("client lock poisoned".into()))?;
        if let Some(c) = shared.get(device) {
            return Ok(c.clone());
        }
        let made = self.configs.build(Some(device.clone())).map_err(|e| ExchangeError::Unreachable(e.to_string()))?;
        shared.insert(device.clone(), made.clone());
        Ok(made)
    }

    /// The whole exchange, connecting included, within the request's time limit.
    async fn send(&self, request: Request) -> Result<Reply, ExchangeError> {
        match tokio::time::timeout(request.timeout, self.send_within_limit(&request)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(self.failure(&request, e)),
            Err(_) => Err(ExchangeError::Timeout),
        }
    }

    async fn send_within_limit(&self, request: &Request) -> Result<Reply, ExchangeError> {
        let bad_url = |why: &str| ExchangeError::Unreachable(format!("{}: {why}", request.url));
        let uri: http::Uri = request.url.parse().map_err(|e: http::uri::InvalidUri| bad_url(&e.to_string()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad_url("not an http or https URL")),
        };
        let authority = uri.authority().ok_or_else(|| bad_url("no host"))?;
        let default_port = if https { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let server = super::connections::Server {
            key: server_key(request.device.as_deref(), https, authority),
            host: authority.host().trim_start_matches('[').trim_end_matches(']'),
            port,
            tls: if https { Some(self.tls_for(request.device.as_ref())?) } else { None },
        };
        // As hyper's own client does: the port is said only where it is not the scheme's.
        let host = if port == default_port { authority.host() } else { authority.as_str() };
        let method = http::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| ExchangeError::Unreachable(format!("method {}: {e}", request.method)))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let body = match (&request.payload, &request.body) {
            (Some(p), _) => p.clone(),
            (None, Some(b)) => bytes::Bytes::from(b.clone()),
            (None, None) => bytes::Bytes::new(),
        };
        // Made again (headers, and the body shared, not copied) only when the request
        // goes a second time.
        let outgoing = || outgoing(request, method.clone(), path, host, body.clone());
        let (response, connection) = self.connections.send(server, request.read_only, outgoing).await?;

        let status = response.status().as_u16();
        let challenges = digest_challenges(response.headers());
        let closes = says_close(response.headers());
        let length = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let bytes = read_body(response.into_body(), length, request.limit).await?;
        if !closes {
            self.connections.keep(connection);
        }
        if request.binary {
            return Ok(Reply { status, challenges, body: String::new(), bytes: Some(bytes) });
        }
        // Kept as it came when it is UTF-8 (as every camera's documents are), not copied.
        let body = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(Reply { status, challenges, body, bytes: None })
    }

    /// Why an exchange failed: a refused certificate change is told apart (the
    /// handshake recorded it), everything else as it came.
    fn failure(&self, request: &Request, e: ExchangeError) -> ExchangeError {
        if !request.url.starts_with("https://") {
            return e;
        }
        let host = request
            .url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host()?.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().ok());
        // The pin this handshake was held to: the device's own, or its address's.
        let key = request.device.as_deref().map(String::from).or(host.map(|ip| ip.to_string()));
        match key.and_then(|k| self.pins.changed(&k)) {
            Some((pinned, seen)) => ExchangeError::CertificateChanged { pinned, presented: seen.fingerprint },
            None => e,
        }
    }
}

/// The request as it goes on the wire: origin-form path, `Host`, the body as given.
fn outgoing(
    request: &Request,
    method: http::Method,
    path: &str,
    host: &str,
    body: bytes::Bytes,
) -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, ExchangeError> {
    let mut outgoing = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, host)
        .header(http::header::ACCEPT, "*/*");
    if let Some(t) = &request.content_type {
        outgoing = outgoing.header(http::header::CONTENT_TYPE, t);
    }
    if let Some(a) = &request.authorization {
        outgoing = outgoing.header(http::header::AUTHORIZATION, a);
    }
    outgoing.body(http_body_util::Full::new(body)).map_err(|e| ExchangeError::Unreachable(format!("request: {e}")))
}

/// The answer's `WWW-Authenticate: Digest …` challenges.
fn digest_challenges(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
        .map(String::from)
        .collect()
}

/// Whether the device says it closes the connection after this answer.
fn says_close(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))))
}

/// The answer's body, read frame by frame: a device that does not say its length, or
/// lies, is stopped at the limit. The buffer is sized from the length it gives, but never
/// past what a document weighs.
async fn read_body(
    mut body: hyper::body::Incoming,
    length: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, ExchangeError> {
    if length.is_some_and(|n| n > limit as u64) {
        return Err(ExchangeError::TooLarge(limit));
    }
    let mut bytes = Vec::with_capacity(length.map_or(0, |n| n.min(PRESIZE_AT_MOST as u64) as usize));
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let frame = frame.map_err(|e| super::connections::unreachable(&e))?;
        let Ok(chunk) = frame.into_data() else { continue };
        if bytes.len() + chunk.len() > limit {
            return Err(ExchangeError::TooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A scripted device for unit tests: each rule answers requests whose method and path
/// match (and whose body contains a marker), in turn; the last answer repeats. Every
/// request is kept for assertions.
#[cfg(test)]
pub mod script {
    use super::*;
    use std::sync::Mutex;

    /// One scripted answer.
    #[derive(Debug, Clone)]
    pub enum Answer {
        Reply(Reply),
        /// The connection drops (after the device may have acted).
        Drop,
        Timeout,
    }

    pub fn ok(body: &str) -> Answer {
        Answer::Reply(Reply { status: 200, challenges: Vec::new(), body: body.to_string(), bytes: None })
    }

    pub fn status(code: u16, body: &str) -> Answer {
        Answer::Reply(Reply { status: code, challenges: Vec::new(), body: body.to_string(), bytes: None })
    }

    #[derive(Debug)]
    struct Rule {
        method: String,
        path: String,
        marker: Option<String>,
        answers: Vec<Answer>,
        used: usize,
    }

    #[derive(Debug, Default)]
    pub struct Script {
        rules: Mutex<Vec<Rule>>,
        pub seen: Mutex<Vec<Request>>,
        /// Like a real camera: a request without `Authorization` draws a digest challenge.
        digest: std::sync::atomic::AtomicBool,
        /// The body that comes with the challenge (firmware's own refusal document).
        refusal: Mutex<String>,
    }

    impl Script {
        pub fn new() -> Arc<Script> {
            Arc::new(Script::default())
        }

        /// `method path` (path without query matches any query) answers these in turn.
        pub fn on(self: &Arc<Self>, method: &str, path: &str, answers: Vec<Answer>) -> Arc<Self> {
            self.rule(method, path, None, answers)
        }

        /// As `on`, for requests whose body contains `marker` (a SOAP action).
        pub fn on_body(self: &Arc<Self>, method: &str, path: &str, marker: &str, answers: Vec<Answer>) -> Arc<Self> {
            self.rule(method, path, Some(marker), answers)
        }

        fn rule(self: &Arc<Self>, method: &str, path: &str, marker: Option<&str>, answers: Vec<Answer>) -> Arc<Self> {
            if let Ok(mut rules) = self.rules.lock() {
                rules.push(Rule {
                    method: method.into(),
                    path: path.into(),
                    marker: marker.map(String::from),
                    answers,
                    used: 0,
                });
            }
            self.clone()
        }

        /// Ask for digest authentication, as cameras do (the answer is not checked).
        pub fn with_digest(self: &Arc<Self>) -> Arc<Self> {
            self.digest.store(true, std::sync::atomic::Ordering::SeqCst);
            self.clone()
        }

        /// As `with_digest`, the challenge coming with this body (Hikvision's `userCheck`).
        pub fn with_digest_refusing(self: &Arc<Self>, body: &str) -> Arc<Self> {
            if let Ok(mut r) = self.refusal.lock() {
                *r = body.to_string();
            }
            self.with_digest()
        }

        pub fn client(self: &Arc<Self>) -> Client {
            Client::new(self.clone(), Duration::from_secs(5))
        }

        /// The requests made as `METHOD path`, in order.
        pub fn calls(&self) -> Vec<String> {
            self.seen
                .lock()
                .map(|s| s.iter().map(|r| format!("{} {}", r.method, r.path())).collect())
                .unwrap_or_default()
        }
    }

    #[async_trait::async_trait]
    impl Exchange for Script {
        async fn exchange(&self, request: Request) -> Result<Reply, ExchangeError> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(request.clone());
            }
            if request.authorization.is_none() && self.digest.load(std::sync::atomic::Ordering::SeqCst) {
                let challenge = r#"Digest realm="scripted", nonce="5c71e3", qop="auth""#.to_string();
                let body = self.refusal.lock().map(|r| r.clone()).unwrap_or_default();
                return Ok(Reply { status: 401, challenges: vec![challenge], body, bytes: None });
            }
            let path = request.path().to_string();
            let bare = path.split('?').next().unwrap_or_default().to_string();
            let body = request.body.clone().unwrap_or_default();
            let answer = {
                let Ok(mut rules) = self.rules.lock() else { return Err(ExchangeError::Unreachable("lock".into())) };
                // Later rules win, so a test can script a change of heart.
                let rule = rules.iter_mut().rev().find(|r| {
                    r.method == request.method
                        && (r.path == path || r.path == bare)
                        && r.marker.as_deref().is_none_or(|m| body.contains(m))
                });
                match rule {
                    Some(r) => {
                        let a = r.answers.get(r.used).or(r.answers.last()).cloned();
                        r.used += 1;
                        a
                    }
                    None => None,
                }
            };
            match answer {
                // A binary request gets the scripted text as bytes, as the network would.
                Some(Answer::Reply(r)) if request.binary => {
                    Ok(Reply { bytes: Some(r.body.into_bytes()), body: String::new(), ..r })
                }
                Some(Answer::Reply(r)) => Ok(r),
                Some(Answer::Drop) => Err(ExchangeError::Unreachable("connection reset by peer".into())),
                Some(Answer::Timeout) => Err(ExchangeError::Timeout),
                None => Ok(Reply { status: 404, challenges: Vec::new(), body: String::new(), bytes: None }),
            }
        }
    }
}
