/* The analytics API (contract §8 and /api/analytics/kpis) over rows written straight into its
 * read model and rollups, as the consumer would leave them: two organizations, a handful of
 * calls at chosen instants, and every number below worked out by hand from that table. The
 * service runs in-process in a schema of its own per test, without its consumer. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "testlib.h"

#define ORG_A "0a000000-0000-4000-8000-000000000000"
#define ADMIN "0a000000-0000-4000-8000-0000000000ad"
#define SUP   "0a000000-0000-4000-8000-000000000005"
#define ANN   "0a000000-0000-4000-8000-0000000000a1"
#define BOB   "0a000000-0000-4000-8000-0000000000b0"
#define CY    "0a000000-0000-4000-8000-0000000000c1"
#define QA1   "0a000000-0000-4000-8000-00000000001a"
#define QA2   "0a000000-0000-4000-8000-00000000002a"
#define CA1   "0a000000-0000-4000-8000-0000000000ca"
#define CA2   "0a000000-0000-4000-8000-0000000000cb"
#define CA3   "0a000000-0000-4000-8000-0000000000cc"

#define ORG_B "0b000000-0000-4000-8000-000000000000"
#define B_SUP "0b000000-0000-4000-8000-000000000005"
#define ZED   "0b000000-0000-4000-8000-0000000000e1"
#define QB1   "0b000000-0000-4000-8000-00000000001b"
#define CB1   "0b000000-0000-4000-8000-0000000000cb"

static char prefix[48], schema[64];
static struct cc_service_def def;
static struct cc_service *svc;
static struct cc_db_pool *pool;
static struct cc_db_conn *conn;

/* ---- the service and the data ---- */

