//! The page's files, embedded at build time: `static/` plus the frontend's WebAssembly and
//! JS glue under `pkg/`, assembled by `build.rs` into `$OUT_DIR/site`.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$OUT_DIR/site"]
struct Site;

/// Serves an embedded file; `/` is `index.html`.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Site::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let cache = if path == "index.html" {
                "no-cache"
            } else {
                "public, max-age=60"
            };
            let mut response = file.data.into_owned().into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Whether the frontend was built into this binary (false when built with
/// `PROCVIZ_SKIP_FRONTEND=1`).
pub fn frontend_built() -> bool {
    Site::get("pkg/frontend_bg.wasm").is_some()
}
