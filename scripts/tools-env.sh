# Sourced by the scripts: where set-up puts tools that are not Debian
# packages (tauri-driver, from crates.io): a cache outside the clone when
# the machine has a writable /var/cache (CI), else ~/.cache.
if [ -z "${GECKO_TOOLS:-}" ]; then
    if [ -w /var/cache ] || [ -w /var/cache/gecko-tools ]; then
        GECKO_TOOLS=/var/cache/gecko-tools
    else
        GECKO_TOOLS="$HOME/.cache/gecko-tools"
    fi
fi
export GECKO_TOOLS
export PATH="$GECKO_TOOLS/bin:$PATH"
