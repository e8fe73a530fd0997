//! `gecko install / status / uninstall` against a simulated system in a
//! temporary directory (the flow itself is tested in gecko-install).

use std::path::Path;
use std::process::{Command, Output};

fn gecko(root: &Path, shm: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gecko"))
        .args(args)
        .arg("--root")
        .arg(root)
        .env("GECKO_SIM_SHM_NAME", shm)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// Stops the simulated launchd (and its coreaudiod) the commands left running.
struct Cleanup<'a>(&'a Path, String);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.join("var/run/gecko-sim/launchd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = Command::new("sh").arg("-c").arg(format!("rm -f /dev/shm/{0} /dev/shm/{0}.rd", &self.1[1..])).status();
    }
}

#[test]
fn install_status_uninstall_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sim root");
    let shm = format!("/gkc{}", std::process::id());
    let _c = Cleanup(&root, shm.clone());

    let o = gecko(&root, &shm, &["install"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Gecko Sink is available"), "{}", text(&o));
    assert!(root.join("Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver/Contents/MacOS/GeckoAudioDevice").is_file());

    let o = gecko(&root, &shm, &["status"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for want in
        ["version 0.1.0", "owner, modes   right", "driver loaded  yes", "hosts the driver", "per-app capture: no"]
    {
        assert!(t.contains(want), "status lacks {want:?}:\n{t}");
    }

    // The system output: to Gecko Sink (remembering the speakers) and back.
    let o = gecko(&root, &shm, &["output", "use-gecko-sink"]);
    assert!(
        text(&o).contains("Gecko Sink is now the system output; the engine should play on Simulated Speakers"),
        "{}",
        text(&o)
    );
    let o = gecko(&root, &shm, &["output"]);
    assert!(
        text(&o).contains("* Gecko Sink") && text(&o).contains("remembered previous output: Simulated Speakers"),
        "{}",
        text(&o)
    );
    let o = gecko(&root, &shm, &["output", "restore"]);
    assert!(text(&o).contains("system output restored to Simulated Speakers"), "{}", text(&o));
    let o = gecko(&root, &shm, &["output"]);
    assert!(
        text(&o).contains("* Simulated Speakers  (built-in, SimBuiltInSpeakerDevice)")
            && !text(&o).contains("remembered"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("  Gecko Sink  (virtual, "), "the transport of each device:\n{}", text(&o));

    let o = gecko(&root, &shm, &["uninstall"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("nothing is left behind"), "{}", text(&o));
    let o = gecko(&root, &shm, &["status"]);
    assert!(text(&o).contains("installed      no"), "{}", text(&o));
    let o = gecko(&root, &shm, &["output", "use-gecko-sink"]);
    assert!(!o.status.success() && text(&o).contains("install the driver"), "{}", text(&o));

    // Without --root on Linux: a clear refusal.
    let o = Command::new(env!("CARGO_BIN_EXE_gecko")).arg("install").env_remove("GECKO_SIM_ROOT").output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("pass --root DIR"), "{}", text(&o));
}
