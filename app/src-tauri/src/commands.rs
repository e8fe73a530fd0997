//! The window's commands: thin adapters from Tauri's IPC to [`Ctx`]. Each
//! runs on a blocking thread (some wait for the audio service or the engine)
//! and returns `Result<_, UiError>`, which the window shows with its action.

use crate::ctx::{Ctx, DeviceBinding, EqCurve, LoopbackState, OutputChoice, Overview, PresetEntry, UiError};
use gecko_control::{Applied, Status};
use gecko_dsp::{EqBand, EqParams};
use std::sync::Arc;
use tauri::State;

async fn blocking<T: Send + 'static>(
    ctx: &Arc<Ctx>,
    f: impl FnOnce(&Ctx) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    let ctx = ctx.clone();
    tauri::async_runtime::spawn_blocking(move || f(&ctx)).await.map_err(|e| UiError {
        code: "failed",
        message: format!("internal error: {e}"),
        action: None,
    })?
}

/// Everything the status line and health panel show.
#[tauri::command]
pub async fn overview(ctx: State<'_, Arc<Ctx>>) -> Result<Overview, UiError> {
    blocking(&ctx, |c| Ok(c.overview())).await
}

/// The engine's status (settings, output, drift, driver counters).
#[tauri::command]
pub async fn engine_status(ctx: State<'_, Arc<Ctx>>) -> Result<Status, UiError> {
    blocking(&ctx, |c| c.engine_status()).await
}

/// Sets the engine's gain, dB.
#[tauri::command]
pub async fn set_gain(ctx: State<'_, Arc<Ctx>>, db: f64) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.set_gain(db)).await
}

/// Replaces EQ band `index` (0–15).
#[tauri::command]
pub async fn set_eq_band(ctx: State<'_, Arc<Ctx>>, index: usize, band: EqBand) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.set_eq_band(index, band)).await
}

/// Limiter on/off and ceiling (dBTP); `null` leaves a field unchanged.
#[tauri::command]
pub async fn set_limiter(
    ctx: State<'_, Arc<Ctx>>,
    enabled: Option<bool>,
    ceiling_dbtp: Option<f64>,
) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.set_limiter(enabled, ceiling_dbtp)).await
}

/// Mutes or unmutes the engine's output.
#[tauri::command]
pub async fn set_mute(ctx: State<'_, Arc<Ctx>>, muted: bool) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.set_mute(muted)).await
}

/// Scales the whole EQ correction to `percent` (0–100).
#[tauri::command]
pub async fn set_strength(ctx: State<'_, Arc<Ctx>>, percent: f64) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.set_strength(percent)).await
}

/// Gain 0 dB, no EQ, limiter off.
#[tauri::command]
pub async fn bypass(ctx: State<'_, Arc<Ctx>>) -> Result<Applied, UiError> {
    blocking(&ctx, |c| c.bypass()).await
}

/// The EQ's response curve for the window (`points` log-spaced, 20 Hz – 20 kHz).
#[tauri::command]
pub fn eq_curve(eq: EqParams, points: usize) -> EqCurve {
    crate::ctx::eq_curve(&eq, points)
}

/// A filter type the band list offers.
#[derive(serde::Serialize)]
pub struct FilterTypeInfo {
    /// Its preset/protocol name (`"low_shelf"`).
    pub name: &'static str,
    /// Whether its gain field matters (peaking and shelves).
    pub uses_gain: bool,
}

/// The EQ's filter types (gecko-dsp's RBJ cookbook set).
#[tauri::command]
pub fn filter_types() -> Vec<FilterTypeInfo> {
    gecko_dsp::FilterType::ALL.iter().map(|t| FilterTypeInfo { name: t.name(), uses_gain: t.uses_gain() }).collect()
}

/// Built-in and saved presets.
#[tauri::command]
pub async fn presets(ctx: State<'_, Arc<Ctx>>) -> Result<Vec<PresetEntry>, UiError> {
    blocking(&ctx, |c| Ok(c.presets())).await
}

/// Loads a preset into the engine.
#[tauri::command]
pub async fn load_preset(ctx: State<'_, Arc<Ctx>>, name: String) -> Result<Applied, UiError> {
    blocking(&ctx, move |c| c.load_preset(&name)).await
}

