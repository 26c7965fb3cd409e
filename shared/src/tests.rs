use super::*;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("serialize");
    let back: T = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(&back, value, "round trip changed {json}");
}

fn demo() -> DemoRequest {
    DemoRequest::TwoProcesses(TwoProcessesParams::default())
}

fn every_event_kind() -> Vec<EventKind> {
    vec![
        EventKind::RunStarted(Box::new(RunStart {
            demo: demo(),
            title: "Two processes".into(),
            cores: 2,
            main_pid: 42,
            request: Some("tab-1".into()),
            schedule: vec![Scheduled {
                at_ms: 1500,
                action: RunAction::KillProcess {
                    name: "PoolWorker-2".into(),
                },
            }],
            interpreter: None,
            program: None,
        })),
        EventKind::RunStarted(Box::new(RunStart {
            demo: DemoRequest::Python(PythonParams {
                program: PythonProgram::Code {
                    source: "print('hi')\n".into(),
                },
                args: vec!["--fast".into()],
                hang_after_ms: Some(3000),
            }),
            title: "Python program".into(),
            cores: 2,
            main_pid: 42,
            request: None,
            schedule: Vec::new(),
            interpreter: Some(Interpreter {
                name: "CPython".into(),
                version: "3.11.7".into(),
                executable: "/usr/bin/python3".into(),
                start_method: Some("fork".into()),
            }),
            program: Some(ProgramText {
                file: "main.py".into(),
                source: "print(1)\n".into(),
            }),
        })),
        EventKind::ProcessSpawned {
            proc: ProcId(1),
            pid: 1234,
            name: "Process-1".into(),
            parent: ProcId::MAIN,
        },
        EventKind::ProcessStarted {
            proc: ProcId(1),
            cpus: vec![0, 1],
        },
        EventKind::Output {
            proc: ProcId(1),
            stream: Stream::Stdout,
            text: "Square: 100".into(),
        },
        EventKind::Output {
            proc: ProcId(2),
            stream: Stream::Stderr,
            text: "ünïcødé \"quoted\"".into(),
        },
        EventKind::ProcessExited {
            proc: ProcId(1),
            status: ExitStatus::Code { code: 0 },
            killed_by: None,
            cpu_time_ns: None,
        },
        EventKind::ProcessExited {
            proc: ProcId(2),
            status: ExitStatus::Signal { signal: 9 },
            killed_by: Some(KillReason::Cancelled),
            cpu_time_ns: Some(1_000),
        },
        EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        },
        EventKind::RunFinished {
            outcome: RunOutcome::Cancelled {
                reason: KillReason::ServerShutdown,
            },
        },
        EventKind::RunFinished {
            outcome: RunOutcome::Failed {
                message: "spawn failed".into(),
            },
        },
        EventKind::PoolStarted {
            workers: 4,
            api: PoolApi::Imap,
            chunksize: 1,
            tasks: 10,
        },
        EventKind::TasksQueued {
            first: 0,
            count: 10,
        },
        EventKind::TaskDispatched {
            first: 0,
            count: 1,
            worker: ProcId(1),
        },
        EventKind::TaskStarted {
            task: 0,
            worker: ProcId(1),
        },
        EventKind::TaskFinished {
            task: 0,
            worker: ProcId(1),
            result: TaskResult::Error(Box::new(zero_division())),
        },
        EventKind::TaskFinished {
            task: 1,
            worker: ProcId(2),
            result: TaskResult::Value { value: 1 },
        },
        EventKind::ResultConsumed {
            index: 0,
            result: TaskResult::Error(Box::new(zero_division())),
        },
        EventKind::CallerRaised {
            error: Box::new(zero_division()),
            lost_results: 9,
        },
        EventKind::WorkerReplaced {
            exited: ProcId(1),
            replacement: ProcId(5),
        },
        EventKind::PoolClosed,
        EventKind::PoolTerminated {
            reason: KillReason::User,
        },
        EventKind::PoolTerminated {
            reason: KillReason::Program,
        },
        EventKind::TaskFinished {
            task: 2,
            worker: ProcId(2),
            result: TaskResult::Repr {
                text: "'done'".into(),
            },
        },
        EventKind::ResultConsumed {
            index: 1,
            result: TaskResult::Error(Box::new(TaskError {
                traceback: Some("Traceback (most recent call last):\n  ...".into()),
                ..zero_division()
            })),
        },
        EventKind::ThreadStarted(Box::new(ThreadStart {
            proc: ProcId(1),
            tid: 1236,
            name: "Thread-1 (burn_cpu)".into(),
        })),
        EventKind::ThreadEnded {
            proc: ProcId(1),
            tid: 1236,
        },
        EventKind::OutputDropped {
            proc: ProcId(3),
            lines: 12,
        },
        EventKind::SamplerStarted { interval_ms: 10 },
        EventKind::ThreadSegment {
            proc: ProcId(1),
            tid: 1234,
            core: Some(1),
            start: RunTime(5),
            on_cpu_ns: 9_000_000,
            waiting_ns: 1_000_000,
            slices: 3,
        },
        EventKind::ThreadSegment {
            proc: ProcId(1),
            tid: 1235,
            core: None,
            start: RunTime(5),
            on_cpu_ns: 0,
            waiting_ns: 0,
            slices: 0,
        },
        EventKind::CoreLoad {
            start: RunTime(0),
            cores: vec![
                CoreShare {
                    busy: 0.5,
                    run: 0.25,
                },
                CoreShare {
                    busy: 1.0,
                    run: 1.0,
                },
            ],
        },
    ]
}

