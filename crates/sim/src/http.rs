//! HTTP and HTTPS front door: accepts connections (through the IP filter and, for
//! HTTPS, a real TLS handshake with the camera's current certificate), applies the
//! fault switches, and hands each request to ISAPI or the ONVIF device service.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::camera::Camera;
use crate::tcp::{admitted, FILTERED_HOLD};

const MAX_BODY: usize = 4 * 1024 * 1024;
/// A firmware image: the largest vendors ship are a few hundred megabytes.
const MAX_IMAGE: usize = 512 * 1024 * 1024;

/// Requests that may carry a firmware image: the upload paths, and an MTOM package
/// (`UpgradeSystemFirmware`) to the device service.
fn takes_an_image(path: &str, headers: &hyper::HeaderMap) -> bool {
    let content_type = headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    path == "/ISAPI/System/updateFirmware"
        || path.starts_with(crate::onvif::FIRMWARE_UPLOAD_PATH)
        || (path.starts_with("/onvif/") && content_type.starts_with("multipart/related"))
}

/// One HTTP request as the protocol handlers see it.
#[derive(Debug)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Path plus query, as the client wrote it (digest `uri`).
    pub uri: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub https: bool,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
    /// The scheme and address the client used: XAddrs are built from it.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.local)
    }
}

/// What to do once the answer is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Nothing,
    /// Listener-relevant state changed.
    Reconcile,
    Reboot,
}

/// A handler's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// A binary body (a configuration export), sent instead of `body`.
    pub bytes: Option<Vec<u8>>,
    /// Whether the request changed the camera's state.
    pub committed: bool,
    pub after: After,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: String) -> Self {
        Reply { status, content_type, headers: Vec::new(), body, bytes: None, committed: false, after: After::Nothing }
    }
    /// A binary answer.
    pub fn binary(status: u16, content_type: &'static str, bytes: Vec<u8>) -> Self {
        Reply { bytes: Some(bytes), ..Reply::new(status, content_type, String::new()) }
    }
    pub fn committed(mut self, after: After) -> Self {
        self.committed = true;
        self.after = after;
        self
    }
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The connection is dropped without an answer (a fault, or a reboot mid-change).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault")
    }
}
impl std::error::Error for Dropped {}

pub async fn serve(cam: Arc<Camera>, listener: TcpListener, https: bool) {
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        while conns.try_join_next().is_some() {}
        conns.spawn(connection(cam.clone(), stream, peer, https));
    }
}

async fn connection(cam: Arc<Camera>, stream: TcpStream, peer: SocketAddr, https: bool) {
    if !admitted(&cam, peer.ip()) {
        tokio::time::sleep(FILTERED_HOLD).await;
        return;
    }
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    cam.traffic.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if https {
        let config = cam.state().certs.server.config.clone();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let Ok(Ok(tls)) = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await
        else {
            return;
        };
        let counter = match tls.get_ref().1.handshake_kind() {
            Some(rustls::HandshakeKind::Resumed) => &cam.traffic.tls_resumed,
            _ => &cam.traffic.tls_full,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        serve_http1(cam, TokioIo::new(tls), peer, local, true).await;
    } else {
        serve_http1(cam, TokioIo::new(stream), peer, local, false).await;
    }
}

async fn serve_http1<I>(cam: Arc<Camera>, io: I, peer: SocketAddr, local: SocketAddr, https: bool)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let cam = cam.clone();
        async move { handle(cam, req, peer, local, https).await }
    });
    let conn = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service);
    let _ = conn.await;
}

