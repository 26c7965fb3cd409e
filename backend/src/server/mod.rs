//! HTTP and WebSocket server (axum).
//!
//! ## Routes
//! - `/ws`: the protocol of [`shared`]: a hello, then commands in and event batches out.
//! - `/healthz`: `ok` (no token needed).
//! - `/session`: the role the request's token grants; 403 without a valid one.
//! - everything else: the embedded page ([`crate::assets`]), compressed.
//!
//! ## Safety of a local server that starts processes
//! - **A token** ([`auth`]): `/ws` and the page need the presenter's token (or, in
//!   lecture-hall mode, the view-only one); without one, 403 and one sentence saying what to
//!   open. A view-only connection follows every run and is refused (`forbidden`) when it asks
//!   to start, cancel or kill.
//! - **The `Host` header** must name this server ([`hosts`]; defeats DNS rebinding), also
//!   when it listens beyond loopback.
//! - **The `Origin`** of a WebSocket upgrade, when there is one, must be this same origin
//!   (another web page the user visits cannot start processes). Clients that send no
//!   `Origin` (not a browser: tests, scripts) are accepted, with a token.
//! - At most [`MAX_CONNECTIONS`] WebSockets at once; the next one is told why and closed.
//!
//! ## A connection
//! Split into a receive task (decodes and carries out commands: [`commands`]) and a send task
//! (a hello, errors, and on every tick the new events of every run the client follows, in
//! frames of at most 1,024 events, at most 8 frames per tick: [`stream`]), joined by
//! `select!`. When the client goes away, a run nobody watches any more is cancelled after a
//! second's grace (a reloaded page follows it again in time), unless it was started with
//! `keep_on_disconnect`.

pub mod auth;
pub mod commands;
pub mod hosts;
pub mod stream;

pub use stream::{MAX_EVENTS_PER_FRAME, MAX_FRAMES_PER_TICK};

use crate::runs::{RunHandle, Runs, Viewing};
use auth::{Credentials, Tokens};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use commands::{Outbound, binary_refused, handle_text};
use futures_util::{SinkExt, StreamExt};
use shared::{CommandError, ErrorKind, PROTOCOL_VERSION, Role, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;

/// How often new events are sent to each client.
pub const TICK: Duration = Duration::from_millis(50);
/// Frames larger than this are refused by the WebSocket layer itself (connection closed with
/// 1009); between [`shared::MAX_CLIENT_MESSAGE_BYTES`] and this, the client gets an error event.
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// WebSocket connections open at once (a lecture hall with a few hundred screens; each costs
/// about 130 KiB); the next one is told so and closed.
pub const MAX_CONNECTIONS: usize = 256;
/// The close code for "try again later" (RFC 6455's registry).
const CLOSE_TRY_LATER: u16 = 1013;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    runs: Arc<Runs>,
    allowed_hosts: Arc<Vec<String>>,
    tokens: Arc<Tokens>,
    shutdown: CancellationToken,
    audience: Arc<Audience>,
}

/// Who is connected: every WebSocket, and how many of them view only.
#[derive(Debug)]
struct Audience {
    connections: AtomicUsize,
    viewers: watch::Sender<u32>,
    limit: usize,
}

/// One open WebSocket, counted while it lives.
struct Seat {
    audience: Arc<Audience>,
    viewer: bool,
}

impl Audience {
    /// A seat, unless every one is taken.
    fn take(self: &Arc<Self>, role: Role) -> Option<Seat> {
        let taken = self
            .connections
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            });
        taken.ok()?;
        let viewer = role == Role::Viewer;
        if viewer {
            self.viewers.send_modify(|v| *v += 1);
        }
        Some(Seat {
            audience: self.clone(),
            viewer,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.audience.connections.fetch_sub(1, Ordering::SeqCst);
        if self.viewer {
            self.audience
                .viewers
                .send_modify(|v| *v = v.saturating_sub(1));
        }
    }
}

impl AppState {
    /// State for a server listening on `bound` (one port), guarded by `tokens`. `shutdown`
    /// ends open connections.
    pub fn new(
        runs: Arc<Runs>,
        bound: &[SocketAddr],
        tokens: Tokens,
        shutdown: CancellationToken,
    ) -> Self {
        AppState {
            runs,
            allowed_hosts: Arc::new(hosts::allowed_hosts(bound)),
            tokens: Arc::new(tokens),
            shutdown,
            audience: Arc::new(Audience {
                connections: AtomicUsize::new(0),
                viewers: watch::channel(0).0,
                limit: MAX_CONNECTIONS,
            }),
        }
    }

