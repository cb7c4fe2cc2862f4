/* The shared service skeleton in one process: configuration, migrations into the service's
 * schema, readiness that follows the database and the brokers, the service's own routes beside
 * the built-in ones, an event written through the outbox from a request reaching Kafka, and the
 * housekeeping thread. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "testlib.h"
#include "cc/event.h"
#include "cc/kafka.h"
#include "cc/service.h"

/* Each test's service gets a schema of its own under this prefix (made by the parent process,
 * which drops them all at the end, also after a failed test). */
static char prefix[48];
static char schema[64];

static const struct cc_migration migrations[] = {
    {"001_notes", "CREATE TABLE notes (id uuid PRIMARY KEY, org_id uuid NOT NULL, "
                  "body text NOT NULL)"},
};

/* POST /api/notes {"body": "..."}: one row and one event in one transaction. */
static void h_create_note(struct cc_http_req *req)
{
        struct cc_service *svc = cc_service_of(req);
        json_object *body = cc_http_req_json(req), *text = NULL;
        if (!body || !json_object_object_get_ex(body, "body", &text) ||
            !json_object_is_type(text, json_type_string)) {
                cc_http_reply_error(req, 422, "body: field required");
                return;
        }
        const struct cc_auth *auth = cc_http_req_auth(req);
        char id[CC_UUID_LEN + 1], event_id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        struct cc_db_conn *conn = NULL;
        if (cc_db_acquire(cc_service_pool(svc), &conn) < 0) {
                cc_http_reply_error(req, 503, "database unavailable");
                return;
        }
        const char *params[] = {id, auth->org_id, json_object_get_string(text)};
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__TeamChanged team = CC__EVENTS__V1__TEAM_CHANGED__INIT;
        cc_event_init(&env, "team.updated", auth->org_id, 0, "svctest", NULL, event_id);
        team.team_id = id;
        team.name = (char *)json_object_get_string(text);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_TEAM_CHANGED;
        env.team_changed = &team;
        size_t len = 0;
        uint8_t *packed = cc_event_pack(&env, &len);
        int r = cc_db_begin(conn);
        if (r == 0)
                r = cc_db_exec(conn, "INSERT INTO notes (id, org_id, body) VALUES ($1, $2, $3)", 3,
                               params, NULL);
        if (r == 0)
                r = cc_outbox_add(conn, "cc.users.v1", id, event_id, "team.updated", NULL, packed,
                                  len);
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        free(packed);
        cc_db_release(conn);
        if (r < 0) {
                cc_http_reply_error(req, 500, "Internal server error");
                return;
        }
        json_object *out = json_object_new_object();
        json_object_object_add(out, "id", json_object_new_string(id));
        json_object_object_add(out, "event_id", json_object_new_string(event_id));
        cc_http_reply_json(req, 201, out);
}

static const struct cc_http_route routes[] = {
    {"POST", "/api/notes", h_create_note, CC_ROLE_AGENT, 0},
};

static struct cc_service_def def = {
    .default_port = 0,
    .migrations = migrations,
    .nmigrations = 1,
    .routes = routes,
    .nroutes = 1,
};

static void set_env(void)
{
        cc_test_service_env(0);
        setenv("CC_OUTBOX_POLL_MS", "200", 1);
        setenv("CC_LOG_LEVEL", "warn", 1);
        cc_test_unique(prefix, schema, sizeof(schema));
        def.name = schema;
}

static long get(int port, const char *path, char **ret_body)
{
        char url[256];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        struct cc_test_response r;
        cc_test_http("GET", url, NULL, 0, NULL, &r);
        long st = r.status;
        if (ret_body)
                *ret_body = strdup(r.body);
        cc_test_response_fini(&r);
        return st;
}

/* GET /readyz; *body (freed first) gets the answer's body. */
static long readyz(int port, char **body)
{
        free(*body);
        return get(port, "/readyz", body);
}

START_TEST(service_starts_migrates_and_serves)
{
        set_env();
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        int port = cc_service_port(svc);
        ck_assert_int_gt(port, 0);
        ck_assert_int_eq(get(port, "/healthz", NULL), 200);
        ck_assert_int_eq(get(port, "/readyz", NULL), 200);

        PGconn *pg = PQconnectdb(cc_test_env("CC_TEST_DATABASE_URL"));
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT string_agg(name, ',' ORDER BY name) FROM %s.schema_migrations", schema);
        PGresult *res = PQexec(pg, sql);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "000_outbox,000_processed_events_age,001_notes");
        PQclear(res);

        /* Authenticated route without a token. */
        char url[256];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/notes", port);
        struct cc_test_response r;
        const char *json_hdr[] = {"Content-Type: application/json", NULL};
        cc_test_http("POST", url, "{\"body\":\"x\"}", 12, json_hdr, &r);
        ck_assert_int_eq(r.status, 401);
        ck_assert_str_eq(r.body, "{\"detail\":\"Not authenticated\"}");
        cc_test_response_fini(&r);

        char *metrics = NULL;
        ck_assert_int_eq(get(port, "/metrics", &metrics), 200);
        ck_assert_ptr_nonnull(strstr(metrics, "cc_db_pool_connections_max{service=\""));
        ck_assert_ptr_nonnull(strstr(metrics, "route=\"/api/notes\""));
        free(metrics);

        cc_service_stop(svc);
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
        PQclear(PQexec(pg, sql));
        PQfinish(pg);
}
END_TEST

