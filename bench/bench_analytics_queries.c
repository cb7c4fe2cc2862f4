/* Latency of the analytics reads over a month of rollups: GET /api/analytics/dashboard and
 * GET /api/analytics/kpis (default; tz=America/New_York; group_by=hour; agent_id=...) for one
 * organization with about 1,000,000 calls in 30 days and 200 agents. Target: p99 < 20 ms.
 *
 * Run by hand, never as a test (it needs the test suite's settings; the first run fills the
 * schema "anbench", about a minute or two and 3.3 GB, later runs reuse it; DROP SCHEMA anbench
 * CASCADE when done):
 *
 *   CC_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5440/callcenter \
 *   CC_TEST_KAFKA_BROKERS=<any broker, e.g. the dev stack's> CC_TEST_KEYS_DIR=<jwt-*.pem> \
 *       build/bench/bench_analytics_queries [requests per URL, default 500] [--refill]
 *
 * It starts the analytics service in-process (its HTTP server and queries exactly as cc-analytics
 * runs them, 2 HTTP threads, no consumer) on the schema "anbench", and fills the schema's rollups
 * with what the real writer (services/analytics/rollup.c, docs/analytics.md) would have written
 * for these calls and agents, computed by SQL rather than by applying 1M events one by one:
 *  - call_rollups: 23 calls a minute (n = minute * 23 + j) for every minute from 30 days before
 *    today's UTC midnight until now, each counted in the minute, quarter hour, hour and day of
 *    its start under 'o' and, where it has them, under its agent 'a', queue 'q' and campaign
 *    'c' (GROUPING SETS over the virtual calls, with the writer's rules for every counter);
 *    quarter, hour and day rows are the sums of their minutes;
 *  - agent_rollups: every agent's time in every minute (8-hour shifts of available / busy /
 *    wrap-up, offline the rest of the day: the writer splits each status interval at every
 *    minute, so offline nights make minute rows too), the quarters, hours and days summed from
 *    them, and the organization total under the nil user id for every grain and bucket.
 * Then it sends each URL sequentially over one kept-alive connection (libcurl), 20 warm-up
 * requests and N timed ones, and prints p50 / p90 / p99 / max. Every answer must be 200.
 * BENCH_SHOW=1 also prints the start of each answer. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "testlib.h"

#define ORG    "0c000000-0000-4000-8000-000000000000"
#define SCHEMA "anbench"
#define WARMUP 20

static void x(struct cc_db_conn *c, const char *sql)
{
        if (cc_db_exec_script(c, sql) < 0) {
                fprintf(stderr, "%s\n%s\n", sql, cc_db_error(c));
                exit(1);
        }
}

/* The agents' user ids: 0c000000-0000-4000-8000-000000000001 ... 200. */
#define AGENT_ID(i) "('0c000000-0000-4000-8000-' || lpad((" i ")::text, 12, '0'))"

