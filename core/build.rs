//! The OpenAPI document is kept pretty-printed in `core/openapi.json` for review and diffs; the
//! core tests read it with the whitespace between tokens removed (`openapi::DOCUMENT`; a
//! JSON-aware strip, so member order and every string stay exactly as written). The worker does
//! not embed it: `scripts/build` writes the same bytes to `build/assets/openapi.json`, served
//! through the `ASSETS` binding.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=openapi.json");
    let text = fs::read_to_string("openapi.json").expect("read core/openapi.json");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("openapi.min.json"), minify(&text)).expect("write openapi.min.json");
}

/// `text` without the whitespace outside strings.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
