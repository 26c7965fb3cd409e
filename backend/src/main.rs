//! `procviz`: the server (default), the headless `procviz run`, and the hidden `__zygote`
//! mode: the fork server the server starts once, which forks every child (no exec).

use anyhow::Context;
use axum::serve::ListenerExt;
use backend::runs::{MemoryBudget, Runs, RuntimeConfig};
use backend::server::auth::{Token, Tokens};
use backend::server::{AppState, ReaderLimits, router};
use clap::{Parser, Subcommand};
use shared::{DemoRequest, PoolParams, ProcessesParams, PythonSupport, TwoProcessesParams};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Show real processes and process pools live in the browser.
#[derive(Parser, Debug)]
#[command(name = "procviz", version, about, allow_negative_numbers = true)]
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
    /// Slow-reader rule: a client more than this many MiB behind (events of the runs it
    /// follows not yet sent to it) for `--backlog-grace-s` is closed (1008). For tests.
    #[arg(long, default_value_t = 64, hide = true)]
    max_backlog_mib: u64,
    /// Slow-reader rule: how long a client may be more than `--max-backlog-mib` behind.
    #[arg(long, default_value_t = 30, hide = true)]
    backlog_grace_s: u64,
    /// The interpreter of Python runs (CPython 3.8 or newer; default: python3 on PATH).
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,
    #[command(flatten)]
    budgets: BudgetArgs,
}

/// The server's resource budgets (README: "Limits").
#[derive(clap::Args, Debug)]
struct BudgetArgs {
    /// MiB the processes of all runs in progress may be asked to hold together; a start that
    /// would exceed it is refused (default: a quarter of this machine's memory, at most 4,096).
    #[arg(long, value_name = "MIB", value_parser = whole("max-memory-mib", 0..=u64::MAX))]
    max_memory_mib: Option<u64>,
    /// Finished runs are kept for replay up to this many MiB in all (their events' estimated
    /// size); the oldest are forgotten first.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = backend::runs::retention::DEFAULT_KEEP_FINISHED_MIB,
        value_parser = whole("keep-finished-mib", 0..=u64::MAX)
    )]
    keep_finished_mib: u64,
}

impl BudgetArgs {
    fn apply(&self, config: RuntimeConfig) -> RuntimeConfig {
        RuntimeConfig {
            memory_budget: self
                .max_memory_mib
                .map_or(config.memory_budget, MemoryBudget::configured),
            keep_finished_mib: self.keep_finished_mib,
            ..config
        }
    }
}

/// Parses a whole number in `range` for the option `name`; anything else (a negative number,
/// a fraction, a word, a number out of range) is refused with the range: `workers must be 1 to
/// 64` (`… must be 0 or more` when the range ends at the type's largest value). With
/// `allow_negative_numbers` on the command, clap hands `-1` to this parser instead of taking it
/// for an option.
fn whole<T>(
    name: &'static str,
    range: RangeInclusive<T>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: Copy + Into<i128> + TryFrom<i128> + Send + Sync + 'static,
{
    let (lo, hi): (i128, i128) = ((*range.start()).into(), (*range.end()).into());
    let open = T::try_from(hi + 1).is_err();
    move |text: &str| {
        text.trim()
            .parse::<i128>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| range_text(name, lo, (!open).then_some(hi)))
    }
}

/// `workers must be 1 to 64` (`hi` absent: `… must be 0 or more`), thousands grouped.
fn range_text(name: &str, lo: i128, hi: Option<i128>) -> String {
    let n = |v: i128| {
        let grouped = backend::runs::budget::grouped(v.unsigned_abs() as u64);
        if v < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    };
    match hi {
        Some(hi) => format!("{name} must be {} to {}", n(lo), n(hi)),
        None => format!("{name} must be a whole number, {} or more", n(lo)),
    }
}

/// The cores of this machine, for `--cores`.
fn cores_range() -> RangeInclusive<u32> {
    0..=backend::host::online_cores().saturating_sub(1)
}

