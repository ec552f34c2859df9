//! The HTTP session against scripted and socket devices: bodies, limits, redirects and
//! the digest handshake (fresh and reused challenges).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A device that reads each request and sends `answer` back, then closes.
async fn device(answer: Vec<u8>) -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&answer).await;
        }
    });
    at
}

/// A device that answers every request with a redirect to `elsewhere`.
async fn redirecting(elsewhere: std::net::SocketAddr) -> std::net::SocketAddr {
    let head = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{elsewhere}/ISAPI/Security/users/1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    device(head.into_bytes()).await
}

/// A device whose every answer is `size` bytes, with or without saying so.
async fn heavy(size: usize, say_length: bool) -> std::net::SocketAddr {
    let length = if say_length { format!("Content-Length: {size}\r\n") } else { String::new() };
    let mut answer = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n").into_bytes();
    answer.resize(answer.len() + size, b'x');
    device(answer).await
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_whether_or_not_its_length_is_said() {
    let client = super::client(std::time::Duration::from_secs(5)).unwrap();
    for say_length in [true, false] {
        let device = heavy(3 * 1024 * 1024, say_length).await;
        let session = super::HttpSession::new(
            client.clone(),
            format!("http://{device}"),
            None,
            Default::default(),
            crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(5)),
        );
        let e = session.anonymous("GET", "/ISAPI/System/deviceInfo", None).await.unwrap_err();
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
        // The same answer within a larger limit (a configuration export) is read.
        let big = session.with_limit(8 * 1024 * 1024).anonymous("GET", "/x", None).await.unwrap();
        assert_eq!(big.body.len(), 3 * 1024 * 1024);
    }
}

/// A password change goes out once, on the authenticated request: the first,
/// unauthenticated one (which asks for the digest challenge) carries no body.
#[tokio::test]
async fn no_body_goes_out_before_the_digest_handshake() {
    use crate::driver::transport::script::{self, Answer};
    use crate::driver::transport::Reply;
    let challenge = Answer::Reply(Reply {
        status: 401,
        challenges: vec![r#"Digest realm="cam", nonce="n0nce", qop="auth""#.into()],
        body: String::new(),
        bytes: None,
    });
    let device = script::Script::new().on("PUT", "/ISAPI/Security/users/1", vec![challenge, script::ok("<ok/>")]);
    let session = super::HttpSession::new(
        device.client(),
        "https://127.1.0.1:443".into(),
        Some(crate::secret::Credentials::new("admin", "Old-Pass-1#")),
        Default::default(),
        crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
    );
    let body = "<User><password>New-Secret-9#</password></User>";
    let answer = session.call("PUT", "/ISAPI/Security/users/1", Some(("application/xml", body))).await.unwrap();
    assert_eq!(answer.status, 200);
    let seen = device.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[0].body.as_deref(), seen[0].authorization.is_some()), (None, false));
    assert_eq!((seen[1].body.as_deref(), seen[1].authorization.is_some()), (Some(body), true));
}

/// A session of an audit's run (reads may reuse a challenge).
fn scripted_session(device: &std::sync::Arc<crate::driver::transport::script::Script>) -> super::HttpSession {
    session_with(device, super::LoginGuard::reusing_challenges())
}

fn session_with(
    device: &std::sync::Arc<crate::driver::transport::script::Script>,
    guard: super::LoginGuard,
) -> super::HttpSession {
    super::HttpSession::new(
        device.client(),
        "https://127.1.0.1:443".into(),
        Some(crate::secret::Credentials::new("admin", "Pass-word-1#")),
        std::sync::Arc::new(guard),
        crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
    )
}

/// `(authorization sent?, nc)` of each request, in order.
fn auth_of(device: &crate::driver::transport::script::Script) -> Vec<(bool, Option<String>)> {
    let seen = device.seen.lock().unwrap().clone();
    seen.iter()
        .map(|r| {
            let nc = r
                .authorization
                .as_deref()
                .and_then(|a| a.split(',').map(str::trim).find_map(|kv| kv.strip_prefix("nc=")).map(String::from));
            (r.authorization.is_some(), nc)
        })
        .collect()
}

/// After the login, a read answers the challenge the login had, one count higher:
/// one request instead of two.
#[tokio::test]
async fn a_read_after_the_login_answers_the_challenge_the_device_gave() {
    use crate::driver::transport::script;
    let device = script::Script::new()
        .with_digest()
        .on("GET", "/ISAPI/System/deviceInfo", vec![script::ok("<DeviceInfo/>")])
        .on("GET", "/ISAPI/Security/users", vec![script::ok("<UserList/>")])
        .on("GET", "/ISAPI/System/time", vec![script::ok("<Time/>")]);
    let lanes = crate::driver::lanes::Lanes::default();
    lanes.limit("127.1.0.1", 1);
    let session = scripted_session(&device).in_lanes(lanes.of("127.1.0.1"));
    for path in ["/ISAPI/System/deviceInfo", "/ISAPI/Security/users", "/ISAPI/System/time"] {
        assert_eq!(session.call("GET", path, None).await.unwrap().status, 200);
    }
    assert_eq!(lanes.of("127.1.0.1").map(|l| l.free()), Some(1), "reuse taken: still one connection");
    let nc = |n: &str| (true, Some(n.to_string()));
    assert_eq!(auth_of(&device), vec![(false, None), nc("00000001"), nc("00000002"), nc("00000003")]);
}

