//! `procviz`: the server (default), the headless `procviz run`, and the hidden `__zygote`
//! mode: the fork server the server starts once, which forks every child (no exec).

use anyhow::Context;
use backend::runs::{Runs, RuntimeConfig};
use backend::server::auth::{Token, Tokens};
use backend::server::{AppState, router};
use clap::{Parser, Subcommand};
use shared::DemoRequest;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Show real processes and process pools live in the browser.
#[derive(Parser, Debug)]
#[command(name = "procviz", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on (keep 127.0.0.1 unless you mean to expose procviz).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8717)]
    port: u16,
    /// Open the page in the default browser (its URL carries the token).
    #[arg(long)]
    open: bool,
    /// The presenter's token (at least 16 letters, digits, - _ . ~); default: a random one,
    /// new at every start. Whoever has it may start processes as your user.
    #[arg(long, env = "PROCVIZ_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Lecture-hall mode: listen on this machine's LAN address too (or on ADDR) and print a
    /// view-only URL, with a QR code, for students' screens.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "lan")]
    share: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the page and the WebSocket (the default).
    Serve(ServeArgs),
    /// Run a demo without a browser: its events as NDJSON on stdout (the WebSocket's schema),
    /// a summary on stderr. Exit code 0 when the run completed.
    Run {
        /// Output lines the run keeps; further lines are counted and dropped.
        #[arg(long, default_value_t = 200_000)]
        max_output_lines: u64,
        /// The longest the run may take (ms) before it is cancelled.
        #[arg(long, default_value_t = 600_000)]
        max_run_ms: u64,
        /// Sampling interval of the per-core lanes (ms, 1 to 100).
        #[arg(long)]
        sample_ms: Option<u32>,
        /// SIGKILL the process named NAME this many milliseconds into the run, as the page's
        /// kill button would (repeatable; e.g. `pool --fail '' --kill PoolWorker-2@1500`).
        #[arg(
            long = "kill",
            value_name = "NAME@MS",
            global = true,
            value_parser = backend::runs::schedule::parse_kill
        )]
        kill: Vec<shared::Scheduled>,
        /// Also write the run as a Perfetto trace (Chrome JSON; open it in ui.perfetto.dev).
        #[arg(long, value_name = "FILE.json", global = true)]
        trace: Option<PathBuf>,
        #[command(subcommand)]
        demo: DemoArgs,
    },
    /// Convert a recording (`procviz run … > RUN.ndjson`) into a Perfetto trace.
    Convert {
        /// The recording.
        recording: PathBuf,
        /// The trace to write (Chrome JSON; open it in ui.perfetto.dev).
        #[arg(long, value_name = "FILE.json")]
        perfetto: PathBuf,
    },
    /// The fork server of a procviz server (internal).
    #[command(name = "__zygote", hide = true)]
    Zygote,
}

#[derive(Subcommand, Debug)]
enum DemoArgs {
    /// Two processes print a square and a cube; the main process joins them.
    TwoProcesses {
        /// The number.
        #[arg(long, default_value_t = 10)]
        num: i64,
        /// Keep each child alive this long after printing (ms).
        #[arg(long, default_value_t = 0)]
        linger_ms: u64,
    },
    /// `count` processes started and joined, with a workload and chosen failures.
    Processes(ProcessesArgs),
    /// Pool(workers) over `tasks` tasks (defaults: the seed, Pool(4).imap over 10 tasks of 1 s,
    /// task 0 raising ZeroDivisionError).
    Pool(PoolArgs),
}

