//! Who may connect and what they may do: the presenter's token, the page's trade of it for a
//! cookie, lecture-hall mode's view-only token, the Host check beyond loopback, and the
//! connection limit. Loopback only (127.0.0.2 stands in for a LAN address).

use futures_util::StreamExt;
use shared::{ClientMessage, DemoRequest, ErrorKind, ProcId, Role, RunId, ServerMessage};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The HTTP status of a WebSocket upgrade to `req` (101 when accepted).
async fn upgrade_status(req: tokio_tungstenite::tungstenite::handshake::client::Request) -> u16 {
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("upgrade failed without a status: {e}"),
    }
}

fn request(
    url: &str,
    headers: &[(&'static str, String)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = url.into_client_request().expect("a ws URL");
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, v.parse().expect("a header value"));
    }
    req
}

#[tokio::test]
async fn a_websocket_needs_the_token_in_a_header_a_cookie_or_its_url() {
    let server = Server::start();
    let bare = server.ws_url_bare();
    assert_eq!(upgrade_status(request(&bare, &[])).await, 403, "no token");
    let wrong = format!("{bare}?token=not-the-servers-token-at-all");
    assert_eq!(
        upgrade_status(request(&wrong, &[])).await,
        403,
        "a wrong token"
    );
    let token = server.token.clone();
    assert_eq!(
        upgrade_status(request(&server.ws_url(), &[])).await,
        101,
        "?token="
    );
    let header = [("Authorization", format!("token {token}"))];
    assert_eq!(
        upgrade_status(request(&bare, &header)).await,
        101,
        "the header"
    );
    let port = server.addr.rsplit(':').next().unwrap_or_default();
    let cookie = [("Cookie", format!("procviz-token-{port}={token}"))];
    assert_eq!(
        upgrade_status(request(&bare, &cookie)).await,
        101,
        "the cookie"
    );
    // The refusal says what to do.
    let refused = http_get(&server.addr, "/ws", &[]).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(refused.contains("a token is needed"), "{refused}");
}

#[tokio::test]
async fn the_page_trades_the_printed_token_for_a_strict_cookie_and_drops_it_from_the_address() {
    let server = Server::start();
    let without = http_get(&server.addr, "/", &[]).await;
    assert!(without.starts_with("HTTP/1.1 403"), "{without}");
    assert!(
        without.contains("open the URL that procviz printed"),
        "one sentence says what to open: {without}"
    );
    let wrong = http_get(&server.addr, "/?token=0123456789abcdef0123", &[]).await;
    assert!(wrong.starts_with("HTTP/1.1 403"), "{wrong}");
    let path = format!("/?task_ms=300&token={}&theme=projector", server.token);
    let trade = http_get(&server.addr, &path, &[]).await;
    let head = trade
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 303"), "{head}");
    assert!(
        head.contains("location: /?task_ms=300&theme=projector\r\n"),
        "{head}"
    );
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie set: {head}"));
    for part in ["httponly", "samesite=strict", "path=/"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap_or_default().trim();
    // Header names were lower-cased above; the token itself is lower-case hex.
    let page = http_get(&server.addr, "/", &[("Cookie", pair)]).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("/pkg/frontend.js"), "the page itself: {page}");
}

#[tokio::test]
async fn another_local_user_without_the_token_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: switching to another user (uid 65534) needs root");
        return;
    }
    let server = Server::start();
    let (host, port) = server.addr.rsplit_once(':').unwrap_or_default();
    // A WebSocket upgrade by hand, from a process of user `nobody`.
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('{host}', {port}))\n\
         s.sendall(b'GET /ws HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nUpgrade: websocket\\r\\n\
         Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\
         Sec-WebSocket-Version: 13\\r\\n\\r\\n')\n\
         print(s.recv(200).split(b'\\r\\n')[0].decode())\n"
    );
    let out = std::os::unix::process::CommandExt::uid(
        Command::new("python3").args(["-c", &script]),
        65534,
    )
    .output()
    .expect("python3 as uid 65534");
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.starts_with("HTTP/1.1 403"),
        "user nobody without the token: {status:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nor can that user read the token from the server's environment.
    let environ = std::os::unix::process::CommandExt::uid(
        Command::new("cat").arg(format!("/proc/{}/environ", server.pid())),
        65534,
    )
    .output()
    .expect("cat as uid 65534");
    assert!(
        !environ.status.success(),
        "another user read the server's environment"
    );
}

