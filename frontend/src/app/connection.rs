//! The WebSocket connection to the server as a small handle ([`Connection`], shared with
//! `provide_context`): a visible state (connecting, connected, reconnecting with a
//! countdown), a send queue, and the labels of the runs this tab asked for.
//!
//! A command given while the socket is not open (a lesson clicked the moment the page
//! opens, or during a reconnect) waits in the queue ([`Outbox`], bounded) and is sent, in
//! order, as soon as the socket opens. Every start carries a label unique to this tab
//! ([`Requests`]); the server echoes it in the run's `run_started`, so the page knows its
//! own runs from other tabs' runs.

use leptos::prelude::*;
use shared::{ClientMessage, CommandError, ErrorKind, ServerMessage};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What the connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Opening the socket.
    Connecting,
    /// Open.
    Connected,
    /// Closed; the next attempt is in this many seconds.
    Reconnecting(u32),
    /// Refused: the page's token is not (or no longer) valid, for example because procviz
    /// was restarted and made a new one. Retrying cannot help; opening the printed URL does.
    NeedsToken,
}

impl ConnState {
    /// A short label for the status badge.
    pub fn label(self) -> String {
        match self {
            ConnState::Connecting => "connecting…".into(),
            ConnState::Connected => "connected".into(),
            ConnState::Reconnecting(s) => format!("disconnected — reconnecting in {s} s"),
            ConnState::NeedsToken => {
                "not allowed: open the URL procviz printed (it has a new token)".into()
            }
        }
    }
}

/// Commands waiting for the socket to open, oldest first; at most [`Outbox::CAP`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    waiting: VecDeque<String>,
}

impl Outbox {
    /// The most commands kept while not connected (a presenter's few clicks; more is a
    /// page talking to nobody, and the banner says so).
    pub const CAP: usize = 16;

    /// Keeps an encoded command for later; false when the queue is full.
    pub fn push(&mut self, text: String) -> bool {
        if self.waiting.len() >= Self::CAP {
            return false;
        }
        self.waiting.push_back(text);
        true
    }

    /// Everything waiting, in the order it was given.
    pub fn take(&mut self) -> Vec<String> {
        self.waiting.drain(..).collect()
    }

    /// How many commands wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// The labels this tab gives its starts (`"k3x9f-1"`: the tab, then a counter), and those
/// whose run has not started yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Requests {
    tab: String,
    count: u64,
    awaiting: Vec<String>,
}

impl Requests {
    /// Labels for the tab called `tab` (random per page load).
    pub fn new(tab: String) -> Self {
        Requests {
            tab,
            count: 0,
            awaiting: Vec::new(),
        }
    }

    /// A new label, awaited until [`Requests::started`] sees it.
    pub fn fresh(&mut self) -> String {
        self.count += 1;
        let label = format!("{}-{}", self.tab, self.count);
        self.awaiting.push(label.clone());
        label
    }

    /// A run started with `request`: whether this tab asked for it.
    pub fn started(&mut self, request: Option<&str>) -> bool {
        let Some(request) = request else {
            return false;
        };
        let before = self.awaiting.len();
        self.awaiting.retain(|r| r != request);
        self.awaiting.len() < before || self.is_ours(request)
    }

    /// A start that was refused or never sent: no longer awaited.
    pub fn forget(&mut self, request: &str) {
        self.awaiting.retain(|r| r != request);
    }

    /// Whether a run this tab asked for has yet to start.
    pub fn awaiting(&self) -> bool {
        !self.awaiting.is_empty()
    }

    /// Whether `request` is one of this tab's labels.
    pub fn is_ours(&self, request: &str) -> bool {
        request
            .strip_prefix(self.tab.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| (1..=self.count).contains(&n))
    }
}

/// How a command went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Handed to the open socket.
    Now,
    /// Queued until the socket opens.
    Queued,
}

