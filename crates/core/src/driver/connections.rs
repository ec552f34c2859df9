//! The engine's HTTP/1.1 connections: opened (TCP, then TLS where the URL says
//! `https`), kept alive between one device's requests, and dropped soon after.
//!
//! Built on hyper's connection API rather than a whole client (reqwest over hyper-util)
//! because a camera needs little of one: no proxies (a system proxy must never see a
//! device's traffic), no redirects, no name resolution beyond the system's, HTTP/1.1
//! only, a device reached at one address. What a whole client adds per request (a
//! generic pool, a URL parse with IDNA, a tower stack, a timer of its own) was a fifth of
//! an audit's CPU (issue #19's eighth pass). This module keeps what matters: idle
//! connections per server, and a request sent again on a new connection when the
//! device closed the kept one under it, where that is safe ([`Connections::send`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::transport::ExchangeError;

/// Idle connections kept per server (as many as a driver asks at once: the ONVIF reads),
/// and for how long. A device's next request follows its last answer within
/// milliseconds; what waits longer belongs to a device whose audit is over. At 1 s, an
/// audit finishing 150 cameras a second held about 800 such connections (their buffers,
/// rustls's): 250 ms took a 1,000-camera audit's peak from 110 MB to 76 MB, with the
/// same connections and handshakes per camera (`portcullis-bench-steady --counts 1000
/// --rtt-ms 50`). An audit also closes a device's idle connections as soon as it is done
/// with the device ([`Connections::close_idle`]): 133 MB at 5,000 cameras instead of 140.
const IDLE_PER_SERVER: usize = 8;
const IDLE_FOR: Duration = Duration::from_millis(250);

/// A sender on one connection.
type Sender = SendRequest<Full<Bytes>>;

/// Where a request goes, from its URL.
#[derive(Debug)]
pub(crate) struct Server<'a> {
    /// Which idle connections may carry it: the device key (where it shares its
    /// address, its TLS pin is its own) and `scheme://authority`.
    pub key: String,
    /// As the URL has it (an IPv6 address without brackets).
    pub host: &'a str,
    pub port: u16,
    /// `Some` for `https`: the handshake's configuration (pins, site CA, resumption).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A connection taken for one request: given back with [`Connections::keep`] once its
/// answer is read whole, or dropped (and closed) with it.
#[derive(Debug)]
pub(crate) struct Taken {
    key: String,
    sender: Sender,
}

#[derive(Debug)]
struct Idle {
    sender: Sender,
    since: Instant,
}

#[derive(Debug)]
struct Pool {
    by_server: HashMap<String, Vec<Idle>>,
    /// When idle connections past [`IDLE_FOR`] were last dropped, across all servers.
    swept: Instant,
}

/// A run's connections, idle ones by server.
#[derive(Debug)]
pub(crate) struct Connections {
    pool: Mutex<Pool>,
    /// How long a TCP connect and TLS handshake may take together.
    connect_limit: Duration,
}

impl Connections {
    pub(crate) fn new(connect_limit: Duration) -> Connections {
        Connections { pool: Mutex::new(Pool { by_server: HashMap::new(), swept: Instant::now() }), connect_limit }
    }

