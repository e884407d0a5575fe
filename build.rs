//! Build information for `kube-state-exporter version`: the git commit (`git rev-parse --short
//! HEAD` when the source is a git checkout, else `KSE_GIT_COMMIT` from the environment, else
//! "unknown"), the compiler's version and the target triple.

use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn git(args: &[&str]) -> Option<String> {
    output("git", args)
}

/// Asks cargo to rerun this script when `git_path` (relative to the git dir) changes, if it exists:
/// a missing path would make cargo rerun it on every build.
fn watch_git_path(git_path: &str) {
    if let Some(path) = git(&["rev-parse", "--git-path", git_path])
        && Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KSE_GIT_COMMIT");
    let commit = std::env::var("KSE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // HEAD names the branch; logs/HEAD changes on every commit, checkout and reset.
    watch_git_path("HEAD");
    watch_git_path("logs/HEAD");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".to_string());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=KSE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KSE_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=KSE_TARGET={target}");
}
