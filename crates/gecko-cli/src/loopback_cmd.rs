//! `gecko loopback`: what Gecko Sink's input stream carries, for recording
//! apps (OBS, QuickTime, Zoom, Audacity: choose "Gecko Sink" as the input).

use anyhow::{Context, Result};
use clap::Args;
use gecko_control::{ControlClient, LoopbackInfo, LoopbackTap};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct LoopbackArgs {
    /// `pre`: what apps play, exactly, before the volume and the engine (no
    /// latency). `post`: what you hear, after EQ, limiter and volume. `off`:
    /// silence. Without it: show the loopback's state.
    #[arg(value_name = "pre|post|off")]
    pub tap: Option<LoopbackTap>,
    /// The engine's control socket (default: $XDG_RUNTIME_DIR/gecko/engine.sock).
    #[arg(long, value_name = "PATH", env = "GECKO_CONTROL_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Name of Gecko Sink's shared-memory ring (to look at the driver directly when no engine runs).
    #[arg(long, value_name = "NAME", default_value = gecko_ring::abi::DEFAULT_NAME)]
    pub shm_name: String,
}

pub fn run(a: LoopbackArgs) -> Result<()> {
    let path = gecko_services::loopback::saved_tap_path();
    let socket = a.socket.clone().unwrap_or_else(gecko_control::default_socket_path);
    let engine = ControlClient::connect(&socket).ok();
    match a.tap {
        Some(tap) => {
            gecko_services::loopback::save(&path, tap).map_err(anyhow::Error::msg)?;
            match engine {
                Some(mut c) => {
                    let info = c.set_loopback(tap).context("the engine refused the loopback tap")?;
                    println!("loopback: {} — {}", tap.name(), tap.describe());
                    if tap == LoopbackTap::Post && !info.post_available {
                        println!(
                            "  note: the engine does not feed the post tap now (it runs headless, or its output plays at another rate than Gecko Sink's); the input carries silence until it does"
                        );
                    }
                    println!("  the driver takes it within 0.1 s; recording apps: choose \"Gecko Sink\" as the input");
                }
                None => println!(
                    "loopback: {} — {} (saved; no engine runs: the engine passes it to the driver when it starts)",
                    tap.name(),
                    tap.describe()
                ),
            }
        }
        None => {
            let saved = gecko_services::loopback::load(&path).map_err(anyhow::Error::msg)?;
            match saved {
                Some(t) => println!("chosen: {} — {} ({})", t.name(), t.describe(), path.display()),
                None => println!("chosen: nothing yet (the driver starts with pre); `gecko loopback pre|post|off`"),
            }
            let info = match engine {
                Some(mut c) => c.status().ok().and_then(|s| s.loopback),
                None => gecko_services::loopback::driver_state(&a.shm_name),
            };
            match info {
                Some(i) => print!("{}", report(&i)),
                None => println!("driver: not reachable (is Gecko Sink installed and loaded? `gecko status`)"),
            }
        }
    }
    Ok(())
}

/// The driver's side of the loopback, for people.
pub fn report(i: &LoopbackInfo) -> String {
    let mut s = String::new();
    match i.active {
        Some(t) => s.push_str(&format!("driver: serving {} — {}\n", t.name(), t.describe())),
        None => s.push_str("driver: no app has recorded Gecko Sink since it started\n"),
    }
    if i.input_cycles > 0 {
        let silent = if i.input_frames > 0 { 100.0 * i.silent_frames as f64 / i.input_frames as f64 } else { 0.0 };
        s.push_str(&format!(
            "  {} input cycles, {} frames delivered ({silent:.1} % silence)\n",
            i.input_cycles, i.input_frames
        ));
    }
    if i.active == Some(LoopbackTap::Post) || i.post_attached {
        s.push_str(&format!(
            "  post tap: {} · {} frames behind the engine · {} re-locks\n",
            if i.post_attached { "the engine feeds it" } else { "no engine feeds it (silence)" },
            i.post_delay_frames,
            i.resync_events
        ));
    }
    if i.post_faults > 0 || i.repaired_samples > 0 {
        s.push_str(&format!(
            "  refused: {} invalid loopback contents, {} samples repaired (a faulty engine)\n",
            i.post_faults, i.repaired_samples
        ));
    }
    s
}
