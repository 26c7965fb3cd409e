//! A browser test's fixture: a server of its own, a headless Chromium window of a chosen size
//! and the page loaded from that server. Dropping it ends everything (the browser first, so
//! the page's socket closes before its server goes), also when the test fails.

use crate::{Browser, Server};
use std::ops::Deref;

/// A page under test; derefs to its [`Browser`].
pub struct Page {
    pub browser: Browser,
    pub server: Server,
}

impl Page {
    /// Starts a browser window of `width`×`height` and a server; loads nothing yet. `None`
    /// (with a printed reason) when chromedriver is missing outside CI: the test is skipped.
    pub async fn start(width: u32, height: u32) -> Option<Page> {
        let browser = Browser::start(width, height).await?;
        Some(Page {
            browser,
            server: Server::start(),
        })
    }

    /// [`Page::start`], then loads the page with `query` (`""`, or
    /// `"?theme=projector&tasks=8"`).
    pub async fn open(width: u32, height: u32, query: &str) -> Option<Page> {
        let page = Self::start(width, height).await?;
        page.load(query).await;
        Some(page)
    }

    /// The page's address on its server, with `query`.
    fn url(&self, query: &str) -> String {
        self.server.page_url(query)
    }

    /// Loads the page again with `query` and waits until it is connected to its server.
    pub async fn load(&self, query: &str) {
        self.browser.open(&self.url(query)).await;
    }

    /// Loads the page with `query`, clicks the demo button `demo` (`pool`, `two_processes`,
    /// ...) and waits until the run has finished.
    pub async fn finished_run(&self, query: &str, demo: &str) {
        self.load(query).await;
        self.click(&format!("[data-testid=demo-{demo}]")).await;
        self.text_becomes("[data-testid=run-status]", "finished")
            .await;
    }

    /// Closes the browser's session (its tab, so the page's socket) before the server goes.
    pub async fn close(self) {
        self.browser.close().await;
    }
}

impl Deref for Page {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}