    /// The same state with at most `limit` WebSocket connections (tests, small machines).
    pub fn with_max_connections(mut self, limit: usize) -> Self {
        self.audience = Arc::new(Audience {
            connections: AtomicUsize::new(0),
            viewers: watch::channel(0).0,
            limit,
        });
        self
    }
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/session", get(session))
        .fallback(crate::assets::serve)
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// The one sentence a page request without a valid token gets.
const NEEDS_TOKEN: &str = "<!doctype html><meta charset=utf-8><title>procviz</title>\
<p>This procviz server needs its token: open the URL that procviz printed in its terminal \
(<code>http://…/?token=…</code>).</p>";

async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !state
        .allowed_hosts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(host))
    {
        return (
            StatusCode::FORBIDDEN,
            format!(
                "procviz: host {host:?} is not this server; open http://{}/",
                state
                    .allowed_hosts
                    .first()
                    .map_or("127.0.0.1", String::as_str)
            ),
        )
            .into_response();
    }
    let path = req.uri().path();
    if path == "/healthz" {
        return next.run(req).await;
    }
    if path == "/ws" {
        let Credentials::Valid(role) = state.tokens.judge(req.headers(), req.uri()) else {
            return (
                StatusCode::FORBIDDEN,
                "procviz: a token is needed: open the URL procviz printed, or send \
                 `Authorization: token …` or `/ws?token=…`",
            )
                .into_response();
        };
        if !same_origin(req.headers(), host) {
            return (
                StatusCode::FORBIDDEN,
                "procviz: WebSocket connections are accepted only from procviz's own page",
            )
                .into_response();
        }
        req.extensions_mut().insert(role);
        return next.run(req).await;
    }
    // The page: the printed URL's token is traded for a cookie and leaves the address bar.
    if auth::has_token_in_url(req.uri()) {
        let target = auth::without_token(req.uri());
        let from_url = state.tokens.judge(&HeaderMap::new(), req.uri());
        return match from_url {
            Credentials::Valid(role) => {
                let mut response = Redirect::to(&target).into_response();
                if let Some(cookie) = state.tokens.set_cookie(role) {
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                response
            }
            _ => (StatusCode::FORBIDDEN, Html(NEEDS_TOKEN)).into_response(),
        };
    }
    match state.tokens.judge(req.headers(), req.uri()) {
        Credentials::Valid(role) => {
            req.extensions_mut().insert(role);
            next.run(req).await
        }
        Credentials::Wrong | Credentials::Missing => {
            (StatusCode::FORBIDDEN, Html(NEEDS_TOKEN)).into_response()
        }
    }
}

/// `/session`: the role the request's token grants (`presenter` or `viewer`); 403 without
/// one. The page asks when its socket is refused, to tell "the server restarted with a new
/// token" from "the server is down".
async fn session(Extension(role): Extension<Role>) -> &'static str {
    match role {
        Role::Presenter => "presenter",
        Role::Viewer => "viewer",
    }
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

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Extension(role): Extension<Role>,
) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(socket, state, role))
}

/// Numbers connections (from 1), to know which runs a closing connection started. Runs owned
/// by 0 belong to no connection (`keep_on_disconnect`, or the CLI).
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

async fn connection(mut socket: WebSocket, state: AppState, role: Role) {
    let Some(_seat) = state.audience.take(role) else {
        refuse_full(&mut socket, state.audience.limit).await;
        return;
    };
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel::<Outbound>(64);
    let hello = ServerMessage::Hello {
        protocol_version: PROTOCOL_VERSION,
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        cores: crate::host::online_cores(),
        runs: state.runs.summaries(),
        role,
    };
    // A view-only connection follows every run: those going now and each one that starts.
    let starts = (role == Role::Viewer).then(|| (state.runs.starts(), state.runs.live()));
    let audience = state.audience.viewers.subscribe();
    let mut send_task = tokio::spawn(send_loop(sink, rx, hello, starts, audience));
    let mut recv_task = tokio::spawn(recv_loop(stream, tx, state.runs.clone(), id, role));
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

/// Tells a client over the connection limit why it is closed.
async fn refuse_full(socket: &mut WebSocket, limit: usize) {
    let message = format!(
        "procviz already has {limit} connections open, its limit; close a tab or try again later"
    );
    let error = ServerMessage::Error(CommandError {
        kind: ErrorKind::LimitReached,
        message: message.clone(),
    });
    if let Ok(text) = serde_json::to_string(&error) {
        let _ = socket.send(Message::Text(text.into())).await;
    }
    let close = CloseFrame {
        code: CLOSE_TRY_LATER,
        reason: "procviz: too many connections; try again later".into(),
    };
    if let Err(e) = socket.send(Message::Close(Some(close))).await {
        tracing::debug!(error = %e, "closing a connection over the limit");
    }
    tracing::warn!("{message}");
}

/// What a view-only connection follows: the runs that start from now on, and those going
/// when it connected.
type EveryRun = (broadcast::Receiver<Arc<RunHandle>>, Vec<Arc<RunHandle>>);

async fn send_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    hello: ServerMessage,
    mut starts: Option<EveryRun>,
    mut audience: watch::Receiver<u32>,
) {
    let mut followed = stream::Followed::default();
    if send(&mut sink, &hello).await.is_err() {
        return;
    }
    if let Some((_, live)) = starts.as_mut() {
        for run in live.drain(..) {
            followed.follow(Viewing::new(run));
        }
    }
    let viewers = *audience.borrow_and_update();
    if send(&mut sink, &ServerMessage::Audience { viewers })
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next_start = async {
            match starts.as_mut() {
                Some((rx, _)) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            out = rx.recv() => match out {
                None => return,
                Some(Outbound::Send(msg)) => {
                    if send(&mut sink, &msg).await.is_err() { return; }
                }
                Some(Outbound::Follow(run)) => followed.follow(Viewing::new(run)),
            },
            started = next_start => match started {
                Ok(run) => followed.follow(Viewing::new(run)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a view-only connection missed run starts");
                }
                Err(broadcast::error::RecvError::Closed) => starts = None,
            },
            changed = audience.changed() => {
                if changed.is_err() { return; }
                let viewers = *audience.borrow_and_update();
                if send(&mut sink, &ServerMessage::Audience { viewers }).await.is_err() {
                    return;
                }
            }
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
    role: Role,
) {
    while let Some(frame) = stream.next().await {
        let reply = match frame {
            Ok(Message::Text(text)) => handle_text(text.as_str(), &runs, connection, role),
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
