//! `procviz`: the server (default), and the hidden worker mode its children run in.

use anyhow::Context;
use backend::run::{Runs, RuntimeConfig};
use backend::server::{AppState, router};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
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
    /// Open the page in the default browser.
    #[arg(long)]
    open: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the page and the WebSocket (the default).
    Serve(ServeArgs),
    /// Run as a child of a procviz server (internal).
    #[command(name = "__worker", hide = true)]
    Worker {
        /// The process's name.
        #[arg(long)]
        name: String,
        /// Its script, as JSON.
        #[arg(long)]
        script: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Worker { name, script }) => {
            let script = serde_json::from_str(&script)
                .with_context(|| format!("worker {name}: reading its script"))?;
            std::process::exit(backend::worker::run(&script));
        }
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROCVIZ_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding procviz's own binary for its children")?;
    let addr = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("could not listen on {addr} (is another procviz running? try --port)")
    })?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let runs = Arc::new(Runs::new(RuntimeConfig::new(exe)));
    let shutdown = CancellationToken::new();
    let app = router(AppState::new(runs.clone(), addr, shutdown.clone()));
    let url = format!("http://{addr}/");
    if !backend::assets::frontend_built() {
        eprintln!("procviz: built with PROCVIZ_SKIP_FRONTEND: the page is a placeholder");
    }
    println!("procviz listening on {url}");
    if args.open {
        open_browser(&url);
    }
    tokio::spawn(wait_for_signal(shutdown.clone()));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .context("serving")?;
    runs.shutdown().await;
    eprintln!("procviz: stopped; every child process has ended");
    Ok(())
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
