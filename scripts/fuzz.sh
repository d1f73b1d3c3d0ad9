#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (default 60 s each):
#   scripts/fuzz.sh [seconds] [target ...]
# Targets: classify (error text and HTTP error bodies through the
# classifier), challenge (WWW-Authenticate: Payment parsing), llm_answer
# (an LLM's answer read into a diagnosis).
# cargo-fuzz is installed into .tools/cargo (git-ignored). libFuzzer needs
# unstable compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them for this build only. A crash exits non-zero and leaves its
# input under fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(classify challenge llm_answer)
export PATH="$PWD/.tools/cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2 --root .tools/cargo
fi
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "fuzz: $t for ${secs}s"
  cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- -max_total_time="$secs" -max_len=65536
done
