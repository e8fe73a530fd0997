#!/usr/bin/env bash
# CamillaDSP's DSP on the chain of gecko-dsp's bench, in one process on one
# thread, same programme, 128-frame chunks, warm-up + 7 runs (best, median):
# see docs/performance.md ("DSP chain", CamillaDSP). Builds CamillaDSP
# 5.0.0-beta.1 from crates.io (a few minutes the first time) into a target
# directory outside the repository.
#   bash scripts/camilladsp-compare/run.sh
# Then compare with: cargo bench -p gecko-dsp --bench chain
set -euo pipefail
cd "$(dirname "$0")"
source ../tools-env.sh
export CARGO_TARGET_DIR="${CAMILLA_TARGET_DIR:-$GECKO_TOOLS/camilladsp-compare-target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/camilladsp-compare"
# Device volume 0.8 (-1.94 dB, CamillaDSP's main fader) for the chain lines, as in our bench.
for c in a_eq:0 l_limiter_only:0 b_chain:-1.9382 c_chain_drift:-1.9382 d_chain_44to48:-1.9382 e_drift_only:0 f_44to48_only:0; do
    "$bin" "configs/${c%%:*}.yml" dsp "${c##*:}"
done
