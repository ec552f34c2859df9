//! HTTP with digest authentication and the login budget.
//!
//! A request first goes out without credentials; a 401 challenge is answered with a
//! digest (the `digest_auth` crate). In an audit, the first login may answer the
//! challenge the connect's probe drew with the same request instead, and a read with
//! credentials the device already took in this run may answer a challenge it gave
//! earlier, under the rules of [`super::nonces`] (at most one refused reuse per device
//! per run).
//! A request with a body first goes out *without* it: the body (a password, a key) is
//! sent only on the authenticated request. The device's [`LoginGuard`] (one per device
//! per run, see [`super::login`]) decides whether a login may be tried at all.

use std::sync::Arc;
use std::time::Duration;

pub use super::transport::Client;
use super::transport::{ExchangeError, Request};
use crate::error::{Error, Result};
use crate::secret::Credentials;

pub use super::login::LoginGuard;
use super::login::Turn;
use super::nonces::Kept;

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The body byte for byte, for a binary session's successful answers only.
    pub bytes: Option<Vec<u8>>,
}

/// A connection to one device's web server.
#[derive(Debug, Clone)]
pub struct HttpSession {
    client: Client,
    /// `http://127.1.0.1:80`
    pub base: String,
    /// For messages: `127.1.0.1:80`.
    pub address: String,
    creds: Option<Credentials>,
    guard: Arc<LoginGuard>,
    timings: super::Timings,
    /// What this session's exchanges do, when the method does not say enough (a key
    /// generation is a POST, and takes minutes).
    operation: Option<super::Operation>,
    /// The largest answer read ([`super::transport::ANSWER_LIMIT`] by default).
    limit: usize,
    /// Answers are binary (configuration exports): kept byte for byte.
    binary: bool,
    /// The device's key where it shares its address with others (`address:port`): its
    /// TLS handshakes are checked against its own pin (see [`super::Target::key`]).
    device: Option<Arc<str>>,
    /// The device's lanes: how many of its exchanges may be in flight ([`super::lanes`]).
    lanes: Option<Arc<super::lanes::DeviceLanes>>,
}

pub use super::tls::{client, pinned_client, LivePins};

impl HttpSession {
    pub fn new(
        client: Client,
        base: String,
        creds: Option<Credentials>,
        guard: Arc<LoginGuard>,
        timings: super::Timings,
    ) -> Self {
        let address = base.split("://").nth(1).unwrap_or(&base).to_string();
        HttpSession {
            client,
            base,
            address,
            creds,
            guard,
            timings,
            operation: None,
            limit: super::transport::ANSWER_LIMIT,
            binary: false,
            device: None,
            lanes: None,
        }
    }

    /// The same session, its exchanges held to the device's lanes (`None`: no limit).
    pub fn in_lanes(self, lanes: Option<Arc<super::lanes::DeviceLanes>>) -> HttpSession {
        HttpSession { lanes, ..self }
    }

    /// The same session, for a device that shares its address (`Some(key)`).
    pub fn for_device(self, key: Option<String>) -> HttpSession {
        HttpSession { device: key.map(Arc::from), ..self }
    }

    /// The same session, reading answers of up to `limit` bytes (configuration exports).
    pub fn with_limit(&self, limit: usize) -> HttpSession {
        HttpSession { limit, ..self.clone() }
    }

    /// The same session, reading binary answers of up to `limit` bytes byte for byte
    /// (configuration exports: text decoding would corrupt them).
    pub fn binary(&self, limit: usize) -> HttpSession {
        HttpSession { limit, binary: true, ..self.clone() }
    }

    /// The same session, its exchanges timed as `operation` (a key generation, an upload).
    pub fn for_operation(&self, operation: super::Operation) -> HttpSession {
        HttpSession { operation: Some(operation), ..self.clone() }
    }

    /// The time limits this session's exchanges get.
    pub fn timings(&self) -> super::Timings {
        self.timings
    }

