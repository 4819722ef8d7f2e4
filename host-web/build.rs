//! Embeds the shared UI: builds `ui/` into `ui/dist` (ci/build-ui.sh) when npm exists and the build is missing or
//! older than its sources, then tells `routes/ui.rs` which folder to embed (`cfg(jan_full_ui)`: ui/dist; otherwise
//! the minimal page in host-web/assets, with a warning). `JAN_SKIP_UI_BUILD=1` never runs npm (an existing
//! ui/dist is still embedded).
#![allow(clippy::print_stdout)] // a build script talks to cargo on stdout

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.flatten().filter_map(|e| newest(&e.path())).max()
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let ui = root.join("ui");
    let index = ui.join("dist/index.html");
    let inputs = ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"];

    println!("cargo::rustc-check-cfg=cfg(jan_full_ui)");
    println!("cargo::rerun-if-env-changed=JAN_SKIP_UI_BUILD");
    println!("cargo::rerun-if-changed=assets");
    println!("cargo::rerun-if-changed={}", ui.join("dist").display());
    for input in inputs {
        println!("cargo::rerun-if-changed={}", ui.join(input).display());
    }

    if ui.join("package.json").is_file() {
        let built = newest(&index);
        let source = inputs.iter().filter_map(|i| newest(&ui.join(i))).max();
        let stale = match (built, source) {
            (None, _) => true,
            (Some(b), Some(s)) => s > b,
            (Some(_), None) => false,
        };
        let skip = std::env::var_os("JAN_SKIP_UI_BUILD").is_some_and(|v| !v.is_empty() && v != "0");
        let npm = Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success());
        if stale && !skip {
            if npm {
                let status = Command::new("bash").arg(root.join("ci/build-ui.sh")).status();
                if !status.is_ok_and(|s| s.success()) {
                    println!("cargo::warning=the UI build (ci/build-ui.sh) failed; see its output above");
                }
            } else {
                println!("cargo::warning=npm not found: the UI in ui/ is not (re)built");
            }
        }
    }

    if index.is_file() {
        println!("cargo::rustc-cfg=jan_full_ui");
    } else {
        println!(
            "cargo::warning=ui/dist is missing: jan-server embeds only the minimal page of host-web/assets \
             (install node and npm, or run ci/build-ui.sh)"
        );
    }
}
