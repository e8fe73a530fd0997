//! Gecko's tray app (Tauri v2): installs the driver, switches the system
//! output to Gecko Sink and back, shows the engine's meters and edits its
//! EQ. It holds no audio logic of its own: [`ctx::Ctx`] calls the crates the
//! `gecko` CLI uses, and the engine is its own process reached over the
//! control socket (so closing the app never interrupts audio).
//!
//! - [`ctx`]: every action, without Tauri (tested directly).
//! - [`commands`]: the window's IPC commands (tested with `tauri::test`).
//! - [`tray`]: the tray icon and menu.
//! - [`watch`]: telemetry (20 Hz) and status (1 Hz) to the window and tray.

pub mod commands;
pub mod ctx;
pub mod tray;
pub mod watch;

use ctx::{Ctx, Paths};
use std::sync::Arc;
use tauri::{AppHandle, Builder, Manager, Runtime, WindowEvent};

/// Registers the state and the commands (shared by the app and the tests).
pub fn with_commands<R: Runtime>(builder: Builder<R>, ctx: Arc<Ctx>) -> Builder<R> {
    builder.manage(ctx).invoke_handler(tauri::generate_handler![
        commands::overview,
        commands::engine_status,
        commands::set_gain,
        commands::set_eq_band,
        commands::set_limiter,
        commands::set_mute,
        commands::set_strength,
        commands::bypass,
        commands::eq_curve,
        commands::filter_types,
        commands::presets,
        commands::load_preset,
        commands::save_preset,
        commands::import_preset,
        commands::bindings,
        commands::bind_device,
        commands::unbind_device,
        commands::loopback,
        commands::set_loopback,
        commands::install_driver,
        commands::uninstall_driver,
        commands::restart_audio,
        commands::diagnostics,
        commands::use_gecko_sink,
        commands::restore_output,
        commands::start_engine,
        commands::stop_engine,
        commands::output_devices,
        commands::set_engine_output,
    ])
}

/// Quit: restore the system output if Gecko Sink is it (a person is never
/// left without sound), stop the engine if this app started it, exit.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    let ctx = app.state::<Arc<Ctx>>().inner().clone();
    ctx.restore_if_needed(None);
    ctx.stop_own_engine();
    app.exit(0);
}

/// Runs the app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .try_init();
    let ctx = Arc::new(Ctx::new(Paths::from_env()));
    with_commands(tauri::Builder::default(), ctx.clone())
        .setup(move |app| {
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory); // menu bar only, no dock icon
            if let Err(e) = tray::create(app.handle(), &ctx) {
                // No tray host (e.g. a bare X server): the window still works.
                tracing::warn!("no tray icon: {e}");
            }
            watch::spawn(app.handle().clone(), ctx.clone());
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app in the tray (and the engine playing).
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.app_handle().tray_by_id("gecko").is_some()
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!())
        .expect("error while building the Gecko app")
        .run(|_app, _event| {});
}