/// The connection: its state, socket, send queue and request labels. `Copy`; given to the
/// page with `provide_context`.
#[derive(Clone, Copy)]
pub struct Connection {
    /// What the connection is doing (the badge shows it).
    pub state: RwSignal<ConnState>,
    /// Why the server closed the last socket, when it said (shutdown, too many connections,
    /// a reader too far behind).
    pub closed_why: RwSignal<Option<String>>,
    socket: StoredValue<Option<WebSocket>, LocalStorage>,
    outbox: StoredValue<Outbox>,
    requests: StoredValue<Requests>,
}

/// A label for this tab: random, so two tabs (or a reload) never share one.
fn tab_id() -> String {
    let n = (js_sys::Math::random() * 2f64.powi(40)) as u64;
    format!("tab{n:x}")
}

impl Connection {
    /// A connection not yet opened ([`Connection::connect`] opens it).
    pub fn new() -> Self {
        Connection {
            state: RwSignal::new(ConnState::Connecting),
            closed_why: RwSignal::new(None),
            socket: StoredValue::new_local(None),
            outbox: StoredValue::new(Outbox::default()),
            requests: StoredValue::new(Requests::new(tab_id())),
        }
    }

    /// Sends `msg` now if the socket is open, or queues it until it opens.
    pub fn send(self, msg: &ClientMessage) -> Result<Sent, String> {
        let text = serde_json::to_string(msg).map_err(|e| format!("could not encode: {e}"))?;
        let sent = self.socket.with_value(|s| {
            s.as_ref()
                .filter(|ws| ws.ready_state() == WebSocket::OPEN)
                .map(|ws| ws.send_with_str(&text).is_ok())
        });
        match sent {
            Some(true) => Ok(Sent::Now),
            _ if self.outbox.try_update_value(|o| o.push(text)) == Some(true) => Ok(Sent::Queued),
            _ => Err(format!(
                "not connected to the procviz server ({} commands already wait for it)",
                Outbox::CAP
            )),
        }
    }

    /// Starts a run: checks the demo's parameters, labels the request as this tab's, and
    /// sends (or queues) it. A refusal shows in the error banner; returns the label.
    pub fn start_run(
        self,
        error: RwSignal<Option<CommandError>>,
        msg: impl FnOnce(Option<String>) -> ClientMessage,
    ) -> Option<String> {
        error.set(None);
        let label = self.requests.try_update_value(Requests::fresh)?;
        let msg = msg(Some(label.clone()));
        // The server knows the core count and checks the cores too.
        let checked = match &msg {
            ClientMessage::StartRun { demo, .. } => demo.validate(u32::MAX),
            _ => Ok(()),
        };
        let outcome = checked
            .map_err(|m| (ErrorKind::InvalidParameter, m))
            .and_then(|()| self.send(&msg).map_err(|m| (ErrorKind::Internal, m)));
        match outcome {
            Ok(_) => Some(label),
            Err((kind, message)) => {
                self.requests.update_value(|r| r.forget(&label));
                error.set(Some(CommandError { kind, message }));
                None
            }
        }
    }

    /// A run started with `request`: whether this tab asked for it.
    pub fn started(self, request: Option<&str>) -> bool {
        self.requests
            .try_update_value(|r| r.started(request))
            .unwrap_or(false)
    }

    /// Whether `request` (a run's `run_started` label) is one of this tab's.
    pub fn is_ours(self, request: Option<&str>) -> bool {
        request.is_some_and(|r| self.requests.with_value(|q| q.is_ours(r)))
    }

    /// Whether a run this tab asked for has yet to start (then the page waits for it rather
    /// than follow the server's latest run).
    pub fn awaiting(self) -> bool {
        self.requests.with_value(Requests::awaiting) || self.outbox.with_value(|o| !o.is_empty())
    }

    /// Connects, and reconnects after every close with a growing delay (1, 2, 4, 8 s, then
    /// 8 s). Each message is decoded and handed to `on_message`.
    pub fn connect(self, on_message: Rc<dyn Fn(ServerMessage)>) {
        self.open(on_message, 1);
    }

