/* The consumer's handler: each event of cc.users.v1, cc.calls.v1, cc.agents.v1 and
 * cc.campaigns.v1 applied to the read model (users, campaigns, calls, agents, queues) and the
 * rollups, inside the transaction that records its event id (cc/consume.h), so it takes effect
 * exactly once whatever Kafka redelivers.
 *
 * Kafka keeps one aggregate's events in order, but a replay, a redelivery or two topics read at
 * different speeds can still bring an older event after a newer one, or a call's end before its
 * start. Every write is therefore an upsert guarded by the event's own time: a row moves only
 * with a newer version (users, campaigns), a newer change (calls, agents), and a call that has
 * had its call.ended is final. Counters are added only from call.ended (once per call) and
 * agent.status_changed (once per event), so the order of a call's events never changes a total.
 * docs/analytics.md has the rules event by event. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "cc/log.h"

/* 9999-12-31T23:59:59.999Z: the last instant PostgreSQL and the API's formats both handle. */
#define TIME_MAX_MS 253402300799999LL

/* ---- enums ---- */

static bool call_status_terminal(Cc__Events__V1__CallStatus s)
{
        return s >= CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED &&
               s <= CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_CANCELED;
}

/* ---- parameters ---- */

static const char *str(const char *s)
{
        return s ? s : "";
}

/* Ids are keys of text columns (rollup dimensions, calls.agent_id) that the API looks up in
 * lower case, so a producer writing a UUID in upper case must not make a second key. */
static void lower_in_place(char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'F')
                        *s = (char)(*s - 'A' + 'a');
}

/* An id the event must carry; lower-cased where it stands. */
static bool id_ok(char *s)
{
        if (!s || !cc_uuid_valid(s))
                return false;
        lower_in_place(s);
        return true;
}

/* An id the event may leave "" (not known); lower-cased where it stands. */
static bool opt_id_ok(char *s)
{
        return !s || !*s || id_ok(s);
}

/* Times are ms since the epoch; 0 is "not known". */
static bool time_ok(int64_t ms)
{
        return ms >= 0 && ms <= TIME_MAX_MS;
}

struct num {
        char s[24];
};

static const char *num(struct num *b, int64_t v)
{
        snprintf(b->s, sizeof(b->s), "%lld", (long long)v);
        return b->s;
}

struct ts {
        char s[25];
};

/* A timestamptz parameter; NULL (SQL NULL) for an unknown time. */
static const char *ts(struct ts *b, int64_t ms)
{
        if (ms <= 0)
                return NULL;
        cc_format_time_ms(ms, b->s);
        return b->s;
}

/* A database refusal of the event's data (bad text, an out-of-range value, a violated
 * constraint) will not go away on a retry: the event is dead-lettered. Anything else (the
 * connection lost, a deadlock) is retried. */
static int db_error(struct cc_db_conn *conn, int r)
{
        const char *state = cc_db_sqlstate(conn);
        if ((r == -EINVAL || r == -EEXIST) &&
            (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
                return -EBADMSG;
        return r;
}

/* Runs a statement; *ret_rows (when not NULL) gets the number of rows it returned. */
static int exec(struct cc_db_conn *conn, const char *sql, int n, const char *const *params,
                int *ret_rows)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, ret_rows ? &res : NULL);
        if (r < 0)
                return db_error(conn, r);
        if (ret_rows)
                *ret_rows = PQntuples(res);
        PQclear(res);
        return 0;
}

/* ---- users (cc.users.v1) ---- */

/* Each event carries the whole user; the newer version (User.updated_at_ms) wins, and an equal
 * or older one is a no-op. A row never changes organization. */
static const char user_sql[] =
    "INSERT INTO users AS u (id, org_id, email, first_name, last_name, role, status, department, "
    "created_at, version_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, first_name = EXCLUDED.first_name, "
    "last_name = EXCLUDED.last_name, role = EXCLUDED.role, status = EXCLUDED.status, "
    "department = EXCLUDED.department, created_at = EXCLUDED.created_at, "
    "version_ms = EXCLUDED.version_ms "
    "WHERE u.version_ms < EXCLUDED.version_ms AND u.org_id = EXCLUDED.org_id";