    /// Send the request `make` makes on an idle connection to `server`, or a new one.
    ///
    /// A kept connection can fail under a request: the device closed it (a limit of
    /// requests per connection, a time-out) as the request went. The request then goes
    /// once more, on a new connection, when that is safe: when hyper hands it back unsent
    /// (the device never saw it), or when it is a read (`read_only`: whatever the device
    /// saw, it changed nothing). A change that may have reached the device is never sent
    /// twice; its failure is the caller's, who reads the device back.
    pub(crate) async fn send(
        &self,
        server: Server<'_>,
        read_only: bool,
        make: impl Fn() -> Result<http::Request<Full<Bytes>>, ExchangeError>,
    ) -> Result<(http::Response<hyper::body::Incoming>, Taken), ExchangeError> {
        let request = match self.take_idle(&server.key).await {
            Some(mut sender) => match sender.try_send_request(make()?).await {
                Ok(response) => return Ok((response, Taken { key: server.key, sender })),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => unsent,
                    None if read_only => make()?,
                    None => return Err(unreachable(e.error())),
                },
            },
            None => make()?,
        };
        let mut sender = self.connect(&server).await?;
        let response = sender.send_request(request).await.map_err(|e| unreachable(&e))?;
        Ok((response, Taken { key: server.key, sender }))
    }

    /// Give a connection back once its answer was read whole and the device did not
    /// say it closes it.
    pub(crate) fn keep(&self, taken: Taken) {
        let Ok(mut pool) = self.pool.lock() else { return };
        let now = Instant::now();
        if now.duration_since(pool.swept) >= IDLE_FOR {
            // The connections of devices whose turn is over are closed here, not kept
            // to the end of the run.
            pool.by_server.retain(|_, idle| {
                idle.retain(|c| now.duration_since(c.since) < IDLE_FOR && !c.sender.is_closed());
                !idle.is_empty()
            });
            pool.swept = now;
        }
        let idle = pool.by_server.entry(taken.key).or_default();
        if idle.len() < IDLE_PER_SERVER {
            idle.push(Idle { sender: taken.sender, since: now });
        }
    }

    /// Close the idle connections to this server now: its device's turn is over, and
    /// each holds its buffers (rustls's, hyper's) until swept.
    pub(crate) fn close_idle(&self, key: &str) {
        // Taken out under the lock, closed after it: closing ends each connection's
        // task and frees its buffers, which no other device's request should wait on.
        let closed = self.pool.lock().ok().and_then(|mut pool| pool.by_server.remove(key));
        drop(closed);
    }

    /// The most recently used idle connection to this server that is still open,
    /// once it can take a request (hyper finishes with the last answer in the
    /// connection's own task).
    async fn take_idle(&self, key: &str) -> Option<Sender> {
        loop {
            let idle = {
                let mut pool = self.pool.lock().ok()?;
                let kept = pool.by_server.get_mut(key)?;
                let idle = kept.pop();
                if kept.is_empty() {
                    pool.by_server.remove(key);
                }
                idle?
            };
            if idle.since.elapsed() >= IDLE_FOR || idle.sender.is_closed() {
                continue;
            }
            let mut sender = idle.sender;
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    /// A new connection: TCP (no Nagle delay: a request is one write), then TLS for
    /// `https`, held to the handshake's configuration.
    async fn connect(&self, server: &Server<'_>) -> Result<Sender, ExchangeError> {
        let opening = async {
            let tcp = TcpStream::connect((server.host, server.port)).await.map_err(|e| unreachable(&e))?;
            tcp.set_nodelay(true).map_err(|e| unreachable(&e))?;
            match &server.tls {
                None => start(tcp).await,
                Some(tls) => {
                    let name = ServerName::try_from(server.host.to_string())
                        .map_err(|e| ExchangeError::Unreachable(format!("{}: {e}", server.host)))?;
                    let stream =
                        TlsConnector::from(tls.clone()).connect(name, tcp).await.map_err(|e| unreachable(&e))?;
                    start(stream).await
                }
            }
        };
        tokio::time::timeout(self.connect_limit, opening).await.map_err(|_| ExchangeError::Timeout)?
    }
}

/// HTTP/1.1 over a connection just opened; the connection runs in a task of its own
/// until its sender is dropped or the device closes it.
async fn start<T>(io: T) -> Result<Sender, ExchangeError>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io)).await.map_err(|e| unreachable(&e))?;
    tokio::spawn(async move {
        // How it ended is told to the request in flight, if any.
        let _ = connection.await;
    });
    Ok(sender)
}

