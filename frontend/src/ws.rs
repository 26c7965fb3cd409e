//! The WebSocket connection to the server, as a visible state: connecting, connected, or
//! reconnecting with a countdown. Messages are decoded here and handed to one callback.

use leptos::prelude::*;
use shared::{ClientMessage, ServerMessage};
use std::cell::RefCell;
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
}

impl ConnState {
    /// A short label for the status badge.
    pub fn label(self) -> String {
        match self {
            ConnState::Connecting => "connecting…".into(),
            ConnState::Connected => "connected".into(),
            ConnState::Reconnecting(s) => format!("disconnected — reconnecting in {s} s"),
        }
    }
}

thread_local! {
    static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
}

/// Sends a command if the socket is open; returns false otherwise.
pub fn send(msg: &ClientMessage) -> bool {
    let Ok(text) = serde_json::to_string(msg) else {
        return false;
    };
    SOCKET.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|ws| ws.ready_state() == WebSocket::OPEN)
            .is_some_and(|ws| ws.send_with_str(&text).is_ok())
    })
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

/// Connects, and reconnects after every close with a growing delay (1, 2, 4, 8 s, then 8 s).
pub fn connect(state: RwSignal<ConnState>, on_message: Rc<dyn Fn(ServerMessage)>) {
    open(state, on_message, 1);
}

fn open(state: RwSignal<ConnState>, on_message: Rc<dyn Fn(ServerMessage)>, backoff: u32) {
    state.set(ConnState::Connecting);
    let ws = match WebSocket::new(&url()) {
        Ok(ws) => ws,
        Err(_) => {
            countdown(state, on_message, backoff, backoff);
            return;
        }
    };
    let onopen = Closure::<dyn FnMut()>::new(move || state.set(ConnState::Connected));
    let handler = on_message.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(msg) => handler(msg),
                Err(err) => leptos::logging::warn!("procviz: undecodable message: {err}"),
            }
        }
    });
    let was_open = Rc::new(std::cell::Cell::new(false));
    let opened = was_open.clone();
    let onopen_flag = Closure::<dyn FnMut()>::new(move || opened.set(true));
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
        SOCKET.with(|s| s.borrow_mut().take());
        // After a connection that worked, retry quickly; after failures, back off.
        let next = if was_open.get() {
            1
        } else {
            (backoff * 2).min(8)
        };
        countdown(state, on_message.clone(), next, next);
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.add_event_listener_with_callback("open", onopen_flag.as_ref().unchecked_ref())
        .ok();
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    // The socket owns these callbacks for its whole life.
    onopen.forget();
    onopen_flag.forget();
    onmessage.forget();
    onclose.forget();
    SOCKET.with(|s| *s.borrow_mut() = Some(ws));
}

fn countdown(
    state: RwSignal<ConnState>,
    on_message: Rc<dyn Fn(ServerMessage)>,
    left: u32,
    backoff: u32,
) {
    if left == 0 {
        open(state, on_message, backoff);
        return;
    }
    state.set(ConnState::Reconnecting(left));
    set_timeout(
        move || countdown(state, on_message, left - 1, backoff),
        Duration::from_secs(1),
    );
}
