//! `procviz run lesson`: a page lesson through the real binary — every run's events as NDJSON
//! on stdout, the lesson's story on stderr, with the figures the events hold. CPU timings on
//! a shared machine vary, so the figures are checked for shape and consistency with the
//! events, not for speed.

use shared::lessons::RunFacts;
use shared::{Event, EventKind, Lesson, PoolApi};
use std::process::Command;
use testkit::*;

/// Each run's label (from its request, `chef_alone: 4 jobs, 1 core`) and events, in order.
fn runs_of(events: &[Event]) -> Vec<(String, Vec<Event>)> {
    let mut runs: Vec<(String, Vec<Event>)> = Vec::new();
    for event in events {
        if let EventKind::RunStarted(start) = &event.kind {
            runs.push((start.request.clone().unwrap_or_default(), Vec::new()));
        }
        runs.last_mut()
            .expect("run_started comes first")
            .1
            .push(event.clone());
    }
    runs
}

/// The lines of the story after `observed:`, unindented.
fn observed(story: &str) -> Vec<&str> {
    story
        .lines()
        .skip_while(|l| *l != "observed:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect()
}

/// `procviz run ARGS` without reading stdout as events: exit code, stdout, stderr.
fn run_raw(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(procviz())
        .arg("run")
        .args(args)
        .output()
        .expect("run procviz");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_list_names_every_lesson_with_its_key_title_and_caption() {
    let (code, out, _) = run_raw(&["lesson", "--list"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), Lesson::ALL.len(), "{out}");
    for (line, lesson) in lines.iter().zip(Lesson::ALL) {
        assert!(
            line.starts_with(&format!("{} ", lesson.id()))
                && line.contains(&format!(" {}  {}", lesson.key(), lesson.title()))
                && line.contains(lesson.caption()[0]),
            "{line}"
        );
    }
}

#[test]
fn an_unknown_lesson_is_refused_with_the_valid_ones() {
    let (code, out, err) = run_raw(&["lesson", "chef"]);
    assert_eq!(code, 2, "a usage error: {err}");
    assert!(out.is_empty());
    let ids: Vec<&str> = Lesson::ALL.iter().map(|l| l.id()).collect();
    assert!(
        err.contains("unknown lesson \"chef\"")
            && err.contains(&format!("the lessons are: {}", ids.join(", "))),
        "{err}"
    );
    let (code, _, err) = run_raw(&["--kill", "PoolWorker-1@100", "lesson", "worker_dies"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--kill: a lesson's runs carry their own"),
        "{err}"
    );
}

#[test]
fn two_processes_tells_the_lesson_with_the_pids_and_exit_codes_of_its_run() {
    let (events, story, code) = run_cli(&["lesson", "two_processes"]);
    assert_eq!(code, 0, "{story}");
    let runs = runs_of(&events);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "two_processes: two processes");
    let lesson = Lesson::TwoProcesses;
    assert!(story.starts_with(&format!(
        "{}\n  {}\n  {}\nexpected: {}\nobserved:\n",
        lesson.title(),
        lesson.caption()[0],
        lesson.caption()[1],
        lesson.expected(1).as_str()
    )));
    let lines = observed(&story);
    assert_eq!(lines.len(), 1, "{story}");
    let pids = spawned_pids(&events);
    assert_eq!(pids.len(), 2);
    let facts = RunFacts::of(&runs[0].1);
    assert!(
        lines[0].starts_with("printed ")
            && lines[0].contains("Square: 100")
            && lines[0].contains("Cube: 1000")
            && lines[0].contains(&format!("Process-1 (PID {}) exit 0", pids[0]))
            && lines[0].contains(&format!("Process-2 (PID {}) exit 0", pids[1]))
            && lines[0].ends_with(&shared::lessons::format_duration(facts.wall_s)),
        "{lines:?}"
    );
}

#[test]
fn worker_dies_carries_out_the_lessons_kill() {
    let (events, story, code) = run_cli(&["lesson", "worker_dies"]);
    assert_eq!(code, 0, "{story}");
    let started = events.iter().find_map(|e| match &e.kind {
        EventKind::RunStarted(s) => Some(s.schedule.clone()),
        _ => None,
    });
    assert_eq!(
        started,
        Some(
            Lesson::WorkerDies.runs(2, PoolApi::Imap)[0]
                .schedule
                .clone()
        )
    );
    let lines = observed(&story);
    assert_eq!(lines.len(), 1, "{story}");
    assert!(
        lines[0].starts_with("Pool(4), a worker killed: [")
            && lines[0].contains("WorkerLost: PoolWorker-2 was killed by SIGKILL")
            && lines[0].ends_with("PoolWorker-2 killed (-9)"),
        "{lines:?}"
    );
}

#[test]
fn chef_alone_compares_one_core_with_all_and_states_the_ratio() {
    let _alone = one_at_a_time();
    let cores = backend::online_cores();
    let (events, story, code) = run_cli(&["lesson", "chef_alone"]);
    assert_eq!(code, 0, "{story}");
    let runs = runs_of(&events);
    let planned = Lesson::ChefAlone.runs(cores, PoolApi::Imap);
    assert_eq!(runs.len(), planned.len());
    for ((request, run), plan) in runs.iter().zip(&planned) {
        assert_eq!(*request, format!("chef_alone: {}", plan.label));
        assert!(run.iter().all(|e| e.run == run[0].run), "one run's events");
    }
    let lines = observed(&story);
    if cores < 2 {
        assert!(story.contains("note: This machine has 1 core"), "{story}");
        assert_eq!(lines.len(), 1, "{story}");
        return;
    }
    assert!(!story.contains("note:"), "{story}");
    assert_eq!(lines.len(), 3, "two runs and their ratio: {story}");
    let fmt = shared::lessons::format_duration;
    let mut walls = Vec::new();
    for (line, (request, run)) in lines.iter().zip(&runs) {
        let facts = RunFacts::of(run);
        let label = request.trim_start_matches("chef_alone: ");
        assert_eq!(
            *line,
            format!(
                "{label}: {} wall · {} on the cores · waited {} · {} slices",
                fmt(facts.wall_s),
                fmt(facts.on_core_s()),
                fmt(facts.waited_ns as f64 / 1e9),
                facts.slices
            ),
            "the story states the run's own figures"
        );
        // Four one-second jobs: about 4 s on the cores either way (sampled), and more wall
        // time than CPU time per core allowed.
        assert!(
            (3.0..=5.0).contains(&facts.on_core_s()),
            "{line}: about 4 s on the cores"
        );
        assert!(facts.slices > 0 && facts.wall_s > 0.0, "{line}");
        walls.push(facts.wall_s);
    }
    assert!(
        walls[0] >= 3.5,
        "one core runs 4 s of jobs in ≥ 4 s: {walls:?}"
    );
    let ratio = walls[1] / walls[0];
    assert_eq!(
        lines[2],
        format!("4 jobs, {cores} cores took {ratio:.2}× the time of 4 jobs, 1 core")
    );
}
