//! The tray app's executable: everything is in the `gecko_app` library (app/src-tauri/src/lib.rs).

// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    gecko_app::run();
}
