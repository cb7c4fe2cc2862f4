/* The rollups every endpoint answers from (migrations/001_analytics.sql): a call's final
 * accounting added to call_rollups, and an agent's time in a status added to agent_rollups, at
 * the minute, quarter hour, hour and day (UTC) that contain it. Both run inside the consumer's
 * transaction that records the event id, so each adds its numbers exactly once. Each is one
 * statement with a fixed text, so the pool's prepared-statement cache serves every call. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"

#define MINUTE_MS  60000LL
#define QUARTER_MS 900000LL
#define HOUR_MS    3600000LL
#define DAY_MS     86400000LL
/* agent.status_changed reports how long the previous status lasted; an agent left OFFLINE over
 * a holiday would otherwise write a minute row for every minute of it. Older time is dropped. */
#define AGENT_SPAN_MAX_MS (31 * DAY_MS)

/* Default service-level threshold when the event carries none (an older producer, or a queue
 * without a setting): the industry's usual 20 seconds, as queues.service_level_seconds. */
#define DEFAULT_SL_S 20

static const struct {
        char grain;
        int64_t ms;
} grains[] = {{'m', MINUTE_MS}, {'q', QUARTER_MS}, {'h', HOUR_MS}, {'d', DAY_MS}};

/* Quarter hours serve hourly periods in zones whose offset is not whole hours (India +05:30,
 * Nepal +05:45): every zone's hour starts on a UTC quarter hour, so such an hour is four
 * quarter rows rather than sixty minute rows, and they stay when old minute rows are dropped
 * (docs/analytics.md, retention). Unix time has no leap seconds, so every UTC minute, hour and day
 * is a fixed number of ms from the epoch and a bucket is a floor division (floored also before
 * 1970). */
static int64_t bucket_start(int64_t ms, int64_t size)
{
        int64_t q = ms / size;
        if (ms % size < 0)
                q--;
        return q * size;
}

static int64_t floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;
        return a % b < 0 ? q - 1 : q;
}

/* ---- calls ---- */

enum {
        C_CALLS,
        C_INBOUND,
        C_OUTBOUND,
        C_COMPLETED,
        C_FAILED,
        C_NO_ANSWER,
        C_BUSY,
        C_CANCELED,
        C_ANSWERED,
        C_HANDLED,
        C_QUEUED,
        C_QUEUED_ANSWERED,
        C_WITHIN_SL,
        C_ABANDONED,
        C_DURATION_SUM,
        C_COMPLETED_DURATION_SUM,
        C_TALK_SUM,
        C_HOLD_SUM,
        C_WRAP_SUM,
        C_ANSWERED_WAIT_SUM,
        C_N
};

/* Rows of the call: the organization always, its agent, queue and campaign when it has one,
 * each at the four grains; and for a campaign call an agent handled, the agent within the
 * campaign ('x', "<campaign>/<agent>", by day only: an agent's own campaign totals). Rows are
 * locked in one fixed order (dim, dim_id, grain) so two consumers adding to the same rows never
 * deadlock. */
static const char call_sql[] =
    "INSERT INTO call_rollups AS r (org_id, dim, dim_id, grain, bucket, calls, inbound, outbound, "
    "completed, failed, no_answer, busy, canceled, answered, handled, queued, queued_answered, "
    "within_sl, abandoned, duration_sum, completed_duration_sum, talk_sum, hold_sum, wrap_sum, "
    "answered_wait_sum) "
    "SELECT $1::uuid, d.dim, d.dim_id, g.grain, g.bucket, $9::int, $10::int, $11::int, "
    "$12::int, $13::int, $14::int, $15::int, $16::int, $17::int, $18::int, $19::int, $20::int, "
    "$21::int, $22::int, $23::bigint, $24::bigint, $25::bigint, $26::bigint, $27::bigint, "
    "$28::bigint "
    "FROM (VALUES ('o'::\"char\", ''::text), ('a', $2::text), ('q', $3::text), ('c', $4::text), "
    "('x', CASE WHEN $2 <> '' AND $4 <> '' THEN $4 || '/' || $2 ELSE '' END)) "
    "AS d (dim, dim_id) "
    "CROSS JOIN (VALUES ('m'::\"char\", to_timestamp($5::bigint)), "
    "('q', to_timestamp($6::bigint)), ('h', to_timestamp($7::bigint)), "
    "('d', to_timestamp($8::bigint))) AS g (grain, bucket) "
    "WHERE (d.dim = 'o' OR d.dim_id <> '') AND (d.dim <> 'x' OR g.grain = 'd') "
    "ORDER BY d.dim, d.dim_id, g.grain "
    "ON CONFLICT (org_id, dim, dim_id, grain, bucket) DO UPDATE SET "
    "calls = r.calls + EXCLUDED.calls, inbound = r.inbound + EXCLUDED.inbound, "
    "outbound = r.outbound + EXCLUDED.outbound, completed = r.completed + EXCLUDED.completed, "
    "failed = r.failed + EXCLUDED.failed, no_answer = r.no_answer + EXCLUDED.no_answer, "
    "busy = r.busy + EXCLUDED.busy, canceled = r.canceled + EXCLUDED.canceled, "
    "answered = r.answered + EXCLUDED.answered, handled = r.handled + EXCLUDED.handled, "
    "queued = r.queued + EXCLUDED.queued, "
    "queued_answered = r.queued_answered + EXCLUDED.queued_answered, "
    "within_sl = r.within_sl + EXCLUDED.within_sl, abandoned = r.abandoned + EXCLUDED.abandoned, "
    "duration_sum = r.duration_sum + EXCLUDED.duration_sum, "
    "completed_duration_sum = r.completed_duration_sum + EXCLUDED.completed_duration_sum, "
    "talk_sum = r.talk_sum + EXCLUDED.talk_sum, hold_sum = r.hold_sum + EXCLUDED.hold_sum, "
    "wrap_sum = r.wrap_sum + EXCLUDED.wrap_sum, "
    "answered_wait_sum = r.answered_wait_sum + EXCLUDED.answered_wait_sum";

