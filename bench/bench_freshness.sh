#!/usr/bin/env bash
# End-to-end freshness on the development stack: from a call's `completed` status callback at
# telephony to the analytics API counting it. Target: p99 < 1 s.
# Usage: scripts/dev up && bench/bench_freshness.sh [calls, default 120] [calls per second, 10]
# Needs python3 and the stack's .local/dev.env (gateway, demo supervisor, Twilio simulator);
# DEV_ENV=<file> points it at another stack's settings in the same form.
#
# Method. As the demo supervisor, through the gateway, it places `calls` OUTBOUND calls
# (`POST /api/calls/`, each to a number of its own) at a steady rate. Telephony dials them at
# the Twilio simulator, which rings, answers, and after its talk time posts the signed
# `completed` status callback back to telephony; the simulator records when it sent each callback
# (`GET /sim/calls`: the `at` of the call's `completed` event, which telephony answered 200).
# That is the start of the clock. From there the path is telephony's transaction and outbox,
# the relay to the broker, analytics' consumer applying `call.ended` to its rollups, and a read.
# Meanwhile one poller asks `GET /api/analytics/calls?start_date=<the run's start>` through the
# gateway in a loop (a request every 10 ms at most) and timestamps every rise of
# `summary.completed_calls`. The API counts calls, not names them, so the k-th completion (by
# the simulator's clock) is paired with the moment the count first reached baseline + k:
# freshness_k = seen_k - completed_k. That pairing is exact when analytics applies the calls in
# the order they completed and otherwise only reshuffles which delay is whose, not their spread.
# The resolution is the poll's own round trip (printed); both clocks are this host's wall clock.
# The run fails if the count rises by anything other than `calls` (other traffic in the demo
# organization would spoil the pairing) or if a call does not complete.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
env_file="${DEV_ENV:-$root/.local/dev.env}"
[[ -f "$env_file" ]] || { echo "bench_freshness.sh: run scripts/dev up first" >&2; exit 1; }
calls="${1:-120}"
rate="${2:-10}"
exec python3 - "$env_file" "$calls" "$rate" <<'PY'
import datetime, json, random, sys, threading, time, urllib.error, urllib.request

env = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
ncalls, rate = int(sys.argv[2]), float(sys.argv[3])
if not 1 <= ncalls <= 1000:
    sys.exit("bench_freshness.sh: 1 to 1000 calls")
gw, sim = env["CC_GATEWAY_URL"], env["CC_TWILIO_API_BASE"]

def req(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        r.add_header("Content-Type", "application/json")
    if token:
        r.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(r, timeout=10) as f:
        return json.loads(f.read() or b"null")

def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

def parse(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()

token = req("POST", gw + "/api/auth/login", {"email": env["CC_DEMO_SUPERVISOR_EMAIL"],
            "password": env["CC_DEMO_SUPERVISOR_PASSWORD"]})["access_token"]
start = time.time() - 60
url = gw + "/api/analytics/calls?start_date=" + iso(start) + "&group_by=day"
try:
    base = req("GET", url, token=token)["summary"]["completed_calls"]
except urllib.error.HTTPError as e:
    sys.exit("bench_freshness.sh: analytics answers %d through the gateway; is the stack current "
             "(scripts/dev up)?" % e.code)

seen = []          # (wall time, count) at every rise
rtts = []
stop = threading.Event()
def poll():
    last = base
    while not stop.is_set():
        t0 = time.time()
        n = req("GET", url, token=token)["summary"]["completed_calls"]
        t1 = time.time()
        rtts.append(t1 - t0)
        # The count was observed somewhere inside the request: credit the rise to its middle.
        if n > last:
            seen.append(((t0 + t1) / 2, n))
            last = n
        time.sleep(max(0, 0.010 - (t1 - t0)))
poller = threading.Thread(target=poll)
poller.start()

run = random.randrange(10000, 99999)
numbers = set()
for i in range(ncalls):
    # Last four digits 1000-1999: the simulator fails, rings out or busies numbers ending 000x.
    to = "+1555%03d1%03d" % (run % 1000, i)
    numbers.add(to)
    req("POST", gw + "/api/calls/", {"from_number": env["CC_TWILIO_FROM_NUMBER"], "to_number": to,
        "direction": "OUTBOUND"}, token=token)
    time.sleep(1 / rate)

# Wait for the simulator to end every call, then for analytics to count them all.
deadline = time.time() + 120
done = {}
while time.time() < deadline:
    for c in req("GET", sim + "/sim/calls")["calls"]:
        if c["to"] in numbers and c["status"] in ("completed", "failed", "busy", "no-answer", "canceled"):
            ev = [e for e in c["events"] if e["status"] == "completed" and 200 <= e["http_status"] < 300]
            done[c["to"]] = (c["status"], parse(ev[-1]["at"]) if ev else None)
    if len(done) == len(numbers) and (seen and seen[-1][1] >= base + ncalls):
        break
    time.sleep(0.5)
time.sleep(2)  # any extra rise (someone else's call) would show here
stop.set()
poller.join()

bad = [k for k, v in done.items() if v[0] != "completed" or v[1] is None]
if len(done) != ncalls or bad:
    sys.exit("bench_freshness.sh: %d of %d calls completed with an accepted callback" %
             (len(done) - len(bad), ncalls))
final = seen[-1][1] if seen else base
if final != base + ncalls:
    sys.exit("bench_freshness.sh: completed_calls rose by %d, expected %d" % (final - base, ncalls))
completed = sorted(v[1] for v in done.values())
# One observed rise may count several calls: each reaches its count at that moment.
reached = []
prev = base
for t, n in seen:
    reached += [t] * (n - prev)
    prev = n
lat = sorted((reached[k] - completed[k]) * 1000 for k in range(ncalls))
def pct(p):
    return lat[min(len(lat) - 1, int(len(lat) * p / 100))]
rt = sorted(rtts)
print("%d calls (%.0f/s), polling GET /api/analytics/calls through the gateway "
      "(poll round trip p50 %.1f ms, %d polls)" % (ncalls, rate, rt[len(rt) // 2] * 1000, len(rt)))
print("freshness ms: min %.0f  p50 %.0f  p90 %.0f  p99 %.0f  max %.0f" %
      (lat[0], pct(50), pct(90), pct(99), lat[-1]))
PY
