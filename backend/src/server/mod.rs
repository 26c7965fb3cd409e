//! HTTP and WebSocket server (axum).
//!
//! ## Routes
//! - `/ws`: the protocol of [`shared`]: a hello, then commands in and event batches out.
//! - `/healthz`: `ok`.
//! - everything else: the embedded page ([`crate::assets`]), compressed.
//!
//! ## Safety of a local server that starts processes
//! Every request must name this server in its `Host` header (defeats DNS rebinding), and a
//! WebSocket upgrade that carries an `Origin` must come from this same origin (another web
//! page the user visits cannot start processes). Clients that send no `Origin` (not a
//! browser: tests, scripts) are accepted.
//!
//! ## A connection
//! Split into a receive task (decodes and carries out commands: [`commands`]) and a send task
//! (a hello, errors, and on every tick the new events of every run the client follows, in
//! frames of at most 1,024 events, at most 8 frames per tick: [`stream`]), joined by
//! `select!`. When the client goes away, a run nobody watches any more is cancelled after a
//! second's grace (a reloaded page follows it again in time), unless it was started with
//! `keep_on_disconnect`.

pub mod commands;
pub mod stream;

pub use stream::{MAX_EVENTS_PER_FRAME, MAX_FRAMES_PER_TICK};

use crate::runs::{Runs, Viewing};
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use commands::{Outbound, binary_refused, handle_text};
use futures_util::{SinkExt, StreamExt};
use shared::{PROTOCOL_VERSION, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;

/// How often new events are sent to each client.
pub const TICK: Duration = Duration::from_millis(50);
/// Frames larger than this are refused by the WebSocket layer itself (connection closed with
/// 1009); between [`shared::MAX_CLIENT_MESSAGE_BYTES`] and this, the client gets an error event.
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    runs: Arc<Runs>,
    allowed_hosts: Arc<Option<Vec<String>>>,
    shutdown: CancellationToken,
}

impl AppState {
    /// State for a server listening on `addr`. `shutdown` ends open connections.
    pub fn new(runs: Arc<Runs>, addr: SocketAddr, shutdown: CancellationToken) -> Self {
        AppState {
            runs,
            allowed_hosts: Arc::new(allowed_hosts(addr)),
            shutdown,
        }
    }
}

/// The `Host` values that name a server listening on `addr`; `None` (any) when it listens on
/// every interface.
fn allowed_hosts(addr: SocketAddr) -> Option<Vec<String>> {
    let port = addr.port();
    let ip = addr.ip();
    if ip.is_unspecified() {
        return None;
    }
    let mut hosts = vec![match ip {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }];
    if ip.is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    Some(hosts)
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(crate::assets::serve)
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(allowed) = state.allowed_hosts.as_ref()
        && !allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
    {
        return (
            StatusCode::FORBIDDEN,
            format!(
                "procviz: host {host:?} is not this server; open http://{}/",
                allowed[0]
            ),
        )
            .into_response();
    }
    if req.uri().path() == "/ws" && !same_origin(req.headers(), host) {
        return (
            StatusCode::FORBIDDEN,
            "procviz: WebSocket connections are accepted only from procviz's own page",
        )
            .into_response();
    }
    next.run(req).await
}

fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .map(|o| o.eq_ignore_ascii_case(&format!("http://{host}")))
            .unwrap_or(false),
    }
}

async fn ws_upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(socket, state))
}

/// Numbers connections (from 1), to know which runs a closing connection started. Runs owned
/// by 0 belong to no connection (`keep_on_disconnect`, or the CLI).
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

async fn connection(socket: WebSocket, state: AppState) {
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel::<Outbound>(64);
    let hello = ServerMessage::Hello {
        protocol_version: PROTOCOL_VERSION,
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        cores: crate::host::online_cores(),
        runs: state.runs.summaries(),
    };
    let mut send_task = tokio::spawn(send_loop(sink, rx, hello));
    let mut recv_task = tokio::spawn(recv_loop(stream, tx, state.runs.clone(), id));
    // When the connection ends, its `Viewing`s end with the send task: runs nobody watches
    // any more are cancelled after a short grace (a reload follows them again in time).
    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
        () = state.shutdown.cancelled() => {
            send_task.abort();
            recv_task.abort();
        }
    }
}

async fn send_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    hello: ServerMessage,
) {
    let mut followed = stream::Followed::default();
    if send(&mut sink, &hello).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                None => return,
                Some(Outbound::Send(msg)) => {
                    if send(&mut sink, &msg).await.is_err() { return; }
                }
                Some(Outbound::Follow(run)) => followed.follow(Viewing::new(run)),
            },
            _ = tick.tick() => {
                for frame in followed.tick() {
                    if send(&mut sink, &frame).await.is_err() { return; }
                }
            }
        }
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    msg: &ServerMessage,
) -> Result<(), ()> {
    let text = match serde_json::to_string(msg) {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(error = %e, "could not encode a server message");
            return Ok(());
        }
    };
    sink.send(Message::Text(text.into())).await.map_err(|e| {
        tracing::debug!(error = %e, "client went away");
    })
}

/// Reads commands until the client closes.
async fn recv_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    tx: mpsc::Sender<Outbound>,
    runs: Arc<Runs>,
    connection: u64,
) {
    while let Some(frame) = stream.next().await {
        let reply = match frame {
            Ok(Message::Text(text)) => handle_text(text.as_str(), &runs, connection),
            Ok(Message::Binary(_)) => vec![Outbound::Send(ServerMessage::Error(binary_refused()))],
            Ok(Message::Close(_)) => break,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket receive failed");
                break;
            }
        };
        for out in reply {
            if tx.send(out).await.is_err() {
                return;
            }
        }
    }
}
