#!/usr/bin/env bash
# An authenticated GET forwarded by the gateway's front door to a trivial upstream route, versus
# the same request sent straight to the upstream, with the same wrk settings.
# Usage: bench/bench_proxy.sh [build dir]   (relative to the repository; default: build; needs
#        bench/bench_http and services/gateway/cc-gateway built there)
# Environment: DURATION (10s per run), ROUNDS (3), CONNECTIONS (64), THREADS (wrk, 2),
#              GATEWAY_BIN (default <build>/services/gateway/cc-gateway),
#              CC_DATABASE_URL, CC_KAFKA_BROKERS (default: from .local/dev.env; the gateway
#              needs both to start, the forwarded request touches neither).
# Prints req/s and p50/p99 latency, medians over the rounds, the gateway's share of the direct
# throughput and the latency it adds at p50.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
[[ "$build" = /* ]] || build="$root/$build"
upstream_bin="$build/bench/bench_http"
gateway_bin="${GATEWAY_BIN:-$build/services/gateway/cc-gateway}"
duration="${DURATION:-10s}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-64}"
wrk_threads="${THREADS:-2}"
path="/api/analytics/dashboard"

for tool in wrk curl openssl python3 psql; do
        command -v "$tool" >/dev/null || { echo "bench_proxy.sh: $tool not found" >&2; exit 1; }
done
for bin in "$upstream_bin" "$gateway_bin"; do
        [[ -x "$bin" ]] || { echo "bench_proxy.sh: build $bin first" >&2; exit 1; }
done
if [[ -f "$root/.local/dev.env" ]]; then
        : "${CC_DATABASE_URL:=$(sed -n 's/^CC_DATABASE_URL=//p' "$root/.local/dev.env")}"
        : "${CC_KAFKA_BROKERS:=$(sed -n 's/^CC_KAFKA_BROKERS=//p' "$root/.local/dev.env")}"
fi
[[ -n "${CC_DATABASE_URL:-}" && -n "${CC_KAFKA_BROKERS:-}" ]] ||
        { echo "bench_proxy.sh: set CC_DATABASE_URL and CC_KAFKA_BROKERS" >&2; exit 1; }

free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

tmp="$(mktemp -d /tmp/cc-bench-proxy.XXXXXX)"
up_pid="" gw_pid=""
# The front door lets a token through only for an active user it knows: an AGENT of our own
# in an organization of our own, removed afterwards. The gateway's migrations create the tables.
org_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
user_id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
user_created=""
cleanup() {
        [[ -n "$gw_pid" ]] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
        [[ -n "$up_pid" ]] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
        [[ -n "$user_created" ]] && psql -qX "$CC_DATABASE_URL" -c \
                "DELETE FROM gateway.users WHERE id = '$user_id';
                 DELETE FROM gateway.organizations WHERE id = '$org_id';" >/dev/null 2>&1 || true
        rm -rf "$tmp"
}
trap cleanup EXIT

# A key pair of our own and an AGENT token signed with it, as the gateway would sign one.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/priv.pem" 2>/dev/null
openssl ec -in "$tmp/priv.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null
token="$(python3 "$root/bench/sign_token.py" "$tmp/priv.pem" "$user_id" "$org_id" AGENT)"

up_port="$(free_port)"
gw_port="$(free_port)"
"$upstream_bin" "$up_port" 0 warn 2>"$tmp/upstream.log" &
up_pid=$!
CC_HTTP_PORT="$gw_port" CC_HTTP_BIND=127.0.0.1 CC_LOG_LEVEL=warn \
        CC_DATABASE_URL="$CC_DATABASE_URL" CC_KAFKA_BROKERS="$CC_KAFKA_BROKERS" \
        CC_JWT_PUBLIC_KEY_FILE="$tmp/pub.pem" CC_JWT_PRIVATE_KEY_FILE="$tmp/priv.pem" \
        CC_ANALYTICS_URL="http://127.0.0.1:$up_port" \
        "$gateway_bin" 2>"$tmp/gateway.log" &
gw_pid=$!
for _ in $(seq 100); do
        psql -qX -v ON_ERROR_STOP=1 "$CC_DATABASE_URL" -c \
                "INSERT INTO gateway.organizations (id, name) VALUES ('$org_id', 'bench-proxy');
                 INSERT INTO gateway.users (id, org_id, email, first_name, last_name, role)
                 VALUES ('$user_id', '$org_id', 'bench-$user_id@example.com', 'Bench', 'Proxy',
                         'AGENT');" >/dev/null 2>&1 && { user_created=1; break; }
        sleep 0.1 # until the gateway's migrations have run
done
[[ -n "$user_created" ]] || { echo "bench_proxy.sh: cannot create the bench user" >&2; exit 1; }

direct="http://127.0.0.1:$up_port$path"
proxied="http://127.0.0.1:$gw_port$path"
for url in "$direct" "$proxied"; do
        for _ in $(seq 100); do
                code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url" || true)"
                [[ "$code" == 200 ]] && break
                sleep 0.1
        done
        [[ "$code" == 200 ]] || { echo "bench_proxy.sh: $url answers $code" >&2; cat "$tmp"/*.log >&2; exit 1; }
done

# wrk's latency figures in microseconds.
to_us() {
        python3 -c 'import sys,re
v=sys.argv[1]; m=re.match(r"([\d.]+)(us|ms|s)$", v)
print(int(float(m.group(1))*{"us":1,"ms":1000,"s":1000000}[m.group(2)]))' "$1"
}
run() { # url -> "req/s p50_us p99_us"
        local out
        out="$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency \
                -H "Authorization: Bearer $token" "$1")"
        echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") \
$(to_us "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_us "$(awk '$1=="99%" {print $2}' <<<"$out")")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/direct" ; : >"$tmp/proxied"
for r in $(seq "$rounds"); do
        run "$direct" >>"$tmp/direct"
        run "$proxied" >>"$tmp/proxied"
done
d_rps=$(cut -d' ' -f1 "$tmp/direct" | median); p_rps=$(cut -d' ' -f1 "$tmp/proxied" | median)
d_p50=$(cut -d' ' -f2 "$tmp/direct" | median); p_p50=$(cut -d' ' -f2 "$tmp/proxied" | median)
d_p99=$(cut -d' ' -f3 "$tmp/direct" | median); p_p99=$(cut -d' ' -f3 "$tmp/proxied" | median)
echo "wrk -t$wrk_threads -c$connections -d$duration, median of $rounds rounds, GET $path"
printf '%-10s %10s %10s %10s\n' "" "req/s" "p50 us" "p99 us"
printf '%-10s %10s %10s %10s\n' direct "$d_rps" "$d_p50" "$d_p99"
printf '%-10s %10s %10s %10s\n' gateway "$p_rps" "$p_p50" "$p_p99"
python3 -c 'import sys
d,p,dl,pl=map(float,sys.argv[1:])
print("gateway keeps %.0f%% of direct throughput, adds %.0f us at p50" % (100*p/d, pl-dl))' \
        "$d_rps" "$p_rps" "$d_p50" "$p_p50"
