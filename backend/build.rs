//! Builds the page into `$OUT_DIR/site` for `src/assets.rs` to embed:
//! `static/` as it is, plus the frontend compiled to wasm32 (a nested cargo build with its own
//! target dir and the `wasm-release` profile) and its JS glue (wasm-bindgen as a library, the
//! exact version the frontend uses). Set `PROCVIZ_SKIP_FRONTEND=1` to skip the WebAssembly
//! build (tools, quick checks): the page then says the frontend was not built.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    if let Err(e) = run() {
        eprintln!("\nerror: {e}\n");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest
        .parent()
        .ok_or("backend/ has no parent directory")?
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let site = out.join("site");
    for path in [
        "static",
        "frontend/src",
        "frontend/Cargo.toml",
        "shared/src",
        "shared/perfetto/src",
        "shared/perfetto/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=PROCVIZ_SKIP_FRONTEND");

    if site.exists() {
        fs::remove_dir_all(&site).map_err(|e| format!("cleaning {}: {e}", site.display()))?;
    }
    copy_dir(&root.join("static"), &site)?;
    let pkg = site.join("pkg");
    fs::create_dir_all(&pkg).map_err(|e| format!("creating {}: {e}", pkg.display()))?;

    if env::var_os("PROCVIZ_SKIP_FRONTEND").is_some_and(|v| !v.is_empty() && v != "0") {
        println!("cargo:warning=PROCVIZ_SKIP_FRONTEND is set: the frontend (wasm) is not built");
        fs::write(
            pkg.join("frontend.js"),
            "export default async function init() { document.body.insertAdjacentHTML('beforeend', \
             '<p class=\"skipped\">This procviz was built with PROCVIZ_SKIP_FRONTEND=1: the page was not built.</p>'); }\n",
        )
        .map_err(|e| e.to_string())?;
        return Ok(());
    }

    check_wasm_target()?;
    println!(
        "cargo:warning=building the frontend (wasm32, nested cargo build; PROCVIZ_SKIP_FRONTEND=1 skips it)"
    );
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("frontend-wasm");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "-p",
            "frontend",
            "--lib",
            "--target",
            TARGET,
            "--profile",
            "wasm-release",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The nested build must not inherit the outer build's flags or target (coverage,
    // sanitizers, --target for the host...).
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_TARGET_") && key.ends_with("_RUSTFLAGS")
        {
            cmd.env_remove(key.as_ref());
        }
    }
    // Cargo reads a build script's stdout for directives: keep the nested build's off it.
    cmd.stdout(std::process::Stdio::null());
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo to build the frontend: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the frontend for {TARGET} failed (see above)"
        ));
    }
    let wasm = target_dir
        .join(TARGET)
        .join("wasm-release")
        .join("frontend.wasm");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        .generate(&pkg)
        .map_err(|e| format!("wasm-bindgen could not generate the JS glue: {e}"))?;
    let size = fs::metadata(pkg.join("frontend_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "cargo:warning=built the frontend (wasm32, {} KiB) in {:.0} s",
        size / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn check_wasm_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run rustc: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib").join("rustlib").join(TARGET).join("lib");
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is not installed, so the frontend cannot be built: run `rustup target add {TARGET}` (or set PROCVIZ_SKIP_FRONTEND=1 to build without the page)"
        ))
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            fs::copy(&path, &dest).map_err(|e| format!("copying {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
