//! The modules of this crate, and of the page's crate (`frontend/`), form layers: no module
//! imports a module that imports it back.
//!
//! Read from the sources: every `crate::…`, `super::…` and `self::…` path (outside comments)
//! and every `use <submodule>::…` names the module it reaches (the longest prefix that is a
//! module); a `mod` declaration alone is not a dependency. The check runs on two levels:
//! files (`runs::driver` → `runs::handle`) and top-level modules (`runs` → `demos`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of the crate (its path from the root) and its source.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file names")
            .to_string();
        let mut module = prefix.to_vec();
        if path.is_dir() {
            module.push(stem);
            modules(&path, &module, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || stem == "main" {
            continue;
        }
        if stem != "mod" && stem != "lib" {
            module.push(stem);
        }
        let source = std::fs::read_to_string(&path).expect("a readable source");
        out.insert(module, source);
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers of the path at the start of `code` (`a::b::C`).
fn path_after(code: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = code;
    loop {
        let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(rest[..len].to_string());
        match rest[len..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    segments
}

/// The modules `module` refers to.
fn dependencies(module: &Module, source: &str, all: &BTreeMap<Module, String>) -> BTreeSet<Module> {
    let resolve = |mut path: Vec<String>| {
        while !path.is_empty() {
            if all.contains_key(&path) {
                return Some(path);
            }
            path.pop();
        }
        None
    };
    // Inline test modules are not part of the layers.
    let source = source
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or(source);
    let mut deps = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("::") {
            let head_start = code[..at]
                .rfind(|c: char| !is_ident(c))
                .map_or(0, |i| i + 1);
            let head = &code[head_start..at];
            let base: Option<Module> = match head {
                "crate" => Some(Vec::new()),
                "self" => Some(module.clone()),
                "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
                _ => None,
            };
            let continued = code[..head_start].ends_with("::");
            let child: Module = module.iter().cloned().chain([head.to_string()]).collect();
            let base = match base {
                Some(b) if !continued => b,
                // `zygote::Zygote`: a submodule declared in this module.
                None if !continued && all.contains_key(&child) => module.clone(),
                _ => continue,
            };
            let segments = if matches!(head, "crate" | "self" | "super") {
                let segments = path_after(&code[at + 2..]);
                if segments.is_empty() {
                    // `use super::*`, `crate::{…}`: not one module.
                    continue;
                }
                segments
            } else {
                std::iter::once(head.to_string())
                    .chain(path_after(&code[at + 2..]))
                    .collect()
            };
            let path: Module = base.into_iter().chain(segments).collect();
            if let Some(target) = resolve(path)
                && &target != module
            {
                deps.insert(target);
            }
        }
    }
    deps
}

/// A cycle of the graph, if it has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

/// The file-level and top-level dependency graphs of the crate whose sources are in `src`.
type Graphs = (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
);

fn graphs(src: &Path) -> Graphs {
    let mut all = BTreeMap::new();
    modules(src, &[], &mut all);
    assert!(
        all.len() > 20,
        "the crate's modules were found: {:?}",
        all.keys()
    );
    let name = |m: &Module| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.join("::")
        }
    };
    let mut files = BTreeMap::<String, BTreeSet<String>>::new();
    let mut top = BTreeMap::<String, BTreeSet<String>>::new();
    for (module, source) in &all {
        let deps = dependencies(module, source, &all);
        for dep in &deps {
            if let (Some(from), Some(to)) = (module.first(), dep.first())
                && from != to
            {
                top.entry(from.clone()).or_default().insert(to.clone());
            }
        }
        files.insert(name(module), deps.iter().map(name).collect());
    }
    (files, top)
}

/// Neither graph has a cycle.
fn assert_layers(
    files: &BTreeMap<String, BTreeSet<String>>,
    top: &BTreeMap<String, BTreeSet<String>>,
) {
    assert_eq!(find_cycle(files), None, "modules importing each other");
    assert_eq!(
        find_cycle(top),
        None,
        "top-level modules importing each other"
    );
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let (files, top) = graphs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        files["runs::driver"].contains("demos") && files["pool::driver"].contains("context"),
        "the dependencies were read: {files:?}"
    );
    assert_layers(&files, &top);
}

/// The page's crate keeps the same rule (its sources are read from here: it has no test of
/// this kind of its own, and its native tests should not carry a copy of this one).
#[test]
fn no_module_of_the_page_imports_a_module_that_imports_it_back() {
    let (files, top) = graphs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/src"));
    assert!(
        files["run::reduce"].contains("run::model")
            && files["components::timeline"].contains("timeline::scene")
            && files["app"].contains("run"),
        "the dependencies were read: {files:?}"
    );
    assert_layers(&files, &top);
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".to_string(), "b".into(), "c".into()])
    );
    let mut acyclic = graph;
    acyclic.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&acyclic), None);
}