#[derive(clap::Args, Debug)]
struct PoolArgs {
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    workers: u32,
    /// Number of tasks.
    #[arg(long, default_value_t = 10)]
    tasks: u64,
    /// The API: map, imap, imap_unordered, apply_async.
    #[arg(long, default_value = "imap", value_parser = parse_api)]
    api: shared::PoolApi,
    /// Tasks per chunk (default: Python's for the API).
    #[arg(long)]
    chunksize: Option<u32>,
    /// What a task does: sleep, cpu, none.
    #[arg(long, default_value = "sleep", value_parser = parse_work)]
    work: shared::Work,
    /// Each task's duration (ms).
    #[arg(long, default_value_t = 1000)]
    task_ms: u64,
    /// Task numbers that raise (comma-separated; `--fail ''` for none).
    #[arg(long, default_value = "0", value_delimiter = ',', num_args = 0..)]
    fail: Vec<String>,
    /// The exception type.
    #[arg(long, default_value = "ZeroDivisionError")]
    error_type: String,
    /// The exception message.
    #[arg(long, default_value = "division by zero")]
    error_message: String,
    /// Do not print the started/ended lines.
    #[arg(long)]
    quiet_tasks: bool,
    /// Replace a worker after this many chunks.
    #[arg(long)]
    maxtasksperchild: Option<u32>,
    /// Cores the workers may use (comma-separated).
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<u32>>,
}

#[derive(clap::Args, Debug)]
struct ProcessesArgs {
    /// Number of processes.
    #[arg(long, default_value_t = 4)]
    count: u32,
    /// A line each prints first ({name}, {pid}, {task}).
    #[arg(long, default_value = "Num: {task}")]
    print: String,
    /// What each does: sleep, cpu, none.
    #[arg(long, default_value = "sleep", value_parser = parse_work)]
    work: shared::Work,
    /// How long (ms).
    #[arg(long, default_value_t = 0)]
    work_ms: u64,
    /// CPU-bound threads per process.
    #[arg(long, default_value_t = 0)]
    threads: u32,
    /// MiB each process holds.
    #[arg(long, default_value_t = 0)]
    memory_mib: u64,
    /// Processes (1-based) that raise.
    #[arg(long, value_delimiter = ',')]
    fail: Vec<u64>,
    /// Processes that crash.
    #[arg(long, value_delimiter = ',')]
    crash: Vec<u64>,
    /// Crash with SIGSEGV instead of SIGABRT.
    #[arg(long)]
    segfault: bool,
    /// Exit code of the others.
    #[arg(long, default_value_t = 0)]
    exit_code: i32,
    /// Cores the processes may use (comma-separated).
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<u32>>,
    /// Start and join one process after the other.
    #[arg(long)]
    sequential: bool,
}

fn parse_api(s: &str) -> Result<shared::PoolApi, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown API {s:?}: map, imap, imap_unordered or apply_async"))
}

fn parse_work(s: &str) -> Result<shared::Work, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown work {s:?}: sleep, cpu or none"))
}

