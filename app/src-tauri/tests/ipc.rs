//! The window's commands, called through Tauri's IPC exactly as the webview
//! calls them (`tauri::test`'s mock runtime, the app's real config and
//! capabilities, origin `tauri://localhost`), against a real control server
//! (gecko-control, as run inside `gecko engine`) on a temporary socket.

use gecko_app::ctx::{Ctx, Paths};
use gecko_control::{ControlServer, ControlState, EngineInfo, LoopbackTap};
use gecko_dsp::{EqBand, EqParams, FilterType, Preset};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

struct Fixture {
    _dir: tempfile::TempDir,
    server: Option<ControlServer>,
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    presets_dir: std::path::PathBuf,
    socket: std::path::PathBuf,
    loopback_file: std::path::PathBuf,
}

fn fixture(with_engine: bool) -> Fixture {
    fixture_with(with_engine, None)
}

fn fixture_with(with_engine: bool, gecko_exe: Option<std::path::PathBuf>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("engine.sock");
    let server = with_engine.then(|| {
        let state = Arc::new(ControlState::new(gecko_dsp::ChainParams::bypass(), None));
        let info = EngineInfo { ring: "/GeckoIpcTest".into(), recording: None, engine_version: "test".into() };
        ControlServer::bind(&socket, state, info).unwrap()
    });
    let presets_dir = dir.path().join("presets");
    let loopback_file = dir.path().join("loopback");
    let paths = Paths {
        socket: socket.clone(),
        gecko_exe,
        sim_root: Some(dir.path().join("root")),
        presets_dir: presets_dir.clone(),
        bundle: None,
        loopback_file: loopback_file.clone(),
    };
    let app = gecko_app::with_commands(mock_builder(), Arc::new(Ctx::new(paths)))
        .build(tauri::generate_context!(test = true))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    Fixture { _dir: dir, server, app, window, presets_dir, socket, loopback_file }
}

fn call_from(w: &WebviewWindow<MockRuntime>, origin: &str, cmd: &str, args: Value) -> Result<Value, Value> {
    let req = InvokeRequest {
        cmd: cmd.into(),
        callback: tauri::ipc::CallbackFn(0),
        error: tauri::ipc::CallbackFn(1),
        url: origin.parse().unwrap(),
        body: tauri::ipc::InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(w, req).map(|b| b.deserialize::<Value>().unwrap())
}

/// On Linux the webview's origin is tauri://localhost.
fn call(f: &Fixture, cmd: &str, args: Value) -> Result<Value, Value> {
    call_from(&f.window, "tauri://localhost", cmd, args)
}

fn engine_params(f: &Fixture) -> gecko_dsp::ChainParams {
    f.server.as_ref().unwrap().state().current().0
}

#[test]
fn settings_reach_the_engine_and_bad_ones_are_refused_with_the_reason() {
    let f = fixture(true);
    let r = call(&f, "set_gain", json!({"db": -6.0})).unwrap();
    assert_eq!(r["params"]["gain_db"], -6.0);
    assert_eq!(engine_params(&f).gain_db, -6.0);

    let band = json!({"type": "peaking", "freq": 3000.0, "q": 1.0, "gain_db": 4.0, "enabled": true});
    let r = call(&f, "set_eq_band", json!({"index": 2, "band": band})).unwrap();
    assert_eq!(r["params"]["eq"]["bands"][2]["freq"], 3000.0);
    let expect =
        EqBand { kind: FilterType::Peaking, freq_hz: 3000.0, q: 1.0, gain_db: 4.0, enabled: true, ..EqBand::default() };
    assert_eq!(engine_params(&f).eq.bands[2], expect);

    call(&f, "set_limiter", json!({"enabled": true, "ceilingDbtp": -2.0})).unwrap();
    let p = engine_params(&f);
    assert!(p.limiter.enabled && p.limiter.ceiling_dbtp == -2.0);
    call(&f, "set_mute", json!({"muted": true})).unwrap();
    assert!(engine_params(&f).mute);

    let e = call(&f, "set_gain", json!({"db": 99.0})).unwrap_err();
    assert_eq!(e["code"], "invalid");
    assert!(e["message"].as_str().unwrap().contains("out of range"), "{e}");
    assert_eq!(engine_params(&f).gain_db, -6.0, "a refused edit changes nothing");

    let r = call(&f, "load_preset", json!({"name": "speech"})).unwrap();
    assert_eq!(r["preset"], "speech");
    assert_eq!(engine_params(&f).eq, Preset::builtin("speech").unwrap().chain_params().eq);
    assert!(engine_params(&f).mute, "loading a preset keeps the mute");
}

#[test]
fn presets_are_saved_listed_and_loaded_back() {
    let f = fixture(true);
    call(&f, "set_gain", json!({"db": -3.5})).unwrap();
    let file = call(&f, "save_preset", json!({"name": "Late night"})).unwrap();
    assert!(file.as_str().unwrap().ends_with("Late night.toml"));
    let saved = Preset::load(&f.presets_dir.join("Late night.toml")).unwrap();
    assert_eq!(saved.gain_db, -3.5);
    let list = call(&f, "presets", json!({})).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["flat", "loudness", "speech", "night", "Late night"]);

    call(&f, "bypass", json!({})).unwrap();
    assert_eq!(engine_params(&f).gain_db, 0.0);
    let r = call(&f, "load_preset", json!({"name": "Late night"})).unwrap();
    assert_eq!(r["preset"], "Late night");
    assert_eq!(engine_params(&f).gain_db, -3.5);

    for bad in ["../escape", "", ".hidden", "a/b"] {
        let e = call(&f, "save_preset", json!({"name": bad})).unwrap_err();
        assert_eq!(e["code"], "invalid", "{bad:?}: {e}");
    }
    assert_eq!(
        call(&f, "save_preset", json!({"name": "speech"})).unwrap_err()["code"],
        "invalid",
        "built-ins are not overwritten"
    );
    assert!(!Path::new(&f.presets_dir).join("speech.toml").exists());
}

