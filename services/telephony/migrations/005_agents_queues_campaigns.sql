-- Telephony, part 2: the users the gateway announces, agents and their presence, queues and the
-- routing of waiting calls to agents, campaigns, their contacts and the outbound dialer.

-- Users as the gateway's user.* events describe them (cc.users.v1). An agent profile may only be
-- made for a user of the caller's organization, which is how telephony knows it.
CREATE TABLE users (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL,
    email          text NOT NULL DEFAULT '',
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    role           text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT '',
    skills         text[] NOT NULL DEFAULT '{}',
    -- the version of the gateway's row this is (User.updated_at_ms): an event older than the row
    -- never overwrites it, whatever order Kafka redelivers them in
    version_ms     bigint NOT NULL DEFAULT 0
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE agents (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL,
    user_id         uuid NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'OFFLINE' CHECK (status IN ('OFFLINE', 'AVAILABLE',
                    'BUSY', 'WRAP_UP', 'BREAK', 'TRAINING')),
    status_since    timestamptz NOT NULL DEFAULT now(),
    max_capacity    integer NOT NULL DEFAULT 1 CHECK (max_capacity BETWEEN 1 AND 10),
    -- calls offered to or handled by the agent now; kept by routing and the call state machine,
    -- never by clients. The CHECK is the last line of defence against over-assignment.
    current_load    integer NOT NULL DEFAULT 0 CHECK (current_load >= 0),
    skills          text[] NOT NULL DEFAULT '{}',
    language        text NOT NULL DEFAULT 'en',
    metadata        jsonb CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
    -- since when the agent has been free for a call (longest idle is offered first)
    idle_since      timestamptz NOT NULL DEFAULT now(),
    -- after-call work: the call it is for and when it ends on its own
    wrap_call_id    uuid,
    wrap_until      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (current_load <= max_capacity)
);
CREATE INDEX agents_org_created ON agents (org_id, created_at DESC, id DESC);
CREATE INDEX agents_org_status ON agents (org_id, status);
-- Who can take a call now, longest idle first.
CREATE INDEX agents_routable ON agents (org_id, idle_since)
    WHERE status = 'AVAILABLE' AND current_load < max_capacity;
CREATE INDEX agents_wrapping ON agents (wrap_until) WHERE status = 'WRAP_UP';

CREATE TABLE queues (
    id                     uuid PRIMARY KEY,
    org_id                 uuid NOT NULL,
    name                   text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description            text CHECK (char_length(description) <= 1000),
    skills                 text[] NOT NULL DEFAULT '{}',
    -- higher first (0..100)
    priority               integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    wrap_up_seconds        integer NOT NULL DEFAULT 30 CHECK (wrap_up_seconds BETWEEN 0 AND 3600),
    service_level_seconds  integer NOT NULL DEFAULT 20
                           CHECK (service_level_seconds BETWEEN 1 AND 3600),
    max_wait_seconds       integer NOT NULL DEFAULT 600
                           CHECK (max_wait_seconds BETWEEN 10 AND 86400),
    overflow_action        text NOT NULL DEFAULT 'voicemail'
                           CHECK (overflow_action IN ('voicemail', 'hangup', 'queue', 'transfer')),
    overflow_target        text CHECK (char_length(overflow_target) <= 255),
    active                 boolean NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX queues_org_name ON queues (org_id, lower(name));
CREATE INDEX queues_org_created ON queues (org_id, created_at DESC, id DESC);

-- What a call did in our queues; the row stays as the record of its wait. state WAITING: no
-- agent yet; OFFERED: an agent's phone is ringing; CONNECTED: an agent took it; ABANDONED: the
-- caller hung up first; OVERFLOWED: max wait reached and the overflow action ran.
ALTER TABLE calls ADD COLUMN queued_at timestamptz;
ALTER TABLE calls ADD COLUMN connected_at timestamptz;
ALTER TABLE calls ADD COLUMN queue_state text CHECK (queue_state IN ('WAITING', 'OFFERED',
    'CONNECTED', 'ABANDONED', 'OVERFLOWED'));
ALTER TABLE calls ADD COLUMN queue_priority integer NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN abandoned boolean NOT NULL DEFAULT false;
ALTER TABLE calls ADD COLUMN wrap_up_s integer;
-- call.ended waits for the agent's wrap-up (its accounting carries it); true once it is written
ALTER TABLE calls ADD COLUMN ended_event_sent boolean NOT NULL DEFAULT false;
-- The routing pass's input: waiting calls of an organization, priority then first come.
CREATE INDEX calls_waiting ON calls (org_id, queue_priority DESC, queued_at, id)
    WHERE queue_state = 'WAITING';
CREATE INDEX calls_in_queue ON calls (queued_at) WHERE queue_state IN ('WAITING', 'OFFERED');

-- One offer of a waiting call to an agent. PENDING: decided, not yet dialled; DIALING: the
-- agent's leg is ringing at Twilio; ACCEPTED: the agent answered; MISSED: no answer, busy or
-- failed (the call goes to the next agent); CANCELED: the caller left first.
CREATE TABLE offers (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    call_id     uuid NOT NULL REFERENCES calls (id),
    agent_id    uuid NOT NULL REFERENCES agents (id),
    state       text NOT NULL DEFAULT 'PENDING'
                CHECK (state IN ('PENDING', 'DIALING', 'ACCEPTED', 'MISSED', 'CANCELED')),
    twilio_sid  text UNIQUE,
    -- set when the agent's leg has been hung up at Twilio (or needs no hanging up)
    released    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- A call is offered to one agent at a time, and handled by one.
CREATE UNIQUE INDEX offers_one_live_per_call ON offers (call_id)
    WHERE state IN ('PENDING', 'DIALING', 'ACCEPTED');
CREATE INDEX offers_call ON offers (call_id);
CREATE INDEX offers_todo ON offers (created_at) WHERE state = 'PENDING';
CREATE INDEX offers_agent_live ON offers (agent_id) WHERE state IN ('PENDING', 'DIALING',
    'ACCEPTED');

CREATE TABLE campaigns (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL,
    -- the contract's organization_id as the client sent it (the UI sends "demo-org"); scoping
    -- always uses org_id, the caller's organization
    organization_label   text NOT NULL,
    name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    description          text,
    type                 text NOT NULL CHECK (type IN ('INBOUND', 'OUTBOUND', 'TRANSFER',
                         'ESCALATION')),
    language             text NOT NULL DEFAULT 'en',
    version              text NOT NULL DEFAULT '1.0.0',
    active               boolean NOT NULL DEFAULT false,
    instructions         jsonb NOT NULL DEFAULT '{}',
    tools                jsonb,
    voice                jsonb,
    analytics            jsonb,
    metadata_payload     jsonb,
    -- the dialer's settings
    queue_id             uuid REFERENCES queues (id),
    pacing_ratio         double precision NOT NULL DEFAULT 1.0
                         CHECK (pacing_ratio > 0 AND pacing_ratio <= 10),
    max_attempts         integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    retry_delay_seconds  integer NOT NULL DEFAULT 300
                         CHECK (retry_delay_seconds BETWEEN 1 AND 604800),
    -- local wall-clock window in time_zone ("09:00".."20:00"); NULL: any time
    calling_hours_start  time,
    calling_hours_end    time,
    time_zone            text NOT NULL DEFAULT 'UTC',
    completed_at         timestamptz,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_org_created ON campaigns (org_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX campaigns_running ON campaigns (org_id)
    WHERE active AND type = 'OUTBOUND' AND completed_at IS NULL AND deleted_at IS NULL;

CREATE TABLE contacts (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL,
    campaign_id    uuid NOT NULL REFERENCES campaigns (id),
    phone_number   text NOT NULL,
    name           text,
    email          text,
    status         text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DIALING',
                   'CONNECTED', 'COMPLETED', 'FAILED', 'DO_NOT_CALL')),
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt   timestamptz,
    next_attempt   timestamptz,
    outcome        text,
    notes          text,
    extra_metadata jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_org_created ON contacts (org_id, created_at DESC, id DESC);
CREATE INDEX contacts_campaign_created ON contacts (campaign_id, created_at DESC, id DESC);
-- The dialer's next contacts: pending and due, oldest first.
CREATE INDEX contacts_due ON contacts (campaign_id, next_attempt NULLS FIRST, created_at)
    WHERE status = 'PENDING';
