//! Thousands of random and mutated frames against a real server: random text, random binary,
//! JSON that is no command, mutated commands (the lessons' own among them), deep nesting,
//! messages between 64 KiB and 4 MiB, and closers: frames over 4 MiB and text that is not
//! UTF-8. Every frame is answered with the error its kind calls for (predicted by the server's
//! own decoder, `backend::server::commands::decode`), or the connection is closed with the
//! right code (1009, 1007); the server does not crash, a normal run works afterwards and no
//! child process is left.
//!
//! The frames come from a fixed seed (printed; `PROCVIZ_FUZZ_SEED=N` replays another).

use super::close_codes::raw_text;
use super::*;
use backend::server::commands::decode;
use shared::lessons::Lesson;
use shared::{
    ClientMessage, DemoRequest, ErrorKind, PoolApi, PoolParams, ProcId, RunId, TwoProcessesParams,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::*;
use tokio_tungstenite::tungstenite::Message;

/// Connections fuzzing at once.
const FUZZERS: usize = 4;
/// Batches each connection sends, and frames in a batch (sent before reading the answers).
const BATCHES: usize = 40;
const BATCH: usize = 64;
/// Every this many batches, the batch ends with a frame that closes the connection.
const CLOSER_EVERY: usize = 8;
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn char(&mut self) -> char {
        const JSONISH: &[u8] = br#"{}[]":,.-+0123456789eEtruefalsn \\/"abcxyz_"#;
        match self.below(4) {
            0 => char::from_u32(self.next() as u32 % 0x11_0000).unwrap_or('\u{FFFD}'),
            1 => char::from(self.below(128) as u8),
            _ => char::from(JSONISH[self.below(JSONISH.len())]),
        }
    }

    fn text(&mut self, max: usize) -> String {
        let len = self.below(max + 1);
        (0..len).map(|_| self.char()).collect()
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Commands worth mutating: every lesson's runs, and commands naming runs that do not exist.
fn templates() -> Vec<String> {
    let mut commands: Vec<ClientMessage> = Lesson::ALL
        .iter()
        .flat_map(|l| l.runs(2, PoolApi::Imap))
        .map(|r| r.start_message(Some("fuzz".into())))
        .collect();
    commands.extend([
        ClientMessage::start(DemoRequest::Pool(PoolParams::default())),
        ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams::default())),
        ClientMessage::Subscribe { run: RunId(1000) },
        ClientMessage::CancelRun {
            run: RunId(123_456),
        },
        ClientMessage::KillProcess {
            run: RunId(99_999),
            proc: ProcId(3),
        },
    ]);
    commands
        .iter()
        .map(|c| serde_json::to_string(c).expect("encode a command"))
        .collect()
}

