#!/bin/sh
# gecko-driver.sh: the privileged steps of installing and removing Gecko Sink's
# driver, GeckoAudioDevice.driver (bundle id com.gecko.driver.AudioDevice).
#
# This is the only copy of these steps. It is run:
#   - by `gecko install` / `gecko uninstall` (crates/gecko-install): on macOS as
#     root through one administrator prompt (osascript "do shell script ... with
#     administrator privileges"), with this text and every argument passed as a
#     single-quoted shell word; on Linux directly, against a directory standing
#     in for / (--root DIR --sim);
#   - by the .pkg's preinstall and postinstall scripts (installer/pkg-scripts),
#     which carry this file next to them.
#
# Usage: gecko-driver.sh [--root DIR] [--sim] ACTION [ARG]
#   install BUNDLE     copy BUNDLE to $ROOT/Library/Audio/Plug-Ins/HAL/GeckoAudioDevice.driver,
#                      owner 0:0 (root:wheel), modes 755 (directories, Contents/MacOS/*) and
#                      644 (other files); replace any previous install atomically and roll
#                      back to it on failure; then restart the audio service
#   uninstall          remove the bundle, staging leftovers, the engine's LaunchAgent (unloaded
#                      first), Gecko.app when the .pkg installed it (its receipt says so)
#                      and the pkg receipts; restart
#   restart-audio      restart coreaudiod (restart_audio_service below)
#   wait-device present|absent SECONDS
#                      wait for "Gecko Sink" to be listed (or gone)
#   pkg-preinstall     (the .pkg, before its payload) move a previous install aside
#   pkg-postinstall    (the .pkg, after its payload) owner and modes, the ring fallback when
#                      the payload has Gecko.app, the engine's LaunchAgent
#                      ($ROOT/Library/LaunchAgents/com.gecko.engine.plist) checked and loaded
#                      for the console user, restart, wait for the device
#   ring-fallback GECKO
#                      the plug-in sandbox fallback (docs/macos-semantics.md): a LaunchDaemon
#                      ($ROOT/Library/LaunchDaemons/com.gecko.ring.plist, user _coreaudiod,
#                      at load) that runs `GECKO ring precreate` at every boot, loaded now;
#                      GECKO is the gecko executable's path on the target system. In the
#                      simulation the segment is pre-created directly (GECKO_SIM_SHM names it)
#
# --root DIR   the system root (default /). The .pkg passes its target volume.
# --sim        Linux simulation (also GECKO_DRIVER_SIM=1): "coreaudiod" is the simulated
#              host whose pid is in $ROOT/var/run/gecko-sim/coreaudiod.pid (its supervisor
#              relaunches it, as launchd does), and GECKO_INSTALL_FAIL_AT=<step> injects a
#              failure at copy|normalize|swap|after-swap (tests of the roll-back).
#
# Output: one line per step, prefixed "gecko-driver: ". Exit status: 0 done;
# 1 failed (the last lines say what happened and whether the previous state was
# restored); 2 refused (bad arguments, unsafe destination, unacceptable bundle).
set -u
umask 022
PATH=/usr/bin:/bin:/usr/sbin:/sbin
export PATH

BUNDLE_NAME=GeckoAudioDevice.driver
BUNDLE_ID=com.gecko.driver.AudioDevice
EXECUTABLE=GeckoAudioDevice
DEVICE_NAME="Gecko Sink"
PKG_IDS="com.gecko.pkg.driver com.gecko.pkg.app com.gecko.pkg.agent"

say() { printf 'gecko-driver: %s\n' "$*"; }
refuse() { say "refused: $*"; exit 2; }

ROOT=/
SIM=0
[ "${GECKO_DRIVER_SIM:-0}" = 1 ] && SIM=1
while [ $# -gt 0 ]; do
    case $1 in
        --root) [ $# -ge 2 ] || refuse "--root needs a directory"; ROOT=$2; shift 2 ;;
        --sim) SIM=1; shift ;;
        --) shift; break ;;
        -*) refuse "unknown option $1" ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || refuse "no action (install BUNDLE | uninstall | restart-audio | wait-device | pkg-preinstall | pkg-postinstall | ring-fallback GECKO)"
