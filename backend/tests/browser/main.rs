//! The browser tests: the page in a real headless Chromium against the real server and real
//! processes. One module per feature; the helpers are the `testkit` crate.

mod big_runs;
mod connection;
mod cpython;
mod export;
mod lecture_hall;
mod lessons;
mod new_user;
mod page;
mod presenter;
mod recording;
mod replay;
mod scene;
mod threads;
mod timeline;
mod trace;
