//! The page's files, embedded at build time: `static/` plus the frontend's WebAssembly and
//! JS glue under `pkg/`, assembled by `build.rs` into `$OUT_DIR/site`, each text or wasm file
//! also compressed there once (`FILE.br`, brotli quality 11, and `FILE.gz`): a request gets the
//! best encoding it accepts, with `Content-Encoding` and `Vary: Accept-Encoding`, and no
//! compression work per request.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$OUT_DIR/site"]
struct Site;

/// The encodings served, best first: the file's suffix and the `Content-Encoding` name.
const ENCODINGS: [(&str, &str); 2] = [(".br", "br"), (".gz", "gzip")];

/// Whether an `Accept-Encoding` header accepts `coding` (a listed coding, or `*`, without
/// `q=0`).
pub fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
    })
}

/// Serves an embedded file; `/` is `index.html`; precompressed when the client accepts it.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoded = ENCODINGS.iter().find_map(|(suffix, coding)| {
        accepts(accepted, coding)
            .then(|| Site::get(&format!("{path}{suffix}")))
            .flatten()
            .map(|file| (file, *coding))
    });
    let plain = || Site::get(path).map(|file| (file, ""));
    match encoded.or_else(plain) {
        Some((file, coding)) => {
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
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if !coding.is_empty() {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
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

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_encoding_is_read_with_its_refusals() {
        let chrome = "gzip, deflate, br, zstd";
        assert!(accepts(chrome, "br") && accepts(chrome, "gzip"));
        assert!(!accepts("gzip", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("br;q=0.5", "br"));
        assert!(accepts("*", "br"));
        assert!(!accepts("", "gzip"));
    }
}