/// Saves the engine's settings as a preset; returns the file.
#[tauri::command]
pub async fn save_preset(ctx: State<'_, Arc<Ctx>>, name: String) -> Result<String, UiError> {
    blocking(&ctx, move |c| c.save_preset(&name).map(|p| p.display().to_string())).await
}

/// Imports an EQ file's text into the user's presets (see [`Ctx::import_preset`]).
#[tauri::command]
pub async fn import_preset(
    ctx: State<'_, Arc<Ctx>>,
    file_name: String,
    text: String,
    name: Option<String>,
    replace: bool,
) -> Result<gecko_services::ImportOutcome, UiError> {
    blocking(&ctx, move |c| c.import_preset(&file_name, &text, name.as_deref(), replace)).await
}

/// The output device → preset bindings.
#[tauri::command]
pub async fn bindings(ctx: State<'_, Arc<Ctx>>) -> Result<Vec<DeviceBinding>, UiError> {
    blocking(&ctx, |c| c.bindings()).await
}

/// Binds an output device (its id) to a preset.
#[tauri::command]
pub async fn bind_device(ctx: State<'_, Arc<Ctx>>, device: String, preset: String) -> Result<String, UiError> {
    blocking(&ctx, move |c| c.bind_device(&device, &preset)).await
}

/// Removes an output device's binding.
#[tauri::command]
pub async fn unbind_device(ctx: State<'_, Arc<Ctx>>, device: String) -> Result<String, UiError> {
    blocking(&ctx, move |c| c.unbind_device(&device)).await
}

/// Gecko Sink's input stream (the loopback recording apps record): the
/// saved tap, the running engine's account (`engine`, null without one),
/// what the driver serves (see [`Ctx::loopback`]).
#[tauri::command]
pub async fn loopback(ctx: State<'_, Arc<Ctx>>) -> Result<LoopbackState, UiError> {
    blocking(&ctx, |c| Ok(c.loopback())).await
}

/// Chooses the loopback tap, `"pre"`, `"post"` or `"off"` (another string:
/// code `invalid`): saved, and sent to the engine when one runs (otherwise
/// `pending` until an engine starts). Returns the loopback now.
#[tauri::command]
pub async fn set_loopback(ctx: State<'_, Arc<Ctx>>, tap: String) -> Result<LoopbackState, UiError> {
    blocking(&ctx, move |c| c.set_loopback(&tap)).await
}

/// Installs or repairs the driver.
#[tauri::command]
pub async fn install_driver(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.install_driver()).await
}

/// Removes the driver.
#[tauri::command]
pub async fn uninstall_driver(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.uninstall_driver()).await
}

/// `gecko doctor`'s checks: an array of `{check, ok, detail, fix}` (`ok`
/// null for a check not run), as `gecko doctor --json` prints them.
#[tauri::command]
pub async fn diagnostics(ctx: State<'_, Arc<Ctx>>) -> Result<Vec<gecko_install::doctor::Check>, UiError> {
    blocking(&ctx, |c| c.diagnostics()).await
}

/// Restarts the audio service.
#[tauri::command]
pub async fn restart_audio(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.restart_audio()).await
}

/// Makes Gecko Sink the system output (and starts the engine on the previous one).
#[tauri::command]
pub async fn use_gecko_sink(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.use_gecko_sink()).await
}

/// Restores the previous system output.
#[tauri::command]
pub async fn restore_output(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.restore_output()).await
}

/// Starts the engine (on the default output).
#[tauri::command]
pub async fn start_engine(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.start_engine(None)).await
}

/// Stops the engine.
#[tauri::command]
pub async fn stop_engine(ctx: State<'_, Arc<Ctx>>) -> Result<String, UiError> {
    blocking(&ctx, |c| c.stop_engine()).await
}

/// The output devices the engine can play on, `{id, name}` (never Gecko Sink).
#[tauri::command]
pub async fn output_devices(ctx: State<'_, Arc<Ctx>>) -> Result<Vec<OutputChoice>, UiError> {
    blocking(&ctx, |_| Ok(crate::ctx::playable_device_entries())).await
}

/// Moves the engine to another output device (`null`: the default).
#[tauri::command]
pub async fn set_engine_output(ctx: State<'_, Arc<Ctx>>, device: Option<String>) -> Result<String, UiError> {
    blocking(&ctx, move |c| c.set_engine_output(device.as_deref())).await
}
