//! The page in a real headless Chromium against the real server and real processes.

use std::time::Duration;
use testkit::*;

#[tokio::test]
async fn clicking_two_processes_shows_both_real_processes_their_output_and_exit_codes() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    // Each child lingers 1.5 s so the test can check the PIDs against the kernel while they run.
    browser
        .open(&format!("{}?linger_ms=1500", server.url()))
        .await;
    browser.click("[data-testid=demo-two_processes]").await;

    // Main process + two children.
    let lanes = browser.elements("[data-testid=lane]", 3).await;
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
        assert_child_of_server(pid, server.pid());
    }
    assert_eq!(
        lanes[0].attr("data-pid").await.unwrap(),
        Some(server.pid().to_string())
    );

    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    let names: Vec<String> = {
        let mut v = Vec::new();
        for lane in browser.elements("[data-testid=lane]", 3).await {
            v.push(lane.attr("data-name").await.unwrap().unwrap());
        }
        v
    };
    assert_eq!(names, ["MainProcess", "Process-1", "Process-2"]);
    for lane in &browser.elements("[data-testid=lane]", 3).await[1..] {
        assert_eq!(
            lane.attr("data-exit-code").await.unwrap().as_deref(),
            Some("0")
        );
    }
    let markers = browser.elements("[data-testid=exit-marker]", 2).await;
    for m in markers {
        assert!(m.text().await.unwrap().contains("exit 0"));
    }

    let mut lines = Vec::new();
    for line in browser.elements(".console-line .text", 3).await {
        lines.push(line.text().await.unwrap());
    }
    assert!(lines.contains(&"Square: 100".to_string()), "{lines:?}");
    assert!(lines.contains(&"Cube: 1000".to_string()), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("Done!"));

    let png = browser.screenshot("two-processes.png").await;
    assert!(png.starts_with(b"\x89PNG"));
    browser.close().await;
    assert!(wait_gone(&pids, Duration::from_secs(2)).is_empty());
}

#[tokio::test]
async fn a_command_error_is_shown_and_the_page_keeps_working() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .open(&format!("{}?linger_ms=999999", server.url()))
        .await;
    browser.click("[data-testid=demo-two_processes]").await;
    let banner = browser.element("[data-testid=command-error]").await;
    assert!(banner.text().await.unwrap().contains("linger_ms"));
    browser.finished_run(&server.url(), "two_processes").await;
    browser.close().await;
}

#[tokio::test]
async fn after_a_reload_the_finished_run_comes_back() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.finished_run(&server.url(), "two_processes").await;
    browser.client.refresh().await.unwrap();
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser.elements("[data-testid=lane]", 3).await;
    browser.elements(".console-line", 3).await;
    browser.close().await;
}

#[tokio::test]
async fn the_pool_demo_shows_the_error_first_then_every_result_with_core_and_worker_lanes() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.finished_run(&server.url(), "pool").await;

    let results = browser.elements("[data-testid=result]", 10).await;
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
    browser.elements("[data-testid=core-lane]", cores).await;
    let lanes = browser.elements("[data-testid=lane]", 5).await;
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
    let bars = browser.elements("[data-testid=task-bar]", 10).await;
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
    let code = browser
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
    let png = browser.screenshot("pool.png").await;
    assert!(png.starts_with(b"\x89PNG"));
    browser.close().await;
}

#[tokio::test]
async fn killing_a_worker_from_its_lane_shows_the_kill_and_the_lost_task() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .open(&format!("{}?tasks=8&task_ms=1500&fail=", server.url()))
        .await;
    browser.click("[data-testid=demo-pool]").await;
    // Four tasks running, one per worker.
    browser.elements("[data-testid=task-bar]", 4).await;
    browser.click("[data-testid=kill][data-proc='2']").await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;

    let killed = browser.element("[data-testid=lane][data-proc='2']").await;
    assert_eq!(
        killed.attr("data-exit-code").await.unwrap().as_deref(),
        Some("-9")
    );
    assert!(killed.text().await.unwrap().contains("SIGKILL"));
    let mut lost = Vec::new();
    for bar in browser
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
    browser.elements("[data-testid=lane]", 6).await;
    browser.elements("[data-testid=result]", 8).await;
    browser.close().await;
}

