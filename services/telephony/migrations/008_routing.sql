-- One routing pass for an organization: every waiting call, highest queue priority first and
-- first come first served within it, is offered to the longest-idle AVAILABLE agent who has
-- the queue's skills, has spare capacity and has not been offered this call before.
--
-- Passes of one organization are serialized by a transaction-scoped advisory lock, so two
-- passes never hand out the same agent; each call is claimed (WAITING -> OFFERED) before its
-- agent is chosen, so a caller hanging up at the same moment is never overwritten; agents are
-- taken FOR UPDATE SKIP LOCKED, so an agent whose presence is changing right now is simply left
-- for the next pass. Locks are always taken call first, then agent, as the call state machine
-- does, so the two never deadlock. The agents table's CHECK (current_load <= max_capacity) and
-- the one-live-offer-per-call unique index back this up inside the database.
CREATE FUNCTION route_org(p_org uuid) RETURNS integer LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    c record;
    chosen uuid;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('cc-route:' || p_org::text, 0));
    FOR c IN
        SELECT k.id, coalesce(q.skills, '{}'::text[]) AS skills
        FROM calls k LEFT JOIN queues q ON q.org_id = k.org_id AND q.id::text = k.queue_id
        WHERE k.org_id = p_org AND k.queue_state = 'WAITING'
        ORDER BY k.queue_priority DESC, k.queued_at, k.id
    LOOP
        -- Nobody free at all: the rest of the line waits too.
        EXIT WHEN NOT EXISTS (SELECT 1 FROM agents a WHERE a.org_id = p_org
                              AND a.status = 'AVAILABLE' AND a.current_load < a.max_capacity);
        UPDATE calls SET queue_state = 'OFFERED', updated_at = now()
        WHERE id = c.id AND queue_state = 'WAITING';
        CONTINUE WHEN NOT FOUND;
        SELECT a.id INTO chosen FROM agents a
        WHERE a.org_id = p_org AND a.status = 'AVAILABLE' AND a.current_load < a.max_capacity
          AND a.skills @> c.skills
          AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.call_id = c.id AND o.agent_id = a.id)
        ORDER BY a.idle_since, a.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED;
        IF chosen IS NULL THEN
            UPDATE calls SET queue_state = 'WAITING' WHERE id = c.id;
            CONTINUE;
        END IF;
        UPDATE agents SET current_load = current_load + 1, updated_at = now() WHERE id = chosen;
        INSERT INTO offers (id, org_id, call_id, agent_id) VALUES (gen_random_uuid(), p_org, c.id,
                                                                   chosen);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
