//! Export of the timeline for slides: a standalone SVG (title, parameters, date and a legend
//! around the scene written by [`crate::timeline::svg`], every colour resolved from the
//! page's palette) and a PNG drawn from it; and of the whole run as a Perfetto trace
//! ([`trace`]). The text assembly is pure and tested natively; the browser part only reads
//! the palette and hands the file over.

pub mod trace;

use crate::layout::process_slot;
use crate::timeline::palette::{Colour, Palette};
use crate::timeline::svg::xml_escape;

/// A demo's parameters for people: `workers=4, tasks=10, api=imap, …` (from its wire form,
/// so every parameter is there; nulls are left out).
pub fn params_text(demo: &shared::DemoRequest) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(demo) else {
        return String::new();
    };
    map.iter()
        .filter(|(k, v)| k.as_str() != "demo" && !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The header of an export.
#[derive(Clone, Copy, Debug)]
pub struct Heading<'a> {
    /// The run's title.
    pub title: &'a str,
    /// Its parameters ([`params_text`]).
    pub params: &'a str,
    /// The date of the export.
    pub date: &'a str,
}

/// A standalone SVG: a header, the timeline's drawing (`inner`, of size `width`×`height`), and
/// a legend of `processes` (id, name), coloured from `p`.
pub fn standalone_svg(
    heading: &Heading,
    width: f64,
    height: f64,
    inner: &str,
    processes: &[(u32, String)],
    p: &Palette,
) -> String {
    let header = 64.0;
    let legend_rows = processes.len().div_ceil(4) as f64;
    let total = header + height + 16.0 + legend_rows * 22.0 + 12.0;
    let mut legend = String::new();
    for (i, (proc, name)) in processes.iter().enumerate() {
        let x = 20.0 + (i % 4) as f64 * 280.0;
        let y = header + height + 16.0 + (i / 4) as f64 * 22.0;
        legend.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"14\">{}</text>",
            p.get(Colour::Process(process_slot(*proc))),
            x + 20.0,
            y + 12.0,
            xml_escape(name)
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{total}\" viewBox=\"0 0 {width} {total}\">\
<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\
<g font-family=\"DejaVu Sans, Arial, sans-serif\" fill=\"{}\">\
<text x=\"20\" y=\"28\" font-size=\"20\" font-weight=\"700\">{}</text>\
<text x=\"20\" y=\"50\" font-size=\"13\" fill=\"{}\">{} · {}</text>\
<g transform=\"translate(0 {header})\">{inner}</g>{legend}</g></svg>",
        p.get(Colour::Panel),
        p.get(Colour::Ink),
        xml_escape(heading.title),
        p.get(Colour::Muted),
        xml_escape(heading.params),
        xml_escape(heading.date),
    )
}

/// A `data:` URL of an SVG document.
pub fn svg_data_url(svg: &str) -> String {
    let mut out = String::from("data:image/svg+xml;charset=utf-8,");
    for b in svg.bytes() {
        if b.is_ascii_alphanumeric() || b" -_.~=:;/'()*!,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_carries_title_parameters_date_and_legend() {
        let svg = standalone_svg(
            &Heading {
                title: "Pool — run 1",
                params: "Pool(4).imap, 10 tasks",
                date: "2026-11-25",
            },
            1200.0,
            300.0,
            "<g class=\"lane\"></g>",
            &[(1, "PoolWorker-1".into()), (2, "PoolWorker-<2>".into())],
            &Palette::read(|name| format!("[{name}]")),
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("Pool — run 1"));
        assert!(svg.contains("Pool(4).imap, 10 tasks · 2026-11-25"));
        assert!(svg.contains("PoolWorker-&lt;2&gt;"), "names are escaped");
        assert!(
            svg.contains("fill=\"[--proc-1]\""),
            "legend colours resolved"
        );
        assert!(svg.contains("fill=\"[--panel]\""), "the theme's background");
        assert!(svg.contains("<g class=\"lane\"></g>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn parameters_read_as_key_value_pairs() {
        let text = params_text(&shared::DemoRequest::Pool(shared::PoolParams::default()));
        assert!(text.starts_with("workers=4, tasks=10, api=imap"), "{text}");
        assert!(text.contains("fail=[0]"));
        assert!(
            !text.contains("chunksize"),
            "absent parameters are left out: {text}"
        );
    }

    #[test]
    fn data_urls_escape_what_must_be_escaped() {
        let url = svg_data_url("<svg a=\"1\">#%</svg>");
        assert_eq!(
            url,
            "data:image/svg+xml;charset=utf-8,%3Csvg a=%221%22%3E%23%25%3C/svg%3E"
        );
    }
}