#[tokio::test]
async fn the_projector_theme_applies_and_is_read_from_the_url() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.open(&server.url()).await;
    let size = |b: &Browser| {
        let client = b.client.clone();
        async move {
            client
                .execute(
                    "return getComputedStyle(document.documentElement).fontSize",
                    vec![],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(size(&browser).await, "16px");
    browser
        .click("[data-testid=theme] option[value=projector]")
        .await;
    browser.element("html[data-theme=projector]").await;
    assert_eq!(size(&browser).await, "20px");
    // A bookmarked configuration keeps its theme, and the pool demo reads its parameters.
    browser
        .open(&format!(
            "{}?theme=projector&tasks=10&workers=4&fail=0",
            server.url()
        ))
        .await;
    browser.element("html[data-theme=projector]").await;
    browser.click("[data-testid=demo-pool]").await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser.elements("[data-testid=result]", 10).await;
    browser.screenshot("pool-projector.png").await;
    browser.close().await;
}

/// Clicks "Export SVG" and returns the document it offers for download.
async fn exported_svg(browser: &Browser) -> String {
    browser.click("[data-testid=export-svg]").await;
    let href = browser
        .element("[data-testid=export-svg-link]")
        .await
        .attr("href")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    percent_decode(
        href.strip_prefix("data:image/svg+xml;charset=utf-8,")
            .expect("an SVG data URL"),
    )
}

#[tokio::test]
async fn svg_and_png_exports_are_valid_files_with_the_run_baked_in() {
    use base64::Engine;
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=4&task_ms=200", server.url()), "pool")
        .await;

    let svg = exported_svg(&browser).await;
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert!(svg.ends_with("</svg>"));
    assert!(svg.contains("procviz — Pool (run 1)"));
    assert!(
        svg.contains("workers=4, tasks=4, api=imap"),
        "parameters baked in"
    );
    assert!(svg.contains("PoolWorker-4"), "legend");
    assert!(
        svg.contains("data-testid=\"task-bar\""),
        "the drawing itself"
    );
    assert_eq!(svg.matches("<svg").count(), 1, "one standalone document");

    browser.click("[data-testid=export-png]").await;
    let href = browser
        .element("[data-testid=export-png-link]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            href.strip_prefix("data:image/png;base64,")
                .expect("a PNG data URL"),
        )
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 2400, "drawn at twice the timeline's width");
    std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/export.png"),
        &png,
    )
    .unwrap();
    browser.close().await;
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_reload_during_a_run_finds_it_still_running_and_intact() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .open(&format!("{}?tasks=8&task_ms=1000&fail=0", server.url()))
        .await;
    browser.click("[data-testid=demo-pool]").await;
    browser.elements("[data-testid=task-bar]", 5).await;
    browser.client.refresh().await.unwrap();
    browser
        .element("[data-testid=connection][data-state=Connected]")
        .await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    // Nothing was lost: every result, the error first, and no cancellation.
    let results = browser.elements("[data-testid=result]", 8).await;
    assert!(
        results[0]
            .text()
            .await
            .unwrap()
            .contains("ZeroDivisionError")
    );
    browser.elements("[data-testid=lane]", 5).await;
    browser.close().await;
}

