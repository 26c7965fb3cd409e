//! `procviz run` without a browser.
//!
//! [`follow`] hands every event of a run to the caller, in order, until the run has finished
//! (a stop request cancels the run; its end still comes). [`run_lesson`] runs a page lesson
//! the way the page's lesson runs it: [`Lesson::runs`] for this machine's cores, one after
//! another, each with its timed actions, the next started once the last has finished and
//! none after a run that did not complete. It writes every event as NDJSON (one line each,
//! the WebSocket's schema) and folds each run into the [`RunFacts`] the lesson's story
//! states; [`lesson_report`] is that story as the page tells it (caption, expected, why runs
//! were left out, the observed lines from [`shared::lessons::observed`]).

use crate::runs::{RunHandle, RunOptions, Runs, StartError};
use shared::lessons::{RunFacts, format_duration, observed};
use shared::{Event, KillReason, Lesson, PoolApi, RunOutcome, RunWith};
use std::io::Write;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Events read from a run's log at a time.
const BATCH: usize = 65_536;
/// How long to wait for more events when there were none.
const POLL: Duration = Duration::from_millis(20);

/// Why a lesson could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// A run of the lesson could not start.
    #[error("starting the run {label:?} of the lesson")]
    Start {
        /// The run's label.
        label: String,
        /// Why.
        #[source]
        source: StartError,
    },
    /// The events could not be written.
    #[error("writing the events")]
    Write(#[from] std::io::Error),
}

/// Hands the events of `run` to `each`, in order, as they come (a batch at a time, so the
/// caller can flush after each), until the run has finished. A cancelled `stop` cancels the
/// run ([`KillReason::Cancelled`]); its remaining events, its end included, still come.
pub async fn follow<E>(
    run: &RunHandle,
    stop: &CancellationToken,
    mut each: impl FnMut(&[Event]) -> Result<(), E>,
) -> Result<(), E> {
    let mut cursor = 0;
    let mut cancelled = false;
    loop {
        let (events, complete) = run.log.read_from(cursor, BATCH);
        cursor += events.len();
        if !events.is_empty() {
            each(&events)?;
        }
        if complete {
            return Ok(());
        }
        if events.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = stop.cancelled(), if !cancelled => {
                    cancelled = true;
                    run.cancel(KillReason::Cancelled);
                }
            }
        }
    }
}

/// Writes one event as a line of NDJSON.
pub fn write_event(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")
}

/// What a lesson's runs showed.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonOutcome {
    /// The lesson.
    pub lesson: Lesson,
    /// The machine's cores it was planned for.
    pub cores: u32,
    /// What ran it.
    pub with: RunWith,
    /// The runs the lesson plans on this machine, by label.
    pub planned: Vec<String>,
    /// The runs that ran, in order, with what they showed.
    pub runs: Vec<(String, RunFacts)>,
    /// Whether every run that ran let the lesson go on ([`shared::lessons::goes_on`]).
    pub went_on: bool,
}

impl LessonOutcome {
    /// Whether every planned run ran and completed.
    pub fn completed(&self) -> bool {
        self.runs.len() == self.planned.len() && self.went_on
    }
}

/// Runs `lesson` on a machine with `cores` cores as the page does (`api`: the pool lesson's
/// switch; `sample_ms`: the sampler's interval, absent for the default), each event written to
/// `out` as NDJSON. A cancelled `stop` cancels the run going on and starts no other.
pub async fn run_lesson(
    runs: &Runs,
    lesson: Lesson,
    (cores, api, with, sample_ms): (u32, PoolApi, RunWith, Option<u32>),
    out: &mut impl Write,
    stop: &CancellationToken,
) -> Result<LessonOutcome, LessonError> {
    let plan = lesson.runs_with(cores, api, with);
    let mut outcome = LessonOutcome {
        lesson,
        cores,
        with,
        planned: plan.iter().map(|r| r.label.clone()).collect(),
        runs: Vec::new(),
        went_on: true,
    };
    for planned in plan {
        if stop.is_cancelled() {
            break;
        }
        let start = |source| LessonError::Start {
            label: planned.label.clone(),
            source,
        };
        let options = RunOptions::with_sample_ms(sample_ms)
            .and_then(|o| o.with_schedule(planned.schedule.clone()))
            .map_err(start)?
            .with_request(Some(format!("{}: {}", lesson.id(), planned.label)));
        let run = runs
            .start(planned.request.clone(), 0, options)
            .map_err(start)?;
        let mut facts = RunFacts::default();
        follow(&run, stop, |events| {
            for event in events {
                facts.add(event);
                write_event(out, event)?;
            }
            out.flush()
        })
        .await?;
        let goes_on = facts
            .outcome
            .as_ref()
            .is_some_and(|o| shared::lessons::goes_on(&planned.request, o));
        outcome.runs.push((planned.label, facts));
        if !goes_on {
            outcome.went_on = false;
            // As on the page: after a run cancelled or failed, the rest would not mean much.
            break;
        }
    }
    Ok(outcome)
}