/* A negative duration is a producer's bug; it must not subtract from other calls' sums. */
static int64_t secs(int32_t v)
{
        return v > 0 ? v : 0;
}

static bool set(const char *s)
{
        return s && *s;
}

static void count_call(const Cc__Events__V1__CallEnded *e, int64_t c[C_N])
{
        memset(c, 0, C_N * sizeof(*c));
        c[C_CALLS] = 1;
        c[C_INBOUND] = e->direction == CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
        c[C_OUTBOUND] = e->direction == CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND;
        switch (e->status) {
        case CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED:
                c[C_COMPLETED] = 1;
                c[C_COMPLETED_DURATION_SUM] = secs(e->duration_seconds);
                break;
        case CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_FAILED:
                c[C_FAILED] = 1;
                break;
        case CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_NO_ANSWER:
                c[C_NO_ANSWER] = 1;
                break;
        case CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_BUSY:
                c[C_BUSY] = 1;
                break;
        case CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_CANCELED:
                c[C_CANCELED] = 1;
                break;
        default:
                break;
        }
        bool answered = e->answered_at_ms > 0;
        bool handled = answered && set(e->agent_id);
        bool queued = set(e->queue_id);
        bool queued_answered = queued && handled && !e->abandoned;
        int64_t sl = e->service_level_seconds > 0 ? e->service_level_seconds : DEFAULT_SL_S;
        c[C_ANSWERED] = answered;
        c[C_HANDLED] = handled;
        c[C_QUEUED] = queued;
        c[C_QUEUED_ANSWERED] = queued_answered;
        c[C_WITHIN_SL] = queued_answered && secs(e->queue_wait_seconds) <= sl;
        /* only a queue can be abandoned: the rate's denominator is the queued calls */
        c[C_ABANDONED] = queued && e->abandoned;
        c[C_DURATION_SUM] = secs(e->duration_seconds);
        if (handled) {
                c[C_TALK_SUM] = secs(e->talk_seconds);
                c[C_HOLD_SUM] = secs(e->hold_seconds);
                c[C_WRAP_SUM] = secs(e->wrap_up_seconds);
        }
        if (queued_answered)
                c[C_ANSWERED_WAIT_SUM] = secs(e->queue_wait_seconds);
}

/* Adds counters c to the rows of a call started at at_ms (all its dimensions and grains). */
static int add_call_rows(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         const char *queue_id, const char *campaign_id, int64_t at_ms,
                         const int64_t c[C_N])
{
        char buckets[CC_ARRAY_SIZE(grains)][24], vals[C_N][24];
        for (size_t i = 0; i < CC_ARRAY_SIZE(grains); i++)
                snprintf(buckets[i], sizeof(buckets[i]), "%lld",
                         (long long)(bucket_start(at_ms, grains[i].ms) / 1000));
        for (int i = 0; i < C_N; i++)
                snprintf(vals[i], sizeof(vals[i]), "%lld", (long long)c[i]);
        enum { NFIXED = 4 + CC_ARRAY_SIZE(grains) };
        const char *params[NFIXED + C_N] = {
            org_id,
            set(agent_id) ? agent_id : "",
            set(queue_id) ? queue_id : "",
            set(campaign_id) ? campaign_id : "",
            buckets[0],
            buckets[1],
            buckets[2],
            buckets[3],
        };
        for (int i = 0; i < C_N; i++)
                params[NFIXED + i] = vals[i];
        return cc_db_exec(conn, call_sql, CC_ARRAY_SIZE(params), params, NULL);
}