static void start(void)
{
        cc_test_service_env(0);
        const char *level = getenv("CC_TEST_LOG_LEVEL");
        setenv("CC_LOG_LEVEL", level ? level : "error", 1);
        cc_test_unique(prefix, schema, sizeof(schema));
        def = *analytics_service_def();
        def.name = schema;
        /* the rows are written by the test, not by the consumer */
        def.consume_handler = NULL;
        def.consume_topics = NULL;
        def.nconsume_topics = 0;
        char err[512];
        ck_assert_msg(cc_service_start(&def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        pool = cc_test_pool(schema, 1, 5000);
        conn = cc_test_acquire(pool);
}

static void stop(void)
{
        cc_db_release(conn);
        cc_db_pool_free(pool);
        cc_service_stop(svc);
}

static void sql(const char *q, int n, const char *const *params)
{
        cc_test_exec(conn, q, n, params);
}

static void user(const char *org, const char *id, const char *first, const char *last,
                 const char *role, const char *status, const char *department)
{
        const char *p[] = {id, org, first, last, role, status, department};
        sql("INSERT INTO users (id, org_id, email, first_name, last_name, role, status, "
            "department, version_ms) VALUES ($1, $2, lower($3) || '@example.com', $3, $4, $5, $6, "
            "$7, 1741600000000)",
            7, p);
}

static void campaign(const char *org, const char *id, const char *name, bool active, bool completed,
                     const char *created)
{
        const char *p[] = {id, org, name, active ? "t" : "f", completed ? "t" : "f", created};
        sql("INSERT INTO campaigns (id, org_id, name, type, active, completed, created_at) "
            "VALUES ($1, $2, $3, 'OUTBOUND', $4, $5, $6)",
            6, p);
}

static void queue(const char *org, const char *id, const char *name)
{
        const char *p[] = {id, org, name};
        sql("INSERT INTO queues (id, org_id, name) VALUES ($1, $2, $3)", 3, p);
}

/* One ended call as call.ended would add it: every grain, and every dimension it belongs to. */
struct tcall {
        const char *org, *start, *dir, *status, *agent, *queue, *campaign;
        int duration, talk, hold, wrap, wait;
        bool answered, abandoned, within_sl;
};

static const char *const counters[] = {
    "calls",     "inbound",   "outbound",     "completed",
    "failed",    "no_answer", "busy",         "canceled",
    "answered",  "handled",   "queued",       "queued_answered",
    "within_sl", "abandoned", "duration_sum", "completed_duration_sum",
    "talk_sum",  "hold_sum",  "wrap_sum",     "answered_wait_sum"};

static void add_call(const struct tcall *c)
{
        bool completed = strcmp(c->status, "COMPLETED") == 0;
        bool handled = c->answered && c->agent;
        bool queued_answered = c->queue && handled;
        long long v[] = {1,
                         strcmp(c->dir, "INBOUND") == 0,
                         strcmp(c->dir, "OUTBOUND") == 0,
                         completed,
                         strcmp(c->status, "FAILED") == 0,
                         strcmp(c->status, "NO_ANSWER") == 0,
                         strcmp(c->status, "BUSY") == 0,
                         strcmp(c->status, "CANCELED") == 0,
                         c->answered,
                         handled,
                         c->queue != NULL,
                         queued_answered,
                         c->within_sl,
                         c->abandoned,
                         c->duration,
                         completed ? c->duration : 0,
                         handled ? c->talk : 0,
                         handled ? c->hold : 0,
                         handled ? c->wrap : 0,
                         queued_answered ? c->wait : 0};
        struct cc_strbuf q = {0}, arr = {0};
        cc_strbuf_puts(&q, "INSERT INTO call_rollups AS r (org_id, dim, dim_id, grain, bucket");
        for (size_t i = 0; i < CC_ARRAY_SIZE(counters); i++)
                cc_strbuf_printf(&q, ", %s", counters[i]);
        cc_strbuf_puts(&q, ") SELECT $1::uuid, d.dim::\"char\", d.id, g.grain::\"char\", "
                           "date_bin(g.width::interval, $2::timestamptz, 'epoch')");
        for (size_t i = 0; i < CC_ARRAY_SIZE(counters); i++)
                cc_strbuf_printf(&q, ", ($6::bigint[])[%zu]", i + 1);
        cc_strbuf_puts(&q, " FROM (VALUES ('o', ''), ('a', $3), ('q', $4), ('c', $5), "
                           "('x', $5 || '/' || $3)) AS d(dim, id), "
                           "(VALUES ('m', '1 minute'), ('q', '15 minutes'), ('h', '1 hour'), "
                           "('d', '1 day')) AS g(grain, width) WHERE d.id IS NOT NULL "
                           "AND (d.dim <> 'x' OR g.grain = 'd') "
                           "ON CONFLICT (org_id, dim, dim_id, grain, bucket) DO UPDATE SET ");
        for (size_t i = 0; i < CC_ARRAY_SIZE(counters); i++)
                cc_strbuf_printf(&q, "%s%s = r.%s + EXCLUDED.%s", i ? ", " : "", counters[i],
                                 counters[i], counters[i]);
        cc_strbuf_puts(&arr, "{");
        for (size_t i = 0; i < CC_ARRAY_SIZE(v); i++)
                cc_strbuf_printf(&arr, "%s%lld", i ? "," : "", v[i]);
        cc_strbuf_puts(&arr, "}");
        char *text = cc_strbuf_take(&q), *values = cc_strbuf_take(&arr);
        const char *p[] = {c->org, c->start, c->agent, c->queue, c->campaign, values};
        sql(text, 6, p);
        free(text);
        free(values);
}

/* Seconds an agent spent in a status, in the buckets of `at` at every grain, for the agent and
 * for the organization's total (the nil user id), as the rollup writer adds them. */
static void agent_time(const char *org, const char *user_id, const char *at, const char *column,
                       int seconds)
{
        char q[640], s[16];
        snprintf(s, sizeof(s), "%d", seconds);
        snprintf(q, sizeof(q),
                 "INSERT INTO agent_rollups AS r (org_id, user_id, grain, bucket, %s) "
                 "SELECT $1, u.id, g.grain::\"char\", date_bin(g.width::interval, "
                 "$3::timestamptz, 'epoch'), $4 FROM (VALUES ('m', '1 minute'), "
                 "('q', '15 minutes'), ('h', '1 hour'), ('d', '1 day')) AS g(grain, width) "
                 "CROSS JOIN (VALUES ($2::uuid), "
                 "('00000000-0000-0000-0000-000000000000'::uuid)) AS u(id) "
                 "ON CONFLICT (org_id, user_id, grain, bucket) DO "
                 "UPDATE SET %s = r.%s + EXCLUDED.%s",
                 column, column, column, column);
        const char *p[] = {org, user_id, at, s};
        sql(q, 4, p);
}

static void people(void)
{
        user(ORG_A, ADMIN, "Ada", "Admin", "ADMIN", "ACTIVE", "");
        user(ORG_A, SUP, "Sue", "Visor", "SUPERVISOR", "ACTIVE", "Ops");
        user(ORG_A, ANN, "Ann", "Smith", "AGENT", "ACTIVE", "Sales");
        user(ORG_A, BOB, "Bob", "Jones", "AGENT", "ACTIVE", "");
        user(ORG_A, CY, "Cy", "", "AGENT", "INACTIVE", "");
        user(ORG_B, B_SUP, "Bea", "Boss", "SUPERVISOR", "ACTIVE", "");
        user(ORG_B, ZED, "Zed", "Zero", "AGENT", "ACTIVE", "");
        campaign(ORG_A, CA1, "Spring Sale", true, false, "2025-02-01T00:00:00Z");
        campaign(ORG_A, CA2, "Winter", false, true, "2024-11-01T00:00:00Z");
        campaign(ORG_B, CB1, "B's campaign", true, false, "2025-02-01T00:00:00Z");
        queue(ORG_A, QA1, "Support");
        queue(ORG_A, QA2, "Billing");
        queue(ORG_B, QB1, "B support");
}

/* The calls every fixed-date test reads (times UTC). In New York (UTC-4 from 9 March 2025) c1
 * falls on 9 March and c4 on the 10th; in Kolkata (UTC+5:30) c2 falls on the 11th while c3,
 * half an hour earlier in the same UTC hour, stays on the 10th. */
static const struct tcall fixed_calls[] = {
    /* org, start, dir, status, agent, queue, campaign, dur, talk, hold, wrap, wait, ans, aband, sl
     */
    {ORG_A, "2025-03-10 02:30:00+00", "INBOUND", "COMPLETED", ANN, QA1, CA1, 100, 80, 10, 30, 10,
     true, false, true}, /* c1 */
    {ORG_A, "2025-03-10 18:45:00+00", "INBOUND", "COMPLETED", BOB, QA1, NULL, 200, 150, 20, 40, 30,
     true, false, false}, /* c2: answered after 30 s, past the 20 s threshold */
    {ORG_A, "2025-03-10 18:15:00+00", "INBOUND", "CANCELED", NULL, QA1, NULL, 25, 0, 0, 0, 25,
     false, true, false}, /* c3: abandoned in the queue */
    {ORG_A, "2025-03-11 03:59:00+00", "OUTBOUND", "COMPLETED", ANN, NULL, CA1, 61, 61, 0, 5, 0,
     true, false, false}, /* c4 */
    {ORG_A, "2025-03-11 04:00:00+00", "OUTBOUND", "NO_ANSWER", ANN, NULL, CA1, 30, 0, 0, 0, 0,
     false, false, false}, /* c5 */
    {ORG_A, "2025-03-12 12:00:00+00", "OUTBOUND", "BUSY", NULL, NULL, CA1, 0, 0, 0, 0, 0, false,
     false, false}, /* c6 */
    {ORG_A, "2025-03-17 00:30:00+00", "INBOUND", "COMPLETED", BOB, QA2, NULL, 90, 70, 0, 20, 5,
     true, false, true}, /* c7: Sunday 16 March in New York */
    {ORG_A, "2025-04-01 02:00:00+00", "INBOUND", "FAILED", NULL, NULL, NULL, 0, 0, 0, 0, 0, false,
     false, false}, /* c8: 31 March in New York */
    {ORG_A, "2024-12-30 10:00:00+00", "INBOUND", "COMPLETED", NULL, NULL, NULL, 60, 60, 0, 0, 0,
     true, false, false}, /* c9: ISO week 1 of 2025 */
    {ORG_B, "2025-03-10 12:00:00+00", "INBOUND", "COMPLETED", ZED, QB1, CB1, 1000, 900, 50, 50, 3,
     true, false, true}, /* b1 */
    {ORG_B, "2025-03-11 12:00:00+00", "OUTBOUND", "FAILED", ZED, NULL, NULL, 0, 0, 0, 0, 0, false,
     false, false}, /* b2 */
};

static void load_fixed(void)
{
        people();
        for (size_t i = 0; i < CC_ARRAY_SIZE(fixed_calls); i++)
                add_call(&fixed_calls[i]);
        agent_time(ORG_A, ANN, "2025-03-10 10:00:00+00", "available_s", 600);
        agent_time(ORG_A, ANN, "2025-03-10 11:00:00+00", "break_s", 1000); /* not in occupancy */
        agent_time(ORG_A, BOB, "2025-03-10 19:00:00+00", "available_s", 390);
        agent_time(ORG_A, ANN, "2025-03-11 05:00:00+00", "available_s", 134);
        agent_time(ORG_B, ZED, "2025-03-10 13:00:00+00", "available_s", 5000);
}

static void setup_fixed(void)
{
        start();
        load_fixed();
}

/* ---- requests and checks ---- */

static char *token(const char *role, const char *org, const char *user_id)
{
        return cc_test_token(role, org, user_id, 900);
}

/* GET path (printf-style) with token; asserts the status and returns the JSON body (put it). */
static json_object *get(const char *tok, long want, const char *fmt, ...) CC_PRINTF(3, 4);
static json_object *get(const char *tok, long want, const char *fmt, ...)
{
        char path[1024], url[1200], auth[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", cc_service_port(svc), path);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "");
        const char *hdrs[] = {"Content-Type: application/json", tok ? auth : NULL, NULL};
        struct cc_test_response r;
        cc_test_http("GET", url, NULL, 0, hdrs, &r);
        ck_assert_msg(r.status == want, "GET %s: %ld (want %ld): %s", path, r.status, want, r.body);
        json_object *doc = json_tokener_parse(r.body);
        ck_assert_msg(doc, "GET %s: not JSON: %s", path, r.body);
        cc_test_response_fini(&r);
        return doc;
}

/* A member as text: strings bare, numbers as serialized ("66.67", "50.0"), "null". */
static const char *text(json_object *o, const char *key)
{
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
                      json_object_to_json_string(o));
        if (!v)
                return "null";
        if (json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* Checks "key=value key=value ..." against o (values without spaces; '_' in a value stays). */
static void expect(json_object *o, const char *pairs)
{
        char buf[2048];
        snprintf(buf, sizeof(buf), "%s", pairs);
        char *save = NULL;
        for (char *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(kv, '=');
                ck_assert_msg(eq, "bad expectation %s", kv);
                *eq = '\0';
                const char *got = text(o, kv);
                ck_assert_msg(strcmp(got, eq + 1) == 0, "%s = %s, want %s in %s", kv, got, eq + 1,
                              json_object_to_json_string(o));
        }
}

static json_object *member(json_object *o, const char *key)
{
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v) && v, "no %s in %s", key,
                      json_object_to_json_string(o));
        return v;
}

static json_object *item(json_object *arr, size_t i)
{
        ck_assert_msg(json_object_is_type(arr, json_type_array) &&
                          i < json_object_array_length(arr),
                      "no item %zu in %s", i, json_object_to_json_string(arr));
        return json_object_array_get_idx(arr, i);
}

static size_t length(json_object *arr)
{
        ck_assert(json_object_is_type(arr, json_type_array));
        return json_object_array_length(arr);
}

/* The periods' keys, comma-separated. */
static const char *keys(json_object *arr, const char *key, char *buf, size_t len)
{
        buf[0] = '\0';
        for (size_t i = 0; i < length(arr); i++) {
                size_t n = strlen(buf);
                snprintf(buf + n, len - n, "%s%s", i ? "," : "", text(item(arr, i), key));
        }
        return buf;
}

static void expect_keys(json_object *arr, const char *key, const char *want)
{
        char buf[1024];
        ck_assert_str_eq(keys(arr, key, buf, sizeof(buf)), want);
}

static void expect_detail(json_object *doc, const char *start)
{
        const char *d = text(doc, "detail");
        ck_assert_msg(strncmp(d, start, strlen(start)) == 0, "detail %s, want %s...", d, start);
}

/* ---- /api/analytics/calls ---- */

START_TEST(analytics_api_calls_periods)
{
        char *sup = token("SUPERVISOR", ORG_A, SUP);
        json_object *d =
            get(sup, 200, "/api/analytics/calls?start_date=2025-03-10&end_date=2025-03-12");
        /* an end given as a date includes that day; periods without calls are left out */
        json_object *m = member(d, "metrics");
        expect_keys(m, "period", "2025-03-10,2025-03-11,2025-03-12");
        expect(item(m, 0), "period=2025-03-10 total=3 inbound=3 outbound=0 completed=2 failed=0 "
                           "total_duration=300 avg_duration=150.0 completion_rate=66.67");
        expect(item(m, 1), "total=2 inbound=0 outbound=2 completed=1 total_duration=61 "
                           "avg_duration=61.0 completion_rate=50.0");
        expect(item(m, 2), "total=1 completed=0 failed=0 total_duration=0 avg_duration=0.0 "
                           "completion_rate=0.0");
        ck_assert_int_eq(json_object_object_length(item(m, 0)), 9);
        /* the contract's summary average: all 416 s of duration over the 3 completed calls */
        expect(member(d, "summary"),
               "total_calls=6 completed_calls=3 avg_duration=138.67 completion_rate=50.0");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-10T00:00:00Z&end_date=2025-03-11T00:00:00Z"
                "&group_by=hour");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-03-10 02:00,2025-03-10 18:00");
        expect(item(m, 1), "total=2 completed=1 total_duration=200 avg_duration=200.0 "
                           "completion_rate=50.0");
        expect(member(d, "summary"), "total_calls=3 completed_calls=2 avg_duration=162.5");
        json_object_put(d);

        /* The same window written with an offset, '+' encoded or decoded to a space. */
        const char *starts[] = {"2025-03-10T05:30:00%2B05:30", "2025-03-10T05:30:00+05:30",
                                "2025-03-09T19:00:00-05:00"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(starts); i++) {
                d = get(sup, 200,
                        "/api/analytics/calls?start_date=%s&end_date=2025-03-11T00:00:00.000Z"
                        "&group_by=hour",
                        starts[i]);
                expect_keys(member(d, "metrics"), "period", "2025-03-10 02:00,2025-03-10 18:00");
                json_object_put(d);
        }

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-01&end_date=2025-03-31&group_by=week");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-W11,2025-W12");
        expect(item(m, 0), "total=6 completed=3 total_duration=361 avg_duration=120.33 "
                           "completion_rate=50.0");
        expect(item(m, 1), "total=1 completed=1 total_duration=90");
        json_object_put(d);

        /* 30 December 2024 is in ISO week 1 of 2025; the week is not zero-padded */
        d = get(sup, 200,
                "/api/analytics/calls?start_date=2024-12-23&end_date=2025-01-05&group_by=week");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-W1");
        expect(item(m, 0), "total=1 completed=1 total_duration=60 avg_duration=60.0");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-01&end_date=2025-04-30&group_by=month");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-03,2025-04");
        expect(item(m, 0), "total=7 completed=4 total_duration=451 avg_duration=112.75 "
                           "completion_rate=57.14");
        expect(item(m, 1), "total=1 completed=0 failed=1 completion_rate=0.0");
        json_object_put(d);

        /* default: the 30 days up to now, which hold none of these calls */
        d = get(sup, 200, "/api/analytics/calls?");
        ck_assert_int_eq(length(member(d, "metrics")), 0);
        expect(member(d, "summary"),
               "total_calls=0 completed_calls=0 avg_duration=0.0 completion_rate=0.0");
        json_object_put(d);
        free(sup);
}
END_TEST

