//! A human summary of a run, built from its events (what `procviz run` prints on stderr).

use shared::{Event, EventKind, RunOutcome, TaskResult};
use std::fmt;

/// Results shown in full before the list is abbreviated.
const SHOWN: usize = 20;

/// What a run showed the caller, accumulated event by event.
#[derive(Debug, Default)]
pub struct Summary {
    title: String,
    interpreter: Option<String>,
    results: Vec<TaskResult>,
    consumed: u64,
    raised: Option<String>,
    exits: Vec<(String, i32)>,
    names: Vec<(u32, String)>,
    dropped_output: u64,
    wall: f64,
    outcome: Option<RunOutcome>,
}

impl Summary {
    /// Takes one event into account.
    pub fn add(&mut self, event: &Event) {
        self.wall = self.wall.max(event.t.as_secs_f64());
        match &event.kind {
            EventKind::RunStarted(start) => {
                self.title = start.title.clone();
                self.interpreter = start.interpreter.as_ref().map(|i| {
                    let method = i
                        .start_method
                        .as_ref()
                        .map_or_else(String::new, |m| format!(", start method {m}"));
                    format!("{} {} ({}{method})", i.name, i.version, i.executable)
                });
            }
            EventKind::ProcessSpawned { proc, name, .. } => self.names.push((proc.0, name.clone())),
            EventKind::ProcessExited { proc, status, .. } => {
                let name = self
                    .names
                    .iter()
                    .find(|(p, _)| *p == proc.0)
                    .map_or_else(|| format!("process {}", proc.0), |(_, n)| n.clone());
                self.exits.push((name, status.python_exitcode()));
            }
            EventKind::ResultConsumed { result, .. } => {
                self.consumed += 1;
                if self.results.len() < SHOWN {
                    self.results.push(result.clone());
                }
            }
            EventKind::CallerRaised {
                error,
                lost_results,
            } => {
                self.raised = Some(format!("{error} (raised; {lost_results} results lost)"));
            }
            // Each process's reader reports the run's total as it saw it; reports of two
            // readers may arrive out of order, so the largest is the total.
            EventKind::OutputDropped { lines, .. } => {
                self.dropped_output = self.dropped_output.max(*lines);
            }
            EventKind::RunFinished { outcome } => self.outcome = Some(outcome.clone()),
            _ => {}
        }
    }

    /// Whether the run completed.
    pub fn completed(&self) -> bool {
        self.outcome == Some(RunOutcome::Completed)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        if let Some(interpreter) = &self.interpreter {
            writeln!(f, "interpreter: {interpreter}")?;
        }
        if self.consumed > 0 || self.raised.is_some() {
            let shown: Vec<String> = self.results.iter().map(ToString::to_string).collect();
            let more = if self.consumed > shown.len() as u64 {
                format!(", … ({} results)", self.consumed)
            } else {
                String::new()
            };
            writeln!(f, "result list: [{}{more}]", shown.join(", "))?;
        }
        if let Some(raised) = &self.raised {
            writeln!(f, "raised: {raised}")?;
        }
        let exits: Vec<String> = self.exits.iter().map(|(n, c)| format!("{n} {c}")).collect();
        if exits.len() <= 16 {
            writeln!(f, "exit codes: {}", exits.join(", "))?;
        } else {
            let failed = self.exits.iter().filter(|(_, c)| *c != 0).count();
            writeln!(
                f,
                "exit codes: {} processes, {failed} non-zero",
                exits.len()
            )?;
        }
        if self.dropped_output > 0 {
            writeln!(
                f,
                "output lines dropped (limit reached): {}",
                self.dropped_output
            )?;
        }
        writeln!(f, "time took: {:.1}", self.wall)?;
        let outcome = match &self.outcome {
            Some(RunOutcome::Completed) => "completed".to_string(),
            Some(RunOutcome::Cancelled { reason }) => format!("cancelled ({reason:?})"),
            Some(RunOutcome::Failed { message }) => format!("failed: {message}"),
            None => "unfinished".into(),
        };
        writeln!(f, "run: {outcome}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{RunId, RunTime, TaskError};

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            run: RunId(1),
            seq,
            t: RunTime::from_millis(seq * 100),
            kind,
        }
    }

    #[test]
    fn python_results_read_as_python_prints_them() {
        let mut summary = Summary::default();
        let results = [
            TaskResult::Error(Box::new(TaskError {
                error_type: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                location: "p.py:8 in f".into(),
                traceback: Some("Traceback …".into()),
            })),
            TaskResult::Value { value: 1 },
            TaskResult::Repr {
                text: "'two'".into(),
            },
        ];
        for (i, result) in results.into_iter().enumerate() {
            summary.add(&event(
                i as u64,
                EventKind::ResultConsumed {
                    index: i as u64,
                    result,
                },
            ));
        }
        let text = summary.to_string();
        assert!(
            text.contains("result list: [ZeroDivisionError: division by zero, 1, 'two']"),
            "{text}"
        );
    }
}