static const char *const fill_sql[] = {
    "TRUNCATE call_rollups, agent_rollups, users, queues",
    "INSERT INTO users (id, org_id, first_name, last_name, role, status) "
    "SELECT " AGENT_ID("i") "::uuid, '" ORG "', 'Agent', i::text, 'AGENT', 'ACTIVE' "
                            "FROM generate_series(1, 200) i",
    "INSERT INTO queues (id, org_id, name) SELECT '0c000000-0000-4000-8000-1000000000' || "
    "lpad(i::text, 2, '0'), '" ORG "', 'queue ' || i FROM generate_series(0, 19) i",
    "CREATE TEMP TABLE mins AS SELECT row_number() OVER (ORDER BY b) - 1 AS k, b FROM "
    "generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval "
    "'30 days', now(), interval '1 minute') b",
    /* The virtual calls, one row each, with what call.ended would carry. j 0-14 inbound and
     * queued (j 14 abandoned in the queue), j 15-22 outbound campaign calls; j 0-13 and 15-17
     * answered by an agent and completed, 18 failed, 19-20 no answer, 21 busy, 22 canceled. */
    "CREATE TEMP TABLE vcalls AS SELECT b, n, j, j < 15 AS inbound, "
    "CASE WHEN j < 14 OR j BETWEEN 15 AND 17 THEN 'COMPLETED' WHEN j = 18 THEN 'FAILED' "
    "WHEN j IN (19, 20) THEN 'NO_ANSWER' WHEN j = 21 THEN 'BUSY' ELSE 'CANCELED' END AS status, "
    "j < 14 OR j BETWEEN 15 AND 17 AS handled, "
    "CASE WHEN j < 14 OR j BETWEEN 15 AND 17 THEN " AGENT_ID(
        "n % 200 + 1") " END AS agent, "
                       "CASE WHEN j < 15 THEN '0c000000-0000-4000-8000-1000000000' || lpad((n % "
                       "20)::text, 2, "
                       "'0') END AS queue, "
                       "CASE WHEN j >= 15 THEN '0c000000-0000-4000-8000-2000000000' || lpad((n % "
                       "10)::text, 2, "
                       "'0') END AS campaign, "
                       "j = 14 AS abandoned, (n % 40) AS wait, "
                       "CASE WHEN j < 14 OR j BETWEEN 15 AND 17 THEN 120 + n % 240 ELSE n % 30 END "
                       "AS duration, "
                       "CASE WHEN n % 3 = 0 THEN 15 ELSE 0 END AS hold, 20 + n % 30 AS wrap "
                       "FROM (SELECT b, k * 23 + j AS n, j FROM mins, generate_series(0, 22) j) v",
    "INSERT INTO call_rollups (org_id, dim, dim_id, grain, bucket, calls, inbound, outbound, "
    "completed, failed, no_answer, busy, canceled, answered, handled, queued, queued_answered, "
    "within_sl, abandoned, duration_sum, completed_duration_sum, talk_sum, hold_sum, wrap_sum, "
    "answered_wait_sum) "
    "SELECT '" ORG "', CASE WHEN agent IS NOT NULL THEN 'a' WHEN queue IS NOT NULL THEN 'q' "
    "WHEN campaign IS NOT NULL THEN 'c' ELSE 'o' END::\"char\", "
    "coalesce(agent, queue, campaign, ''), 'm', b, count(*), count(*) FILTER (WHERE inbound), "
    "count(*) FILTER (WHERE NOT inbound), count(*) FILTER (WHERE status = 'COMPLETED'), "
    "count(*) FILTER (WHERE status = 'FAILED'), count(*) FILTER (WHERE status = 'NO_ANSWER'), "
    "count(*) FILTER (WHERE status = 'BUSY'), count(*) FILTER (WHERE status = 'CANCELED'), "
    "count(*) FILTER (WHERE handled), count(*) FILTER (WHERE handled), "
    "count(*) FILTER (WHERE queue IS NOT NULL), "
    "count(*) FILTER (WHERE queue IS NOT NULL AND handled AND NOT abandoned), "
    "count(*) FILTER (WHERE queue IS NOT NULL AND handled AND NOT abandoned AND wait <= 20), "
    "count(*) FILTER (WHERE abandoned), sum(duration), "
    "coalesce(sum(duration) FILTER (WHERE status = 'COMPLETED'), 0), "
    "coalesce(sum(duration - hold) FILTER (WHERE handled), 0), "
    "coalesce(sum(hold) FILTER (WHERE handled), 0), coalesce(sum(wrap) FILTER (WHERE handled), 0), "
    "coalesce(sum(wait) FILTER (WHERE queue IS NOT NULL AND handled AND NOT abandoned), 0) "
    "FROM (SELECT * FROM vcalls) v "
    "GROUP BY GROUPING SETS ((b), (b, agent), (b, queue), (b, campaign)) "
    "HAVING (GROUPING(agent) = 0 AND agent IS NOT NULL) OR (GROUPING(queue) = 0 AND queue IS NOT "
    "NULL) OR (GROUPING(campaign) = 0 AND campaign IS NOT NULL) OR (GROUPING(agent, queue, "
    "campaign) = 7)",
    "DROP TABLE vcalls",
    "INSERT INTO call_rollups SELECT org_id, dim, dim_id, 'q', date_bin('15 minutes', bucket, "
    "'epoch'), sum(calls), sum(inbound), sum(outbound), sum(completed), "
    "sum(failed), sum(no_answer), sum(busy), sum(canceled), sum(answered), sum(handled), "
    "sum(queued), sum(queued_answered), sum(within_sl), sum(abandoned), sum(duration_sum), "
    "sum(completed_duration_sum), sum(talk_sum), sum(hold_sum), sum(wrap_sum), "
    "sum(answered_wait_sum) FROM call_rollups WHERE grain = 'm' GROUP BY 1, 2, 3, 5",
    "INSERT INTO call_rollups SELECT org_id, dim, dim_id, 'h', date_trunc('hour', bucket AT TIME "
    "ZONE 'UTC') AT TIME ZONE 'UTC', sum(calls), sum(inbound), sum(outbound), sum(completed), "
    "sum(failed), sum(no_answer), sum(busy), sum(canceled), sum(answered), sum(handled), "
    "sum(queued), sum(queued_answered), sum(within_sl), sum(abandoned), sum(duration_sum), "
    "sum(completed_duration_sum), sum(talk_sum), sum(hold_sum), sum(wrap_sum), "
    "sum(answered_wait_sum) FROM call_rollups WHERE grain = 'm' GROUP BY 1, 2, 3, 5",
    "INSERT INTO call_rollups SELECT org_id, dim, dim_id, 'd', date_trunc('day', bucket AT TIME "
    "ZONE 'UTC') AT TIME ZONE 'UTC', sum(calls), sum(inbound), sum(outbound), sum(completed), "
    "sum(failed), sum(no_answer), sum(busy), sum(canceled), sum(answered), sum(handled), "
    "sum(queued), sum(queued_answered), sum(within_sl), sum(abandoned), sum(duration_sum), "
    "sum(completed_duration_sum), sum(talk_sum), sum(hold_sum), sum(wrap_sum), "
    "sum(answered_wait_sum) FROM call_rollups WHERE grain = 'h' GROUP BY 1, 2, 3, 5",
    /* Agent i works the 8 UTC hours from (i % 3) * 8: in each 10 minutes 4 available, 5 busy,
     * 1 wrap-up; offline otherwise. Minutes up to the current one (the last one partial). */
    "INSERT INTO agent_rollups (org_id, user_id, grain, bucket, available_s, busy_s, wrap_up_s, "
    "offline_s) "
    "SELECT '" ORG "', " AGENT_ID(
        "i") "::uuid, 'm', b, "
             "CASE WHEN s AND p < 4 THEN w ELSE 0 END, CASE WHEN s AND p BETWEEN 4 AND 8 THEN w "
             "ELSE 0 "
             "END, CASE WHEN s AND p = 9 THEN w ELSE 0 END, CASE WHEN s THEN 0 ELSE w END "
             "FROM (SELECT b, i, extract(hour FROM b AT TIME ZONE 'UTC')::int / 8 = i % 3 AS s, "
             "(k + i) % 10 AS p, least(60, extract(epoch FROM now() - b)::int) AS w "
             "FROM mins, generate_series(1, 200) i) v",
    "INSERT INTO agent_rollups SELECT org_id, '00000000-0000-0000-0000-000000000000', 'm', bucket, "
    "sum(available_s), sum(busy_s), sum(wrap_up_s), sum(break_s), sum(training_s), "
    "sum(offline_s) FROM agent_rollups WHERE grain = 'm' GROUP BY 1, 4",
    "INSERT INTO agent_rollups SELECT org_id, user_id, 'q', date_bin('15 minutes', bucket, "
    "'epoch'), sum(available_s), sum(busy_s), sum(wrap_up_s), "
    "sum(break_s), sum(training_s), sum(offline_s) FROM agent_rollups WHERE grain = 'm' "
    "GROUP BY 1, 2, 4",
    "INSERT INTO agent_rollups SELECT org_id, user_id, 'h', date_trunc('hour', bucket AT TIME "
    "ZONE 'UTC') AT TIME ZONE 'UTC', sum(available_s), sum(busy_s), sum(wrap_up_s), "
    "sum(break_s), sum(training_s), sum(offline_s) FROM agent_rollups WHERE grain = 'm' "
    "GROUP BY 1, 2, 4",
    "INSERT INTO agent_rollups SELECT org_id, user_id, 'd', date_trunc('day', bucket AT TIME "
    "ZONE 'UTC') AT TIME ZONE 'UTC', sum(available_s), sum(busy_s), sum(wrap_up_s), "
    "sum(break_s), sum(training_s), sum(offline_s) FROM agent_rollups WHERE grain = 'h' "
    "GROUP BY 1, 2, 4",
    "DROP TABLE mins",
    "VACUUM ANALYZE call_rollups",
    "VACUUM ANALYZE agent_rollups",
    "ANALYZE users",
};

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t body_bytes;
static char body_head[161];

