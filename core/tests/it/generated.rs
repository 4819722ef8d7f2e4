//! Files generated from the core's types and committed (so clients and reviewers see them): each must equal what
//! the core generates now. `JAN_UPDATE_GENERATED=1 cargo test -p jan-core --features typescript --test it generated`
//! rewrites them (`--workspace` runs turn the feature on through bindings-node).

use std::path::{Path, PathBuf};

use jan_core::error::ErrorCode;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Compares `path` (from the repository's root) with `content`, or writes it when asked to.
pub fn check_generated(path: &str, content: &str) {
    let file = repo_file(path);
    if std::env::var_os("JAN_UPDATE_GENERATED").is_some_and(|v| v == "1") {
        std::fs::write(&file, content).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == content,
        "{path} is not what the core generates; run `JAN_UPDATE_GENERATED=1 cargo test -p jan-core --features \
         typescript --test it generated` and commit it"
    );
}

/// bindings-node's `wire.d.ts`, from the core's types.
#[cfg(feature = "typescript")]
#[test]
fn the_typescript_declarations_are_current() {
    check_generated("bindings-node/wire.d.ts", &jan_core::wire_types::declarations());
}

#[test]
fn the_error_code_table_is_current() {
    let table = serde_json::to_string_pretty(&ErrorCode::table()).unwrap() + "\n";
    check_generated("bindings-node/error-codes.json", &table);
}