async fn handle(
    cam: Arc<Camera>,
    req: Request<Incoming>,
    peer: SocketAddr,
    local: SocketAddr,
    https: bool,
) -> Result<Response<Full<Bytes>>, Dropped> {
    cam.traffic.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let limit = if takes_an_image(parts.uri.path(), &parts.headers) { MAX_IMAGE } else { MAX_BODY };
    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(plain(413, "request body too large")),
    };
    let request = HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        uri: parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| parts.uri.path().into()),
        headers: parts.headers,
        body,
        peer,
        local,
        https,
    };
    tokio::time::sleep(cam.with_faults(|f| f.delay())).await;

    let route = route(&cam, &request);
    let is_write = match route {
        Route::Onvif => crate::onvif::is_write(&request),
        Route::Isapi => request.method != "GET",
        Route::NotFound => false,
    };

    // Faults that strike before the camera does anything.
    if cam.with_faults(|f| f.hang.fire()) {
        std::future::pending::<()>().await;
    }
    if cam.with_faults(|f| f.server_error.fire()) {
        return Ok(to_response(&cam, server_error(&cam, route)));
    }
    if is_write && cam.with_faults(|f| f.drop_before_commit.fire()) {
        return Err(Dropped);
    }
    // An image that arrives with credentials (not the first, unauthenticated ask; an MTOM
    // package carries its own, in the envelope).
    let mtom = request.header("content-type").is_some_and(|t| t.starts_with("multipart/related"));
    let uploading = takes_an_image(&request.path, &request.headers)
        && !request.body.is_empty()
        && (mtom || request.header("authorization").is_some());
    if uploading && cam.with_faults(|f| f.firmware_upload_dropped.fire()) {
        return Err(Dropped);
    }

    let reply = match route {
        Route::Onvif => crate::onvif::handle(&cam, &request),
        Route::Isapi => crate::isapi::handle(&cam, &request),
        Route::NotFound => not_found(&cam),
    };
    // The camera made a key before it could answer (a challenge or a refusal comes at once).
    if reply.status == 200 && makes_key_now(route, &request) {
        tokio::time::sleep(cam.settings.key_generation).await;
    }

    // Faults that strike after the change was committed.
    if reply.committed && cam.with_faults(|f| f.drop_after_commit.fire()) {
        follow_up(&cam, reply.after);
        return Err(Dropped);
    }
    if reply.committed && cam.with_faults(|f| f.reboot_mid_change.fire()) {
        cam.reboot();
        return Err(Dropped);
    }
    follow_up(&cam, reply.after);
    Ok(to_response(&cam, reply))
}

/// A path the camera does not serve: 404, or a 401 where the firmware guards every path.
fn not_found(cam: &Camera) -> Reply {
    use crate::faults::GuardStyle;
    let unauthorized = || Reply::new(401, "text/html", "<html><body><h1>401 Unauthorized</h1></body></html>".into());
    match cam.with_faults(|f| f.guard_unknown_paths) {
        GuardStyle::Off => Reply::new(404, "text/html", "<html><body><h1>404 Not Found</h1></body></html>".into()),
        GuardStyle::Bare => unauthorized(),
        GuardStyle::Digest => {
            let nonce = format!("{:032x}", rand::random::<u128>());
            unauthorized()
                .header("WWW-Authenticate", format!("Digest realm=\"{}\", qop=\"auth\", nonce=\"{nonce}\"", cam.realm))
        }
    }
}

fn follow_up(cam: &Camera, after: After) {
    match after {
        After::Nothing => {}
        After::Reconcile => cam.reconcile_soon(),
        After::Reboot => cam.reboot_soon(),
    }
}

/// Requests the camera answers only once it has made a key: ISAPI's CSR (a new key
/// pair each time). ONVIF's CreateRSAKeyPair answers at once and works in the
/// background (its key reads `generating` meanwhile); ONVIF's CSR and self-signed
/// certificate sign with a key made before, which takes a moment, not a key's time.
fn makes_key_now(route: Route, req: &HttpRequest) -> bool {
    route == Route::Isapi && req.method != "GET" && req.path.ends_with("/certSignReq")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Onvif,
    Isapi,
    NotFound,
}

fn route(cam: &Camera, req: &HttpRequest) -> Route {
    let st = cam.state();
    if req.path.starts_with("/onvif/") && st.services.onvif_enabled && st.activation.activated {
        Route::Onvif
    } else if st.is_hikvision() && (req.path.starts_with("/ISAPI/") || req.path.starts_with("/SDK/")) {
        Route::Isapi
    } else {
        Route::NotFound
    }
}

fn server_error(cam: &Camera, route: Route) -> Reply {
    match route {
        Route::Onvif => crate::onvif::fault_reply(cam, 500, "env:Receiver", "ter:Action", None, "Internal error"),
        _ => crate::isapi::status_reply(cam, 500, 3, "Device Error", "deviceError"),
    }
}

fn to_response(cam: &Camera, reply: Reply) -> Response<Full<Bytes>> {
    let body = match reply.bytes {
        Some(bytes) => bytes,
        None if cam.with_faults(|f| f.malformed_xml.fire()) => mangle(&reply.body).into_bytes(),
        None => reply.body.into_bytes(),
    };
    let mut b = Response::builder().status(reply.status).header("Content-Type", reply.content_type);
    for (k, v) in reply.headers {
        b = b.header(k, v);
    }
    b.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| plain(500, "bad response"))
}

/// Cut a document in the middle of a tag and drop its end: what a firmware bug or a
/// lost TCP segment on a proxy looks like.
fn mangle(body: &str) -> String {
    let cut = body.char_indices().map(|(i, _)| i).take_while(|i| *i <= body.len() / 2).last().unwrap_or(0);
    let mut s = body.get(..cut).unwrap_or("").to_string();
    s.push_str("<unclosed attr=\"");
    s
}

fn plain(status: u16, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}
