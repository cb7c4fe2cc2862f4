-- Calls, their recordings and transcript segments, and the counters behind the call list's
-- `total`. Every row carries org_id; every query the service runs is scoped by it.

-- Times are written by the service (ms precision), which derives them from the state machine;
-- the defaults only serve rows written by hand.
CREATE TABLE calls (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
    status           text NOT NULL CHECK (status IN ('QUEUED', 'RINGING', 'IN_PROGRESS',
                     'ON_HOLD', 'COMPLETED', 'NO_ANSWER', 'BUSY', 'FAILED', 'CANCELED')),
    from_number      text NOT NULL,
    to_number        text NOT NULL,
    provider         text NOT NULL DEFAULT 'TWILIO' CHECK (provider IN ('TWILIO', 'TELNYX')),
    twilio_sid       text UNIQUE,
    agent_id         uuid,
    supervisor_id    uuid,
    campaign_id      uuid,
    contact_id       uuid,
    queue_id         text,
    disposition      text CHECK (char_length(disposition) <= 50),
    notes            text CHECK (char_length(notes) <= 2000),
    metadata         jsonb CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
    recording_url    text,
    conference       text,
    -- start_time is the call's creation: the contract's start_time and created_at both.
    start_time       timestamptz NOT NULL DEFAULT now(),
    ringing_at       timestamptz,
    answered_at      timestamptz,
    hold_started_at  timestamptz,
    hold_seconds     integer NOT NULL DEFAULT 0,
    ended_at         timestamptz,
    duration_s       integer,
    talk_s           integer,
    deleted_at       timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The list: newest first, optionally one agent's or one status's, deleted calls never.
CREATE INDEX calls_org_start ON calls (org_id, start_time DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX calls_org_agent_start ON calls (org_id, agent_id, start_time DESC, id DESC)
    WHERE deleted_at IS NULL AND agent_id IS NOT NULL;
CREATE INDEX calls_org_status_start ON calls (org_id, status, start_time DESC, id DESC)
    WHERE deleted_at IS NULL;

-- Twilio reports a recording's progress under one sid; the row follows its status.
CREATE TABLE recordings (
    sid         text PRIMARY KEY,
    call_id     uuid NOT NULL REFERENCES calls (id),
    org_id      uuid NOT NULL,
    url         text,
    duration_s  integer,
    status      text NOT NULL,
    -- when the recording began (estimated from the first callback): where its transcript
    -- segments sit in the call
    started_at  timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_call ON recordings (call_id);

CREATE TABLE transcripts (
    id                 uuid PRIMARY KEY,
    call_id            uuid NOT NULL REFERENCES calls (id),
    org_id             uuid NOT NULL,
    transcription_sid  text NOT NULL UNIQUE,
    recording_sid      text,
    role               text NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
    content            text NOT NULL,
    confidence         double precision,
    offset_ms          integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcripts_call ON transcripts (call_id, created_at);

-- How many visible (not deleted) calls an organization has, per agent and per status, so the
-- list's `total` is a sum of at most 16 rows instead of a count over the tenant's history.
-- agent_id NIL_UUID means "any agent", status '*' "any status"; every call counts in the four
-- rows (any, any), (any, its status), (its agent, any), (its agent, its status). Each key is
-- split over 16 shards picked at random per change, so concurrent transactions of one
-- organization (status callbacks arrive by the thousand) rarely wait on the same row.
CREATE TABLE call_counts (
    org_id    uuid NOT NULL,
    agent_id  uuid NOT NULL,
    status    text NOT NULL,
    shard     smallint NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (org_id, agent_id, status, shard)
);

-- SET search_path FROM CURRENT: the function finds call_counts in this schema whoever changes
-- calls (an operator's psql, a bulk load) and whatever their search_path.
CREATE FUNCTION calls_count_changes() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    old_in boolean := false;
    new_in boolean := false;
    o_agent uuid;
    o_status text;
    n_agent uuid;
    n_status text;
    org uuid;
    k record;
    sh smallint := floor(random() * 16)::smallint;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_in := OLD.deleted_at IS NULL;
        o_agent := OLD.agent_id;
        o_status := OLD.status;
        org := OLD.org_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_in := NEW.deleted_at IS NULL;
        n_agent := NEW.agent_id;
        n_status := NEW.status;
        org := NEW.org_id;
    END IF;
    -- Net changes only (a status change leaves the "any status" rows alone), applied in key
    -- order so two transactions never take the same rows in opposite orders.
    FOR k IN
        SELECT a, s, sum(d)::bigint AS d FROM (
            SELECT nil AS a, '*' AS s, -1 AS d WHERE old_in
            UNION ALL SELECT nil, o_status, -1 WHERE old_in
            UNION ALL SELECT o_agent, '*', -1 WHERE old_in AND o_agent IS NOT NULL
            UNION ALL SELECT o_agent, o_status, -1 WHERE old_in AND o_agent IS NOT NULL
            UNION ALL SELECT nil, '*', 1 WHERE new_in
            UNION ALL SELECT nil, n_status, 1 WHERE new_in
            UNION ALL SELECT n_agent, '*', 1 WHERE new_in AND n_agent IS NOT NULL
            UNION ALL SELECT n_agent, n_status, 1 WHERE new_in AND n_agent IS NOT NULL
        ) v
        GROUP BY a, s HAVING sum(d) <> 0 ORDER BY a, s
    LOOP
        INSERT INTO call_counts AS c (org_id, agent_id, status, shard, n)
        VALUES (org, k.a, k.s, sh, k.d)
        ON CONFLICT (org_id, agent_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER calls_count_insert AFTER INSERT ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_count_changes();
CREATE TRIGGER calls_count_update AFTER UPDATE OF status, agent_id, deleted_at ON calls
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION calls_count_changes();
CREATE TRIGGER calls_count_delete AFTER DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_count_changes();