/// `text` with 1 to 6 random edits (insert, replace, delete, duplicate, renumber), kept UTF-8.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(6) {
        let at = rng.below(chars.len() + 1);
        let end = (at + 1 + rng.below(8)).min(chars.len());
        match rng.below(5) {
            0 => chars.insert(at, rng.char()),
            1 if at < chars.len() => chars[at] = rng.char(),
            2 if at < end => {
                chars.drain(at..end);
            }
            3 if at < end => {
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            _ => {
                // A number becomes another one.
                if let Some(d) = chars.iter().position(|c| c.is_ascii_digit()) {
                    let n = rng.next().to_string();
                    chars.splice(d..d + 1, n.chars());
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Nested arrays, or nested objects inside a command.
fn nested(rng: &mut Rng) -> String {
    let depth = [1, 50, 127, 128, 129, 500, 5_000, 30_000][rng.below(8)] + rng.below(3);
    if rng.below(2) == 0 {
        format!("{}0{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!(
            r#"{{"type":"start_run","demo":{}1{}}}"#,
            r#"{"a":"#.repeat(depth),
            "}".repeat(depth)
        )
    }
}

/// A frame that is answered with an error, and the kind of that error.
fn answered_frame(rng: &mut Rng, templates: &[String]) -> (Message, ErrorKind, &'static str) {
    loop {
        let (text, what) = match rng.below(100) {
            0..=19 => (rng.text(200), "random text"),
            20..=54 => {
                let template = &templates[rng.below(templates.len())];
                (mutate(rng, template), "mutated command")
            }
            55..=64 => (
                format!("{{{}}}", mutate(rng, r#""type":"subscribe","run":1000"#)),
                "mutated command",
            ),
            65..=72 => (nested(rng), "deep nesting"),
            73..=74 => (
                "x".repeat(64 * 1024 + 1 + rng.below(192 * 1024)),
                "64 KiB to 4 MiB",
            ),
            75..=84 => {
                return (
                    Message::Binary(rng.bytes(100).into()),
                    ErrorKind::Malformed,
                    "binary",
                );
            }
            _ => (
                format!(
                    "{{\"type\":\"{}\",\"run\":{}}}",
                    rng.text(12).replace(['"', '\\'], ""),
                    rng.next()
                ),
                "unknown type",
            ),
        };
        let kind = match decode(&text) {
            Err(e) => e.kind,
            // Valid commands would start real runs: those are for the other tests.
            Ok(ClientMessage::StartRun { .. }) => continue,
            // No run exists while the fuzz goes on.
            Ok(_) => ErrorKind::NotFound,
        };
        return (Message::Text(text.into()), kind, what);
    }
}

/// A frame that closes the connection, and the close code it calls for.
fn closing_frame(rng: &mut Rng) -> (Message, u16, &'static str) {
    if rng.below(3) == 0 {
        let size = MAX_FRAME_BYTES + 1 + rng.below(1000);
        let frame = if rng.below(2) == 0 {
            Message::Text("z".repeat(size).into())
        } else {
            Message::Binary(vec![0u8; size].into())
        };
        (frame, TOO_BIG, "over 4 MiB")
    } else {
        let mut bytes = rng.text(50).into_bytes();
        let at = rng.below(bytes.len() + 1);
        let bad: &[u8] = [
            &[0xFFu8][..],
            &[0xC3, 0x28],
            &[0xED, 0xA0, 0x80],
            &[0xF8, 0x88],
        ][rng.below(4)];
        bytes.splice(at..at, bad.iter().copied());
        (raw_text(bytes), INVALID_DATA, "not UTF-8")
    }
}

/// What one connection sent and saw.
#[derive(Debug, Default)]
struct Tally {
    frames: usize,
    by_what: BTreeMap<&'static str, usize>,
    by_kind: BTreeMap<String, usize>,
    closes: BTreeMap<u16, usize>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.frames += other.frames;
        for (k, n) in other.by_what {
            *self.by_what.entry(k).or_default() += n;
        }
        for (k, n) in other.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        for (k, n) in other.closes {
            *self.closes.entry(k).or_default() += n;
        }
    }
}

/// The next message that is not an audience count, or why there is none.
async fn next_reply(ws: &mut Ws) -> Result<ServerMessage, String> {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .map_err(|_| "no answer within 20 s".to_string())?;
        match frame {
            Some(Ok(Message::Text(t))) => match serde_json::from_str(t.as_str()) {
                Ok(ServerMessage::Audience { .. }) => {}
                Ok(m) => return Ok(m),
                Err(e) => return Err(format!("undecodable {t:?}: {e}")),
            },
            Some(Ok(Message::Close(f))) => return Err(format!("closed: {f:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read failed: {e}")),
            None => return Err("end of stream".into()),
        }
    }
}

/// A new connection, past its hello.
async fn open(url: &str) -> Result<Ws, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    match next_reply(&mut ws).await? {
        ServerMessage::Hello { .. } => Ok(ws),
        other => Err(format!("a hello expected, got {other:?}")),
    }
}

async fn fuzz(url: String, seed: u64) -> Result<Tally, String> {
    let mut rng = Rng(seed);
    let templates = templates();
    let mut tally = Tally::default();
    let mut ws = open(&url).await?;
    for batch in 0..BATCHES {
        let mut expected = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            let (frame, kind, what) = answered_frame(&mut rng, &templates);
            try_send(&mut ws, frame).await?;
            expected.push((kind, what));
            *tally.by_what.entry(what).or_default() += 1;
        }
        let closer = (batch % CLOSER_EVERY == CLOSER_EVERY - 1).then(|| closing_frame(&mut rng));
        // The server may close while a big frame is still being sent: a failed send is told
        // with the ending, if that is wrong.
        let mut sent = Ok(());
        if let Some((frame, _, what)) = &closer {
            sent = try_send(&mut ws, frame.clone()).await;
            *tally.by_what.entry(what).or_default() += 1;
        }
        for (i, (kind, what)) in expected.iter().enumerate() {
            match next_reply(&mut ws).await {
                Ok(ServerMessage::Error(e)) if e.kind == *kind => {
                    *tally.by_kind.entry(format!("{kind:?}")).or_default() += 1;
                }
                other => {
                    return Err(format!(
                        "batch {batch}, frame {i} ({what}): a {kind:?} error expected, got {other:?}"
                    ));
                }
            }
        }
        tally.frames += expected.len();
        if let Some((_, code, what)) = closer {
            tally.frames += 1;
            let (rest, ending) = read_to_end(&mut ws, 30).await;
            if !events_of(rest).is_empty() || ending.code() != Some(code) {
                return Err(format!(
                    "batch {batch} ({what}): close {code} expected, got {ending:?} (send: {sent:?})"
                ));
            }
            *tally.closes.entry(code).or_default() += 1;
            ws = open(&url)
                .await
                .map_err(|e| format!("batch {batch}: reconnecting after {what}: {e}"))?;
        }
    }
    Ok(tally)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_and_mutated_frames_are_each_answered_or_closed_with_the_right_code() {
    let seed: u64 = std::env::var("PROCVIZ_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F022);
    let mut server = Server::start();
    let started = Instant::now();
    let fuzzers: Vec<_> = (0..FUZZERS as u64)
        .map(|i| tokio::spawn(fuzz(server.ws_url(), seed.wrapping_add(i))))
        .collect();
    let mut all = Tally::default();
    for (i, f) in fuzzers.into_iter().enumerate() {
        match f.await {
            Ok(Ok(t)) => all.add(t),
            Ok(Err(e)) => panic!("fuzzer {i} (seed {}): {e}", seed.wrapping_add(i as u64)),
            Err(e) => panic!("fuzzer {i} panicked: {e}"),
        }
    }
    let took = started.elapsed();
    assert!(all.frames >= 10_000, "{} frames", all.frames);
    assert_eq!(
        server.child.try_wait().expect("the server's state"),
        None,
        "the server crashed"
    );
    assert!(all.closes.contains_key(&TOO_BIG) && all.closes.contains_key(&INVALID_DATA));

    // A normal run works afterwards, and leaves nothing behind.
    let (mut ws, _) = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::start(DemoRequest::TwoProcesses(TwoProcessesParams::default())),
    )
    .await;
    let (events, _) = events_until_finished(&mut ws).await;
    assert_gap_free(&events);
    assert_eq!(outcome(&events), Some(&RunOutcome::Completed));
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Output { text, .. } if text == "Done!"))
    );
    let left = wait_gone(&spawned_pids(&events), Duration::from_secs(5));
    assert!(left.is_empty(), "children left: {left:?}");
    let tree = children_of(server.pid());
    assert_eq!(
        tree.len(),
        1,
        "the server's only child is its fork server: {tree:?}"
    );
    assert!(
        children_of(tree[0].0).is_empty(),
        "the fork server has children left: {:?}",
        children_of(tree[0].0)
    );
    let status = server.signal_and_wait(libc::SIGTERM, Duration::from_secs(15));
    assert!(status.success(), "{status}");
    println!(
        "fuzz (seed {seed:#x}): {} frames over {FUZZERS} connections in {:.1} s, 0 crashes, \
         every frame answered or closed with its code; sent {:?}; answers {:?}; closes {:?}; \
         a normal run afterwards completed, children left: 0",
        all.frames,
        took.as_secs_f64(),
        all.by_what,
        all.by_kind,
        all.closes,
    );
}
