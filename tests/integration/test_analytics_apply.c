/* The analytics consumer's handler (services/analytics/apply.c, rollup.c): events turned into
 * the read model (users, campaigns, calls, agents, queues) and the rollups. Most tests run the
 * handler directly on a migrated schema, the way the consumer runs it (one transaction per
 * event): a call's events in any order, repeated or not, give the same rows; a call.ended
 * counts once, in the buckets of the call's start; the counters of a set of calls match values
 * worked out by hand at every grain and dimension; agent time is split at bucket boundaries
 * without losing seconds to rounding; versions guard users and campaigns; bad events are
 * refused and change nothing. One test goes through the real broker and the service's own
 * consumer, duplicates included. */
#include <ctype.h>
#include <errno.h>

#include "analytics_test.h"
#include "cc/event.h"
#include "cc/kafka.h"

/* 2025-03-10T10:00:00Z, a Monday */
#define T0          1741600800000LL
#define SEC         1000LL
#define MIN         (60 * SEC)
#define HOUR        (60 * MIN)
#define DAY         (24 * HOUR)
#define AT(h, m, s) (T0 + ((h)-10) * HOUR + (m)*MIN + (s)*SEC)

#define ORG     "0a000000-0000-4000-8000-000000000001"
#define ORG2    "0a000000-0000-4000-8000-000000000002"
#define USER_A  "0b000000-0000-4000-8000-00000000000a"
#define USER_B  "0b000000-0000-4000-8000-00000000000b"
#define AGENT_A "0c000000-0000-4000-8000-00000000000a"
#define AGENT_B "0c000000-0000-4000-8000-00000000000b"
/* The user id under which agent_rollups keeps the organization's total (rollup.c). */
#define TOTAL "00000000-0000-0000-0000-000000000000"
#define Q1    "0d000000-0000-4000-8000-000000000001"
#define Q2    "0d000000-0000-4000-8000-000000000002"
#define CAMP  "0e000000-0000-4000-8000-000000000001"

#define ST(x) CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_##x
#define AS(x) CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_##x

/* The handful of calls whose counters are worked out by hand below (their ids are made per
 * test, so the schema of one test never meets another's). */
enum { NCALLS = 9 };
static char call_ids[NCALLS][CC_UUID_LEN + 1];

static void make_calls(struct at_call calls[NCALLS])
{
        for (int i = 0; i < NCALLS; i++)
                cc_uuid_v4(call_ids[i]);
        const struct at_call c[NCALLS] = {
            /* c1: queue 1, answered by A within the threshold (15 <= 20) */
            {.agent = USER_A,
             .queue = Q1,
             .queue_name = "Support",
             .status = ST(COMPLETED),
             .start = AT(10, 0, 10),
             .answer = AT(10, 0, 25),
             .end = AT(10, 5, 25),
             .duration = 300,
             .talk = 280,
             .hold = 20,
             .wrap = 30,
             .wait = 15,
             .sl = 20},
            /* c2: abandoned in queue 1 after 40 s */
            {.queue = Q1,
             .queue_name = "Support",
             .status = ST(COMPLETED),
             .abandoned = true,
             .start = AT(10, 1, 0),
             .end = AT(10, 1, 40),
             .duration = 40,
             .wait = 40,
             .sl = 20},
            /* c3: queue 2 (threshold 30), answered by B after 45 s; starts at 10:59:50, ends at
             * 11:02:35 and belongs to the 10:00 hour */
            {.agent = USER_B,
             .queue = Q2,
             .queue_name = "Sales",
             .status = ST(COMPLETED),
             .start = AT(10, 59, 50),
             .answer = AT(11, 0, 35),
             .end = AT(11, 2, 35),
             .duration = 120,
             .talk = 120,
             .wrap = 10,
             .wait = 45,
             .sl = 30},
            /* c4: campaign call by A, not answered */
            {.agent = USER_A,
             .campaign = CAMP,
             .outbound = true,
             .status = ST(NO_ANSWER),
             .start = AT(11, 15, 0),
             .end = AT(11, 15, 30),
             .duration = 30},
            /* c5: campaign call by B */
            {.agent = USER_B,
             .campaign = CAMP,
             .outbound = true,
             .status = ST(COMPLETED),
             .start = AT(11, 20, 0),
             .answer = AT(11, 20, 10),
             .end = AT(11, 25, 10),
             .duration = 300,
             .talk = 290,
             .hold = 10,
             .wrap = 5},
            /* c6: outbound, busy */
            {.outbound = true,
             .status = ST(BUSY),
             .start = AT(11, 30, 0),
             .end = AT(11, 30, 5),
             .duration = 5},
            /* c7: queue 2 from an older producer (no threshold: 20 applies), answered by A at
             * exactly 20 s */
            {.agent = USER_A,
             .queue = Q2,
             .status = ST(COMPLETED),
             .start = AT(11, 30, 0),
             .answer = AT(11, 30, 20),
             .end = AT(11, 31, 20),
             .duration = 60,
             .talk = 60,
             .wait = 20},
            /* c8: failed */
            {.status = ST(FAILED), .start = AT(11, 40, 0), .end = AT(11, 40, 1), .duration = 1},
            /* c9: canceled while waiting in queue 1, not an abandon */
            {.queue = Q1,
             .queue_name = "Support",
             .status = ST(CANCELED),
             .start = AT(11, 45, 0),
             .end = AT(11, 45, 3),
             .duration = 3,
             .wait = 3,
             .sl = 20},
        };
        for (int i = 0; i < NCALLS; i++) {
                calls[i] = c[i];
                calls[i].id = call_ids[i];
        }
}

/* Every event of the calls, in the order telephony writes them; returns how many. */
static int all_call_events(struct at_event *evs, const char *org, const struct at_call *calls,
                           int ncalls)
{
        int n = 0;
        for (int i = 0; i < ncalls; i++)
                n += at_call_events(evs + n, org, &calls[i]);
        return n;
}

/* A deterministic shuffle (so a failure can be replayed). */
static void shuffle(struct at_event **p, int n, unsigned seed)
{
        for (int i = n - 1; i > 0; i--) {
                seed = seed * 1103515245u + 12345u;
                int j = (int)((seed >> 8) % (unsigned)(i + 1));
                struct at_event *t = p[i];
                p[i] = p[j];
                p[j] = t;
        }
}

static const char counters_sql[] =
    "SELECT concat_ws(' ', calls, inbound, outbound, completed, failed, no_answer, busy, canceled, "
    "answered, handled, queued, queued_answered, within_sl, abandoned, duration_sum, "
    "completed_duration_sum, talk_sum, hold_sum, wrap_sum, answered_wait_sum) FROM call_rollups "
    "WHERE org_id = '" ORG "' AND concat_ws(':', dim, dim_id, grain, "
    "to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')) = $1";