static int apply_user(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__User *u =
            env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED
                ? env->user_created->user
                : env->user_updated->user;
        if (!u || !id_ok(u->user_id) || !time_ok(u->created_at_ms) || !time_ok(u->updated_at_ms))
                return -EBADMSG;
        struct ts created;
        struct num version;
        const char *params[] = {
            u->user_id,
            env->org_id,
            str(u->email),
            str(u->first_name),
            str(u->last_name),
            CC_EVENT_ENUM_NAME(user_role, u->role),
            CC_EVENT_ENUM_NAME(user_status, u->status),
            str(u->department),
            ts(&created, u->created_at_ms),
            num(&version, u->updated_at_ms),
        };
        return exec(conn, user_sql, CC_ARRAY_SIZE(params), params, NULL);
}

/* ---- campaigns (cc.campaigns.v1) ---- */

/* A newer version (Campaign.updated_at_ms) replaces the fields. A row that only
 * campaign.completed made (no created_at yet: the completion overtook the campaign's other
 * events) takes the descriptive fields from any version. Starting a completed campaign again
 * (active in a newer version) reopens it, as telephony does. */
static const char campaign_sql[] =
    "INSERT INTO campaigns AS c (id, org_id, name, type, active, queue_id, created_at, "
    "version_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (id) DO UPDATE SET "
    "name = CASE WHEN c.version_ms < EXCLUDED.version_ms OR c.created_at IS NULL "
    "THEN EXCLUDED.name ELSE c.name END, "
    "type = CASE WHEN c.version_ms < EXCLUDED.version_ms OR c.created_at IS NULL "
    "THEN EXCLUDED.type ELSE c.type END, "
    "queue_id = CASE WHEN c.version_ms < EXCLUDED.version_ms OR c.created_at IS NULL "
    "THEN EXCLUDED.queue_id ELSE c.queue_id END, "
    "created_at = COALESCE(c.created_at, EXCLUDED.created_at), "
    "active = CASE WHEN c.version_ms < EXCLUDED.version_ms THEN EXCLUDED.active ELSE c.active END, "
    "completed = CASE WHEN c.version_ms < EXCLUDED.version_ms "
    "THEN c.completed AND NOT EXCLUDED.active ELSE c.completed END, "
    "version_ms = GREATEST(c.version_ms, EXCLUDED.version_ms) "
    "WHERE c.org_id = EXCLUDED.org_id";

/* The completion is a version of its own (completed_at_ms): one the campaign has already moved
 * past (reopened) leaves it alone. */
static const char campaign_completed_sql[] =
    "INSERT INTO campaigns AS c (id, org_id, active, completed, version_ms) "
    "VALUES ($1, $2, false, true, $3) "
    "ON CONFLICT (id) DO UPDATE SET active = false, completed = true, "
    "version_ms = EXCLUDED.version_ms "
    "WHERE c.version_ms <= EXCLUDED.version_ms AND c.org_id = EXCLUDED.org_id";

static int apply_campaign(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__Campaign *c =
            env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED
                ? env->campaign_created->campaign
                : env->campaign_updated->campaign;
        if (!c || !id_ok(c->campaign_id) || !opt_id_ok(c->queue_id) || !time_ok(c->created_at_ms) ||
            !time_ok(c->updated_at_ms))
                return -EBADMSG;
        struct ts created;
        struct num version;
        const char *params[] = {
            c->campaign_id,
            env->org_id,
            str(c->name),
            CC_EVENT_ENUM_NAME(campaign_type, c->type),
            c->active ? "true" : "false",
            str(c->queue_id),
            ts(&created, c->created_at_ms),
            num(&version, c->updated_at_ms),
        };
        return exec(conn, campaign_sql, CC_ARRAY_SIZE(params), params, NULL);
}

static int apply_campaign_completed(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CampaignCompleted *c = env->campaign_completed;
        if (!id_ok(c->campaign_id) || !time_ok(c->completed_at_ms))
                return -EBADMSG;
        struct num version;
        int64_t at = c->completed_at_ms > 0 ? c->completed_at_ms : env->occurred_at_ms;
        const char *params[] = {c->campaign_id, env->org_id, num(&version, at)};
        return exec(conn, campaign_completed_sql, CC_ARRAY_SIZE(params), params, NULL);
}

