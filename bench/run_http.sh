#!/usr/bin/env bash
# Compares our HTTP stack with nginx serving the same bytes on loopback.
# Usage: bench/run_http.sh [build dir]   (relative to the repository; default: build; needs
#        bench/bench_http built there)
# Environment: DURATION (10s per run), ROUNDS (3), CONNECTIONS (64), THREADS (wrk, 2),
#              OUR_THREADS (0 = 2 x cores, the service default),
#              ACCESS_LOG (0: both servers without per-request logs; 1: both write one line per
#              request to a file: ours at log level info, nginx with its access_log).
# Prints req/s, p99 latency and server CPU time per request for both, medians over the rounds.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
[[ "$build" = /* ]] || build="$root/$build"
bench_bin="$build/bench/bench_http"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
wrk_threads="${THREADS:-2}"
body='{"status":"ok","service":"bench"}'

for tool in wrk nginx curl; do
        command -v "$tool" >/dev/null || { echo "run_http.sh: $tool not found" >&2; exit 1; }
done
[[ -x "$bench_bin" ]] || { echo "run_http.sh: build $bench_bin first (ninja -C $build bench/bench_http)" >&2; exit 1; }

free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

tmp="$(mktemp -d /tmp/cc-bench-http.XXXXXX)"
our_pid="" nginx_pid=""
cleanup() {
        [[ -n "$our_pid" ]] && kill "$our_pid" 2>/dev/null && wait "$our_pid" 2>/dev/null || true
        [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

our_port="$(free_port)"
nginx_port="$(free_port)"

access_log="${ACCESS_LOG:-0}"
if [[ "$access_log" == 1 ]]; then
        our_level=info
        nginx_access="access_log $tmp/nginx/logs/access.log;"
else
        our_level=warn
        nginx_access="access_log off;"
fi
"$bench_bin" "$our_port" "${OUR_THREADS:-0}" "$our_level" 2>"$tmp/bench_http.log" &
our_pid=$!

mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    $nginx_access
    keepalive_requests 100000000;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /bench {
            default_type application/json;
            return 200 '$body';
        }
    }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/logs/stderr.log" &
nginx_pid=$!

wait_up() {
        local url="$1"
        for _ in $(seq 1 100); do
                curl -fsS "$url" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        echo "run_http.sh: $url did not come up" >&2
        return 1
}
wait_up "http://127.0.0.1:$our_port/bench"
wait_up "http://127.0.0.1:$nginx_port/bench"

ours="$(curl -fsS "http://127.0.0.1:$our_port/bench")"
theirs="$(curl -fsS "http://127.0.0.1:$nginx_port/bench")"
[[ "$ours" == "$body" && "$theirs" == "$body" ]] || { echo "run_http.sh: bodies differ" >&2; exit 1; }

# CPU ticks used so far by the given processes (every thread).
cpu_ticks() {
        local total=0 pid task fields
        for pid in "$@"; do
                for task in /proc/"$pid"/task/*; do
                        fields="$(sed 's/.*) //' "$task/stat" 2>/dev/null)" || continue
                        set -- $fields
                        total=$((total + ${12} + ${13}))
                done
        done
        echo "$total"
}

# One wrk run; appends "req/s p99_ms cpu_us_per_request" to $tmp/<name>.runs. CPU per request
# is the server's own CPU time over the requests served: it moves much less than req/s when
# other work shares the machine.
run() {
        local name="$1" url="$2"
        shift 2
        local before after
        before="$(cpu_ticks "$@")"
        wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency "$url" >"$tmp/$name.wrk"
        after="$(cpu_ticks "$@")"
        if grep -qE 'Non-2xx|Socket errors' "$tmp/$name.wrk"; then
                echo "run_http.sh: $name: $(grep -E 'Non-2xx|Socket errors' "$tmp/$name.wrk")" >&2
        fi
        awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
             / requests in / { n = $1 }
             /^Requests\/sec:/ { rps = $2 }
             $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                           ms = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
             END { printf "%s %.2f %.2f\n", rps, ms, ticks / hz * 1e6 / n }' \
                "$tmp/$name.wrk" >>"$tmp/$name.runs"
}

# Median of a column over the rounds.
median() {
        sort -g -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'
}

# Other work on the machine moves the numbers by tens of percent between runs, so the two
# servers take turns and the median of the rounds is reported.
rounds="${ROUNDS:-3}"
echo "wrk -t$wrk_threads -c$connections -d$duration --latency, GET /bench, $rounds alternating rounds ($(nproc) cores); ours: threads ${OUR_THREADS:-0} (0 = 2 x cores), log level $our_level; nginx: 2 workers, $nginx_access"
wrk -t"$wrk_threads" -c"$connections" -d2s "http://127.0.0.1:$our_port/bench" >/dev/null
wrk -t"$wrk_threads" -c"$connections" -d2s "http://127.0.0.1:$nginx_port/bench" >/dev/null
nginx_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
for i in $(seq 1 "$rounds"); do
        run ours "http://127.0.0.1:$our_port/bench" "$our_pid"
        run nginx "http://127.0.0.1:$nginx_port/bench" $nginx_pids
        printf 'round %d: ours %s req/s p99 %s ms %s cpu-us/req | nginx %s req/s p99 %s ms %s cpu-us/req\n' \
                "$i" $(tail -1 "$tmp/ours.runs") $(tail -1 "$tmp/nginx.runs")
done
for name in ours nginx; do
        printf '%-6s %12s req/s   p99 %8s ms   %6s cpu-us/req   (medians)\n' "$name" \
                "$(median "$tmp/$name.runs" 1)" "$(median "$tmp/$name.runs" 2)" \
                "$(median "$tmp/$name.runs" 3)"
done
awk -v a="$(median "$tmp/ours.runs" 1)" -v b="$(median "$tmp/nginx.runs" 1)" \
    -v c="$(median "$tmp/ours.runs" 3)" -v d="$(median "$tmp/nginx.runs" 3)" \
    'BEGIN { printf "ours/nginx: %.1f%% of the req/s, %.1f%% of the CPU per request\n", 100 * a / b, 100 * c / d }'