int an_rollup_call(struct cc_db_conn *conn, const char *org_id, const Cc__Events__V1__CallEnded *e)
{
        /* Bucketed by the start, so a late call.ended still lands where the call began. */
        int64_t at = e->started_at_ms > 0 ? e->started_at_ms : e->ended_at_ms;
        if (at <= 0)
                return -EINVAL;
        int64_t c[C_N];
        count_call(e, c);
        return add_call_rows(conn, org_id, e->agent_id, e->queue_id, e->campaign_id, at, c);
}

int an_rollup_wrap_up(struct cc_db_conn *conn, const char *org_id,
                      const Cc__Events__V1__CallWrappedUp *e)
{
        /* Only a call an agent took has a wrap-up, and it belongs with the call's talk and hold. */
        if (!set(e->agent_id) || e->wrap_up_seconds <= 0)
                return 0;
        int64_t at = e->started_at_ms > 0 ? e->started_at_ms : e->ended_at_ms;
        if (at <= 0)
                return -EINVAL;
        int64_t c[C_N] = {0};
        c[C_WRAP_SUM] = e->wrap_up_seconds;
        return add_call_rows(conn, org_id, e->agent_id, e->queue_id, e->campaign_id, at, c);
}

/* ---- agent time ---- */

static const char *const agent_statuses[] = {"AVAILABLE", "BUSY",     "WRAP_UP",
                                             "BREAK",     "TRAINING", "OFFLINE"};

/* The organization's total agent time: every slice is added under the agent's user id and
 * again under this one, so an organization-wide read is a scan of one user's rows rather than of
 * every agent's. No user has it (the writer refuses it as an agent's id). */
#define ORG_TOTAL_USER "00000000-0000-0000-0000-000000000000"

/* $3 picks the column (agent_statuses' order); every row of the interval goes to the same one.
 * Rows come from three parallel arrays: grain, bucket (epoch seconds), seconds, each written for
 * the agent and for the organization's total. Rows are locked in key order (user, grain,
 * bucket), the total's first, so two consumers adding to the same rows never deadlock. */
static const char agent_sql[] =
    "INSERT INTO agent_rollups AS r (org_id, user_id, grain, bucket, available_s, busy_s, "
    "wrap_up_s, break_s, training_s, offline_s) "
    "SELECT $1::uuid, u.id, x.grain, to_timestamp(x.bucket), "
    "CASE WHEN $3::int = 0 THEN x.s ELSE 0 END, CASE WHEN $3::int = 1 THEN x.s ELSE 0 END, "
    "CASE WHEN $3::int = 2 THEN x.s ELSE 0 END, CASE WHEN $3::int = 3 THEN x.s ELSE 0 END, "
    "CASE WHEN $3::int = 4 THEN x.s ELSE 0 END, CASE WHEN $3::int = 5 THEN x.s ELSE 0 END "
    "FROM unnest($4::\"char\"[], $5::bigint[], $6::bigint[]) AS x (grain, bucket, s) "
    "CROSS JOIN (VALUES ($2::uuid), ('" ORG_TOTAL_USER "'::uuid)) AS u (id) "
    "ORDER BY u.id, x.grain, x.bucket "
    "ON CONFLICT (org_id, user_id, grain, bucket) DO UPDATE SET "
    "available_s = r.available_s + EXCLUDED.available_s, busy_s = r.busy_s + EXCLUDED.busy_s, "
    "wrap_up_s = r.wrap_up_s + EXCLUDED.wrap_up_s, break_s = r.break_s + EXCLUDED.break_s, "
    "training_s = r.training_s + EXCLUDED.training_s, "
    "offline_s = r.offline_s + EXCLUDED.offline_s";

/* The whole second nearest to ms (halves up). The seconds credited to [a, b) are the whole
 * seconds between round(a) and round(b): consecutive intervals and the pieces of one interval
 * telescope, so no time is lost or doubled by rounding, and a minute never holds more than 60. */
static int64_t round_s(int64_t ms)
{
        return floor_div(ms + 500, 1000);
}

static void array_sep(struct cc_strbuf *b)
{
        cc_strbuf_puts(b, b->len ? "," : "{");
}

