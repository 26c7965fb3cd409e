//! Real CPython on the page: a lesson run with CPython (the page's default when the server
//! can run `python3`), its lanes, results and program; the program edited on the page and run
//! again; the runtime chosen instead.

use testkit::*;

/// Waves of a pool run: task bars (every task but the failing task 0) grouped by start,
/// starts more than a third of a second apart begin a new wave. Reads the SVG timeline.
async fn waves(b: &Browser) -> (usize, Vec<f64>) {
    let v = b
        .js(
            "const axis = document.querySelector('[data-testid=timeline]');
             const bars = [...document.querySelectorAll('[data-testid=task-bar]')]
                 .filter(g => g.dataset.task !== '0')
                 .map(g => Number(g.querySelector('rect').getAttribute('x')));
             return bars;",
        )
        .await;
    let mut xs: Vec<f64> = v
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    xs.sort_by(f64::total_cmp);
    // The pixels of one second: the timeline's scale is read off two ticks' labels.
    let scale = b
        .js(
            "const t = [...document.querySelectorAll('.axis .tick-label')]
                 .map(l => [Number(l.getAttribute('x')), parseFloat(l.textContent)])
                 .filter(([x, s]) => !Number.isNaN(s));
             if (t.length < 2) return 0;
             const [a, z] = [t[0], t[t.length - 1]];
             return (z[0] - a[0]) / (z[1] - a[1]);",
        )
        .await
        .as_f64()
        .unwrap_or(0.0);
    assert!(scale > 0.0, "the axis has labelled ticks");
    let mut n = usize::from(!xs.is_empty());
    for w in xs.windows(2) {
        if w[1] - w[0] > scale / 3.0 {
            n += 1;
        }
    }
    (n, xs)
}

