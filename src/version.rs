//! What this binary is: version, git commit, compiler and target (set by `build.rs`), for
//! `kube-state-exporter version` and `--version`.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit the binary was built from, or `unknown` (no git checkout and no
/// `KSE_GIT_COMMIT` at build time).
pub const GIT_COMMIT: &str = env!("KSE_GIT_COMMIT");

/// `rustc --version` of the compiler that built it, or `unknown`.
pub const RUSTC_VERSION: &str = env!("KSE_RUSTC_VERSION");

/// The target triple, e.g. `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("KSE_TARGET");

/// What `--version` prints after the program name: `0.1.0 (commit abc1234)`.
pub const SHORT: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("KSE_GIT_COMMIT"), ")");

/// The `version` subcommand's output, one fact per line.
pub fn report() -> String {
    format!(
        "kube-state-exporter {VERSION}\n  git commit: {GIT_COMMIT}\n  rustc:      {RUSTC_VERSION}\n  target:     {TARGET}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_version_commit_compiler_and_target() {
        let report = report();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines[0], format!("kube-state-exporter {}", env!("CARGO_PKG_VERSION")));
        assert!(lines[1].starts_with("  git commit: ") && lines[1].len() > "  git commit: ".len());
        assert!(lines[2].contains("rustc"), "{report}");
        assert!(lines[3].ends_with(TARGET) && !TARGET.is_empty());
        // A git checkout (as in CI) yields a short hex commit, a source tarball "unknown".
        assert!(
            !GIT_COMMIT.is_empty() && !GIT_COMMIT.contains(char::is_whitespace),
            "{GIT_COMMIT}"
        );
        assert!(SHORT.starts_with(VERSION) && SHORT.contains(GIT_COMMIT));
    }
}