#[tokio::test]
async fn lecture_hall_viewers_follow_every_run_and_may_not_start_cancel_or_kill() {
    let mut server = Server::start_on("0", &["--share", "127.0.0.2"]);
    let line = server.stdout_line();
    let viewer_url = line
        .trim()
        .strip_prefix("students (view-only): ")
        .unwrap_or_else(|| panic!("no viewer URL: {line:?}"))
        .to_string();
    // A QR code of that URL follows, drawn with half blocks, for phones to scan.
    let qr: Vec<String> = (0..4).map(|_| server.stdout_line()).collect();
    assert!(
        qr.iter()
            .all(|l| l.contains('█') || l.contains('▀') || l.contains('▄')),
        "a QR code after the viewer URL: {qr:?}"
    );
    let port = server
        .addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let shared_at = format!("127.0.0.2:{port}");
    let viewer_token = viewer_url
        .strip_prefix(&format!("http://{shared_at}/?token="))
        .unwrap_or_else(|| panic!("the viewer URL names the shared address: {viewer_url}"))
        .to_string();
    assert_ne!(viewer_token, server.token);
    let (mut presenter, hello) = connect(&server).await;
    assert!(
        matches!(
            hello,
            ServerMessage::Hello {
                role: Role::Presenter,
                ..
            }
        ),
        "{hello:?}"
    );
    assert_eq!(next_audience(&mut presenter).await, 0);
    let (mut viewer, hello) =
        connect_to(&format!("ws://{shared_at}/ws?token={viewer_token}")).await;
    assert!(
        matches!(
            hello,
            ServerMessage::Hello {
                role: Role::Viewer,
                ..
            }
        ),
        "{hello:?}"
    );
    assert_eq!(
        next_audience(&mut presenter).await,
        1,
        "the presenter sees one viewer"
    );
    for command in [
        ClientMessage::start(DemoRequest::TwoProcesses(Default::default())),
        ClientMessage::CancelRun { run: RunId(1) },
        ClientMessage::KillProcess {
            run: RunId(1),
            proc: ProcId(1),
        },
    ] {
        send(&mut viewer, &command).await;
        match next_message(&mut viewer).await {
            Some(ServerMessage::Error(e)) => {
                assert_eq!(e.kind, ErrorKind::Forbidden, "{command:?}: {e:?}");
                assert!(e.message.contains("view-only"), "{e:?}");
            }
            other => panic!("{command:?}: forbidden expected, got {other:?}"),
        }
    }
    // The presenter starts a run; the viewer gets all of it without asking.
    send(
        &mut presenter,
        &ClientMessage::start(DemoRequest::TwoProcesses(Default::default())),
    )
    .await;
    let (mine, _) = events_until_finished(&mut presenter).await;
    let (seen, _) = events_until_finished(&mut viewer).await;
    assert_eq!(
        seen, mine,
        "the viewer saw the presenter's run, event for event"
    );
    // Only this machine's names: a foreign Host on the shared address is refused.
    let foreign = http_get(&shared_at, "/healthz", &[("Host", "attacker.example")]).await;
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    let ours = http_get(&shared_at, "/healthz", &[]).await;
    assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
    drop(viewer);
    assert_eq!(next_audience(&mut presenter).await, 0, "the viewer left");
}

#[tokio::test]
async fn listening_on_every_interface_warns_and_keeps_the_host_check() {
    let mut child = Command::new(procviz())
        .args(["--host", "0.0.0.0", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start procviz");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("the URL line");
    let mut warning = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut warning)
        .expect("a warning line");
    let addr = url
        .trim()
        .strip_prefix("procviz listening on http://")
        .and_then(|s| s.split_once('/'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_else(|| panic!("URL line {url:?}"));
    let result = async {
        assert!(warning.contains("WARNING"), "{warning}");
        assert!(warning.contains("every network interface"), "{warning}");
        assert!(warning.contains("start processes as"), "{warning}");
        let rebinding = http_get(&addr, "/healthz", &[("Host", "attacker.example:80")]).await;
        assert!(rebinding.starts_with("HTTP/1.1 403"), "{rebinding}");
        let ours = http_get(&addr, "/healthz", &[]).await;
        assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
    };
    result.await;
    child.kill().expect("stop procviz");
    child.wait().expect("reap procviz");
}

#[tokio::test]
async fn the_connection_past_the_limit_is_told_why_and_closed() {
    let server = Server::start();
    let limit = 256;
    let mut open = Vec::with_capacity(limit);
    for _ in 0..limit {
        open.push(connect(&server).await.0);
    }
    let (mut extra, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("the upgrade itself succeeds");
    match next_message(&mut extra).await {
        Some(ServerMessage::Error(e)) => {
            assert_eq!(e.kind, ErrorKind::LimitReached, "{e:?}");
            assert!(e.message.contains("256 connections"), "{e:?}");
        }
        other => panic!("a limit error expected, got {other:?}"),
    }
    let close = tokio::time::timeout(Duration::from_secs(10), extra.next()).await;
    match close {
        Ok(Some(Ok(Message::Close(Some(frame))))) => {
            assert_eq!(frame.code, CloseCode::Again, "{frame:?}");
        }
        other => panic!("a close frame expected, got {other:?}"),
    }
    // One leaves, the next one is served.
    drop(open.pop());
    eventually("a seat frees up", 10, async || {
        let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .map_err(|e| e.to_string())?;
        match next_message(&mut ws).await {
            Some(ServerMessage::Hello { .. }) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}