#[tokio::test]
async fn parameters_live_in_the_url_and_restore_a_configuration() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.open(&server.url()).await;
    browser.click("[data-testid=params] summary").await;
    browser
        .element("[data-testid=param-workers]")
        .await
        .send_keys("2")
        .await
        .unwrap();
    browser
        .element("[data-testid=param-tasks]")
        .await
        .send_keys("6")
        .await
        .unwrap();
    browser
        .element("[data-testid=param-task_ms]")
        .await
        .send_keys("200")
        .await
        .unwrap();
    browser
        .click("[data-testid=param-api] option[value=imap_unordered]")
        .await;
    browser
        .click("[data-testid=param-work] option[value=cpu]")
        .await;
    let url = browser.client.current_url().await.unwrap().to_string();
    for part in [
        "workers=2",
        "tasks=6",
        "task_ms=200",
        "api=imap_unordered",
        "work=cpu",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    browser.click("[data-testid=demo-pool]").await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser.elements("[data-testid=lane]", 3).await;
    browser.elements("[data-testid=result]", 6).await;
    // Every field reaches the demo: the run did CPU work, as its Python code says.
    let code = browser
        .element("[data-testid=python-code]")
        .await
        .text()
        .await
        .unwrap();
    assert!(code.contains("burn_cpu(0.2)"), "{code}");

    // The bookmarked URL brings the same configuration back.
    browser.open(&url).await;
    browser.click("[data-testid=params] summary").await;
    let workers = browser.element("[data-testid=param-workers]").await;
    assert_eq!(workers.prop("value").await.unwrap().as_deref(), Some("2"));
    let api = browser.element("[data-testid=param-api]").await;
    assert_eq!(
        api.prop("value").await.unwrap().as_deref(),
        Some("imap_unordered")
    );
    browser.close().await;
}

#[tokio::test]
async fn a_result_and_its_task_bar_highlight_each_other() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=6&task_ms=200", server.url()), "pool")
        .await;
    browser.click("[data-testid=result][data-index='3']").await;
    let bar = browser
        .element("[data-testid=task-bar][data-task='3']")
        .await;
    assert!(
        bar.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
    browser.click("[data-testid=task-bar][data-task='5']").await;
    let five = browser
        .element("[data-testid=result][data-index='5']")
        .await;
    assert!(
        five.attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
    let three = browser
        .element("[data-testid=result][data-index='3']")
        .await;
    assert!(
        !three
            .attr("class")
            .await
            .unwrap()
            .unwrap()
            .contains("selected")
    );
    browser.close().await;
}

#[tokio::test]
async fn the_scrub_cursor_shows_the_run_at_a_chosen_moment() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.finished_run(&server.url(), "pool").await;
    // Press the axis in the middle of the plot (about 1.6 s into the 3 s run: second wave).
    browser
        .client
        .execute(
            "const svg = document.querySelector('[data-testid=timeline]');
             const r = svg.getBoundingClientRect();
             const s = r.width / 1200;
             const x = r.left + (200 + (1200 - 200 - 90) / 2) * s;
             const y = r.top + 15 * s;
             document.querySelector('[data-testid=scrub]').dispatchEvent(
               new PointerEvent('pointerdown', { clientX: x, clientY: y, buttons: 1, bubbles: true }));",
            vec![],
        )
        .await
        .unwrap();
    let (state, text) = eventually("no cursor state", 10, async || {
        let state = browser.element("[data-testid=cursor-state]").await;
        let text = state.text().await.unwrap();
        if text.starts_with("at ") {
            Ok((state, text))
        } else {
            Err(text)
        }
    })
    .await;
    assert_eq!(
        state.attr("data-running").await.unwrap().as_deref(),
        Some("4"),
        "{text}"
    );
    assert!(text.contains("4 processes alive"), "{text}");
    assert!(
        text.contains("5 results"),
        "results 0–4 were consumed by then: {text}"
    );
    browser.close().await;
}

#[tokio::test]
async fn replay_rebuilds_the_run_in_time_and_steps_go_event_by_event() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=8&task_ms=500", server.url()), "pool")
        .await;
    browser.elements("[data-testid=result]", 8).await;

    browser.click("[data-testid=replay]").await;
    let count = |b: &Browser| {
        let c = b.client.clone();
        async move {
            c.find_all(fantoccini::Locator::Css("[data-testid=result]"))
                .await
                .unwrap()
                .len()
        }
    };
    // Partway through the replay, only the results consumed by then are shown.
    eventually("no partial state seen during the replay", 10, async || {
        let n = count(&browser).await;
        let label = browser.text("[data-testid=replay-time]").await;
        if (1..8).contains(&n) && label.starts_with("replay") {
            Ok(())
        } else {
            Err(format!("{n} results, {label:?}"))
        }
    })
    .await;
    // It ends showing everything again.
    browser
        .text_becomes("[data-testid=replay-time]", "showing everything")
        .await;
    assert_eq!(count(&browser).await, 8);

    // Stepping back from the end goes to the last event, then further back.
    browser.click("[data-testid=step-back]").await;
    let label = browser
        .element("[data-testid=replay-time]")
        .await
        .text()
        .await
        .unwrap();
    assert!(label.starts_with("replay"), "{label}");
    browser.close().await;
}

