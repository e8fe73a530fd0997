//! The tray (menu-bar) icon and its menu. Every item calls the same [`Ctx`]
//! method as the window's button; results and errors become notices the
//! window shows, and the status line follows [`crate::watch`].

use crate::ctx::{Ctx, Overview};
use gecko_control::LoopbackTap;
use std::sync::{Arc, Mutex};
use tauri::menu::{CheckMenuItem, Menu, MenuBuilder, MenuItem, PredefinedMenuItem, Submenu, SubmenuBuilder};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

/// The menu items whose text or check mark follows the state.
pub struct TrayItems<R: Runtime> {
    status: MenuItem<R>,
    output: MenuItem<R>,
    install: MenuItem<R>,
    mute: CheckMenuItem<R>,
    /// The "Preset" submenu and its items, rebuilt when the preset list
    /// changes (a preset saved in the window appears here within a second).
    preset_menu: Submenu<R>,
    presets: Mutex<Vec<(String, CheckMenuItem<R>)>>,
    /// The "Record what Gecko plays" submenu's taps, in menu order.
    loopback: Vec<(LoopbackTap, CheckMenuItem<R>)>,
}

/// The loopback taps in the tray's order.
const TAPS: [LoopbackTap; 3] = [LoopbackTap::Pre, LoopbackTap::Post, LoopbackTap::Off];

impl<R: Runtime> TrayItems<R> {
    /// The names in the "Preset" submenu, in menu order, and the checked one.
    pub fn preset_entries(&self) -> (Vec<String>, Option<String>) {
        let presets = self.presets.lock().unwrap_or_else(|e| e.into_inner());
        let checked = presets.iter().find(|(_, i)| i.is_checked().unwrap_or(false)).map(|(n, _)| n.clone());
        (presets.iter().map(|(n, _)| n.clone()).collect(), checked)
    }

    /// The taps of the "Record what Gecko plays" submenu, in menu order, and the checked one.
    pub fn loopback_entries(&self) -> (Vec<LoopbackTap>, Option<LoopbackTap>) {
        let checked = self.loopback.iter().find(|(_, i)| i.is_checked().unwrap_or(false)).map(|(t, _)| *t);
        (self.loopback.iter().map(|(t, _)| *t).collect(), checked)
    }
}

/// The tray's menu item ids.
pub mod id {
    /// The driver/engine status line (not clickable).
    pub const STATUS: &str = "status";
    /// Install the driver.
    pub const INSTALL: &str = "install";
    /// Uninstall the driver.
    pub const UNINSTALL: &str = "uninstall";
    /// Restart the audio service (coreaudiod).
    pub const RESTART_AUDIO: &str = "restart-audio";
    /// Make Gecko Sink the system output, or restore the previous one.
    pub const OUTPUT: &str = "output";
    /// Mute or unmute the engine.
    pub const MUTE: &str = "mute";
    /// Open the window.
    pub const OPEN: &str = "open";
    /// Quit the app.
    pub const QUIT: &str = "quit";
    /// Prefix of the preset items: `preset:NAME`.
    pub const PRESET_PREFIX: &str = "preset:";
    /// Prefix of the loopback tap items: `loopback:pre`, `loopback:post`, `loopback:off`.
    pub const LOOPBACK_PREFIX: &str = "loopback:";
}

/// The menu text of a tap: its name and what it carries.
fn tap_label(t: LoopbackTap) -> String {
    let d = t.describe();
    format!("{} — {}{}", t.name(), d[..1].to_uppercase(), &d[1..])
}

fn menu<R: Runtime>(app: &AppHandle<R>, ctx: &Ctx) -> tauri::Result<(Menu<R>, TrayItems<R>)> {
    let status = MenuItem::with_id(app, id::STATUS, "Gecko: starting…", false, None::<&str>)?;
    let install = MenuItem::with_id(app, id::INSTALL, "Install driver", true, None::<&str>)?;
    let uninstall = MenuItem::with_id(app, id::UNINSTALL, "Uninstall driver", true, None::<&str>)?;
    let restart = MenuItem::with_id(app, id::RESTART_AUDIO, "Restart audio", true, None::<&str>)?;
    let output = MenuItem::with_id(app, id::OUTPUT, "Use Gecko Sink as system output", true, None::<&str>)?;
    let mute = CheckMenuItem::with_id(app, id::MUTE, "Mute", true, false, None::<&str>)?;
    let mut presets = Vec::new();
    let mut sub = SubmenuBuilder::new(app, "Preset");
    for p in ctx.presets() {
        let item = preset_item(app, &p.name)?;
        sub = sub.item(&item);
        presets.push((p.name, item));
    }
    let sub = sub.build()?;
    let mut loopback = Vec::new();
    let mut rec = SubmenuBuilder::new(app, "Record what Gecko plays");
    for t in TAPS {
        let item = CheckMenuItem::with_id(
            app,
            format!("{}{}", id::LOOPBACK_PREFIX, t.name()),
            tap_label(t),
            true,
            false,
            None::<&str>,
        )?;
        rec = rec.item(&item);
        loopback.push((t, item));
    }
    let rec = rec.build()?;
    let menu = MenuBuilder::new(app)
        .item(&status)
        .item(&PredefinedMenuItem::separator(app)?)
        .item(&install)
        .item(&uninstall)
        .item(&restart)
        .item(&PredefinedMenuItem::separator(app)?)
        .item(&output)
        .item(&sub)
        .item(&mute)
        .item(&rec)
        .item(&PredefinedMenuItem::separator(app)?)
        .text(id::OPEN, "Open window")
        .text(id::QUIT, "Quit Gecko")
        .build()?;
    Ok((menu, TrayItems { status, output, install, mute, preset_menu: sub, presets: Mutex::new(presets), loopback }))
}

