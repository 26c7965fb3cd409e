//! Export SVG / PNG: standalone files with the run baked in.

use testkit::*;

/// Clicks "Export SVG" and returns the document it offers for download (a link left by an
/// earlier export is removed first, so this one is read).
pub(crate) async fn exported_svg(browser: &Browser) -> String {
    browser
        .js("const a = document.querySelector('[data-testid=export-svg-link]'); if (a) a.remove(); return true;")
        .await;
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
    let Some(page) = Page::start(1280, 720).await else {
        return;
    };
    page.finished_run("?tasks=4&task_ms=200", "pool").await;

    let svg = exported_svg(&page).await;
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

    page.click("[data-testid=export-png]").await;
    let href = page
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
    save_picture("export.png", &png);
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