/// A task number for the pool's `--fail`, or nothing (`--fail ''`).
fn task_number(text: &str) -> Result<Option<u64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    whole("task numbers", 0..=PoolParams::MAX_TASKS - 1)(text).map(Some)
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the page and the WebSocket (the default).
    #[command(allow_negative_numbers = true)]
    Serve(ServeArgs),
    /// Run a demo (or a page lesson: `run lesson NAME`) without a browser: its events as
    /// NDJSON on stdout (the WebSocket's schema), a summary (a lesson's story) on stderr. Exit
    /// code 0 when the run (every run of the lesson) completed.
    #[command(allow_negative_numbers = true)]
    Run {
        /// Output lines the run keeps; further lines are counted and dropped.
        #[arg(long, default_value_t = 200_000, value_parser = whole("max-output-lines", 0..=u64::MAX))]
        max_output_lines: u64,
        /// The longest the run may take (ms, at most 10 minutes) before it is cancelled.
        #[arg(
            long,
            default_value_t = shared::Scheduled::MAX_AT_MS,
            value_parser = whole("max-run-ms", 1..=shared::Scheduled::MAX_AT_MS)
        )]
        max_run_ms: u64,
        /// Sampling interval of the per-core lanes (ms, 1 to 100).
        #[arg(long, value_parser = whole("sample-ms", backend::sampler::INTERVAL_RANGE_MS))]
        sample_ms: Option<u32>,
        /// MiB the run's processes may be asked to hold (default: a quarter of this machine's
        /// memory, at most 4,096).
        #[arg(long, value_name = "MIB", value_parser = whole("max-memory-mib", 0..=u64::MAX))]
        max_memory_mib: Option<u64>,
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
        demo: RunArgs,
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

/// What `procviz run` runs: a demo, or a page lesson.
#[derive(Subcommand, Debug)]
enum RunArgs {
    #[command(flatten)]
    Demo(DemoArgs),
    /// A page lesson, all its runs as its button runs them (one after another, on this
    /// machine's cores): every event as NDJSON on stdout, then the lesson as the page tells it
    /// (caption, expected, observed) on stderr. `--list` lists the lessons.
    Lesson(LessonArgs),
}

#[derive(clap::Args, Debug)]
struct LessonArgs {
    /// The lesson's id (`chef_alone`; see `--list`).
    #[arg(required_unless_present = "list", value_parser = parse_lesson)]
    name: Option<shared::Lesson>,
    /// List the lessons: id, presenter key, title, caption.
    #[arg(long, conflicts_with = "name")]
    list: bool,
    /// The pool API of `pool_imap` (the page's switch): map, imap, imap_unordered, apply_async.
    #[arg(long, default_value = "imap", value_parser = parse_api)]
    api: shared::PoolApi,
    /// What runs the lesson: `runtime` (procviz's own) or `cpython` (the teaching material's
    /// programs as written, traced; `python3` on PATH).
    #[arg(long = "with", default_value = "runtime", value_parser = parse_run_with)]
    with: shared::RunWith,
}

fn parse_run_with(id: &str) -> Result<shared::RunWith, String> {
    shared::RunWith::from_id(id).ok_or_else(|| format!("{id:?}: choose runtime or cpython"))
}

fn parse_lesson(name: &str) -> Result<shared::Lesson, String> {
    shared::Lesson::from_id(name).ok_or_else(|| backend::headless::unknown_lesson(name))
}

// Every numeric option takes the range `shared` validates (`DemoRequest::validate`), and says
// it when a value is outside: `invalid value '-1' for '--workers <WORKERS>': workers must be 1
// to 64`.
#[derive(Subcommand, Debug)]
enum DemoArgs {
    /// Two processes print a square and a cube; the main process joins them.
    #[command(allow_negative_numbers = true)]
    TwoProcesses {
        /// The number (-1,000,000 to 1,000,000).
        #[arg(
            long,
            default_value_t = 10,
            value_parser = whole("num", -TwoProcessesParams::MAX_NUM..=TwoProcessesParams::MAX_NUM)
        )]
        num: i64,
        /// Keep each child alive this long after printing (ms, at most 60,000).
        #[arg(
            long,
            default_value_t = 0,
            value_parser = whole("linger-ms", 0..=TwoProcessesParams::MAX_LINGER_MS)
        )]
        linger_ms: u64,
    },
    /// `count` processes started and joined, with a workload and chosen failures.
    #[command(allow_negative_numbers = true)]
    Processes(ProcessesArgs),
    /// Pool(workers) over `tasks` tasks (defaults: the seed, Pool(4).imap over 10 tasks of 1 s,
    /// task 0 raising ZeroDivisionError).
    #[command(allow_negative_numbers = true)]
    Pool(PoolArgs),
    /// A real Python program run by CPython, traced: `python FILE.py [-- ARGS…]`, or a shipped
    /// one with `--program NAME` (`--list` names them).
    Python(PythonArgs),
}

