#!/usr/bin/env bash
# GET /api/calls/ through the gateway for an organization with many calls: the first page, a deep
# page by number (?page=N) and the same depth by cursor (?cursor=...), with wrk at 64
# connections. Runs against the development stack (`scripts/dev up`).
# Usage: bench/bench_calls_list.sh [calls] [duration]   (defaults 100000, 10s)
# Environment: CONNECTIONS (64), THREADS (wrk, 2). Needs wrk, psql, python3 with cryptography.
#
# It makes an organization of its own with an ADMIN the gateway knows (signed in with a token from
# the development key) and `calls` calls, and removes them at the end.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
calls="${1:-100000}"
duration="${2:-10s}"
connections="${CONNECTIONS:-64}"
wrk_threads="${THREADS:-2}"
for tool in wrk psql python3 curl; do
        command -v "$tool" >/dev/null || { echo "bench_calls_list.sh: $tool not found" >&2; exit 1; }
done
env_file="$root/.local/dev.env"
[[ -f "$env_file" ]] || { echo "bench_calls_list.sh: run scripts/dev up first" >&2; exit 1; }
get() { sed -n "s/^$1=//p" "$env_file" | tail -1; }
db="$(get CC_DATABASE_URL)"
gateway="$(get CC_GATEWAY_URL)"
key="$(get CC_JWT_PRIVATE_KEY_FILE)"

org="$(python3 -c 'import uuid; print(uuid.uuid4())')"
user="$(python3 -c 'import uuid; print(uuid.uuid4())')"
cleanup() {
        psql -qX "$db" -c "DELETE FROM telephony.calls WHERE org_id = '$org';
                           DELETE FROM telephony.call_counts WHERE org_id = '$org';
                           DELETE FROM gateway.users WHERE id = '$user';
                           DELETE FROM gateway.organizations WHERE id = '$org';" \
                >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql -qX -v ON_ERROR_STOP=1 "$db" -c "
        INSERT INTO gateway.organizations (id, name) VALUES ('$org', 'bench-calls');
        INSERT INTO gateway.users (id, org_id, email, first_name, last_name, role)
        VALUES ('$user', '$org', 'bench-$user@example.com', 'Bench', 'Calls', 'ADMIN');
        INSERT INTO telephony.calls (id, org_id, direction, status, from_number, to_number,
                                     start_time, ended_at, duration_s)
        SELECT gen_random_uuid(), '$org', CASE WHEN g % 3 = 0 THEN 'INBOUND' ELSE 'OUTBOUND' END,
               'COMPLETED', '+15550100000', '+1555' || lpad(g::text, 7, '0'),
               now() - make_interval(secs => g * 60), now() - make_interval(secs => g * 60 - 30),
               30
        FROM generate_series(1, $calls) g;
        ANALYZE telephony.calls;" >/dev/null
token="$(python3 "$root/bench/sign_token.py" "$key" "$user" "$org" ADMIN)"

deep=$((calls / 20 / 2))
first="$gateway/api/calls/?page_size=20"
by_page="$gateway/api/calls/?page=$deep&page_size=20"
# The cursor that leads to the same page: walk there once.
cursor="$(python3 - "$gateway" "$token" "$deep" <<'PY'
import json, sys, urllib.request
base, token, pages = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = base + '/api/calls/?page=%d&page_size=20' % (pages - 1)
req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + token})
print(json.load(urllib.request.urlopen(req)).get('next_cursor') or '')
PY
)"
by_cursor="$gateway/api/calls/?page_size=20&cursor=$cursor"

total="$(curl -fsS -H "Authorization: Bearer $token" "$first" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
echo "$total calls in the organization; wrk -t$wrk_threads -c$connections -d$duration"
printf '%-28s %10s %10s %10s\n' "" "req/s" "p50" "p99"
for name in first by_page by_cursor; do
        url="${!name}"
        out="$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency \
                -H "Authorization: Bearer $token" "$url")"
        if grep -q 'Non-2xx' <<<"$out"; then
                echo "bench_calls_list.sh: $url answered errors:" >&2
                echo "$out" >&2
                exit 1
        fi
        label="$name"
        [[ $name == first ]] && label="first page"
        [[ $name == by_page ]] && label="page $deep (?page=)"
        [[ $name == by_cursor ]] && label="page $deep (?cursor=)"
        printf '%-28s %10s %10s %10s\n' "$label" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
                "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
done
