//! The demo buttons in a real headless Chromium against the real server and real processes:
//! the two processes and the pool with their lanes, results and exit codes, a worker killed
//! from its lane, a refused command, parameters kept in the URL, run 10×.

use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn clicking_two_processes_shows_both_real_processes_their_output_and_exit_codes() {
    // Each child lingers 1.5 s so the test can check the PIDs against the kernel while they run.
    let Some(page) = Page::open(1280, 720, "?linger_ms=1500").await else {
        return;
    };
    page.click("[data-testid=demo-two_processes]").await;

    // Main process + two children.
    let lanes = page.elements("[data-testid=lane]", 3).await;
    let mut pids = Vec::new();
    for lane in &lanes[1..] {
        let pid: u32 = lane
            .attr("data-pid")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        pids.push(pid);
    }
    assert_ne!(pids[0], pids[1]);
    for &pid in &pids {
        assert_child_of_server(pid, page.server.pid());
    }
    assert_eq!(
        lanes[0].attr("data-pid").await.unwrap(),
        Some(page.server.pid().to_string())
    );

    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    let names: Vec<String> = {
        let mut v = Vec::new();
        for lane in page.elements("[data-testid=lane]", 3).await {
            v.push(lane.attr("data-name").await.unwrap().unwrap());
        }
        v
    };
    assert_eq!(names, ["MainProcess", "Process-1", "Process-2"]);
    for lane in &page.elements("[data-testid=lane]", 3).await[1..] {
        assert_eq!(
            lane.attr("data-exit-code").await.unwrap().as_deref(),
            Some("0")
        );
    }
    let markers = page.elements("[data-testid=exit-marker]", 2).await;
    for m in markers {
        assert!(m.text().await.unwrap().contains("exit 0"));
    }

    let mut lines = Vec::new();
    for line in page.elements(".console-line .text", 3).await {
        lines.push(line.text().await.unwrap());
    }
    assert!(lines.contains(&"Square: 100".to_string()), "{lines:?}");
    assert!(lines.contains(&"Cube: 1000".to_string()), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("Done!"));

    let png = page.screenshot("two-processes.png").await;
    assert!(png.starts_with(b"\x89PNG"));
    page.close().await;
    assert!(wait_gone(&pids, Duration::from_secs(2)).is_empty());
}

#[tokio::test]
async fn a_command_error_is_shown_and_the_page_keeps_working() {
    let Some(page) = Page::open(1280, 720, "?linger_ms=999999").await else {
        return;
    };
    page.click("[data-testid=demo-two_processes]").await;
    let banner = page.element("[data-testid=command-error]").await;
    assert!(banner.text().await.unwrap().contains("linger_ms"));
    page.finished_run("", "two_processes").await;
}

#[tokio::test]
async fn the_pool_demo_shows_the_error_first_then_every_result_with_core_and_worker_lanes() {
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("", "pool").await;

    let results = page.elements("[data-testid=result]", 10).await;
    let first = &results[0];
    assert_eq!(
        first.attr("data-index").await.unwrap().as_deref(),
        Some("0")
    );
    assert_eq!(
        first.attr("class").await.unwrap().as_deref(),
        Some("result error")
    );
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains("ZeroDivisionError: division by zero")
    );
    for (i, r) in results.iter().enumerate().skip(1) {
        assert_eq!(r.attr("data-index").await.unwrap(), Some(i.to_string()));
        let text = r.text().await.unwrap();
        let parts: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(&parts[..2], [format!("[{i}]"), i.to_string()], "{text}");
    }

    // One lane per core, one per process (main + four workers).
    let cores = std::thread::available_parallelism().unwrap().get();
    page.elements("[data-testid=core-lane]", cores).await;
    let lanes = page.elements("[data-testid=lane]", 5).await;
    let mut names = Vec::new();
    for lane in &lanes {
        names.push(lane.attr("data-name").await.unwrap().unwrap());
    }
    assert_eq!(names[0], "MainProcess");
    assert!(
        names[1..].iter().all(|n| n.starts_with("PoolWorker-")),
        "{names:?}"
    );

    // Ten task bars; the failed one carries its error.
    let bars = page.elements("[data-testid=task-bar]", 10).await;
    let mut failed = Vec::new();
    for bar in &bars {
        let error = bar.attr("data-error").await.unwrap().unwrap_or_default();
        if !error.is_empty() {
            failed.push((bar.attr("data-task").await.unwrap().unwrap(), error));
        }
    }
    assert_eq!(
        failed,
        [(
            "0".to_string(),
            "ZeroDivisionError: division by zero".to_string()
        )]
    );
    // The same program in Python, beside it.
    let code = page
        .element("[data-testid=python-code]")
        .await
        .text()
        .await
        .unwrap();
    assert!(code.contains("with Pool(4) as pool:"), "{code}");
    assert!(
        code.contains("raise ZeroDivisionError(\"division by zero\")"),
        "{code}"
    );
    let png = page.screenshot("pool.png").await;
    assert!(png.starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn killing_a_worker_from_its_lane_shows_the_kill_and_the_lost_task() {
    let Some(page) = Page::open(1280, 720, "?tasks=8&task_ms=1500&fail=").await else {
        return;
    };
    page.click("[data-testid=demo-pool]").await;
    // Four tasks running, one per worker.
    page.elements("[data-testid=task-bar]", 4).await;
    page.click("[data-testid=kill][data-proc='2']").await;
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;

    let killed = page.element("[data-testid=lane][data-proc='2']").await;
    assert_eq!(
        killed.attr("data-exit-code").await.unwrap().as_deref(),
        Some("-9")
    );
    assert!(killed.text().await.unwrap().contains("SIGKILL"));
    let mut lost = Vec::new();
    for bar in page
        .client
        .find_all(fantoccini::Locator::Css("[data-testid=task-bar]"))
        .await
        .unwrap()
    {
        let error = bar.attr("data-error").await.unwrap().unwrap_or_default();
        if !error.is_empty() {
            lost.push(error);
        }
    }
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0].starts_with("WorkerLost: PoolWorker-2 was killed by SIGKILL while running task"),
        "{lost:?}"
    );
    // A replacement worker took over; the caller got all eight results.
    page.elements("[data-testid=lane]", 6).await;
    page.elements("[data-testid=result]", 8).await;
}

