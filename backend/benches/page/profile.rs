//! `PROCVIZ_BENCH_PROFILE=1`: a CPU profile of the page around each phase that streams or
//! loads, saved for Chromium's DevTools and summed up by function.

use crate::cdp::cdp;
use serde_json::{Value, json};
use std::path::Path;
use testkit::Browser;

/// `PROCVIZ_BENCH_PROFILE=1`: a CPU profile of the page (CDP `Profiler`, every 250 µs) around
/// each phase that streams or loads, saved as `target/page-bench/<phase>.cpuprofile` (open it
/// in Chromium's DevTools) and summed up by function under the table.
pub fn profiling() -> bool {
    std::env::var("PROCVIZ_BENCH_PROFILE").is_ok_and(|v| v == "1")
}

pub async fn profile_start(browser: &Browser) {
    if profiling() {
        cdp(browser, "Profiler.enable", json!({})).await;
        cdp(
            browser,
            "Profiler.setSamplingInterval",
            json!({ "interval": 250 }),
        )
        .await;
        cdp(browser, "Profiler.start", json!({})).await;
    }
}

/// Stops the profiler (if on), saves the profile and returns its summary.
pub async fn profile_stop(browser: &Browser, phase: &str) -> Option<String> {
    if !profiling() {
        return None;
    }
    let stopped = cdp(browser, "Profiler.stop", json!({})).await;
    let profile = &stopped["profile"];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/page-bench");
    std::fs::create_dir_all(&dir).expect("profile directory");
    let file = dir.join(format!("{phase}.cpuprofile"));
    std::fs::write(&file, profile.to_string()).expect("write the profile");
    Some(format!(
        "Profile of \"{phase}\" ({}):\n{}",
        file.display(),
        summarise(profile)
    ))
}

/// A function's name without the hashes of Rust symbols (`::h` and 16 hex digits): the
/// WebAssembly name section gives them demangled but hashed.
pub fn without_hashes(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("::h") {
        let hash = rest.get(at + 3..at + 19);
        out.push_str(&rest[..at]);
        rest = if hash.is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit())) {
            &rest[at + 19..]
        } else {
            out.push_str("::h");
            &rest[at + 3..]
        };
    }
    out.push_str(rest);
    out
}

/// The functions the profile's time went to: the top 15 by self time, and the top 20 of the
/// page's own code, its view library and its decoding by total time (the function anywhere on
/// the stack), in ms and % of the profile.
pub fn summarise(profile: &Value) -> String {
    let empty = Vec::new();
    let nodes = profile["nodes"].as_array().unwrap_or(&empty);
    let mut index = std::collections::HashMap::new();
    let mut names = Vec::with_capacity(nodes.len());
    let mut parent = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        index.insert(n["id"].as_u64().unwrap_or(0), i);
        let frame = &n["callFrame"];
        let name = frame["functionName"].as_str().unwrap_or_default();
        names.push(if name.is_empty() {
            let url = frame["url"].as_str().unwrap_or_default();
            format!(
                "(anonymous) {}:{}",
                url.rsplit('/').next().unwrap_or_default(),
                frame["lineNumber"].as_i64().unwrap_or(0) + 1
            )
        } else {
            without_hashes(name)
        });
    }
    for (i, n) in nodes.iter().enumerate() {
        for child in n["children"].as_array().unwrap_or(&empty) {
            if let Some(&c) = child.as_u64().and_then(|id| index.get(&id)) {
                parent[c] = Some(i);
            }
        }
    }
    let samples: Vec<usize> = profile["samples"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|id| index.get(&id.as_u64()?).copied())
        .collect();
    let deltas: Vec<f64> = profile["timeDeltas"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let mut self_ms: std::collections::HashMap<&str, f64> = Default::default();
    let mut total_ms: std::collections::HashMap<&str, f64> = Default::default();
    let mut whole = 0.0;
    for (k, &node) in samples.iter().enumerate() {
        // A sample lasts until the next one.
        let ms = deltas.get(k + 1).copied().unwrap_or(0.0) / 1000.0;
        whole += ms;
        *self_ms.entry(&names[node]).or_default() += ms;
        let mut seen = std::collections::HashSet::new();
        let mut at = Some(node);
        while let Some(i) = at {
            if seen.insert(names[i].as_str()) {
                *total_ms.entry(&names[i]).or_default() += ms;
            }
            at = parent[i];
        }
    }
    let top =
        |map: &std::collections::HashMap<&str, f64>, n: usize, keep: &dyn Fn(&str) -> bool| {
            let mut v: Vec<(&str, f64)> = map
                .iter()
                .filter(|(n, _)| keep(n))
                .map(|(n, ms)| (*n, *ms))
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v.iter()
                .take(n)
                .map(|(n, ms)| {
                    let n: String = n.chars().take(140).collect();
                    format!(
                        "  {ms:9.0} ms {:5.1} %  {n}\n",
                        ms / whole.max(f64::MIN_POSITIVE) * 100.0
                    )
                })
                .collect::<String>()
        };
    let own = |n: &str| {
        [
            "frontend::",
            "<tachys::",
            "tachys::",
            "shared::",
            "serde_json::de::from",
        ]
        .iter()
        .any(|p| n.starts_with(p))
    };
    format!(
        "{whole:.0} ms profiled: idle {:.0} ms, (program) {:.0} ms (outside script: style, layout, paint, …), GC {:.0} ms\nby self time:\n{}the page's code, its view library and decoding, by total time:\n{}",
        self_ms.get("(idle)").copied().unwrap_or(0.0),
        self_ms.get("(program)").copied().unwrap_or(0.0),
        self_ms.get("(garbage collector)").copied().unwrap_or(0.0),
        top(&self_ms, 15, &|n| !matches!(
            n,
            "(root)" | "(program)" | "(idle)" | "(garbage collector)"
        )),
        top(&total_ms, 20, &own)
    )
}
