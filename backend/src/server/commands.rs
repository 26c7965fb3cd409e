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
}
