//! The page URL's query parameters (`?theme=projector&workers=4`): a configured page can be
//! bookmarked.

use leptos::prelude::window;

/// The URL query parameter `key`, if present (possibly empty).
pub fn url_opt(key: &str) -> Option<String> {
    window()
        .location()
        .search()
        .ok()
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|q| q.get(key))
}

/// The URL query parameter `key` (empty when absent).
pub fn url_value(key: &str) -> String {
    url_opt(key).unwrap_or_default()
}
