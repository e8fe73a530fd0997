//! The control channel over real Unix sockets: requests, edits, bad input,
//! subscriptions, reconnects.

use gecko_control::protocol::{ErrorCode, FormatInfo, LoopbackTap, TelemetryMsg, WriterStats};
use gecko_control::server::{MAX_CLIENTS, Snapshot};
use gecko_control::{ClientError, ControlClient, ControlServer, ControlState, EngineInfo, ServerError};
use gecko_dsp::ChainParams;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn server(path: &Path) -> ControlServer {
    let info = EngineInfo { ring: "/gk-test".into(), recording: None, engine_version: "9.9.9".into() };
    ControlServer::bind(path, Arc::new(ControlState::new(ChainParams::bypass(), None)), info).expect("bind")
}

fn snapshot(peak: f64) -> Snapshot {
    let mut telemetry = TelemetryMsg { frames_in: 480, io_running: true, ..TelemetryMsg::default() };
    telemetry.meters.max_peak_dbfs = Some(peak);
    Snapshot {
        format: FormatInfo { channels: 2, sample_rate: 48000.0, generation: 1 },
        output_device: None,
        output_losses: 0,
        writer: WriterStats::default(),
        telemetry,
        loopback: Default::default(),
    }
}

fn raw_exchange(path: &Path, line: &[u8]) -> (String, UnixStream) {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(line).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut reply = String::new();
    r.read_line(&mut reply).unwrap();
    (reply, s)
}

