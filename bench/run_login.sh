#!/usr/bin/env bash
# Logins per second through the gateway with argon2id as configured (the default parameters
# unless CC_ARGON2_* are set for the running gateway). Login throttling would turn a flood from
# one address into 429s, so the gateway this measures must run with a high
# CC_LOGIN_MAX_FAILURES; successful logins are not throttled, so the default is fine here.
# Usage: scripts/dev up && bench/run_login.sh [connections, default 4] [seconds, default 10]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$ROOT/.local/dev.env" ] || { echo "run scripts/dev up first" >&2; exit 1; }
set -a
. "$ROOT/.local/dev.env"
set +a
export LOGIN_EMAIL="$CC_DEMO_AGENT1_EMAIL" LOGIN_PASSWORD="$CC_DEMO_AGENT1_PASSWORD"
conns=${1:-4}
threads=$((conns < 2 ? conns : 2))
out=$(wrk -t"$threads" -c"$conns" -d"${2:-10}s" --latency -s "$ROOT/bench/login.lua" \
	"$CC_GATEWAY_URL/api/auth/login")
echo "$out"
if echo "$out" | grep -q 'Non-2xx'; then
	echo "run_login.sh: some logins failed (see Non-2xx above)" >&2
	exit 1
fi
