/* The five service binaries as an operator runs them: each starts against the test database and
 * broker, applies its migrations, answers /healthz, /readyz and /metrics, refuses a bad setting
 * with a message naming it, and stops cleanly on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "e2e.h"

static const char *const services[] = {"gateway", "telephony", "sms", "sentiment", "analytics"};
#define NSERVICES 5

START_TEST(stack_all_services_ready_and_stop_cleanly)
{
        struct proc procs[NSERVICES] = {0};
        for (int i = 0; i < NSERVICES; i++)
                spawn(services[i], NULL, &procs[i]);
        for (int i = 0; i < NSERVICES; i++) {
                bool ok = wait_ready(&procs[i], 60000);
                char *log = ok ? NULL : slurp(procs[i].log);
                ck_assert_msg(ok, "%s never became ready; log:\n%s", services[i], log);
                free(log);
        }

        for (int i = 0; i < NSERVICES; i++) {
                char url[128];
                struct cc_test_response r;
                snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", procs[i].port);
                cc_test_http("GET", url, NULL, 0, NULL, &r);
                ck_assert_int_eq(r.status, 200);
                cc_test_response_fini(&r);

                snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", procs[i].port);
                cc_test_http("GET", url, NULL, 0, NULL, &r);
                ck_assert_int_eq(r.status, 200);
                ck_assert_msg(strstr(r.body, "cc_http_requests_total{") != NULL,
                              "%s metrics lack request counters:\n%s", services[i], r.body);
                ck_assert_ptr_nonnull(strstr(r.body, "cc_outbox_backlog{"));
                ck_assert_ptr_nonnull(strstr(r.body, "cc_db_pool_connections_in_use{"));
                cc_test_response_fini(&r);

                snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/nothing-here", procs[i].port);
                cc_test_http("GET", url, NULL, 0, NULL, &r);
                ck_assert_int_eq(r.status, 404);
                ck_assert_ptr_nonnull(strstr(r.body, "\"detail\""));
                cc_test_response_fini(&r);
        }

        /* Each service applied its migrations into its own schema. */
        PGconn *pg = PQconnectdb(cc_test_env("CC_TEST_DATABASE_URL"));
        ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
        for (int i = 0; i < NSERVICES; i++) {
                char sql[256];
                snprintf(sql, sizeof(sql), "SELECT name FROM %s.schema_migrations ORDER BY name",
                         services[i]);
                PGresult *res = PQexec(pg, sql);
                ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", services[i],
                              PQerrorMessage(pg));
                ck_assert_int_ge(PQntuples(res), 1);
                ck_assert_str_eq(PQgetvalue(res, 0, 0), "000_outbox");
                PQclear(res);
        }
        PQfinish(pg);

        for (int i = 0; i < NSERVICES; i++) {
                int code = stop(&procs[i], 15000);
                char *log = code == 0 ? NULL : slurp(procs[i].log);
                ck_assert_msg(code == 0, "%s exited with %d on SIGTERM; log:\n%s", services[i],
                              code, log);
                free(log);
                unlink(procs[i].log);
        }
}
END_TEST

START_TEST(stack_restart_is_harmless)
{
        /* A second start against the same schema finds every migration applied and serves. */
        struct proc p = {0};
        spawn("telephony", NULL, &p);
        ck_assert(wait_ready(&p, 60000));
        ck_assert_int_eq(stop(&p, 15000), 0);
        p.port = 0;
        spawn("telephony", NULL, &p);
        ck_assert(wait_ready(&p, 60000));
        ck_assert_int_eq(stop(&p, 15000), 0);
        unlink(p.log);
}
END_TEST

static void expect_refusal(const char *override, const char *needle)
{
        const char *const overrides[] = {override, NULL};
        struct proc p = {0};
        spawn("sms", overrides, &p);
        int status = 0;
        ck_assert_int_eq(waitpid(p.pid, &status, 0), p.pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_ne(WEXITSTATUS(status), 0);
        char *log = slurp(p.log);
        ck_assert_msg(strstr(log, needle) != NULL, "expected '%s' in:\n%s", needle, log);
        free(log);
        unlink(p.log);
}

START_TEST(stack_bad_settings_stop_the_service_with_their_name)
{
        expect_refusal("CC_DATABASE_URL=", "CC_DATABASE_URL");
        expect_refusal("CC_HTTP_PORT=99999", "CC_HTTP_PORT");
        expect_refusal("CC_HTTP_THREADS=many", "CC_HTTP_THREADS");
        expect_refusal("CC_LOG_LEVEL=loud", "CC_LOG_LEVEL");
        expect_refusal("CC_JWT_PUBLIC_KEY_FILE=/nonexistent.pem", "CC_JWT_PUBLIC_KEY_FILE");
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("stack");
        TCase *tc = tcase_create("stack");
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, stack_all_services_ready_and_stop_cleanly);
        tcase_add_test(tc, stack_restart_is_harmless);
        tcase_add_test(tc, stack_bad_settings_stop_the_service_with_their_name);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