/* The counters of one rollup row, "calls inbound outbound completed failed no_answer busy
 * canceled answered handled queued queued_answered within_sl abandoned duration_sum
 * completed_duration_sum talk_sum hold_sum wrap_sum answered_wait_sum"; "" when there is none.
 * key: "<dim>:<dim_id>:<grain>:<YYYY-MM-DD HH:MI>". */
static void expect_row(struct cc_db_pool *pool, const char *key, const char *want)
{
        char got[256];
        at_value(pool, counters_sql, key, got, sizeof(got));
        ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", key, got, want);
}

static const char dump_calls_sql[] =
    "SELECT id, org_id, direction, status, from_number, to_number, agent_id, queue_id, "
    "campaign_id, started_at, answered_at, ended_at, duration_s, on_hold, ended, status_ms "
    "FROM calls ORDER BY id";
static const char dump_rollups_sql[] =
    "SELECT * FROM call_rollups ORDER BY org_id, dim, dim_id, grain, bucket";
static const char dump_queues_sql[] = "SELECT * FROM queues ORDER BY id";

static char *dump_all(struct cc_db_pool *pool)
{
        char *a = at_dump(pool, dump_calls_sql), *b = at_dump(pool, dump_rollups_sql),
             *c = at_dump(pool, dump_queues_sql);
        char *all = cc_xasprintf("calls:\n%s\nrollups:\n%s\nqueues:\n%s", a, b, c);
        free(a);
        free(b);
        free(c);
        return all;
}

/* Fails with the first difference (the whole dumps are too long for a message). */
static void expect_same(const char *got, const char *want, const char *what)
{
        size_t i = 0;
        while (got[i] && got[i] == want[i])
                i++;
        size_t from = i > 120 ? i - 120 : 0;
        ck_assert_msg(got[i] == want[i], "%s differs at %zu:\n got ...%.240s\nwant ...%.240s", what,
                      i, got + from, want + from);
}

static void truncate_all(struct cc_db_pool *pool)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        cc_test_exec(conn, "TRUNCATE calls, call_rollups, queues", 0, NULL);
        cc_db_release(conn);
}

static long long sql_int(struct cc_db_pool *pool, const char *sql, const char *param)
{
        return cc_test_pool_query_int(pool, sql, param);
}

/* ---- calls ---- */

START_TEST(analytics_apply_call_row_follows_the_call)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        const struct at_call *c = &calls[0]; /* queued, answered by A, held, completed */
        struct at_event evs[8];
        int n = at_call_events(evs, ORG, c);
        ck_assert_int_eq(n, 7);
        const char *row_sql = "SELECT concat_ws(' ', direction, status, agent_id, queue_id, "
                              "on_hold, ended, answered_at IS NOT NULL, from_number) "
                              "FROM calls WHERE id = $1";
        char got[256];

        at_apply_ok(pool, &evs[0]); /* started: in the queue, no agent */
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND QUEUED  " Q1 " f f f +15551230000");
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM call_rollups", NULL), 0);
        at_apply_ok(pool, &evs[1]); /* answered */
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND IN_PROGRESS " USER_A " " Q1 " f f t +15551230000");
        at_apply_ok(pool, &evs[2]); /* updated IN_PROGRESS (same instant) */
        at_apply_ok(pool, &evs[3]); /* on hold */
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND ON_HOLD " USER_A " " Q1 " t f t +15551230000");
        /* A live call is what the dashboard's active-calls index covers. */
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM calls WHERE org_id = $1 AND NOT ended AND "
                                 "status IN ('QUEUED', 'RINGING', 'IN_PROGRESS', 'ON_HOLD')",
                                 ORG),
                         1);
        at_apply_ok(pool, &evs[4]); /* off hold */
        at_apply_ok(pool, &evs[5]); /* hang-up: COMPLETED, not final yet (wrap-up) */
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND COMPLETED " USER_A " " Q1 " f f t +15551230000");
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM call_rollups", NULL), 0);
        at_apply_ok(pool, &evs[6]); /* call.ended: final, counted */
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND COMPLETED " USER_A " " Q1 " f t t +15551230000");
        ck_assert_str_eq(at_value(pool,
                                  "SELECT concat_ws(' ', duration_s, "
                                  "to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), "
                                  "to_char(answered_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), "
                                  "to_char(ended_at AT TIME ZONE 'UTC', 'HH24:MI:SS')) "
                                  "FROM calls WHERE id = $1",
                                  c->id, got, sizeof(got)),
                         "300 10:00:10 10:00:25 10:05:25");
        /* o, a, q: four rows each (minute, quarter hour, hour, day) */
        ck_assert_int_eq(sql_int(pool, "SELECT sum(calls) FROM call_rollups", NULL), 12);
        ck_assert_str_eq(at_value(pool,
                                  "SELECT name || ' ' || service_level_seconds FROM queues "
                                  "WHERE id = $1",
                                  Q1, got, sizeof(got)),
                         "Support 20");

        /* A second call.ended (another event id) for a final call adds nothing. */
        struct at_event again;
        at_ev_call_ended(&again, ORG, c);
        at_apply_ok(pool, &again);
        ck_assert_int_eq(sql_int(pool, "SELECT sum(calls) FROM call_rollups", NULL), 12);
        /* Nor does a late live event move it back. */
        at_apply_ok(pool, &evs[3]);
        at_apply_ok(pool, &evs[0]);
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)),
                         "INBOUND COMPLETED " USER_A " " Q1 " f t t +15551230000");
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_any_order_gives_the_same_rows)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        struct at_event *evs = cc_xcalloc(NCALLS * 7, sizeof(*evs));
        int n = all_call_events(evs, ORG, calls, NCALLS);
        struct at_event **order = cc_xcalloc((size_t)n, sizeof(*order));

        for (int i = 0; i < n; i++)
                at_apply_ok(pool, &evs[i]);
        char *want = dump_all(pool);
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM calls WHERE ended", NULL), NCALLS);

        /* reversed: every call.ended before its call.started */
        truncate_all(pool);
        for (int i = n - 1; i >= 0; i--)
                at_apply_ok(pool, &evs[i]);
        char *got = dump_all(pool);
        expect_same(got, want, "reversed");
        free(got);

        for (unsigned seed = 1; seed <= 3; seed++) {
                truncate_all(pool);
                for (int i = 0; i < n; i++)
                        order[i] = &evs[i];
                shuffle(order, n, seed);
                for (int i = 0; i < n; i++)
                        at_apply_ok(pool, order[i]);
                got = dump_all(pool);
                char what[32];
                snprintf(what, sizeof(what), "shuffled (seed %u)", seed);
                expect_same(got, want, what);
                free(got);
        }

        /* Every event twice (a redelivery that got past the event-id check, or a replay under
         * new ids): the handler alone keeps the call's numbers once. */
        truncate_all(pool);
        for (int i = 0; i < n; i++) {
                at_apply_ok(pool, &evs[i]);
                at_apply_ok(pool, &evs[i]);
        }
        for (int i = 0; i < n; i++)
                at_apply_ok(pool, &evs[i]);
        got = dump_all(pool);
        expect_same(got, want, "duplicated");
        free(got);

        free(want);
        free(order);
        free(evs);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_ended_before_started)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        const struct at_call *c = &calls[4]; /* campaign call by B */
        struct at_event evs[8];
        int n = at_call_events(evs, ORG, c);
        at_apply_ok(pool, &evs[n - 1]); /* call.ended alone */
        char got[256];
        const char *row_sql = "SELECT concat_ws(' ', direction, status, agent_id, campaign_id, "
                              "ended, duration_s, to_char(started_at AT TIME ZONE 'UTC', "
                              "'HH24:MI:SS')) FROM calls WHERE id = $1";
        const char *final_row = "OUTBOUND COMPLETED " USER_B " " CAMP " t 300 11:20:00";
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)), final_row);
        expect_row(pool, "o::h:2025-03-10 11:00", "1 0 1 1 0 0 0 0 1 1 0 0 0 0 300 300 290 10 5 0");
        /* The live events that follow change nothing. */
        for (int i = 0; i < n - 1; i++)
                at_apply_ok(pool, &evs[i]);
        ck_assert_str_eq(at_value(pool, row_sql, c->id, got, sizeof(got)), final_row);
        expect_row(pool, "o::h:2025-03-10 11:00", "1 0 1 1 0 0 0 0 1 1 0 0 0 0 300 300 290 10 5 0");
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM calls", NULL), 1);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_late_ended_lands_in_its_start_bucket)
{
        struct cc_db_pool *pool = at_db_open();
        char id1[CC_UUID_LEN + 1], id2[CC_UUID_LEN + 1];
        cc_uuid_v4(id1);
        cc_uuid_v4(id2);
        /* A call of 10:30 is counted first; a call that started at 10:10 reports its end hours
         * later (a long wrap-up, a consumer that was down): it joins the 10:00 rows. */
        const struct at_call a = {.id = id1,
                                  .status = ST(COMPLETED),
                                  .start = AT(10, 30, 0),
                                  .answer = AT(10, 30, 5),
                                  .end = AT(10, 31, 0),
                                  .duration = 55};
        const struct at_call b = {.id = id2,
                                  .status = ST(FAILED),
                                  .start = AT(10, 10, 0),
                                  .end = AT(13, 0, 0),
                                  .duration = 10200};
        struct at_event ea, eb;
        at_ev_call_ended(&ea, ORG, &a);
        at_apply_ok(pool, &ea);
        expect_row(pool, "o::h:2025-03-10 10:00", "1 1 0 1 0 0 0 0 1 0 0 0 0 0 55 55 0 0 0 0");
        at_ev_call_ended(&eb, ORG, &b);
        at_apply_ok(pool, &eb);
        expect_row(pool, "o::h:2025-03-10 10:00", "2 2 0 1 1 0 0 0 1 0 0 0 0 0 10255 55 0 0 0 0");
        expect_row(pool, "o::m:2025-03-10 10:10", "1 1 0 0 1 0 0 0 0 0 0 0 0 0 10200 0 0 0 0 0");
        expect_row(pool, "o::d:2025-03-10 00:00", "2 2 0 1 1 0 0 0 1 0 0 0 0 0 10255 55 0 0 0 0");
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM call_rollups WHERE bucket >= "
                                 "'2025-03-10T11:00:00Z' AND grain <> 'd'",
                                 NULL),
                         0);
        cc_db_pool_free(pool);
}
END_TEST

