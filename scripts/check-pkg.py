#!/usr/bin/env python3
"""Reads Gecko-<version>.pkg back with tools independent of the ones that wrote
it and checks it is the whole product:

  bsdtar       unpacks the product archive (xar) and each component's Payload
  cpio         lists each Payload (gzipped odc cpio) with owners and modes
  llvm-lipo-19 the architectures of each Mach-O
  llvm-objdump-19 --macho  file type, LC_BUILD_VERSION (minimum macOS), load commands
  llvm-nm-19 -m            every undefined symbol bound two-level to a library
  gecko-macos-bundle check-macho / verify: imports against the stubs, signatures
  plistlib     Info.plist of Gecko.app and the LaunchAgent

usage: check-pkg.py PKG --sdk STUB_SDK --tool GECKO_MACOS_BUNDLE [--archs "arm64 x86_64"]
  --archs: the architectures of gecko and gecko-app (the driver is always both)
Exits 1 naming every problem; prints what it checked.
"""
import argparse
import gzip
import os
import plistlib
import re
import subprocess
import sys
import tempfile

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
    return cond


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"check-pkg: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pkg")
    ap.add_argument("--sdk", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--archs", default="arm64 x86_64")
    ap.add_argument("--min-macos", default="12.0")
    a = ap.parse_args()
    want_archs = sorted(a.archs.split())
    tmp = tempfile.mkdtemp(prefix="check-pkg-")
    x = os.path.join(tmp, "xar")
    os.mkdir(x)
    run("bsdtar", "-xf", a.pkg, "-C", x)
    check(sorted(os.listdir(x)) == ["Distribution", "GeckoAgent.pkg", "GeckoApp.pkg", "GeckoDriver.pkg"],
          f"components: {sorted(os.listdir(x))}")
    dist = open(os.path.join(x, "Distribution")).read()
    order = [dist.find(f'<line choice="com.gecko.pkg.{c}"/>') for c in ("app", "agent", "driver")]
    check(all(o >= 0 for o in order) and order == sorted(order), f"choice order {order}")
    check(f'<os-version min="{a.min_macos}"/>' in dist, "Distribution: minimum macOS")

    roots = {}
    for comp in ("GeckoApp", "GeckoAgent", "GeckoDriver"):
        payload = os.path.join(x, f"{comp}.pkg", "Payload")
        raw = gzip.open(payload).read()
        cpio_path = os.path.join(tmp, f"{comp}.cpio")
        open(cpio_path, "wb").write(raw)
        with open(cpio_path, "rb") as f:
            listing = subprocess.run(["cpio", "-itv", "--numeric-uid-gid", "--quiet"], stdin=f,
                                     capture_output=True, text=True, check=True).stdout
        entries = {}
        for line in listing.splitlines():
            parts = line.split()
            # -rwxr-xr-x   1 0        0          1234 Dec  3 12:00 ./path
            entries[parts[-1]] = (parts[0], parts[2], parts[3])
        check(all((u, g) == ("0", "0") for _, u, g in entries.values()), f"{comp}: entries not owned by 0:0")
        for path, (mode, _, _) in entries.items():
            if mode.startswith("d"):
                check(mode == "drwxr-xr-x", f"{comp}: {path} is {mode}")
            elif "/Contents/MacOS/" in path:
                check(mode == "-rwxr-xr-x", f"{comp}: {path} is {mode}")
            else:
                check(mode == "-rw-r--r--", f"{comp}: {path} is {mode}")
        root = os.path.join(tmp, comp)
        os.mkdir(root)
        run("bsdtar", "-xf", payload, "-C", root)
        roots[comp] = (root, entries)
        print(f"{comp}: {len(entries)} entries, all 0:0, modes 755/644")

    app_root, app_entries = roots["GeckoApp"]
    app = os.path.join(app_root, "Gecko.app")
    for rel in ("Contents/Info.plist", "Contents/MacOS/gecko-app", "Contents/MacOS/gecko",
                "Contents/Resources/icon.icns", "Contents/_CodeSignature/CodeResources",
                "Contents/PlugIns/GeckoAudioDevice.driver/Contents/MacOS/GeckoAudioDevice"):
        check(f"./Gecko.app/{rel}" in app_entries, f"Gecko.app lacks {rel}")
    info = plistlib.load(open(os.path.join(app, "Contents/Info.plist"), "rb"))
    for k, v in (("CFBundleIdentifier", "com.gecko.app"), ("CFBundleExecutable", "gecko-app"),
                 ("CFBundlePackageType", "APPL"), ("LSUIElement", True),
                 ("LSMinimumSystemVersion", a.min_macos), ("CFBundleIconFile", "icon.icns")):
        check(info.get(k) == v, f"Gecko.app Info.plist {k} = {info.get(k)!r}, expected {v!r}")
    icns = open(os.path.join(app, "Contents/Resources/icon.icns"), "rb").read()
    check(icns[:4] == b"icns" and int.from_bytes(icns[4:8], "big") == len(icns), "icon.icns is not an icns file")

    agent_root, agent_entries = roots["GeckoAgent"]
    check(list(agent_entries) in (["./com.gecko.engine.plist"], [".", "./com.gecko.engine.plist"]),
          f"GeckoAgent payload: {list(agent_entries)}")
    agent = plistlib.load(open(os.path.join(agent_root, "com.gecko.engine.plist"), "rb"))
    check(agent.get("Label") == "com.gecko.engine" and agent.get("RunAtLoad") is True
          and agent.get("KeepAlive") == {"SuccessfulExit": False}, f"LaunchAgent: {agent}")
    check(agent.get("ProgramArguments", [])[:2] == ["/Applications/Gecko.app/Contents/MacOS/gecko", "engine"],
          f"LaunchAgent runs {agent.get('ProgramArguments')}")

    drv_root, _ = roots["GeckoDriver"]
    # The Rust executables have the architectures asked for (--archs: the quick
    # form CI builds is arm64 only); the driver is always universal.
    both = ["arm64", "x86_64"]
    machos = {
        "gecko-app": (os.path.join(app, "Contents/MacOS/gecko-app"), "EXECUTE", want_archs),
        "gecko": (os.path.join(app, "Contents/MacOS/gecko"), "EXECUTE", want_archs),
        "driver": (os.path.join(drv_root, "GeckoAudioDevice.driver/Contents/MacOS/GeckoAudioDevice"), "BUNDLE", both),
        "driver in app": (os.path.join(app, "Contents/PlugIns/GeckoAudioDevice.driver/Contents/MacOS/GeckoAudioDevice"), "BUNDLE", both),
    }
    for name, (path, ftype, expected) in machos.items():
        archs = sorted(run("llvm-lipo-19", "-archs", path).split())
        check(archs == expected, f"{name}: architectures {archs}, expected {expected}")
        for arch in archs:
            hdr = run("llvm-objdump-19", "--macho", f"--arch={arch}", "--private-headers", path)
            check(re.search(rf"\b{ftype}\b", hdr) is not None, f"{name} [{arch}]: not MH_{ftype}")
            check("TWOLEVEL" in hdr, f"{name} [{arch}]: not two-level")
            minos = re.findall(r"minos (\S+)", hdr)
            check(minos == [a.min_macos], f"{name} [{arch}]: minos {minos}")
            nm = run("llvm-nm-19", "-m", f"--arch={arch}", path)
            undefined = [l for l in nm.splitlines() if "(undefined)" in l]
            unbound = [l.strip() for l in undefined if not re.search(r"\(from [A-Za-z0-9_.]+\)$", l)]
            check(not unbound, f"{name} [{arch}]: imports not bound to a library: {unbound[:5]}")
            libs = sorted({re.search(r"\(from ([^)]+)\)$", l).group(1) for l in undefined if "(from " in l})
            print(f"{name} [{arch}]: MH_{ftype}, macOS {minos[0] if minos else '?'}+, {len(undefined)} imports from {', '.join(libs)}")
    r = subprocess.run([a.tool, "check-macho", "--sdk", a.sdk, "--min-macos", a.min_macos,
                        machos["gecko-app"][0], machos["gecko"][0]], capture_output=True, text=True)
    check(r.returncode == 0, f"check-macho: {r.stderr.strip()}")
    for bundle in (app, os.path.join(drv_root, "GeckoAudioDevice.driver")):
        r = subprocess.run([a.tool, "verify", bundle], capture_output=True, text=True)
        check(r.returncode == 0, f"signature of {os.path.basename(bundle)}: {r.stderr.strip()}")
        print(r.stdout.strip())
    if problems:
        print("check-pkg: FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"check-pkg: {os.path.basename(a.pkg)} is the whole product ({', '.join(want_archs)})")


if __name__ == "__main__":
    main()
