//! Helpers the fuzz targets share: a scratch directory per process and a scripted
//! device (an `Exchange` that answers every request from the fuzz input), so the
//! drivers read fuzzed answers through the same HTTP session, digest login and login
//! guard as over the network. Nothing here asserts: only product panics are findings.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_core::driver::transport::{Exchange, ExchangeError, Reply, Request};

/// A fresh directory under the system's temporary directory, for this process only.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-fuzz-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Bodies arrive from the network as lossy UTF-8 (transport.rs), files as text.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Separates the answers of a scripted device in one fuzz input.
pub const SEPARATOR: &[u8] = b"\n----\n";

/// How a scripted device answers.
#[derive(Debug, Clone)]
pub enum Scripted {
    Reply(Reply),
    Timeout,
    Unreachable,
    TooLarge,
}

/// The answers of a fuzz input: chunks split at [`SEPARATOR`]. A chunk that starts with
/// an HTTP status line is a raw HTTP response (status, headers, blank line, body), of
/// whose headers the `WWW-Authenticate: Digest …` ones are kept, as the network
/// transport does (visible ASCII only, as `http::HeaderValue::to_str` gives them:
/// fuzz/crashes-found/device/README.md says why); status 000 stands for a timeout, 001 for an unreachable device and
/// 002 for an answer over the size limit. Any other chunk is a 200 with the chunk as
/// its body, so a captured document is a seed as it is.
pub fn answers(data: &[u8]) -> Vec<Scripted> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 64 {
        let (chunk, next) = match find(rest, SEPARATOR) {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + SEPARATOR.len()..)),
            None => (rest, None),
        };
        out.push(answer(chunk));
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn answer(chunk: &[u8]) -> Scripted {
    let text = String::from_utf8_lossy(chunk);
    let status =
        text.strip_prefix("HTTP/").and_then(|r| r.split_whitespace().nth(1)).and_then(|code| code.parse::<u16>().ok());
    let Some(status) = status else {
        return Scripted::Reply(Reply { status: 200, challenges: Vec::new(), body: text.into_owned(), bytes: None });
    };
    let (head, body) = match text.find("\r\n\r\n").map(|i| (i, 4)).or_else(|| text.find("\n\n").map(|i| (i, 2))) {
        Some((i, skip)) => (text.get(..i).unwrap_or_default(), text.get(i + skip..).unwrap_or_default()),
        None => (text.as_ref(), ""),
    };
    let challenges = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, value)| value.trim().to_string())
        // As the network transport reads them: `HeaderValue::to_str` yields only values
        // of visible ASCII, and only Digest challenges are kept.
        .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
        .filter(|v| v.to_ascii_lowercase().starts_with("digest"))
        .collect();
    match status {
        0 => Scripted::Timeout,
        1 => Scripted::Unreachable,
        2 => Scripted::TooLarge,
        _ => Scripted::Reply(Reply { status, challenges, body: body.to_string(), bytes: None }),
    }
}

/// A device that answers request n with answer n (cycling through the script).
#[derive(Debug)]
pub struct ScriptedDevice {
    answers: Vec<Scripted>,
    next: AtomicUsize,
}

impl ScriptedDevice {
    pub fn new(answers: Vec<Scripted>) -> Self {
        ScriptedDevice { answers, next: AtomicUsize::new(0) }
    }
}

#[async_trait::async_trait]
impl Exchange for ScriptedDevice {
    async fn exchange(&self, _request: Request) -> Result<Reply, ExchangeError> {
        if self.answers.is_empty() {
            return Err(ExchangeError::Unreachable("no answer".into()));
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.answers.len();
        match self.answers.get(n) {
            Some(Scripted::Reply(r)) => Ok(r.clone()),
            Some(Scripted::Timeout) => Err(ExchangeError::Timeout),
            Some(Scripted::TooLarge) => Err(ExchangeError::TooLarge(1024 * 1024)),
            Some(Scripted::Unreachable) | None => Err(ExchangeError::Unreachable("refused".into())),
        }
    }
}