/* A producer writing ids in upper case adds to the same rows as one writing them in lower case,
 * the keys the API looks up. */
START_TEST(analytics_apply_upper_case_ids_are_the_same_ids)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        char id[40], agent[40], queue[40];
        snprintf(id, sizeof(id), "%s", calls[0].id);
        snprintf(agent, sizeof(agent), "%s", USER_A);
        snprintf(queue, sizeof(queue), "%s", Q1);
        for (char *p = id; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        for (char *p = agent; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        for (char *p = queue; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        struct at_call upper = calls[0];
        upper.id = id;
        upper.agent = agent;
        upper.queue = queue;
        struct at_event a, b;
        at_ev_call_ended(&a, ORG, &calls[0]);
        at_ev_call_ended(&b, ORG, &upper);
        at_apply_ok(pool, &a);
        at_apply_ok(pool, &b); /* the same call: counted once */
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM calls", NULL), 1);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(calls) FROM call_rollups WHERE dim = 'a' AND "
                                 "grain = 'd' AND dim_id = $1",
                                 USER_A),
                         1);
        /* another call of the same agent and queue, in upper case */
        snprintf(id, sizeof(id), "%s", calls[1].id);
        for (char *p = id; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        upper = calls[1];
        upper.id = id;
        upper.agent = agent;
        upper.queue = queue;
        at_ev_call_ended(&b, ORG, &upper);
        at_apply_ok(pool, &b);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(calls) FROM call_rollups WHERE dim = 'a' AND "
                                 "grain = 'd' AND dim_id = $1",
                                 USER_A),
                         2);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(calls) FROM call_rollups WHERE dim = 'q' AND "
                                 "grain = 'd' AND dim_id = $1",
                                 Q1),
                         2);
        ck_assert_int_eq(
            sql_int(pool, "SELECT count(*) FROM call_rollups WHERE dim_id <> lower(dim_id)", NULL),
            0);
        cc_db_pool_free(pool);
}
END_TEST

/* Abandoning is leaving a queue: a producer's abandoned flag on a call that never entered one
 * must not push the abandonment rate (abandoned / queued) past 100 %. */
START_TEST(analytics_apply_abandoned_needs_a_queue)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        struct at_call c = calls[0];
        c.queue = NULL;
        c.queue_name = NULL;
        c.abandoned = true;
        struct at_event ev;
        at_ev_call_ended(&ev, ORG, &c);
        at_apply_ok(pool, &ev);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT abandoned + queued FROM call_rollups WHERE dim = 'o' "
                                 "AND grain = 'd'",
                                 NULL),
                         0);
        cc_db_pool_free(pool);
}
END_TEST

/* Telephony sends call.ended at the hang-up (the call counts at once) and the agent's wrap-up in
 * call.wrapped_up when it ends: together, in either order and however often delivered, they
 * make exactly the rows one call.ended with the wrap-up in it makes. */
