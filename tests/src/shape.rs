//! The shape rules of STYLE.md items 10 and 12 as a test: no source file over [`MAX_LINES`]
//! (a trailing inline `#[cfg(test)] mod tests` left out) and no import circle among the files
//! of a crate. A mirror of `../shared/tools/rust-shape`: the same module names, the same edges
//! (`crate::a::b` paths, `crate::{a, b}` groups, `super::` paths, found by text, so a doc
//! comment naming a path counts), the same figures. It reads files and may not change them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The most lines a source file may have, its inline unit tests left out.
pub const MAX_LINES: usize = 400;

/// What [`check`] found in one crate's sources.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// `(lines, path relative to the crate root)` of every file over [`MAX_LINES`].
    pub long_files: Vec<(usize, String)>,
    /// Every import circle: the modules (`a::b`, `""` for the crate root), sorted.
    pub circles: Vec<Vec<String>>,
}

impl Shape {
    pub fn is_clean(&self) -> bool {
        self.long_files.is_empty() && self.circles.is_empty()
    }
}

/// Reads every `.rs` file under `root` (a crate's `src`) and checks it.
pub fn scan(root: &Path) -> std::io::Result<Shape> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("walked from root");
                let rel = rel
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/");
                let bytes = std::fs::read(&path)?;
                files.push((rel, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    Ok(check(&files))
}

/// Checks one crate given as `(path relative to its src, text)` pairs.
pub fn check(files: &[(String, String)]) -> Shape {
    let modules: BTreeMap<String, &str> = files
        .iter()
        .map(|(rel, text)| (module_name(rel), text.as_str()))
        .collect();
    let mut long_files: Vec<(usize, String)> = files
        .iter()
        .map(|(rel, text)| (counted_lines(text), rel.clone()))
        .filter(|(n, _)| *n > MAX_LINES)
        .collect();
    long_files.sort_by(|a, b| b.cmp(a));
    let edges: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, text)| (m.as_str(), edges_of(m, text, &modules)))
        .collect();
    Shape {
        long_files,
        circles: circles(&edges),
    }
}

/// `a/b.rs` → `a::b`, `a/mod.rs` → `a`, `lib.rs` and `main.rs` → `""` (the tool's rule,
/// including its `(::)?mod$` suffix strip).
pub fn module_name(rel: &str) -> String {
    let m = rel.strip_suffix(".rs").unwrap_or(rel).replace('/', "::");
    let m = match m.strip_suffix("mod") {
        Some(rest) => rest.strip_suffix("::").unwrap_or(rest).to_owned(),
        None => m,
    };
    if m == "lib" || m == "main" {
        String::new()
    } else {
        m
    }
}

/// Lines that count: everything before a `#[cfg(test)]` at the start of a line followed by
/// `mod tests` on a later line (the tool's `\n#\[cfg\(test\)\]\s*\n\s*mod tests`).
pub fn counted_lines(text: &str) -> usize {
    let mut end = text.len();
    for (at, _) in text.match_indices("\n#[cfg(test)]") {
        let rest = &text[at + "\n#[cfg(test)]".len()..];
        let after_ws = rest.trim_start();
        let ws = &rest[..rest.len() - after_ws.len()];
        if ws.contains('\n') && after_ws.starts_with("mod tests") {
            end = at;
            break;
        }
    }
    text[..end].matches('\n').count() + 1
}

