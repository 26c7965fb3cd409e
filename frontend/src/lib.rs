//! # procviz page
//!
//! Leptos, client-side rendered, compiled to wasm32 by the backend's build script.
//! [`layout`], [`run`] (the run model), [`timeline`] (the one scene both timeline painters
//! and the export draw), [`lessons`] and the app layer's state machines are pure and tested
//! natively; [`app`] holds the shared state, the commands, the connection; [`components`]
//! are thin views over them.

pub mod app;
pub mod components;
pub mod export;
pub mod layout;
pub mod lessons;
pub mod python;
pub mod run;
pub mod timeline;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point, called by the JS glue when the module loads.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