#[test]
fn requests_and_edits_round_trip_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("engine.sock");
    let srv = server(&path);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode {mode:o}");
    let dmode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dmode, 0o700, "created directory mode {dmode:o}");

    let mut c = ControlClient::connect(&path).unwrap();
    let h = c.hello().unwrap();
    assert_eq!((h.protocol, h.engine_version.as_str(), h.pid), (1, "9.9.9", std::process::id()));
    let st = c.status().unwrap();
    assert_eq!((st.ring.as_str(), st.format, st.clients), ("/gk-test", None, 1));
    match c.telemetry() {
        Err(ClientError::Engine(e)) => assert_eq!(e.code, ErrorCode::NotReady),
        other => panic!("{other:?}"),
    }
    srv.publish(snapshot(-6.0));
    let t = c.telemetry().unwrap();
    assert_eq!((t.seq, t.meters.max_peak_dbfs, t.idle), (1, Some(-6.0), false));
    assert_eq!(c.status().unwrap().format.map(|f| f.channels), Some(2));
    assert!(!c.status().unwrap().idle);
    // The engine idles (its IO stopped): status and telemetry say so.
    let mut idle = snapshot(-6.0);
    (idle.telemetry.idle, idle.telemetry.io_running) = (true, false);
    srv.publish(idle);
    assert!(c.status().unwrap().idle && c.telemetry().unwrap().idle);
    srv.publish(snapshot(-6.0));
    assert!(!c.status().unwrap().idle);

    assert_eq!(srv.latest(), None);
    assert_eq!(c.set_gain(-6.0).unwrap().params.gain_db, -6.0);
    assert_eq!(srv.latest().map(|p| p.gain_db), Some(-6.0));
    match c.set_gain(60.0) {
        Err(ClientError::Engine(e)) => {
            assert_eq!(e.code, ErrorCode::InvalidSettings);
            assert!(e.message.contains("-120 to +24"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.latest(), None, "a refused edit changes nothing");
    assert_eq!(c.set_preset("night").unwrap().preset.as_deref(), Some("night"));
    assert!(!c.set_limiter(Some(false), None).unwrap().params.limiter.enabled);
    let band = gecko_dsp::EqBand { enabled: true, gain_db: -4.0, ..gecko_dsp::EqBand::default() };
    assert_eq!(c.set_eq_band(3, band).unwrap().params.eq.bands[3], band);
    assert_eq!(c.bypass().unwrap().params, ChainParams::bypass());
    assert_eq!(srv.latest(), Some(ChainParams::bypass()));
    let st = c.status().unwrap();
    assert_eq!((st.params, st.preset), (ChainParams::bypass(), None));

    // The loopback: the choice reaches the engine's shared handle (its ABI
    // code), and status shows it beside what the driver serves.
    let handle = srv.state().loopback_handle();
    assert_eq!(handle.load(Ordering::Relaxed), 0, "no preference at first");
    let mut snap = snapshot(-6.0);
    snap.loopback.active = Some(LoopbackTap::Pre);
    snap.loopback.input_cycles = 7;
    srv.publish(snap);
    let l = c.set_loopback(LoopbackTap::Post).unwrap();
    assert_eq!((l.requested, l.active, l.input_cycles), (Some(LoopbackTap::Post), Some(LoopbackTap::Pre), 7));
    assert_eq!(handle.load(Ordering::Relaxed), 3, "GECKO_LOOPBACK_TAP_POST");
    let l = c.status().unwrap().loopback.unwrap();
    assert_eq!(l.requested, Some(LoopbackTap::Post));
    let (reply, _) = raw_exchange(&path, b"{\"v\":1,\"type\":\"set_loopback\",\"tap\":\"loud\"}\n");
    assert!(reply.contains("bad_request") || reply.contains("malformed"), "{reply}");
    assert_eq!(srv.state().loopback(), Some(LoopbackTap::Post), "a refused tap changes nothing");

    drop(c);
    drop(srv);
    assert!(!path.exists(), "the socket file is removed when the server stops");
    assert!(matches!(ControlClient::connect(&path), Err(ClientError::NotRunning(_))));
    let msg = ControlClient::connect(&path).err().unwrap().to_string();
    assert!(msg.contains("no engine is listening on") && msg.contains("gecko engine"), "{msg}");
}

#[test]
fn bad_input_gets_a_structured_error_and_never_kills_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sock");
    let _srv = server(&path);
    let code = |reply: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(reply).unwrap_or_else(|e| panic!("{reply}: {e}"));
        assert_eq!(v["v"], 1, "{reply}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{reply}");
        v["error"]["code"].as_str().unwrap().to_owned()
    };
    let mut c = ControlClient::connect(&path).unwrap();
    assert_eq!(code(&c.raw("{oops").unwrap()), "malformed_json");
    assert_eq!(code(&c.raw("42").unwrap()), "malformed_json");
    assert_eq!(code(&c.raw(r#"{"v":2,"type":"status"}"#).unwrap()), "unsupported_version");
    assert_eq!(code(&c.raw(r#"{"type":"status"}"#).unwrap()), "unsupported_version");
    assert_eq!(code(&c.raw(r#"{"v":1,"type":"self_destruct"}"#).unwrap()), "unknown_request");
    assert_eq!(code(&c.raw(r#"{"v":1,"type":"set_gain","db":"loud"}"#).unwrap()), "bad_request");
    assert_eq!(
        code(&c.raw(r#"{"v":1,"type":"set_eq_band","index":99,"band":{"type":"peaking","freq":100,"q":1}}"#).unwrap()),
        "invalid_settings"
    );
    // Still usable after all that.
    assert_eq!(c.hello().unwrap().protocol, 1);

    // Not UTF-8.
    let (reply, _s) = raw_exchange(&path, b"\xff\xfe\n");
    assert_eq!(code(&reply), "malformed_json");
    // A line over 64 KiB: refused, connection closed.
    let mut big = vec![b'x'; 70 * 1024];
    big.push(b'\n');
    let (reply, s) = raw_exchange(&path, &big);
    assert_eq!(code(&reply), "line_too_long");
    let mut rest = String::new();
    let n = BufReader::new(s).read_line(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "closed after an oversized line");
    // The server still serves others.
    assert_eq!(ControlClient::connect(&path).unwrap().hello().unwrap().protocol, 1);
}

#[test]
fn the_socket_file_is_reclaimed_only_when_nobody_listens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sock");
    // A stale socket (its listener gone, the file left behind).
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let srv = server(&path);
    let info = EngineInfo { ring: "/x".into(), recording: None, engine_version: "0".into() };
    match ControlServer::bind(&path, Arc::new(ControlState::new(ChainParams::bypass(), None)), info.clone()) {
        Err(e @ ServerError::AlreadyRunning(_)) => assert!(e.to_string().contains("already listening")),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second server took over a live socket"),
    }
    assert_eq!(ControlClient::connect(&path).unwrap().hello().unwrap().engine_version, "9.9.9");
    drop(srv);
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "precious").unwrap();
    assert!(matches!(
        ControlServer::bind(&file, Arc::new(ControlState::new(ChainParams::bypass(), None)), info),
        Err(ServerError::NotASocket(_))
    ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
}

#[test]
fn subscriptions_stream_at_the_requested_rate_and_clients_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sock");
    let srv = Arc::new(server(&path));
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (srv, stop) = (srv.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                srv.publish(snapshot(-12.0));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    for (asked, granted) in [(20.0, 20.0), (1000.0, 30.0), (1.0, 10.0)] {
        let sub = ControlClient::connect(&path).unwrap().subscribe(asked).unwrap();
        assert_eq!(sub.rate_hz(), granted);
        let start = Instant::now();
        let mut n = 0usize;
        let mut last_seq = 0;
        for msg in sub {
            let t = msg.unwrap();
            assert!(t.seq >= last_seq, "seq goes forward");
            last_seq = t.seq;
            n += 1;
            if start.elapsed() >= Duration::from_secs(2) {
                break;
            }
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        eprintln!("asked {asked} Hz, granted {granted} Hz, got {rate:.1} Hz");
        assert!(rate > granted * 0.6 && rate < granted * 1.4, "asked {asked} Hz: {rate:.1} Hz");
    }
    // The first client is gone (the app closed); a new one connects and works.
    let deadline = Instant::now() + Duration::from_secs(5);
    while srv.clients() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(srv.clients(), 0, "disconnected clients are let go");
    let mut again = ControlClient::connect(&path).unwrap();
    assert_eq!(again.telemetry().unwrap().meters.max_peak_dbfs, Some(-12.0));

    // Too many at once: the extra one is told so.
    let held: Vec<ControlClient> = (0..MAX_CLIENTS - 1).map(|_| ControlClient::connect(&path).unwrap()).collect();
    let mut extra = ControlClient::connect(&path).unwrap();
    match extra.hello() {
        Err(ClientError::Engine(e)) => assert_eq!(e.code, ErrorCode::TooManyClients),
        other => panic!("{other:?}"),
    }
    drop(held);
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
}

#[test]
fn stopping_never_hangs_even_if_the_socket_file_was_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sock");
    let srv = server(&path);
    let idle = ControlClient::connect(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let start = Instant::now();
    drop(srv);
    assert!(start.elapsed() < Duration::from_secs(2), "drop took {:?}", start.elapsed());
    drop(idle);
}