START_TEST(analytics_apply_wrap_up_follows_the_call)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        const struct at_call *c = &calls[0]; /* queued, answered by A, held, wrap-up */
        ck_assert_int_gt(c->wrap, 0);
        struct at_event whole, ended, wrapped, again;
        at_ev_call_ended(&whole, ORG, c);
        at_apply_ok(pool, &whole);
        char *want = at_dump(pool, dump_rollups_sql);
        /* a call.ended that carried its wrap-up (an older telephony's) already counted it */
        struct at_event stray;
        at_ev_call_wrapped_up(&stray, ORG, c);
        at_apply_ok(pool, &stray);
        char *got = at_dump(pool, dump_rollups_sql);
        expect_same(got, want, "a whole call.ended then call.wrapped_up");
        free(got);
        truncate_all(pool);

        at_ev_call_ended_pending(&ended, ORG, c);
        at_ev_call_wrapped_up(&wrapped, ORG, c);
        at_apply_ok(pool, &ended);
        /* counted at the hang-up, the wrap-up not yet */
        expect_row(pool, "o::d:2025-03-10 00:00",
                   "1 1 0 1 0 0 0 0 1 1 1 1 1 0 300 300 280 20 0 15");
        at_apply_ok(pool, &wrapped);
        got = at_dump(pool, dump_rollups_sql);
        expect_same(got, want, "call.ended then call.wrapped_up");
        free(got);
        /* the same wrap-up again, under another event id: nothing more */
        at_ev_call_wrapped_up(&again, ORG, c);
        at_apply_ok(pool, &again);
        got = at_dump(pool, dump_rollups_sql);
        expect_same(got, want, "call.wrapped_up twice");
        free(got);
        truncate_all(pool);

        /* the wrap-up first */
        at_apply_ok(pool, &wrapped);
        at_apply_ok(pool, &ended);
        got = at_dump(pool, dump_rollups_sql);
        expect_same(got, want, "call.wrapped_up then call.ended");
        free(got);
        free(want);
        cc_db_pool_free(pool);
}
END_TEST

/* A call.wrapped_up with no time at all (not the call's start or end, not the envelope's)
 * belongs to no bucket: like such a call.ended it is a dead letter, not a message retried for
 * ever behind which the call's partition stalls. */
START_TEST(analytics_apply_wrap_up_without_time_is_a_dead_letter)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        const struct at_call *c = &calls[0];
        ck_assert_int_gt(c->wrap, 0);
        struct at_event ev;
        at_ev_call_wrapped_up(&ev, ORG, c);
        ev.call_wrapped_up.started_at_ms = 0;
        ev.call_wrapped_up.ended_at_ms = 0;
        ev.env.occurred_at_ms = 0;
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT (SELECT count(*) FROM calls) + (SELECT count(*) FROM "
                                 "call_rollups)",
                                 NULL),
                         0);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_rollup_counters)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        struct at_event *evs = cc_xcalloc(NCALLS * 7, sizeof(*evs));
        int n = all_call_events(evs, ORG, calls, NCALLS);
        for (int i = 0; i < n; i++)
                at_apply_ok(pool, &evs[i]);
        free(evs);

        /* calls in out compl fail noans busy canc answ hand queued q_ans within aband dur
         * compl_dur talk hold wrap ans_wait */
        expect_row(pool, "o::d:2025-03-10 00:00",
                   "9 6 3 5 1 1 1 1 4 4 5 3 2 1 859 820 750 30 45 80");
        expect_row(pool, "o::h:2025-03-10 10:00",
                   "3 3 0 3 0 0 0 0 2 2 3 2 1 1 460 460 400 20 40 60");
        expect_row(pool, "o::h:2025-03-10 11:00",
                   "6 3 3 2 1 1 1 1 2 2 2 1 1 0 399 360 350 10 5 20");
        expect_row(pool, "o::m:2025-03-10 10:59",
                   "1 1 0 1 0 0 0 0 1 1 1 1 0 0 120 120 120 0 10 45");
        expect_row(pool, "o::m:2025-03-10 11:30", "2 1 1 1 0 0 1 0 1 1 1 1 1 0 65 60 60 0 0 20");
        expect_row(pool, "o::m:2025-03-10 11:00", ""); /* c3 ended in it, but began before */
        /* c6, c7 and c8 (11:40) */
        expect_row(pool, "o::q:2025-03-10 11:30", "3 2 1 1 1 0 1 0 1 1 1 1 1 0 66 60 60 0 0 20");
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM call_rollups WHERE dim = 'o' AND grain = "
                                 "'m'",
                                 NULL),
                         8);
        expect_row(pool, "a:" USER_A ":d:2025-03-10 00:00",
                   "3 2 1 2 0 1 0 0 2 2 2 2 2 0 390 360 340 20 30 35");
        expect_row(pool, "a:" USER_A ":h:2025-03-10 11:00",
                   "2 1 1 1 0 1 0 0 1 1 1 1 1 0 90 60 60 0 0 20");
        expect_row(pool, "a:" USER_B ":d:2025-03-10 00:00",
                   "2 1 1 2 0 0 0 0 2 2 1 1 0 0 420 420 410 10 15 45");
        expect_row(pool, "a:" USER_B ":h:2025-03-10 10:00",
                   "1 1 0 1 0 0 0 0 1 1 1 1 0 0 120 120 120 0 10 45");
        expect_row(pool, "q:" Q1 ":d:2025-03-10 00:00",
                   "3 3 0 2 0 0 0 1 1 1 3 1 1 1 343 340 280 20 30 15");
        expect_row(pool, "q:" Q2 ":d:2025-03-10 00:00",
                   "2 2 0 2 0 0 0 0 2 2 2 2 1 0 180 180 180 0 10 65");
        expect_row(pool, "c:" CAMP ":d:2025-03-10 00:00",
                   "2 0 2 1 0 1 0 0 1 1 0 0 0 0 330 300 290 10 5 0");
        expect_row(pool, "c:" CAMP ":m:2025-03-10 11:15",
                   "1 0 1 0 0 1 0 0 0 0 0 0 0 0 30 0 0 0 0 0");
        /* each agent's own calls in the campaign, by day only: c4 (A), c5 (B) */
        expect_row(pool, "x:" CAMP "/" USER_A ":d:2025-03-10 00:00",
                   "1 0 1 0 0 1 0 0 0 0 0 0 0 0 30 0 0 0 0 0");
        expect_row(pool, "x:" CAMP "/" USER_B ":d:2025-03-10 00:00",
                   "1 0 1 1 0 0 0 0 1 1 0 0 0 0 300 300 290 10 5 0");
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM call_rollups WHERE dim = 'x'", NULL),
                         2);
        /* Calls without an agent, queue or campaign have no row of that dimension. */
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM call_rollups WHERE dim <> 'o' AND "
                                 "dim_id = ''",
                                 NULL),
                         0);
        /* Minutes add up to quarters, hours and days, in every dimension. */
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM (SELECT dim, dim_id FROM (SELECT dim, "
                                 "dim_id, grain, sum(calls) AS n, sum(duration_sum) AS d, "
                                 "sum(talk_sum) AS t FROM call_rollups GROUP BY 1, 2, 3) x "
                                 "GROUP BY dim, dim_id HAVING count(DISTINCT (n, d, t)) <> 1) y",
                                 NULL),
                         0);
        /* Queues as the calls named them; an event without a threshold keeps the known one. */
        char got[128];
        ck_assert_str_eq(at_value(pool,
                                  "SELECT string_agg(name || ':' || service_level_seconds, ',' "
                                  "ORDER BY id) FROM queues WHERE org_id = $1",
                                  ORG, got, sizeof(got)),
                         "Support:20,Sales:30");
        cc_db_pool_free(pool);
}
END_TEST