fn preset_item<R: Runtime>(app: &AppHandle<R>, name: &str) -> tauri::Result<CheckMenuItem<R>> {
    CheckMenuItem::with_id(app, format!("{}{}", id::PRESET_PREFIX, name), name, true, false, None::<&str>)
}

/// Builds the tray's menu and registers its items for [`refresh`] (what
/// [`create`] does before it makes the icon; tests call it alone, as the
/// mock runtime has no tray).
pub fn build_menu<R: Runtime>(app: &AppHandle<R>, ctx: &Ctx) -> tauri::Result<Menu<R>> {
    let (menu, items) = menu(app, ctx)?;
    app.manage(items);
    Ok(menu)
}

/// Opens (or raises) the main window.
pub fn open_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// What every menu item does.
fn on_menu<R: Runtime>(app: &AppHandle<R>, item: &str) {
    let ctx = app.state::<Arc<Ctx>>().inner().clone();
    let app2 = app.clone();
    match item {
        id::OPEN => open_window(app),
        id::QUIT => crate::quit(app),
        other => {
            let other = other.to_owned();
            // Off the main thread: installs and restarts wait for the audio service.
            std::thread::spawn(move || {
                let r = match other.as_str() {
                    id::INSTALL => ctx.install_driver(),
                    id::UNINSTALL => ctx.uninstall_driver(),
                    id::RESTART_AUDIO => ctx.restart_audio(),
                    id::OUTPUT => {
                        if ctx.overview().gecko_is_default {
                            ctx.restore_output()
                        } else {
                            ctx.use_gecko_sink()
                        }
                    }
                    id::MUTE => {
                        let muted = ctx.engine_status().map(|s| !s.params.mute).unwrap_or(true);
                        ctx.set_mute(muted).map(|a| a.message)
                    }
                    p if p.starts_with(id::PRESET_PREFIX) => {
                        ctx.load_preset(&p[id::PRESET_PREFIX.len()..]).map(|a| a.message)
                    }
                    t if t.starts_with(id::LOOPBACK_PREFIX) => {
                        ctx.set_loopback(&t[id::LOOPBACK_PREFIX.len()..]).map(|s| s.message.unwrap_or_default())
                    }
                    _ => return,
                };
                if let Err(e) = r {
                    ctx.notice(e.message);
                }
                crate::watch::refresh_now(&app2, &ctx);
            });
        }
    }
}

/// Creates the tray icon (a template image on macOS, so the menu bar tints it).
pub fn create<R: Runtime>(app: &AppHandle<R>, ctx: &Ctx) -> tauri::Result<()> {
    let menu = build_menu(app, ctx)?;
    let icon = tauri::image::Image::from_bytes(include_bytes!("../icons/tray@2x.png"))?;
    TrayIconBuilder::with_id("gecko")
        .icon(icon)
        .icon_as_template(true)
        .tooltip("Gecko")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, ev| on_menu(app, ev.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Brings the menu's texts and check marks up to date.
pub fn refresh<R: Runtime>(app: &AppHandle<R>, o: &Overview) {
    let Some(items) = app.try_state::<TrayItems<R>>() else { return };
    let _ = items.status.set_text(&o.status_line);
    let _ = items.install.set_text(if o.driver.installed { "Repair driver" } else { "Install driver" });
    let _ = items.output.set_text(match (&o.gecko_is_default, &o.remembered_output) {
        (true, Some(prev)) => format!("Restore previous output ({prev})"),
        (true, None) => "Restore previous output".to_owned(),
        (false, _) => "Use Gecko Sink as system output".to_owned(),
    });
    let (muted, preset) = o.engine.as_ref().map(|s| (s.params.mute, s.preset.clone())).unwrap_or((false, None));
    let _ = items.mute.set_checked(muted);
    let mut presets = items.presets.lock().unwrap_or_else(|e| e.into_inner());
    if !presets.iter().map(|(n, _)| n).eq(o.preset_names.iter()) {
        for (_, item) in presets.drain(..) {
            let _ = items.preset_menu.remove(&item);
        }
        for name in &o.preset_names {
            if let Ok(item) = preset_item(app, name)
                && items.preset_menu.append(&item).is_ok()
            {
                presets.push((name.clone(), item));
            }
        }
    }
    for (name, item) in presets.iter() {
        let _ = item.set_checked(preset.as_deref() == Some(name.as_str()));
    }
    // The tap chosen (saved), else the one the driver serves.
    let tap = o.loopback.chosen.or(o.loopback.active);
    for (t, item) in &items.loopback {
        let _ = item.set_checked(tap == Some(*t));
    }
}