#[derive(clap::Args, Debug)]
struct PythonArgs {
    /// The program to run (at most 64 KiB; it runs as `main.py` in a private directory, from
    /// the current directory).
    #[arg(required_unless_present_any = ["program", "list"], conflicts_with = "program")]
    file: Option<PathBuf>,
    /// A program shipped in procviz instead of a file (`--list` names them).
    #[arg(long, value_name = "NAME")]
    program: Option<String>,
    /// List the shipped programs and exit.
    #[arg(long)]
    list: bool,
    /// The interpreter (CPython 3.8 or newer; default: python3 on PATH).
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,
    /// The program's arguments (after `--`).
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct PoolArgs {
    /// Worker processes (1 to 64).
    #[arg(long, default_value_t = 4, value_parser = whole("workers", 1..=PoolParams::MAX_WORKERS))]
    workers: u32,
    /// Number of tasks (at most 1,000,000).
    #[arg(long, default_value_t = 10, value_parser = whole("tasks", 0..=PoolParams::MAX_TASKS))]
    tasks: u64,
    /// The API: map, imap, imap_unordered, apply_async.
    #[arg(long, default_value = "imap", value_parser = parse_api)]
    api: shared::PoolApi,
    /// Tasks per chunk (default: Python's for the API; 1 to 1,000,000).
    #[arg(long, value_parser = whole("chunksize", 1..=PoolParams::MAX_TASKS as u32))]
    chunksize: Option<u32>,
    /// What a task does: sleep, cpu, none.
    #[arg(long, default_value = "sleep", value_parser = parse_work)]
    work: shared::Work,
    /// Each task's duration (ms, at most 60,000).
    #[arg(long, default_value_t = 1000, value_parser = whole("task-ms", 0..=PoolParams::MAX_TASK_MS))]
    task_ms: u64,
    /// Task numbers that raise (comma-separated; `--fail ''` for none).
    #[arg(long, default_value = "0", value_delimiter = ',', num_args = 0.., value_parser = task_number)]
    fail: Vec<Option<u64>>,
    /// The exception type.
    #[arg(long, default_value = "ZeroDivisionError")]
    error_type: String,
    /// The exception message.
    #[arg(long, default_value = "division by zero")]
    error_message: String,
    /// Do not print the started/ended lines.
    #[arg(long)]
    quiet_tasks: bool,
    /// Replace a worker after this many chunks (at least 1).
    #[arg(long, value_parser = whole("maxtasksperchild", 1..=u32::MAX))]
    maxtasksperchild: Option<u32>,
    /// Cores the workers may use (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = whole("cores", cores_range()))]
    cores: Option<Vec<u32>>,
}

#[derive(clap::Args, Debug)]
struct ProcessesArgs {
    /// Number of processes (1 to 64).
    #[arg(long, default_value_t = 4, value_parser = whole("count", 1..=PoolParams::MAX_WORKERS))]
    count: u32,
    /// A line each prints first ({name}, {pid}, {task}).
    #[arg(long, default_value = "Num: {task}")]
    print: String,
    /// What each does: sleep, cpu, none.
    #[arg(long, default_value = "sleep", value_parser = parse_work)]
    work: shared::Work,
    /// How long (ms, at most 60,000).
    #[arg(long, default_value_t = 0, value_parser = whole("work-ms", 0..=PoolParams::MAX_TASK_MS))]
    work_ms: u64,
    /// CPU-bound threads per process (at most 64).
    #[arg(long, default_value_t = 0, value_parser = whole("threads", 0..=ProcessesParams::MAX_THREADS))]
    threads: u32,
    /// MiB each process holds (at most 1,024; the memory budget may allow less).
    #[arg(
        long,
        default_value_t = 0,
        value_parser = whole("memory-mib", 0..=ProcessesParams::MAX_MEMORY_MIB)
    )]
    memory_mib: u64,
    /// Processes (1-based) that raise.
    #[arg(long, value_delimiter = ',', value_parser = whole("process numbers", 1..=u64::from(PoolParams::MAX_WORKERS)))]
    fail: Vec<u64>,
    /// Processes that crash.
    #[arg(long, value_delimiter = ',', value_parser = whole("process numbers", 1..=u64::from(PoolParams::MAX_WORKERS)))]
    crash: Vec<u64>,
    /// Crash with SIGSEGV instead of SIGABRT.
    #[arg(long)]
    segfault: bool,
    /// Exit code of the others (0 to 255).
    #[arg(long, default_value_t = 0, value_parser = whole("exit-code", 0..=ProcessesParams::MAX_EXIT_CODE))]
    exit_code: i32,
    /// Cores the processes may use (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = whole("cores", cores_range()))]
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
            DemoArgs::Pool(a) => DemoRequest::Pool(shared::PoolParams {
                workers: a.workers,
                tasks: a.tasks,
                api: a.api,
                chunksize: a.chunksize,
                work: a.work,
                task_ms: a.task_ms,
                fail: a.fail.into_iter().flatten().collect(),
                error_type: a.error_type,
                error_message: a.error_message,
                print: !a.quiet_tasks,
                maxtasksperchild: a.maxtasksperchild,
                cores: a.cores,
            }),
            DemoArgs::Python(a) => {
                let program = match (a.program, a.file) {
                    (Some(name), _) => shared::PythonProgram::Shipped { name },
                    (None, Some(file)) => shared::PythonProgram::Code {
                        source: std::fs::read_to_string(&file)
                            .with_context(|| format!("reading {}", file.display()))?,
                    },
                    (None, None) => anyhow::bail!("name a FILE.py or a --program"),
                };
                let request = DemoRequest::Python(shared::PythonParams {
                    program,
                    args: a.args,
                    hang_after_ms: None,
                });
                request
                    .validate(backend::host::online_cores())
                    .map_err(|e| anyhow::anyhow!(e))?;
                request
            }
        })
    }
}