#[test]
fn the_curve_is_gecko_dsps_analytic_response() {
    let f = fixture(false);
    let band =
        EqBand { kind: FilterType::Peaking, freq_hz: 1000.0, q: 1.4, gain_db: 6.0, enabled: true, ..EqBand::default() };
    let eq = EqParams::from_bands(&[band]);
    let c = call(&f, "eq_curve", json!({"eq": eq, "points": 301})).unwrap();
    let freqs: Vec<f64> = serde_json::from_value(c["freqs"].clone()).unwrap();
    let total: Vec<f64> = serde_json::from_value(c["total_db"].clone()).unwrap();
    assert_eq!(freqs.len(), 301);
    assert!((freqs[0] - 20.0).abs() < 1e-9 && (freqs[300] - 20000.0).abs() < 1e-6);
    for (fq, db) in freqs.iter().zip(&total) {
        assert!((db - eq.magnitude_db(*fq, 48000.0)).abs() < 1e-9);
    }
    // The peak: +6 dB at the grid point nearest 1 kHz (grid steps are 2.3 %).
    let (i, max) = total.iter().enumerate().fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    assert!((freqs[i] / 1000.0 - 1.0).abs() < 0.012, "peak at {} Hz", freqs[i]);
    assert!((max - 6.0).abs() < 0.01, "{max}");
    assert_eq!(c["bands_db"].as_array().unwrap().len(), 1);
}

#[test]
fn the_band_list_offers_gecko_dsps_filter_types() {
    let f = fixture(false);
    let types = call(&f, "filter_types", json!({})).unwrap();
    let types = types.as_array().unwrap();
    assert_eq!(types.len(), FilterType::ALL.len());
    for (t, k) in types.iter().zip(FilterType::ALL) {
        assert_eq!((t["name"].as_str().unwrap(), t["uses_gain"].as_bool().unwrap()), (k.name(), k.uses_gain()));
    }
}