#[tokio::test]
async fn the_wheel_zooms_around_the_pointer_and_keys_pan_and_reset() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=8&task_ms=500", server.url()), "pool")
        .await;
    let ticks = |b: &Browser| {
        let c = b.client.clone();
        async move {
            let mut labels = Vec::new();
            for t in c
                .find_all(fantoccini::Locator::Css(".tick-label"))
                .await
                .unwrap()
            {
                labels.push(t.text().await.unwrap());
            }
            labels
        }
    };
    let before = ticks(&browser).await;
    assert_eq!(before.first().map(String::as_str), Some("0.0 s"));
    // Wheel up three times over the middle of the plot.
    let wheel = "const svg = document.querySelector('[data-testid=timeline]');
        const r = svg.getBoundingClientRect(); const s = r.width / 1200;
        const x = r.left + (200 + (1200 - 200 - 90) / 2) * s; const y = r.top + 200 * s;
        for (let i = 0; i < 3; i++) svg.dispatchEvent(new WheelEvent('wheel',
            { clientX: x, clientY: y, deltaY: -100, bubbles: true, cancelable: true }));";
    browser.client.execute(wheel, vec![]).await.unwrap();
    let zoomed = eventually("the axis changed", 5, async || {
        let now = ticks(&browser).await;
        if now != before {
            Ok(now)
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
    assert_ne!(
        zoomed.first().map(String::as_str),
        Some("0.0 s"),
        "zoomed into the middle: {zoomed:?}"
    );
    // Keys: 0 resets to the whole run.
    browser
        .element("section.timeline")
        .await
        .send_keys("0")
        .await
        .unwrap();
    eventually("reset did not restore the axis", 5, async || {
        let now = ticks(&browser).await;
        if now == before {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
    browser.close().await;
}

#[tokio::test]
async fn the_connection_state_shows_a_countdown_and_comes_back() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let mut first = Server::start();
    let port = first.addr.rsplit(':').next().unwrap().to_string();
    browser.open(&first.url()).await;
    first.signal_and_wait(libc::SIGTERM, Duration::from_secs(5));
    let badge = browser
        .element("[data-testid=connection][data-state^=Reconnecting]")
        .await;
    let text = badge.text().await.unwrap();
    assert!(text.starts_with("disconnected — reconnecting in"), "{text}");
    let _second = Server::start_on(&port, &[]);
    // Back by itself (the countdown grows 1, 2, 4, 8 s between failed attempts).
    eventually("not reconnected", 20, async || {
        let state = browser
            .element("[data-testid=connection]")
            .await
            .attr("data-state")
            .await
            .unwrap()
            .unwrap_or_default();
        if state == "Connected" {
            Ok(())
        } else {
            Err(state)
        }
    })
    .await;
    browser.close().await;
}

#[tokio::test]
async fn run_10x_tallies_the_orders_four_processes_printed_in() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.open(&server.url()).await;
    browser.click("[data-testid=run-10x]").await;
    eventually("tally stuck", 30, async || {
        let heading = browser
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
    for row in browser
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
    browser.close().await;
}

#[tokio::test]
async fn hovering_a_bar_shows_its_details_and_a_console_line_links_to_its_bar() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=6&task_ms=300", server.url()), "pool")
        .await;
    // The failed task's bar: name, PID, times, cores and the error, in the hover panel.
    let bar = "[data-testid=task-bar][data-task='0'] rect";
    browser.pointer_at("pointermove", bar, 0.5, 0.5, 0).await;
    let hover = browser.text("[data-testid=hover]").await;
    for expected in [
        "Task 0",
        "PoolWorker-",
        "(PID ",
        "Start",
        "Duration",
        "Core(s)",
        "ZeroDivisionError: division by zero",
    ] {
        assert!(
            hover.contains(expected),
            "{expected:?} missing from {hover:?}"
        );
    }
    // Task 4 starts right after task 0 fails on the same worker: its label is not hidden
    // under the failed bar drawn on top.
    let clear = browser
        .js("const f = document.querySelector('[data-testid=task-bar][data-task=\"0\"] rect');
             const t = document.querySelector('[data-testid=task-bar][data-task=\"4\"] text');
             return Number(t.getAttribute('x')) >= Number(f.getAttribute('x')) + Number(f.getAttribute('width'));")
        .await;
    assert_eq!(clear, true, "task 4's label clears the failed bar");
    // A process lane away from its bars: the process itself.
    browser
        .pointer_at(
            "pointermove",
            "[data-testid=lane][data-proc='1'] .lane-name",
            0.5,
            0.5,
            0,
        )
        .await;
    let hover = browser.text("[data-testid=hover]").await;
    assert!(
        hover.contains("Exit code") && hover.contains("Allowed on"),
        "{hover:?}"
    );
    // "Process PoolWorker-k started working on task 3" links to task 3's bar.
    let link = browser
        .element("[data-testid=console-task][data-task='3']")
        .await;
    link.click().await.expect("click the console link");
    browser
        .element("[data-testid=task-bar][data-task='3'].selected")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn dragging_the_plot_pans_the_zoomed_timeline() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(&format!("{}?tasks=8&task_ms=250", server.url()), "pool")
        .await;
    let ticks = || async {
        browser
            .js("return [...document.querySelectorAll('[data-testid=timeline] .tick-label')].map(t => t.textContent).join(' ')")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    browser
        .js("document.querySelector('section.timeline').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); document.querySelector('section.timeline').dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); return true;")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let zoomed = ticks().await;
    // Drag from the right of the plot to its left: later times come into view.
    let plot = "[data-testid=timeline]";
    browser.pointer_at("pointerdown", plot, 0.8, 0.6, 1).await;
    browser.pointer_at("pointermove", plot, 0.6, 0.6, 1).await;
    browser.pointer_at("pointermove", plot, 0.4, 0.6, 1).await;
    browser.pointer_at("pointerup", plot, 0.4, 0.6, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let panned = ticks().await;
    assert_ne!(zoomed, panned, "the drag moved the axis");
    let first = |s: &str| {
        s.split(' ')
            .next()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("a first tick label: {s:?}"))
    };
    assert!(
        first(&panned) > first(&zoomed),
        "dragging left shows later times: {zoomed} → {panned}"
    );
    browser.close().await;
}

/// Non-transparent pixels on the timeline's canvas.
async fn canvas_ink(browser: &Browser) -> u64 {
    browser
        .js(
            "const c = document.querySelector('[data-testid=timeline-canvas]');
             if (!c.width) return 0;
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
             return n;",
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_big_run_is_drawn_on_a_canvas_with_level_of_detail_and_stays_inspectable() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser
        .finished_run(
            &format!(
                "{}?tasks=20000&task_ms=0&work=none&fail=0,9999",
                server.url()
            ),
            "pool",
        )
        .await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    assert_eq!(
        browser
            .js("return document.querySelectorAll('[data-testid=task-bar]').length")
            .await,
        0,
        "no SVG element per task"
    );
    assert!(
        canvas_ink(&browser).await > 10_000,
        "the canvas shows the bars"
    );
    // Long lists are elided, not rendered 20,000 times.
    browser
        .text_contains("[data-testid=results-elided]", "19870 more results")
        .await;
    assert_eq!(
        browser
            .js("return document.querySelectorAll('[data-testid=result]').length")
            .await,
        130
    );
    // Pointing into a worker lane names the task under the pointer (hit-testing, no DOM):
    // somewhere along the lane there is one.
    let mut hover = String::new();
    for step in 1..40 {
        browser
            .pointer_at(
                "pointermove",
                "[data-testid=lane][data-proc='1'] .bar.running",
                f64::from(step) / 40.0,
                0.5,
                0,
            )
            .await;
        hover = browser.text("[data-testid=hover]").await;
        if hover.starts_with("Task ") {
            break;
        }
    }
    assert!(hover.starts_with("Task "), "{hover:?}");
    assert!(hover.contains("PoolWorker-1"), "{hover:?}");
    // The SVG export carries the canvas's shapes as vectors (merged, so the file stays small),
    // the failed tasks among them.
    let svg = exported_svg(&browser).await;
    let rects = svg.matches("<rect").count();
    assert!(
        (20..20_000).contains(&rects),
        "{rects} rects for 20,000 tasks"
    );
    assert!(svg.contains("fill=\"#c2410c\""), "failed tasks exported");
    browser.close().await;
}

#[tokio::test]
async fn a_recorded_run_opens_from_its_ndjson_file() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    browser.open(&server.url()).await;
    // Record a run with the CLI, as a user would: procviz run pool ... > run.ndjson
    let dir = std::env::temp_dir().join(format!("procviz-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("run.ndjson");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_procviz"))
        .args([
            "run",
            "pool",
            "--tasks",
            "5000",
            "--work",
            "none",
            "--task-ms",
            "0",
        ])
        .output()
        .expect("procviz run");
    assert!(out.status.success());
    std::fs::write(&file, &out.stdout).expect("write the recording");
    let input = browser.element("[data-testid=open-recording]").await;
    input
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    eventually("the recording's title", 30, async || {
        let title = browser.text("section.timeline h2").await;
        if title.contains("recording run.ndjson") {
            Ok(())
        } else {
            Err(format!("{title:?}"))
        }
    })
    .await;
    browser
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    browser
        .element("section.timeline[data-render=canvas]")
        .await;
    let first = browser.elements("[data-testid=result]", 130).await;
    assert!(
        first[0]
            .text()
            .await
            .unwrap_or_default()
            .contains("ZeroDivisionError")
    );
    // A file that is not a recording: a clear error, nothing else changes.
    let bad = dir.join("notes.ndjson");
    std::fs::write(&bad, "hello\n").expect("write");
    input
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose");
    let banner = browser.text("[data-testid=command-error]").await;
    assert!(banner.contains("not a procviz recording"), "{banner}");
    assert!(
        browser
            .text("section.timeline h2")
            .await
            .contains("recording run.ndjson")
    );
    // A live run replaces the recording (even with the same run number).
    browser.click("[data-testid=demo-two_processes]").await;
    browser
        .text_becomes("section.timeline h2", "Two processes — run 1")
        .await;
    browser.elements("[data-testid=lane]", 3).await;
    let _ = std::fs::remove_dir_all(&dir);
    browser.close().await;
}

#[tokio::test]
async fn load_from_outside_the_run_is_drawn_on_the_core_lanes() {
    let Some(browser) = Browser::start(1280, 720).await else {
        return;
    };
    let server = Server::start();
    // Another program keeps a core busy while a sleeping pool runs (ended however the test
    // ends).
    struct Burner(std::process::Child);
    impl Drop for Burner {
        fn drop(&mut self) {
            if let Err(e) = self.0.kill() {
                eprintln!("ending the busy loop: {e}");
            }
            let _ = self.0.wait();
        }
    }
    let burner = Burner(
        std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("start a busy loop"),
    );
    browser
        .finished_run(
            &format!("{}?tasks=4&task_ms=1000&fail=", server.url()),
            "pool",
        )
        .await;
    drop(burner);
    let outside = browser
        .js(
            "return [...document.querySelectorAll('[data-testid=core-lane] .outside-load')]
                 .map(r => Number(r.getAttribute('height')))",
        )
        .await;
    let heights: Vec<f64> = outside
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    assert!(
        heights.iter().filter(|h| **h > 10.0).count() >= 3,
        "the busy loop shows as outside load: {heights:?}"
    );
    let legend = browser.text(".legend").await;
    assert!(legend.contains("load from outside the run"), "{legend}");
    browser.close().await;
}