/* ---- agents ---- */

/* key: "<user id>:<grain>:<bucket>" */
static const char agent_row_sql[] =
    "SELECT concat_ws(' ', available_s, busy_s, wrap_up_s, break_s, training_s, offline_s) "
    "FROM agent_rollups WHERE org_id = '" ORG "' AND concat_ws(':', user_id, grain, "
    "to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')) = $1";

static void expect_user_row(struct cc_db_pool *pool, const char *user, const char *key,
                            const char *want)
{
        char got[128], k[96];
        snprintf(k, sizeof(k), "%s:%s", user, key);
        at_value(pool, agent_row_sql, k, got, sizeof(got));
        ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", k, got, want);
}

static void expect_agent_row(struct cc_db_pool *pool, const char *key, const char *want)
{
        expect_user_row(pool, USER_A, key, want);
}

/* The organization's total rows hold, at every grain and bucket, exactly the sum of its agents'
 * rows: no bucket of an agent without a total, no total without an agent, no counter apart.
 * Returns how many total rows were compared; each grain must have some. */
static const char total_mismatch_sql[] =
    "WITH a AS (SELECT org_id, grain, bucket, sum(available_s) AS av, sum(busy_s) AS bu, "
    "sum(wrap_up_s) AS wr, sum(break_s) AS br, sum(training_s) AS tr, sum(offline_s) AS di "
    "FROM agent_rollups WHERE user_id <> '" TOTAL "' GROUP BY 1, 2, 3), "
    "t AS (SELECT org_id, grain, bucket, available_s AS av, busy_s AS bu, wrap_up_s AS wr, "
    "break_s AS br, training_s AS tr, offline_s AS di FROM agent_rollups WHERE user_id = '" TOTAL
    "') SELECT count(*) FROM a FULL JOIN t USING (org_id, grain, bucket) "
    "WHERE (a.av, a.bu, a.wr, a.br, a.tr, a.di) IS DISTINCT FROM "
    "(t.av, t.bu, t.wr, t.br, t.tr, t.di)";

static void expect_total_is_sum(struct cc_db_pool *pool)
{
        ck_assert_int_eq(sql_int(pool, total_mismatch_sql, NULL), 0);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(DISTINCT grain) FROM agent_rollups WHERE user_id "
                                 "= '" TOTAL "'",
                                 NULL),
                         4);
}

START_TEST(analytics_apply_agent_time_split_at_boundaries)
{
        struct cc_db_pool *pool = at_db_open();
        /* AVAILABLE from 10:58:30.900 to 11:01:10.900 (160 s), reported by the change to BUSY. */
        struct at_event busy, wrap;
        at_ev_agent(&busy, ORG, AGENT_A, USER_A, AS(BUSY), AS(AVAILABLE), 160, AT(11, 1, 10) + 900);
        /* BUSY until 11:05:00.900 (230 s); it arrives first. */
        at_ev_agent(&wrap, ORG, AGENT_A, USER_A, AS(WRAP_UP), AS(BUSY), 230, AT(11, 5, 0) + 900);
        /* Another agent, AVAILABLE from 11:00:00 to 11:02:00 (120 s). */
        struct at_event brk;
        at_ev_agent(&brk, ORG, AGENT_B, USER_B, AS(BREAK), AS(AVAILABLE), 120, AT(11, 2, 0));
        at_apply_ok(pool, &wrap);
        at_apply_ok(pool, &brk);
        at_apply_ok(pool, &busy);

        expect_agent_row(pool, "m:2025-03-10 10:58", "29 0 0 0 0 0");
        expect_agent_row(pool, "m:2025-03-10 10:59", "60 0 0 0 0 0");
        expect_agent_row(pool, "m:2025-03-10 11:00", "60 0 0 0 0 0");
        expect_agent_row(pool, "m:2025-03-10 11:01", "11 49 0 0 0 0");
        expect_agent_row(pool, "m:2025-03-10 11:02", "0 60 0 0 0 0");
        expect_agent_row(pool, "m:2025-03-10 11:05", "0 1 0 0 0 0");
        expect_agent_row(pool, "h:2025-03-10 10:00", "89 0 0 0 0 0");
        expect_agent_row(pool, "h:2025-03-10 11:00", "71 230 0 0 0 0");
        expect_agent_row(pool, "d:2025-03-10 00:00", "160 230 0 0 0 0");
        expect_user_row(pool, USER_B, "m:2025-03-10 11:01", "60 0 0 0 0 0");
        expect_user_row(pool, USER_B, "h:2025-03-10 11:00", "120 0 0 0 0 0");
        /* The organization's total adds both agents up, bucket by bucket. */
        expect_user_row(pool, TOTAL, "m:2025-03-10 10:59", "60 0 0 0 0 0");
        expect_user_row(pool, TOTAL, "m:2025-03-10 11:01", "71 49 0 0 0 0");
        expect_user_row(pool, TOTAL, "m:2025-03-10 11:02", "0 60 0 0 0 0");
        expect_user_row(pool, TOTAL, "h:2025-03-10 10:00", "89 0 0 0 0 0");
        expect_user_row(pool, TOTAL, "h:2025-03-10 11:00", "191 230 0 0 0 0");
        expect_user_row(pool, TOTAL, "d:2025-03-10 00:00", "280 230 0 0 0 0");
        expect_total_is_sum(pool);
        /* The presence row is the newest change, whichever came last. */
        char got[256];
        ck_assert_str_eq(at_value(pool,
                                  "SELECT concat_ws(' ', user_id, status, load, capacity, "
                                  "to_char(since AT TIME ZONE 'UTC', 'HH24:MI:SS.MS')) "
                                  "FROM agents WHERE id = $1",
                                  AGENT_A, got, sizeof(got)),
                         USER_A " WRAP_UP 0 1 11:05:00.900");
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_agent_time_rounding_keeps_totals)
{
        struct cc_db_pool *pool = at_db_open();
        struct cc_db_conn *conn = cc_test_acquire(pool);
        /* 100 breaks of 1.3 s back to back from 10:59:00: 130 s, not 100 (each rounded down)
         * nor 200 (each rounded up), and the split across minutes adds up too. */
        int64_t t = AT(10, 59, 0);
        for (int i = 0; i < 100; i++, t += 1300)
                ck_assert_int_eq(an_rollup_agent_time(conn, ORG, USER_A, "BREAK", t, t + 1300), 0);
        /* An empty or reversed interval adds nothing; an unknown status is refused. */
        ck_assert_int_eq(an_rollup_agent_time(conn, ORG, USER_A, "BREAK", t, t), 0);
        ck_assert_int_eq(an_rollup_agent_time(conn, ORG, USER_A, "BREAK", t, t - 5000), 0);
        ck_assert_int_eq(an_rollup_agent_time(conn, ORG, USER_A, "LUNCH", t - 5000, t), -EINVAL);
        cc_db_release(conn);
        expect_agent_row(pool, "d:2025-03-10 00:00", "0 0 0 130 0 0");
        expect_agent_row(pool, "h:2025-03-10 10:00", "0 0 0 60 0 0");
        expect_agent_row(pool, "h:2025-03-10 11:00", "0 0 0 70 0 0");
        expect_agent_row(pool, "q:2025-03-10 10:45", "0 0 0 60 0 0");
        expect_agent_row(pool, "q:2025-03-10 11:00", "0 0 0 70 0 0");
        expect_agent_row(pool, "m:2025-03-10 11:01", "0 0 0 10 0 0");
        ck_assert_int_eq(
            sql_int(pool, "SELECT max(break_s) FROM agent_rollups WHERE grain = 'm'", NULL), 60);
        expect_user_row(pool, TOTAL, "d:2025-03-10 00:00", "0 0 0 130 0 0");
        expect_total_is_sum(pool);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_agent_time_long_interval_is_clamped)
{
        struct cc_db_pool *pool = at_db_open();
        struct cc_db_conn *conn = cc_test_acquire(pool);
        /* 40 days offline: the last 31 are kept, the older time dropped. */
        ck_assert_int_eq(an_rollup_agent_time(conn, ORG, USER_A, "OFFLINE", T0 - 40 * DAY, T0), 0);
        cc_db_release(conn);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(offline_s) FROM agent_rollups WHERE grain = 'd' "
                                 "AND user_id = $1",
                                 USER_A),
                         31 * 86400);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(offline_s) FROM agent_rollups WHERE grain = 'm' "
                                 "AND user_id = $1",
                                 USER_A),
                         31 * 86400);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(offline_s) FROM agent_rollups WHERE grain = 'h' "
                                 "AND user_id = $1",
                                 TOTAL),
                         31 * 86400);
        expect_total_is_sum(pool);
        char got[64];
        ck_assert_str_eq(at_value(pool,
                                  "SELECT to_char(min(bucket) AT TIME ZONE 'UTC', "
                                  "'YYYY-MM-DD HH24:MI') FROM agent_rollups WHERE grain = 'm'",
                                  NULL, got, sizeof(got)),
                         "2025-02-07 10:00");
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_agent_duplicates_count_once)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_event ev;
        at_ev_agent(&ev, ORG, AGENT_A, USER_A, AS(AVAILABLE), AS(BREAK), 600, AT(12, 10, 0));
        /* Through the consumer's step: the second delivery is recognised by its event id. */
        at_consume(pool, &ev);
        at_consume(pool, &ev);
        expect_agent_row(pool, "h:2025-03-10 12:00", "0 0 0 600 0 0");
        expect_user_row(pool, TOTAL, "h:2025-03-10 12:00", "0 0 0 600 0 0");
        expect_total_is_sum(pool);
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM processed_events", NULL), 1);
        cc_db_pool_free(pool);
}
END_TEST