/* ---- calls (cc.calls.v1) ---- */

/* status, agent, queue and hold follow the newest change (status_ms); facts that never change
 * (direction, numbers, campaign, start) fill what is still unknown, even on an ended row, so the
 * row is the same whichever of call.started and call.ended came first. */
static const char call_started_sql[] =
    "INSERT INTO calls AS c (id, org_id, direction, status, from_number, to_number, agent_id, "
    "queue_id, campaign_id, started_at, status_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (id) DO UPDATE SET "
    "direction = CASE WHEN c.direction = '' THEN EXCLUDED.direction ELSE c.direction END, "
    "from_number = CASE WHEN c.from_number = '' THEN EXCLUDED.from_number ELSE c.from_number END, "
    "to_number = CASE WHEN c.to_number = '' THEN EXCLUDED.to_number ELSE c.to_number END, "
    "campaign_id = CASE WHEN c.campaign_id = '' THEN EXCLUDED.campaign_id ELSE c.campaign_id END, "
    "started_at = COALESCE(c.started_at, EXCLUDED.started_at), "
    "status = CASE WHEN NOT c.ended AND c.status_ms < EXCLUDED.status_ms "
    "THEN EXCLUDED.status ELSE c.status END, "
    "agent_id = CASE WHEN NOT c.ended AND c.status_ms < EXCLUDED.status_ms "
    "THEN EXCLUDED.agent_id ELSE c.agent_id END, "
    "queue_id = CASE WHEN NOT c.ended AND c.status_ms < EXCLUDED.status_ms "
    "THEN EXCLUDED.queue_id ELSE c.queue_id END, "
    "status_ms = CASE WHEN NOT c.ended THEN GREATEST(c.status_ms, EXCLUDED.status_ms) "
    "ELSE c.status_ms END "
    "WHERE c.org_id = EXCLUDED.org_id";

static const char call_updated_sql[] =
    "INSERT INTO calls AS c (id, org_id, status, agent_id, queue_id, on_hold, status_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (id) DO UPDATE SET status = COALESCE(NULLIF(EXCLUDED.status, ''), c.status), "
    "agent_id = EXCLUDED.agent_id, "
    "queue_id = EXCLUDED.queue_id, on_hold = EXCLUDED.on_hold, status_ms = EXCLUDED.status_ms "
    "WHERE NOT c.ended AND c.status_ms < EXCLUDED.status_ms AND c.org_id = EXCLUDED.org_id";

/* The answer time is a fact (kept once known); being answered puts the call IN_PROGRESS with its
 * agent if nothing newer has been seen. */
static const char call_answered_sql[] =
    "INSERT INTO calls AS c (id, org_id, status, agent_id, queue_id, answered_at, status_ms) "
    "VALUES ($1, $2, 'IN_PROGRESS', $3, $4, $5, $6) "
    "ON CONFLICT (id) DO UPDATE SET answered_at = COALESCE(c.answered_at, EXCLUDED.answered_at), "
    "status = CASE WHEN c.status_ms < EXCLUDED.status_ms THEN EXCLUDED.status ELSE c.status END, "
    "agent_id = CASE WHEN c.status_ms < EXCLUDED.status_ms "
    "THEN EXCLUDED.agent_id ELSE c.agent_id END, "
    "queue_id = CASE WHEN c.status_ms < EXCLUDED.status_ms "
    "THEN EXCLUDED.queue_id ELSE c.queue_id END, "
    "on_hold = CASE WHEN c.status_ms < EXCLUDED.status_ms THEN false ELSE c.on_hold END, "
    "status_ms = GREATEST(c.status_ms, EXCLUDED.status_ms) "
    "WHERE NOT c.ended AND c.org_id = EXCLUDED.org_id";

/* The call's final accounting replaces what the live events said; it applies once (the row
 * returned) and only then are its queue and its rollups written. The queue row keeps the name
 * and threshold of the latest call.ended applied (queues publish no events of their own). */
