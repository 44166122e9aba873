//! Reading what `wrangler.toml` and JavaScript modules declare, without a TOML or JS parser:
//! just enough to check the Durable Object classes the deployment needs are exported.

/// The `class_name = "…"` values of `wrangler.toml` (the Durable Object bindings).
pub fn durable_object_classes(wrangler_toml: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in wrangler_toml.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("class_name") {
            rest = &rest[i + "class_name".len()..];
            let value = rest.trim_start().strip_prefix('=').map(str::trim_start);
            if let Some(name) = value.and_then(|v| v.strip_prefix('"')) {
                if let Some(end) = name.find('"') {
                    out.push(name[..end].to_owned());
                }
            }
        }
    }
    out
}

/// The names an ES module exports through `export { a as B, C }` lists (what esbuild writes
/// at the end of a bundle), in order.
pub fn module_exports(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = js;
    while let Some(i) = rest.find("export") {
        rest = &rest[i + "export".len()..];
        let Some(list) = rest.trim_start().strip_prefix('{') else {
            continue;
        };
        let Some(end) = list.find('}') else { break };
        for item in list[..end].split(',') {
            let name = item.rsplit(" as ").next().unwrap_or(item).trim();
            if !name.is_empty() {
                out.push(name.to_owned());
            }
        }
        rest = &list[end..];
    }
    out
}

/// A top-level `key = "value"` of a TOML file (before the first table header).
pub fn toml_string(toml: &str, key: &str) -> Option<String> {
    toml.lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .and_then(|(_, v)| v.split('#').next())
        .map(|v| v.trim().trim_matches('"').to_owned())
}

/// The module paths of `export * from "…"` statements.
pub fn star_reexports(js: &str) -> Vec<String> {
    js.split("export")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('*'))
        .filter_map(|rest| rest.trim_start().strip_prefix("from"))
        .filter_map(|rest| {
            let rest = rest.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let rest = &rest[1..];
            rest.find(quote).map(|end| rest[..end].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_durable_object_classes() {
        let toml = r#"
[durable_objects]
bindings = [
  { name = "TENANT", class_name = "Tenant" },
  { name = "ROOM", class_name="Room" },
]
# { name = "OLD", class_name = "Old" }
"#;
        assert_eq!(durable_object_classes(toml), ["Tenant", "Room"]);
    }

    #[test]
    fn finds_module_exports() {
        let js = "var a=1;export{ze as ContainerStartupOptions,Pe as Room,Te as default};";
        assert_eq!(
            module_exports(js),
            ["ContainerStartupOptions", "Room", "default"]
        );
        assert_eq!(
            module_exports("export { Tenant, x as Room }"),
            ["Tenant", "Room"]
        );
        assert!(module_exports("export default 1; export * from './x.js'").is_empty());
    }

    #[test]
    fn finds_star_reexports_and_top_level_strings() {
        let js = "import X from \"../build/index.js\";\nexport * from \"../build/index.js\";\nexport * from './b.js'";
        assert_eq!(star_reexports(js), ["../build/index.js", "./b.js"]);
        let toml = "name = \"edge-api\"\nmain = \"worker/entry.mjs\" # entry\n[vars]\nmain = \"x\"";
        assert_eq!(
            toml_string(toml, "main").as_deref(),
            Some("worker/entry.mjs")
        );
        assert_eq!(toml_string(toml, "missing"), None);
    }
}
