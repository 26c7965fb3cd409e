//! The real `procviz` binary: a server on a port of its own, a CLI run, a raw HTTP request.

use crate::cores::Cores;
use shared::Event;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `procviz` binary under test. Cargo names it in `CARGO_BIN_EXE_procviz` when it runs the
/// backend's tests and benchmarks; a test binary started by hand finds it one directory above
/// its own (`target/<profile>/deps/..`).
pub fn procviz() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_procviz") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test binary's own path");
    match exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("procviz"))
    {
        Some(bin) if bin.is_file() => bin,
        _ => panic!(
            "no procviz binary beside {}: run `cargo test -p backend`",
            exe.display()
        ),
    }
}

/// A running `procviz` server; killed (SIGKILL) when dropped if still running.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The presenter's token, from the URL the server printed.
    pub token: String,
    /// What it printed on stdout after the URL line (viewer URL, QR code), once read.
    pub stdout: Option<BufReader<std::process::ChildStdout>>,
    /// What it wrote to stderr so far, when started with [`Server::start_keeping_stderr`].
    stderr: Option<Arc<Mutex<String>>>,
    _cores: Cores,
}

impl Server {
    /// Starts `procviz --port 0` and waits for its URL line.
    pub fn start() -> Server {
        Self::start_on("0", &[])
    }

    /// Starts `procviz --port 0` with its stderr kept (and echoed to the test's own), for
    /// [`Server::stderr`].
    pub fn start_keeping_stderr() -> Server {
        Self::start_with("0", &[], true)
    }

    /// Starts `procviz --port PORT EXTRA…`.
    pub fn start_on(port: &str, extra: &[&str]) -> Server {
        Self::start_with(port, extra, false)
    }

    fn start_with(port: &str, extra: &[&str], keep_stderr: bool) -> Server {
        let cores = Cores::share();
        let mut child = Command::new(procviz())
            .args(["--port", port])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(if keep_stderr {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("start procviz");
        let stderr = child.stderr.take().map(|pipe| {
            let kept = Arc::new(Mutex::new(String::new()));
            let writer = kept.clone();
            // Ends at end-of-file, when the server exits.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    let mut text = writer.lock().unwrap_or_else(|e| e.into_inner());
                    text.push_str(&line);
                    text.push('\n');
                }
            });
            kept
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut line).expect("read URL line");
        let (addr, token) = line
            .trim()
            .strip_prefix("procviz listening on http://")
            .and_then(|s| s.split_once("/?token="))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server {
            addr: addr.to_string(),
            token: token.to_string(),
            child,
            stdout: Some(stdout),
            stderr,
            _cores: cores,
        }
    }

    /// The next line the server printed on stdout (after its URL line).
    pub fn stdout_line(&mut self) -> String {
        let mut line = String::new();
        if let Some(out) = self.stdout.as_mut() {
            out.read_line(&mut line).expect("read a line of stdout");
        }
        line
    }

    /// What the server wrote to stderr so far (started with [`Server::start_keeping_stderr`]).
    pub fn stderr(&self) -> String {
        let kept = self
            .stderr
            .as_ref()
            .expect("a server started with Server::start_keeping_stderr");
        kept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The page's address, without a token (a browser that traded it has the cookie).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The page's address with the presenter's token and `query` (`""` or `?a=1&b=2`), as
    /// the printed URL gives it.
    pub fn page_url(&self, query: &str) -> String {
        let rest = query
            .strip_prefix('?')
            .map(|q| format!("&{q}"))
            .unwrap_or_default();
        format!("http://{}/?token={}{rest}", self.addr, self.token)
    }

    /// `/ws` with the presenter's token in the URL (as scripts connect).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws?token={}", self.addr, self.token)
    }

    /// `/ws` without a token.
    pub fn ws_url_bare(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Sends `signal` and waits (at most `timeout`) for the exit; returns the exit status.
    pub fn signal_and_wait(&mut self, signal: i32, timeout: Duration) -> std::process::ExitStatus {
        self.signal(signal);
        self.wait_exit(timeout)
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a PID fits an i32");
        if unsafe { libc::kill(pid, signal) } != 0 {
            panic!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
    }

    /// Waits (at most `timeout`) for the server to exit; returns the exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
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
            if let Err(e) = self.child.kill() {
                eprintln!("killing the server {}: {e}", self.child.id());
            }
            if let Err(e) = self.child.wait() {
                eprintln!("waiting for the server {}: {e}", self.child.id());
            }
        }
    }
}

/// Runs `procviz run ARGS` and returns its events (parsed from the NDJSON on stdout), its
/// summary (stderr) and its exit code.
pub fn run_cli(args: &[&str]) -> (Vec<Event>, String, i32) {
    let _cores = Cores::share();
    let out = Command::new(procviz())
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