static const char call_ended_sql[] =
    "WITH c AS ("
    "INSERT INTO calls AS c (id, org_id, direction, status, from_number, to_number, agent_id, "
    "queue_id, campaign_id, started_at, answered_at, ended_at, duration_s, on_hold, ended, "
    "status_ms, wrap_counted) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false, true, $14, $17) "
    "ON CONFLICT (id) DO UPDATE SET "
    "direction = CASE WHEN EXCLUDED.direction <> '' THEN EXCLUDED.direction ELSE c.direction END, "
    "status = EXCLUDED.status, "
    "from_number = CASE WHEN EXCLUDED.from_number <> '' "
    "THEN EXCLUDED.from_number ELSE c.from_number END, "
    "to_number = CASE WHEN EXCLUDED.to_number <> '' THEN EXCLUDED.to_number ELSE c.to_number END, "
    "agent_id = EXCLUDED.agent_id, queue_id = EXCLUDED.queue_id, "
    "campaign_id = CASE WHEN EXCLUDED.campaign_id <> '' "
    "THEN EXCLUDED.campaign_id ELSE c.campaign_id END, "
    "started_at = COALESCE(EXCLUDED.started_at, c.started_at), "
    "answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, "
    "duration_s = EXCLUDED.duration_s, on_hold = false, ended = true, "
    "status_ms = EXCLUDED.status_ms, wrap_counted = c.wrap_counted OR EXCLUDED.wrap_counted "
    "WHERE NOT c.ended AND c.org_id = EXCLUDED.org_id RETURNING 1), "
    "q AS (INSERT INTO queues AS q (id, org_id, name, service_level_seconds) "
    "SELECT $8, $2, $15, COALESCE(NULLIF($16::int, 0), 20) FROM c WHERE $8 <> '' "
    "ON CONFLICT (org_id, id) DO UPDATE SET "
    "name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE q.name END, "
    "service_level_seconds = CASE WHEN $16::int > 0 "
    "THEN EXCLUDED.service_level_seconds ELSE q.service_level_seconds END) "
    "SELECT 1 FROM c";

/* The time that orders an event among the call's others: the payload's, else when it was
 * published. */
static int64_t event_ms(const Cc__Events__V1__Envelope *env, int64_t ms)
{
        return ms > 0 ? ms : env->occurred_at_ms;
}

static int apply_call_started(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CallStarted *e = env->call_started;
        if (!id_ok(e->call_id) || !opt_id_ok(e->agent_id) || !opt_id_ok(e->queue_id) ||
            !opt_id_ok(e->campaign_id) || !time_ok(e->started_at_ms))
                return -EBADMSG;
        struct ts started;
        struct num at;
        const char *params[] = {
            e->call_id,
            env->org_id,
            CC_EVENT_ENUM_NAME(call_direction, e->direction),
            CC_EVENT_ENUM_NAME(call_status, e->status),
            str(e->from_number),
            str(e->to_number),
            str(e->agent_id),
            str(e->queue_id),
            str(e->campaign_id),
            ts(&started, e->started_at_ms),
            num(&at, event_ms(env, e->started_at_ms)),
        };
        return exec(conn, call_started_sql, CC_ARRAY_SIZE(params), params, NULL);
}

static int apply_call_updated(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CallUpdated *e = env->call_updated;
        if (!id_ok(e->call_id) || !opt_id_ok(e->agent_id) || !opt_id_ok(e->queue_id) ||
            !time_ok(e->changed_at_ms))
                return -EBADMSG;
        struct num at;
        const char *params[] = {
            e->call_id,
            env->org_id,
            CC_EVENT_ENUM_NAME(call_status, e->status),
            str(e->agent_id),
            str(e->queue_id),
            e->on_hold ? "true" : "false",
            num(&at, event_ms(env, e->changed_at_ms)),
        };
        return exec(conn, call_updated_sql, CC_ARRAY_SIZE(params), params, NULL);
}

