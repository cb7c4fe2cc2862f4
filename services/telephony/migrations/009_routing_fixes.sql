-- Routing, second pass (after review):
-- - a queue's max wait counts from when the call entered THAT queue (entered_queue_at), while
--   queued_at stays the call's first queue time (its place in line and its wait accounting);
-- - a call overflows into another queue at most once (overflow_count), so two queues that
--   overflow into each other cannot pass a caller back and forth;
-- - queue_left_at: when an overflowed call left the queues (its queue wait ends there);
-- - the routing pass never waits on a row: the agent is chosen first, then the call claimed,
--   both SKIP LOCKED, so it cannot deadlock with a status-callback batch that holds calls and
--   then takes their agents; an agent on a call already is offered after idle ones.
ALTER TABLE calls ADD COLUMN entered_queue_at timestamptz;
ALTER TABLE calls ADD COLUMN overflow_count integer NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN queue_left_at timestamptz;
UPDATE calls SET entered_queue_at = queued_at WHERE queued_at IS NOT NULL;
CREATE INDEX calls_waiting_since ON calls (entered_queue_at) WHERE queue_state = 'WAITING';

CREATE OR REPLACE FUNCTION route_org(p_org uuid) RETURNS integer LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    c record;
    chosen uuid;
    claimed uuid;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('cc-route:' || p_org::text, 0));
    FOR c IN
        SELECT k.id, coalesce(q.skills, '{}'::text[]) AS skills
        FROM calls k LEFT JOIN queues q ON q.org_id = k.org_id AND q.id::text = k.queue_id
        WHERE k.org_id = p_org AND k.queue_state = 'WAITING'
        ORDER BY k.queue_priority DESC, k.queued_at NULLS LAST, k.id
    LOOP
        -- Nobody free at all: the rest of the line waits too.
        EXIT WHEN NOT EXISTS (SELECT 1 FROM agents a WHERE a.org_id = p_org
                              AND a.status = 'AVAILABLE' AND a.current_load < a.max_capacity);
        SELECT a.id INTO chosen FROM agents a
        WHERE a.org_id = p_org AND a.status = 'AVAILABLE' AND a.current_load < a.max_capacity
          AND a.skills @> c.skills
          AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.call_id = c.id AND o.agent_id = a.id
                          AND o.state = 'MISSED')
        ORDER BY a.current_load > 0, a.idle_since, a.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN chosen IS NULL;
        -- A call someone else holds right now (its caller hanging up, a callback) is left for
        -- the next pass.
        UPDATE calls SET queue_state = 'OFFERED', updated_at = now()
        WHERE id = (SELECT id FROM calls WHERE id = c.id AND queue_state = 'WAITING'
                    FOR UPDATE SKIP LOCKED)
        RETURNING id INTO claimed;
        CONTINUE WHEN claimed IS NULL;
        UPDATE agents SET current_load = current_load + 1, updated_at = now() WHERE id = chosen;
        INSERT INTO offers (id, org_id, call_id, agent_id) VALUES (gen_random_uuid(), p_org, c.id,
                                                                   chosen);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