fn zero_division() -> TaskError {
    TaskError {
        error_type: "ZeroDivisionError".into(),
        message: "division by zero".into(),
        location: "PoolWorker-1, task 0, step 2 (fail)".into(),
        traceback: None,
    }
}

#[test]
fn every_client_message_round_trips() {
    for msg in [
        ClientMessage::start(demo()),
        ClientMessage::CancelRun { run: RunId(3) },
        ClientMessage::KillProcess {
            run: RunId(3),
            proc: ProcId(2),
        },
        ClientMessage::start(DemoRequest::Pool(PoolParams::default())),
        ClientMessage::start(DemoRequest::Processes(ProcessesParams {
            fail: vec![2],
            crash: vec![3],
            crash_signal: CrashSignal::Segfault,
            cores: Some(vec![0]),
            ..ProcessesParams::default()
        })),
        ClientMessage::Subscribe { run: RunId(4) },
    ] {
        round_trip(&msg);
    }
}

/// One event of every kind, in run 1, `seq` from 0, a microsecond apart.
fn every_event() -> Vec<Event> {
    every_event_kind()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event {
            run: RunId(1),
            seq: i as u64,
            t: RunTime(i as u64 * 1_000),
            kind,
        })
        .collect()
}

#[test]
fn every_server_message_round_trips() {
    let events = every_event();
    for event in &events {
        round_trip(event);
    }
    let kinds = [
        ErrorKind::Malformed,
        ErrorKind::Unknown,
        ErrorKind::TooLarge,
        ErrorKind::InvalidParameter,
        ErrorKind::NotFound,
        ErrorKind::LimitReached,
        ErrorKind::Forbidden,
        ErrorKind::Internal,
    ];
    let mut messages = vec![
        ServerMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            server_version: "0.1.0".into(),
            cores: 2,
            runs: vec![RunSummary {
                run: RunId(1),
                demo: demo(),
                finished: true,
            }],
            role: Role::Viewer,
            python: Some(PythonSupport::Unavailable {
                reason: "no python3 on PATH".into(),
            }),
        },
        ServerMessage::Events { events, dropped: 7 },
        ServerMessage::Audience { viewers: 3 },
    ];
    messages.extend(kinds.into_iter().map(|kind| {
        ServerMessage::Error(CommandError {
            kind,
            message: "what was wrong".into(),
        })
    }));
    for msg in &messages {
        round_trip(msg);
    }
}

