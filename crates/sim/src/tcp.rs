//! The plain TCP/UDP services: RTSP (enough to show its authentication scheme),
//! Telnet and SSH banners, the SDK port, and UDP sinks for SNMP and UPnP. What matters
//! for hardening is that each port is open exactly when its service is on, and that
//! RTSP's 401 tells digest-only from basic-allowed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

use crate::camera::Camera;
use crate::state::AuthType;

/// How long a connection from a filtered address is held before it is dropped: the
/// real firmware drops such packets, so clients see a time-out, not a refusal.
pub const FILTERED_HOLD: Duration = Duration::from_secs(20);
const IDLE: Duration = Duration::from_secs(30);

/// Whether the IP filter lets `peer` in.
pub fn admitted(cam: &Camera, peer: IpAddr) -> bool {
    cam.state().ip_filter.admits(peer)
}

/// Accept connections forever, handing each admitted one to `handle`; connections
/// end when the listener task is aborted (service off, reboot).
async fn accept_loop<F, Fut>(cam: Arc<Camera>, listener: TcpListener, handle: F)
where
    F: Fn(Arc<Camera>, TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        while conns.try_join_next().is_some() {}
        if !admitted(&cam, peer.ip()) {
            conns.spawn(async move {
                tokio::time::sleep(FILTERED_HOLD).await;
                drop(stream);
            });
            continue;
        }
        conns.spawn(handle(cam.clone(), stream, peer));
    }
}

pub async fn serve_silent(cam: Arc<Camera>, listener: TcpListener) {
    accept_loop(cam, listener, |_, stream, _| async move {
        // The SDK port speaks a binary protocol we do not simulate: hold, then close.
        tokio::time::sleep(IDLE).await;
        drop(stream);
    })
    .await;
}

pub async fn serve_ssh(cam: Arc<Camera>, listener: TcpListener) {
    accept_loop(cam, listener, |_, mut stream, _| async move {
        let _ = stream.write_all(b"SSH-2.0-dropbear_2014.63\r\n").await;
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(IDLE, tokio::io::AsyncReadExt::read(&mut stream, &mut buf)).await;
    })
    .await;
}

pub async fn serve_telnet(cam: Arc<Camera>, listener: TcpListener) {
    accept_loop(cam, listener, |cam, mut stream, _| async move {
        let model = cam.state().identity.model.clone();
        let _ = stream.write_all(format!("\r\n{model} login: ").as_bytes()).await;
        let mut line = String::new();
        let mut reader = BufReader::new(&mut stream);
        let _ = tokio::time::timeout(IDLE, reader.read_line(&mut line)).await;
        let _ = stream.write_all(b"Password: ").await;
    })
    .await;
}

pub async fn serve_rtsp(cam: Arc<Camera>, listener: TcpListener) {
    accept_loop(cam, listener, |cam, stream, _| rtsp_session(cam, stream)).await;
}

/// Answer RTSP requests: OPTIONS without auth, everything else 401 with the
/// challenges the camera's RTSP authentication setting allows.
async fn rtsp_session(cam: Arc<Camera>, stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request = Vec::new();
        loop {
            let mut line = String::new();
            match tokio::time::timeout(IDLE, reader.read_line(&mut line)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            if line.trim().is_empty() {
                break;
            }
            request.push(line.trim_end().to_string());
            if request.len() > 100 {
                return;
            }
        }
        let Some(first) = request.first() else {
            continue;
        };
        let method = first.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let cseq = request
            .iter()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("cseq"))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "0".into());
        let delay = cam.with_faults(|f| f.delay());
        tokio::time::sleep(delay).await;
        let answer = if method == "OPTIONS" {
            format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n\r\n")
        } else {
            let (auth, nonce) = {
                let st = cam.state();
                (st.rtsp_auth, cam.nonce_key.issue(now_ms()))
            };
            let mut a = format!(
                "RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Digest realm=\"{}\", nonce=\"{nonce}\", stale=\"FALSE\"\r\n",
                cam.realm
            );
            if auth == AuthType::DigestBasic {
                a.push_str("WWW-Authenticate: Basic realm=\"/\"\r\n");
            }
            a.push_str("\r\n");
            a
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A bound UDP port that swallows datagrams (SNMP and UPnP are probed for presence,
/// not spoken).
pub async fn serve_udp_sink(socket: UdpSocket) {
    let mut buf = vec![0u8; 2048];
    loop {
        if socket.recv_from(&mut buf).await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