static int apply_call_answered(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CallAnswered *e = env->call_answered;
        if (!id_ok(e->call_id) || !opt_id_ok(e->agent_id) || !opt_id_ok(e->queue_id) ||
            !time_ok(e->answered_at_ms))
                return -EBADMSG;
        int64_t at = event_ms(env, e->answered_at_ms);
        struct ts answered;
        struct num at_s;
        const char *params[] = {
            e->call_id,       env->org_id,       str(e->agent_id),
            str(e->queue_id), ts(&answered, at), num(&at_s, at),
        };
        return exec(conn, call_answered_sql, CC_ARRAY_SIZE(params), params, NULL);
}

static int apply_call_ended(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CallEnded *e = env->call_ended;
        if (!id_ok(e->call_id) || !opt_id_ok(e->agent_id) || !opt_id_ok(e->queue_id) ||
            !opt_id_ok(e->campaign_id) || !call_status_terminal(e->status) ||
            !time_ok(e->started_at_ms) || !time_ok(e->answered_at_ms) || !time_ok(e->ended_at_ms))
                return -EBADMSG;
        /* A call with no time at all belongs to no bucket: it can never be counted, so it is a
         * dead letter rather than a message retried for ever. */
        if (e->started_at_ms <= 0 && e->ended_at_ms <= 0 && env->occurred_at_ms <= 0)
                return -EBADMSG;
        struct ts started, answered, ended;
        struct num duration, at, sl;
        const char *params[] = {
            e->call_id,
            env->org_id,
            CC_EVENT_ENUM_NAME(call_direction, e->direction),
            CC_EVENT_ENUM_NAME(call_status, e->status),
            str(e->from_number),
            str(e->to_number),
            str(e->agent_id),
            str(e->queue_id),
            str(e->campaign_id),
            ts(&started, e->started_at_ms),
            ts(&answered, e->answered_at_ms),
            ts(&ended, e->ended_at_ms),
            num(&duration, e->duration_seconds > 0 ? e->duration_seconds : 0),
            num(&at, event_ms(env, e->ended_at_ms)),
            str(e->queue_name),
            num(&sl, e->service_level_seconds > 0 ? e->service_level_seconds : 0),
            /* a call.ended that carries its wrap-up (an older telephony's) has no
             * call.wrapped_up to come: one arriving anyway must not add it again */
            e->wrap_up_seconds > 0 && !e->wrap_up_pending ? "t" : "f",
        };
        int rows = 0;
        int r = exec(conn, call_ended_sql, CC_ARRAY_SIZE(params), params, &rows);
        if (r < 0 || rows == 0)
                return r; /* already final: its numbers are in the rollups */
        /* Without a start or an end time the call still belongs to the hour it was reported. */
        Cc__Events__V1__CallEnded acc = *e;
        if (acc.started_at_ms <= 0 && acc.ended_at_ms <= 0)
                acc.started_at_ms = env->occurred_at_ms;
        r = an_rollup_call(conn, env->org_id, &acc);
        return r < 0 ? db_error(conn, r) : 0;
}

/* The wrap-up after a call that ended with wrap_up_pending adds its seconds to the call's rows
 * once, whichever of the two arrives first: the read model's flag guards it, and a row made by
 * this event alone is filled in by the call's other events. */
static const char call_wrapped_sql[] =
    "INSERT INTO calls AS c (id, org_id, wrap_counted) VALUES ($1, $2, true) "
    "ON CONFLICT (id) DO UPDATE SET wrap_counted = true "
    "WHERE NOT c.wrap_counted AND c.org_id = EXCLUDED.org_id RETURNING 1";

static int apply_call_wrapped_up(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__CallWrappedUp *e = env->call_wrapped_up;
        if (!id_ok(e->call_id) || !opt_id_ok(e->agent_id) || !opt_id_ok(e->queue_id) ||
            !opt_id_ok(e->campaign_id) || !time_ok(e->started_at_ms) || !time_ok(e->ended_at_ms))
                return -EBADMSG;
        /* As for call.ended: with no time at all it belongs to no bucket, and the rollup's
         * refusal would be retried for ever, stalling the call's partition behind it. */
        if (e->started_at_ms <= 0 && e->ended_at_ms <= 0 && env->occurred_at_ms <= 0)
                return -EBADMSG;
        const char *params[] = {e->call_id, env->org_id};
        int rows = 0;
        int r = exec(conn, call_wrapped_sql, CC_ARRAY_SIZE(params), params, &rows);
        if (r < 0 || rows == 0)
                return r; /* counted already */
        Cc__Events__V1__CallWrappedUp acc = *e;
        if (acc.started_at_ms <= 0 && acc.ended_at_ms <= 0)
                acc.started_at_ms = env->occurred_at_ms;
        r = an_rollup_wrap_up(conn, env->org_id, &acc);
        return r < 0 ? db_error(conn, r) : 0;
}