#[test]
fn wire_format_is_stable() {
    // Clients in other languages rely on these exact shapes.
    let start = r#"{"type":"start_run","demo":{"demo":"two_processes","num":10,"linger_ms":0}}"#;
    assert_eq!(
        serde_json::to_string(&ClientMessage::start(demo())).unwrap(),
        start
    );
    let event = Event {
        run: RunId(1),
        seq: 2,
        t: RunTime(1500),
        kind: EventKind::ProcessExited {
            proc: ProcId(1),
            status: ExitStatus::Signal { signal: 15 },
            killed_by: None,
            cpu_time_ns: None,
        },
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"run":1,"seq":2,"t":1500,"kind":{"type":"process_exited","proc":1,"status":{"type":"signal","signal":15}}}"#
    );
}

#[test]
fn run_started_is_one_flat_object_on_the_wire() {
    let kind = EventKind::RunStarted(Box::new(RunStart {
        demo: demo(),
        title: "Two processes".into(),
        cores: 2,
        main_pid: 42,
        request: Some("tab-1".into()),
        schedule: Vec::new(),
        interpreter: None,
        program: None,
    }));
    let json = serde_json::to_value(&kind).unwrap();
    assert_eq!(json["type"], "run_started");
    assert_eq!(json["title"], "Two processes");
    assert_eq!(json["request"], "tab-1");
    assert!(
        json.get("schedule").is_none(),
        "an empty schedule is left out"
    );
    // A run_started of protocol 1 before `request` and `schedule` existed still reads.
    let old = r#"{"type":"run_started","demo":{"demo":"two_processes","num":10,"linger_ms":0},"title":"Two processes","cores":2,"main_pid":42}"#;
    match serde_json::from_str::<EventKind>(old).unwrap() {
        EventKind::RunStarted(start) => assert_eq!((start.request, start.schedule), (None, vec![])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn omitted_parameters_take_their_defaults() {
    let msg: ClientMessage =
        serde_json::from_str(r#"{"type":"start_run","demo":{"demo":"two_processes"}}"#).unwrap();
    assert_eq!(msg, ClientMessage::start(demo()));
}

#[test]
fn unknown_commands_and_fields_are_rejected() {
    assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"format_disk"}"#).is_err());
    assert!(
        serde_json::from_str::<ClientMessage>(
            r#"{"type":"start_run","demo":{"demo":"two_processes","nmu":3}}"#
        )
        .is_err()
    );
}

#[test]
fn out_of_range_parameters_are_named() {
    let bad = DemoRequest::TwoProcesses(TwoProcessesParams {
        num: 10,
        linger_ms: 999_999,
    });
    let err = bad.validate(2).unwrap_err();
    assert!(err.contains("linger_ms"), "{err}");
    assert!(demo().validate(2).is_ok());
    let pool = |f: fn(&mut PoolParams)| {
        let mut p = PoolParams::default();
        f(&mut p);
        DemoRequest::Pool(p).validate(2)
    };
    assert!(pool(|_| {}).is_ok());
    assert!(pool(|p| p.workers = 0).unwrap_err().contains("workers"));
    assert!(pool(|p| p.workers = 65).unwrap_err().contains("64"));
    assert!(
        pool(|p| p.tasks = 1_000_001)
            .unwrap_err()
            .contains("1000000")
    );
    assert!(
        pool(|p| p.cores = Some(vec![2]))
            .unwrap_err()
            .contains("core 2")
    );
    assert!(
        pool(|p| p.error_type = "x y".into())
            .unwrap_err()
            .contains("identifier")
    );
    assert!(
        pool(|p| p.chunksize = Some(0))
            .unwrap_err()
            .contains("chunksize")
    );
}

#[test]
fn the_memory_a_run_asks_is_what_its_processes_hold_at_once() {
    let processes = |count, memory_mib, sequential| {
        DemoRequest::Processes(ProcessesParams {
            count,
            memory_mib,
            sequential,
            ..ProcessesParams::default()
        })
    };
    let largest = processes(
        PoolParams::MAX_WORKERS,
        ProcessesParams::MAX_MEMORY_MIB,
        false,
    );
    assert!(largest.validate(2).is_ok(), "in range for the parameters");
    assert_eq!(largest.memory_mib(), 64 * 1024);
    assert_eq!(processes(4, 100, true).memory_mib(), 100, "one at a time");
    assert_eq!(processes(4, 0, false).memory_mib(), 0);
    assert_eq!(demo().memory_mib(), 0);
    assert_eq!(DemoRequest::Pool(PoolParams::default()).memory_mib(), 0);
    let over = processes(1, ProcessesParams::MAX_MEMORY_MIB + 1, false).validate(2);
    assert!(over.is_err_and(|e| e.contains("memory_mib") && e.contains("1024")));
}

#[test]
fn chunksize_defaults_follow_python() {
    assert_eq!(PoolApi::Map.default_chunksize(10, 4), 1);
    assert_eq!(PoolApi::Map.default_chunksize(17, 4), 2);
    assert_eq!(PoolApi::Map.default_chunksize(100, 4), 7);
    assert_eq!(PoolApi::Map.default_chunksize(1000, 4), 63);
    assert_eq!(PoolApi::Map.default_chunksize(0, 4), 0);
    assert_eq!(PoolApi::Imap.default_chunksize(1000, 4), 1);
    assert_eq!(PoolApi::ApplyAsync.default_chunksize(1000, 4), 1);
}

#[test]
fn task_errors_read_like_python() {
    assert_eq!(
        zero_division().to_string(),
        "ZeroDivisionError: division by zero"
    );
    assert_eq!(TaskResult::Value { value: 7 }.to_string(), "7");
}

#[test]
fn exit_status_reads_like_python() {
    assert_eq!(ExitStatus::Signal { signal: 9 }.python_exitcode(), -9);
    assert_eq!(ExitStatus::Code { code: 3 }.python_exitcode(), 3);
    assert!(ExitStatus::Code { code: 0 }.success());
    assert_eq!(
        ExitStatus::Signal { signal: 15 }.to_string(),
        "killed by SIGTERM (exit code -15)"
    );
    assert_eq!(signal_name(64), "signal 64");
}

#[test]
fn run_time_converts() {
    assert_eq!(RunTime::from_millis(1500).as_secs_f64(), 1.5);
    assert_eq!(RunTime(5).saturating_since(RunTime(9)), RunTime::ZERO);
    assert_eq!(RunTime::from_millis(250).to_string(), "0.250 s");
}

#[test]
fn events_stay_small_in_memory() {
    // A run of 100,000 tasks keeps about 400,000 events: each must stay small.
    assert!(
        std::mem::size_of::<Event>() <= 72,
        "{}",
        std::mem::size_of::<Event>()
    );
}

#[test]
fn a_version_1_hello_reads_as_a_presenters_and_roles_have_their_wire_names() {
    let old =
        r#"{"type":"hello","protocol_version":1,"server_version":"0.1.0","cores":2,"runs":[]}"#;
    match serde_json::from_str::<ServerMessage>(old) {
        Ok(ServerMessage::Hello { role, .. }) => assert_eq!(role, Role::Presenter),
        other => panic!("a hello expected: {other:?}"),
    }
    assert_eq!(
        serde_json::to_string(&Role::Viewer).map_err(|e| e.to_string()),
        Ok("\"viewer\"".to_string())
    );
    assert_eq!(
        serde_json::to_string(&ErrorKind::Forbidden).map_err(|e| e.to_string()),
        Ok("\"forbidden\"".to_string())
    );
    assert!(Role::Presenter.may_command() && !Role::Viewer.may_command());
}

#[test]
fn a_python_request_has_its_wire_shape_and_its_limits_are_named() {
    let shipped: DemoRequest = serde_json::from_str(
        r#"{"demo":"python","program":{"type":"shipped","name":"pool_imap"}}"#,
    )
    .unwrap();
    assert_eq!(
        shipped,
        DemoRequest::Python(PythonParams {
            program: PythonProgram::Shipped {
                name: "pool_imap".into()
            },
            args: Vec::new(),
            hang_after_ms: None,
        })
    );
    assert!(shipped.validate(2).is_ok());
    assert_eq!(shipped.title(), "Python program");
    assert_eq!(shipped.memory_mib(), PythonParams::NOMINAL_MEMORY_MIB);
    let code = |source: String, args: Vec<String>| {
        DemoRequest::Python(PythonParams {
            program: PythonProgram::Code { source },
            args,
            hang_after_ms: None,
        })
        .validate(2)
    };
    assert!(code("print(1)\n".into(), vec!["spawn".into()]).is_ok());
    let big = code("#".repeat(PythonParams::MAX_SOURCE_BYTES + 1), Vec::new());
    assert!(big.is_err_and(|e| e.contains("65537 bytes") && e.contains("65536")));
    assert!(code("a\0b".into(), Vec::new()).is_err_and(|e| e.contains("NUL")));
    let many = vec![String::new(); PythonParams::MAX_ARGS + 1];
    assert!(code(String::new(), many).is_err_and(|e| e.contains("arguments")));
    let hang = |ms| {
        DemoRequest::Python(PythonParams {
            hang_after_ms: Some(ms),
            ..PythonParams::shipped("worker_dies", &[])
        })
        .validate(2)
    };
    assert!(hang(3000).is_ok());
    assert!(hang(99).is_err_and(|e| e.contains("hang_after_ms must be 100 to 600000, got 99")));
    let bad_name = DemoRequest::Python(PythonParams {
        program: PythonProgram::Shipped {
            name: "../etc/passwd".into(),
        },
        args: Vec::new(),
        hang_after_ms: None,
    });
    assert!(
        bad_name
            .validate(2)
            .is_err_and(|e| e.contains("program name"))
    );
}

#[test]
fn python_additions_read_from_old_json_and_are_absent_when_empty() {
    // An error of before the traceback existed still reads, and one without a traceback
    // writes none.
    let old = r#"{"error_type":"ZeroDivisionError","message":"division by zero","location":"x"}"#;
    let error: TaskError = serde_json::from_str(old).unwrap();
    assert_eq!(error.traceback, None);
    assert_eq!(serde_json::to_string(&error).unwrap(), old);
    assert_eq!(
        TaskResult::Repr {
            text: "None".into()
        }
        .to_string(),
        "None"
    );
    assert_eq!(
        serde_json::to_string(&KillReason::Program).unwrap(),
        "\"program\""
    );
    let thread = serde_json::to_value(EventKind::ThreadStarted(Box::new(ThreadStart {
        proc: ProcId(2),
        tid: 77,
        name: "Thread-1".into(),
    })))
    .unwrap();
    assert_eq!(
        thread,
        serde_json::json!({"type": "thread_started", "proc": 2, "tid": 77, "name": "Thread-1"})
    );
}

#[test]
fn lines_of_events_read_in_one_pass_skip_each_bad_line_once() {
    let events = every_event();
    let line = |e: &Event| serde_json::to_string(e).expect("serialize");
    // Good lines around bad ones, blank lines, CRLF ends, and no end after the last line.
    let text = format!(
        "{}\nnot an event\n\n{}\r\n{{\"run\":1}}\n  \n{}",
        line(&events[0]),
        line(&events[1]),
        line(&events[2])
    );
    let (mut read, mut bad) = (Vec::new(), Vec::new());
    Event::each_in_lines(text.as_bytes(), &mut |r| match r {
        Ok(e) => read.push(e),
        Err((line, e)) => bad.push((String::from_utf8_lossy(line).into_owned(), e.to_string())),
    });
    assert_eq!(read, events[..3].to_vec());
    let lines: Vec<&str> = bad.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, ["not an event", "{\"run\":1}"], "{bad:?}");
    assert!(bad[1].1.contains("missing field"), "{bad:?}");
    // Every event of every kind reads back as it was written.
    let all: String = events.iter().map(|e| line(e) + "\n").collect();
    let mut back = Vec::new();
    Event::each_in_lines(all.as_bytes(), &mut |r| back.push(r.expect("an event")));
    assert_eq!(back, events);
}
