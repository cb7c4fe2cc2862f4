#!/usr/bin/env bash
# POST /api/contacts/bulk-import of a generated CSV file (100,000 rows by default) straight to a
# telephony process of its own: rows per second (wall time of the upload, import and answer, as
# curl sees it) and the process's peak RSS (VmHWM) against its RSS before the first upload.
#
# Self-contained, so it runs next to anything else: it starts build/services/telephony/
# cc-telephony (the real binary, not an in-process copy) on a free port, with a devbroker of its
# own, a throwaway ES256 key pair and a database of its own (created on the PostgreSQL server of
# BENCH_PG and dropped at the end), makes one campaign per run and imports the file into it.
# Not through the gateway: the gateway forwards the body as it is and would add its own copy
# of it to the figures.
#
# Usage: bench/bench_csv_import.sh [rows] [runs]       (defaults 100000, 3)
# Environment: BUILD (build directory, default build), BENCH_PG (server URL without database,
# default postgresql://postgres@127.0.0.1:5440). Needs psql, curl, openssl, python3 with
# cryptography.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rows="${1:-100000}"
runs="${2:-3}"
build="${BUILD:-$root/build}"
pg="${BENCH_PG:-postgresql://postgres@127.0.0.1:5440}"
telephony="$build/services/telephony/cc-telephony"
devbroker="$build/tools/devbroker"
for tool in psql curl openssl python3; do
        command -v "$tool" >/dev/null || { echo "bench_csv_import.sh: $tool not found" >&2; exit 1; }
done
for bin in "$telephony" "$devbroker"; do
        [[ -x "$bin" ]] || { echo "bench_csv_import.sh: build $bin first" >&2; exit 1; }
done

work="$(mktemp -d /tmp/bench-csv-import.XXXXXX)"
db="bench_contacts_$$"
tel_pid="" broker_pid=""
cleanup() {
        [[ -n "$tel_pid" ]] && kill "$tel_pid" 2>/dev/null && wait "$tel_pid" 2>/dev/null
        [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
        psql -qX "$pg/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
        rm -rf "$work"
}
trap cleanup EXIT

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$tel_pid/status"; }
# CPU seconds telephony has used (user + system), to split a run's time from PostgreSQL's.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$tel_pid/stat"; }

psql -qX -v ON_ERROR_STOP=1 "$pg/postgres" -c "CREATE DATABASE $db" >/dev/null
db_url="$pg/$db"

"$devbroker" --brokers 1 --partitions 3 --control-port "$(free_port)" \
        --bootstrap-file "$work/bootstrap" >"$work/devbroker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
[[ -s "$work/bootstrap" ]] || { echo "devbroker did not start" >&2; exit 1; }

openssl ecparam -name prime256v1 -genkey -noout -out "$work/jwt-private.pem" 2>/dev/null
openssl ec -in "$work/jwt-private.pem" -pubout -out "$work/jwt-public.pem" 2>/dev/null

port="$(free_port)"
CC_DATABASE_URL="$db_url" CC_KAFKA_BROKERS="$(cat "$work/bootstrap")" \
        CC_JWT_PUBLIC_KEY_FILE="$work/jwt-public.pem" CC_HTTP_PORT="$port" \
        CC_HTTP_BIND=127.0.0.1 CC_UPLOAD_MAX_BYTES=$((64 << 20)) CC_LOG_LEVEL=warn \
        "$telephony" >"$work/telephony.log" 2>&1 &
tel_pid=$!
for _ in $(seq 1 200); do
        curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || {
        echo "telephony did not become ready:" >&2
        tail -5 "$work/telephony.log" >&2
        exit 1
}

org="$(python3 -c 'import uuid; print(uuid.uuid4())')"
user="$(python3 -c 'import uuid; print(uuid.uuid4())')"
token="$(python3 "$root/bench/sign_token.py" "$work/jwt-private.pem" "$user" "$org" SUPERVISOR)"
python3 "$root/bench/gen_contacts_csv.py" "$rows" >"$work/contacts.csv"
size="$(stat -c %s "$work/contacts.csv")"
rss_before="$(kib VmRSS)"

printf '%d rows, %.1f MiB file; telephony RSS before: %d KiB\n' "$rows" \
        "$(echo "$size / 1048576" | bc -l)" "$rss_before"
printf '%-5s %10s %9s %12s %14s %16s\n' run imported seconds rows/s "telephony CPU" \
        "peak RSS (KiB)"
for run in $(seq 1 "$runs"); do
        camp="$(python3 -c 'import uuid; print(uuid.uuid4())')"
        psql -qX -v ON_ERROR_STOP=1 "$db_url" -c "
                INSERT INTO telephony.campaigns (id, org_id, organization_label, name, type)
                VALUES ('$camp', '$org', 'bench', 'bench import $run', 'OUTBOUND')" >/dev/null
        cpu_before="$(cpu)"
        secs="$(curl -s -o "$work/answer.json" -w '%{time_total}' \
                -H "Authorization: Bearer $token" \
                -F "file=@$work/contacts.csv;type=text/csv" \
                "http://127.0.0.1:$port/api/contacts/bulk-import?campaign_id=$camp")"
        imported="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["imported"])' \
                "$work/answer.json" 2>/dev/null || { cat "$work/answer.json" >&2; exit 1; })"
        printf '%-5s %10s %9.2f %12.0f %13.2fs %16s\n' "$run" "$imported" "$secs" \
                "$(echo "$imported / $secs" | bc -l)" "$(echo "$(cpu) - $cpu_before" | bc -l)" \
                "$(kib VmHWM)"
done
printf 'telephony RSS after the runs: %d KiB\n' "$(kib VmRSS)"
