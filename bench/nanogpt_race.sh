#!/usr/bin/env bash
# nanoGPT's CPU recipe and charlm, side by side: same text, same split, same wall time, one core each.
#
#   NANOGPT_PYTHON=/path/to/venv-with-torch/bin/python \
#   bash bench/nanogpt_race.sh TEXT WORKDIR [SECONDS] [NANOGPT_ITERS] [-- charlm-train fit options]
#
# nanoGPT (../shared/anchors/nanogpt/run.sh: 4 layers, 4 heads, 128 wide, block 64) trains on the
# first 90% of TEXT on core 0 for NANOGPT_ITERS iterations (default 6000, about 600 s on one core
# here) and is scored exactly on the last 10% (WORKDIR/nanogpt/data/corpus/val.txt). At the same
# time charlm trains on the same first 90%, byte-exact, on core 1, for SECONDS of training
# (default 600), and `charlm-train eval` scores the same val.txt. Both cross-entropies are in nats
# per character; the wall times are printed so the budgets can be checked.
# Run by hand; CI never runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
anchor=${NANOGPT_ANCHOR:-$repo/../shared/anchors/nanogpt}
text=$1; work=$2; seconds=${3:-600}; iters=${4:-6000}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
py=${CHARLM_PYTHON:-$repo/.venv/bin/python}
mkdir -p "$work/charlm-home"
work=$(cd "$work" && pwd)

# The first 90% of the text, cut exactly where nanoGPT's prepare_text.py cuts it.
"$py" - "$text" "$work/train.txt" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8-sig").read()
open(sys.argv[2], "w", encoding="utf-8").write(text[: int(len(text) * 0.9)])
EOF

PYTHON=${NANOGPT_PYTHON:-python3} bash "$anchor/run.sh" "$text" "$work/nanogpt" "$iters" 0 \
  > "$work/nanogpt.log" 2>&1 &
nano=$!
start=$(date +%s.%N)
CHARLM_HOME="$work/charlm-home" taskset -c 1 "$py" -m charlm.trainer.cli fit "$work/train.txt" --byte-exact \
  --name race --force --time-limit "${seconds}s" "$@" > "$work/charlm.log" 2>&1 || { tail -20 "$work/charlm.log"; exit 1; }
charlm_wall=$("$py" -c "import time; print(round(time.time() - $start, 1))")
wait "$nano" || { tail -20 "$work/nanogpt.log"; exit 1; }

ce=$(CHARLM_HOME="$work/charlm-home" "$py" -m charlm.trainer.cli eval race "$work/nanogpt/data/corpus/val.txt" --json \
  | "$py" -c "import json, math, sys; r = json.load(sys.stdin); print(f\"{math.log(r['perplexity']):.4f}\")")
echo "== nanoGPT (core 0)"
grep -E "wall time|exact CE" "$work/nanogpt.log" || tail -5 "$work/nanogpt.log"
echo "== charlm (core 1): $(grep -E '^race:' "$work/charlm.log" | head -1)"
grep -E "stopped by|validation perplexity" "$work/charlm.log" | tail -2
echo "charlm wall time: $charlm_wall s (training budget ${seconds}s); exact CE on val.txt: $ce"
