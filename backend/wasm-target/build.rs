//! Runs [`ensure`] near the start of a cold build: this crate has no dependencies, so cargo
//! gets here long before the backend's build script would (a missing target is found, and
//! added where rustup is present, in seconds rather than after minutes of compiling).

#[path = "src/lib.rs"]
#[allow(dead_code)]
mod wasm_target;

fn main() {
    println!("cargo:rerun-if-env-changed=PROCVIZ_SKIP_FRONTEND");
    println!("cargo:rerun-if-env-changed=RUSTUP_TOOLCHAIN");
    if wasm_target::page_skipped() {
        return;
    }
    match wasm_target::ensure() {
        Ok(Some(added)) => println!("cargo:warning={added}"),
        Ok(None) => {}
        Err(why) => {
            eprintln!("\nerror: {why}\n");
            std::process::exit(1);
        }
    }
}