#[test]
fn an_engine_that_moves_to_another_device_is_reported() {
    let f = fixture(true);
    let publish = |device: &str, losses: u64| {
        f.server.as_ref().unwrap().publish(gecko_control::server::Snapshot {
            format: gecko_control::FormatInfo { channels: 2, sample_rate: 48000.0, generation: 1 },
            output_device: Some(device.into()),
            output_losses: losses,
            writer: Default::default(),
            telemetry: Default::default(),
            loopback: Default::default(),
        })
    };
    publish("USB DAC", 0);
    let o = call(&f, "overview", json!({})).unwrap();
    assert_eq!(o["engine"]["output_device"], "USB DAC");
    assert!(o["notices"].as_array().unwrap().is_empty());
    // moved because someone asked (gecko ctl device): not a loss
    publish("Studio", 0);
    let o = call(&f, "overview", json!({})).unwrap();
    assert!(o["notices"].as_array().unwrap().is_empty(), "{}", o["notices"]);
    publish("MacBook Pro Speakers", 1);
    let o = call(&f, "overview", json!({})).unwrap();
    assert_eq!(o["notices"], json!(["output device Studio disappeared — switched to MacBook Pro Speakers"]));
}

#[test]
fn without_an_engine_the_error_offers_to_start_it() {
    let f = fixture(false);
    let e = call(&f, "set_gain", json!({"db": -6.0})).unwrap_err();
    assert_eq!(e["code"], "engine_not_running");
    assert_eq!(e["action"], "start_engine");
    let o = call(&f, "overview", json!({})).unwrap();
    assert!(o["engine"].is_null());
    assert_eq!(o["engine_error"]["action"], "start_engine");
    assert!(o["status_line"].as_str().unwrap().contains("engine stopped"), "{o}");
}

#[test]
fn a_page_from_another_origin_cannot_call_the_commands() {
    let f = fixture(true);
    let e = call_from(&f.window, "https://evil.example", "set_gain", json!({"db": -60.0})).unwrap_err();
    eprintln!("refused: {e}");
    assert!(e.to_string().contains("not allowed"), "{e}");
    assert_eq!(engine_params(&f).gain_db, 0.0);
}

/// The tray's "Preset" submenu follows the preset list: a preset saved in
/// the window appears there at the next overview refresh (1 Hz), and the
/// engine's preset is checked. (The mock runtime has no tray icon; the menu
/// and its refresh are the real ones.)
#[test]
fn a_saved_preset_appears_in_the_tray_menu() {
    let f = fixture(true);
    let handle = f.app.handle().clone();
    let ctx = handle.state::<Arc<Ctx>>().inner().clone();
    gecko_app::tray::build_menu(&handle, &ctx).unwrap();
    let entries = || handle.state::<gecko_app::tray::TrayItems<MockRuntime>>().preset_entries();
    let builtin: Vec<String> = Preset::builtin_names().iter().map(|s| s.to_string()).collect();
    assert_eq!(entries().0, builtin);

    call(&f, "set_gain", json!({"db": -4.0})).unwrap();
    call(&f, "save_preset", json!({"name": "late night"})).unwrap();
    gecko_app::watch::refresh_now(&handle, &ctx);
    assert_eq!(entries().1, None, "saving does not load");
    call(&f, "load_preset", json!({"name": "late night"})).unwrap();
    gecko_app::watch::refresh_now(&handle, &ctx);
    let (names, checked) = entries();
    assert_eq!(names.last().map(String::as_str), Some("late night"), "{names:?}");
    assert_eq!(names.len(), builtin.len() + 1);
    assert_eq!(checked.as_deref(), Some("late night"), "the engine's preset is checked");

    std::fs::remove_file(f.presets_dir.join("late night.toml")).unwrap();
    gecko_app::watch::refresh_now(&handle, &ctx);
    assert_eq!(entries().0, builtin);

    // "Record what Gecko plays": the three taps, the saved one checked.
    let taps = || handle.state::<gecko_app::tray::TrayItems<MockRuntime>>().loopback_entries();
    assert_eq!(taps(), (vec![LoopbackTap::Pre, LoopbackTap::Post, LoopbackTap::Off], None));
    call(&f, "set_loopback", json!({"tap": "post"})).unwrap();
    gecko_app::watch::refresh_now(&handle, &ctx);
    assert_eq!(taps().1, Some(LoopbackTap::Post));
    assert_eq!(std::fs::read_to_string(&f.loopback_file).unwrap(), "post\n");
}