impl DemoArgs {
    fn request(self) -> anyhow::Result<DemoRequest> {
        Ok(match self {
            DemoArgs::TwoProcesses { num, linger_ms } => {
                DemoRequest::TwoProcesses(shared::TwoProcessesParams { num, linger_ms })
            }
            DemoArgs::Processes(a) => DemoRequest::Processes(shared::ProcessesParams {
                count: a.count,
                names: Vec::new(),
                print: a.print,
                work: a.work,
                work_ms: a.work_ms,
                threads: a.threads,
                memory_mib: a.memory_mib,
                fail: a.fail,
                crash: a.crash,
                crash_signal: if a.segfault {
                    shared::CrashSignal::Segfault
                } else {
                    shared::CrashSignal::Abort
                },
                exit_code: a.exit_code,
                cores: a.cores,
                sequential: a.sequential,
            }),
            DemoArgs::Pool(a) => {
                let fail = a
                    .fail
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| {
                        s.trim()
                            .parse::<u64>()
                            .with_context(|| format!("--fail {s:?}"))
                    })
                    .collect::<anyhow::Result<Vec<u64>>>()?;
                DemoRequest::Pool(shared::PoolParams {
                    workers: a.workers,
                    tasks: a.tasks,
                    api: a.api,
                    chunksize: a.chunksize,
                    work: a.work,
                    task_ms: a.task_ms,
                    fail,
                    error_type: a.error_type,
                    error_message: a.error_message,
                    print: !a.quiet_tasks,
                    maxtasksperchild: a.maxtasksperchild,
                    cores: a.cores,
                })
            }
        })
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Zygote) => std::process::exit(backend::child::zygote::serve()),
        Some(Command::Run {
            demo,
            max_output_lines,
            max_run_ms,
            sample_ms,
            kill,
            trace,
        }) => {
            let limits = RuntimeConfig {
                max_output_lines,
                max_run_time: std::time::Duration::from_millis(max_run_ms),
                ..RuntimeConfig::new(
                    std::env::current_exe().context("finding procviz's own binary")?,
                )
            };
            let options = backend::runs::RunOptions::with_sample_ms(sample_ms)
                .and_then(|o| o.with_schedule(kill))
                .context("checking the run's options")?;
            let trace = trace.as_deref().map(TraceFile::create).transpose()?;
            let code = run_headless(demo.request()?, limits, options, trace)?;
            std::process::exit(code);
        }
        Some(Command::Convert {
            recording,
            perfetto,
        }) => convert(&recording, &perfetto),
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROCVIZ_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `procviz run`: the run's events as NDJSON on stdout, then a summary on stderr.
fn run_headless(
    demo: DemoRequest,
    config: RuntimeConfig,
    options: backend::runs::RunOptions,
    mut trace: Option<TraceFile>,
) -> anyhow::Result<i32> {
    init_logging();
    runtime()?.block_on(async move {
        let runs = Runs::new(config).context("starting the runtime")?;
        let run = runs.start(demo, 0, options).context("starting the run")?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut cursor = 0;
        let mut summary = backend::summary::Summary::default();
        let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
        loop {
            let (events, complete) = run.log.read_from(cursor, 65_536);
            cursor += events.len();
            for event in &events {
                serde_json::to_writer(&mut out, event).context("writing an event")?;
                std::io::Write::write_all(&mut out, b"\n").context("writing an event")?;
                summary.add(event);
                if let Some(trace) = &mut trace {
                    trace.event(event)?;
                }
            }
            if complete {
                break;
            }
            if events.is_empty() {
                std::io::Write::flush(&mut out).context("writing events")?;
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
                    _ = &mut interrupted => run.cancel(shared::KillReason::Cancelled),
                }
            }
        }
        std::io::Write::flush(&mut out).context("writing events")?;
        trace.map(TraceFile::finish).transpose()?;
        runs.shutdown().await;
        eprint!("{summary}");
        Ok(if summary.completed() { 0 } else { 1 })
    })
}

/// A Perfetto trace being written to a file (`run --trace`, `convert`).
struct TraceFile {
    path: PathBuf,
    writer: perfetto::TraceWriter<std::io::BufWriter<std::fs::File>>,
}

impl TraceFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let context = || format!("writing the trace {}", path.display());
        let file = std::fs::File::create(path).with_context(context)?;
        let writer =
            perfetto::TraceWriter::new(std::io::BufWriter::new(file)).with_context(context)?;
        Ok(TraceFile {
            path: path.to_path_buf(),
            writer,
        })
    }

    fn event(&mut self, event: &shared::Event) -> anyhow::Result<()> {
        self.writer
            .event(event)
            .with_context(|| format!("writing the trace {}", self.path.display()))
    }

    fn finish(self) -> anyhow::Result<()> {
        self.writer
            .finish()
            .with_context(|| format!("writing the trace {}", self.path.display()))?;
        Ok(())
    }
}