/* ---- users and campaigns ---- */

START_TEST(analytics_apply_users_newest_version_wins)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_event e1, e2, e3, e4;
        const char *sql = "SELECT concat_ws(' ', org_id, first_name, last_name, role, status, "
                          "version_ms) FROM users WHERE id = $1";
        char got[256];
        at_ev_user(&e1, ORG, false, USER_A, "Ann", "Lee",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 1000);
        at_ev_user(&e3, ORG, true, USER_A, "Anne", "Lee-Smith",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR, 3000);
        at_ev_user(&e2, ORG, true, USER_A, "Annie", "Old",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 2000);
        at_apply_ok(pool, &e1);
        ck_assert_str_eq(at_value(pool, sql, USER_A, got, sizeof(got)),
                         ORG " Ann Lee AGENT ACTIVE 1000");
        at_apply_ok(pool, &e3);
        at_apply_ok(pool, &e2); /* older, late */
        at_apply_ok(pool, &e1); /* replayed */
        ck_assert_str_eq(at_value(pool, sql, USER_A, got, sizeof(got)),
                         ORG " Anne Lee-Smith SUPERVISOR ACTIVE 3000");
        /* Another organization cannot take the user over. */
        at_ev_user(&e4, ORG2, true, USER_A, "Mallory", "X",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_ADMIN, 9000);
        at_apply_ok(pool, &e4);
        ck_assert_str_eq(at_value(pool, sql, USER_A, got, sizeof(got)),
                         ORG " Anne Lee-Smith SUPERVISOR ACTIVE 3000");
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_campaigns_versions_and_completion)
{
        struct cc_db_pool *pool = at_db_open();
        const char *sql = "SELECT concat_ws(' ', name, type, active, completed, version_ms) "
                          "FROM campaigns WHERE id = $1";
        char got[256];
        struct at_event created, renamed, stale, done, reopened;
        at_ev_campaign(&created, ORG, false, CAMP, "Spring", false, 1000);
        at_ev_campaign(&renamed, ORG, true, CAMP, "Spring sale", true, 2000);
        at_ev_campaign(&stale, ORG, true, CAMP, "Old name", false, 1500);
        at_ev_campaign_completed(&done, ORG, CAMP, 3000);
        at_ev_campaign(&reopened, ORG, true, CAMP, "Spring sale", true, 4000);

        at_apply_ok(pool, &created);
        at_apply_ok(pool, &renamed);
        at_apply_ok(pool, &stale);
        ck_assert_str_eq(at_value(pool, sql, CAMP, got, sizeof(got)),
                         "Spring sale OUTBOUND t f 2000");
        at_apply_ok(pool, &done);
        ck_assert_str_eq(at_value(pool, sql, CAMP, got, sizeof(got)),
                         "Spring sale OUTBOUND f t 3000");
        at_apply_ok(pool, &renamed); /* older than the completion */
        ck_assert_str_eq(at_value(pool, sql, CAMP, got, sizeof(got)),
                         "Spring sale OUTBOUND f t 3000");
        at_apply_ok(pool, &reopened); /* started again: running, no longer completed */
        ck_assert_str_eq(at_value(pool, sql, CAMP, got, sizeof(got)),
                         "Spring sale OUTBOUND t f 4000");
        at_apply_ok(pool, &done); /* a completion older than the reopening */
        ck_assert_str_eq(at_value(pool, sql, CAMP, got, sizeof(got)),
                         "Spring sale OUTBOUND t f 4000");

        /* The completion first (another campaign): the campaign's own events still name it and
         * it stays completed. */
        char id2[CC_UUID_LEN + 1];
        cc_uuid_v4(id2);
        struct at_event c2, d2;
        at_ev_campaign_completed(&d2, ORG, id2, 5000);
        at_ev_campaign(&c2, ORG, false, id2, "Autumn", true, 1000);
        at_apply_ok(pool, &d2);
        at_apply_ok(pool, &c2);
        ck_assert_str_eq(at_value(pool, sql, id2, got, sizeof(got)), "Autumn OUTBOUND f t 5000");
        cc_db_pool_free(pool);
}
END_TEST