#[tokio::test]
async fn parameters_live_in_the_url_and_restore_a_configuration() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    page.click("[data-testid=params] summary").await;
    page.element("[data-testid=param-workers]")
        .await
        .send_keys("2")
        .await
        .unwrap();
    page.element("[data-testid=param-tasks]")
        .await
        .send_keys("6")
        .await
        .unwrap();
    page.element("[data-testid=param-task_ms]")
        .await
        .send_keys("200")
        .await
        .unwrap();
    page.click("[data-testid=param-api] option[value=imap_unordered]")
        .await;
    page.click("[data-testid=param-work] option[value=cpu]")
        .await;
    let url = page.client.current_url().await.unwrap().to_string();
    for part in [
        "workers=2",
        "tasks=6",
        "task_ms=200",
        "api=imap_unordered",
        "work=cpu",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    page.click("[data-testid=demo-pool]").await;
    page.text_becomes("[data-testid=run-status]", "finished")
        .await;
    page.elements("[data-testid=lane]", 3).await;
    page.elements("[data-testid=result]", 6).await;
    // Every field reaches the demo: the run did CPU work, as its Python code says.
    let code = page
        .element("[data-testid=python-code]")
        .await
        .text()
        .await
        .unwrap();
    assert!(code.contains("burn_cpu(0.2)"), "{code}");

    // The bookmarked URL brings the same configuration back.
    page.open(&url).await;
    page.click("[data-testid=params] summary").await;
    let workers = page.element("[data-testid=param-workers]").await;
    assert_eq!(workers.prop("value").await.unwrap().as_deref(), Some("2"));
    let api = page.element("[data-testid=param-api]").await;
    assert_eq!(
        api.prop("value").await.unwrap().as_deref(),
        Some("imap_unordered")
    );
}

#[tokio::test]
async fn run_10x_tallies_the_orders_four_processes_printed_in() {
    let Some(page) = Page::open(1280, 720, "").await else {
        return;
    };
    page.click("[data-testid=run-10x]").await;
    eventually("tally stuck", 30, async || {
        let heading = page
            .client
            .find(fantoccini::Locator::Css(".tally h2"))
            .await
            .ok();
        let text = match heading {
            Some(h) => h.text().await.unwrap_or_default(),
            None => String::new(),
        };
        if text.contains("10 runs") {
            Ok(())
        } else {
            Err(format!("{text:?}"))
        }
    })
    .await;
    let mut total = 0;
    for row in page
        .client
        .find_all(fantoccini::Locator::Css("[data-testid=tally] li"))
        .await
        .unwrap()
    {
        total += row
            .attr("data-count")
            .await
            .unwrap()
            .unwrap()
            .parse::<u32>()
            .unwrap();
        let text = row.text().await.unwrap();
        for n in 1..=4 {
            assert!(text.contains(&format!("Num: {n}")), "{text}");
        }
    }
    assert_eq!(total, 10);
}