/// "Output device" moves a running engine live (`set_output`), whoever
/// started it; the engine's refusal comes back with its reason.
#[test]
fn choosing_an_output_moves_the_running_engine_live() {
    let f = fixture(true);
    let state = f.server.as_ref().unwrap().state();
    f.server.as_ref().unwrap().publish(gecko_control::server::Snapshot {
        format: gecko_control::FormatInfo { channels: 2, sample_rate: 48000.0, generation: 1 },
        output_device: Some("USB DAC".into()),
        output_losses: 0,
        writer: Default::default(),
        telemetry: Default::default(),
        loopback: Default::default(),
    });
    state.accept_output_requests(true);
    std::thread::scope(|s| {
        // The engine's control loop: plays the default as "Fake Speakers", refuses the rest.
        let engine = s.spawn(|| {
            let mut answered = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while answered < 2 && std::time::Instant::now() < deadline {
                if let Some(t) = state.take_output_request() {
                    let r = match t.device {
                        None => Ok(gecko_control::OutputSet { device: "Fake Speakers".into(), rate_hz: 48000 }),
                        Some(d) => Err(format!("cannot open {d}; still playing on Fake Speakers")),
                    };
                    state.finish_output(t.id, r);
                    answered += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        let r = call(&f, "set_engine_output", json!({"device": null})).unwrap();
        assert_eq!(r, json!("the engine plays on Fake Speakers"));
        let o = call(&f, "overview", json!({})).unwrap();
        assert_eq!(o["engine"]["output_device"], "Fake Speakers", "status follows at once");
        assert!(o["notices"].as_array().unwrap().iter().any(|n| n == "the engine plays on Fake Speakers"));
        assert!(!o["notices"].to_string().contains("disappeared"), "a requested move is not a loss: {}", o["notices"]);
        // A device the machine does not have is refused by the app itself.
        let e = call(&f, "set_engine_output", json!({"device": "Nowhere 9000"})).unwrap_err();
        assert!(e["message"].as_str().unwrap().contains("no output device \"Nowhere 9000\""), "{e}");
        // The engine's own refusal (answer the second request directly).
        state.take_output_request();
        let e = gecko_control::ControlClient::connect(&f.socket).unwrap().set_output(Some("Studio")).unwrap_err();
        assert!(e.to_string().contains("cannot open Studio"), "{e}");
        engine.join().unwrap();
    });
}

/// The Diagnostics panel's command: `gecko doctor`'s checks through IPC, as
/// `gecko doctor --json` prints them. Against an empty simulated system the
/// first failures name the missing driver and the stopped audio service, each
/// with its fix, and what needs them is not run.
#[test]
fn diagnostics_are_the_doctors_checks_with_their_fixes() {
    // The doctor never starts the simulated audio host, so the program is never run.
    let f = fixture_with(true, Some("/nonexistent/gecko".into()));
    let root = f._dir.path().join("root");
    let checks = call(&f, "diagnostics", json!({})).unwrap();
    let checks = checks.as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(ids, gecko_install::doctor::CHECKS);
    let by_id = |id: &str| checks.iter().find(|c| c["check"] == id).unwrap();
    let bundle = by_id("bundle");
    assert_eq!(bundle["ok"], false);
    let path = root.canonicalize().unwrap();
    assert_eq!(
        bundle["detail"],
        format!("no driver at {}/Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver", path.display())
    );
    assert!(
        bundle["fix"].as_str().unwrap().starts_with(&format!("install it: `gecko install --root {}`", path.display())),
        "{bundle}"
    );
    let service = by_id("audio-service");
    assert_eq!(
        (service["ok"].clone(), service["detail"].as_str().unwrap()),
        (json!(false), "coreaudiod is not running")
    );
    for id in ["ownership", "signature", "quarantine", "device", "ring-state", "engine", "xruns"] {
        let c = by_id(id);
        assert!(c["ok"].is_null() && c["fix"].is_null(), "{c}");
        assert!(c["detail"].as_str().unwrap().starts_with("not checked: needs"), "{c}");
    }
    // Without the `gecko` program there is no platform to check: said so.
    let f = fixture(false);
    let e = call(&f, "diagnostics", json!({})).unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("`gecko` command was not found"), "{e}");
}

/// Importing an AutoEq file from the window (which sends the file's text and
/// name): the preset lands in the folder under the file's name, the window
/// gets the counts and the notes, loading it sends the engine its bands, a
/// second import under that name is refused with code `exists` until
/// replacing is asked for, and a bad line comes back naming the line.
#[test]
fn an_eq_file_imported_from_the_window_loads_into_the_engine() {
    let f = fixture(true);
    let file = "Sennheiser HD 650 ParametricEQ.txt";
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/gecko-dsp/tests/data").join(file),
    )
    .unwrap();
    let args = |replace: bool| json!({"fileName": file, "text": text, "name": null, "replace": replace});
    let r = call(&f, "import_preset", args(false)).unwrap();
    assert_eq!(r["name"], "Sennheiser HD 650");
    assert_eq!((r["bands_both"].as_u64(), r["bands_left"].as_u64()), (Some(10), Some(0)), "{r}");
    assert!((r["preamp_db"].as_f64().unwrap() + 6.1).abs() < 1e-9, "{r}");
    assert!(f.presets_dir.join("Sennheiser HD 650.toml").is_file());
    let listed = call(&f, "presets", json!({})).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|p| p["name"] == "Sennheiser HD 650" && p["builtin"] == false));
    call(&f, "load_preset", json!({"name": "Sennheiser HD 650"})).unwrap();
    let eq = engine_params(&f).eq;
    assert_eq!(eq.bands.iter().filter(|b| b.enabled).count(), 10);
    assert_eq!(eq.preamp_db, -6.1);

    let e = call(&f, "import_preset", args(false)).unwrap_err();
    assert_eq!(e["code"], "exists", "{e}");
    call(&f, "import_preset", args(true)).unwrap();

    let bad = json!({"fileName": "bad.txt", "text": "Preamp: -2 dB\nFilter 1: ON XX Fc 100 Hz\n", "name": "Bad", "replace": false});
    let e = call(&f, "import_preset", bad).unwrap_err();
    assert_eq!(e["code"], "invalid", "{e}");
    assert!(e["message"].as_str().unwrap().contains("line 2"), "{e}");
    assert!(!f.presets_dir.join("Bad.toml").exists());
}