START_TEST(analytics_api_calls_time_zones)
{
        char *sup = token("ADMIN", ORG_A, ADMIN);
        json_object *d = get(sup, 200,
                             "/api/analytics/calls?start_date=2025-03-09&end_date=2025-03-12"
                             "&tz=America/New_York");
        json_object *m = member(d, "metrics");
        expect_keys(m, "period", "2025-03-09,2025-03-10,2025-03-11,2025-03-12");
        expect(item(m, 0), "total=1 completed=1 total_duration=100");
        expect(item(m, 1), "total=3 inbound=2 outbound=1 completed=2 total_duration=261 "
                           "avg_duration=130.5 completion_rate=66.67");
        expect(item(m, 2), "total=1 completed=0");
        expect(item(m, 3), "total=1");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-10&end_date=2025-03-12&tz=Asia/Kolkata");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-03-10,2025-03-11,2025-03-12");
        expect(item(m, 0), "total=2 completed=1 total_duration=100 completion_rate=50.0");
        expect(item(m, 1), "total=3 completed=2 total_duration=261 avg_duration=130.5 "
                           "completion_rate=66.67");
        expect(item(m, 2), "total=1 completed=0");
        json_object_put(d);

        /* hours named by Kolkata's clock: c3 at 18:15 UTC is 23:45 there, c2 is the next day */
        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-10&end_date=2025-03-10&tz=Asia/Kolkata"
                "&group_by=hour");
        expect_keys(member(d, "metrics"), "period", "2025-03-10 08:00,2025-03-10 23:00");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-01&end_date=2025-03-31"
                "&tz=America/New_York&group_by=week");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-W10,2025-W11,2025-W14");
        expect(item(m, 1), "total=6 completed=3 total_duration=351");
        json_object_put(d);

        /* the hour that happens twice when clocks go back is one period of two hours; the
         * hour skipped when they go forward is no period at all */
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2024-11-03T00:00:00&end_date=2024-11-03T03:00:00"
                "&tz=America/New_York&group_by=hour");
        json_object *p = member(d, "periods");
        expect_keys(p, "period", "2024-11-03 00:00,2024-11-03 01:00,2024-11-03 02:00");
        expect_keys(p, "start",
                    "2024-11-03T04:00:00.000Z,2024-11-03T05:00:00.000Z,2024-11-03T07:00:00.000Z");
        expect(item(p, 2), "end=2024-11-03T08:00:00.000Z");
        json_object_put(d);
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-09T00:00:00&end_date=2025-03-09T04:00:00"
                "&tz=America/New_York&group_by=hour");
        p = member(d, "periods");
        expect_keys(p, "period", "2025-03-09 00:00,2025-03-09 01:00,2025-03-09 03:00");
        expect_keys(p, "end",
                    "2025-03-09T06:00:00.000Z,2025-03-09T07:00:00.000Z,2025-03-09T08:00:00.000Z");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/calls?start_date=2025-03-01&end_date=2025-04-30"
                "&tz=America/New_York&group_by=month");
        m = member(d, "metrics");
        expect_keys(m, "period", "2025-03");
        expect(item(m, 0), "total=8 completed=4 failed=1");
        json_object_put(d);
        free(sup);
}
END_TEST

