-- Analytics: a read model built from the event stream (users, campaigns, calls, agents) and
-- rollups of call and agent time per organization, time bucket and dimension. Every endpoint
-- answers from these tables; nothing is read from another service's schema.

-- ---- read model ----

-- user.created / user.updated (cc.users.v1); version_ms = User.updated_at_ms: an older or
-- repeated version never overwrites a newer one.
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    email       text NOT NULL DEFAULT '',
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    role        text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT '',
    department  text NOT NULL DEFAULT '',
    created_at  timestamptz,
    version_ms  bigint NOT NULL DEFAULT 0
);
CREATE INDEX users_org ON users (org_id);

-- campaign.* (cc.campaigns.v1); version_ms = Campaign.updated_at_ms.
CREATE TABLE campaigns (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    name        text NOT NULL DEFAULT '',
    type        text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT false,
    queue_id    text NOT NULL DEFAULT '',
    completed   boolean NOT NULL DEFAULT false,
    created_at  timestamptz,
    version_ms  bigint NOT NULL DEFAULT 0
);
CREATE INDEX campaigns_org ON campaigns (org_id);

-- call.* (cc.calls.v1): the live view of each call. Events of one call arrive in order per
-- partition, but a redelivery or a replay may bring an older one again: status moves only with
-- a newer event (status_ms), and once call.ended has been applied (ended) nothing older moves
-- it back to live.
CREATE TABLE calls (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    direction    text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT '',
    from_number  text NOT NULL DEFAULT '',
    to_number    text NOT NULL DEFAULT '',
    agent_id     text NOT NULL DEFAULT '',  -- the agent's user id
    queue_id     text NOT NULL DEFAULT '',
    campaign_id  text NOT NULL DEFAULT '',
    started_at   timestamptz,
    answered_at  timestamptz,
    ended_at     timestamptz,
    duration_s   integer,
    on_hold      boolean NOT NULL DEFAULT false,
    ended        boolean NOT NULL DEFAULT false,
    status_ms    bigint NOT NULL DEFAULT 0
);
-- Live calls (the dashboard's active calls) and the newest calls of an organization.
CREATE INDEX calls_org_live ON calls (org_id, started_at DESC)
    WHERE NOT ended AND status IN ('QUEUED', 'RINGING', 'IN_PROGRESS', 'ON_HOLD');
CREATE INDEX calls_org_started ON calls (org_id, started_at DESC, id);

-- agent.status_changed (cc.agents.v1): each agent's presence now.
CREATE TABLE agents (
    id          uuid PRIMARY KEY,               -- telephony's agent id
    org_id      uuid NOT NULL,
    user_id     uuid NOT NULL,
    status      text NOT NULL DEFAULT 'OFFLINE',
    since       timestamptz,
    load        integer NOT NULL DEFAULT 0,
    capacity    integer NOT NULL DEFAULT 1,
    status_ms   bigint NOT NULL DEFAULT 0
);
CREATE INDEX agents_org ON agents (org_id);
CREATE INDEX agents_user ON agents (user_id);

-- ---- rollups ----

-- Call counters from call.ended (the call's final accounting), bucketed by the call's START in
-- UTC at three grains: 'm' minute, 'h' hour, 'd' day. One row per organization, dimension
-- ('o' the whole organization with dim_id '', 'a' an agent's user id, 'q' a queue id,
-- 'c' a campaign id) and bucket. A call.ended adds its numbers to every row it belongs to, in
-- the transaction that records its event id, so a redelivered event adds nothing and a late
-- one still lands in the bucket of its start.
CREATE TABLE call_rollups (
    org_id                   uuid NOT NULL,
    dim                      "char" NOT NULL CHECK (dim IN ('o', 'a', 'q', 'c')),
    dim_id                   text NOT NULL,
    grain                    "char" NOT NULL CHECK (grain IN ('m', 'h', 'd')),
    bucket                   timestamptz NOT NULL,
    calls                    integer NOT NULL DEFAULT 0,
    inbound                  integer NOT NULL DEFAULT 0,
    outbound                 integer NOT NULL DEFAULT 0,
    completed                integer NOT NULL DEFAULT 0,
    failed                   integer NOT NULL DEFAULT 0,
    no_answer                integer NOT NULL DEFAULT 0,
    busy                     integer NOT NULL DEFAULT 0,
    canceled                 integer NOT NULL DEFAULT 0,
    answered                 integer NOT NULL DEFAULT 0, -- answered_at_ms > 0
    handled                  integer NOT NULL DEFAULT 0, -- answered by an agent (agent_id set)
    queued                   integer NOT NULL DEFAULT 0, -- entered a queue
    queued_answered          integer NOT NULL DEFAULT 0, -- entered a queue and an agent answered
    within_sl                integer NOT NULL DEFAULT 0, -- answered from a queue within its threshold
    abandoned                integer NOT NULL DEFAULT 0,
    duration_sum             bigint NOT NULL DEFAULT 0,  -- every call's duration_seconds
    completed_duration_sum   bigint NOT NULL DEFAULT 0,  -- COMPLETED calls' duration_seconds
    talk_sum                 bigint NOT NULL DEFAULT 0,  -- handled calls
    hold_sum                 bigint NOT NULL DEFAULT 0,  -- handled calls
    wrap_sum                 bigint NOT NULL DEFAULT 0,  -- handled calls
    answered_wait_sum        bigint NOT NULL DEFAULT 0,  -- queue wait of queued_answered calls
    PRIMARY KEY (org_id, dim, dim_id, grain, bucket)
);

-- Agent time from agent.status_changed: how long each agent (user id) spent in each status,
-- split at bucket boundaries, at the same three grains.
CREATE TABLE agent_rollups (
    org_id        uuid NOT NULL,
    user_id       uuid NOT NULL,
    grain         "char" NOT NULL CHECK (grain IN ('m', 'h', 'd')),
    bucket        timestamptz NOT NULL,
    available_s   bigint NOT NULL DEFAULT 0,
    busy_s        bigint NOT NULL DEFAULT 0,
    wrap_up_s     bigint NOT NULL DEFAULT 0,
    break_s       bigint NOT NULL DEFAULT 0,
    training_s    bigint NOT NULL DEFAULT 0,
    offline_s     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, user_id, grain, bucket)
);
CREATE INDEX agent_rollups_org ON agent_rollups (org_id, grain, bucket);

-- Queues as calls name them (call.ended carries the queue's name and service-level threshold;
-- telephony publishes no queue events).
CREATE TABLE queues (
    id                     text PRIMARY KEY,
    org_id                 uuid NOT NULL,
    name                   text NOT NULL DEFAULT '',
    service_level_seconds  integer NOT NULL DEFAULT 20
);
CREATE INDEX queues_org ON queues (org_id);
