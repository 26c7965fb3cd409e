//! A connection's commands: decoding a text frame into a [`ClientMessage`] (too large,
//! malformed, unknown → a [`CommandError`] of that kind, the connection stays open) and
//! carrying it out against the run registry.

use crate::runs::{Missing, RunHandle, RunOptions, Runs, StartError};
use shared::{
    ClientMessage, CommandError, ErrorKind, KillReason, MAX_CLIENT_MESSAGE_BYTES, ProcId, Role,
    Scheduled, ServerMessage,
};
use std::sync::Arc;

/// What the receive task asks the send task to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send this message.
    Send(ServerMessage),
    /// Follow this run: its events from the first on.
    Follow(Arc<RunHandle>),
    /// Close the connection with this frame (the receive side read something it refuses).
    Close(axum::extract::ws::CloseFrame),
}

fn error(kind: ErrorKind, message: String) -> CommandError {
    CommandError { kind, message }
}

/// The answer to a binary frame.
pub fn binary_refused() -> CommandError {
    error(
        ErrorKind::Malformed,
        "binary frames are not accepted: send commands as JSON text".into(),
    )
}

/// The command in a text frame, or why there is none.
pub fn decode(text: &str) -> Result<ClientMessage, CommandError> {
    if text.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(error(
            ErrorKind::TooLarge,
            format!(
                "message of {} bytes is larger than the limit of {} bytes; it was ignored",
                text.len(),
                MAX_CLIENT_MESSAGE_BYTES
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        error(
            ErrorKind::Malformed,
            format!("message is not valid JSON: {e}"),
        )
    })?;
    serde_json::from_value(value).map_err(|e| {
        error(
            ErrorKind::Unknown,
            format!("not a command this server understands: {e}"),
        )
    })
}

/// The options of a `start_run`, checked.
pub fn start_options(
    sample_ms: Option<u32>,
    schedule: Vec<Scheduled>,
    request: Option<String>,
) -> Result<RunOptions, StartError> {
    Ok(RunOptions::with_sample_ms(sample_ms)?
        .with_schedule(schedule)?
        .with_request(request))
}

/// The kind of error a client is told for a refused start.
pub fn start_error_kind(e: &StartError) -> ErrorKind {
    match e {
        StartError::Invalid(_) => ErrorKind::InvalidParameter,
        StartError::TooManyRuns(_) | StartError::OverBudget(_) => ErrorKind::LimitReached,
        StartError::ShuttingDown => ErrorKind::Internal,
    }
}

fn refused(e: CommandError) -> Vec<Outbound> {
    vec![Outbound::Send(ServerMessage::Error(e))]
}

fn not_found(missing: Missing) -> Vec<Outbound> {
    refused(error(ErrorKind::NotFound, missing.to_string()))
}

/// The answer to a command a view-only connection may not give.
pub fn forbidden(command: &ClientMessage) -> CommandError {
    let what = match command {
        ClientMessage::StartRun { .. } => "start runs",
        ClientMessage::CancelRun { .. } => "cancel runs",
        ClientMessage::KillProcess { .. } => "kill processes",
        ClientMessage::Subscribe { .. } => "do this",
    };
    error(
        ErrorKind::Forbidden,
        format!("this page is view-only: it follows the presenter's runs and cannot {what}"),
    )
}

/// Carries out one text command of connection `connection`, whose token grants `role`;
/// returns what to send back.
pub fn handle_text(text: &str, runs: &Runs, connection: u64, role: Role) -> Vec<Outbound> {
    let command = match decode(text) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let commands_runs = !matches!(command, ClientMessage::Subscribe { .. });
    if commands_runs && !role.may_command() {
        return refused(forbidden(&command));
    }
    match command {
        ClientMessage::StartRun {
            demo,
            keep_on_disconnect,
            sample_ms,
            schedule,
            request,
        } => {
            let owner = if keep_on_disconnect { 0 } else { connection };
            match start_options(sample_ms, schedule, request)
                .and_then(|options| runs.start(demo, owner, options))
            {
                Ok(run) => vec![Outbound::Follow(run)],
                Err(e) => refused(error(start_error_kind(&e), e.to_string())),
            }
        }
        ClientMessage::CancelRun { run } => match runs.find(run) {
            Ok(handle) => {
                handle.cancel(KillReason::Cancelled);
                Vec::new()
            }
            Err(missing) => not_found(missing),
        },
        ClientMessage::KillProcess { run, proc } => match runs.find(run) {
            Ok(_) if proc == ProcId::MAIN => refused(error(
                ErrorKind::InvalidParameter,
                "the main process is the procviz server itself; cancel the run instead".into(),
            )),
            Ok(handle) => match handle.kill(proc) {
                Ok(()) => Vec::new(),
                Err(e) => refused(error(ErrorKind::NotFound, e.to_string())),
            },
            Err(missing) => not_found(missing),
        },
        ClientMessage::Subscribe { run } => match runs.find(run) {
            Ok(handle) => vec![Outbound::Follow(handle)],
            Err(missing) => not_found(missing),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{DemoRequest, PoolParams, RunAction};

    fn kind_of(text: &str) -> Result<ClientMessage, (ErrorKind, String)> {
        decode(text).map_err(|e| (e.kind, e.message))
    }

    #[test]
    fn a_command_decodes_and_each_bad_frame_gets_its_kind() {
        let start = serde_json::to_string(&ClientMessage::start(DemoRequest::Pool(
            PoolParams::default(),
        )));
        let start = start.map_err(|e| e.to_string());
        assert_eq!(
            start.map(|s| kind_of(&s)),
            Ok(Ok(ClientMessage::start(DemoRequest::Pool(
                PoolParams::default()
            ))))
        );
        let cases = [
            ("{not json", ErrorKind::Malformed, "not valid JSON"),
            (
                r#"{"type":"format_disk"}"#,
                ErrorKind::Unknown,
                "format_disk",
            ),
            (r#"{"type":"cancel_run"}"#, ErrorKind::Unknown, "run"),
            (r#"[1, 2]"#, ErrorKind::Unknown, "understands"),
        ];
        for (text, kind, needle) in cases {
            match kind_of(text) {
                Err((k, m)) => {
                    assert_eq!(k, kind, "{text}: {m}");
                    assert!(m.contains(needle), "{text}: {m}");
                }
                Ok(c) => panic!("{text} accepted as {c:?}"),
            }
        }
        let padded = |n: usize| format!(r#"{{"type":"cancel_run","run":1}}{}"#, " ".repeat(n));
        let at_limit = padded(MAX_CLIENT_MESSAGE_BYTES - padded(0).len());
        assert_eq!(at_limit.len(), MAX_CLIENT_MESSAGE_BYTES);
        assert!(kind_of(&at_limit).is_ok(), "a message at the limit is read");
        let over = padded(MAX_CLIENT_MESSAGE_BYTES - padded(0).len() + 1);
        match kind_of(&over) {
            Err((ErrorKind::TooLarge, m)) => assert!(m.contains("65537"), "{m}"),
            other => panic!("too large expected, got {other:?}"),
        }
        assert_eq!(binary_refused().kind, ErrorKind::Malformed);
    }

    #[test]
    fn out_of_range_options_are_invalid_parameters_before_anything_starts() {
        let kill = |at_ms| Scheduled {
            at_ms,
            action: RunAction::KillProcess {
                name: "PoolWorker-2".into(),
            },
        };
        let ok = start_options(Some(20), vec![kill(1500)], Some("lesson 6".into()));
        let ok = ok
            .map(|o| (o.schedule, o.request))
            .map_err(|e| e.to_string());
        assert_eq!(ok, Ok((vec![kill(1500)], Some("lesson 6".to_string()))));
        let refusals = [
            start_options(None, vec![kill(Scheduled::MAX_AT_MS + 1)], None),
            start_options(None, vec![kill(1); Scheduled::MAX_ACTIONS + 1], None),
            start_options(Some(0), Vec::new(), None),
        ];
        for r in refusals {
            match r {
                Err(e) => assert_eq!(start_error_kind(&e), ErrorKind::InvalidParameter, "{e}"),
                Ok(o) => panic!("accepted: {o:?}"),
            }
        }
        assert_eq!(
            start_error_kind(&StartError::TooManyRuns(4)),
            ErrorKind::LimitReached
        );
        let over = crate::runs::MemoryBudget::configured(100).admit(
            &DemoRequest::Processes(shared::ProcessesParams {
                memory_mib: 101,
                count: 1,
                ..shared::ProcessesParams::default()
            }),
            0,
        );
        match over {
            Err(e) => assert_eq!(start_error_kind(&e.into()), ErrorKind::LimitReached),
            Ok(()) => panic!("101 MiB admitted in a budget of 100"),
        }
        assert_eq!(
            start_error_kind(&StartError::ShuttingDown),
            ErrorKind::Internal
        );
    }

    /// Property tests of [`decode`]: whatever a client sends, it answers (never panics), and
    /// the kind of refusal follows from the text: over the limit `too_large`, not JSON
    /// `malformed`, JSON but not a command `unknown`.
    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;
        use shared::{ProcessesParams, RunId, TwoProcessesParams, Work};

        fn demo() -> impl Strategy<Value = DemoRequest> {
            prop_oneof![
                (any::<i64>(), any::<u64>()).prop_map(|(num, linger_ms)| {
                    DemoRequest::TwoProcesses(TwoProcessesParams { num, linger_ms })
                }),
                (
                    any::<u32>(),
                    any::<u64>(),
                    any::<u64>(),
                    vec(any::<u64>(), 0..4),
                    any::<bool>(),
                    "\\PC{0,20}",
                )
                    .prop_map(
                        |(workers, tasks, task_ms, fail, print, error_message)| {
                            DemoRequest::Pool(PoolParams {
                                workers,
                                tasks,
                                task_ms,
                                fail,
                                print,
                                error_message,
                                work: Work::None,
                                ..PoolParams::default()
                            })
                        }
                    ),
                (any::<u32>(), vec("\\PC{0,12}", 0..3), any::<i32>()).prop_map(
                    |(count, names, exit_code)| {
                        DemoRequest::Processes(ProcessesParams {
                            count,
                            names,
                            exit_code,
                            ..ProcessesParams::default()
                        })
                    }
                ),
            ]
        }

        fn command() -> impl Strategy<Value = ClientMessage> {
            prop_oneof![
                any::<u64>().prop_map(|r| ClientMessage::CancelRun { run: RunId(r) }),
                any::<u64>().prop_map(|r| ClientMessage::Subscribe { run: RunId(r) }),
                (any::<u64>(), any::<u32>()).prop_map(|(r, p)| ClientMessage::KillProcess {
                    run: RunId(r),
                    proc: ProcId(p),
                }),
                (
                    demo(),
                    any::<bool>(),
                    proptest::option::of(any::<u32>()),
                    vec((any::<u64>(), "\\PC{0,12}"), 0..3),
                    proptest::option::of("\\PC{0,30}"),
                )
                    .prop_map(
                        |(demo, keep_on_disconnect, sample_ms, kills, request)| {
                            ClientMessage::StartRun {
                                demo,
                                keep_on_disconnect,
                                sample_ms,
                                schedule: kills
                                    .into_iter()
                                    .map(|(at_ms, name)| Scheduled {
                                        at_ms,
                                        action: RunAction::KillProcess { name },
                                    })
                                    .collect(),
                                request,
                            }
                        }
                    ),
            ]
        }

        /// Any JSON value without a `type` key anywhere: valid JSON, never a command.
        fn not_a_command() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                "\\PC{0,16}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(6, 64, 8, |inner| {
                prop_oneof![
                    vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                    proptest::collection::btree_map("[a-su-z_]{1,8}", inner, 0..8)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// The char boundary at or before `i` (`str::floor_char_boundary` is newer than our
        /// minimum Rust).
        fn floor(text: &str, mut i: usize) -> usize {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        }

        /// The char boundary at or after `i`.
        fn ceil(text: &str, mut i: usize) -> usize {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i += 1;
            }
            i
        }

        fn encoded(c: &ClientMessage) -> String {
            serde_json::to_string(c).unwrap_or_else(|e| panic!("encode {c:?}: {e}"))
        }

        proptest! {
            #[test]
            fn any_text_is_answered_with_one_of_the_three_kinds(text in "\\PC{0,300}") {
                if let Err(e) = decode(&text) {
                    prop_assert!(
                        matches!(e.kind, ErrorKind::Malformed | ErrorKind::Unknown),
                        "{text:?}: {e:?}"
                    );
                    prop_assert!(!e.message.is_empty());
                }
            }

            #[test]
            fn every_command_decodes_to_itself(c in command()) {
                prop_assert_eq!(decode(&encoded(&c)), Ok(c));
            }

            #[test]
            fn a_cut_command_is_malformed(c in command(), cut in any::<prop::sample::Index>()) {
                let text = encoded(&c);
                let at = cut.index(text.len());
                // Any strict prefix of a JSON object is not JSON.
                let prefix = &text[..floor(&text, at)];
                match decode(prefix) {
                    Err(e) => prop_assert_eq!(e.kind, ErrorKind::Malformed, "{:?}", prefix),
                    Ok(c) => prop_assert!(false, "{prefix:?} decoded to {c:?}"),
                }
            }

            #[test]
            fn a_command_with_a_field_it_does_not_have_is_unknown(
                c in command(),
                field in "[a-z_]{1,12}",
                value in not_a_command(),
            ) {
                let mut json = serde_json::to_value(&c)
                    .unwrap_or_else(|e| panic!("encode {c:?}: {e}"));
                let known = json.get(&field).is_some();
                prop_assume!(!known);
                if let Some(map) = json.as_object_mut() {
                    map.insert(field.clone(), value);
                }
                match decode(&json.to_string()) {
                    Err(e) => {
                        prop_assert_eq!(e.kind, ErrorKind::Unknown, "{}", json);
                        prop_assert!(e.message.contains(&field), "{}", e.message);
                    }
                    Ok(c) => prop_assert!(false, "{json} decoded to {c:?}"),
                }
            }

            #[test]
            fn json_that_is_no_command_is_unknown(value in not_a_command()) {
                let text = value.to_string();
                prop_assume!(text.len() <= MAX_CLIENT_MESSAGE_BYTES);
                match decode(&text) {
                    Err(e) => prop_assert_eq!(e.kind, ErrorKind::Unknown, "{}", text),
                    Ok(c) => prop_assert!(false, "{text} decoded to {c:?}"),
                }
            }

            #[test]
            fn a_mutated_command_never_panics_and_says_why(
                c in command(),
                edits in vec((any::<prop::sample::Index>(), 0u8..4, "\\PC{0,3}"), 1..6),
            ) {
                let mut text = encoded(&c);
                for (at, how, piece) in edits {
                    let i = floor(&text, at.index(text.len() + 1));
                    let j = ceil(&text, i + 1);
                    match how {
                        0 => text.insert_str(i, &piece),
                        1 => text.replace_range(i..j, &piece),
                        2 => text.replace_range(i..j, ""),
                        _ => {
                            let copy = text[i..j].to_string();
                            text.insert_str(i, &copy);
                        }
                    }
                }
                match decode(&text) {
                    Ok(_) => {}
                    Err(e) => {
                        let json = serde_json::from_str::<serde_json::Value>(&text).is_ok();
                        let expected = if json { ErrorKind::Unknown } else { ErrorKind::Malformed };
                        prop_assert_eq!(e.kind, expected, "{:?}: {}", text, e.message);
                    }
                }
            }

            #[test]
            fn deep_nesting_is_refused_without_overflowing_the_stack(
                depth in 1usize..20_000,
                object in any::<bool>(),
            ) {
                let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
                let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                match decode(&text) {
                    Err(e) if text.len() > MAX_CLIENT_MESSAGE_BYTES => {
                        prop_assert_eq!(e.kind, ErrorKind::TooLarge);
                    }
                    // serde_json stops at 128 levels.
                    Err(e) if depth > 128 => {
                        prop_assert_eq!(e.kind, ErrorKind::Malformed, "{}", e.message);
                        prop_assert!(e.message.contains("recursion limit"), "{}", e.message);
                    }
                    Err(e) => prop_assert_eq!(e.kind, ErrorKind::Unknown, "{}", e.message),
                    Ok(c) => prop_assert!(false, "decoded to {c:?}"),
                }
            }

            #[test]
            fn over_the_limit_is_too_large_whatever_it_holds(
                c in command(),
                pad in 1usize..4096,
                junk in any::<bool>(),
            ) {
                let text = encoded(&c);
                let fill = (MAX_CLIENT_MESSAGE_BYTES + pad).saturating_sub(text.len());
                let text = if junk {
                    format!("{text}{}", "\u{1F600}".repeat(fill / 4 + 1))
                } else {
                    format!("{text}{}", " ".repeat(fill))
                };
                prop_assert!(text.len() > MAX_CLIENT_MESSAGE_BYTES);
                match decode(&text) {
                    Err(e) => {
                        prop_assert_eq!(e.kind, ErrorKind::TooLarge);
                        prop_assert!(e.message.contains(&text.len().to_string()), "{}", e.message);
                    }
                    Ok(c) => prop_assert!(false, "decoded to {c:?}"),
                }
            }
        }
    }
}