/// Per-device presets from the window: bind, list (a device not connected
/// now is listed as such; a preset deleted since is flagged), unbind. The
/// file is the one `gecko preset bind` and the engine use.
#[test]
fn devices_are_bound_to_presets_listed_and_unbound() {
    let f = fixture(false);
    let r = call(&f, "bind_device", json!({"device": "usb-dac-uid", "preset": "speech"})).unwrap();
    assert!(r.as_str().unwrap().contains("usb-dac-uid → speech"), "{r}");
    std::fs::write(f.presets_dir.join("Desk.toml"), "gain_db = -2.0\n").unwrap();
    call(&f, "bind_device", json!({"device": "Desk Speakers", "preset": "Desk"})).unwrap();
    let e = call(&f, "bind_device", json!({"device": "x", "preset": "No Such"})).unwrap_err();
    assert_eq!(e["code"], "invalid");
    assert!(e["message"].as_str().unwrap().contains("No Such"), "{e}");

    let list = call(&f, "bindings", json!({})).unwrap();
    let rows: Vec<(String, String, bool, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["device"].as_str().unwrap().to_owned(),
                b["preset"].as_str().unwrap().to_owned(),
                b["connected"].as_bool().unwrap(),
                b["preset_ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("Desk Speakers".into(), "Desk".into(), false, true), ("usb-dac-uid".into(), "speech".into(), false, true)]
    );
    let store = gecko_services::PresetStore::new(&f.presets_dir);
    assert_eq!(store.bound("usb-dac-uid", "whatever").unwrap().as_deref(), Some("speech"));

    std::fs::remove_file(f.presets_dir.join("Desk.toml")).unwrap();
    let list = call(&f, "bindings", json!({})).unwrap();
    assert_eq!(list[0]["preset_ok"], false, "a binding to a deleted preset is flagged: {list}");

    call(&f, "unbind_device", json!({"device": "Desk Speakers"})).unwrap();
    let e = call(&f, "unbind_device", json!({"device": "Desk Speakers"})).unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("no preset bound"), "{e}");
    assert_eq!(call(&f, "bindings", json!({})).unwrap().as_array().unwrap().len(), 1);
}