int an_rollup_agent_time(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                         const char *status, int64_t from_ms, int64_t to_ms)
{
        int col = -1;
        for (size_t i = 0; status && i < CC_ARRAY_SIZE(agent_statuses); i++)
                if (strcmp(status, agent_statuses[i]) == 0)
                        col = (int)i;
        if (col < 0)
                return -EINVAL;
        /* The total's id as an agent's would add its time to the total twice (and the statement
         * would update one row twice): a permanent fault of the event, not a retryable one. */
        if (!user_id || strcmp(user_id, ORG_TOTAL_USER) == 0)
                return -EBADMSG;
        if (to_ms - from_ms > AGENT_SPAN_MAX_MS)
                from_ms = to_ms - AGENT_SPAN_MAX_MS;
        if (round_s(to_ms) <= round_s(from_ms))
                return 0;

        struct cc_strbuf g = {0}, bk = {0}, s = {0};
        for (size_t i = 0; i < CC_ARRAY_SIZE(grains); i++) {
                int64_t size = grains[i].ms;
                for (int64_t b = bucket_start(from_ms, size); b < to_ms; b += size) {
                        int64_t lo = b > from_ms ? b : from_ms;
                        int64_t hi = b + size < to_ms ? b + size : to_ms;
                        int64_t n = round_s(hi) - round_s(lo);
                        if (n <= 0)
                                continue;
                        array_sep(&g);
                        cc_strbuf_printf(&g, "%c", grains[i].grain);
                        array_sep(&bk);
                        cc_strbuf_printf(&bk, "%lld", (long long)(b / 1000));
                        array_sep(&s);
                        cc_strbuf_printf(&s, "%lld", (long long)n);
                }
        }
        cc_strbuf_puts(&g, "}");
        cc_strbuf_puts(&bk, "}");
        cc_strbuf_puts(&s, "}");
        char col_s[12];
        snprintf(col_s, sizeof(col_s), "%d", col);
        const char *params[] = {org_id, user_id, col_s, g.data, bk.data, s.data};
        int r = cc_db_exec(conn, agent_sql, CC_ARRAY_SIZE(params), params, NULL);
        cc_strbuf_fini(&g);
        cc_strbuf_fini(&bk);
        cc_strbuf_fini(&s);
        return r;
}

/* ---- retention ---- */

int64_t an_minutes_from_ms(int64_t now_ms)
{
        if (an_cfg.minute_retention_days <= 0)
                return INT64_MIN;
        /* From a quarter-hour boundary: the quarter rows then cover everything before it. */
        return bucket_start(now_ms - an_cfg.minute_retention_days * DAY_MS, QUARTER_MS);
}

/* Batches through the partial indexes on minute rows (migration 004), so each statement's cost
 * and locks stay bounded however much is due; at most DROP_MAX_ROUNDS of them per table and
 * round, so a large backlog (retention just switched on) goes over several rounds rather than
 * holding a connection, and the service's shutdown, for minutes. */
#define DROP_BATCH      10000
#define DROP_BATCH_TEXT "10000"
#define DROP_MAX_ROUNDS 50
static const char *const drop_minutes_sql[] = {
    "DELETE FROM call_rollups WHERE ctid = ANY (ARRAY (SELECT ctid FROM call_rollups "
    "WHERE grain = 'm' AND bucket < to_timestamp($1::bigint) LIMIT " DROP_BATCH_TEXT "))",
    "DELETE FROM agent_rollups WHERE ctid = ANY (ARRAY (SELECT ctid FROM agent_rollups "
    "WHERE grain = 'm' AND bucket < to_timestamp($1::bigint) LIMIT " DROP_BATCH_TEXT "))",
};

long long an_drop_old_minutes(struct cc_db_conn *conn, int64_t now_ms)
{
        int64_t from = an_minutes_from_ms(now_ms);
        if (from == INT64_MIN)
                return 0;
        /* A day below the readers' horizon: a request that fixed its horizon a moment ago, or a
         * replica whose clock is behind, still finds every minute it reads. */
        char before[24];
        snprintf(before, sizeof(before), "%lld", (long long)((from - DAY_MS) / 1000));
        const char *params[] = {before};
        long long total = 0;
        for (size_t t = 0; t < CC_ARRAY_SIZE(drop_minutes_sql); t++) {
                long n;
                int rounds = 0;
                do {
                        PGresult *res = NULL;
                        int r = cc_db_exec(conn, drop_minutes_sql[t], 1, params, &res);
                        if (r < 0)
                                return r;
                        n = strtol(PQcmdTuples(res), NULL, 10);
                        PQclear(res);
                        total += n;
                } while (n == DROP_BATCH && ++rounds < DROP_MAX_ROUNDS);
        }
        return total;
}