/* ---- agents (cc.agents.v1) ---- */

static const char agent_sql[] =
    "INSERT INTO agents AS a (id, org_id, user_id, status, since, load, capacity, status_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, status = EXCLUDED.status, "
    "since = EXCLUDED.since, load = EXCLUDED.load, capacity = EXCLUDED.capacity, "
    "status_ms = EXCLUDED.status_ms "
    "WHERE a.status_ms < EXCLUDED.status_ms AND a.org_id = EXCLUDED.org_id";

/* The presence row follows the newest change; the time the previous status lasted goes to the
 * rollups from every change, whatever order they come in (each interval is its own). */
static int apply_agent_status(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env)
{
        const Cc__Events__V1__AgentStatusChanged *e = env->agent_status_changed;
        const char *status = CC_EVENT_ENUM_NAME(agent_status, e->status);
        if (!id_ok(e->agent_id) || !id_ok(e->user_id) || !*status || !time_ok(e->changed_at_ms))
                return -EBADMSG;
        int64_t at = event_ms(env, e->changed_at_ms);
        struct ts since;
        struct num load, capacity, at_s;
        const char *params[] = {
            e->agent_id,
            env->org_id,
            e->user_id,
            status,
            ts(&since, at),
            num(&load, e->current_load > 0 ? e->current_load : 0),
            num(&capacity, e->max_capacity > 0 ? e->max_capacity : 1),
            num(&at_s, at),
        };
        int r = exec(conn, agent_sql, CC_ARRAY_SIZE(params), params, NULL);
        if (r < 0)
                return r;
        const char *previous = CC_EVENT_ENUM_NAME(agent_status, e->previous_status);
        if (!*previous || e->previous_duration_seconds <= 0)
                return 0; /* the first status, or nothing to account */
        r = an_rollup_agent_time(conn, env->org_id, e->user_id, previous,
                                 at - (int64_t)e->previous_duration_seconds * 1000, at);
        return r < 0 ? db_error(conn, r) : 0;
}

/* ---- dispatch ---- */

static const struct {
        const char *type;
        Cc__Events__V1__Envelope__PayloadCase payload;
        int (*apply)(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env);
} appliers[] = {
    {"user.created", CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED, apply_user},
    {"user.updated", CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED, apply_user},
    {"campaign.created", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED, apply_campaign},
    {"campaign.updated", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_UPDATED, apply_campaign},
    {"campaign.completed", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_COMPLETED,
     apply_campaign_completed},
    {"call.started", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED, apply_call_started},
    {"call.updated", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED, apply_call_updated},
    {"call.answered", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED, apply_call_answered},
    {"call.ended", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED, apply_call_ended},
    {"call.wrapped_up", CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_WRAPPED_UP, apply_call_wrapped_up},
    {"agent.status_changed", CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED,
     apply_agent_status},
};

int an_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env, void *userdata)
{
        (void)userdata;
        for (size_t i = 0; i < CC_ARRAY_SIZE(appliers); i++) {
                if (strcmp(env->type, appliers[i].type) != 0)
                        continue;
                /* The payload must be the type's: protobuf-c leaves the others' pointers unset. */
                if (env->payload_case != appliers[i].payload || !id_ok(env->org_id) ||
                    !time_ok(env->occurred_at_ms))
                        return -EBADMSG;
                int r = appliers[i].apply(conn, env);
                if (r == -EBADMSG)
                        cc_log_debug(NULL, "analytics: %s %s rejected", env->type, env->event_id);
                return r;
        }
        /* team.*, call.recording_ready, call.transcribed, sms.* and types not known yet */
        return 0;
}