static size_t sink(char *p, size_t size, size_t n, void *userdata)
{
        (void)userdata;
        if (body_bytes < sizeof(body_head) - 1) {
                size_t k = size * n < sizeof(body_head) - 1 - body_bytes
                               ? size * n
                               : sizeof(body_head) - 1 - body_bytes;
                memcpy(body_head + body_bytes, p, k);
                body_head[body_bytes + k] = '\0';
        }
        body_bytes += size * n;
        return size * n;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static void measure(CURL *curl, int port, const char *path, int n)
{
        char url[512];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        double *lat = cc_xcalloc((size_t)n, sizeof(*lat));
        for (int i = -WARMUP; i < n; i++) {
                body_bytes = 0;
                double t0 = now_ms();
                CURLcode rc = curl_easy_perform(curl);
                double t = now_ms() - t0;
                long status = 0;
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
                if (rc != CURLE_OK || status != 200) {
                        fprintf(stderr, "%s: %s, HTTP %ld\n", path, curl_easy_strerror(rc), status);
                        exit(1);
                }
                if (i >= 0)
                        lat[i] = t;
        }
        qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
        printf("%-64s %7.2f %7.2f %7.2f %7.2f %7zu\n", path, lat[n / 2], lat[n * 90 / 100],
               lat[n * 99 / 100], lat[n - 1], body_bytes);
        if (getenv("BENCH_SHOW"))
                printf("    %s...\n", body_head);
        free(lat);
}

static int n = 500, refill;

/* A Check test only because the tests' helpers report through Check (run without forking). */
START_TEST(bench)
{
        cc_test_service_env(0);
        setenv("CC_LOG_LEVEL", "error", 1);
        struct cc_service_def def = *analytics_service_def();
        def.name = SCHEMA;
        def.consume_handler = NULL;
        def.consume_topics = NULL;
        def.nconsume_topics = 0;
        struct cc_service *svc;
        char err[512];
        if (cc_service_start(&def, &svc, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", err);
                exit(1);
        }

        struct cc_db_pool *pool = cc_test_pool(SCHEMA, 1, 5000);
        struct cc_db_conn *c = cc_test_acquire(pool);
        if (refill || cc_test_query_int(c, "SELECT count(*) FROM call_rollups", NULL) == 0) {
                double t0 = now_ms();
                fprintf(stderr, "filling the rollups...\n");
                for (size_t i = 0; i < sizeof(fill_sql) / sizeof(fill_sql[0]); i++)
                        x(c, fill_sql[i]);
                fprintf(stderr, "filled in %.0f s\n", (now_ms() - t0) / 1e3);
        }
        printf("calls in the organization: %lld; call_rollups rows: %lld; agent_rollups rows: "
               "%lld; agents: %lld\n",
               cc_test_query_int(c,
                                 "SELECT sum(calls) FROM call_rollups WHERE dim = 'o' AND grain = "
                                 "'d'",
                                 NULL),
               cc_test_query_int(c, "SELECT count(*) FROM call_rollups", NULL),
               cc_test_query_int(c, "SELECT count(*) FROM agent_rollups", NULL),
               cc_test_query_int(c, "SELECT count(*) FROM users", NULL));
        cc_db_release(c);
        cc_db_pool_free(pool);

        char *tok = cc_test_token("SUPERVISOR", ORG, "0c000000-0000-4000-8000-000000000201", 3600);
        char *auth = cc_xasprintf("Authorization: Bearer %s", tok);
        free(tok);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        CURL *curl = curl_easy_init();
        struct curl_slist *headers = curl_slist_append(NULL, auth);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);

        static const char *const paths[] = {
            "/api/analytics/dashboard",
            "/api/analytics/kpis",
            "/api/analytics/kpis?tz=America/New_York",
            "/api/analytics/kpis?group_by=hour",
            "/api/analytics/kpis?group_by=hour&tz=Asia/Kolkata",
            "/api/analytics/kpis?group_by=week",
            "/api/analytics/kpis?agent_id=0c000000-0000-4000-8000-000000000007",
            "/api/analytics/kpis?tz=Asia/Kolkata",
            "/api/analytics/calls",
        };
        printf("%d sequential requests per URL over one kept-alive connection, ms\n", n);
        printf("%-64s %7s %7s %7s %7s %7s\n", "GET", "p50", "p90", "p99", "max", "bytes");
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                measure(curl, cc_service_port(svc), paths[i], n);

        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        curl_global_cleanup();
        free(auth);
        cc_service_stop(svc);
}
END_TEST

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--refill") == 0)
                        refill = 1;
                else
                        n = atoi(argv[i]);
        }
        if (n < 100) {
                fprintf(stderr, "usage: %s [requests per URL >= 100] [--refill]\n", argv[0]);
                return 2;
        }
        Suite *s = suite_create("bench");
        TCase *tc = tcase_create("bench");
        tcase_set_timeout(tc, 0);
        tcase_add_test(tc, bench);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