/// What the engine publishes: its output and the driver's loopback counters.
fn publish_loopback(server: &ControlServer, loopback: gecko_control::LoopbackInfo) {
    server.publish(gecko_control::server::Snapshot {
        format: gecko_control::FormatInfo { channels: 2, sample_rate: 48000.0, generation: 1 },
        output_device: None,
        output_losses: 0,
        writer: Default::default(),
        telemetry: Default::default(),
        loopback,
    })
}

fn saved_tap(f: &Fixture) -> Option<LoopbackTap> {
    gecko_services::loopback::load(&f.loopback_file).unwrap()
}

/// The Loopback section: choosing `post` saves it (the file `gecko loopback`
/// writes and every engine start reads) and reaches the running engine's
/// control state (what it passes to the driver); the state then follows what
/// the driver reports: the tap it serves, whether an app records (input
/// cycles growing between looks), the post tap not fed by a headless
/// engine, an engine asking for another tap than the one saved.
#[test]
fn choosing_post_reaches_the_engine_and_is_saved() {
    let f = fixture(true);
    let server = f.server.as_ref().unwrap();
    let state = server.state();
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!(
        (r["chosen"].clone(), r["engine_running"].clone(), r["pending"].clone()),
        (json!(null), json!(true), json!(false))
    );
    assert_eq!(r["file"], f.loopback_file.display().to_string());
    assert!(r["state_line"].as_str().unwrap().contains("passes pre to the driver when it attaches"), "{r}");
    assert_eq!(state.loopback(), None);

    let r = call(&f, "set_loopback", json!({"tap": "post"})).unwrap();
    assert_eq!(state.loopback(), Some(LoopbackTap::Post), "the engine's control state");
    assert_eq!(saved_tap(&f), Some(LoopbackTap::Post), "saved");
    assert_eq!(std::fs::read_to_string(&f.loopback_file).unwrap(), "post\n");
    assert_eq!((r["chosen"].as_str(), r["pending"].as_bool()), (Some("post"), Some(false)), "{r}");
    assert!(r["message"].as_str().unwrap().contains("the driver takes it within 0.1 s"), "{r}");

    // The driver serves post; the engine runs headless (nothing feeds post).
    let mut info = gecko_control::LoopbackInfo {
        active: Some(LoopbackTap::Post),
        post_available: false,
        input_cycles: 100,
        ..Default::default()
    };
    publish_loopback(server, info.clone());
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!(r["engine"]["requested"], "post", "{r}");
    assert_eq!((r["active"].as_str(), r["post_unfed"].as_bool()), (Some("post"), Some(true)), "{r}");
    assert!(r["state_line"].as_str().unwrap().starts_with("The driver serves post — what you hear"), "{r}");
    assert!(r["recording"].is_null(), "one look cannot tell: {r}");
    assert!(r["warning"].as_str().unwrap().contains("Post is not fed: the engine runs headless"), "{r}");

    // An app records: the input cycles grow between two looks 0.35 s apart; then stop.
    std::thread::sleep(std::time::Duration::from_millis(350));
    info.input_cycles = 140;
    publish_loopback(server, info.clone());
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!(r["recording"], true, "{r}");
    assert!(r["state_line"].as_str().unwrap().contains(" · an app records now"), "{r}");
    std::thread::sleep(std::time::Duration::from_millis(350));
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!(r["recording"], false, "{r}");
    assert!(r["state_line"].as_str().unwrap().contains(" · no app records now"), "{r}");

    // An engine that plays at Gecko Sink's rate feeds post: no warning.
    info.post_available = true;
    publish_loopback(server, info.clone());
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!((r["post_unfed"].as_bool(), r["warning"].clone()), (Some(false), json!(null)), "{r}");

    // The 1 Hz overview carries the same state (the window refreshes from it).
    let o = call(&f, "overview", json!({})).unwrap();
    assert_eq!(o["loopback"]["chosen"], "post");
    assert_eq!(o["loopback"]["active"], "post");

    // An engine asking for another tap (started with --loopback pre): the saved choice is pending.
    state.set_loopback(Some(LoopbackTap::Pre));
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!(r["pending"], true, "{r}");
    assert!(r["state_line"].as_str().unwrap().contains("the engine asks for pre, not post"), "{r}");
    call(&f, "set_loopback", json!({"tap": "off"})).unwrap();
    assert_eq!((state.loopback(), saved_tap(&f)), (Some(LoopbackTap::Off), Some(LoopbackTap::Off)));
}

