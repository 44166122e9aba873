//! Every Durable Object class bound in `wrangler.toml` is exported by the build and by the
//! module wrangler deploys (`main`), so a class cannot silently vanish from the wasm.

use crate::support::{trial, Suite};
use edge_tests::manifest::{durable_object_classes, module_exports, star_reexports, toml_string};
use edge_tests::project;
use libtest_mimic::Trial;
use std::path::Path;

pub fn trials() -> Vec<Trial> {
    vec![trial!(durable_object_classes_are_exported)]
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn durable_object_classes_are_exported(_s: &Suite) {
    let root = project::root();
    let toml = read(&root.join("wrangler.toml"));
    let classes = durable_object_classes(&toml);
    assert!(
        !classes.is_empty(),
        "wrangler.toml binds no Durable Object class"
    );

    let build = root.join("build/index.js");
    let exported = module_exports(&read(&build));
    for class in &classes {
        assert!(
            exported.contains(class),
            "build/index.js does not export {class} (exports: {exported:?})"
        );
    }

    let main = toml_string(&toml, "main").expect("wrangler.toml has `main`");
    let entry = root.join(&main);
    if entry.canonicalize().ok() != build.canonicalize().ok() {
        let text = read(&entry);
        let reexports_build = star_reexports(&text).iter().any(|from| {
            let target = entry.parent().unwrap_or(root).join(from);
            target.canonicalize().ok() == build.canonicalize().ok()
        });
        let named = module_exports(&text);
        for class in &classes {
            assert!(
                reexports_build || named.contains(class),
                "{main} neither re-exports build/index.js nor exports {class}"
            );
        }
    }
}