    fn open(self, on_message: Rc<dyn Fn(ServerMessage)>, backoff: u32) {
        self.state.set(ConnState::Connecting);
        let Ok(ws) = WebSocket::new(&url()) else {
            self.countdown(on_message, backoff, backoff);
            return;
        };
        let was_open = Rc::new(std::cell::Cell::new(false));
        let opened = was_open.clone();
        let onopen = Closure::<dyn FnMut()>::new(move || {
            opened.set(true);
            self.state.set(ConnState::Connected);
            self.flush();
        });
        let handler = on_message.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                match ServerMessage::from_json(&text) {
                    Ok(msg) => handler(msg),
                    Err(err) => leptos::logging::warn!("procviz: undecodable message: {err}"),
                }
            }
        });
        let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            self.socket.set_value(None);
            let reason = e.reason();
            if !reason.is_empty() {
                self.closed_why.set(Some(reason));
            }
            // After a connection that worked, retry quickly; after failures, back off —
            // unless the server refuses the page's token (then only a new URL helps).
            if was_open.get() {
                self.countdown(on_message.clone(), 1, 1);
                return;
            }
            let next = (backoff * 2).min(8);
            let on_message = on_message.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if token_refused().await {
                    self.state.set(ConnState::NeedsToken);
                } else {
                    self.countdown(on_message, next, next);
                }
            });
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        // The socket owns these callbacks for its whole life.
        onopen.forget();
        onmessage.forget();
        onclose.forget();
        self.socket.set_value(Some(ws));
    }

    /// Sends what waited for the socket, in order.
    fn flush(self) {
        let waiting = self
            .outbox
            .try_update_value(Outbox::take)
            .unwrap_or_default();
        self.socket.with_value(|s| {
            if let Some(ws) = s {
                for text in waiting {
                    if ws.send_with_str(&text).is_err() {
                        leptos::logging::warn!("procviz: a queued command could not be sent");
                    }
                }
            }
        });
    }

    /// The badge's text: the state, and why the server closed the last socket if it said.
    pub fn badge(self) -> String {
        let state = self.state.get();
        match (state, self.closed_why.get()) {
            (ConnState::Reconnecting(_), Some(why)) => format!("{} ({why})", state.label()),
            _ => state.label(),
        }
    }

    fn countdown(self, on_message: Rc<dyn Fn(ServerMessage)>, left: u32, backoff: u32) {
        if left == 0 {
            self.open(on_message, backoff);
            return;
        }
        self.state.set(ConnState::Reconnecting(left));
        set_timeout(
            move || self.countdown(on_message, left - 1, backoff),
            Duration::from_secs(1),
        );
    }
}

impl Default for Connection {
    fn default() -> Self {
        Self::new()
    }
}

fn url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_else(|_| "127.0.0.1".into());
    format!("{scheme}://{host}/ws")
}

/// Whether the server refuses this page's token (`/session` answers 403), as opposed to
/// being down or unreachable.
async fn token_refused() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(answer) = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str("/session")).await
    else {
        return false;
    };
    answer
        .dyn_into::<web_sys::Response>()
        .is_ok_and(|r| r.status() == 403)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_keeps_order_and_a_bound() {
        let mut o = Outbox::default();
        for i in 0..Outbox::CAP {
            assert!(o.push(i.to_string()));
        }
        assert!(!o.push("one too many".into()));
        let sent = o.take();
        assert_eq!(sent.len(), Outbox::CAP);
        assert_eq!(sent[0], "0");
        assert!(o.is_empty());
    }

    #[test]
    fn requests_are_unique_and_known_as_this_tabs() {
        let mut r = Requests::new("tabA".into());
        let (a, b) = (r.fresh(), r.fresh());
        assert_ne!(a, b);
        assert!(r.awaiting());
        assert!(!r.started(None), "a run without a label is not ours");
        assert!(!r.started(Some("tabB-1")), "another tab's run is not ours");
        assert!(
            !r.started(Some("tabA-12")),
            "a label never given is not ours"
        );
        assert!(r.started(Some(&a)));
        assert!(r.awaiting());
        r.forget(&b);
        assert!(!r.awaiting());
        // Seen again (a re-subscription): still ours.
        assert!(r.started(Some(&a)));
    }
}
