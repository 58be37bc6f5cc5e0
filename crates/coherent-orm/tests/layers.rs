//! The import directions of docs/ARCHITECTURE.md ("Inside coherent-orm"), checked.
//!
//! The folders of `src/` are layers, listed lowest first in [`LAYERS`]. A file may name
//! (`crate::folder::..`, or an item `lib.rs` re-exports from a folder) only its own folder
//! and the folders below it; the crate-wide helpers ([`HELPERS`]) are open to all. A folder
//! above may add methods to a type of a folder below (`impl EntityManager` in `query/`), so a
//! method call can hide a dependency no `use` shows: the second test finds calls, in a lower
//! folder, of `EntityManager` methods that a higher folder defines (`em.m(`, `self.m(` in an
//! `impl EntityManager`, `EntityManager::m(`). A text search: a method whose name a lower
//! folder also defines is taken to be the lower folder's, and a receiver not named `em` is not
//! seen; the crate-wide helpers' own imports are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folders, lowest layer first.
const LAYERS: &[&str] = &[
    "entity",
    "identity",
    "relations",
    "unit_of_work",
    "context",
    "transaction",
    "query",
    "schema",
];

/// Crate-wide helpers every folder may use.
const HELPERS: &[&str] = &["setters", "doc_support", "query_log"];

struct Source {
    /// The folder (layer) the file belongs to.
    layer: usize,
    path: PathBuf,
    /// The text without comments.
    code: String,
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == name)
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap();
            let first = first.as_os_str().to_str().unwrap().trim_end_matches(".rs");
            if let Some(layer) = layer_of(first) {
                let code = strip_comments(&std::fs::read_to_string(&path).unwrap());
                out.push(Source { layer, path, code });
            } else {
                assert!(
                    first == "lib" || HELPERS.contains(&first),
                    "{} is in no layer: add its folder to LAYERS (and to docs/ARCHITECTURE.md)",
                    path.display()
                );
            }
        }
    }
    out
}

/// The folder of each item `lib.rs` re-exports (`pub use folder::file::{A, B}`).
fn reexports() -> BTreeMap<String, usize> {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut out = BTreeMap::new();
    let code = strip_comments(&lib);
    // One statement at a time, wherever its lines break.
    for statement in code.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let folder = rest.split("::").next().unwrap_or_default();
        let Some(layer) = layer_of(folder) else {
            continue;
        };
        let names = rest.rsplit("::").next().unwrap_or_default();
        for name in names
            .trim_matches(|c: char| "{};".contains(c) || c.is_whitespace())
            .split(',')
        {
            let name = name.trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), layer);
            }
        }
    }
    out
}

/// Every first segment after `crate::` (inside `crate::{..}` groups too).
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(ident(item.trim()));
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn folders_import_only_from_layers_below() {
    let reexported = reexports();
    let mut violations = BTreeSet::new();
    for source in sources() {
        for name in crate_paths(&source.code) {
            let target = layer_of(&name).or_else(|| reexported.get(&name).copied());
            if let Some(target) = target
                && target > source.layer
            {
                violations.insert(format!(
                    "{} ({}) names crate::{name} ({})",
                    source.path.display(),
                    LAYERS[source.layer],
                    LAYERS[target]
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers of docs/ARCHITECTURE.md:\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The name of the function `line` defines, if it defines one.
fn defined_fn(line: &str) -> Option<String> {
    let line = line
        .trim_start()
        .trim_start_matches("pub(crate) ")
        .trim_start_matches("pub(super) ")
        .trim_start_matches("pub ")
        .trim_start_matches("async ");
    line.strip_prefix("fn ").map(ident)
}

/// The `impl EntityManager` blocks of `code` (written with or without `crate::`), each up to
/// the first line that is a lone `}`.
fn entity_manager_impls(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    loop {
        let next = ["impl EntityManager {", "impl crate::EntityManager {"]
            .iter()
            .filter_map(|head| rest.find(head))
            .min();
        let Some(i) = next else {
            return out;
        };
        rest = &rest[i..];
        let end = rest.find("\n}").unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
}

/// The methods the `impl EntityManager` blocks of `code` define.
fn entity_manager_methods(code: &str) -> Vec<String> {
    entity_manager_impls(code)
        .into_iter()
        .flat_map(|block| block.lines().filter_map(defined_fn))
        .collect()
}

/// Whether `code` calls `method` on an EntityManager: `em.method(`, `EntityManager::method(`,
/// or `self.method(` inside an `impl EntityManager` block.
fn calls_on_entity_manager(code: &str, method: &str) -> bool {
    let on_em = code.match_indices(&format!(".{method}(")).any(|(i, _)| {
        let before = code[..i].trim_end();
        let receiver = before.trim_end_matches("()?");
        receiver.ends_with("em")
            && !receiver[..receiver.len() - 2].ends_with(|c: char| c.is_alphanumeric() || c == '_')
    });
    on_em
        || code.contains(&format!("EntityManager::{method}("))
        || entity_manager_impls(code)
            .iter()
            .any(|block| block.contains(&format!("self.{method}(")))
}

#[test]
fn no_folder_calls_an_entity_manager_method_of_a_folder_above() {
    let sources = sources();
    // Every method name defined anywhere, with the lowest layer that defines a `fn` of that
    // name (a name a lower folder also defines is ambiguous in a text search, so it is the
    // lower folder's).
    let mut lowest_fn: BTreeMap<String, usize> = BTreeMap::new();
    for source in &sources {
        for name in source.code.lines().filter_map(defined_fn) {
            let entry = lowest_fn.entry(name).or_insert(source.layer);
            *entry = (*entry).min(source.layer);
        }
    }
    let mut violations = BTreeSet::new();
    for upper in &sources {
        for method in entity_manager_methods(&upper.code) {
            if lowest_fn.get(&method) != Some(&upper.layer) {
                continue;
            }
            for lower in sources.iter().filter(|s| s.layer < upper.layer) {
                if calls_on_entity_manager(&lower.code, &method) {
                    violations.insert(format!(
                        "{} ({}) calls EntityManager::{method}, defined in {} ({})",
                        lower.path.display(),
                        LAYERS[lower.layer],
                        upper.path.display(),
                        LAYERS[upper.layer]
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "calls against the layers of docs/ARCHITECTURE.md:\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}
