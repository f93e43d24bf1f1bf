//! Helpers shared by the flow tests: snapshots, loading a folder, reading the SVG back.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use std::path::{Path, PathBuf};

use stepline_flows::FlowSet;
use stepline_runtime::manifest::ManifestSet;
use stepline_runtime::registry::Registry;

/// A folder relative to the `flows` crate.
pub fn crate_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Loads a manifest folder against the handlers of this test binary and builds its flows.
pub fn flows_of(dir: &Path) -> FlowSet {
    let set = ManifestSet::load(dir, &Registry::collect())
        .unwrap_or_else(|e| panic!("manifests in {} do not load: {e}", dir.display()));
    FlowSet::build(&set.steps)
}

/// Compares `actual` with `tests/snapshots/NAME`; `UPDATE_SNAPSHOTS=1` rewrites the file
/// instead (then review the diff before committing it).
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = crate_path("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if actual != expected {
        let first = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or(actual.lines().count().min(expected.lines().count()));
        panic!(
            "{name} differs from the snapshot from line {}:\n--- actual\n{actual}\n--- expected\n{expected}",
            first + 1
        );
    }
}

/// What the SVG holds, read back with an independent XML parser.
#[derive(Debug, Default)]
pub struct SvgParts {
    /// `id`s of the `<g>` elements of each class, in document order.
    pub nodes: Vec<String>,
    pub edges: Vec<String>,
    pub topics: Vec<String>,
    pub dangling: Vec<String>,
    /// Every text node, trimmed.
    pub texts: Vec<String>,
}

/// Parses the SVG (a parse error fails the test) and collects its groups by class.
pub fn svg_parts(svg: &str) -> SvgParts {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG is not XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let mut parts = SvgParts::default();
    for el in doc.descendants().filter(|n| n.is_element()) {
        if el.tag_name().name() == "text" {
            parts.texts.push(el.text().unwrap_or("").trim().to_string());
        }
        if el.tag_name().name() != "g" {
            continue;
        }
        let classes: Vec<&str> = el.attribute("class").unwrap_or("").split(' ').collect();
        let id = el.attribute("id").unwrap_or("").to_string();
        for (class, list) in [
            ("node", &mut parts.nodes),
            ("edge", &mut parts.edges),
            ("topic", &mut parts.topics),
            ("dangling", &mut parts.dangling),
        ] {
            if classes.contains(&class) {
                list.push(id.clone());
            }
        }
    }
    parts
}