/// `procviz convert`: a recording into a Perfetto trace, read and written line by line.
fn convert(recording: &Path, trace: &Path) -> anyhow::Result<()> {
    use std::io::BufRead;
    let reading = || format!("reading the recording {}", recording.display());
    let input = std::fs::File::open(recording).with_context(reading)?;
    let mut trace = TraceFile::create(trace)?;
    for line in std::io::BufReader::new(input).split(b'\n') {
        let line = line.with_context(reading)?;
        trace
            .writer
            .ndjson_line(&line)
            .with_context(|| format!("writing the trace {}", trace.path.display()))?;
    }
    let (bad, run) = (trace.writer.bad_lines(), trace.writer.run());
    trace.finish()?;
    if bad > 0 {
        eprintln!(
            "procviz: skipped {bad} line(s) of {} that were not events",
            recording.display()
        );
    }
    anyhow::ensure!(
        run.is_some(),
        "{}: no procviz event in it (not a recording of `procviz run`)",
        recording.display()
    );
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    runtime()?.block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding procviz's own binary for its children")?;
    let presenter = match &args.token {
        Some(text) => {
            Token::given(text).map_err(|e| anyhow::anyhow!("--token / PROCVIZ_TOKEN: {e}"))?
        }
        None => Token::random().context("making a token (the OS's random generator)")?,
    };
    let addr = SocketAddr::new(args.host, args.port);
    let listener = bind(addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let mut listeners = vec![listener];
    let mut viewer = None;
    if let Some(share) = &args.share {
        let ip = share_address(share)?;
        let shared = SocketAddr::new(ip, addr.port());
        if shared != addr {
            listeners.push(bind(shared).await?);
        }
        viewer = Some((
            shared,
            Token::random().context("making the view-only token")?,
        ));
    }
    let bound: Vec<SocketAddr> = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<_, _>>()
        .context("reading the bound addresses")?;
    let runs = Arc::new(Runs::new(RuntimeConfig::new(exe)).context("starting the runtime")?);
    let shutdown = CancellationToken::new();
    let tokens = Tokens::new(
        presenter.clone(),
        viewer.as_ref().map(|(_, t)| t.clone()),
        addr.port(),
    );
    let app = router(AppState::new(
        runs.clone(),
        &bound,
        tokens,
        shutdown.clone(),
    ));
    let local = if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let url = format!(
        "http://{}/?token={}",
        backend::server::hosts::host_of(local.ip(), local.port()),
        presenter.as_str()
    );
    if !backend::assets::frontend_built() {
        eprintln!("procviz: built with PROCVIZ_SKIP_FRONTEND: the page is a placeholder");
    }
    println!("procviz listening on {url}");
    for exposed in bound.iter().filter(|a| !a.ip().is_loopback()) {
        eprintln!("{}", exposure_warning(exposed));
    }
    if let Some((at, token)) = &viewer {
        let viewer_url = format!(
            "http://{}/?token={}",
            backend::server::hosts::host_of(at.ip(), at.port()),
            token.as_str()
        );
        println!("students (view-only): {viewer_url}");
        match qr_text(&viewer_url) {
            Ok(qr) => println!("{qr}"),
            Err(e) => eprintln!("procviz: no QR code for the viewer URL: {e}"),
        }
    }
    if args.open {
        open_browser(&url);
    }
    tokio::spawn(wait_for_signal(shutdown.clone()));
    let servers = listeners.into_iter().map(|listener| {
        let app = app.clone();
        let stop = shutdown.clone();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    futures_util::future::try_join_all(servers)
        .await
        .context("serving")?;
    runs.shutdown().await;
    eprintln!("procviz: stopped; every child process has ended");
    Ok(())
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("could not listen on {addr} (is another procviz running? try --port)")
    })
}

/// The address `--share` names: `lan` (the default) finds this machine's LAN address.
fn share_address(share: &str) -> anyhow::Result<std::net::IpAddr> {
    if share == "lan" {
        return backend::server::hosts::lan_address().context(
            "--share: this machine has no network address besides loopback; name one: --share 192.168.1.20",
        );
    }
    share.parse().with_context(|| {
        format!("--share {share:?}: not an IP address (e.g. --share 192.168.1.20)")
    })
}

/// What listening on `addr` exposes, said before anyone connects.
fn exposure_warning(addr: &SocketAddr) -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "your user".into());
    let reach = if addr.ip().is_unspecified() {
        format!(
            "every network interface of this machine (port {})",
            addr.port()
        )
    } else {
        format!("{addr}")
    };
    format!(
        "procviz: WARNING: listening on {reach}: whoever reaches it with the presenter's token \
         can start processes as {user}; keep that URL to yourself (students get the view-only one)"
    )
}

