//! The browser tests: the page in a real headless Chromium against the real server and real
//! processes. One module per feature.

// Until the helpers become a crate of their own (next commit), each module still declares its
// own `mod common;`, loaded from `common/` beside it: the files are moved, not yet edited.
#![allow(clippy::duplicate_mod)]

#[path = "lessons.rs"]
mod lessons;
#[path = "page.rs"]
mod page;