    /// The limit an exchange with this method gets.
    /// What an exchange with this method does: what the session says, else the method's.
    fn operation(&self, method: &str) -> super::Operation {
        self.operation.unwrap_or_else(|| super::Operation::of_method(method))
    }

    /// The same device and login budget, other credentials (after a password change).
    pub fn with_credentials(&self, creds: Option<Credentials>) -> HttpSession {
        HttpSession { creds, ..self.clone() }
    }

    /// The same device and login budget as another user (or password): for proving
    /// which password the device accepts.
    pub fn as_user(&self, creds: Credentials) -> HttpSession {
        HttpSession { creds: Some(creds), ..self.clone() }
    }

    pub(crate) fn credentials(&self) -> Option<&Credentials> {
        self.creds.as_ref()
    }

    pub(crate) fn guard(&self) -> Arc<LoginGuard> {
        self.guard.clone()
    }

    pub fn has_credentials(&self) -> bool {
        self.creds.is_some()
    }

    fn transport_error(&self, e: ExchangeError, limit: Duration) -> Error {
        match e {
            ExchangeError::Timeout => Error::Timeout { address: self.address.clone(), seconds: limit.as_secs().max(1) },
            ExchangeError::Unreachable(reason) => Error::Unreachable { address: self.address.clone(), reason },
            ExchangeError::CertificateChanged { pinned, presented } => {
                Error::CertificateChanged { address: self.address.clone(), pinned, presented }
            }
            ExchangeError::TooLarge(limit) => Error::Malformed {
                address: self.address.clone(),
                operation: "reading an answer".into(),
                reason: format!("the answer is larger than {limit} bytes"),
            },
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Outgoing<'_>>,
        authorization: Option<String>,
    ) -> Result<(Answer, Vec<String>)> {
        let operation = self.operation(method);
        let limit = self.timings.of(operation);
        let request = Request {
            timeout: limit,
            method: method.to_string(),
            url: format!("{}{}", self.base, path),
            content_type: body.map(|b| b.content_type().to_string()),
            body: match body {
                Some(Outgoing::Text(_, b)) => Some(b.to_string()),
                _ => None,
            },
            payload: match body {
                Some(Outgoing::Bytes(_, b)) => Some(b.clone()),
                _ => None,
            },
            authorization,
            limit: self.limit,
            binary: self.binary,
            device: self.device.clone(),
            // A GET is a read even when timed as an upload (a configuration export).
            read_only: operation == super::Operation::Read
                || super::Operation::of_method(method) == super::Operation::Read,
        };
        let reply = self.client.exchange(request).await.map_err(|e| self.transport_error(e, limit))?;
        let (body, bytes) = match reply.bytes {
            // A refusal or a fault is read as text (a lock message, a fault), whatever was asked.
            Some(b) if !(200..300).contains(&reply.status) => (String::from_utf8_lossy(&b).into_owned(), None),
            other => (reply.body, other),
        };
        Ok((Answer { status: reply.status, body, bytes }, reply.challenges))
    }

    /// A request without credentials (PRE_AUTH calls, probes, activation).
    pub async fn anonymous(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Result<Answer> {
        let _lane = super::lanes::take(self.lanes.as_ref()).await;
        Ok(self.send(method, path, body.map(|(t, b)| Outgoing::Text(t, b)), None).await?.0)
    }

    /// A request without credentials whose digest challenge, if the device asks for one,
    /// the first login with the same request may answer ([`super::nonces`], runs that
    /// reuse challenges): the connect's probe, which that login follows at once.
    pub async fn anonymous_offering(&self, method: &str, path: &str) -> Result<Answer> {
        let _lane = super::lanes::take(self.lanes.as_ref()).await;
        let (answer, challenges) = self.send(method, path, None, None).await?;
        if answer.status == 401 {
            self.guard.nonces.offer(method, path, challenges, &answer.body);
        }
        Ok(answer)
    }

    /// This device's turn in the run is over: its idle connections are closed now, not
    /// when the pool next sweeps.
    pub fn done(&self) {
        self.client.done_with(self.device.as_deref(), &self.base);
    }

    /// A binary body that carries its own authentication (an MTOM package with WS-Security).
    pub async fn anonymous_bytes(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        payload: &bytes::Bytes,
    ) -> Result<Answer> {
        let _lane = super::lanes::take(self.lanes.as_ref()).await;
        Ok(self.send(method, path, Some(Outgoing::Bytes(content_type, payload)), None).await?.0)
    }

    /// A binary body (a firmware image) with digest authentication, timed as an upload.
    pub async fn upload(&self, method: &str, path: &str, content_type: &str, payload: &bytes::Bytes) -> Result<Answer> {
        self.for_operation(super::Operation::Upload)
            .authenticated(method, path, Some(Outgoing::Bytes(content_type, payload)))
            .await
    }

    /// A request with digest authentication; spends the login budget on a refusal.
    /// The body goes only with the authenticated request: the first, unauthenticated
    /// one asks for the challenge without it.
    pub async fn call(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Result<Answer> {
        self.authenticated(method, path, body.map(|(t, b)| Outgoing::Text(t, b))).await
    }

    async fn authenticated(&self, method: &str, path: &str, body: Option<Outgoing<'_>>) -> Result<Answer> {
        let Some(creds) = &self.creds else { return Err(Error::NoCredentials { address: self.address.clone() }) };
        let Some(turn) = self.guard.turn(creds).await else {
            return Err(Error::LoginWithheld { address: self.address.clone(), username: creds.username.clone() });
        };
        // One lane for the challenge and its answer: the nonce is used as soon as it is fresh.
        let _lane = super::lanes::take(self.lanes.as_ref()).await;
        // A read with credentials the device took in this run may answer a challenge it
        // gave earlier (see `super::nonces`): one request instead of two.
        let kept = match turn {
            Turn::Accepted if method == "GET" => self.guard.nonces.take(),
            _ => None,
        };
        let (first, mut challenges) = match kept {
            Some(mut kept) => {
                let header = self.respond(&mut kept.challenge.prompt, creds, method, path, body)?;
                let (answer, next) = self.send(method, path, body, Some(header)).await?;
                if answer.status != 401 {
                    self.guard.nonces.keep_again(kept);
                    return Ok(answer);
                }
                // Refused for the reused nonce, not the password (which the device took
                // in this run): no more reuse with this device; the fresh challenge goes on.
                // Every request now asks its own challenge: a lane more costs no request.
                self.guard.nonces.refuse();
                if let Some(lanes) = &self.lanes {
                    lanes.widen();
                }
                (answer, next)
            }
            // A challenge the probe drew with this very request moments ago: answered
            // as the one this request would draw (the lock state in its body is read first).
            None => match self.guard.nonces.take_offered(method, path) {
                Some(offered) if body.is_none() => {
                    (Answer { status: 401, body: offered.body, bytes: None }, offered.challenges)
                }
                _ => self.send(method, path, None, None).await?,
            },
        };
        if first.status != 401 {
            // No login asked for: the request as it is (it carries no credentials).
            return match body {
                Some(_) => Ok(self.send(method, path, body, None).await?.0),
                None => Ok(first),
            };
        }
        check_lock(&self.address, &first.body)?;
        // A stale nonce is no failed login: one more round with the fresh challenge.
        for attempt in 0..2 {
            let Some(challenge) = challenges.first() else {
                return Err(Error::Device {
                    address: self.address.clone(),
                    operation: format!("{method} {path}"),
                    reason: "401 without a digest challenge".into(),
                });
            };
            let mut prompt = parse_challenge(challenge).map_err(|reason| self.malformed_challenge(reason))?;
            let header = self.respond(&mut prompt, creds, method, path, body)?;
            let (answer, next) = self.send(method, path, body, Some(header)).await?;
            if answer.status != 401 {
                self.guard.accept(creds);
                if method == "GET" {
                    self.guard.nonces.keep(Kept::new(prompt));
                }
                return Ok(answer);
            }
            let stale = next.iter().any(|c| {
                c.to_ascii_lowercase().contains("stale=\"true\"") || c.to_ascii_lowercase().contains("stale=true")
            });
            if stale && attempt == 0 {
                challenges = next;
                continue;
            }
            self.guard.refuse(creds);
            check_lock(&self.address, &answer.body)?;
            return Err(Error::AuthRefused { address: self.address.clone(), username: creds.username.clone() });
        }
        self.guard.refuse(creds);
        Err(Error::AuthRefused { address: self.address.clone(), username: creds.username.clone() })
    }

    /// The `Authorization` header answering `prompt` (its nonce count goes up by one).
    fn respond(
        &self,
        prompt: &mut digest_auth::WwwAuthenticateHeader,
        creds: &Credentials,
        method: &str,
        path: &str,
        body: Option<Outgoing<'_>>,
    ) -> Result<String> {
        digest_response(prompt, creds, method, path, body.map(|b| b.bytes()))
            .map_err(|reason| self.malformed_challenge(reason))
    }

    fn malformed_challenge(&self, reason: String) -> Error {
        Error::Malformed { address: self.address.clone(), operation: "digest challenge".into(), reason }
    }
}

/// A request body: a document, or bytes (a firmware image).
#[derive(Debug, Clone, Copy)]
enum Outgoing<'a> {
    /// Content type, text.
    Text(&'a str, &'a str),
    /// Content type, bytes.
    Bytes(&'a str, &'a bytes::Bytes),
}

impl<'a> Outgoing<'a> {
    fn content_type(self) -> &'a str {
        match self {
            Outgoing::Text(t, _) | Outgoing::Bytes(t, _) => t,
        }
    }
    fn bytes(self) -> &'a [u8] {
        match self {
            Outgoing::Text(_, b) => b.as_bytes(),
            Outgoing::Bytes(_, b) => b,
        }
    }
}

