//! Tauri's build step: generates the app's context from tauri.conf.json.

fn main() {
    tauri_build::build()
}
