#!/usr/bin/env bash
# Resident memory of each idle service started by `scripts/dev up` (target: under 16 MiB).
# Usage: scripts/dev up && bench/idle_rss.sh [settle seconds, default 10]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
settle=${1:-10}
sleep "$settle"
printf '%-10s %8s %8s\n' service pid rss_kib
for s in gateway telephony sms sentiment analytics; do
	pidf="$ROOT/.local/run/$s.pid"
	[ -f "$pidf" ] || { echo "$s: not running (scripts/dev up first)" >&2; exit 1; }
	pid=$(cat "$pidf")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	printf '%-10s %8s %8s\n' "$s" "$pid" "$rss"
done