/// A tap that is not pre, post or off is refused with the reason, and
/// neither the saved choice nor the engine changes.
#[test]
fn a_bad_loopback_tap_is_refused_and_changes_nothing() {
    let f = fixture(true);
    let state = f.server.as_ref().unwrap().state();
    call(&f, "set_loopback", json!({"tap": "pre"})).unwrap();
    for bad in ["loud", "", "post-eq"] {
        let e = call(&f, "set_loopback", json!({"tap": bad})).unwrap_err();
        assert_eq!(e["code"], "invalid", "{bad:?}: {e}");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains(&format!("{bad:?}")) && msg.contains("use pre, post or off"), "{msg}");
    }
    assert_eq!((state.loopback(), saved_tap(&f)), (Some(LoopbackTap::Pre), Some(LoopbackTap::Pre)));
    // A saved file that does not hold a tap is shown, not fatal; choosing replaces it.
    std::fs::write(&f.loopback_file, "loud\n").unwrap();
    let r = call(&f, "loopback", json!({})).unwrap();
    assert!(r["chosen"].is_null(), "{r}");
    assert!(r["warning"].as_str().unwrap().contains("the saved choice cannot be read"), "{r}");
    call(&f, "set_loopback", json!({"tap": "post"})).unwrap();
    assert_eq!(saved_tap(&f), Some(LoopbackTap::Post));
}

/// Without an engine the choice is saved and reported as pending (the
/// engine passes the saved choice to the driver when it starts); once an
/// engine runs that asks for it, it is no longer pending.
#[test]
fn without_an_engine_the_loopback_choice_is_saved_and_pending() {
    let f = fixture(false);
    let r = call(&f, "set_loopback", json!({"tap": "post"})).unwrap();
    assert_eq!(saved_tap(&f), Some(LoopbackTap::Post));
    assert_eq!(
        (r["chosen"].as_str(), r["engine_running"].as_bool(), r["pending"].as_bool()),
        (Some("post"), Some(false), Some(true)),
        "{r}"
    );
    assert!(r["engine"].is_null() && r["driver"].is_null(), "{r}");
    assert!(r["message"].as_str().unwrap().contains("saved; no engine runs"), "{r}");
    assert!(r["state_line"].as_str().unwrap().ends_with("no engine runs: post applies when it starts"), "{r}");
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!((r["chosen"].as_str(), r["pending"].as_bool()), (Some("post"), Some(true)), "{r}");
    assert!(r["message"].is_null());

    // An engine starts (it reads the saved choice, as `gecko engine` does) and attaches.
    let state = Arc::new(ControlState::new(gecko_dsp::ChainParams::bypass(), None));
    state.set_loopback(gecko_services::loopback::load(&f.loopback_file).unwrap());
    let info = EngineInfo { ring: "/GeckoIpcTest".into(), recording: None, engine_version: "test".into() };
    let server = ControlServer::bind(&f.socket, state, info).unwrap();
    publish_loopback(&server, gecko_control::LoopbackInfo { active: Some(LoopbackTap::Post), ..Default::default() });
    let r = call(&f, "loopback", json!({})).unwrap();
    assert_eq!((r["engine"]["requested"].as_str(), r["pending"].as_bool()), (Some("post"), Some(false)), "{r}");
}