ACTION=$1
shift

case $ROOT in
    /*) ;;
    *) refuse "--root must be an absolute path, got: $ROOT" ;;
esac
[ -d "$ROOT" ] || refuse "--root $ROOT is not a directory"
# R is ROOT without a trailing slash ("" for /), so "$R/Library" is always right.
R=${ROOT%/}
while [ "${R%/}" != "$R" ]; do R=${R%/}; done
HAL="$R/Library/Audio/Plug-Ins/HAL"
DEST="$HAL/$BUNDLE_NAME"
SIMRUN="$R/var/run/gecko-sim"
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1
# Restart the audio service and wait for the device only on the running system
# (or the simulation); a pkg installed on another volume takes effect when that
# system starts.
LIVE=0
if [ "$SIM" = 1 ] || [ -z "$R" ]; then LIVE=1; fi

# Test hook (simulation only): fail on purpose at the named step.
fail_point() {
    if [ "$SIM" = 1 ] && [ "${GECKO_INSTALL_FAIL_AT:-}" = "$1" ]; then
        say "injected failure at step '$1' (GECKO_INSTALL_FAIL_AT, test)"
        return 1
    fi
    return 0
}

# The destination's directories must be real directories: a symbolic link
# there could redirect root's writes anywhere, so refuse rather than follow.
check_dest_parents() {
    for d in "$R/Library" "$R/Library/Audio" "$R/Library/Audio/Plug-Ins" "$HAL"; do
        if [ -L "$d" ]; then
            refuse "$d is a symbolic link; Gecko will not install through it. Replace it with a real directory (owner root, mode 755) and try again."
        fi
        if [ -e "$d" ] && [ ! -d "$d" ]; then
            refuse "$d exists and is not a directory; move it away and try again."
        fi
    done
}

make_dest_parents() {
    for d in "$R/Library" "$R/Library/Audio" "$R/Library/Audio/Plug-Ins" "$HAL"; do
        if [ ! -d "$d" ]; then
            mkdir "$d" && chmod 755 "$d" || return 1
            if [ "$AS_ROOT" = 1 ]; then chown 0:0 "$d" || return 1; fi
        fi
    done
}

# What we accept as a source: a directory named like ours, no symbolic links
# inside, our Info.plist identity and an executable. (gecko-install checks the
# Info.plist and the code signature in full before running this.)
check_source() {
    src=$1
    [ -d "$src" ] && [ ! -L "$src" ] || refuse "$src is not a bundle directory"
    [ -f "$src/Contents/Info.plist" ] || refuse "$src has no Contents/Info.plist"
    [ -f "$src/Contents/MacOS/$EXECUTABLE" ] || refuse "$src has no Contents/MacOS/$EXECUTABLE"
    grep -q "<string>$BUNDLE_ID</string>" "$src/Contents/Info.plist" \
        || refuse "$src/Contents/Info.plist does not name $BUNDLE_ID"
    if [ -n "$(find "$src" -type l 2>/dev/null | head -n 1)" ]; then
        refuse "$src contains symbolic links; a driver bundle must not"
    fi
}

# Owner 0:0 (root:wheel on macOS) and modes: 755 for directories and for the
# executables in Contents/MacOS, 644 for every other file.
normalize() {
    b=$1
    if [ "$AS_ROOT" = 1 ]; then
        chown -R 0:0 "$b" || return 1
    fi
    find "$b" -type d -exec chmod 755 {} + || return 1
    find "$b" -type f -exec chmod 644 {} + || return 1
    if [ -d "$b/Contents/MacOS" ]; then
        find "$b/Contents/MacOS" -type f -exec chmod 755 {} + || return 1
    fi
}

ownership_note() {
    if [ "$AS_ROOT" != 1 ]; then
        say "note: not running as root: ownership left as uid $(id -u); intended owner is 0:0 (root:wheel), applied when run as root"
    fi
}

# Leftovers of an interrupted earlier run (staging copies, a set-aside old install).
clean_stale() {
    for f in "$HAL/.$BUNDLE_NAME".new.* "$HAL/.$BUNDLE_NAME".old.* "$HAL/.$BUNDLE_NAME".pkgold; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            say "removing leftover of an interrupted install: $f"
            rm -rf "$f"
        fi
    done
}

# --------------------------------------------------------------------------
# The audio service: coreaudiod on macOS, the simulated host on Linux.

audio_pids() {
    if [ "$SIM" = 1 ]; then
        if [ -f "$SIMRUN/coreaudiod.pid" ]; then
            p=$(cat "$SIMRUN/coreaudiod.pid" 2>/dev/null)
            case $p in ''|*[!0-9]*) return 0 ;; esac
            if kill -0 "$p" 2>/dev/null; then echo "$p"; fi
        fi
    else
        pgrep -x coreaudiod 2>/dev/null
    fi
    return 0
}

signal_audio() {
    if [ "$SIM" = 1 ]; then
        for p in $(audio_pids); do kill -s "$1" "$p" 2>/dev/null; done
    else
        killall "-$1" coreaudiod 2>/dev/null
    fi
    return 0
}

# Waits up to $2 tenths of a second for every pid in $1 to be gone.
wait_gone() {
    n=0
    while [ "$n" -lt "$2" ]; do
        alive=0
        for p in $1; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

# Restarts the audio service so it rescans /Library/Audio/Plug-Ins/HAL. The one
# place this strategy is decided, and why:
#  - `launchctl kickstart -k system/com.apple.audio.coreaudiod` is refused for
#    system daemons since macOS 14.4 when System Integrity Protection is on
#    ("Operation not permitted while System Integrity Protection is engaged").
#  - coreaudiod is a launchd daemon kept alive by launchd: when it exits,
#    launchd starts a new one, which loads the plug-ins it finds.
#  - So: SIGTERM (killall coreaudiod) lets it exit cleanly; if it is still alive
#    after 3 s, SIGKILL (killall -9 coreaudiod); then wait up to 10 s for the
#    new process. Sound stops for a moment; no log-out or restart is needed.
restart_audio_service() {
    before=$(audio_pids | tr '\n' ' ')
    if [ -z "$before" ]; then
        say "audio service: not running; it starts on demand and will load the driver"
        return 0
    fi
    say "restarting the audio service (SIGTERM to pid ${before% })"
    signal_audio TERM
    if ! wait_gone "$before" 30; then
        say "still running after 3 s: SIGKILL"
        signal_audio KILL
        if ! wait_gone "$before" 30; then
            say "warning: the audio service (pid $before) did not stop; log out and back in, or restart the computer"
            return 1
        fi
    fi
    n=0
    while [ "$n" -lt 100 ]; do
        now=$(audio_pids | tr '\n' ' ')
        if [ -n "$now" ] && [ "$now" != "$before" ]; then
            say "audio service running again (pid ${now% })"
            return 0
        fi
        sleep 0.1
        n=$((n + 1))
    done
    say "warning: the audio service has not come back after 10 s; it starts on demand (log out and back in if sound does not return)"
    return 0
}

# Is Gecko Sink listed by the running audio service?
device_listed() {
    if [ "$SIM" = 1 ]; then
        p=$(audio_pids)
        [ -n "$p" ] && [ -f "$SIMRUN/coreaudiod.devices" ] || return 1
        [ "$(head -n 1 "$SIMRUN/coreaudiod.devices")" = "pid $p" ] || return 1
        grep -q "	$DEVICE_NAME\$" "$SIMRUN/coreaudiod.devices"
    else
        system_profiler SPAudioDataType 2>/dev/null | grep -q "$DEVICE_NAME"
    fi
}

# wait_device present|absent SECONDS
wait_device() {
    n=0
    limit=$(($2 * 4))
    while [ "$n" -le "$limit" ]; do
        if device_listed; then
            [ "$1" = present ] && return 0
        else
            [ "$1" = absent ] && return 0
        fi
        sleep 0.25
        n=$((n + 1))
    done
    return 1
}

# --------------------------------------------------------------------------
# The plug-in sandbox fallback: shared memory pre-created for the driver.
# Since macOS 11 the driver runs sandboxed as _coreaudiod; if the sandbox refuses
# shm_open(O_CREAT), the driver opens a segment created for it instead (without
# O_CREAT). POSIX shm does not survive a restart, so a LaunchDaemon recreates it
# at every boot, as the driver's user: each side still writes only memory its own
# user owns. The driver retries while IO runs, so the order against coreaudiod's
# start does not matter.

RING_LABEL=com.gecko.ring
RING_PLIST="$R/Library/LaunchDaemons/$RING_LABEL.plist"

setup_ring_fallback() {
    gecko=$1
    case $gecko in
        /*) ;;
        *) refuse "ring-fallback: the gecko path must be absolute, got: $gecko" ;;
    esac
    case $gecko in
        *[!A-Za-z0-9/._\ -]*) refuse "ring-fallback: unexpected characters in the gecko path: $gecko" ;;
    esac
    if [ ! -x "$R$gecko" ]; then
        say "no gecko at $gecko: the pre-created shared memory (for a sandbox that refuses to create it) is not set up"
        return 0
    fi
    for d in "$R/Library" "$R/Library/LaunchDaemons"; do
        if [ ! -d "$d" ]; then
            mkdir "$d" && chmod 755 "$d" || { say "error: cannot create $d"; return 1; }
            if [ "$AS_ROOT" = 1 ]; then chown 0:0 "$d" || return 1; fi
        fi
    done
    say "writing $RING_PLIST (runs '$gecko ring precreate' as _coreaudiod at every boot)"
    tmp="$RING_PLIST.new.$$"
    cat >"$tmp" <<PLIST || { rm -f "$tmp"; say "error: cannot write $RING_PLIST"; return 1; }
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>$RING_LABEL</string>
	<key>ProgramArguments</key>
	<array>
		<string>$gecko</string>
		<string>ring</string>
		<string>precreate</string>
	</array>
	<key>UserName</key>
	<string>_coreaudiod</string>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
PLIST
    chmod 644 "$tmp" && { [ "$AS_ROOT" != 1 ] || chown 0:0 "$tmp"; } && mv "$tmp" "$RING_PLIST" \
        || { rm -f "$tmp"; say "error: cannot install $RING_PLIST"; return 1; }
    [ "$LIVE" = 1 ] || return 0
    if [ "$SIM" = 1 ]; then
        # The simulation has no launchd jobs: what the job would do, now.
        "$R$gecko" ring precreate --shm-name "${GECKO_SIM_SHM:-/GeckoAudioShm}" | sed 's/^/gecko-driver: /'
        return 0
    fi
    launchctl bootout "system/$RING_LABEL" >/dev/null 2>&1 || true
    if launchctl bootstrap system "$RING_PLIST"; then
        say "loaded $RING_LABEL: the driver's shared memory is pre-created"
    else
        say "warning: launchctl could not load $RING_LABEL; it will run at the next boot"
    fi
    return 0
}

remove_ring_fallback() {
    [ -e "$RING_PLIST" ] || return 0
    if [ "$LIVE" = 1 ] && [ "$SIM" = 0 ]; then
        launchctl bootout "system/$RING_LABEL" >/dev/null 2>&1 || true
    fi
    say "removing $RING_PLIST"
    rm -f "$RING_PLIST"
}

# --------------------------------------------------------------------------
# The engine's LaunchAgent (installer/LaunchAgents/com.gecko.engine.plist, the
# .pkg's GeckoAgent component): launchd runs `gecko engine` in every GUI login.
# The postinstall loads it for whoever is logged in now, so the engine runs
# without a logout; gui/<uid> is that user's launchd domain (launchctl(1)).

AGENT_LABEL=com.gecko.engine
AGENT_PLIST="$R/Library/LaunchAgents/$AGENT_LABEL.plist"

# The uid of the user at the console (owner of /dev/console), or nothing when
# nobody is logged in (root: the login window).
console_uid() {
    uid=$(stat -f %u /dev/console 2>/dev/null) || return 1
    case $uid in ''|*[!0-9]*|0) return 1 ;; esac
    printf '%s\n' "$uid"
}

load_engine_agent() {
    [ -f "$AGENT_PLIST" ] || return 0
    say "setting owner 0:0 and mode 644 on $AGENT_PLIST"
    chmod 644 "$AGENT_PLIST" || return 1
    if [ "$AS_ROOT" = 1 ]; then chown 0:0 "$AGENT_PLIST" || return 1; fi
    [ "$LIVE" = 1 ] || return 0
    if [ "$SIM" = 1 ]; then
        say "the simulation has no launchd: $AGENT_LABEL is installed, not started"
        return 0
    fi
    if uid=$(console_uid); then
        launchctl bootout "gui/$uid/$AGENT_LABEL" >/dev/null 2>&1 || true
        if launchctl bootstrap "gui/$uid" "$AGENT_PLIST"; then
            say "loaded $AGENT_LABEL for the console user (uid $uid): the engine is running"
        else
            say "warning: launchctl could not load $AGENT_LABEL for uid $uid; it starts at the next login"
        fi
    else
        say "nobody is logged in: $AGENT_LABEL starts at the next login"
    fi
    return 0
}

remove_engine_agent() {
    [ -e "$AGENT_PLIST" ] || return 0
    if [ "$LIVE" = 1 ] && [ "$SIM" = 0 ] && uid=$(console_uid); then
        launchctl bootout "gui/$uid/$AGENT_LABEL" >/dev/null 2>&1 || true
    fi
    say "removing $AGENT_PLIST"
    rm -f "$AGENT_PLIST"
}

# Gecko.app, when the .pkg put it there (its receipt is the proof): an app the
# user copied in by hand is theirs to remove.
remove_pkg_app() {
    app="$R/Applications/Gecko.app"
    [ -d "$app" ] || return 0
    for f in "$R/var/db/receipts/com.gecko.pkg.app.plist" "$R/private/var/db/receipts/com.gecko.pkg.app.plist"; do
        if [ -e "$f" ]; then
            say "removing $app (installed by the .pkg)"
            rm -rf "$app" || { say "warning: could not remove $app"; return 0; }
            return 0
        fi
    done
    if [ -z "$R" ] && command -v pkgutil >/dev/null 2>&1 && pkgutil --pkg-info com.gecko.pkg.app >/dev/null 2>&1; then
        say "removing $app (installed by the .pkg)"
        rm -rf "$app" || say "warning: could not remove $app"
    fi
}

forget_receipts() {
    for id in $PKG_IDS; do
        if [ -z "$R" ] && command -v pkgutil >/dev/null 2>&1 && pkgutil --pkg-info "$id" >/dev/null 2>&1; then
            say "forgetting the installer receipt $id"
            pkgutil --forget "$id" >/dev/null 2>&1 || say "warning: pkgutil --forget $id failed"
        fi
        for f in "$R/var/db/receipts/$id.bom" "$R/var/db/receipts/$id.plist" \
                 "$R/private/var/db/receipts/$id.bom" "$R/private/var/db/receipts/$id.plist"; do
            if [ -e "$f" ]; then
                say "removing receipt $f"
                rm -f "$f"
            fi
        done
    done
}

# --------------------------------------------------------------------------
# Actions

do_install() {
    src=$1
    case $src in /*) ;; *) src="$(pwd)/$src" ;; esac
    check_source "$src"
    check_dest_parents
    make_dest_parents || { say "error: cannot create $HAL; nothing was changed"; exit 1; }
    clean_stale
    stage="$HAL/.$BUNDLE_NAME.new.$$"
    old="$HAL/.$BUNDLE_NAME.old.$$"

    say "copying $src to a staging copy in $HAL"
    if ! { fail_point copy && cp -R "$src" "$stage"; }; then
        rm -rf "$stage"
        say "error: copying the bundle failed; the previous state is unchanged"
        exit 1
    fi
    say "setting owner 0:0 and modes 755/644"
    if ! { fail_point normalize && normalize "$stage" && diff -r "$src" "$stage" >/dev/null 2>&1; }; then
        rm -rf "$stage"
        say "error: setting owner and modes, or verifying the copy, failed; the previous state is unchanged"
        exit 1
    fi
    ownership_note
    if [ "$SIM" = 0 ] && command -v xattr >/dev/null 2>&1; then
        xattr -cr "$stage" 2>/dev/null || true # e.g. a download's quarantine flag
    fi

    had_old=0
    if [ -e "$DEST" ] || [ -L "$DEST" ]; then
        say "setting the previous install aside"
        if ! mv "$DEST" "$old"; then
            rm -rf "$stage"
            say "error: cannot move the previous install aside; the previous state is unchanged"
            exit 1
        fi
        had_old=1
    fi
    say "moving the new bundle into place: $DEST"
    if ! { fail_point swap && mv "$stage" "$DEST" && fail_point after-swap; }; then
        [ -e "$DEST" ] && rm -rf "$DEST"
        rm -rf "$stage"
        if [ "$had_old" = 1 ]; then
            if mv "$old" "$DEST"; then
                say "error: installing failed; rolled back: the previous install is back in place, unchanged"
            else
                say "error: installing failed and the previous install could not be put back; it is at $old"
            fi
        else
            say "error: installing failed; rolled back: nothing is installed (as before)"
        fi
        exit 1
    fi
    if [ "$had_old" = 1 ]; then rm -rf "$old"; fi
    say "installed $DEST"
    if [ "$LIVE" = 1 ]; then
        restart_audio_service || exit 0
    fi
}

do_uninstall() {
    check_dest_parents
    clean_stale
    if [ -e "$DEST" ] || [ -L "$DEST" ]; then
        say "removing $DEST"
        rm -rf "$DEST" || { say "error: could not remove $DEST"; exit 1; }
    else
        say "not installed: nothing to remove"
    fi
    remove_ring_fallback
    remove_engine_agent
    remove_pkg_app
    forget_receipts
    if [ "$LIVE" = 1 ]; then
        restart_audio_service || exit 0
    fi
}

do_pkg_preinstall() {
    check_dest_parents
    clean_stale
    if [ -e "$DEST" ] || [ -L "$DEST" ]; then
        # The payload is written over what is there; set the old install aside so
        # stray files of an older or broken install do not survive.
        say "setting the previous install aside"
        mv "$DEST" "$HAL/.$BUNDLE_NAME.pkgold" || { say "error: cannot move $DEST aside"; exit 1; }
    fi
}

do_pkg_postinstall() {
    check_dest_parents
    if [ ! -f "$DEST/Contents/MacOS/$EXECUTABLE" ]; then
        if [ -e "$HAL/.$BUNDLE_NAME.pkgold" ] && [ ! -e "$DEST" ]; then
            mv "$HAL/.$BUNDLE_NAME.pkgold" "$DEST" && say "error: the payload is missing; rolled back to the previous install"
        else
            say "error: the payload is missing from $DEST"
        fi
        exit 1
    fi
    say "setting owner 0:0 and modes 755/644"
    normalize "$DEST" || { say "error: setting owner and modes of $DEST failed"; exit 1; }
    ownership_note
    rm -rf "$HAL/.$BUNDLE_NAME.pkgold"
    setup_ring_fallback /Applications/Gecko.app/Contents/MacOS/gecko || exit 1
    load_engine_agent || { say "error: setting up $AGENT_PLIST failed"; exit 1; }
    if [ "$LIVE" = 1 ]; then
        restart_audio_service || exit 0
        if wait_device present 15; then
            say "$DEVICE_NAME is available"
        else
            say "$DEVICE_NAME did not appear within 15 s. It is installed: log out and back in, or restart the computer, and it will appear."
        fi
    fi
}

case $ACTION in
    install)
        [ $# -eq 1 ] || refuse "install takes one argument: the bundle directory"
        do_install "$1" ;;
    uninstall) do_uninstall ;;
    restart-audio) restart_audio_service || exit 1 ;;
    wait-device)
        [ $# -eq 2 ] || refuse "wait-device present|absent SECONDS"
        case $1 in present|absent) ;; *) refuse "wait-device present|absent SECONDS" ;; esac
        case $2 in ''|*[!0-9]*) refuse "wait-device: SECONDS must be a whole number" ;; esac
        wait_device "$1" "$2" || exit 1 ;;
    pkg-preinstall) do_pkg_preinstall ;;
    pkg-postinstall) do_pkg_postinstall ;;
    ring-fallback)
        [ $# -eq 1 ] || refuse "ring-fallback takes one argument: the gecko executable's path"
        setup_ring_fallback "$1" || exit 1 ;;
    *) refuse "unknown action $ACTION" ;;
esac
exit 0