/// `procviz run python --list`: the shipped programs, one a line.
fn list_programs() {
    for (name, what, _) in backend::python::PROGRAMS {
        println!("{name:<22} {what}");
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
            max_memory_mib,
            kill,
            trace,
        }) => {
            let defaults = RuntimeConfig::new(
                std::env::current_exe().context("finding procviz's own binary")?,
            );
            let (python, python_path) = match &demo {
                RunArgs::Demo(DemoArgs::Python(a)) if a.list => {
                    list_programs();
                    return Ok(());
                }
                // The program runs from a private copy: its own directory stays on the path.
                RunArgs::Demo(DemoArgs::Python(a)) => {
                    let dir = a.file.as_deref().map(|f| {
                        let dir = f.parent().filter(|d| !d.as_os_str().is_empty());
                        std::path::absolute(dir.unwrap_or(std::path::Path::new(".")))
                    });
                    let dir = dir.transpose().context("finding the program's directory")?;
                    (a.python.clone(), dir.into_iter().collect())
                }
                _ => (defaults.python.clone(), Vec::new()),
            };
            let limits = RuntimeConfig {
                python,
                python_path,
                max_output_lines,
                max_run_time: std::time::Duration::from_millis(max_run_ms),
                memory_budget: max_memory_mib
                    .map_or(defaults.memory_budget, MemoryBudget::configured),
                ..defaults
            };
            let options = backend::runs::RunOptions::with_sample_ms(sample_ms)
                .and_then(|o| o.with_schedule(kill))
                .context("checking the run's options")?;
            let demo = match demo {
                RunArgs::Demo(demo) => demo.request()?,
                RunArgs::Lesson(args) => {
                    anyhow::ensure!(
                        options.schedule.is_empty(),
                        "--kill: a lesson's runs carry their own timed actions, as on the page \
                         (worker_dies kills {} at {} ms); run a demo to kill what you choose",
                        shared::Lesson::KILLED_WORKER,
                        shared::Lesson::KILL_AT_MS
                    );
                    anyhow::ensure!(
                        trace.is_none(),
                        "--trace: a lesson has several runs; write a trace of one with \
                         `procviz run <demo> --trace`, or convert a run's recording"
                    );
                    if args.list {
                        print!("{}", backend::headless::lesson_list());
                        return Ok(());
                    }
                    let lesson = args.name.context("naming the lesson (see --list)")?;
                    let code = run_lesson(lesson, (args.api, args.with), limits, sample_ms)?;
                    std::process::exit(code);
                }
            };
            let trace = trace.as_deref().map(TraceFile::create).transpose()?;
            let code = run_headless(demo, limits, options, trace)?;
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
        let stop = stop_on_ctrl_c();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut summary = backend::summary::Summary::default();
        backend::headless::follow(&run, &stop, |events| {
            for event in events {
                backend::headless::write_event(&mut out, event).context("writing an event")?;
                summary.add(event);
                if let Some(trace) = &mut trace {
                    trace.event(event)?;
                }
            }
            std::io::Write::flush(&mut out).context("writing events")
        })
        .await?;
        trace.map(TraceFile::finish).transpose()?;
        runs.shutdown().await;
        eprint!("{summary}");
        Ok(if summary.completed() { 0 } else { 1 })
    })
}

