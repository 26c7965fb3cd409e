//! HTTP and WebSocket server (axum).
//!
//! ## Routes
//! - `/ws`: the protocol of [`shared`]: a hello, then commands in and event batches out.
//! - `/healthz`: `ok` (no token needed).
//! - `/session`: the role the request's token grants; 403 without a valid one.
//! - everything else: the embedded page ([`crate::assets`]), compressed at build time.
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
//!
//! ## How a connection ends ([`close`])
//! - **The server stops** (SIGTERM, Ctrl-C): its runs end with `run_finished` cancelled
//!   {server_shutdown}; each connection sends what is left of the runs it follows, then a close
//!   frame 1001, within [`SHUTDOWN_FLUSH`]. The server tracks its connections (axum's graceful
//!   shutdown does not wait for upgraded ones) and waits for them, at most [`SHUTDOWN_WAIT`].
//! - **A frame the WebSocket layer refuses**: over 4 MiB → 1009, text that is not UTF-8 → 1007,
//!   a broken frame → 1002. (Between 64 KiB and 4 MiB a message gets a `too_large` error and the
//!   connection stays open.)
//! - **An internal error** (a frame of events that cannot be encoded) → 1011.
//! - **A client that stops reading** ([`backlog`]): more than [`ReaderLimits`] behind for its
//!   grace → 1008 with a reason the page can show. Every send is watched, so a send the client
//!   never takes cannot hide the rule.

pub mod auth;
pub mod backlog;
pub mod close;
pub mod commands;
pub mod hosts;
pub mod stream;

pub use backlog::ReaderLimits;
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
use backlog::Backlog;
use commands::{Outbound, binary_refused, handle_text};
use futures_util::{SinkExt, StreamExt};
use shared::{CommandError, ErrorKind, PROTOCOL_VERSION, PythonSupport, Role, ServerMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often new events are sent to each client.
pub const TICK: Duration = Duration::from_millis(50);
/// Frames larger than this are refused by the WebSocket layer itself (connection closed with
/// 1009); between [`shared::MAX_CLIENT_MESSAGE_BYTES`] and this, the client gets an error event.
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// WebSocket connections open at once (a lecture hall with a few hundred screens; each costs
/// about 130 KiB); the next one is told so and closed.
pub const MAX_CONNECTIONS: usize = 256;
/// Once the server begins to stop, how long a connection has to send what is left of the runs
/// it follows (they end within a second: SIGTERM, grace, SIGKILL) before it closes anyway.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);
/// How long a close frame may take to go out once the connection is done.
const CLOSE_SEND_WAIT: Duration = Duration::from_secs(1);
/// How long the other side of a connection is given once one side has ended (to read the
/// client's answer to a close frame, or to send the close frame asked for).
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);
/// How long a connection that refused a frame stays open after its close frame went out, so
/// the client reads it before the socket closes (see [`Stop::Close`]).
const REFUSAL_HOLD: Duration = Duration::from_secs(1);
/// The longest a stopping server waits for its connections to close.
pub const SHUTDOWN_WAIT: Duration =
    Duration::from_secs(SHUTDOWN_FLUSH.as_secs() + CLOSE_SEND_WAIT.as_secs() + 2);