/* ---- AGENT callers ---- */

START_TEST(analytics_api_agent_scope)
{
        char *ann = token("AGENT", ORG_A, ANN);
        json_object *d =
            get(ann, 200, "/api/analytics/calls?start_date=2025-03-10&end_date=2025-03-12");
        json_object *m = member(d, "metrics");
        expect_keys(m, "period", "2025-03-10,2025-03-11");
        expect(item(m, 0), "total=1 completed=1 total_duration=100 completion_rate=100.0");
        expect(item(m, 1), "total=2 outbound=2 completed=1 avg_duration=61.0 "
                           "completion_rate=50.0");
        expect(member(d, "summary"),
               "total_calls=3 completed_calls=2 avg_duration=95.5 completion_rate=66.67");
        json_object_put(d);

        d = get(ann, 200, "/api/analytics/agents?start_date=2025-03-01&end_date=2025-03-31");
        ck_assert_int_eq(length(d), 1);
        expect(item(d, 0), "agent_id=" ANN " total_calls=3 completed_calls=2 avg_duration=80.5 "
                           "completion_rate=66.67");
        ck_assert_str_eq(text(item(d, 0), "agent_name"), "Ann Smith");
        json_object_put(d);

        /* KPIs: the agent's own, whatever it asks */
        d = get(ann, 200, "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-12");
        expect(d, "agent_id=" ANN " queue_id=null");
        expect(member(d, "summary"), "total=3 handled=2 aht=93.0 queued=1 asa=10.0 "
                                     "service_level=100.0 abandonment_rate=0.0 "
                                     "available_seconds=734 occupancy=20.22");
        json_object_put(d);
        d = get(ann, 404, "/api/analytics/kpis?agent_id=%s", BOB);
        json_object_put(d);
        d = get(ann, 422, "/api/analytics/kpis?queue_id=%s", QA1);
        expect_detail(d, "queue_id: ");
        json_object_put(d);
        free(ann);
}
END_TEST

/* ---- /api/analytics/agents and /campaigns ---- */

START_TEST(analytics_api_agents_campaigns)
{
        char *sup = token("SUPERVISOR", ORG_A, SUP);
        json_object *d =
            get(sup, 200, "/api/analytics/agents?start_date=2025-03-01&end_date=2025-03-31");
        /* every AGENT of the organization, by name, with or without calls */
        expect_keys(d, "agent_name", "Ann Smith,Bob Jones,Cy");
        expect(item(d, 0), "agent_id=" ANN " total_calls=3 completed_calls=2 avg_duration=80.5 "
                           "completion_rate=66.67");
        expect(item(d, 1), "agent_id=" BOB " total_calls=2 completed_calls=2 avg_duration=145.0 "
                           "completion_rate=100.0");
        expect(item(d, 2), "agent_id=" CY " total_calls=0 completed_calls=0 avg_duration=0.0 "
                           "completion_rate=0.0");
        ck_assert_int_eq(json_object_object_length(item(d, 0)), 6);
        json_object_put(d);

        /* all time, newest campaign first */
        d = get(sup, 200, "/api/analytics/campaigns");
        expect_keys(d, "campaign_name", "Spring Sale,Winter");
        expect(item(d, 0), "campaign_id=" CA1 " total_calls=4 completed_calls=2 active=true "
                           "completion_rate=50.0");
        expect(item(d, 1), "campaign_id=" CA2 " total_calls=0 completed_calls=0 active=false "
                           "completion_rate=0.0");
        ck_assert_int_eq(json_object_object_length(item(d, 0)), 6);
        json_object_put(d);
        free(sup);

        /* an AGENT: every campaign, with its own calls in it (c1, c4, c5 of Spring Sale) */
        char *ann = token("AGENT", ORG_A, ANN), *bob = token("AGENT", ORG_A, BOB);
        d = get(ann, 200, "/api/analytics/campaigns");
        expect_keys(d, "campaign_name", "Spring Sale,Winter");
        expect(item(d, 0), "campaign_id=" CA1 " total_calls=3 completed_calls=2 active=true "
                           "completion_rate=66.67");
        expect(item(d, 1), "total_calls=0");
        json_object_put(d);
        d = get(bob, 200, "/api/analytics/campaigns");
        expect(item(d, 0), "campaign_id=" CA1 " total_calls=0 completed_calls=0");
        json_object_put(d);
        free(ann);
        free(bob);
}
END_TEST

/* ---- /api/analytics/kpis ---- */

START_TEST(analytics_api_kpis)
{
        char *sup = token("SUPERVISOR", ORG_A, SUP);
        json_object *d =
            get(sup, 200, "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-12");
        expect(d, "start_date=2025-03-10T00:00:00.000Z end_date=2025-03-13T00:00:00.000Z "
                  "group_by=day tz=UTC queue_id=null agent_id=null campaign_id=null");
        json_object *p = member(d, "periods");
        expect_keys(p, "period", "2025-03-10,2025-03-11,2025-03-12");
        /* 10 March: c1, c2 handled (120 + 210 s), c1..c3 queued, c1 within 20 s, c3 abandoned;
         * agents on calls 330 s, available 600 + 390 s */
        expect(item(p, 0), "start=2025-03-10T00:00:00.000Z end=2025-03-11T00:00:00.000Z "
                           "total=3 inbound=3 completed=2 canceled=1 answered=2 handled=2 "
                           "aht=165.0 queued=3 queued_answered=2 queue_wait_seconds=40 asa=20.0 "
                           "answered_within_sl=1 service_level=33.33 abandoned=1 "
                           "abandonment_rate=33.33 talk_seconds=230 hold_seconds=30 "
                           "wrap_seconds=70 available_seconds=990 occupancy=25.0");
        expect(item(p, 1), "total=2 outbound=2 completed=1 no_answer=1 handled=1 aht=66.0 "
                           "queued=0 asa=0.0 service_level=0.0 abandonment_rate=0.0 "
                           "available_seconds=134 occupancy=33.0");
        expect(item(p, 2), "total=1 busy=1 handled=0 aht=0.0 available_seconds=0 occupancy=0.0 "
                           "completion_rate=0.0");
        expect(member(d, "summary"), "total=6 completed=3 total_duration=361 avg_duration=120.33 "
                                     "completion_rate=50.0 handled=3 aht=132.0 asa=20.0 "
                                     "service_level=33.33 abandonment_rate=33.33 "
                                     "available_seconds=1124 occupancy=26.05");
        json_object_put(d);

        /* one queue: its calls; agent time is not kept per queue */
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-11&queue_id=%s", QA1);
        p = member(d, "periods");
        ck_assert_int_eq(length(p), 2); /* every period, empty ones too */
        expect(item(p, 1), "total=0 aht=0.0 occupancy=null");
        expect(member(d, "summary"), "total=3 handled=2 aht=165.0 asa=20.0 service_level=33.33 "
                                     "abandonment_rate=33.33 available_seconds=null "
                                     "occupancy=null");
        json_object_put(d);

        /* one agent: its calls and its own time (the break is not in occupancy) */
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-12&agent_id=%s", ANN);
        p = member(d, "periods");
        expect(item(p, 0), "total=1 handled=1 aht=120.0 available_seconds=600 occupancy=16.67");
        expect(item(p, 2), "total=0 occupancy=0.0");
        expect(member(d, "summary"), "total=3 handled=2 aht=93.0 occupancy=20.22");
        json_object_put(d);
        /* the organization's total agent time is kept under the nil id, which is nobody's */
        d = get(sup, 404, "/api/analytics/kpis?agent_id=00000000-0000-0000-0000-000000000000");
        json_object_put(d);

        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-12&campaign_id=%s",
                CA1);
        expect(member(d, "summary"), "total=4 completed=2 occupancy=null");
        json_object_put(d);

        /* a Kolkata day: 18:30 to 18:30 UTC, so c2 (18:45) is not in it but c3 (18:15) is */
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-10&tz=Asia/Kolkata");
        p = member(d, "periods");
        ck_assert_int_eq(length(p), 1);
        expect(item(p, 0), "period=2025-03-10 start=2025-03-09T18:30:00.000Z "
                           "end=2025-03-10T18:30:00.000Z total=2 queued=2 service_level=50.0 "
                           "abandonment_rate=50.0 handled=1 aht=120.0 occupancy=16.67");
        expect(d, "tz=Asia/Kolkata");
        json_object_put(d);

        /* by default the last 30 days, today included, in whole days */
        d = get(sup, 200, "/api/analytics/kpis");
        p = member(d, "periods");
        ck_assert_int_eq(length(p), 30);
        char today[25], tomorrow[25], first[25];
        cc_format_time_ms(cc_now_ms(), today);
        today[10] = '\0';
        cc_format_time_ms(cc_now_ms() + 86400000, tomorrow);
        memcpy(tomorrow + 10, "T00:00:00.000Z", 15);
        cc_format_time_ms(cc_now_ms() - 29 * (int64_t)86400000, first);
        memcpy(first + 10, "T00:00:00.000Z", 15);
        ck_assert_str_eq(text(item(p, 29), "period"), today);
        ck_assert_str_eq(text(d, "start_date"), first);
        ck_assert_str_eq(text(d, "end_date"), tomorrow);
        json_object_put(d);

        /* a New York week starts on Monday at local midnight */
        d = get(sup, 200,
                "/api/analytics/kpis?start_date=2025-03-09&end_date=2025-03-16&group_by=week"
                "&tz=America/New_York");
        p = member(d, "periods");
        expect_keys(p, "period", "2025-W10,2025-W11");
        expect(item(p, 0), "start=2025-03-09T05:00:00.000Z end=2025-03-10T04:00:00.000Z total=1");
        expect(item(p, 1), "start=2025-03-10T04:00:00.000Z end=2025-03-17T04:00:00.000Z total=6");
        json_object_put(d);
        free(sup);
}
END_TEST

