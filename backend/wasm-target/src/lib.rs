//! Makes sure the `wasm32-unknown-unknown` target is installed before procviz's page is
//! built, adding it with rustup where rustup is present (a toolchain pinned by
//! `rust-toolchain.toml` gets its targets only when rustup installs the toolchain itself, not
//! when the toolchain was already there, and `RUSTUP_AUTO_INSTALL=0` adds nothing).
//!
//! It runs twice in a build: in this crate's own build script, which has no dependencies and
//! so runs near the start of a cold build (a missing target is found in seconds, not after
//! minutes of compiling), and in the backend's build script right before the page is
//! compiled. The decision ([`decide`]) is a pure function, tested natively.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The page's target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// What to do about the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It is installed: nothing to do.
    Installed,
    /// Add it with this rustup, for this toolchain (the one cargo runs under, if known).
    Add {
        /// The rustup binary.
        rustup: PathBuf,
        /// `RUSTUP_TOOLCHAIN`, as rustup's proxies set it for cargo.
        toolchain: Option<String>,
    },
    /// It is missing and cannot be added here: this sentence says what to do.
    Missing(String),
}

/// Whether to add the target: `installed` (its standard library is in the sysroot), the
/// rustup found, if any, and the toolchain cargo runs under.
pub fn decide(installed: bool, rustup: Option<PathBuf>, toolchain: Option<String>) -> Decision {
    match (installed, rustup) {
        (true, _) => Decision::Installed,
        (false, Some(rustup)) => Decision::Add { rustup, toolchain },
        (false, None) => Decision::Missing(format!(
            "the {TARGET} target is not installed and rustup was not found, so the page cannot \
             be built: install the target for your Rust (with rustup: `rustup target add \
             {TARGET}`), or set PROCVIZ_SKIP_FRONTEND=1 to build without the page"
        )),
    }
}

/// Whether the target's standard library is in `rustc`'s sysroot.
pub fn installed(rustc: &OsString) -> Result<bool, String> {
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run {}: {e}", Path::new(rustc).display()))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(sysroot
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir())
}

/// The rustup that manages this toolchain: `$CARGO_HOME/bin/rustup`, `~/.cargo/bin/rustup`,
/// or the first on `PATH`.
pub fn find_rustup() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let candidates = cargo_home
        .map(|h| h.join("bin").join("rustup"))
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join("rustup"))
                .collect::<Vec<_>>(),
        );
    candidates.into_iter().find(|p| p.is_file())
}

/// Makes sure the target is there: `Ok(Some(line))` when it was added (the line says so),
/// `Ok(None)` when it already was, `Err` with what to do when it cannot be.
pub fn ensure() -> Result<Option<String>, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let decision = decide(
        installed(&rustc)?,
        find_rustup(),
        std::env::var("RUSTUP_TOOLCHAIN").ok(),
    );
    match decision {
        Decision::Installed => Ok(None),
        Decision::Missing(why) => Err(why),
        Decision::Add { rustup, toolchain } => {
            let mut cmd = Command::new(&rustup);
            cmd.args(["target", "add", TARGET]);
            if let Some(t) = &toolchain {
                cmd.args(["--toolchain", t]);
            }
            // Its progress on stderr; cargo's build-script stdout is for directives only.
            cmd.stdout(std::process::Stdio::null());
            let status = cmd
                .status()
                .map_err(|e| format!("could not run {}: {e}", rustup.display()))?;
            if !status.success() {
                return Err(format!(
                    "`rustup target add {TARGET}` failed ({status}); run it yourself, or set \
                     PROCVIZ_SKIP_FRONTEND=1 to build without the page"
                ));
            }
            if !installed(&rustc)? {
                return Err(format!(
                    "`rustup target add {TARGET}` succeeded but {} still lacks it: is this \
                     cargo's rustc managed by that rustup?",
                    Path::new(&rustc).display()
                ));
            }
            Ok(Some(format!(
                "the {TARGET} target was missing: added it with `rustup target add {TARGET}`"
            )))
        }
    }
}

/// Whether the page is skipped (`PROCVIZ_SKIP_FRONTEND=1`): then no target is needed.
pub fn page_skipped() -> bool {
    std::env::var_os("PROCVIZ_SKIP_FRONTEND").is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_target_needs_nothing_whatever_else_is_there() {
        assert_eq!(decide(true, None, None), Decision::Installed);
        assert_eq!(
            decide(true, Some("/r/rustup".into()), Some("1.95.0".into())),
            Decision::Installed
        );
    }

    #[test]
    fn a_missing_target_is_added_with_rustup_for_cargos_toolchain() {
        assert_eq!(
            decide(
                false,
                Some("/r/rustup".into()),
                Some("1.95.0-x86_64".into())
            ),
            Decision::Add {
                rustup: "/r/rustup".into(),
                toolchain: Some("1.95.0-x86_64".into())
            }
        );
    }

    #[test]
    fn without_rustup_the_message_says_what_to_do() {
        match decide(false, None, None) {
            Decision::Missing(why) => {
                assert!(
                    why.contains("rustup target add wasm32-unknown-unknown"),
                    "{why}"
                );
                assert!(why.contains("PROCVIZ_SKIP_FRONTEND=1"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn this_machines_rustc_is_asked_for_real() {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        // The answer depends on the machine; asking must work.
        assert!(installed(&rustc).is_ok());
        assert!(installed(&OsString::from("/nonexistent/rustc")).is_err());
    }
}