START_TEST(service_not_ready_while_brokers_down)
{
        set_env();
        struct cc_service *svc = NULL;
        char err[512], buf[256];
        ck_assert_msg(cc_service_start(&def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        int port = cc_service_port(svc);
        ck_assert_int_eq(get(port, "/readyz", NULL), 200);
        cc_test_devbroker("down", buf, sizeof(buf));
        long st = 0;
        char *body = NULL;
        CC_TEST_WAIT((st = readyz(port, &body)) == 503, 15000, 100);
        cc_test_devbroker("up", buf, sizeof(buf));
        ck_assert_int_eq(st, 503);
        ck_assert_msg(strstr(body, "kafka") != NULL, "body: %s", body);
        free(body);
        CC_TEST_WAIT((st = get(port, "/readyz", NULL)) == 200, 15000, 100);
        ck_assert_int_eq(st, 200);
        ck_assert_int_eq(get(port, "/healthz", NULL), 200);
        cc_service_stop(svc);
}
END_TEST

START_TEST(service_refuses_bad_settings)
{
        set_env();
        struct cc_service *svc = NULL;
        char err[512];
        setenv("CC_DB_POOL_SIZE", "0", 1);
        ck_assert_int_lt(cc_service_start(&def, &svc, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "CC_DB_POOL_SIZE") != NULL, "err: %s", err);
        unsetenv("CC_DB_POOL_SIZE");
        unsetenv("CC_KAFKA_BROKERS");
        ck_assert_int_lt(cc_service_start(&def, &svc, err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "CC_KAFKA_BROKERS") != NULL, "err: %s", err);
}
END_TEST

START_TEST(service_request_event_reaches_kafka_through_outbox)
{
        set_env();
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        int port = cc_service_port(svc);
        char org[CC_UUID_LEN + 1], user[CC_UUID_LEN + 1];
        cc_uuid_v4(org);
        cc_uuid_v4(user);
        char *token = cc_test_token("AGENT", org, user, 300);
        char auth[2048], url[256];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/notes", port);
        const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
        struct cc_test_response r;
        cc_test_http("POST", url, "{\"body\":\"a <note> & more\"}", 26, hdrs, &r);
        ck_assert_msg(r.status == 201, "status %ld: %s", r.status, r.body);
        json_object *out = json_tokener_parse(r.body);
        char *event_id = strdup(json_object_get_string(json_object_object_get(out, "event_id")));
        json_object_put(out);
        cc_test_response_fini(&r);

        /* An expired token is refused with the contract's body. */
        char *old = cc_test_token("AGENT", org, user, -120);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", old);
        cc_test_http("POST", url, "{\"body\":\"x\"}", 12, hdrs, &r);
        ck_assert_int_eq(r.status, 401);
        ck_assert_str_eq(r.body, "{\"detail\":\"Authentication failed\"}");
        cc_test_response_fini(&r);

        struct cc_kafka_consumer *c = cc_test_consumer("cc.users.v1", NULL, NULL);
        bool found = false;
        int64_t deadline = cc_monotonic_us() + 30 * 1000000LL;
        struct cc_kafka_message msg;
        while (!found && cc_test_consume(c, deadline, &msg) == 0) {
                Cc__Events__V1__Envelope *env = cc_event_unpack(msg.value, msg.value_len);
                if (env && strcmp(env->event_id, event_id) == 0) {
                        found = true;
                        ck_assert_str_eq(env->org_id, org);
                        ck_assert_str_eq(env->type, "team.updated");
                        ck_assert_str_eq(env->team_changed->name, "a <note> & more");
                }
                cc_event_free(env);
                cc_kafka_message_release(&msg);
        }
        cc_kafka_consumer_free(c);
        ck_assert_msg(found, "event %s never reached cc.users.v1", event_id);
        free(event_id);
        free(token);
        free(old);
        cc_service_stop(svc);
}
END_TEST

START_TEST(service_ready_while_pool_busy)
{
        set_env();
        setenv("CC_DB_POOL_SIZE", "1", 1);
        setenv("CC_DB_ACQUIRE_TIMEOUT_MS", "300", 1);
        struct cc_service *svc = NULL;
        char err[512];
        int r = cc_service_start(&def, &svc, err, sizeof(err));
        unsetenv("CC_DB_POOL_SIZE");
        unsetenv("CC_DB_ACQUIRE_TIMEOUT_MS");
        ck_assert_msg(r == 0, "start: %s", err);
        int port = cc_service_port(svc);

        /* Every request holds the only connection: the database answers, the replica is just
         * busy, and taking it out of rotation would only move its load elsewhere. */
        struct cc_db_conn *conn = cc_test_acquire(cc_service_pool(svc));
        char *body = NULL;
        long st = readyz(port, &body);
        ck_assert_msg(st == 200, "readyz with a busy pool: %ld %s", st, body);
        ck_assert_str_eq(body, "{\"status\":\"ready\"}");
        cc_db_release(conn);

        /* And once it is free again, across a fresh check (results are kept for a second). */
        int64_t until = cc_monotonic_us() + 1500000;
        while (cc_monotonic_us() < until) {
                st = readyz(port, &body);
                ck_assert_msg(st == 200, "readyz after release: %ld %s", st, body);
                usleep(100 * 1000);
        }
        free(body);
        cc_service_stop(svc);
}
END_TEST

/* ---- housekeeping ---- */

static atomic_int housekeeping_rounds;

static void count_round(struct cc_service *svc, struct cc_db_conn *conn)
{
        (void)svc;
        /* the connection is the service's, on its schema */
        if (cc_db_exec(conn, "SELECT count(*) FROM notes", 0, NULL, NULL) == 0)
                atomic_fetch_add(&housekeeping_rounds, 1);
}

static int ignore_event(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env, void *ud)
{
        (void)conn;
        (void)env;
        (void)ud;
        return 0;
}

static long long count_in(PGconn *pg, const char *where)
{
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.processed_events WHERE %s", schema,
                 where);
        PGresult *res = PQexec(pg, sql);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        long long n = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        return n;
}

/* The housekeeping thread runs at start and then every CC_HOUSEKEEPING_INTERVAL_MS: it forgets
 * consumed event ids older than CC_DEDUPE_RETENTION_DAYS (keeping the rest, so a redelivery of
 * those is still skipped) and runs the service's own job; it is gone once the service stops. */
START_TEST(service_housekeeping_forgets_old_event_ids)
{
        set_env();
        setenv("CC_HOUSEKEEPING_INTERVAL_MS", "100", 1);
        setenv("CC_DEDUPE_RETENTION_DAYS", "30", 1);
        static const char *const topics[] = {"cc.users.v1"};
        struct cc_service_def d = def;
        d.consume_topics = topics;
        d.nconsume_topics = 1;
        d.consume_handler = ignore_event;
        d.housekeeping = count_round;
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&d, &svc, err, sizeof(err)) == 0, "start: %s", err);

        PGconn *pg = PQconnectdb(cc_test_env("CC_TEST_DATABASE_URL"));
        ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s.processed_events (event_id, processed_at) "
                 "SELECT gen_random_uuid(), now() - d * interval '1 day' "
                 "FROM unnest(ARRAY[45, 40, 31, 29, 1]) AS d",
                 schema);
        PQclear(PQexec(pg, sql));
        ck_assert_int_eq(count_in(pg, "true"), 5);
        ck_assert_msg(
            CC_TEST_WAIT(count_in(pg, "processed_at < now() - interval '30 days'") == 0, 10000, 50),
            "ids older than 30 days are still there");
        ck_assert_int_eq(count_in(pg, "true"), 2);
        ck_assert(CC_TEST_WAIT(atomic_load(&housekeeping_rounds) >= 3, 10000, 20));

        cc_service_stop(svc);
        int after_stop = atomic_load(&housekeeping_rounds);
        usleep(300 * 1000);
        ck_assert_int_eq(atomic_load(&housekeeping_rounds), after_stop);
        PQfinish(pg);
        unsetenv("CC_HOUSEKEEPING_INTERVAL_MS");
        unsetenv("CC_DEDUPE_RETENTION_DAYS");
}
END_TEST

static void suite_setup(void)
{
        cc_test_unique("svctest", prefix, sizeof(prefix));
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(prefix);
}

static Suite *suite(void)
{
        Suite *s = suite_create("service");
        TCase *tc = tcase_create("service");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, service_starts_migrates_and_serves);
        tcase_add_test(tc, service_not_ready_while_brokers_down);
        tcase_add_test(tc, service_refuses_bad_settings);
        tcase_add_test(tc, service_ready_while_pool_busy);
        tcase_add_test(tc, service_request_event_reaches_kafka_through_outbox);
        tcase_add_test(tc, service_housekeeping_forgets_old_event_ids);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