/* ---- two organizations ---- */

START_TEST(analytics_api_cross_tenant)
{
        char *b = token("SUPERVISOR", ORG_B, B_SUP);
        json_object *d =
            get(b, 200, "/api/analytics/kpis?start_date=2025-03-10&end_date=2025-03-12");
        expect(member(d, "summary"), "total=2 completed=1 failed=1 handled=1 aht=1000.0 "
                                     "asa=3.0 service_level=100.0 available_seconds=5000 "
                                     "occupancy=16.67");
        json_object_put(d);
        d = get(b, 200, "/api/analytics/calls?start_date=2025-03-01&end_date=2025-04-30");
        expect(member(d, "summary"), "total_calls=2 completed_calls=1");
        json_object_put(d);
        d = get(b, 200, "/api/analytics/agents?start_date=2025-03-01&end_date=2025-03-31");
        expect_keys(d, "agent_name", "Zed Zero");
        expect(item(d, 0), "total_calls=2");
        json_object_put(d);
        d = get(b, 200, "/api/analytics/campaigns");
        expect_keys(d, "campaign_id", CB1);
        json_object_put(d);
        d = get(b, 200, "/api/dashboard/overview");
        expect_keys(member(d, "members"), "id", B_SUP "," ZED);
        expect(member(d, "stats"), "totalCalls=2 completedCalls=1");
        json_object_put(d);

        /* another organization's ids are not found, never shown */
        d = get(b, 404, "/api/analytics/kpis?agent_id=%s", ANN);
        expect_detail(d, "Agent ");
        json_object_put(d);
        d = get(b, 404, "/api/analytics/kpis?queue_id=%s", QA1);
        json_object_put(d);
        d = get(b, 404, "/api/analytics/kpis?campaign_id=%s", CA1);
        json_object_put(d);

        char *a = token("ADMIN", ORG_A, ADMIN);
        d = get(a, 200, "/api/analytics/agents?start_date=2025-03-01&end_date=2025-03-31");
        expect_keys(d, "agent_name", "Ann Smith,Bob Jones,Cy");
        json_object_put(d);
        d = get(a, 404, "/api/analytics/kpis?agent_id=%s", ZED);
        json_object_put(d);
        free(a);
        free(b);
}
END_TEST

/* ---- bad input ---- */

START_TEST(analytics_api_validation)
{
        char *sup = token("SUPERVISOR", ORG_A, SUP);
        static const struct {
                const char *path, *detail;
        } bad[] = {
            {"/api/analytics/calls?group_by=year", "group_by: "},
            {"/api/analytics/kpis?group_by=Day", "group_by: "},
            {"/api/analytics/calls?start_date=2025-13-01", "start_date: "},
            {"/api/analytics/calls?start_date=2025-02-29", "start_date: "},
            {"/api/analytics/calls?end_date=yesterday", "end_date: "},
            {"/api/analytics/calls?end_date=2025-03-10T25:00:00Z", "end_date: "},
            {"/api/analytics/agents?start_date=2025-03-10T10:00:00%2B5", "start_date: "},
            {"/api/analytics/calls?start_date=2025-03-12&end_date=2025-03-10",
             "start_date: must be before end_date"},
            {"/api/analytics/kpis?start_date=2025-03-10T10:00:00Z&end_date=2025-03-10T10:00:00Z",
             "start_date: must be before end_date"},
            {"/api/analytics/calls?tz=Mars/Olympus_Mons",
             "tz: unknown time zone Mars/Olympus_Mons"},
            {"/api/analytics/kpis?tz=UTC;DROP", "tz: "},
            {"/api/analytics/agents?tz=Nowhere/City", "tz: "},
            {"/api/dashboard/stats?tz=Nowhere/City", "tz: "},
            {"/api/analytics/kpis?group_by=hour&start_date=2020-01-01&end_date=2025-01-01",
             "group_by: "},
            {"/api/analytics/kpis?agent_id=42", "agent_id: must be a UUID"},
            /* PostgreSQL would take POSIX strings and its server's own zone: IANA names only */
            {"/api/analytics/kpis?tz=5", "tz: unknown time zone 5"},
            {"/api/analytics/calls?tz=UTC-99", "tz: unknown time zone UTC-99"},
            {"/api/analytics/kpis?tz=localtime", "tz: "},
            {"/api/analytics/kpis?tz=posixrules", "tz: "},
            {"/api/analytics/calls?group_by=", "group_by: "},
            {"/api/analytics/calls?start_date=2025-03-10T10:00:00%2B05:", "start_date: "},
            /* windows that reach past what an answer can write (ISO 8601, years 1970-9999) */
            {"/api/analytics/kpis?start_date=9999-12-01&end_date=9999-12-31&tz=America/New_York",
             "start_date: the window must lie between 1970-01-01 and 9999-12-31 UTC"},
            {"/api/analytics/calls?start_date=1970-01-01&end_date=1970-01-02&tz=Asia/Kolkata",
             "start_date: the window must lie"},
            {"/api/analytics/kpis?queue_id=" QA1 "&agent_id=" ANN, "queue_id: "},
            {"/api/dashboard/stats?days=0", "days: "},
            {"/api/dashboard/agent-performance?days=many", "days: "},
            {"/api/dashboard/stats?days=366", "days: "},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                json_object *d = get(sup, 422, "%s", bad[i].path);
                expect_detail(d, bad[i].detail);
                json_object_put(d);
        }
        /* zone names in any case */
        json_object_put(get(sup, 200, "/api/analytics/kpis?tz=asia/kolkata"));
        json_object_put(get(sup, 200, "/api/analytics/kpis?tz=Etc/GMT%%2B5"));
        /* the first and last days that can be written are fine */
        json_object *edge =
            get(sup, 200, "/api/analytics/kpis?start_date=1970-01-01&end_date=1970-01-02");
        ck_assert_str_eq(text(edge, "start_date"), "1970-01-01T00:00:00.000Z");
        json_object_put(edge);
        edge = get(sup, 200,
                   "/api/analytics/kpis?start_date=9999-12-30T00:00:00Z&end_date=9999-12-31T"
                   "23:59:00Z&group_by=day");
        expect_keys(member(edge, "periods"), "period", "9999-12-30,9999-12-31");
        ck_assert_str_eq(text(edge, "end_date"), "9999-12-31T23:59:00.000Z");
        json_object_put(edge);
        /* the whole last day (its end, 10000-01-01, written a millisecond early) */
        edge = get(sup, 200, "/api/analytics/kpis?start_date=9999-12-31&end_date=9999-12-31");
        ck_assert_str_eq(text(edge, "end_date"), "9999-12-31T23:59:59.999Z");
        expect_keys(member(edge, "periods"), "period", "9999-12-31");
        ck_assert_str_eq(text(item(member(edge, "periods"), 0), "end"), "9999-12-31T23:59:59.999Z");
        json_object_put(edge);
        /* unknown keys are ignored; a bare '?' is fine */
        json_object_put(get(sup, 200, "/api/analytics/kpis?foo=bar"));
        free(sup);

        static const char *const routes[] = {
            "/api/analytics/dashboard", "/api/analytics/calls",
            "/api/analytics/agents",    "/api/analytics/campaigns",
            "/api/analytics/kpis",      "/api/dashboard/overview",
            "/api/dashboard/stats",     "/api/dashboard/agent-performance"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(routes); i++)
                json_object_put(get(NULL, 401, "%s", routes[i]));
}
END_TEST

