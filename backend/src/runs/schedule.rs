//! Timed actions of a run (`start_run.schedule`, `procviz run … --kill NAME@MS`): checked
//! before the run starts, then carried out through the run's command queue, exactly like the
//! same command sent from the page at that moment.

use crate::context::RunCommand;
use shared::{RunAction, Scheduled};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest process name a scheduled kill may give (in bytes; names are ASCII).
pub const MAX_NAME_LEN: usize = 64;

/// Checks `schedule` against the limits; the error says which one it broke.
pub fn validate(schedule: &[Scheduled]) -> Result<(), String> {
    if schedule.len() > Scheduled::MAX_ACTIONS {
        return Err(format!(
            "at most {} scheduled actions, got {}",
            Scheduled::MAX_ACTIONS,
            schedule.len()
        ));
    }
    for s in schedule {
        if s.at_ms > Scheduled::MAX_AT_MS {
            return Err(format!(
                "a scheduled action's at_ms must be at most {}, got {}",
                Scheduled::MAX_AT_MS,
                s.at_ms
            ));
        }
        let RunAction::KillProcess { name } = &s.action;
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(format!(
                "a scheduled kill names a process (1 to {MAX_NAME_LEN} characters)"
            ));
        }
    }
    Ok(())
}

/// Reads `NAME@MS` (`PoolWorker-2@1500`): SIGKILL the process named NAME MS milliseconds into
/// the run. The name is everything before the last `@`.
pub fn parse_kill(text: &str) -> Result<Scheduled, String> {
    let (name, ms) = text
        .rsplit_once('@')
        .ok_or_else(|| format!("{text:?} is not NAME@MS (e.g. PoolWorker-2@1500)"))?;
    let at_ms = ms
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{ms:?} in {text:?} is not a number of milliseconds"))?;
    let scheduled = Scheduled {
        at_ms,
        action: RunAction::KillProcess {
            name: name.to_string(),
        },
    };
    validate(std::slice::from_ref(&scheduled))?;
    Ok(scheduled)
}

/// Starts a timer per action; each sends its command to the run when due. Abort the returned
/// tasks when the run ends.
pub fn arm(
    schedule: &[Scheduled],
    commands: &mpsc::UnboundedSender<RunCommand>,
) -> Vec<JoinHandle<()>> {
    schedule
        .iter()
        .map(|s| {
            let commands = commands.clone();
            let at = Duration::from_millis(s.at_ms);
            let RunAction::KillProcess { name } = s.action.clone();
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                // The run may be over: then there is nobody to kill.
                let _over = commands.send(RunCommand::KillNamed(name));
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_name_at_ms_is_read_and_malformed_values_say_why() {
        let s = parse_kill("PoolWorker-2@1500").map_err(|e| e.to_string());
        assert_eq!(
            s,
            Ok(Scheduled {
                at_ms: 1500,
                action: RunAction::KillProcess {
                    name: "PoolWorker-2".into()
                }
            })
        );
        let at = parse_kill("me@home@20").map(|s| s.action);
        assert_eq!(
            at,
            Ok(RunAction::KillProcess {
                name: "me@home".into()
            }),
            "the name is what precedes the last @"
        );
        let cases = [
            ("PoolWorker-2", "NAME@MS"),
            ("PoolWorker-2@soon", "not a number"),
            ("PoolWorker-2@-5", "not a number"),
            ("@100", "names a process"),
            ("PoolWorker-2@600001", "at most 600000"),
        ];
        for (text, needle) in cases {
            match parse_kill(text) {
                Err(e) => assert!(e.contains(needle), "{text}: {e}"),
                Ok(s) => panic!("{text} accepted as {s:?}"),
            }
        }
    }

    #[tokio::test]
    async fn each_action_reaches_the_command_queue_when_due_and_not_before() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let schedule = ["PoolWorker-2@150", "Process-1@30"]
            .into_iter()
            .map(parse_kill)
            .collect::<Result<Vec<_>, _>>();
        let Ok(schedule) = schedule else {
            panic!("{schedule:?}");
        };
        let start = std::time::Instant::now();
        let timers = arm(&schedule, &tx);
        assert_eq!(timers.len(), 2);
        let first = rx.recv().await;
        assert_eq!(first, Some(RunCommand::KillNamed("Process-1".into())));
        assert!(start.elapsed() >= Duration::from_millis(30));
        let second = rx.recv().await;
        assert_eq!(second, Some(RunCommand::KillNamed("PoolWorker-2".into())));
        assert!(start.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn an_aborted_timer_sends_nothing() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let timers = arm(
            &[parse_kill("Process-1@20")
                .map_err(|e| e.to_string())
                .unwrap()],
            &tx,
        );
        timers.iter().for_each(JoinHandle::abort);
        drop(tx);
        assert_eq!(
            rx.recv().await,
            None,
            "the run ended before the action was due"
        );
    }
}
