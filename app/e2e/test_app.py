#!/usr/bin/env python3
"""End-to-end test of the Gecko tray app: the real app (gecko-app), driven
through tauri-driver and WebKitWebDriver, under Xvfb (app/e2e/run.sh sets
that up).

While a real recording plays through the whole path (the C driver in the
simulated coreaudiod host `gecko host` → shared memory → `gecko engine`),
it checks that:
  1. the window opens and its meters move (telemetry from the engine);
  2. editing an EQ band in the window changes the engine's settings (read
     back with `gecko ctl --json status`) and the engine's response: the
     curve the window draws from the engine's applied settings, and the
     measured level of the processed audio;
  3. dragging the band's handle on the curve changes it too; an AutoEq file
     imported in the window becomes a preset the engine loads, and binding it
     to an output device (and removing the binding) reaches the file the
     engine reads;
  3c. choosing the loopback's "post" tap in the window reaches the engine and
     the driver (the demo's host records Gecko Sink's input, as OBS would):
     the window says the driver serves post, that an app records, and that a
     headless engine does not feed post; `gecko loopback` reports the choice;
  4. "Install driver" installs into the simulated system and the health panel
     shows the driver loaded and the audio service alive with its memory;
     "Run diagnostics" lists `gecko doctor`'s checks (the driver's and the loopback's pass;
     the demo's engine, which reads another ring, is named with its fix);
     "Use Gecko Sink" / "Restore previous output" switch the system output
     and back; "Uninstall" removes it;
and saves screenshots (PNG) into the test output directory.

Usage: test_app.py TARGET_DIR OUT_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.file_detector import UselessFileDetector

TARGET, OUT = sys.argv[1], sys.argv[2]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GECKO = os.path.join(TARGET, "debug", "gecko")
APP = os.path.join(TARGET, "debug", "gecko-app")
SOUNDS = "/usr/share/sounds/alsa"
procs = []
failures = []


def log(msg):
    print(f"e2e: {msg}", flush=True)


def check(cond, what):
    log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def start(args, env, name):
    f = open(os.path.join(OUT, f"{name}.log"), "w")
    p = subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    procs.append((name, p))
    return p


def wait_for(pred, timeout, what, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the page may be mid-update
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def ctl_status(env):
    out = subprocess.run([GECKO, "ctl", "--json", "status"], env=env, capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def text(driver, el_id):
    return driver.find_element(By.ID, el_id).text


def number(s):
    try:
        return float(s.split()[0])
    except (ValueError, IndexError):
        return None


def mean_momentary(driver, secs=3.0):
    """The window's momentary loudness (LUFS), averaged as power over `secs`."""
    vals = []
    end = time.time() + secs
    while time.time() < end:
        v = number(text(driver, "lufs-m"))
        if v is not None:
            vals.append(v)
        time.sleep(0.1)
    if not vals:
        raise RuntimeError("no momentary loudness readings in the window")
    import math
    return 10 * math.log10(sum(10 ** (v / 10) for v in vals) / len(vals))


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="gecko-e2e-")
    pid = os.getpid()
    env = dict(os.environ)
    env.update({
        "HOME": os.path.join(tmp, "home"),
        "XDG_CONFIG_HOME": os.path.join(tmp, "home", ".config"),
        "GECKO_CONTROL_SOCKET": os.path.join(tmp, "engine.sock"),
        "GECKO_SIM_ROOT": os.path.join(tmp, "root"),
        "GECKO_SIM_SHM_NAME": f"/GeckoE2eSim{pid}",
        "GECKO_PRESETS_DIR": os.path.join(tmp, "presets"),
        "GECKO_BIN": GECKO,
        "WEBKIT_DISABLE_COMPOSITING_MODE": "1",
    })
    os.makedirs(env["HOME"])
    # One ALSA output besides the (absent) default, to bind a preset to: a null
    # PCM, listed (hint) but never the default, so the engines stay headless.
    with open(os.path.join(env["HOME"], ".asoundrc"), "w") as f:
        f.write('pcm.studio { type null\n hint { show on\n description "Studio" } }\n')
    demo_ring = f"/GeckoE2eDemo{pid}"

    # A real recording, long enough to watch: Debian's ALSA test sounds, in turn, 6 times.
    program = os.path.join(tmp, "program.wav")
    parts = [os.path.join(SOUNDS, f) for f in ("Front_Center.wav", "Front_Left.wav", "Front_Right.wav", "Rear_Center.wav")]
    subprocess.run(["sox", *parts, program, "repeat", "5"], check=True)
    secs = float(subprocess.run(["soxi", "-D", program], capture_output=True, text=True, check=True).stdout)
    log(f"program: {secs:.1f} s of {', '.join(os.path.basename(p) for p in parts)}")

    # The demo: the engine (headless, its control socket) and the simulated host playing in real time.
    start([GECKO, "engine", "--shm-name", demo_ring, "--no-play", "--quiet", "--wait", "30"], env, "engine")
    # The host records Gecko Sink's input stream too (a recording app: the loopback).
    start([GECKO, "host", program, "--shm-name", demo_ring, "--wait-for-engine", "30", "--quiet",
           "--record-input", os.path.join(tmp, "input.wav")], env, "host")
    wait_for(lambda: ctl_status(env)["format"] is not None, 30, "the engine to attach to the demo's ring")
    engine_pid = ctl_status(env)["pid"]

    driver_env = dict(env)
    start(["tauri-driver", "--port", "4444", "--native-driver", shutil.which("WebKitWebDriver")], driver_env, "tauri-driver")
    wait_for(lambda: socket.create_connection(("127.0.0.1", 4444), timeout=1), 20, "tauri-driver to listen")

    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": APP})
    driver = webdriver.Remote(command_executor="http://127.0.0.1:4444", options=opts)
    try:
        driver.set_window_size(1180, 860)
        # 1. The window opens and the meters move.
        wait_for(lambda: driver.find_element(By.ID, "status-line").text not in ("", "connecting…"), 20, "the status line")
        check("engine →" in text(driver, "status-line"), f"status line shows the engine: {text(driver, 'status-line')!r}")
        wait_for(lambda: int(text(driver, "meter-seq")) > 10, 20, "telemetry in the window")
        seen = set()
        for _ in range(20):
            seen.add(text(driver, "rms-0"))
            time.sleep(0.15)
        levels = [number(s) for s in seen if number(s) is not None]
        check(len(levels) >= 3, f"the RMS meter moves while the demo plays ({len(seen)} distinct readings: {sorted(seen)[:6]}…)")
        check(text(driver, "lufs-i") != "–", f"integrated loudness shown: {text(driver, 'lufs-i')}")
        driver.save_screenshot(os.path.join(OUT, "gecko-app-meters.png"))

        # 2. An EQ band edited in the window reaches the engine and changes its response.
        before_curve = driver.find_element(By.ID, "eq-total").get_attribute("d")
        before_level = mean_momentary(driver)
        driver.find_element(By.ID, "add-band").click()
        wait_for(lambda: driver.find_element(By.ID, "band-0-gain"), 10, "band 0 in the band list")
        driver.execute_script(
            "const e = document.getElementById('band-0-gain'); e.value = '18'; e.dispatchEvent(new Event('change'));")
        band = wait_for(lambda: (lambda b: b if b["enabled"] and b["gain_db"] == 18.0 else None)(ctl_status(env)["params"]["eq"]["bands"][0]),
                        10, "the engine to apply band 0 at +18 dB")
        check(band["type"] == "peaking" and band["freq"] == 1000.0, f"engine's band 0: {band}")
        wait_for(lambda: driver.find_element(By.ID, "eq-total").get_attribute("d") != before_curve, 10, "the curve to change")
        check("EQ band 0" in text(driver, "banner-text"), f"the window says what was applied: {text(driver, 'banner-text')!r}")
        # The processed audio's level, as the engine measures it (BS.1770 momentary,
        # averaged over 3 s): speech with +18 dB at 1 kHz is clearly louder.
        time.sleep(0.5)
        after_level = mean_momentary(driver)
        check(after_level - before_level > 3.0,
              f"the engine's output got louder: momentary loudness {before_level:.1f} → {after_level:.1f} LUFS")
        driver.save_screenshot(os.path.join(OUT, "gecko-app-eq.png"))

        # 3. Dragging the band's handle up raises its gain further... and down lowers it.
        handle = driver.find_element(By.ID, "handle-0")
        ActionChains(driver).click_and_hold(handle).move_by_offset(60, 40).release().perform()
        moved = wait_for(lambda: (lambda b: b if b["freq"] != 1000.0 else None)(ctl_status(env)["params"]["eq"]["bands"][0]),
                         10, "a dragged band in the engine")
        check(moved["freq"] > 1000.0 and moved["gain_db"] < 18.0, f"dragging right and down moved band 0 to {moved['freq']} Hz, {moved['gain_db']} dB")

        # 3b. Import AutoEq's HD 650 correction from the window (the real file the
        #     DSP tests use), load it into the engine, bind it to an output device
        #     and remove the binding again.
        autoeq = os.path.join(REPO, "crates/gecko-dsp/tests/data/Sennheiser HD 650 ParametricEQ.txt")
        # The path as typed keys (WebKitWebDriver sets the file input from it);
        # Selenium's default would try a Grid upload, which tauri-driver lacks.
        driver.file_detector = UselessFileDetector()
        driver.find_element(By.ID, "import-file").send_keys(autoeq)
        driver.find_element(By.ID, "import").click()
        wait_for(lambda: "Imported" in text(driver, "banner-text"), 10, "the import to finish")
        check('Imported "Sennheiser HD 650": 10 band(s) on both channels, 0 left, 0 right, preamp -6.1 dB' in text(driver, "banner-text"),
              f"the window says what was imported: {text(driver, 'banner-text')!r}")
        check(os.path.isfile(os.path.join(env["GECKO_PRESETS_DIR"], "Sennheiser HD 650.toml")), "the preset is in the user's folder")
        listed = subprocess.run([GECKO, "preset", "list"], env=env, capture_output=True, text=True, timeout=10).stdout
        check("Sennheiser HD 650" in listed, "gecko preset list finds the imported preset")
        check(driver.find_element(By.ID, "preset-select").get_attribute("value") == "Sennheiser HD 650", "the picker selects it")
        driver.find_element(By.ID, "preset-load").click()
        st = wait_for(lambda: (lambda s: s if s["preset"] == "Sennheiser HD 650" else None)(ctl_status(env)), 10,
                      "the engine to load the imported preset")
        bands = [b for b in st["params"]["eq"]["bands"] if b["enabled"]]
        check(len(bands) == 10 and st["params"]["eq"]["preamp_db"] == -6.1 and bands[0]["type"] == "low_shelf",
              f"the engine runs its 10 bands and preamp: {len(bands)} bands, preamp {st['params']['eq']['preamp_db']}")
        # Importing again under the same name is refused until "replace" is ticked.
        driver.find_element(By.ID, "import").click()
        wait_for(lambda: "already have a preset" in text(driver, "banner-text"), 10, "the refusal to overwrite")
        check('tick "replace"' in text(driver, "banner-text"), f"the refusal says how: {text(driver, 'banner-text')!r}")
        devices = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#bind-device option")]
        check("studio" in devices, f"the output devices are offered for binding: {devices}")
        driver.execute_script("document.getElementById('bind-device').value = 'studio';"
                              "document.getElementById('bind-preset').value = 'Sennheiser HD 650';")
        driver.find_element(By.ID, "bind").click()
        wait_for(lambda: driver.find_element(By.ID, "binding-0"), 10, "the binding in the list")
        row = text(driver, "binding-0")
        check("studio" in row and "Sennheiser HD 650" in row, f"the binding is listed: {row!r}")
        bound = subprocess.run([GECKO, "preset", "bindings"], env=env, capture_output=True, text=True, timeout=10).stdout
        check("studio" in bound and "Sennheiser HD 650" in bound, f"gecko preset bindings shows it: {bound.strip()!r}")
        driver.execute_script("document.getElementById('presets-panel').scrollIntoView()")
        driver.save_screenshot(os.path.join(OUT, "gecko-app-presets.png"))
        driver.find_element(By.ID, "unbind-0").click()
        wait_for(lambda: not driver.find_elements(By.ID, "binding-0"), 10, "the binding to go")
        bound = subprocess.run([GECKO, "preset", "bindings"], env=env, capture_output=True, text=True, timeout=10).stdout
        check("studio" not in bound, f"and it is gone from the file: {bound.strip()!r}")

        # A headless engine the app did not start is not moved or restarted: its refusal says how.
        driver.find_element(By.ID, "device-apply").click()
        wait_for(lambda: "headless" in text(driver, "banner-text"), 10, "the foreign headless engine's refusal")
        check("gecko engine --device" in text(driver, "banner-text"), f"the refusal says how: {text(driver, 'banner-text')!r}")
        check(ctl_status(env)["pid"] == engine_pid, "the engine kept running")

        # 3c. The loopback: the driver serves pre (its own default) to the recording host;
        #     "post" in the window reaches the engine (its control state, `gecko ctl status`),
        #     the driver and the saved choice (`gecko loopback`); the engine runs headless,
        #     so the window warns that post is not fed. Then back to pre.
        driver.execute_script("document.getElementById('loopback-panel').scrollIntoView()")
        wait_for(lambda: "The driver serves pre" in text(driver, "loopback-state") and "an app records now" in text(driver, "loopback-state"),
                 15, "the window to show the driver serving pre to a recording app")
        check(driver.find_element(By.ID, "loopback-pre").is_selected(), "nothing saved yet: pre (the driver's own) is shown chosen")
        driver.find_element(By.ID, "loopback-post").click()
        wait_for(lambda: "The driver serves post" in text(driver, "loopback-state"), 10, "the driver to serve post")
        state_text = text(driver, "loopback-state")
        check(state_text.startswith("The driver serves post — what you hear, after EQ, limiter and volume") and "an app records now" in state_text,
              f"the window's loopback state: {state_text!r}")
        check("Loopback: post" in text(driver, "banner-text"), f"the window says what was done: {text(driver, 'banner-text')!r}")
        check(ctl_status(env)["loopback"]["requested"] == "post", "the engine asks the driver for post (gecko ctl status)")
        warning = driver.find_element(By.ID, "loopback-warning")
        check(warning.is_displayed() and "Post is not fed: the engine runs headless" in warning.text,
              f"a headless engine's post tap is flagged: {warning.text!r}")
        report = subprocess.run([GECKO, "loopback"], env=env, capture_output=True, text=True, timeout=10).stdout
        check("chosen: post" in report and "driver: serving post" in report, f"gecko loopback reports it: {report.strip()!r}")
        check(driver.find_element(By.ID, "loopback-post").is_selected(), "the post radio is chosen")
        time.sleep(1.2)  # one overview refresh: the radios and the state stay
        driver.save_screenshot(os.path.join(OUT, "gecko-app-loopback.png"))
        driver.find_element(By.ID, "loopback-pre").click()
        wait_for(lambda: "The driver serves pre" in text(driver, "loopback-state"), 10, "the driver to serve pre again")
        check(not driver.find_element(By.ID, "loopback-warning").is_displayed(), "no warning for pre")
        report = subprocess.run([GECKO, "loopback"], env=env, capture_output=True, text=True, timeout=10).stdout
        check("chosen: pre" in report, f"gecko loopback reports pre: {report.strip()!r}")

        # 4. Install, switch the system output and back, uninstall: from the window.
        driver.find_element(By.ID, "install").click()
        wait_for(lambda: "loaded" in text(driver, "driver-line") and "not loaded" not in text(driver, "driver-line"), 60, "the driver to load")
        check("installed" in text(driver, "driver-line"), f"driver panel: {text(driver, 'driver-line')!r}")
        svc = text(driver, "service-line")
        check("alive" in svc and "MiB" in svc, f"coreaudiod health shown: {svc!r}")
        driver.save_screenshot(os.path.join(OUT, "gecko-app-installed.png"))
        # The Diagnostics panel: gecko doctor's checks, in order, with their fixes.
        driver.find_element(By.ID, "diagnose").click()
        items = wait_for(lambda: (lambda li: li if len(li) == 14 else None)(driver.find_elements(By.CSS_SELECTOR, "#diagnostics li")),
                         30, "the 14 diagnostics")
        ids = [li.get_attribute("id") for li in items]
        check(ids[0] == "diag-bundle" and ids[-1] == "diag-loopback", f"the checks in order: {ids}")
        for cid in ("bundle", "ownership", "signature", "quarantine", "audio-service", "device", "ring-state", "segments", "loopback"):
            li = driver.find_element(By.ID, f"diag-{cid}")
            check(li.get_attribute("class") == "ok" and li.text.startswith("✔"), f"diagnostics: {cid} passes: {li.text!r}")
        eng = driver.find_element(By.ID, "diag-engine")
        check(eng.get_attribute("class") == "fail" and f"reads {demo_ring}" in eng.text
              and f"gecko engine --shm-name {env['GECKO_SIM_SHM_NAME']}" in eng.text,
              f"diagnostics name the demo's engine on another ring, with the fix: {eng.text!r}")
        check(driver.find_element(By.ID, "diag-latency").get_attribute("class") == "skip", "what needs the engine is not run")
        driver.execute_script("document.getElementById('diagnostics-panel').scrollIntoView()")
        driver.save_screenshot(os.path.join(OUT, "gecko-app-diagnostics.png"))
        driver.find_element(By.ID, "output-toggle").click()
        wait_for(lambda: "System output: Gecko Sink" in text(driver, "output-line"), 15, "Gecko Sink as the system output")
        check("previous: Simulated Speakers" in text(driver, "output-line"), f"previous output remembered: {text(driver, 'output-line')!r}")
        driver.find_element(By.ID, "output-toggle").click()
        wait_for(lambda: "System output: Simulated Speakers" in text(driver, "output-line"), 15, "the previous output restored")
        # The engine stopping while Gecko Sink is the system output: the app restores the previous output.
        driver.find_element(By.ID, "output-toggle").click()
        wait_for(lambda: "System output: Gecko Sink" in text(driver, "output-line"), 15, "Gecko Sink as the system output again")
        os.kill(engine_pid, signal.SIGINT)
        wait_for(lambda: "System output: Simulated Speakers" in text(driver, "output-line"), 15,
                 "the app to restore the output after the engine stopped")
        told = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#notices li")]
        check(told and told[0] == "the engine is not running — system output restored to Simulated Speakers",
              f"the person is told (newest first): {told[:2]!r}")
        driver.find_element(By.ID, "uninstall").click()
        wait_for(lambda: text(driver, "driver-line").startswith("not installed"), 60, "the driver to be removed")
        check(not os.path.exists(os.path.join(env["GECKO_SIM_ROOT"], "Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver")),
              "the bundle is gone from the simulated HAL folder")

        # 5. The app's own engine (the demo's was stopped above): start one from the
        #    window (headless here: this machine has no sound card), move it to
        #    another output: it is restarted there with its settings. (An engine
        #    that plays moves live instead: crates/gecko-cli/tests/ctl.rs and the
        #    IPC tests cover that path.)
        wait_for(lambda: "engine stopped" in text(driver, "status-line"), 15, "the status line to show no engine")
        wait_for(lambda: "no engine runs: pre applies when it starts" in text(driver, "loopback-state"), 10,
                 "the loopback choice pending without an engine")
        driver.find_element(By.ID, "engine-start").click()
        wait_for(lambda: "engine started" in text(driver, "banner-text"), 20, "the app to start an engine")
        own_pid = ctl_status(env)["pid"]
        check(own_pid != engine_pid, f"the app's engine runs (pid {own_pid})")
        driver.execute_script("const e = document.getElementById('gain'); e.value = '-7'; e.dispatchEvent(new Event('change'));")
        wait_for(lambda: ctl_status(env)["params"]["gain_db"] == -7.0, 10, "gain -7 dB in the engine")
        driver.find_element(By.ID, "device-apply").click()
        wait_for(lambda: ctl_status(env)["pid"] not in (own_pid,), 30, "the engine restarted on the chosen output")
        check(ctl_status(env)["params"]["gain_db"] == -7.0, "its settings were carried over (gain -7 dB)")
        driver.save_screenshot(os.path.join(OUT, "gecko-app.png"))
    finally:
        try:  # the engine the app started outlives the app by design: stop it
            os.kill(ctl_status(env)["pid"], signal.SIGINT)
        except Exception:
            pass
        try:
            driver.quit()
        except Exception:
            pass
        # The simulated launchd/coreaudiod started by Install.
        run_dir = os.path.join(env["GECKO_SIM_ROOT"], "var/run/gecko-sim")
        for f in ("launchd.pid", "coreaudiod.pid"):
            try:
                os.kill(int(open(os.path.join(run_dir, f)).read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for name, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for ring in (demo_ring, env["GECKO_SIM_SHM_NAME"]):
            for suffix in ("", ".rd"):
                try:
                    os.unlink("/dev/shm" + ring + suffix)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"screenshots in {OUT}")
    if failures:
        log(f"{len(failures)} check(s) failed")
        sys.exit(1)
    log("all checks passed")


if __name__ == "__main__":
    main()
