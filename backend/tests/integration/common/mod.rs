//! Test helpers: the real `procviz` binary as a server on port 0, a real WebSocket client,
//! and checks on real processes through /proc.
#![allow(dead_code)]

pub mod browser;

use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, Event, EventKind, ServerMessage};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running `procviz` server; killed (SIGKILL) when dropped if still running.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `procviz --port 0` and waits for its URL line.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Self::start_on("0", extra)
    }

    /// Starts `procviz --port PORT EXTRA…`.
    pub fn start_on(port: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procviz"))
            .args(["--port", port])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start procviz");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read URL line");
        let addr = line
            .trim()
            .strip_prefix("procviz listening on http://")
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Sends `signal` and waits (at most `timeout`) for the exit; returns the exit status.
    pub fn signal_and_wait(&mut self, signal: i32, timeout: Duration) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Connects a WebSocket client and returns it with the server's hello.
pub async fn connect(server: &Server) -> (Ws, ServerMessage) {
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("connect /ws");
    let hello = next_message(&mut ws).await.expect("hello");
    assert!(
        matches!(hello, ServerMessage::Hello { .. }),
        "first message {hello:?}"
    );
    (ws, hello)
}

pub async fn send(ws: &mut Ws, msg: &ClientMessage) {
    send_text(ws, serde_json::to_string(msg).unwrap()).await;
}

pub async fn send_text(ws: &mut Ws, text: String) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next protocol message (skipping pings), or None if the socket closed. Fails after 20 s.
pub async fn next_message(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("no message from the server within 20 s")?;
        match frame.expect("ws frame") {
            Message::Text(t) => {
                return Some(serde_json::from_str(t.as_str()).expect("decode server message"));
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Collects events until a `RunFinished` arrives; also returns how many frames carried them.
pub async fn events_until_finished(ws: &mut Ws) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut frames = 0;
    loop {
        match next_message(ws)
            .await
            .expect("socket closed before the run finished")
        {
            ServerMessage::Events {
                events: batch,
                dropped,
            } => {
                assert_eq!(dropped, 0, "events were dropped");
                frames += 1;
                let done = batch
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::RunFinished { .. }));
                events.extend(batch);
                if done {
                    return (events, frames);
                }
            }
            ServerMessage::Error(e) => panic!("unexpected error: {e:?}"),
            ServerMessage::Hello { .. } => panic!("second hello"),
        }
    }
}

/// Waits until an `Events` message contains an event matching `pred`; returns all events seen.
pub async fn events_until(ws: &mut Ws, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        match next_message(ws).await.expect("socket closed") {
            ServerMessage::Events { events: batch, .. } => {
                let hit = batch.iter().any(&pred);
                events.extend(batch);
                if hit {
                    return events;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// PIDs of `ProcessSpawned` events.
pub fn spawned_pids(events: &[Event]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ProcessSpawned { pid, .. } => Some(pid),
            _ => None,
        })
        .collect()
}

/// Whether `pid` is a live (not zombie) procviz child: a process forked by procviz's fork
/// server (its command line is the server binary's: `procviz __zygote`).
pub fn is_live_worker(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    if state == Some("Z") {
        return false;
    }
    cmdline(pid).ends_with("__zygote")
}

/// Checks that `pid` is a real child process of the procviz server `server`: forked by its
/// fork server, which the server started.
pub fn assert_child_of_server(pid: u32, server: u32) {
    assert!(
        is_live_worker(pid),
        "PID {pid} is not a running procviz child"
    );
    let zygote = parent_of(pid).expect("a parent");
    assert!(
        cmdline(zygote).ends_with("__zygote"),
        "parent of {pid}: {}",
        cmdline(zygote)
    );
    assert_eq!(
        parent_of(zygote),
        Some(server),
        "the fork server belongs to the server"
    );
}

/// Waits up to `timeout` for every one of `pids` to be gone; returns the ones left.
pub fn wait_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|&p| is_live_worker(p))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The parent PID of `pid` from /proc.
pub fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A minimal HTTP/1.1 GET over a raw TCP stream with extra headers (`Host` is the server's
/// unless given); returns the whole response.
pub async fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs `procviz run ARGS` and returns its events (parsed from the NDJSON on stdout), its
/// summary (stderr) and its exit code.
pub fn run_cli(args: &[&str]) -> (Vec<Event>, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_procviz"))
        .arg("run")
        .args(args)
        .output()
        .expect("run procviz");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 NDJSON");
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
        .collect();
    (
        events,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Seconds of an event's time.
pub fn secs(e: &Event) -> f64 {
    e.t.as_secs_f64()
}

/// The command line of `pid`, arguments separated by spaces.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Waits until the second child of a run has printed (both of a "Two processes" run are up);
/// returns the events so far.
pub async fn until_second_child_printed(ws: &mut Ws) -> Vec<Event> {
    events_until(ws, |e| {
        matches!(
            e.kind,
            EventKind::Output {
                proc: shared::ProcId(2),
                ..
            }
        )
    })
    .await
}

/// Held by tests that measure the machine's cores (CPU-bound timings, per-core sampling), so
/// the tests of one binary do not skew each other.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static CORES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CORES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `check` every 25 ms until it gives `Ok`, for at most `secs` seconds; then fails with
/// `what` and the last state `check` described. The one waiting loop of the tests.
pub async fn eventually<T>(
    what: &str,
    secs: u64,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(state) => assert!(Instant::now() < deadline, "{what}: {state}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A `thread_segment` event, flattened (times in seconds).
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub proc: u32,
    pub tid: u32,
    pub core: Option<u32>,
    pub start: f64,
    pub end: f64,
    pub on: u64,
    pub waiting: u64,
    pub slices: u32,
}

/// The `thread_segment` events of a run.
pub fn segments(events: &[Event]) -> Vec<Seg> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ThreadSegment {
                proc,
                tid,
                core,
                start,
                on_cpu_ns,
                waiting_ns,
                slices,
            } => Some(Seg {
                proc: proc.0,
                tid,
                core,
                start: start.as_secs_f64(),
                end: secs(e),
                on: on_cpu_ns,
                waiting: waiting_ns,
                slices,
            }),
            _ => None,
        })
        .collect()
}

/// A run's length: the time of its last event (`run_finished`), seconds.
pub fn run_secs(events: &[Event]) -> f64 {
    events.last().map_or(0.0, secs)
}
