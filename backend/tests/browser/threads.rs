//! Thread sub-lanes: the lesson "Threads vs processes" run by the page, its one process with
//! four threads drawn with a named sub-lane per thread, its four single-threaded processes
//! without any, and hovering a thread's sub-lane; then a real CPython run (recorded with the
//! CLI, opened in the page) whose four threads take turns under the GIL.

use crate::lessons::observed;
use crate::recording::{open_recording, record};
use testkit::*;

/// The thread sub-lanes of each lane of run `run` (`a`, `b`) of the compare panel:
/// `[[name, tid, name], …]` per lane, by the lane's process id.
async fn thread_lanes(page: &Page, run: &str) -> serde_json::Value {
    page.js(&format!(
        "return [...document.querySelectorAll('[data-testid=compare-{run}-run] [data-testid=lane]')]
            .map(l => [l.dataset.name,
                       [...l.querySelectorAll('[data-testid=thread-lane]')]
                           .map(t => [t.dataset.tid, t.dataset.name,
                                      t.querySelector('.thread-name').textContent,
                                      t.querySelectorAll('.on-cpu').length])]);"
    ))
    .await
}

#[tokio::test]
async fn threads_of_one_process_get_named_sub_lanes_and_single_threaded_ones_none() {
    let _one = one_at_a_time();
    let Some(page) = Page::open(1280, 720, "?with=runtime").await else {
        return;
    };
    page.click("[data-testid=lesson-threads_vs_processes]")
        .await;
    page.element("[data-testid=lesson][data-lesson=threads_vs_processes]")
        .await;
    let cores = page.text("[data-testid=cores]").await;
    if cores.parse::<u32>().unwrap_or(1) < 2 {
        // One run only, so no compare panel (the lesson says why).
        return;
    }
    observed(&page, 2, 40).await;

    // "4 threads, 1 process": the main lane has none; Process-1 one sub-lane per thread
    // that ran (its 4 workers and its main thread), each named and with time on a core.
    let a = thread_lanes(&page, "a").await;
    let lanes = a.as_array().expect("lanes");
    assert_eq!(lanes.len(), 2, "{a}");
    assert_eq!(lanes[0][1].as_array().map(Vec::len), Some(0), "{a}");
    let threads = lanes[1][1].as_array().expect("thread lanes");
    assert!(threads.len() >= 4, "4+ thread sub-lanes: {a}");
    let names: Vec<&str> = threads.iter().filter_map(|t| t[2].as_str()).collect();
    assert!(names.contains(&"MainThread"), "{names:?}");
    assert!(
        names.iter().filter(|n| n.starts_with("thread ")).count() >= 4,
        "the workers, named by thread ID: {names:?}"
    );
    let ran = threads
        .iter()
        .filter(|t| t[3].as_u64().is_some_and(|n| n > 0))
        .count();
    assert!(
        ran >= 4,
        "each worker thread's strip shows time on a core: {a}"
    );

    page.js("document.querySelector('[data-testid=compare-a-run]').scrollIntoView()")
        .await;
    page.screenshot("threads-lanes.png").await;

    // Hovering a worker's sub-lane names the thread and what it did then.
    let hovered = page
        .js("const t = document.querySelectorAll('[data-testid=compare-a-run] [data-testid=thread-lane]')[1];
             const r = t.querySelector('.thread-life').getBoundingClientRect();
             t.closest('svg').dispatchEvent(new PointerEvent('pointermove', {
                 clientX: r.left + r.width * 0.4, clientY: r.top + r.height / 2,
                 buttons: 0, bubbles: true, isPrimary: true, pointerId: 1 }));
             return t.dataset.name;")
        .await;
    let hover = page
        .text_contains("[data-testid=compare-a-run] [data-testid=hover]", "State")
        .await;
    let name = hovered.as_str().expect("a thread's name");
    assert!(hover.starts_with(name), "{hover:?} names {name}");
    assert!(
        hover.contains("Process-1") && hover.contains("on core"),
        "{hover:?}"
    );

    // "4 processes": single-threaded, so no sub-lanes at all.
    let b = thread_lanes(&page, "b").await;
    let lanes = b.as_array().expect("lanes");
    assert_eq!(lanes.len(), 5, "{b}");
    assert!(
        lanes
            .iter()
            .all(|l| l[1].as_array().is_some_and(Vec::is_empty)),
        "{b}"
    );
}

/// A screenshot `name` with the first thread sub-lane in the middle of the window.
async fn centred_screenshot(page: &Page, name: &str) {
    page.js(
        "document.querySelector('[data-testid=thread-lane]').scrollIntoView({block: 'center'})",
    )
    .await;
    page.screenshot(name).await;
}

/// The on-core widths of each thread sub-lane of the page's main timeline:
/// `[[name, on-core width, life width], …]`.
async fn on_core_widths(page: &Page) -> Vec<(String, f64, f64)> {
    let v = page
        .js("return [...document.querySelectorAll('section.timeline [data-testid=thread-lane]')]
            .map(t => [t.dataset.name,
                       [...t.querySelectorAll('.on-cpu')].reduce((s, r) => s + r.width.baseVal.value, 0),
                       t.querySelector('.thread-life').width.baseVal.value]);")
        .await;
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t[0].as_str().unwrap_or_default().to_string(),
                        t[1].as_f64().unwrap_or(0.0),
                        t[2].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn four_python_threads_take_turns_under_the_gil() {
    let _one = one_at_a_time();
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    // Recorded as a user would: procviz run python --program threads_vs_processes -- threads
    let (_dir, file) = record(
        "threads.ndjson",
        "run python --program threads_vs_processes -- threads",
    );
    open_recording(&page, &file).await;
    let threads = eventually("the thread sub-lanes", 20, async || {
        let threads = on_core_widths(&page).await;
        if threads.len() >= 5 {
            Ok(threads)
        } else {
            Err(format!("{threads:?}"))
        }
    })
    .await;
    let names: Vec<&str> = threads.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names[0], "MainThread", "{names:?}");
    for k in 1..=4 {
        assert!(
            names.contains(&format!("Thread-{k} (burn_cpu)").as_str()),
            "{names:?}"
        );
    }
    // The GIL: the four workers' time on a core adds up to about one core over their lives
    // (four native threads on two cores would add up to about two).
    let workers = threads.iter().filter(|t| t.0.ends_with("(burn_cpu)"));
    let on: f64 = workers.clone().map(|t| t.1).sum();
    let life = workers.map(|t| t.2).fold(0.0, f64::max);
    assert!(
        on > 0.2 * life && on < 1.4 * life,
        "on a core {on:.0} px of {life:.0} px"
    );
    centred_screenshot(&page, "threads-gil.png").await;
    // Drawn on the canvas (as big runs are), the sub-lanes keep their names in the SVG and
    // the canvas paints their strips.
    page.load("?render=canvas").await;
    open_recording(&page, &file).await;
    page.element("section.timeline[data-render=canvas]").await;
    let framed = on_core_widths(&page).await;
    assert_eq!(framed.len(), threads.len(), "{framed:?}");
    assert!(framed.iter().all(|t| t.1 == 0.0 && t.2 > 0.0), "{framed:?}");
    centred_screenshot(&page, "threads-gil-canvas.png").await;
}