/// The names of the process lanes.
async fn lanes(b: &Browser) -> Vec<String> {
    b.js("return [...document.querySelectorAll('[data-testid=lane]')].map(l => l.dataset.name)")
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lesson_runs_with_cpython_and_pool_4_edited_to_pool_2_runs_in_five_waves() {
    let _one = one_at_a_time();
    let Some(b) = Page::open(1280, 720, "?theme=projector").await else {
        return;
    };
    // python3 is on this machine: CPython is the default.
    b.element("[data-testid=run-with][data-with=cpython]").await;
    b.click("[data-testid=lesson-pool_imap]").await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    assert_eq!(b.text("[data-testid=python-file]").await, "pool_imap.py");
    let ran_with = b.text("[data-testid=ran-with]").await;
    assert!(
        ran_with.starts_with("CPython 3.") && ran_with.contains("start method fork"),
        "{ran_with}"
    );
    let lines = crate::lessons::observed(&b, 1, 30).await;
    assert!(
        lines[0].starts_with(
            "Pool(4).imap: [ZeroDivisionError: division by zero, 1, 2, 3, 4, 5, 6, 7, 8, 9] in "
        ),
        "{lines:?}"
    );
    let names = lanes(&b).await;
    for n in 1..=4 {
        assert!(
            names.contains(&format!("ForkPoolWorker-{n}")),
            "worker lanes: {names:?}"
        );
    }
    assert!(
        b.js("return document.querySelectorAll('[data-testid=core-lane]').length")
            .await
            .as_u64()
            >= Some(2),
        "per-core lanes"
    );
    // The pool's own threads in the program's main process, each in its thread lane.
    let threads = b
        .js("const lane = [...document.querySelectorAll('[data-testid=lane]')]
                 .find(l => l.dataset.name === 'MainProcess');
             return [...lane.querySelectorAll('[data-testid=thread-lane]')].map(t => t.dataset.name);")
        .await;
    let threads = threads.to_string();
    assert!(
        threads.contains("MainThread") && threads.contains("_handle_results"),
        "the pool's threads: {threads}"
    );
    let failed = b
        .js("return document.querySelector('[data-testid=task-bar][data-task=\"0\"]').dataset.error")
        .await;
    assert_eq!(failed, "ZeroDivisionError: division by zero");
    let (four, xs) = waves(&b).await;
    assert_eq!(four, 3, "Pool(4): three waves, starts at {xs:?}");
    b.screenshot("cpython-pool_imap.png").await;

    // Edit Pool(4) to Pool(2) in the program panel and run it.
    let edited = b
        .js(
            "const t = document.querySelector('[data-testid=python-editor]');
             if (!t.value.includes('mp.Pool(4)')) return false;
             t.value = t.value.replace('mp.Pool(4)', 'mp.Pool(2)');
             t.dispatchEvent(new Event('input', { bubbles: true }));
             return true;",
        )
        .await;
    assert_eq!(edited, true, "the program on the page is the one that ran");
    b.text_becomes("[data-testid=run-python]", "Run the edited program")
        .await;
    b.click("[data-testid=run-python]").await;
    b.text_becomes("[data-testid=python-file]", "main.py").await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    let editor = b
        .js("return document.querySelector('[data-testid=python-editor]').value")
        .await;
    assert!(
        editor.as_str().is_some_and(|s| s.contains("mp.Pool(2)")),
        "the panel shows what ran: {editor}"
    );
    let names = lanes(&b).await;
    assert!(
        names.contains(&"ForkPoolWorker-2".to_string())
            && !names.contains(&"ForkPoolWorker-3".to_string()),
        "two workers: {names:?}"
    );
    let (two, xs) = waves(&b).await;
    assert_eq!(two, 5, "Pool(2): five waves, starts at {xs:?}");
    b.screenshot("cpython-pool_2.png").await;
}

#[tokio::test]
async fn the_presenter_may_choose_the_runtime_and_a_python_error_shows_as_python_shows_it() {
    let _one = one_at_a_time();
    let Some(b) = Page::open(1280, 720, "").await else {
        return;
    };
    b.element("[data-testid=run-with][data-with=cpython]").await;
    b.click("[data-testid=with-runtime]").await;
    b.element("[data-testid=run-with][data-with=runtime]").await;
    b.click("[data-testid=lesson-two_processes]").await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    assert_eq!(b.text("[data-testid=ran-with]").await, "procviz runtime");
    b.element("[data-testid=python-code]").await;

    // Back to CPython; the program broken on the page: Python's own traceback, exit code 1.
    b.click("[data-testid=with-cpython]").await;
    b.click("[data-testid=lesson-two_processes]").await;
    b.text_becomes("[data-testid=python-file]", "two_processes.py")
        .await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    b.js(
        "const t = document.querySelector('[data-testid=python-editor]');
          t.value = 'import sys\\nprint(\"before\")\\nraise ValueError(\"bad value\")\\n';
          t.dispatchEvent(new Event('input', { bubbles: true }));",
    )
    .await;
    b.click("[data-testid=run-python]").await;
    b.text_becomes("[data-testid=python-file]", "main.py").await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    let console = b
        .text_contains("[data-testid=console]", "ValueError: bad value")
        .await;
    assert!(
        console.contains("Traceback (most recent call last)") && console.contains("line 3"),
        "{console}"
    );
    let exit = b
        .js("return [...document.querySelectorAll('[data-testid=lane]')].map(l => [l.dataset.name, l.dataset.exitCode])")
        .await;
    assert_eq!(
        exit,
        serde_json::json!([["procviz", ""], ["MainProcess", "1"]]),
        "procviz started the program, whose uncaught exception exits 1"
    );
}

#[tokio::test]
async fn without_a_usable_python_the_lessons_run_with_the_runtime_and_say_why() {
    let Some(b) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start_on("0", &["--python", "/nonexistent/python3"]);
    b.open(&server.page_url("")).await;
    b.element("[data-testid=run-with][data-with=runtime]").await;
    let why = b
        .text_contains("[data-testid=python-unavailable]", "/nonexistent/python3")
        .await;
    assert!(
        why.starts_with("CPython unavailable: could not run"),
        "{why}"
    );
    for theme in ["light", "projector"] {
        b.open(&server.page_url(&format!("?theme={theme}"))).await;
        b.element("[data-testid=python-unavailable]").await;
        let (ratio, text) = crate::presenter::lowest_top_bar_contrast(&b).await;
        assert!(ratio >= 4.5, "theme {theme}: {text:?} has {ratio:.1}:1");
    }
    let disabled = b
        .js("return document.querySelector('[data-testid=with-cpython]').disabled")
        .await;
    assert_eq!(disabled, true);
    b.click("[data-testid=lesson-two_processes]").await;
    b.text_becomes("[data-testid=run-status]", "finished").await;
    assert_eq!(b.text("[data-testid=ran-with]").await, "procviz runtime");
    b.close().await;
}
