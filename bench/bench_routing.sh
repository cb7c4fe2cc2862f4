#!/usr/bin/env bash
# Routing decisions per second: an organization with 1,000 calls waiting in its queues and 200
# agents, against the development stack's database (`scripts/dev up`), through the same
# route_org() pass the telephony service runs (migrations/008_routing.sql).
#
#   pass       all 200 agents free at once: one pass offers 200 calls
#   one-by-one the 200 agents become free one at a time, each followed by its own pass in its own
#              transaction, as PATCH /api/agents/{id}/status does: 200 passes of one decision
#   parallel   one-by-one, split over CLIENTS concurrent psql sessions (the passes serialize on
#              the organization's lock, as in production)
#
# The development stack's telephony service is paused (SIGSTOP) while the bench runs and resumed
# at the end: its worker would otherwise route the bench's calls itself and ring the agents
# through the simulator.
#
# Usage: bench/bench_routing.sh [waiting] [agents] [rounds]   (defaults 1000 200 5)
# Environment: CLIENTS (4). Needs psql and python3. Cleans up its organization at the end.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
waiting="${1:-1000}"
agents="${2:-200}"
rounds="${3:-5}"
clients="${CLIENTS:-4}"
env_file="$root/.local/dev.env"
[[ -f "$env_file" ]] || { echo "bench_routing.sh: run scripts/dev up first" >&2; exit 1; }
db="$(sed -n 's/^CC_DATABASE_URL=//p' "$env_file" | tail -1)"
org="$(python3 -c 'import uuid; print(uuid.uuid4())')"
work="$(mktemp -d)"
psql() { command psql -qAtX -v ON_ERROR_STOP=1 "$db" "$@"; }
tel_pid="$(cat "$root/.local/run/telephony.pid" 2>/dev/null || true)"
cleanup() {
        psql -c "SET search_path = telephony;
                 DELETE FROM offers WHERE org_id = '$org';
                 DELETE FROM calls WHERE org_id = '$org';
                 DELETE FROM call_counts WHERE org_id = '$org';
                 DELETE FROM agents WHERE org_id = '$org';
                 DELETE FROM users WHERE org_id = '$org';
                 DELETE FROM queues WHERE org_id = '$org';" >/dev/null 2>&1 || true
        rm -rf "$work"
        # only now: the service must not route the bench's calls while they are removed
        [[ -n "$tel_pid" ]] && kill -CONT "$tel_pid" 2>/dev/null
        return 0
}
trap cleanup EXIT
[[ -n "$tel_pid" ]] && kill -STOP "$tel_pid" 2>/dev/null || true

# Three queues (one needing a skill half the agents have), calls spread over them.
psql -c "SET search_path = telephony;
        INSERT INTO queues (id, org_id, name, skills, priority) VALUES
          (gen_random_uuid(), '$org', 'sales', '{}', 10),
          (gen_random_uuid(), '$org', 'support', '{}', 0),
          (gen_random_uuid(), '$org', 'spanish', '{es}', 5);
        INSERT INTO users (id, org_id, role, status)
        SELECT gen_random_uuid(), '$org', 'AGENT', 'ACTIVE' FROM generate_series(1, $agents);
        INSERT INTO agents (id, org_id, user_id, status, skills, idle_since)
        SELECT gen_random_uuid(), '$org', u.id, 'OFFLINE',
               CASE WHEN row_number() OVER () % 2 = 0 THEN '{es,en}'::text[] ELSE '{en}' END,
               now() - random() * interval '1 hour'
        FROM users u WHERE u.org_id = '$org';
        INSERT INTO calls (id, org_id, direction, status, from_number, to_number, queue_id,
                           queue_state, queue_priority, queued_at)
        SELECT gen_random_uuid(), '$org', 'INBOUND', 'RINGING', '+15550100000', '+15550100001',
               q.id::text, 'WAITING', q.priority, now() - g * interval '1 second'
        FROM generate_series(1, $waiting) g
        JOIN LATERAL (SELECT id, priority FROM queues WHERE org_id = '$org'
                      ORDER BY name OFFSET g % 3 LIMIT 1) q ON true;
        ANALYZE calls; ANALYZE agents; ANALYZE offers;" >/dev/null

reset_sql="SET search_path = telephony;
        DELETE FROM offers WHERE org_id = '$org';
        UPDATE calls SET queue_state = 'WAITING' WHERE org_id = '$org';
        UPDATE agents SET current_load = 0, status = 'OFFLINE' WHERE org_id = '$org';"
now() { date +%s.%N; }
rate() { python3 -c "import sys; d=int(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]); print(f'{d} decisions in {t*1000:.0f} ms: {d/t:,.0f}/s')" "$@"; }

# One statement file per client: each agent becomes available, then a pass, one transaction each.
mkdir -p "$work"
psql -c "SELECT id FROM telephony.agents WHERE org_id = '$org' ORDER BY id" >"$work/agents"
split_files() {
        local n="$1"
        rm -f "$work"/client.*
        local i=0
        while read -r a; do
                printf "UPDATE agents SET status = 'AVAILABLE', idle_since = now() WHERE id = '%s';\nSELECT route_org('%s');\n" \
                        "$a" "$org" >>"$work/client.$((i % n))"
                i=$((i + 1))
        done <"$work/agents"
        for f in "$work"/client.*; do sed -i '1i SET search_path = telephony;' "$f"; done
}
offers() { psql -c "SELECT count(*) FROM telephony.offers WHERE org_id = '$org'"; }

echo "routing: $waiting waiting calls, $agents agents, $rounds rounds each (PostgreSQL $(psql -c 'SHOW server_version'))"
for round in $(seq "$rounds"); do
        psql -c "$reset_sql"
        psql -c "UPDATE telephony.agents SET status = 'AVAILABLE' WHERE org_id = '$org'"
        t0="$(now)"
        psql -c "SET search_path = telephony; SELECT route_org('$org')" >/dev/null
        t1="$(now)"
        echo "pass        $(rate "$(offers)" "$t0" "$t1")"
done
split_files 1
for round in $(seq "$rounds"); do
        psql -c "$reset_sql"
        t0="$(now)"
        psql -f "$work/client.0" >/dev/null
        t1="$(now)"
        echo "one-by-one  $(rate "$(offers)" "$t0" "$t1")"
done
split_files "$clients"
for round in $(seq "$rounds"); do
        psql -c "$reset_sql"
        t0="$(now)"
        for f in "$work"/client.*; do psql -f "$f" >/dev/null & done
        wait
        t1="$(now)"
        echo "parallel/$clients  $(rate "$(offers)" "$t0" "$t1")"
done
# Whatever the interleaving: no agent over capacity, no call with two live offers.
bad="$(psql -c "SET search_path = telephony;
        SELECT (SELECT count(*) FROM agents WHERE org_id = '$org' AND current_load > max_capacity)
             + (SELECT count(*) FROM (SELECT call_id FROM offers WHERE org_id = '$org'
                GROUP BY call_id HAVING count(*) > 1) d)")"
[[ "$bad" == 0 ]] || { echo "bench_routing.sh: over-assignment detected ($bad)" >&2; exit 1; }