/// The lesson's story, as the page tells it: title, caption, expected, why runs were left out
/// on this machine, and the observed lines (each run, then how the last compares with the
/// first); then, if the lesson stopped early, which run ended how.
pub fn lesson_report(outcome: &LessonOutcome) -> String {
    let LessonOutcome {
        lesson,
        cores,
        with,
        planned,
        runs,
        went_on,
    } = outcome;
    let mut text = format!("{}\n", lesson.title());
    for line in lesson.caption() {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str(&format!(
        "expected: {}\n",
        lesson.expected_with(*cores, *with)
    ));
    if let Some(note) = lesson.honesty_note(*cores) {
        text.push_str(&format!("note: {note}\n"));
    }
    text.push_str("observed:\n");
    for line in observed(*lesson, runs) {
        text.push_str(&format!("  {line}\n"));
    }
    if let Some((label, facts)) = runs.last().filter(|_| !went_on) {
        let how = match &facts.outcome {
            Some(RunOutcome::Cancelled { reason }) => format!("was cancelled ({reason:?})"),
            Some(RunOutcome::Failed { message }) => format!("failed: {message}"),
            Some(RunOutcome::Completed) | None => "did not finish".to_string(),
        };
        let left = planned.len().saturating_sub(runs.len());
        text.push_str(&format!(
            "stopped: {label} {how} after {}; {left} of the lesson's {} runs not started\n",
            format_duration(facts.wall_s),
            planned.len()
        ));
    }
    text
}

/// The lessons, one a line: id, presenter key, title, caption (for `--list`).
pub fn lesson_list() -> String {
    Lesson::ALL
        .into_iter()
        .map(|l| {
            let [a, b] = l.caption();
            format!("{:<22} {}  {:<34} {a} {b}\n", l.id(), l.key(), l.title())
        })
        .collect()
}

/// What `procviz run lesson NAME` says of a name that is no lesson: the valid ones.
pub fn unknown_lesson(name: &str) -> String {
    let ids: Vec<&str> = Lesson::ALL.iter().map(|l| l.id()).collect();
    format!(
        "unknown lesson {name:?}; the lessons are: {}",
        ids.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(wall_s: f64, outcome: RunOutcome) -> RunFacts {
        RunFacts {
            wall_s,
            outcome: Some(outcome),
            ..RunFacts::default()
        }
    }

    #[test]
    fn the_report_tells_the_lesson_as_the_page_does() {
        let outcome = LessonOutcome {
            lesson: Lesson::HowManyWorkers,
            cores: 2,
            planned: vec!["Pool(1)".into(), "Pool(2)".into()],
            runs: vec![
                ("Pool(1)".into(), facts(4.0, RunOutcome::Completed)),
                ("Pool(2)".into(), facts(2.0, RunOutcome::Completed)),
            ],
            went_on: true,
            with: RunWith::Runtime,
        };
        assert!(outcome.completed());
        assert_eq!(
            lesson_report(&outcome),
            format!(
                "How many workers?\n  {}\n  {}\nexpected: {}\nobserved:\n  Pool(1): 4.00 s · 1.00× Pool(1)\n  Pool(2): 2.00 s · 2.00× Pool(1)\n",
                Lesson::HowManyWorkers.caption()[0],
                Lesson::HowManyWorkers.caption()[1],
                Lesson::HowManyWorkers.expected(2)
            )
        );
    }

    #[test]
    fn a_one_core_machine_and_a_stopped_lesson_are_said() {
        let cancelled = RunOutcome::Cancelled {
            reason: KillReason::Cancelled,
        };
        let outcome = LessonOutcome {
            lesson: Lesson::ChefAlone,
            cores: 1,
            planned: vec!["4 jobs, 1 core".into()],
            runs: vec![("4 jobs, 1 core".into(), facts(1.5, cancelled))],
            went_on: false,
            with: RunWith::Runtime,
        };
        assert!(!outcome.completed());
        let report = lesson_report(&outcome);
        assert!(report.contains("note: This machine has 1 core"), "{report}");
        assert!(
            report.ends_with(
                "stopped: 4 jobs, 1 core was cancelled (Cancelled) after 1.50 s; 0 of the lesson's 1 runs not started\n"
            ),
            "{report}"
        );
    }

    #[test]
    fn the_list_names_every_lesson_and_an_unknown_name_is_told_the_valid_ones() {
        let list = lesson_list();
        assert_eq!(list.lines().count(), Lesson::ALL.len());
        assert!(list.lines().next().is_some_and(|l| l.starts_with("two_processes ")
            && l.contains(" 1  Two processes")));
        let told = unknown_lesson("chef");
        assert!(told.contains("\"chef\"") && told.contains("chef_alone, threads_vs_processes"));
    }
}
