//! Lecture-hall mode in real browsers: a student's page opened with the view-only URL
//! follows the presenter's run live and offers nothing that starts or stops runs; the
//! presenter's page counts the students. And a page whose token went stale (procviz was
//! restarted) says what to open instead of reconnecting forever.

use testkit::*;

/// The view-only URL `server` printed after its own (`--share` on 127.0.0.2).
fn viewer_url(server: &mut Server) -> String {
    let line = server.stdout_line();
    line.trim()
        .strip_prefix("students (view-only): ")
        .unwrap_or_else(|| panic!("no viewer URL: {line:?}"))
        .to_string()
}

#[tokio::test]
async fn a_students_page_follows_the_presenters_run_and_offers_no_controls() {
    let _one = one_at_a_time();
    let mut server = Server::start_on("0", &["--share", "127.0.0.2"]);
    let student_url = viewer_url(&mut server);
    let Some(presenter) = Browser::start(1280, 720).await else {
        return;
    };
    let Some(student) = Browser::start(1280, 720).await else {
        return;
    };
    presenter
        .open(&server.page_url("?task_ms=600&tasks=8"))
        .await;
    student
        .open(&format!("{student_url}&theme=projector"))
        .await;
    student
        .text_contains("[data-testid=role]", "view-only")
        .await;
    presenter
        .text_becomes("[data-testid=audience]", "1 viewer")
        .await;
    let controls = student
        .js("return document.querySelectorAll(
               '[data-testid^=lesson-], [data-testid^=demo-], [data-testid=cancel], [data-testid=run-10x]'
             ).length")
        .await;
    assert_eq!(
        controls, 0,
        "a student's page has no start or cancel controls"
    );
    // The presenter starts a run; the student's page shows it live, without kill buttons.
    presenter.click("[data-testid=demo-pool]").await;
    student
        .text_becomes("[data-testid=run-status]", "running")
        .await;
    presenter.elements("[data-testid=kill]", 4).await;
    assert_eq!(
        student
            .js("return document.querySelectorAll('[data-testid=kill]').length")
            .await,
        0,
        "no kill buttons for a student"
    );
    student
        .text_becomes("[data-testid=run-status]", "finished")
        .await;
    student.elements("[data-testid=result]", 8).await;
    let first = student.text("[data-testid=result]").await;
    assert!(
        first.contains("ZeroDivisionError"),
        "the error first: {first}"
    );
    // A lesson key on a student's page starts nothing and says why.
    student
        .js("document.body.dispatchEvent(new KeyboardEvent('keydown', {key: '1', bubbles: true})); return true;")
        .await;
    student
        .text_contains("[data-testid=command-error]", "view-only")
        .await;
    student.click("[data-testid=command-error] .dismiss").await;
    student.screenshot("viewer.png").await;
    assert_eq!(
        presenter.text("[data-testid=run-status]").await,
        "finished",
        "the student's key started nothing on the server"
    );
    student.close().await;
    presenter.elements("[data-testid=audience]", 0).await;
    presenter.close().await;
}

#[tokio::test]
async fn a_page_whose_token_went_stale_says_to_open_the_new_url() {
    let _one = one_at_a_time();
    let Some(b) = Browser::start(1280, 720).await else {
        return;
    };
    let first = Server::start();
    let port = first
        .addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    b.open(&first.page_url("")).await;
    // procviz is restarted on the same port: a new token, the page's cookie is stale.
    drop(first);
    let second = Server::start_on(&port, &[]);
    b.text_contains("[data-testid=connection]", "open the URL procviz printed")
        .await;
    assert_eq!(
        b.element("[data-testid=connection]")
            .await
            .attr("data-state")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("NeedsToken")
    );
    // The new URL works at once.
    b.open(&second.page_url("")).await;
    b.close().await;
}
