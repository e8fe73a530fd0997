//! Keeps the window and the tray up to date without touching the engine's
//! audio thread: one thread relays the engine's telemetry subscription
//! (20 Hz) as `telemetry` events; another refreshes the [`Overview`]
//! (1 Hz) as `overview` events and the tray's status line, and restores the
//! system output when the engine has stopped while Gecko Sink is the output.

use crate::ctx::{Ctx, Overview};
use gecko_control::ControlClient;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime};

/// Telemetry messages per second relayed to the window.
pub const TELEMETRY_HZ: f64 = 20.0;

/// How many seconds without an engine, with Gecko Sink as the system
/// output, before the previous output is restored (gecko-services'
/// [`gecko_services::SilenceRule`], one check a second).
pub const RESTORE_AFTER_S: u32 = gecko_services::SilenceRule::RESTORE_AFTER;

/// Sends the overview now (after an action).
pub fn refresh_now<R: Runtime>(app: &AppHandle<R>, ctx: &Ctx) -> Overview {
    let o = ctx.overview();
    crate::tray::refresh(app, &o);
    let _ = app.emit("overview", &o);
    o
}

/// Starts both threads.
pub fn spawn<R: Runtime>(app: AppHandle<R>, ctx: Arc<Ctx>) {
    let socket = ctx.paths.socket.clone();
    let a = app.clone();
    std::thread::Builder::new()
        .name("gecko-telemetry".into())
        .spawn(move || {
            loop {
                if let Ok(sub) = ControlClient::connect(&socket).and_then(|c| c.subscribe(TELEMETRY_HZ)) {
                    for msg in sub {
                        match msg {
                            Ok(t) => {
                                let _ = a.emit("telemetry", &t);
                            }
                            Err(_) => break,
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
        .expect("spawning the telemetry thread");
    std::thread::Builder::new()
        .name("gecko-overview".into())
        .spawn(move || {
            let mut silence = gecko_services::SilenceRule::default();
            loop {
                let o = refresh_now(&app, &ctx);
                if silence.check(o.engine.is_some(), o.gecko_is_default) {
                    ctx.restore_if_needed(Some("the engine is not running"));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
        .expect("spawning the overview thread");
}