/* ---- refused and skipped events ---- */

START_TEST(analytics_apply_refuses_bad_events)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        struct at_call c = calls[0];
        struct at_event ev;

        at_ev_call_started(&ev, ORG, &c);
        ev.call_started.call_id = "";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.call_id = "call-1";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.call_id = (char *)c.id;
        ev.call_started.queue_id = "queue-1";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.queue_id = (char *)Q1;
        ev.env.org_id = "org-1";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.env.org_id = ORG;
        ev.call_started.started_at_ms = -5;
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.started_at_ms = 300000000000000LL; /* year 11476 */
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.started_at_ms = c.start;
        /* invalid UTF-8: the database refuses it, permanently */
        ev.call_started.from_number = "+1555\xff\xfe";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_started.from_number = "+15551230000";
        ev.env.type = "call.ended"; /* the payload of another type */
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);

        at_ev_call_ended(&ev, ORG, &c);
        ev.call_ended.status = ST(IN_PROGRESS); /* not a terminal status */
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        ev.call_ended.status = ST(COMPLETED);
        ev.call_ended.agent_id = "agent-a";
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        /* no time at all, not even the envelope's: a dead letter, not a retry for ever */
        at_ev_call_ended(&ev, ORG, &c);
        ev.call_ended.started_at_ms = 0;
        ev.call_ended.answered_at_ms = 0;
        ev.call_ended.ended_at_ms = 0;
        ev.env.occurred_at_ms = 0;
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);

        at_ev_agent(&ev, ORG, AGENT_A, "", AS(BUSY), AS(AVAILABLE), 10, AT(11, 0, 0));
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG); /* no user */
        at_ev_agent(&ev, ORG, AGENT_A, USER_A, AS(UNSPECIFIED), AS(AVAILABLE), 10, AT(11, 0, 0));
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG); /* no status */
        /* The total's own id is no agent's: its time would count in the total twice. */
        at_ev_agent(&ev, ORG, AGENT_A, TOTAL, AS(BUSY), AS(AVAILABLE), 10, AT(11, 0, 0));
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        ck_assert_int_eq(an_rollup_agent_time(conn, ORG, TOTAL, "BUSY", T0, T0 + MIN), -EBADMSG);
        cc_db_release(conn);

        at_ev_user(&ev, ORG, false, "u-1", "A", "B", CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 1);
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        at_ev_user(&ev, ORG, false, USER_A, "A", "B", CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT,
                   1);
        ev.user_created.user = NULL;
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        at_ev_campaign(&ev, ORG, true, "", "X", true, 1);
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);
        at_ev_campaign_completed(&ev, ORG, "camp-1", 1);
        ck_assert_int_eq(at_apply(pool, &ev.env), -EBADMSG);

        /* None of it left a trace. */
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT (SELECT count(*) FROM calls) + (SELECT count(*) FROM "
                                 "call_rollups) + (SELECT count(*) FROM agents) + (SELECT "
                                 "count(*) FROM agent_rollups) + (SELECT count(*) FROM users) + "
                                 "(SELECT count(*) FROM campaigns) + (SELECT count(*) FROM queues)",
                                 NULL),
                         0);
        cc_db_pool_free(pool);
}
END_TEST

/* A queue id another organization's event names first does not take the row from its own
 * organization (whose KPIs by queue would then not know the queue). */
START_TEST(analytics_apply_queue_rows_are_per_organization)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_call calls[NCALLS];
        make_calls(calls);
        struct at_call c = calls[0], d = calls[1];
        c.queue = Q1;
        c.queue_name = "Support";
        d.queue = Q1;
        d.queue_name = "Billing";
        struct at_event ev;
        at_ev_call_ended(&ev, ORG2, &d);
        at_apply_ok(pool, &ev);
        at_ev_call_ended(&ev, ORG, &c);
        at_apply_ok(pool, &ev);
        char buf[64];
        ck_assert_str_eq(
            at_value(pool, "SELECT name FROM queues WHERE org_id = $1", ORG, buf, sizeof(buf)),
            "Support");
        ck_assert_str_eq(
            at_value(pool, "SELECT name FROM queues WHERE org_id = $1", ORG2, buf, sizeof(buf)),
            "Billing");
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(analytics_apply_skips_other_types)
{
        struct cc_db_pool *pool = at_db_open();
        struct at_event ev;
        /* team.*, recordings, transcripts, SMS and types not invented yet are not applied (and
         * not refused: the consumer records them as done). */
        const char *types[] = {"team.created",     "call.recording_ready", "call.transcribed",
                               "sms.received",     "sentiment.analyzed",   "agent.renamed",
                               "something.else.v9"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(types); i++) {
                at_ev_user(&ev, ORG, false, USER_A, "A", "B",
                           CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 1);
                ev.env.type = (char *)types[i];
                ck_assert_msg(at_apply(pool, &ev.env) == 0, "%s", types[i]);
        }
        ck_assert_int_eq(sql_int(pool, "SELECT count(*) FROM users", NULL), 0);
        cc_db_pool_free(pool);
}
END_TEST

/* ---- through the broker ---- */

static void produce(struct cc_kafka_producer *p, const struct at_event *ev, const char *key)
{
        size_t len = 0;
        uint8_t *buf = cc_event_pack(&ev->env, &len);
        const char *topic = cc_event_topic(ev->env.type);
        const struct cc_kafka_header headers[] = {
            {"type", ev->env.type, strlen(ev->env.type)},
            {"event_id", ev->env.event_id, strlen(ev->env.event_id)},
        };
        int r = cc_kafka_produce(p, topic, key, strlen(key), buf, len, headers,
                                 CC_ARRAY_SIZE(headers), NULL);
        free(buf);
        ck_assert_int_eq(r, 0);
}

