//! The pool demo's parameters, kept in the page's URL so a configured demo can be bookmarked
//! and shared (`?workers=2&tasks=6&api=imap_unordered…`).

use leptos::prelude::*;

pub use crate::app::url::{url_opt, url_value};

/// Sets (or, when empty, removes) `key` in the page's URL without reloading.
fn set_url_value(key: &str, value: &str) {
    let location = window().location();
    let Ok(search) = location.search() else {
        return;
    };
    let Ok(query) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return;
    };
    if value.is_empty() {
        query.delete(key);
    } else {
        query.set(key, value);
    }
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    let q = String::from(query.to_string());
    let url = if q.is_empty() {
        path
    } else {
        format!("{path}?{q}")
    };
    if let Ok(history) = window().history()
        && history
            .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
            .is_err()
    {
        leptos::logging::warn!("procviz: could not update the URL");
    }
}

/// A text or number field bound to a URL parameter.
#[component]
fn Field(key: &'static str, label: &'static str, placeholder: &'static str) -> impl IntoView {
    view! {
        <label class="param">
            {label}
            <input
                data-testid=format!("param-{key}")
                name=key
                placeholder=placeholder
                value=url_value(key)
                on:input=move |ev| set_url_value(key, &event_target_value(&ev))
            />
        </label>
    }
}

/// A choice bound to a URL parameter.
#[component]
fn Choice(
    key: &'static str,
    label: &'static str,
    options: &'static [&'static str],
) -> impl IntoView {
    let current = url_value(key);
    view! {
        <label class="param">
            {label}
            <select data-testid=format!("param-{key}") name=key on:change=move |ev| set_url_value(key, &event_target_value(&ev))>
                {options
                    .iter()
                    .map(|o| view! { <option value=*o selected=current == *o>{*o}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// The pool parameters (empty fields: the seed example's values).
#[component]
pub fn PoolParamsForm() -> impl IntoView {
    view! {
        <details class="params" data-testid="params">
            <summary>"Pool parameters (kept in the URL)"</summary>
            <div class="fields">
                <Field key="workers" label="workers" placeholder="4" />
                <Field key="tasks" label="tasks" placeholder="10" />
                <Choice key="api" label="API" options=&["imap", "map", "imap_unordered", "apply_async"] />
                <Choice key="work" label="work" options=&["sleep", "cpu", "none"] />
                <Field key="task_ms" label="task ms" placeholder="1000" />
                <Field key="fail" label="failing tasks" placeholder="0" />
                <Field key="chunksize" label="chunksize" placeholder="default" />
                <Field key="cores" label="cores" placeholder="all" />
            </div>
        </details>
    }
}
