//! Builds the page into `$OUT_DIR/site` for `src/assets.rs` to embed:
//! `static/` as it is, plus the frontend compiled to wasm32 (a nested cargo build with its own
//! target dir and the `wasm-release` profile) and its JS glue (wasm-bindgen as a library, the
//! exact version the frontend uses). Set `PROCVIZ_SKIP_FRONTEND=1` to skip the WebAssembly
//! build (tools, quick checks): the page then says the frontend was not built.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_target::TARGET;

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
        return compress_site(&site);
    }

    if let Some(added) = wasm_target::ensure()? {
        println!("cargo:warning={added}");
    }
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
    compress_site(&site)?;
    let packed = |suffix: &str| {
        fs::metadata(pkg.join(format!("frontend_bg.wasm{suffix}")))
            .map(|m| m.len() / 1024)
            .unwrap_or(0)
    };
    println!(
        "cargo:warning=built the frontend (wasm32, {} KiB; {} KiB brotli, {} KiB gzip) in {:.0} s",
        size / 1024,
        packed(".br"),
        packed(".gz"),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Files worth compressing (text and WebAssembly; images are compressed already).
const COMPRESSED: [&str; 6] = ["wasm", "js", "css", "html", "svg", "json"];

/// Writes `FILE.br` (brotli, quality 11) and `FILE.gz` (gzip written by zopfli: any gzip
/// reader reads it, about 5 % smaller than level 9) beside every file of
/// `dir` worth compressing, once, so the server never compresses per request.
fn compress_site(dir: &Path) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            compress_site(&path)?;
            continue;
        }
        let worth = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSED.contains(&e));
        if !worth {
            continue;
        }
        let data = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 24,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params)
            .map_err(|e| format!("brotli {}: {e}", path.display()))?;
        let mut gz = Vec::new();
        let once = zopfli::Options {
            iteration_count: std::num::NonZeroU64::MIN,
            ..Default::default()
        };
        zopfli::compress(once, zopfli::Format::Gzip, data.as_slice(), &mut gz)
            .map_err(|e| format!("gzip {}: {e}", path.display()))?;
        for (suffix, bytes) in [("br", br), ("gz", gz)] {
            let mut name = path.clone().into_os_string();
            name.push(format!(".{suffix}"));
            fs::write(&name, bytes).map_err(|e| format!("writing {name:?}: {e}"))?;
        }
    }
    Ok(())
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
