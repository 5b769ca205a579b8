//! The WASM entry point: hydrate the server-rendered console, nothing else. Hydration
//! waits for the WASM file of a lazily loaded page (the builder, Executions, …) the
//! page shows; once all of it is hydrated, `<body>` says so (`data-hydrated`).
// The console's typed views nest deeply; without `--cfg erase_components` (release
// builds) laying them out needs a deeper limit than the default.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("a console page has a body");
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        app::mark_hydrated();
    });
}