/* ---- the live views: relative to now ---- */

static const char *ago(char *buf, int64_t ms)
{
        char t[25];
        cc_format_time_ms(cc_now_ms() - ms, t);
        snprintf(buf, 32, "%s", t);
        return buf;
}

#define MIN  (60 * (int64_t)1000)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

/* r1..r7 of org A (and one of B) at these distances from now. */
static const struct {
        int64_t ago;
        const char *dir, *status, *agent;
        int duration;
} recent[] = {
    {1 * HOUR, "INBOUND", "COMPLETED", ANN, 120}, {3 * HOUR, "INBOUND", "COMPLETED", BOB, 61},
    {5 * HOUR, "OUTBOUND", "NO_ANSWER", ANN, 30}, {6 * HOUR, "OUTBOUND", "COMPLETED", BOB, 50},
    {2 * DAY, "INBOUND", "COMPLETED", BOB, 100},  {10 * DAY, "INBOUND", "COMPLETED", ANN, 500},
    {30 * HOUR, "INBOUND", "FAILED", NULL, 0},
};

static void live_call(const char *org, const char *id_suffix, const char *status, const char *agent,
                      int64_t ms_ago, bool ended)
{
        char id[40], at[32], end[32];
        snprintf(id, sizeof(id), "%.24s%s", org, id_suffix);
        const char *p[] = {id,
                           org,
                           status,
                           agent ? agent : "",
                           ago(at, ms_ago),
                           ended ? ago(end, ms_ago - MIN) : NULL,
                           ended ? "t" : "f"};
        sql("INSERT INTO calls (id, org_id, direction, status, from_number, to_number, agent_id, "
            "started_at, ended_at, duration_s, ended) VALUES ($1, $2, 'INBOUND', $3, "
            "'+15550001111', '+15550002222', $4, $5, $6, CASE WHEN $7::boolean THEN 60 END, $7)",
            7, p);
}

static void setup_live(void)
{
        start();
        people();
        campaign(ORG_A, CA3, "Done", true, true, "2025-01-01T00:00:00Z");
        char at[32];
        for (size_t i = 0; i < CC_ARRAY_SIZE(recent); i++) {
                struct tcall c = {.org = ORG_A,
                                  .start = ago(at, recent[i].ago),
                                  .dir = recent[i].dir,
                                  .status = recent[i].status,
                                  .agent = recent[i].agent,
                                  .duration = recent[i].duration,
                                  .talk = recent[i].duration,
                                  .answered = strcmp(recent[i].status, "COMPLETED") == 0};
                add_call(&c);
        }
        struct tcall b = {.org = ORG_B,
                          .start = ago(at, HOUR),
                          .dir = "INBOUND",
                          .status = "COMPLETED",
                          .agent = ZED,
                          .duration = 777,
                          .answered = true};
        add_call(&b);
        /* the read model's calls: four live ones and 22 that have ended */
        live_call(ORG_A, "000000000101", "IN_PROGRESS", ANN, 2 * MIN, false);
        live_call(ORG_A, "000000000102", "RINGING", NULL, 1 * MIN, false);
        live_call(ORG_A, "000000000103", "ON_HOLD", BOB, 3 * MIN, false);
        live_call(ORG_A, "000000000104", "QUEUED", NULL, MIN / 2, false);
        for (int i = 0; i < 22; i++) {
                char suffix[16];
                snprintf(suffix, sizeof(suffix), "%012d", 200 + i);
                live_call(ORG_A, suffix, "COMPLETED", ANN, HOUR + i * MIN, true);
        }
        live_call(ORG_B, "000000000101", "IN_PROGRESS", ZED, 2 * MIN, false);
}