START_TEST(analytics_apply_through_the_broker_once)
{
        char org[CC_UUID_LEN + 1], user[CC_UUID_LEN + 1], agent[CC_UUID_LEN + 1];
        char camp[CC_UUID_LEN + 1];
        cc_uuid_v4(org);
        cc_uuid_v4(user);
        cc_uuid_v4(agent);
        cc_uuid_v4(camp);
        struct at_call calls[NCALLS];
        make_calls(calls);
        calls[0].agent = user;
        calls[4].agent = user;
        calls[4].campaign = camp;

        /* A user, a campaign, two whole calls and two presence changes, all sent twice (the
         * relay's at-least-once), before the service's consumer has even joined. */
        struct at_event evs[32];
        const char *keys[32];
        int n = 0;
        at_ev_user(&evs[n], org, false, user, "Ann", "Lee",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 1000);
        keys[n++] = user;
        at_ev_campaign(&evs[n], org, false, camp, "Spring", true, 1000);
        keys[n++] = camp;
        for (int c = 0; c < 5; c += 4) {
                int k = at_call_events(&evs[n], org, &calls[c]);
                for (int i = 0; i < k; i++)
                        keys[n + i] = calls[c].id;
                n += k;
        }
        at_ev_agent(&evs[n], org, agent, user, AS(BUSY), AS(AVAILABLE), 90, AT(10, 0, 25));
        keys[n++] = agent;
        at_ev_agent(&evs[n], org, agent, user, AS(WRAP_UP), AS(BUSY), 300, AT(10, 5, 25));
        keys[n++] = agent;

        /* Then, on each aggregate's partition, a marker that leaves a trace: once every
         * marker shows, everything sent before it on its partition has been through (the
         * consumer keeps a partition's order). The markers of the calls are other calls' starts
         * sent under the first calls' keys. */
        struct at_event marks[5];
        const char *mark_keys[5] = {user, camp, agent, calls[0].id, calls[4].id};
        char mark_calls[2][CC_UUID_LEN + 1];
        struct at_call mc[2] = {{.start = AT(12, 0, 0)}, {.start = AT(12, 0, 0)}};
        at_ev_user(&marks[0], org, true, user, "Anna", "Lee",
                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 2000);
        at_ev_campaign(&marks[1], org, true, camp, "Spring 2", true, 2000);
        at_ev_agent(&marks[2], org, agent, user, AS(AVAILABLE), AS(WRAP_UP), 60, AT(10, 6, 25));
        for (int i = 0; i < 2; i++) {
                cc_uuid_v4(mark_calls[i]);
                mc[i].id = mark_calls[i];
                at_ev_call_started(&marks[3 + i], org, &mc[i]);
        }

        struct cc_kafka_producer *p = cc_test_producer("analytics-apply-test", NULL, NULL, NULL);
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < n; i++)
                        produce(p, &evs[i], keys[i]);
        for (int i = 0; i < 5; i++)
                produce(p, &marks[i], mark_keys[i]);
        ck_assert_int_eq(cc_kafka_producer_flush(p, 10000), 0);
        cc_kafka_producer_free(p);

        struct cc_service *svc = at_start();
        struct cc_db_pool *pool = cc_test_pool(at_schema, 1, 10000);
        struct cc_consumer *consumer = cc_service_consumer(svc);
        ck_assert_ptr_nonnull(consumer);
        const char *marks_sql =
            "SELECT (SELECT count(*) FROM users WHERE org_id = $1 AND first_name = 'Anna') + "
            "(SELECT count(*) FROM campaigns WHERE org_id = $1 AND name = 'Spring 2') + "
            "(SELECT count(*) FROM agents WHERE org_id = $1 AND status = 'AVAILABLE') + "
            "(SELECT count(*) FROM calls WHERE org_id = $1 AND NOT ended)";
        bool done = CC_TEST_WAIT(sql_int(pool, marks_sql, org) == 5, 60000, 50);
        ck_assert_msg(done, "markers seen: %lld of 5 (applied %llu, duplicates %llu)",
                      sql_int(pool, marks_sql, org),
                      (unsigned long long)cc_consumer_applied(consumer),
                      (unsigned long long)cc_consumer_duplicates(consumer));
        ck_assert_uint_ge(cc_consumer_duplicates(consumer), (uint64_t)n);

        char got[256];
        ck_assert_str_eq(at_value(pool, "SELECT first_name || ' ' || role FROM users WHERE id = $1",
                                  user, got, sizeof(got)),
                         "Anna AGENT");
        ck_assert_str_eq(
            at_value(pool, "SELECT name FROM campaigns WHERE id = $1", camp, got, sizeof(got)),
            "Spring 2");
        ck_assert_int_eq(
            sql_int(pool, "SELECT count(*) FROM calls WHERE org_id = $1 AND ended", org), 2);
        /* Every event once: one call each in the rollups, each interval's seconds once. */
        ck_assert_str_eq(at_value(pool,
                                  "SELECT concat_ws(' ', calls, completed, handled, talk_sum, "
                                  "wrap_sum) FROM call_rollups WHERE org_id = $1 AND dim = 'o' "
                                  "AND grain = 'd'",
                                  org, got, sizeof(got)),
                         "2 2 2 570 35");
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(calls) FROM call_rollups WHERE org_id = $1 AND dim = "
                                 "'c' AND grain = 'h'",
                                 org),
                         1);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT sum(calls) FROM call_rollups WHERE org_id = $1 AND dim = "
                                 "'a' AND grain = 'm'",
                                 org),
                         2);
        ck_assert_str_eq(at_value(pool,
                                  "SELECT concat_ws(' ', sum(available_s), sum(busy_s), "
                                  "sum(wrap_up_s)) FROM agent_rollups WHERE org_id = $1 AND "
                                  "grain = 'd' AND user_id <> '" TOTAL "'",
                                  org, got, sizeof(got)),
                         "90 300 60");
        ck_assert_str_eq(
            at_value(pool,
                     "SELECT concat_ws(' ', available_s, busy_s, wrap_up_s) FROM "
                     "agent_rollups WHERE org_id = $1 AND grain = 'd' AND user_id = '" TOTAL "'",
                     org, got, sizeof(got)),
            "90 300 60");
        expect_total_is_sum(pool);
        ck_assert_str_eq(
            at_value(pool, "SELECT status FROM agents WHERE id = $1", agent, got, sizeof(got)),
            "AVAILABLE");
        cc_db_pool_free(pool);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("analytics_apply");
        TCase *tc = tcase_create("analytics_apply");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, at_suite_setup, at_suite_teardown);
        tcase_add_test(tc, analytics_apply_call_row_follows_the_call);
        tcase_add_test(tc, analytics_apply_any_order_gives_the_same_rows);
        tcase_add_test(tc, analytics_apply_ended_before_started);
        tcase_add_test(tc, analytics_apply_late_ended_lands_in_its_start_bucket);
        tcase_add_test(tc, analytics_apply_rollup_counters);
        tcase_add_test(tc, analytics_apply_upper_case_ids_are_the_same_ids);
        tcase_add_test(tc, analytics_apply_abandoned_needs_a_queue);
        tcase_add_test(tc, analytics_apply_wrap_up_follows_the_call);
        tcase_add_test(tc, analytics_apply_wrap_up_without_time_is_a_dead_letter);
        tcase_add_test(tc, analytics_apply_agent_time_split_at_boundaries);
        tcase_add_test(tc, analytics_apply_agent_time_rounding_keeps_totals);
        tcase_add_test(tc, analytics_apply_agent_time_long_interval_is_clamped);
        tcase_add_test(tc, analytics_apply_agent_duplicates_count_once);
        tcase_add_test(tc, analytics_apply_users_newest_version_wins);
        tcase_add_test(tc, analytics_apply_campaigns_versions_and_completion);
        tcase_add_test(tc, analytics_apply_refuses_bad_events);
        tcase_add_test(tc, analytics_apply_skips_other_types);
        tcase_add_test(tc, analytics_apply_queue_rows_are_per_organization);
        tcase_add_test(tc, analytics_apply_through_the_broker_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