/// A token cancelled at the first Ctrl-C (the run going on is then cancelled).
fn stop_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => cancel.cancel(),
            Err(e) => tracing::warn!(error = %e, "cannot listen for Ctrl-C"),
        }
    });
    stop
}

/// `procviz run lesson NAME`: the lesson's runs as the page runs them, their events as NDJSON
/// on stdout, then the lesson's story on stderr; 0 when every run completed.
fn run_lesson(
    lesson: shared::Lesson,
    (api, with): (shared::PoolApi, shared::RunWith),
    config: RuntimeConfig,
    sample_ms: Option<u32>,
) -> anyhow::Result<i32> {
    init_logging();
    let cores = backend::host::online_cores();
    runtime()?.block_on(async move {
        let runs = Runs::new(config).context("starting the runtime")?;
        let stop = stop_on_ctrl_c();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let ran = backend::headless::run_lesson(
            &runs,
            lesson,
            (cores, api, with, sample_ms),
            &mut out,
            &stop,
        )
        .await
        .with_context(|| format!("running the lesson {}", lesson.id()));
        runs.shutdown().await;
        let outcome = ran?;
        eprint!("{}", backend::headless::lesson_report(&outcome));
        Ok(if outcome.completed() { 0 } else { 1 })
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

/// `eprintln!` for the server's messages, except that a closed stderr (`procviz 2>&1 | head`)
/// is ignored instead of panicking: a panic in the signal task would leave the server unable
/// to stop.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write;
        // Nowhere left to report a failed write to stderr.
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
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
    let config = RuntimeConfig {
        python: args.python.clone(),
        ..args.budgets.apply(RuntimeConfig::new(exe))
    };
    let runs = Arc::new(Runs::new(config).context("starting the runtime")?);
    let shutdown = CancellationToken::new();
    let tokens = Tokens::new(
        presenter.clone(),
        viewer.as_ref().map(|(_, t)| t.clone()),
        addr.port(),
    );
    let python = backend::python::support(&args.python).await;
    match &python {
        PythonSupport::Available { interpreter: i } => tracing::info!(
            "real Python programs run with {} {} ({}, start method {})",
            i.name,
            i.version,
            i.executable,
            i.start_method.as_deref().unwrap_or("unknown")
        ),
        PythonSupport::Unavailable { reason } => {
            tracing::warn!(
                "real Python programs cannot run: {reason}; lessons use procviz's runtime"
            )
        }
    }
    let state = AppState::new(runs.clone(), &bound, tokens, shutdown.clone())
        .with_reader_limits(ReaderLimits {
            max_backlog_bytes: args.max_backlog_mib.saturating_mul(1024 * 1024),
            grace: std::time::Duration::from_secs(args.backlog_grace_s),
        })
        .with_python(python);
    let app = router(state.clone());
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
        tell!("procviz: built with PROCVIZ_SKIP_FRONTEND: the page is a placeholder");
    }
    say(&format!("procviz listening on {url}"));
    for exposed in bound.iter().filter(|a| !a.ip().is_loopback()) {
        tell!("{}", exposure_warning(exposed));
    }
    if let Some((at, token)) = &viewer {
        let viewer_url = format!(
            "http://{}/?token={}",
            backend::server::hosts::host_of(at.ip(), at.port()),
            token.as_str()
        );
        say(&format!("students (view-only): {viewer_url}"));
        match qr_text(&viewer_url) {
            Ok(qr) => say(&qr),
            Err(e) => tell!("procviz: no QR code for the viewer URL: {e}"),
        }
    }
    if args.open {
        open_browser(&url);
    }
    tokio::spawn(wait_for_signal(shutdown.clone()));
    let servers = listeners.into_iter().map(|listener| {
        let app = app.clone();
        let stop = shutdown.clone();
        // Each frame goes out at once (no Nagle delay): the ticks' frames, and a close frame
        // that must reach the client before the socket closes.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    let serving = async {
        let served = futures_util::future::try_join_all(servers).await;
        // Serving ended by itself (an error): stop everything else too.
        shutdown.cancel();
        served
    };
    // The runs stop as soon as the signal comes, while the open connections send each viewer
    // the end of the runs it follows (`run_finished` cancelled {server_shutdown}) and close.
    let stopping = async {
        shutdown.cancelled().await;
        runs.shutdown().await;
        state
            .connections_closed(backend::server::SHUTDOWN_WAIT)
            .await
    };
    let (served, closed) = tokio::join!(serving, stopping);
    if !closed {
        tell!("procviz: some connections did not close in time; they were cut");
    }
    served.context("serving")?;
    tell!("procviz: stopped; every child process has ended");
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

/// Prints a line of the server's banner on stdout. A closed stdout (`procviz | head -1`) must
/// not stop the server: `println!` would panic there, so a failed write is only logged.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "could not print to stdout");
    }
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
    tell!("procviz: shutting down");
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
        Err(e) => tell!("procviz: could not open a browser ({e}); open {url} yourself"),
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

    /// A numeric option of `procviz run`: where it goes, its range and what a value outside
    /// it is told.
    struct Numeric {
        /// Arguments before the option (the demo, for a demo's option).
        before: &'static [&'static str],
        option: &'static str,
        lo: i128,
        /// Absent: no bound but the type's.
        hi: Option<i128>,
        says: String,
    }

    fn numeric(
        before: &'static [&'static str],
        option: &'static str,
        lo: i128,
        hi: i128,
    ) -> Numeric {
        let name = option.trim_start_matches("--");
        let grouped = |v: i128| {
            let g = backend::runs::budget::grouped(v.unsigned_abs() as u64);
            if v < 0 { format!("-{g}") } else { g }
        };
        Numeric {
            before,
            option,
            lo,
            hi: Some(hi),
            says: format!("{name} must be {} to {}", grouped(lo), grouped(hi)),
        }
    }

    fn open(before: &'static [&'static str], option: &'static str, lo: i128) -> Numeric {
        Numeric {
            before,
            option,
            lo,
            hi: None,
            says: format!(
                "{} must be a whole number, {lo} or more",
                option.trim_start_matches("--")
            ),
        }
    }

    /// Every numeric option of `procviz run`, with the ranges of `shared`'s validation.
    fn every_numeric_option() -> Vec<Numeric> {
        let run: &[&str] = &[];
        let cores = i128::from(backend::host::online_cores()) - 1;
        let task_ms = i128::from(PoolParams::MAX_TASK_MS);
        let workers = i128::from(PoolParams::MAX_WORKERS);
        let processes_of_64: &[&str] = &["processes", "--count", "64"];
        let mut fail = numeric(processes_of_64, "--fail", 1, workers);
        fail.says = "process numbers must be 1 to 64".into();
        let mut crash = numeric(processes_of_64, "--crash", 1, workers);
        crash.says = fail.says.clone();
        let mut task_fail = numeric(
            &["pool"],
            "--fail",
            0,
            i128::from(PoolParams::MAX_TASKS) - 1,
        );
        task_fail.says = "task numbers must be 0 to 999,999".into();
        vec![
            open(run, "--max-output-lines", 0),
            numeric(
                run,
                "--max-run-ms",
                1,
                i128::from(shared::Scheduled::MAX_AT_MS),
            ),
            numeric(run, "--sample-ms", 1, 100),
            open(run, "--max-memory-mib", 0),
            numeric(
                &["two-processes"],
                "--num",
                -i128::from(TwoProcessesParams::MAX_NUM),
                i128::from(TwoProcessesParams::MAX_NUM),
            ),
            numeric(
                &["two-processes"],
                "--linger-ms",
                0,
                i128::from(TwoProcessesParams::MAX_LINGER_MS),
            ),
            numeric(&["processes"], "--count", 1, workers),
            numeric(&["processes"], "--work-ms", 0, task_ms),
            numeric(
                &["processes"],
                "--threads",
                0,
                i128::from(ProcessesParams::MAX_THREADS),
            ),
            numeric(
                &["processes"],
                "--memory-mib",
                0,
                i128::from(ProcessesParams::MAX_MEMORY_MIB),
            ),
            fail,
            crash,
            numeric(
                &["processes"],
                "--exit-code",
                0,
                i128::from(ProcessesParams::MAX_EXIT_CODE),
            ),
            numeric(&["processes"], "--cores", 0, cores),
            numeric(&["pool"], "--workers", 1, workers),
            numeric(&["pool"], "--tasks", 0, i128::from(PoolParams::MAX_TASKS)),
            numeric(
                &["pool"],
                "--chunksize",
                1,
                i128::from(PoolParams::MAX_TASKS),
            ),
            numeric(&["pool"], "--task-ms", 0, task_ms),
            task_fail,
            open(&["pool"], "--maxtasksperchild", 1),
            numeric(&["pool"], "--cores", 0, cores),
        ]
    }

    /// `procviz run [BEFORE…] OPTION VALUE` (a run's own options go before the demo).
    fn run_with(case: &Numeric, value: &str) -> Result<Cli, clap::Error> {
        let mut args = vec!["procviz", "run"];
        args.extend(case.before);
        args.extend([case.option, value]);
        if case.before.is_empty() {
            args.push("processes");
        }
        Cli::try_parse_from(args)
    }

    #[test]
    fn every_numeric_option_of_run_names_itself_and_its_range_when_out_of_it() {
        let options = every_numeric_option();
        assert_eq!(
            options.len(),
            21,
            "a new numeric option belongs in this table"
        );
        for case in &options {
            let mut outside = vec![case.lo - 1, -1];
            outside.extend(case.hi.map(|hi| hi + 1));
            let outside = outside
                .into_iter()
                .filter(|v| *v < case.lo || case.hi.is_some_and(|hi| *v > hi))
                .map(|v| v.to_string())
                .chain(["1.5".to_string(), "many".to_string()]);
            for value in outside {
                match run_with(case, &value) {
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::ValueValidation, "{e}");
                        let text = e.to_string();
                        let named = format!("invalid value '{value}' for '{} ", case.option);
                        assert!(
                            text.contains(&named) && text.contains(&case.says),
                            "{} {value}: {text}",
                            case.option
                        );
                    }
                    Ok(cli) => panic!("{} {value} accepted: {cli:?}", case.option),
                }
            }
        }
    }

    #[test]
    fn the_ends_of_every_range_are_accepted_by_the_cli_and_by_shared() {
        let cores = backend::host::online_cores();
        for case in &every_numeric_option() {
            let ends = std::iter::once(case.lo).chain(case.hi);
            for value in ends.map(|v| v.to_string()) {
                let what = format!("{} {value}", case.option);
                match run_with(case, &value).map(|cli| cli.command) {
                    Ok(Some(Command::Run {
                        demo: RunArgs::Demo(demo),
                        sample_ms,
                        ..
                    })) => {
                        let request = demo.request().map_err(|e| e.to_string());
                        assert_eq!(request.and_then(|r| r.validate(cores)), Ok(()), "{what}");
                        let options = backend::runs::RunOptions::with_sample_ms(sample_ms);
                        assert!(options.is_ok(), "{what}");
                    }
                    other => panic!("{what}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn python_takes_a_shipped_program_or_a_file_and_its_arguments() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(Command::Run {
                demo: RunArgs::Demo(DemoArgs::Python(a)),
                ..
            })) => Some((a.program, a.file, a.args, a.list)),
            _ => None,
        };
        assert_eq!(
            parse(&["procviz", "run", "python", "--program", "pool_imap"]),
            Some((Some("pool_imap".into()), None, vec![], false))
        );
        assert_eq!(
            parse(&["procviz", "run", "python", "x.py", "--", "spawn", "-v"]),
            Some((
                None,
                Some(PathBuf::from("x.py")),
                vec!["spawn".to_string(), "-v".to_string()],
                false
            ))
        );
        assert_eq!(
            parse(&["procviz", "run", "python", "--list"]).map(|p| p.3),
            Some(true)
        );
        assert_eq!(
            parse(&["procviz", "run", "python"]),
            None,
            "a program is required"
        );
        assert_eq!(
            parse(&["procviz", "run", "python", "x.py", "--program", "pool_imap"]),
            None,
            "a file or a shipped program, not both"
        );
    }

    #[test]
    fn the_pools_fail_list_may_be_empty() {
        let fail = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(Command::Run {
                demo: RunArgs::Demo(demo),
                ..
            })) => match demo.request().ok() {
                Some(DemoRequest::Pool(p)) => p.fail,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(fail(&["procviz", "run", "pool"]), [0]);
        assert_eq!(
            fail(&["procviz", "run", "pool", "--fail", ""]),
            Vec::<u64>::new()
        );
        assert_eq!(fail(&["procviz", "run", "pool", "--fail", "3,6"]), [3, 6]);
    }

    #[test]
    fn the_servers_budgets_come_from_their_flags_or_the_defaults() {
        let config = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).map_err(|e| e.to_string());
            let serve = match cli {
                Ok(Cli {
                    command: Some(Command::Serve(serve)),
                    ..
                }) => serve,
                Ok(Cli {
                    command: None,
                    serve,
                }) => serve,
                other => panic!("{other:?}"),
            };
            let config = serve.budgets.apply(RuntimeConfig::new("procviz".into()));
            (config.memory_budget, config.keep_finished_mib)
        };
        let (budget, keep) = config(&["procviz"]);
        assert_eq!(keep, 512);
        assert!(
            matches!(
                budget.origin,
                backend::runs::budget::BudgetOrigin::Machine { .. }
            ) && budget.limit_mib <= 4096,
            "{budget:?}"
        );
        assert_eq!(
            config(&[
                "procviz",
                "--max-memory-mib",
                "1000",
                "--keep-finished-mib",
                "64"
            ]),
            (MemoryBudget::configured(1000), 64)
        );
        assert_eq!(
            config(&["procviz", "serve", "--keep-finished-mib", "0"]).1,
            0
        );
        for args in [
            ["procviz", "--keep-finished-mib", "-1"],
            ["procviz", "--max-memory-mib", "lots"],
        ] {
            match Cli::try_parse_from(args) {
                Err(e) => {
                    let text = e.to_string();
                    assert!(
                        text.contains(args[1])
                            && text.contains("must be a whole number, 0 or more"),
                        "{text}"
                    );
                }
                Ok(cli) => panic!("{args:?} accepted: {cli:?}"),
            }
        }
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
    fn run_lesson_takes_a_lesson_id_or_list_and_the_pool_lessons_api() {
        let lesson = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(Command::Run {
                demo: RunArgs::Lesson(a),
                ..
            })) => Ok((a.name, a.list, a.api)),
            Ok(other) => panic!("{args:?}: a lesson expected, got {other:?}"),
            Err(e) => Err(e),
        };
        let ok = |args: &[&str]| lesson(args).map_err(|e| e.to_string());
        assert_eq!(
            ok(&["procviz", "run", "lesson", "chef_alone"]),
            Ok((
                Some(shared::Lesson::ChefAlone),
                false,
                shared::PoolApi::Imap
            ))
        );
        assert_eq!(
            ok(&["procviz", "run", "lesson", "pool_imap", "--api", "map"]),
            Ok((Some(shared::Lesson::PoolImap), false, shared::PoolApi::Map))
        );
        assert_eq!(
            ok(&["procviz", "run", "lesson", "--list"]),
            Ok((None, true, shared::PoolApi::Imap))
        );
        let unknown = lesson(&["procviz", "run", "lesson", "chef"]).map(|_| ());
        assert!(
            unknown
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ValueValidation
                    && e.to_string().contains("the lessons are: two_processes, ")),
            "{unknown:?}"
        );
        let none = lesson(&["procviz", "run", "lesson"]).map(|_| ());
        assert!(
            none.as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::MissingRequiredArgument),
            "{none:?}"
        );
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