START_TEST(analytics_api_dashboards)
{
        char *sup = token("SUPERVISOR", ORG_A, SUP);
        /* the last 24 h: r1..r4; IN_PROGRESS calls live; running campaigns */
        json_object *d = get(sup, 200, "/api/analytics/dashboard");
        expect(d, "total_calls_24h=4 active_calls=1 completed_calls_24h=3 avg_call_duration=77.0 "
                  "active_campaigns=1 completion_rate=75.0");
        ck_assert_int_eq(json_object_object_length(d), 6);
        json_object_put(d);

        d = get(sup, 200, "/api/dashboard/overview");
        json_object *active = member(d, "activeCalls");
        expect_keys(active, "status", "RINGING,IN_PROGRESS,ON_HOLD");
        expect(item(active, 0), "agentId=null direction=INBOUND metadata=null "
                                "fromNumber=+15550001111 toNumber=+15550002222");
        expect(item(active, 1), "agentId=" ANN);
        json_object *recents = member(d, "recentCalls");
        ck_assert_int_eq(length(recents), 25);
        expect(item(recents, 0), "status=QUEUED endTime=null duration=null");
        expect(item(recents, 4), "status=COMPLETED duration=60 agentId=" ANN);
        json_object *members = member(d, "members");
        expect_keys(members, "firstName", "Ada,Ann,Bob,Cy,Sue");
        expect(item(members, 1), "id=" ANN " email=ann@example.com lastName=Smith role=AGENT "
                                 "status=available department=Sales phoneExtension=null "
                                 "isOnCall=true updatedAt=2025-03-10T09:46:40.000Z "
                                 "lastLoginAt=null");
        expect(item(members, 2), "isOnCall=true department=null");
        expect(item(members, 3), "status=offline isOnCall=false");
        /* all time: r1..r7 */
        expect(member(d, "stats"), "totalCalls=7 completedCalls=5 missedCalls=1 "
                                   "agentHandledCalls=5 averageDuration=123.0 "
                                   "availableMembers=4 onCallMembers=2 onBreakMembers=0");
        json_object_put(d);

        /* the last 7 calendar days, today included: r1..r5 and r7, by UTC date */
        d = get(sup, 200, "/api/dashboard/stats");
        expect(d, "period=last_7_days");
        expect(member(d, "summary"), "totalCalls=6 completedCalls=4 missedCalls=1 "
                                     "averageDuration=60.17 completionRate=66.67");
        char want[256] = "";
        int64_t now = cc_now_ms();
        for (int64_t day = now - 6 * DAY; day <= now; day += DAY) {
                char key[25], t[25];
                cc_format_time_ms(day, t);
                memcpy(key, t, 10);
                key[10] = '\0';
                bool any = false;
                for (size_t i = 0; i < CC_ARRAY_SIZE(recent); i++) {
                        cc_format_time_ms(now - recent[i].ago, t);
                        any |= strncmp(t, key, 10) == 0;
                }
                if (any && !strstr(want, key))
                        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
                                 want[0] ? "," : "", key);
        }
        expect_keys(member(d, "daily"), "date", want);
        json_object_put(d);
        /* days=1: today (UTC) alone */
        char today[25], t[25], sums[128];
        cc_format_time_ms(now, today);
        today[10] = '\0';
        int total = 0, completed = 0;
        for (size_t i = 0; i < CC_ARRAY_SIZE(recent); i++) {
                cc_format_time_ms(now - recent[i].ago, t);
                if (strncmp(t, today, 10) == 0) {
                        total++;
                        completed += strcmp(recent[i].status, "COMPLETED") == 0;
                }
        }
        snprintf(sums, sizeof(sums), "totalCalls=%d completedCalls=%d", total, completed);
        d = get(sup, 200, "/api/dashboard/stats?days=1");
        expect(d, "period=last_1_days");
        expect(member(d, "summary"), sums);
        expect_keys(member(d, "daily"), "date", total ? today : "");
        json_object_put(d);

        d = get(sup, 200, "/api/dashboard/agent-performance");
        json_object *agents = member(d, "agents");
        expect_keys(agents, "agentId", BOB "," ANN);
        expect(item(agents, 0), "totalCalls=3 completedCalls=3 completionRate=100.0 "
                                "averageDuration=70.33");
        expect(item(agents, 1), "totalCalls=2 completedCalls=1 completionRate=50.0 "
                                "averageDuration=75.0");
        json_object_put(d);
        free(sup);
}
END_TEST

/* An AGENT sees its own numbers on every route: its calls (r1, r3 in the last 24 h; r6 ten
 * days ago), its live and newest calls, itself as the only member. Nothing of Bob's. */
START_TEST(analytics_api_agent_sees_only_itself)
{
        char *ann = token("AGENT", ORG_A, ANN);
        json_object *d = get(ann, 200, "/api/analytics/dashboard");
        expect(d, "total_calls_24h=2 active_calls=1 completed_calls_24h=1 avg_call_duration=120.0 "
                  "active_campaigns=1 completion_rate=50.0");
        json_object_put(d);

        d = get(ann, 200, "/api/dashboard/overview");
        json_object *active = member(d, "activeCalls"), *recents = member(d, "recentCalls");
        expect_keys(active, "status", "IN_PROGRESS");
        expect(item(active, 0), "agentId=" ANN);
        ck_assert_uint_eq(length(recents), 23); /* its live call and 22 ended */
        for (size_t i = 0; i < length(recents); i++)
                expect(item(recents, i), "agentId=" ANN);
        json_object *members = member(d, "members");
        ck_assert_uint_eq(length(members), 1);
        expect(item(members, 0), "id=" ANN " email=ann@example.com isOnCall=true");
        expect(member(d, "stats"), "totalCalls=3 completedCalls=2 missedCalls=1 "
                                   "averageDuration=216.67 availableMembers=1 onCallMembers=1");
        json_object_put(d);

        d = get(ann, 200, "/api/dashboard/stats");
        expect(member(d, "summary"), "totalCalls=2 completedCalls=1 missedCalls=1 "
                                     "averageDuration=75.0 completionRate=50.0");
        json_object_put(d);

        d = get(ann, 200, "/api/dashboard/agent-performance");
        json_object *agents = member(d, "agents");
        expect_keys(agents, "agentId", ANN);
        expect(item(agents, 0), "totalCalls=2 completedCalls=1 completionRate=50.0");
        json_object_put(d);
        free(ann);

        /* an agent without calls: empty lists and zeros, still nobody else's */
        char *cy = token("AGENT", ORG_A, CY);
        d = get(cy, 200, "/api/dashboard/agent-performance");
        ck_assert_uint_eq(length(member(d, "agents")), 0);
        json_object_put(d);
        d = get(cy, 200, "/api/dashboard/overview");
        ck_assert_uint_eq(length(member(d, "activeCalls")), 0);
        ck_assert_uint_eq(length(member(d, "recentCalls")), 0);
        expect_keys(member(d, "members"), "id", CY);
        expect(member(d, "stats"), "totalCalls=0 onCallMembers=0");
        json_object_put(d);
        d = get(cy, 200, "/api/analytics/dashboard");
        expect(d, "total_calls_24h=0 active_calls=0");
        json_object_put(d);
        free(cy);
}
END_TEST

/* ---- retention of minute rollups ---- */

/* "YYYY-MM-DD" of today (UTC) minus days. */
static const char *day_ago(char *buf, size_t len, int days)
{
        time_t t = time(NULL) - (time_t)days * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, len, "%Y-%m-%d", &tm);
        return buf;
}

static void setup_retention(void)
{
        /* a housekeeping round soon after the rows are written, not in ten minutes */
        setenv("CC_HOUSEKEEPING_INTERVAL_MS", "100", 1);
        setenv("CC_ANALYTICS_MINUTE_RETENTION_DAYS", "35", 1);
        start();
        people();
}

/* Three calls at 10:05, 10:10 and 10:20 UTC of a day. */
static void three_calls(const char *day)
{
        static const char *const times[] = {"10:05", "10:10", "10:20"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(times); i++) {
                char at[40];
                snprintf(at, sizeof(at), "%s %s:00+00", day, times[i]);
                struct tcall c = {.org = ORG_A,
                                  .start = at,
                                  .dir = "INBOUND",
                                  .status = "COMPLETED",
                                  .agent = ANN,
                                  .queue = QA1,
                                  .duration = 60,
                                  .talk = 60,
                                  .answered = true,
                                  .within_sl = true};
                add_call(&c);
        }
}

static long long minute_rows(const char *cmp)
{
        char q[200];
        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM call_rollups WHERE grain = 'm' "
                 "AND bucket %s now() - interval '35 days'",
                 cmp);
        return cc_test_query_int(conn, q, NULL);
}

/* Minute rows past CC_ANALYTICS_MINUTE_RETENTION_DAYS are dropped by the housekeeping thread;
 * the quarter-hour rows keep every hour of every zone exact, and only a window edge inside a
 * quarter hour that old is counted to the quarter (docs/analytics.md). */