/// An exchange that failed, said by its innermost cause (refused, reset, a pin
/// mismatch), which is what an operator can act on.
pub(crate) fn unreachable(e: &(dyn std::error::Error + 'static)) -> ExchangeError {
    let mut innermost: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = innermost.source() {
        innermost = inner;
    }
    ExchangeError::Unreachable(innermost.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// How a test server treats a connection after its first answer.
    #[derive(Debug, Clone, Copy)]
    enum After {
        /// Keeps it open for more requests.
        KeepAlive,
        /// Says `Connection: close` and closes it.
        Close,
        /// Closes it without a word, as firmware does with a connection idle too long.
        SilentClose,
    }

    /// A plain-HTTP server on loopback answering every request `200 ok`, counting the
    /// connections it accepted. A test fixture, kept this small on purpose: what is
    /// tested is the client's handling of connections, not HTTP.
    async fn server(after: After) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        if !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                            continue;
                        }
                        seen.clear();
                        let close = if matches!(after, After::Close) { "Connection: close\r\n" } else { "" };
                        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{close}\r\nok");
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        if !matches!(after, After::KeepAlive) {
                            return;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    async fn get(connections: &Connections, port: u16) -> String {
        send(connections, port, "GET", true).await.unwrap()
    }

    /// One request to the test server on loopback; its answer's body.
    async fn send(
        connections: &Connections,
        port: u16,
        method: &str,
        read_only: bool,
    ) -> Result<String, ExchangeError> {
        let server = Server { key: format!("http://127.0.0.1:{port}"), host: "127.0.0.1", port, tls: None };
        let request = || Ok(http::Request::builder().method(method).uri("/").body(Full::new(Bytes::new())).unwrap());
        let (response, taken) = connections.send(server, read_only, request).await?;
        let close = response.headers().get("connection").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
        if !close {
            connections.keep(taken);
        }
        Ok(String::from_utf8(body.to_vec()).unwrap())
    }

    /// The connections a server that treats them as `after` says accepted for `requests`
    /// requests in a row, each answered `ok`.
    async fn connections_for(after: After, requests: usize) -> usize {
        let (port, accepted) = server(after).await;
        let connections = Connections::new(Duration::from_secs(5));
        for _ in 0..requests {
            assert_eq!(get(&connections, port).await, "ok");
        }
        accepted.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_device_that_keeps_its_connection_alive_gets_one() {
        assert_eq!(connections_for(After::KeepAlive, 5).await, 1);
    }

    #[tokio::test]
    async fn a_device_that_closes_after_each_answer_gets_a_connection_per_request() {
        assert_eq!(connections_for(After::Close, 3).await, 3);
    }

    /// The closed connection is kept (nothing said it closes); the next request finds it
    /// closed, or is refused by it unsent, and takes a new one: no request fails.
    #[tokio::test]
    async fn a_request_on_a_connection_the_device_dropped_goes_on_a_new_one() {
        assert_eq!(connections_for(After::SilentClose, 3).await, 3);
    }

    /// A device that closes a kept connection as the next request goes (here: while the
    /// run's one thread is busy, so hyper writes the request before it sees the close).
    /// Returns what the second request got, and how many connections carried a request.
    async fn a_request_as_the_device_closes(method: &str, read_only: bool) -> (Result<String, ExchangeError>, usize) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (close, closing) = std::sync::mpsc::channel::<()>();
        let (closed, has_closed) = std::sync::mpsc::channel::<()>();
        // On a thread of its own: the test blocks the runtime's thread while it closes.
        let device = std::thread::spawn(move || {
            let mut carried = 0;
            for socket in listener.incoming() {
                let mut socket = socket.unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).unwrap() {
                        // The test's own knock at the end: nothing more will come.
                        0 => return carried,
                        n => seen.extend_from_slice(&buf[..n]),
                    }
                }
                carried += 1;
                socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
                if carried == 1 {
                    closing.recv().unwrap();
                    drop(socket);
                    closed.send(()).unwrap();
                }
            }
            carried
        });
        let connections = Connections::new(Duration::from_secs(5));
        assert_eq!(get(&connections, port).await, "ok");
        close.send(()).unwrap();
        // Blocking on purpose: hyper's task for the connection must not run before the
        // next request is handed to it.
        has_closed.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let second = send(&connections, port, method, read_only).await;
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        (second, device.join().unwrap())
    }

    #[tokio::test]
    async fn a_read_on_a_connection_the_device_closed_under_it_goes_again_on_a_new_one() {
        let (second, connections) = a_request_as_the_device_closes("POST", true).await;
        assert_eq!(second.unwrap(), "ok");
        assert_eq!(connections, 2);
    }

    #[tokio::test]
    async fn a_change_that_may_have_reached_the_device_is_not_sent_twice() {
        let (second, connections) = a_request_as_the_device_closes("PUT", false).await;
        assert!(matches!(second, Err(ExchangeError::Unreachable(_))), "{second:?}");
        assert_eq!(connections, 1);
    }

    #[tokio::test]
    async fn an_idle_connection_is_not_kept_past_its_time() {
        let (port, accepted) = server(After::KeepAlive).await;
        let (other, _) = server(After::KeepAlive).await;
        let connections = Connections::new(Duration::from_secs(5));
        assert_eq!(get(&connections, port).await, "ok");
        assert_eq!(get(&connections, other).await, "ok");
        tokio::time::sleep(IDLE_FOR + Duration::from_millis(100)).await;
        assert_eq!(get(&connections, port).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "the idle connection was past its time");
        // The other server's idle connection was closed by the sweep, not kept to the end.
        let pool = connections.pool.lock().unwrap();
        let kept: Vec<&String> = pool.by_server.keys().collect();
        assert_eq!(kept, [&format!("http://127.0.0.1:{port}")]);
        assert_eq!(pool.by_server.values().map(Vec::len).sum::<usize>(), 1);
    }

    /// A device whose turn is over has its idle connection closed at once (through the
    /// session, as the audit does: the pool's key is made the same way both times).
    #[tokio::test]
    async fn a_device_done_with_has_its_idle_connection_closed_now() {
        let (port, accepted) = server(After::KeepAlive).await;
        let client = crate::driver::http::client(Duration::from_secs(5)).unwrap();
        let session = crate::driver::http::HttpSession::new(
            client,
            format!("http://127.0.0.1:{port}"),
            None,
            Default::default(),
            crate::driver::Timings::reads_and_writes(Duration::from_secs(5)),
        );
        for _ in 0..2 {
            assert_eq!(session.anonymous("GET", "/", None).await.unwrap().body, "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "kept alive between a device's requests");
        session.done();
        assert_eq!(session.anonymous("GET", "/", None).await.unwrap().body, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "not kept once the device was done with");
    }

    #[tokio::test]
    async fn a_refused_connection_says_why() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let connections = Connections::new(Duration::from_secs(5));
        let server = Server { key: "x".into(), host: "127.0.0.1", port, tls: None };
        let request = || Ok(http::Request::get("/").body(Full::new(Bytes::new())).unwrap());
        match connections.send(server, true, request).await {
            Err(ExchangeError::Unreachable(reason)) => assert!(reason.to_lowercase().contains("refused"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
