//! # procviz page
//!
//! Leptos, client-side rendered, compiled to wasm32 by the backend's build script.
//! [`layout`], [`model`] and [`timeline`] (the one scene both timeline painters draw) are
//! pure and tested natively; [`components`] are thin views over them; [`ws`] is the
//! connection.

pub mod components;
pub mod export;
pub mod layout;
pub mod lessons;
pub mod model;
pub mod python;
pub mod timeline;
pub mod ws;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point, called by the JS glue when the module loads.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