/// The first 401 to a reused nonce is not a failed login: the request goes on with
/// the fresh challenge it carried, and the device gets fresh challenges from then on.
#[tokio::test]
async fn a_refused_reuse_is_no_failed_login_and_ends_reuse_for_the_run() {
    use crate::driver::transport::script::{self, Answer};
    use crate::driver::transport::Reply;
    let replayed = Answer::Reply(Reply {
        status: 401,
        challenges: vec![r#"Digest realm="cam", nonce="fresh", qop="auth", stale="FALSE""#.into()],
        body:
            "<ResponseStatus><statusCode>4</statusCode><subStatusCode>invalidOperation</subStatusCode></ResponseStatus>"
                .into(),
        bytes: None,
    });
    let device = script::Script::new()
        .with_digest()
        .on("GET", "/a", vec![script::ok("<a/>")])
        .on("GET", "/b", vec![replayed, script::ok("<b/>")])
        .on("GET", "/c", vec![script::ok("<c/>")]);
    let lanes = crate::driver::lanes::Lanes::default();
    lanes.limit("127.1.0.1", 1);
    let session = scripted_session(&device).in_lanes(lanes.of("127.1.0.1"));
    for path in ["/a", "/b", "/c"] {
        assert_eq!(session.call("GET", path, None).await.unwrap().status, 200, "{path}");
    }
    assert!(!session.guard().refused(), "the login budget is untouched");
    assert_eq!(
        lanes.of("127.1.0.1").map(|l| l.free()),
        Some(crate::driver::lanes::FOR_FRESH_CHALLENGES),
        "a challenge per request: the device's reads may overlap"
    );
    let nc1 = (true, Some("00000001".to_string()));
    assert_eq!(
        auth_of(&device),
        vec![(false, None), nc1.clone(), (true, Some("00000002".into())), nc1.clone(), (false, None), nc1],
        "/a fresh; /b reused, refused, answered fresh; /c fresh"
    );
}

/// Writes, and logins with credentials the device has not yet taken in this run
/// (a new password), always ask for a fresh challenge.
#[tokio::test]
async fn writes_and_untried_credentials_never_reuse_a_challenge() {
    use crate::driver::transport::script;
    let device = script::Script::new().with_digest().on("GET", "/a", vec![script::ok("<a/>")]).on(
        "PUT",
        "/a",
        vec![script::ok("<ok/>")],
    );
    let session = scripted_session(&device);
    session.call("GET", "/a", None).await.unwrap();
    session.call("PUT", "/a", Some(("application/xml", "<a/>"))).await.unwrap();
    let rotated = session.with_credentials(Some(crate::secret::Credentials::new("admin", "New-word-2#")));
    rotated.call("GET", "/a", None).await.unwrap();
    let fresh = (false, None);
    let nc1 = (true, Some("00000001".to_string()));
    assert_eq!(auth_of(&device), vec![fresh.clone(), nc1.clone(), fresh.clone(), nc1.clone(), fresh, nc1]);
}

/// A run that did not ask for reuse (an apply) asks for a fresh challenge every time.
#[tokio::test]
async fn a_run_that_does_not_ask_for_reuse_gets_a_fresh_challenge_every_time() {
    use crate::driver::transport::script;
    let device = script::Script::new().with_digest().on("GET", "/a", vec![script::ok("<a/>")]);
    let session = session_with(&device, super::LoginGuard::default());
    for _ in 0..3 {
        session.call("GET", "/a", None).await.unwrap();
    }
    let nc1 = (true, Some("00000001".to_string()));
    let once = [(false, None), nc1];
    assert_eq!(auth_of(&device), [once.clone(), once.clone(), once].concat());
}

#[test]
fn a_challenge_that_is_not_ascii_is_malformed_not_a_panic() {
    let e = super::parse_challenge("Digest\u{ba}o=").unwrap_err();
    assert!(e.contains("not ASCII"), "{e}");
}

#[tokio::test]
async fn a_redirect_is_an_answer_not_a_second_request() {
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let device = redirecting(elsewhere.local_addr().unwrap()).await;
    let client = super::client(std::time::Duration::from_secs(2)).unwrap();
    let reply = client
        .exchange(super::Request {
            method: "PUT".into(),
            url: format!("http://{device}/ISAPI/Security/users/1"),
            content_type: Some("application/xml".into()),
            body: Some("<User><password>new-secret</password></User>".into()),
            payload: None,
            authorization: None,
            limit: crate::driver::transport::ANSWER_LIMIT,
            binary: false,
            timeout: std::time::Duration::from_secs(2),
            device: None,
            read_only: false,
        })
        .await
        .unwrap();
    assert_eq!(reply.status, 307);
    let followed = tokio::time::timeout(std::time::Duration::from_millis(300), elsewhere.accept()).await;
    assert!(followed.is_err(), "the body went to the address the redirect named");
}