/// The text edges are read from: cut at the first `#[cfg(test)] mod tests {` (the tool's
/// `#\[cfg\(test\)\]\s*mod tests\s*\{.*`).
fn without_tests(text: &str) -> &str {
    for (at, _) in text.match_indices("#[cfg(test)]") {
        let rest = text[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(rest) = rest.strip_prefix("mod tests") {
            if rest.trim_start().starts_with('{') {
                return &text[..at];
            }
        }
    }
    text
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every `prefix` followed by `word(::word)*`, leftmost and non-overlapping, as the regex
/// `prefix((?:\w+::)*\w+)` finds them: the path without the prefix.
fn paths_after<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(prefix) {
        let start = from + at + prefix.len();
        let mut end = start;
        let mut cursor = start;
        loop {
            let word = text[cursor..]
                .char_indices()
                .find(|(_, c)| !is_word(*c))
                .map_or(text.len() - cursor, |(i, _)| i);
            if word == 0 {
                break;
            }
            end = cursor + word;
            if text[end..].starts_with("::") {
                cursor = end + 2;
            } else {
                break;
            }
        }
        if end > start {
            found.push(&text[start..end]);
            from = end;
        } else {
            // No match here: the search goes on one character later.
            from = from + at + text[from + at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

/// The bodies of `crate::{…}` groups, up to the first `}`.
fn groups(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("crate::{") {
        let start = from + at + "crate::{".len();
        match text[start..].find('}') {
            Some(len) => {
                found.push(&text[start..start + len]);
                from = start + len + 1;
            }
            None => break,
        }
    }
    found
}

/// The longest module prefix of a crate path.
fn resolve<'m>(path: &str, modules: &'m BTreeMap<String, &str>) -> Option<&'m str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .find_map(|k| modules.get_key_value(&parts[..k].join("::")))
        .map(|(m, _)| m.as_str())
}

/// The modules `module` names, other than itself and the crate root.
fn edges_of(module: &str, text: &str, modules: &BTreeMap<String, &str>) -> BTreeSet<String> {
    let src = without_tests(text);
    let mut out = BTreeSet::new();
    let mut add = |t: Option<&str>| {
        if let Some(t) = t.filter(|t| *t != module && !t.is_empty()) {
            out.insert(t.to_owned());
        }
    };
    for path in paths_after(src, "crate::") {
        add(resolve(path, modules));
    }
    for group in groups(src) {
        for item in group.split(|c: char| c == ',' || c.is_whitespace()) {
            if !item.is_empty() {
                add(resolve(item.split("::").next().unwrap_or(item), modules));
            }
        }
    }
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    for path in paths_after(src, "super::") {
        let full = if parent.is_empty() {
            path.to_owned()
        } else {
            format!("{parent}::{path}")
        };
        add(resolve(&full, modules));
    }
    out
}

/// The strongly connected components with more than one module (Tarjan), each sorted.
fn circles(edges: &BTreeMap<&str, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'e> {
        edges: &'e BTreeMap<&'e str, BTreeSet<String>>,
        index: BTreeMap<&'e str, usize>,
        low: BTreeMap<&'e str, usize>,
        stack: Vec<&'e str>,
        on_stack: BTreeSet<&'e str>,
        out: Vec<Vec<String>>,
    }
    impl<'e> Walk<'e> {
        fn visit(&mut self, v: &'e str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            let edges = self.edges;
            for w in edges[v].iter().map(String::as_str) {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> Shape {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        check(&files)
    }

    fn lines(n: usize) -> String {
        "// line\n".repeat(n - 1) + "// last"
    }

    /// The repository's crates, as `scripts/test` runs them (`../shared/tools/rust-shape`).
    fn assert_shape(src: &str) {
        let shape = scan(&crate::project::root().join(src)).expect("the sources are readable");
        assert!(shape.is_clean(), "{src}: {shape:#?}");
    }

    #[test]
    fn the_core_crate_has_the_shape() {
        assert_shape("core/src");
    }

    #[test]
    fn the_durable_objects_crate_has_the_shape() {
        assert_shape("durable_objects/src");
    }

    #[test]
    fn the_worker_crate_has_the_shape() {
        assert_shape("src");
    }

    #[test]
    fn module_names_follow_the_files() {
        assert_eq!(module_name("lib.rs"), "");
        assert_eq!(module_name("main.rs"), "");
        assert_eq!(module_name("mod.rs"), "");
        assert_eq!(module_name("a.rs"), "a");
        assert_eq!(module_name("a/mod.rs"), "a");
        assert_eq!(module_name("a/b.rs"), "a::b");
    }

    #[test]
    fn a_two_file_circle_is_found() {
        let shape = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::thing;\n"),
            ("b.rs", "pub fn thing() { crate::a::other() }\n"),
        ]);
        assert_eq!(shape.circles, vec![vec!["a".to_owned(), "b".to_owned()]]);
    }

    #[test]
    fn a_chain_is_no_circle_and_the_root_is_no_target() {
        let shape = crate_of(&[
            ("lib.rs", "pub use crate::a::x;\n"),
            ("a.rs", "use crate::b::y;\nuse crate::Thing;\n"),
            ("b/mod.rs", "use crate::c;\n"),
            ("c.rs", "use crate::{Root, d};\n"),
            ("d.rs", ""),
        ]);
        assert!(shape.is_clean(), "{shape:?}");
    }

    #[test]
    fn groups_and_super_paths_are_edges() {
        let shape = crate_of(&[
            ("a.rs", "use crate::{b::x, c};\n"),
            ("c.rs", ""),
            ("b/mod.rs", "mod x;\n"),
            ("b/x.rs", "use super::super::a::f;\n"),
        ]);
        // `super::super::a` from `b::x` resolves (as the tool does) to `b`, not to `a`.
        assert!(shape.circles.is_empty(), "{shape:?}");
        let shape = crate_of(&[
            ("a.rs", "use crate::{b::x, c};\n"),
            ("b/mod.rs", "mod x;\n"),
            ("b/x.rs", "fn f() { super::helper() }\n"),
            ("b/y.rs", "use super::x::f;\nuse crate::a;\n"),
        ]);
        assert!(shape.circles.is_empty(), "{shape:?}");
        let shape = crate_of(&[
            ("b/mod.rs", "mod x;\nmod y;\n"),
            ("b/x.rs", "use super::y::g;\n"),
            ("b/y.rs", "use super::x::f;\n"),
        ]);
        assert_eq!(
            shape.circles,
            vec![vec!["b::x".to_owned(), "b::y".to_owned()]]
        );
    }

    #[test]
    fn a_doc_comment_naming_a_path_counts() {
        let shape = crate_of(&[
            ("a.rs", "//! Called from [`crate::b::run`].\n"),
            ("b.rs", "pub fn run() { crate::a::go() }\n"),
        ]);
        assert_eq!(shape.circles.len(), 1);
    }

    #[test]
    fn the_tests_block_is_left_out_of_edges_and_lines() {
        let body = lines(399);
        let text = format!("{body}\n\n#[cfg(test)]\nmod tests {{\n    use crate::b::x;\n}}\n");
        let shape = crate_of(&[("a.rs", &text), ("b.rs", "use crate::a::y;\n")]);
        assert!(shape.is_clean(), "{shape:?}");
        assert_eq!(
            counted_lines(&text),
            400,
            "the blank line before the block counts"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_long() {
        let shape = crate_of(&[("ok.rs", &lines(400)), ("long.rs", &lines(401))]);
        assert_eq!(shape.long_files, vec![(401, "long.rs".to_owned())]);
        // A `#[cfg(test)]` on another item does not end the counted part.
        let text = format!("// top\n#[cfg(test)]\nfn helper() {{}}\n{}", lines(400));
        assert_eq!(counted_lines(&text), 403);
    }

    #[test]
    fn paths_are_read_as_the_regex_reads_them() {
        assert_eq!(
            paths_after("use crate::a::b::{c, d}; crate::e; crate::", "crate::"),
            vec!["a::b", "e"]
        );
        assert_eq!(groups("use crate::{a::{b, c}, d};"), vec!["a::{b, c"]);
    }
}