/// A 401 whose body says the account or address is locked.
fn check_lock(address: &str, body: &str) -> Result<()> {
    // Most 401s carry neither element: they are not parsed at all (every digest
    // challenge of an audit comes here).
    if !body.contains("lockStatus") && !body.contains("isActivated") {
        return Ok(());
    }
    let Ok(doc) = crate::xml::parse(body) else { return Ok(()) };
    let root = doc.root_element();
    if crate::xml::find_text(root, "lockStatus").as_deref() == Some("lock") {
        let unlock_in_s = crate::xml::find_text(root, "unlockTime").and_then(|t| t.parse().ok()).unwrap_or(0);
        return Err(Error::Locked { address: address.to_string(), unlock_in_s });
    }
    if crate::xml::find_text(root, "isActivated").as_deref() == Some("false") {
        return Err(Error::NotActivated { address: address.to_string() });
    }
    Ok(())
}

/// A `WWW-Authenticate: Digest …` challenge, parsed.
fn parse_challenge(challenge: &str) -> std::result::Result<digest_auth::WwwAuthenticateHeader, String> {
    // digest_auth slices the header by character count as if it were bytes, and panics
    // on a multi-byte character (found by fuzzing, fuzz/crashes-found/device): a
    // challenge must be ASCII, as HTTP headers are.
    if !challenge.is_ascii() {
        return Err("the digest challenge is not ASCII".into());
    }
    digest_auth::parse(challenge).map_err(|e| e.to_string())
}

fn digest_response(
    prompt: &mut digest_auth::WwwAuthenticateHeader,
    creds: &Credentials,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::result::Result<String, String> {
    let ctx = digest_auth::AuthContext::new_with_method(
        creds.username.as_str(),
        creds.password.expose(),
        path,
        body,
        digest_auth::HttpMethod::from(method.to_string()),
    );
    prompt.respond(&ctx).map(|a| a.to_header_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
