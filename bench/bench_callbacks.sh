#!/usr/bin/env bash
# Signed Twilio status callbacks ingested per second by telephony: each one verified
# (X-Twilio-Signature), applied to the call's state machine and written to the outbox in one
# transaction. Runs against the development stack (`scripts/dev up`), straight at telephony.
# Usage: bench/bench_callbacks.sh [calls] [duration]   (defaults 40000, 10s)
# Environment: CONNECTIONS (32), THREADS (wrk, 2). Needs wrk, psql, python3.
#
# It makes an organization of its own with `calls` OUTBOUND calls in QUEUED, each with a Twilio
# sid, and signs three callbacks per call (ringing, in-progress, completed with a CallDuration)
# with the platform account's token, the way Twilio would. wrk sends them in that order, each
# once; afterwards the database says how many changes were applied and outboxed. The calls, their
# counters and their outbox rows are removed at the end.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
calls="${1:-40000}"
duration="${2:-10s}"
connections="${CONNECTIONS:-32}"
wrk_threads="${THREADS:-2}"
for tool in wrk psql python3; do
        command -v "$tool" >/dev/null || { echo "bench_callbacks.sh: $tool not found" >&2; exit 1; }
done
env_file="$root/.local/dev.env"
[[ -f "$env_file" ]] || { echo "bench_callbacks.sh: run scripts/dev up first" >&2; exit 1; }
get() { sed -n "s/^$1=//p" "$env_file" | tail -1; }
db="$(get CC_DATABASE_URL)"
token="$(get CC_TWILIO_AUTH_TOKEN)"
account="$(get CC_TWILIO_ACCOUNT_SID)"
public="$(get CC_PUBLIC_BASE_URL)"
target="$(get CC_TELEPHONY_URL)"
path="/api/webhooks/twilio/call-status"

tmp="$(mktemp -d /tmp/cc-bench-callbacks.XXXXXX)"
org="$(python3 -c 'import uuid; print(uuid.uuid4())')"
cleanup() {
        psql -qX "$db" -c "DELETE FROM telephony.outbox WHERE key IN
                               (SELECT id::text FROM telephony.calls WHERE org_id = '$org');
                           DELETE FROM telephony.calls WHERE org_id = '$org';
                           DELETE FROM telephony.call_counts WHERE org_id = '$org';" \
                >/dev/null 2>&1 || true
        rm -rf "$tmp"
}
trap cleanup EXIT

psql -qX -v ON_ERROR_STOP=1 "$db" -c "
        INSERT INTO telephony.calls (id, org_id, direction, status, from_number, to_number,
                                     twilio_sid)
        SELECT gen_random_uuid(), '$org', 'OUTBOUND', 'QUEUED', '+15550100000',
               '+1555' || lpad(g::text, 7, '0'), 'CA' || md5('$org' || g)
        FROM generate_series(1, $calls) g;" >/dev/null
psql -qXAt "$db" -c "SELECT twilio_sid, to_number FROM telephony.calls WHERE org_id = '$org'" \
        >"$tmp/calls"

# Three signed callbacks per call, in the order Twilio sends them: all calls ring, are answered,
# complete (so each phase finds the call where the previous one left it).
python3 - "$tmp/calls" "$tmp/requests" "$token" "$account" "$public$path" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
calls, out, token, account, url = sys.argv[1:6]
rows = [l.rstrip('\n').split('|') for l in open(calls) if l.strip()]
with open(out, 'w') as f:
    for status in ('ringing', 'in-progress', 'completed'):
        for sid, to in rows:
            fields = {'AccountSid': account, 'ApiVersion': '2010-04-01', 'CallSid': sid,
                      'CallStatus': status, 'Direction': 'outbound-api', 'From': '+15550100000',
                      'To': to, 'CallbackSource': 'call-progress-events'}
            if status == 'completed':
                fields['CallDuration'] = '42'
            data = url + ''.join(k + fields[k] for k in sorted(fields))
            sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest())
            f.write(sig.decode() + '\t' + urllib.parse.urlencode(fields) + '\n')
PY

before="$(psql -qXAt "$db" -c "SELECT count(*) FROM telephony.outbox")"
echo "wrk -t$wrk_threads -c$connections -d$duration, $((calls * 3)) distinct signed callbacks"
wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency \
        -s "$root/bench/callbacks.lua" "$target$path" -- "$path" "$tmp/requests" "$wrk_threads" |
        tee "$tmp/wrk.out" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|repeated|requests in'
applied="$(psql -qXAt "$db" -c "
        SELECT count(ringing_at) + count(answered_at) + count(ended_at)
        FROM telephony.calls WHERE org_id = '$org'")"
outboxed="$(psql -qXAt "$db" -c "SELECT count(*) FROM telephony.outbox")"
secs="$(python3 -c 'import re,sys; m=re.match(r"([\d.]+)(ms|s|m)$", sys.argv[1]);
print(float(m.group(1))*{"ms":0.001,"s":1,"m":60}[m.group(2)])' "$duration")"
python3 -c 'import sys
applied, secs, outboxed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("applied %d state changes in %.0f s: %.0f callbacks/s applied and outboxed (%d outbox rows)"
      % (applied, secs, applied / secs, outboxed))' "$applied" "$secs" "$((outboxed - before))"
