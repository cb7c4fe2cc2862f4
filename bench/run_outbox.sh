#!/usr/bin/env bash
# Outbox relay throughput against the development stack (target: >= 20,000 events/s).
# Usage: scripts/dev up && bench/run_outbox.sh [events] [batch]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$ROOT/.local/dev.env" ] || { echo "run scripts/dev up first" >&2; exit 1; }
set -a
. "$ROOT/.local/dev.env"
set +a
ninja -C "$ROOT/build" bench/bench_outbox >/dev/null
for round in 1 2 3; do
	echo "round $round"
	"$ROOT/build/bench/bench_outbox" "${1:-100000}" "${2:-500}"
done