/// How long a client closed by the slow-reader rule is given to read up to the close frame
/// (it is not reading: the frames before it are still in the socket's buffers).
const SLOW_CLOSE_LINGER: Duration = Duration::from_secs(30);

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    runs: Arc<Runs>,
    allowed_hosts: Arc<Vec<String>>,
    tokens: Arc<Tokens>,
    shutdown: CancellationToken,
    audience: Arc<Audience>,
    /// Every open WebSocket's task.
    connections: TaskTracker,
    /// The slow-reader rule.
    readers: ReaderLimits,
    /// Frames of events every connection shares.
    frames: Arc<stream::FrameCache>,
    /// Whether real Python programs can run (said in every hello); `None`: not probed.
    python: Arc<Option<PythonSupport>>,
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
    /// ends open connections: each sends what is left of its runs, then closes with 1001.
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
            connections: TaskTracker::new(),
            readers: ReaderLimits::default(),
            frames: Arc::default(),
            python: Arc::new(None),
        }
    }

    /// The same state saying in its hello whether real Python programs can run.
    pub fn with_python(mut self, python: PythonSupport) -> Self {
        self.python = Arc::new(Some(python));
        self
    }

    /// The same state with another slow-reader rule (tests, `--max-backlog-mib`).
    pub fn with_reader_limits(mut self, readers: ReaderLimits) -> Self {
        self.readers = readers;
        self
    }

    /// Waits until every WebSocket connection has closed, at most `within`; false if some
    /// were still open (they end with the runtime). Call it once the server is stopping.
    pub async fn connections_closed(&self, within: Duration) -> bool {
        self.connections.close();
        tokio::time::timeout(within, self.connections.wait())
            .await
            .is_ok()
    }
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/session", get(session))
        .fallback(crate::assets::serve)
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
    if let Some(from_url) = state.tokens.judge_url(req.uri()) {
        let target = auth::without_token(req.uri());
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
    // axum's graceful shutdown does not wait for upgraded connections: the server does.
    let connections = state.connections.clone();
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connections.track_future(connection(socket, state, role)))
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
        python: (*state.python).clone(),
    };
    // A view-only connection follows every run: those going now and each one that starts.
    let starts = (role == Role::Viewer).then(|| (state.runs.starts(), state.runs.live()));
    let audience = state.audience.viewers.subscribe();
    let sender = Sender {
        sink,
        cache: state.frames.clone(),
        followed: stream::Followed::default(),
        backlog: Backlog::new(state.readers),
        drain: Drain {
            shutdown: state.shutdown.clone(),
            deadline: None,
        },
    };
    let mut send_task = tokio::spawn(sender.run(rx, hello, starts, audience));
    let mut recv_task = tokio::spawn(recv_loop(stream, tx, state.runs.clone(), id, role));
    // The side that ends first gives the other a moment: the receive side to read the client's
    // answer to a close frame, the send side to send the close frame the receive side asked for.
    // When the connection ends, its `Viewing`s end with the send task: runs nobody watches any
    // more are cancelled after a short grace (a reload follows them again in time).
    tokio::select! {
        _ = &mut send_task => end_within(CLOSE_REPLY_WAIT, recv_task).await,
        _ = &mut recv_task => end_within(CLOSE_SEND_WAIT + REFUSAL_HOLD, send_task).await,
    }
}