/// `url` as a QR code drawn with Unicode half blocks (two rows per line), for a terminal.
fn qr_text(url: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).context("encoding the URL")?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("procviz: shutting down");
    shutdown.cancel();
}

fn open_browser(url: &str) {
    match std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => eprintln!("procviz: could not open a browser ({e}); open {url} yourself"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn kills(args: &[&str]) -> Result<Vec<shared::Scheduled>, clap::Error> {
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Some(Command::Run { kill, .. }) => Ok(kill),
            other => panic!("a run expected, got {other:?}"),
        }
    }

    #[test]
    fn kill_is_repeatable_and_goes_before_or_after_the_demo() {
        let kill = |name: &str, at_ms| shared::Scheduled {
            at_ms,
            action: shared::RunAction::KillProcess { name: name.into() },
        };
        let got = kills(&[
            "procviz",
            "run",
            "pool",
            "--fail",
            "",
            "--kill",
            "PoolWorker-2@1500",
            "--kill",
            "PoolWorker-1@2000",
        ]);
        assert_eq!(
            got.map_err(|e| e.to_string()),
            Ok(vec![kill("PoolWorker-2", 1500), kill("PoolWorker-1", 2000)])
        );
        let before = kills(&["procviz", "run", "--kill", "Process-1@0", "processes"]);
        assert_eq!(
            before.map_err(|e| e.to_string()),
            Ok(vec![kill("Process-1", 0)])
        );
    }

    #[test]
    fn trace_goes_before_or_after_the_demo_and_convert_names_both_files() {
        for args in [
            &[
                "procviz", "run", "pool", "--tasks", "2", "--trace", "t.json",
            ][..],
            &["procviz", "run", "--trace", "t.json", "pool"][..],
        ] {
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Some(Command::Run { trace, .. })) => {
                    assert_eq!(trace, Some(PathBuf::from("t.json")), "{args:?}")
                }
                other => panic!("{args:?}: a run expected, got {other:?}"),
            }
        }
        match Cli::try_parse_from(["procviz", "convert", "r.ndjson", "--perfetto", "t.json"]) {
            Ok(Cli {
                command:
                    Some(Command::Convert {
                        recording,
                        perfetto,
                    }),
                ..
            }) => assert_eq!(
                (recording, perfetto),
                (PathBuf::from("r.ndjson"), PathBuf::from("t.json"))
            ),
            other => panic!("a conversion expected, got {other:?}"),
        }
        let missing = Cli::try_parse_from(["procviz", "convert", "r.ndjson"]);
        assert!(missing.is_err_and(|e| e.to_string().contains("--perfetto")));
    }

    #[test]
    fn a_malformed_kill_is_a_clear_usage_error() {
        for (value, needle) in [
            ("PoolWorker-2", "NAME@MS"),
            ("PoolWorker-2@soon", "not a number of milliseconds"),
            ("@1500", "names a process"),
        ] {
            match kills(&["procviz", "run", "pool", "--kill", value]) {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::ValueValidation, "{e}");
                    let text = e.to_string();
                    assert!(text.contains("--kill") && text.contains(needle), "{text}");
                }
                Ok(k) => panic!("{value} accepted as {k:?}"),
            }
        }
    }
}
