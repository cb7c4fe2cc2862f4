-- An AGENT sees only its own numbers on every route, so two reads gain what they need:
-- an agent's calls per campaign, as rollup dimension 'x' ("<campaign id>/<agent user id>",
-- day rows only: /api/analytics/campaigns is all-time), and an agent's newest calls.
ALTER TABLE call_rollups DROP CONSTRAINT call_rollups_dim_check;
ALTER TABLE call_rollups ADD CONSTRAINT call_rollups_dim_check
    CHECK (dim IN ('o', 'a', 'q', 'c', 'x'));

-- Calls rolled up before this migration, from the read model (every call.ended is in it):
-- the volumes and durations the route shows; the queue and handling sums stay 0 here.
INSERT INTO call_rollups (org_id, dim, dim_id, grain, bucket, calls, inbound, outbound,
    completed, failed, no_answer, busy, canceled, answered, handled, duration_sum,
    completed_duration_sum)
SELECT org_id, 'x', campaign_id || '/' || agent_id, 'd',
    date_bin('1 day', coalesce(started_at, ended_at), 'epoch'), count(*),
    count(*) FILTER (WHERE direction = 'INBOUND'), count(*) FILTER (WHERE direction = 'OUTBOUND'),
    count(*) FILTER (WHERE status = 'COMPLETED'), count(*) FILTER (WHERE status = 'FAILED'),
    count(*) FILTER (WHERE status = 'NO_ANSWER'), count(*) FILTER (WHERE status = 'BUSY'),
    count(*) FILTER (WHERE status = 'CANCELED'), count(*) FILTER (WHERE answered_at IS NOT NULL),
    count(*) FILTER (WHERE answered_at IS NOT NULL), coalesce(sum(greatest(duration_s, 0)), 0),
    coalesce(sum(greatest(duration_s, 0)) FILTER (WHERE status = 'COMPLETED'), 0)
FROM calls
WHERE ended AND campaign_id <> '' AND agent_id <> ''
    AND coalesce(started_at, ended_at) IS NOT NULL
GROUP BY 1, 3, 5;

CREATE INDEX calls_agent_started ON calls (org_id, agent_id, started_at DESC, id)
    WHERE agent_id <> '';
