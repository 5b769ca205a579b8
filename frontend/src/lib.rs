//! The WASM entry point: hydrate the server-rendered console, nothing else. Hydration
//! waits for the WASM files of lazily loaded routes (the builder) the page shows.
// The console's typed views nest deeply; without `--cfg erase_components` (release
// builds) laying them out needs a deeper limit than the default.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