/// Waits at most `limit` for `task`, then aborts it.
async fn end_within(limit: Duration, mut task: tokio::task::JoinHandle<()>) {
    if tokio::time::timeout(limit, &mut task).await.is_err() {
        task.abort();
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
    match serde_json::to_string(&error) {
        Ok(text) => {
            if let Err(e) = socket.send(Message::Text(text.into())).await {
                tracing::debug!(error = %e, "telling a connection over the limit why");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not encode a server message"),
    }
    if let Err(e) = socket.send(Message::Close(Some(close::full()))).await {
        tracing::debug!(error = %e, "closing a connection over the limit");
    }
    tracing::warn!("{message}");
}

/// What a view-only connection follows: the runs that start from now on, and those going
/// when it connected.
type EveryRun = (broadcast::Receiver<Arc<RunHandle>>, Vec<Arc<RunHandle>>);

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// When a connection must be done by once the server is stopping.
struct Drain {
    shutdown: CancellationToken,
    /// [`SHUTDOWN_FLUSH`] after this connection saw the server begin to stop.
    deadline: Option<Instant>,
}

impl Drain {
    /// Whether the server is stopping.
    fn started(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Resolves when the time to flush after the server began to stop is over.
    async fn over(&mut self) {
        self.shutdown.cancelled().await;
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + SHUTDOWN_FLUSH);
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// Why a connection's sending side stopped.
enum Stop {
    /// The client went away: nothing more can be said.
    Gone,
    /// Close the connection with this frame, giving the client at most `linger` to take it.
    Close {
        frame: CloseFrame,
        linger: Duration,
        /// Keep the socket open this long once the frame went out: the receive side stopped
        /// reading (a refused frame), and closing a socket with unread input resets it, which
        /// can destroy what the client has not read yet, the close frame among it.
        hold: Duration,
    },
}

impl Stop {
    fn close(frame: CloseFrame, linger: Duration) -> Stop {
        Stop::Close {
            frame,
            linger,
            hold: Duration::ZERO,
        }
    }

    /// The close that answers a frame the receive side refused.
    fn refusal(frame: CloseFrame) -> Stop {
        Stop::Close {
            frame,
            linger: CLOSE_SEND_WAIT,
            hold: REFUSAL_HOLD,
        }
    }
}

/// A connection's sending side: the socket's sink, the runs it follows and how far behind it
/// is.
struct Sender {
    sink: Sink,
    /// The frames every connection shares.
    cache: Arc<stream::FrameCache>,
    followed: stream::Followed,
    backlog: Backlog,
    drain: Drain,
}

impl Sender {
    /// Sends until the connection ends, then closes it with the frame that says why.
    async fn run(
        mut self,
        rx: mpsc::Receiver<Outbound>,
        hello: ServerMessage,
        starts: Option<EveryRun>,
        audience: watch::Receiver<u32>,
    ) {
        let stop = match self.serve(rx, hello, starts, audience).await {
            Ok(()) => Stop::Gone,
            Err(stop) => stop,
        };
        let Stop::Close {
            frame,
            linger,
            hold,
        } = stop
        else {
            return;
        };
        // Nothing more will be sent: let go of the runs (a run nobody watches any more is
        // cancelled after its grace) before waiting for the client to take the close frame.
        self.followed = stream::Followed::default();
        let code = frame.code;
        let close = tokio::time::timeout(linger, self.sink.send(Message::Close(Some(frame))));
        let after_flush = async {
            self.drain.over().await;
            tokio::time::sleep(CLOSE_SEND_WAIT).await;
        };
        tokio::select! {
            sent = close => match sent {
                Ok(Ok(())) => {
                    tracing::debug!(code, "connection closed");
                    tokio::time::sleep(hold).await;
                }
                Ok(Err(e)) => tracing::debug!(code, error = %e, "closing a connection"),
                Err(_) => tracing::debug!(code, "the client did not take the close frame"),
            },
            () = after_flush => tracing::debug!(code, "the server stopped before the close frame went out"),
        }
    }

    /// The connection's life: a hello, the audience count, then commands' answers, the runs
    /// a view-only connection follows, and every tick the new events of the runs followed.
    async fn serve(
        &mut self,
        mut rx: mpsc::Receiver<Outbound>,
        hello: ServerMessage,
        mut starts: Option<EveryRun>,
        mut audience: watch::Receiver<u32>,
    ) -> Result<(), Stop> {
        self.send_message(&hello).await?;
        if let Some((_, live)) = starts.as_mut() {
            for run in live.drain(..) {
                self.followed.follow(Viewing::new(run));
            }
        }
        let viewers = *audience.borrow_and_update();
        self.send_message(&ServerMessage::Audience { viewers })
            .await?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // When the last tick's frames were all handed to the socket.
        let mut flushed = Instant::now();
        loop {
            let next_start = async {
                match starts.as_mut() {
                    Some((rx, _)) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                out = rx.recv() => match out {
                    None => return Ok(()),
                    Some(Outbound::Send(msg)) => {
                        self.send_message(&msg).await?;
                    }
                    Some(Outbound::Follow(run)) => self.followed.follow(Viewing::new(run)),
                    Some(Outbound::Close(frame)) => return Err(Stop::refusal(frame)),
                },
                started = next_start => match started {
                    Ok(run) => self.followed.follow(Viewing::new(run)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a view-only connection missed run starts");
                    }
                    Err(broadcast::error::RecvError::Closed) => starts = None,
                },
                changed = audience.changed() => {
                    if changed.is_err() { return Ok(()); }
                    let viewers = *audience.borrow_and_update();
                    self.send_message(&ServerMessage::Audience { viewers }).await?;
                }
                due = tick.tick() => {
                    // Were the last tick's frames all taken before this one was due?
                    let keeping_up = flushed <= due.into_std();
                    let behind = self.followed.backlog_bytes();
                    if self.backlog.judge(Instant::now(), behind, keeping_up) {
                        return Err(self.too_slow(behind));
                    }
                    let frames = self.followed.tick(&self.cache).map_err(|e| {
                        tracing::error!(error = %e, "could not encode a frame of events");
                        Stop::close(close::internal(), CLOSE_SEND_WAIT)
                    })?;
                    for frame in frames {
                        self.send_events(frame).await?;
                    }
                    flushed = Instant::now();
                    if self.drain.started() && self.followed.is_empty() {
                        // Every run followed has ended and all of it was sent.
                        return Err(Stop::close(close::going_away(), CLOSE_SEND_WAIT));
                    }
                }
                () = self.drain.over() => {
                    tracing::warn!(
                        unsent = self.followed.unsent_events(),
                        "a connection could not be sent everything before the server stopped"
                    );
                    return Err(Stop::close(close::going_away(), CLOSE_SEND_WAIT));
                }
            }
        }
    }

    fn too_slow(&self, behind: u64) -> Stop {
        tracing::warn!(
            behind_bytes = behind,
            "closing a connection that stopped reading (slow-reader rule)"
        );
        Stop::close(close::too_slow(self.backlog.limits()), SLOW_CLOSE_LINGER)
    }

    async fn send_message(&mut self, msg: &ServerMessage) -> Result<(), Stop> {
        match serde_json::to_string(msg) {
            Ok(text) => self.send(Message::Text(text.into())).await,
            Err(e) => {
                tracing::error!(error = %e, "could not encode a server message");
                Ok(())
            }
        }
    }

    /// Sends a frame of events and counts it.
    async fn send_events(&mut self, frame: stream::Frame) -> Result<(), Stop> {
        let bytes = frame.text.len();
        self.send(Message::Text(frame.text)).await?;
        self.followed.sent(frame.events, bytes);
        Ok(())
    }

    /// Sends `msg`. While the client does not take it, the backlog is judged every tick (a
    /// stuck send cannot hide the slow-reader rule), and the server's stopping ends the wait.
    async fn send(&mut self, msg: Message) -> Result<(), Stop> {
        let send = self.sink.send(msg);
        tokio::pin!(send);
        let mut watchdog = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        loop {
            tokio::select! {
                sent = &mut send => {
                    return sent.map_err(|e| {
                        tracing::debug!(error = %e, "client went away");
                        Stop::Gone
                    });
                }
                _ = watchdog.tick() => {
                    let behind = self.followed.backlog_bytes();
                    if self.backlog.judge(Instant::now(), behind, false) {
                        return Err(self.too_slow(behind));
                    }
                }
                () = self.drain.over() => {
                    return Err(Stop::close(close::going_away(), CLOSE_SEND_WAIT));
                }
            }
        }
    }
}

/// Reads commands until the client closes, or until a frame the WebSocket layer refuses (then
/// asks the send side to close with the code that says why).
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
            // The stream ends once the answer to the client's close frame is sent.
            Ok(Message::Close(_) | Message::Ping(_) | Message::Pong(_)) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket receive failed");
                if let Some(close) = close::for_receive_error(e) {
                    tracing::info!(code = close.code, reason = %close.reason, "refused a frame");
                    if tx.send(Outbound::Close(close)).await.is_err() {
                        tracing::debug!("the send side ended first");
                    }
                }
                return;
            }
        };
        for out in reply {
            if tx.send(out).await.is_err() {
                return;
            }
        }
    }
}
