//! The layers are the architecture, so a test keeps them: each top-level
//! module of `src/` may use only the modules before it in `LAYERS`, and
//! nothing below `web` may name actix. (`../shared/tools/layering` checks
//! the same from outside; this runs with `cargo test`, in CI.)

use std::path::{Path, PathBuf};

/// From the bottom up: each may use those before it.
const LAYERS: [&str; 7] = ["domain", "config", "db", "mail", "core", "web", "cli"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file's code (tests excluded) names with `crate::`.
fn named_modules(code: &str) -> Vec<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            names.extend(
                group.split(',').filter_map(|item| item.trim().split("::").next()).map(str::to_owned),
            );
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            names.push(name);
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn every_layer_uses_only_the_layers_below_it_and_only_web_knows_actix() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let top = relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or_default();
        let top = top.trim_end_matches(".rs");
        let Some(level) = LAYERS.iter().position(|l| *l == top) else { continue };
        let code = std::fs::read_to_string(&file).expect("read a source file");
        for name in named_modules(&code) {
            if LAYERS.iter().position(|l| *l == name).is_some_and(|used| used > level) {
                wrong.push(format!("{} uses crate::{name}, a layer above {top}", relative.display()));
            }
        }
        let web = LAYERS.iter().position(|l| *l == "web").unwrap_or_default();
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        if level < web && ["actix_web", "actix_session", "actix_http"].iter().any(|a| code.contains(a)) {
            wrong.push(format!("{} names actix below the web layer", relative.display()));
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_reads_both_forms_of_use() {
    let names = named_modules(
        "use crate::{db::Db, web::x};\nlet a = crate::core::f();\n#[cfg(test)]\nuse crate::cli;",
    );
    assert_eq!(names, ["db", "web", "core"]);
}
