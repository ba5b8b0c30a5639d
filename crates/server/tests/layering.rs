//! The layering ARCHITECTURE.md promises, checked on the source: inside
//! `kyojo-hub` and `kyojo-server`, file-level imports (`crate::module`,
//! `super::module`) form no circle, and nothing in the hub names HTTP.
//!
//! A crate's root (`lib.rs`) and a directory's `mod.rs` are left out as
//! nodes: they declare modules and assemble routes, so everything is below
//! them by construction; an import of a root item (`crate::AppState`) is
//! not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`api`, `api::views`, `ui::pages`) → source file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(src.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("name")
                .to_string();
            let module = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}::{name}")
            };
            if path.is_dir() {
                stack.push((path, module));
            } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "mod"
            {
                out.insert(module, path);
            }
        }
    }
    out
}

/// Identifier-ish segments after `anchor` (`crate::api::views::X` → `api`, `views`, `X`).
fn paths_after<'a>(text: &'a str, anchor: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(anchor) {
        let before = text[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + anchor.len()..];
        let segs: Vec<&str> = rest
            .split("::")
            .map(|s| {
                let end = s
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(s.len());
                &s[..end]
            })
            .take_while(|s| !s.is_empty())
            .collect();
        out.push(segs);
    }
    out
}

/// Edges module → module (the longest known module a path names).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &mods {
        let text = std::fs::read_to_string(file).expect("read file");
        let parent: Vec<&str> = module.split("::").collect();
        let parent = &parent[..parent.len() - 1];
        let mut targets = Vec::new();
        for segs in paths_after(&text, "crate::") {
            targets.push(segs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        for segs in paths_after(&text, "super::") {
            let mut full: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
            full.extend(segs.iter().map(|s| s.to_string()));
            targets.push(full);
        }
        for t in targets {
            let found = (1..=t.len())
                .rev()
                .map(|n| t[..n].join("::"))
                .find(|m| mods.contains_key(m));
            if let Some(target) = found {
                if &target != module {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        edges.entry(module.clone()).or_default();
    }
    edges
}

/// A circle, if there is one (depth-first search).
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut c = path[from..].to_vec();
                    c.push(next.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            if let Some(c) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_file_imports_another_in_a_circle() {
    for krate in ["hub", "server"] {
        let edges = graph(&crate_src(krate));
        assert!(edges.len() > 5, "{krate}: too few modules found");
        if let Some(c) = circle(&edges) {
            panic!("{krate}: import circle {}", c.join(" → "));
        }
    }
}

#[test]
fn the_hub_names_no_http() {
    for (module, file) in modules(&crate_src("hub")) {
        let text = std::fs::read_to_string(&file).expect("read");
        for word in ["axum", "hyper", "tower", "http::", "StatusCode"] {
            assert!(!text.contains(word), "hub::{module} mentions {word}");
        }
    }
}

#[test]
fn the_checker_finds_a_circle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.insert("a".into(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".into(), BTreeSet::from(["a".to_string()]));
    assert!(circle(&edges).is_some());
    edges.insert("b".into(), BTreeSet::new());
    assert!(circle(&edges).is_none());
}
