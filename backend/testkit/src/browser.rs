//! A real headless Chromium driven through chromedriver (fantoccini over plain HTTP).
//!
//! Outside CI a missing chromedriver skips the browser tests with a printed reason; with
//! `CI=true` it is a failure.

use crate::TempDir;
use crate::cores::Cores;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A browser session and the chromedriver behind it (both ended on drop).
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: TempDir,
    _cores: Cores,
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// A chromedriver extension command: one Chrome DevTools Protocol call (chromedriver's
/// `goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `width`×`height`; `None` (with a
    /// printed reason) when chromedriver is missing outside CI.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let cores = Cores::share();
        let Some(driver_bin) = find_on_path("chromedriver") else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "chromedriver is not installed; CI must install chromium-driver"
            );
            eprintln!(
                "SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        // A port picked here may be taken by another process before chromedriver binds it
        // (chromedriver then exits, and what answered on the port goes away): then start
        // again on another port, a few times.
        let mut attempt = 0;
        let (client, driver, profile) = loop {
            attempt += 1;
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
                l.local_addr().unwrap().port()
            };
            let mut driver = Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut exited = false;
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(_)) = driver.try_wait() {
                    exited = true;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "chromedriver did not listen on {port}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let profile = std::env::temp_dir()
                .join(format!("procviz-chromium-{}-{port}", std::process::id()));
            let session = if exited {
                Err("chromedriver exited before it listened".to_string())
            } else {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities(width, height, &profile))
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await
                    .map_err(|e| e.to_string())
            };
            match session {
                Ok(client) => break (client, driver, profile),
                Err(e) => {
                    // Nothing of this attempt is left running, also when it was the last.
                    let _ = driver.kill();
                    let _ = driver.wait();
                    kill_marked(&profile.to_string_lossy());
                    assert!(attempt < 3, "start a Chromium session: {e}");
                    eprintln!("chromedriver on port {port} (attempt {attempt}): {e}; again");
                }
            }
        };
        Some(Browser {
            client,
            driver,
            profile: TempDir::at(profile),
            _cores: cores,
        })
    }

    /// Loads `url` and waits until the page is connected to its server.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("load the page");
        self.element("[data-testid=connection][data-state=Connected]")
            .await;
    }

    /// Clicks the element matching `css` (waiting for it).
    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.expect("click");
    }

    /// Waits (up to 20 s) for an element matching `css`.
    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} within 20 s: {e}"))
    }

    /// Waits (up to 20 s) until `css` matches exactly `n` elements; returns them.
    pub async fn elements(&self, css: &str, n: usize) -> Vec<fantoccini::elements::Element> {
        crate::eventually(&format!("{css}: expected {n} elements"), 20, async || {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .expect("find_all");
            if found.len() == n {
                Ok(found)
            } else {
                Err(format!("{} found", found.len()))
            }
        })
        .await
    }

    /// Waits (up to 20 s) until the text of `css` equals `text`.
    pub async fn text_becomes(&self, css: &str, text: &str) {
        self.text_until(css, &format!("expected {text:?}"), |now| now == text)
            .await;
    }

    /// Runs `script` (a function body that `return`s its result) in the page.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Dispatches a pointer event `kind` (`pointermove`, `pointerdown`, `pointerup`) on the
    /// main timeline at a point of the first element matching `css`: `fx`, `fy` are fractions
    /// of its box (0.5, 0.5: its centre). `buttons` as in the DOM (1: left button held).
    pub async fn pointer_at(&self, kind: &str, css: &str, fx: f64, fy: f64, buttons: u32) {
        let script = format!(
            "const el = document.querySelector({css:?});
             if (!el) return 'no element';
             const r = el.getBoundingClientRect();
             const svg = document.querySelector('[data-testid=timeline]');
             svg.dispatchEvent(new PointerEvent({kind:?}, {{
                 clientX: r.left + r.width * {fx}, clientY: r.top + r.height * {fy},
                 buttons: {buttons}, button: 0, bubbles: true, isPrimary: true, pointerId: 1 }}));
             return 'ok';"
        );
        assert_eq!(self.js(&script).await, "ok", "{css}");
    }

    /// Waits (up to 20 s) until the text of `css` contains `needle`; returns the text.
    pub async fn text_contains(&self, css: &str, needle: &str) -> String {
        self.text_until(css, &format!("should contain {needle:?}"), |now| {
            now.contains(needle)
        })
        .await
    }

    /// Waits (up to 20 s) until the text of `css` satisfies `ok`; returns the text.
    async fn text_until(&self, css: &str, wanted: &str, ok: impl Fn(&str) -> bool) -> String {
        crate::eventually(&format!("{css}: text {wanted}"), 20, async || {
            let now = self.text(css).await;
            if ok(&now) {
                Ok(now)
            } else {
                Err(format!("{now:?}"))
            }
        })
        .await
    }

    /// The text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap_or_default()
    }

    /// One Chrome DevTools Protocol call through chromedriver (`Emulation.…`, `Page.…`,
    /// `Performance.…`); its result.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd} (through chromedriver): {e}"))
    }

    /// Saves a screenshot under `target/screenshots/`, and into `docs/` as well when
    /// `PROCVIZ_UPDATE_SCREENSHOTS=1`. Returns the PNG bytes.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        let png = self.client.screenshot().await.expect("screenshot");
        save_picture(name, &png);
        png
    }

    /// Ends the session (the page's tab closes); the driver ends on drop.
    pub async fn close(self) {
        let client = self.client.clone();
        if let Err(e) = client.close().await {
            eprintln!("closing the browser: {e}");
        }
    }
}

/// Kills every process whose command line mentions `marker` (the browser's own profile
/// directory): a browser whose driver died must not outlive the test.
fn kill_marked(marker: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.driver.try_wait() {
            if let Err(e) = self.driver.kill() {
                eprintln!("killing chromedriver: {e}");
            }
            if let Err(e) = self.driver.wait() {
                eprintln!("waiting for chromedriver: {e}");
            }
        }
        kill_marked(&self.profile.path().to_string_lossy());
    }
}

/// The WebDriver capabilities of a headless Chromium window of `width`×`height` with its
/// own profile directory.
fn capabilities(
    width: u32,
    height: u32,
    profile: &std::path::Path,
) -> serde_json::Map<String, serde_json::Value> {
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--hide-scrollbars".into(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
        "--force-device-scale-factor=1".into(),
    ];
    let mut chrome = serde_json::json!({ "args": args });
    if let Some(bin) = find_on_path("chromium") {
        chrome["binary"] = serde_json::json!(bin);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    caps
}

/// The workspace's root directory (screenshots go to its `target/screenshots/` and `docs/`).
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Saves a picture the page made (a screenshot, an exported PNG) under
/// `target/screenshots/`, and into `docs/` as well when `PROCVIZ_UPDATE_SCREENSHOTS=1`.
pub fn save_picture(name: &str, png: &[u8]) {
    let root = workspace_root();
    let dir = root.join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
    if std::env::var("PROCVIZ_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(root.join("docs").join(name), png).expect("write docs screenshot");
    }
}