START_TEST(analytics_api_old_minutes_dropped_hours_still_exact)
{
        char old[16], recent[16];
        day_ago(old, sizeof(old), 40);
        day_ago(recent, sizeof(recent), 2);
        three_calls(old);
        three_calls(recent);
        ck_assert_msg(CC_TEST_WAIT(minute_rows("<") == 0, 10000, 50),
                      "old minute rows still there: %lld", minute_rows("<"));
        ck_assert_int_eq(minute_rows(">="), 3 * 3); /* o, a, q of the recent calls */
        ck_assert_int_eq(cc_test_query_int(conn,
                                           "SELECT sum(calls) FROM call_rollups WHERE grain = "
                                           "'q' AND dim = 'o'",
                                           NULL),
                         6);

        char *tok = token("SUPERVISOR", ORG_A, SUP);
        /* Kolkata's hours start at :30 UTC: 15:00 there is 09:30-10:30 UTC, all three calls */
        json_object *d = get(tok, 200,
                             "/api/analytics/kpis?start_date=%s&end_date=%s&tz=Asia/Kolkata"
                             "&group_by=hour",
                             old, old);
        json_object *periods = member(d, "periods");
        ck_assert_uint_eq(length(periods), 24);
        for (size_t i = 0; i < 24; i++) {
                json_object *p = item(periods, i);
                bool mine = strcmp(text(p, "period") + 11, "15:00") == 0;
                expect(p, mine ? "total=3 handled=3" : "total=0");
        }
        expect(member(d, "summary"), "total=3 aht=60.0");
        json_object_put(d);
        /* Nepal (+05:45): 16:00 there is 10:15-11:15 UTC, the 10:20 call alone */
        d = get(tok, 200,
                "/api/analytics/kpis?start_date=%s&end_date=%s&tz=Asia/Kathmandu&group_by=hour",
                old, old);
        periods = member(d, "periods");
        for (size_t i = 0; i < length(periods); i++) {
                json_object *p = item(periods, i);
                const char *h = text(p, "period") + 11;
                expect(p, strcmp(h, "15:00") == 0   ? "total=2"
                          : strcmp(h, "16:00") == 0 ? "total=1"
                                                    : "total=0");
        }
        json_object_put(d);
        /* From 10:07: to the minute while minutes are kept (10:10 and 10:20), to the quarter
         * hour before that (from 10:15: 10:20 only). */
        d = get(tok, 200, "/api/analytics/kpis?start_date=%sT10:07:00Z&end_date=%sT11:00:00Z",
                recent, recent);
        expect(member(d, "summary"), "total=2");
        json_object_put(d);
        d = get(tok, 200, "/api/analytics/kpis?start_date=%sT10:07:00Z&end_date=%sT11:00:00Z", old,
                old);
        expect(member(d, "summary"), "total=1");
        json_object_put(d);
        free(tok);
}
END_TEST

/* ---- zones whose offset moves by less than an hour ---- */

static void setup_zones(void)
{
        start();
        people();
}

/* One completed inbound call of Ann's at a UTC instant. */
static void call_at(const char *at)
{
        struct tcall c = {.org = ORG_A,
                          .start = at,
                          .dir = "INBOUND",
                          .status = "COMPLETED",
                          .agent = ANN,
                          .duration = 60,
                          .talk = 60,
                          .answered = true};
        add_call(&c);
}

/* The hour period i of periods: its key, its bounds and its calls. */
static void expect_hour(json_object *periods, size_t i, const char *key, const char *rest)
{
        json_object *p = item(periods, i);
        ck_assert_str_eq(text(p, "period"), key);
        expect(p, rest);
}

/* Lord Howe moves its clocks by half an hour (+11:00 to +10:30 at 02:00 on 6 April 2025, back
 * at 02:00 on 5 October): every hour after the change still starts on the hour of the wall
 * clock, so a call at 03:10 there is in the 03:00 period, not in the one before. */
START_TEST(analytics_api_hours_across_half_hour_clock_changes)
{
        call_at("2025-04-05 15:45:00+00"); /* 02:15 +10:30 */
        call_at("2025-04-05 16:40:00+00"); /* 03:10 +10:30 */
        call_at("2025-10-04 16:10:00+00"); /* 03:10 +11:00 */
        char *tok = token("SUPERVISOR", ORG_A, SUP);
        json_object *d = get(tok, 200,
                             "/api/analytics/kpis?start_date=2025-04-06&end_date=2025-04-06"
                             "&tz=Australia/Lord_Howe&group_by=hour");
        json_object *periods = member(d, "periods");
        ck_assert_uint_eq(length(periods), 24); /* 01:30 to 02:00 happens twice */
        /* 01:00 lasts an hour and a half; every later hour starts at :30 UTC */
        expect_hour(periods, 1, "2025-04-06 01:00",
                    "start=2025-04-05T14:00:00.000Z end=2025-04-05T15:30:00.000Z total=0");
        expect_hour(periods, 2, "2025-04-06 02:00",
                    "start=2025-04-05T15:30:00.000Z end=2025-04-05T16:30:00.000Z total=1");
        expect_hour(periods, 3, "2025-04-06 03:00",
                    "start=2025-04-05T16:30:00.000Z end=2025-04-05T17:30:00.000Z total=1");
        expect_hour(periods, 23, "2025-04-06 23:00",
                    "start=2025-04-06T12:30:00.000Z end=2025-04-06T13:30:00.000Z");
        json_object_put(d);
        /* forward: 02:00 becomes 02:30, so that hour lasts half an hour */
        d = get(tok, 200,
                "/api/analytics/kpis?start_date=2025-10-05&end_date=2025-10-05"
                "&tz=Australia/Lord_Howe&group_by=hour");
        periods = member(d, "periods");
        ck_assert_uint_eq(length(periods), 24);
        expect_hour(periods, 2, "2025-10-05 02:00",
                    "start=2025-10-04T15:30:00.000Z end=2025-10-04T16:00:00.000Z total=0");
        expect_hour(periods, 3, "2025-10-05 03:00",
                    "start=2025-10-04T16:00:00.000Z end=2025-10-04T17:00:00.000Z total=1");
        json_object_put(d);
        free(tok);
}
END_TEST

static void suite_setup(void)
{
        cc_test_unique("antest", prefix, sizeof(prefix));
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(prefix);
}

int main(void)
{
        Suite *s = suite_create("analytics_api");
        TCase *fixed = tcase_create("fixed");
        tcase_add_unchecked_fixture(fixed, suite_setup, suite_teardown);
        tcase_add_checked_fixture(fixed, setup_fixed, stop);
        tcase_set_timeout(fixed, 60);
        tcase_add_test(fixed, analytics_api_calls_periods);
        tcase_add_test(fixed, analytics_api_calls_time_zones);
        tcase_add_test(fixed, analytics_api_agent_scope);
        tcase_add_test(fixed, analytics_api_agents_campaigns);
        tcase_add_test(fixed, analytics_api_kpis);
        tcase_add_test(fixed, analytics_api_cross_tenant);
        tcase_add_test(fixed, analytics_api_validation);
        suite_add_tcase(s, fixed);
        TCase *live = tcase_create("live");
        tcase_add_unchecked_fixture(live, suite_setup, suite_teardown);
        tcase_add_checked_fixture(live, setup_live, stop);
        tcase_set_timeout(live, 60);
        tcase_add_test(live, analytics_api_dashboards);
        tcase_add_test(live, analytics_api_agent_sees_only_itself);
        suite_add_tcase(s, live);
        TCase *retention = tcase_create("retention");
        tcase_add_unchecked_fixture(retention, suite_setup, suite_teardown);
        tcase_add_checked_fixture(retention, setup_retention, stop);
        tcase_set_timeout(retention, 60);
        tcase_add_test(retention, analytics_api_old_minutes_dropped_hours_still_exact);
        suite_add_tcase(s, retention);
        TCase *zones = tcase_create("zones");
        tcase_add_unchecked_fixture(zones, suite_setup, suite_teardown);
        tcase_add_checked_fixture(zones, setup_zones, stop);
        tcase_set_timeout(zones, 60);
        tcase_add_test(zones, analytics_api_hours_across_half_hour_clock_changes);
        suite_add_tcase(s, zones);
        return cc_test_run(s);
}
