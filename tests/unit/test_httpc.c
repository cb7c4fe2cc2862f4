#include "cc/httpc.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cc/metrics.h"
#include "testlib.h"

/* A small libmicrohttpd server that records what it received and answers with srv.status. */
static struct {
        struct MHD_Daemon *daemon;
        int port;
        atomic_int connections;
        atomic_int requests;
        atomic_int status;   /* 0: 200 */
        atomic_int delay_ms; /* applied to /slow */

        pthread_mutex_t mu;
        pthread_cond_t cond;
        bool stopping;
        char method[16];
        char path[256];
        char authorization[256];
        char x_test[64];
        char content_type[64];
        char body[4096];
        size_t body_len;
} srv;

struct req_state {
        char body[4096];
        size_t len;
};

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t cap)
{
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
        snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
        struct req_state *st = *con_cls;
        if (!st) {
                /* Answering on the first call would make libmicrohttpd close the connection. */
                *con_cls = calloc(1, sizeof(*st));
                atomic_fetch_add(&srv.requests, 1);
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                if (n > sizeof(st->body) - st->len)
                        n = sizeof(st->body) - st->len;
                memcpy(st->body + st->len, upload_data, n);
                st->len += n;
                *upload_data_size = 0;
                return MHD_YES;
        }

        pthread_mutex_lock(&srv.mu);
        snprintf(srv.method, sizeof(srv.method), "%s", method);
        snprintf(srv.path, sizeof(srv.path), "%s", url);
        copy_header(conn, MHD_HTTP_HEADER_AUTHORIZATION, srv.authorization,
                    sizeof(srv.authorization));
        copy_header(conn, "X-Test", srv.x_test, sizeof(srv.x_test));
        copy_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE, srv.content_type, sizeof(srv.content_type));
        memcpy(srv.body, st->body, st->len);
        srv.body_len = st->len;
        if (strcmp(url, "/slow") == 0) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                long ns = until.tv_nsec + (long)atomic_load(&srv.delay_ms) * 1000000L;
                until.tv_sec += ns / 1000000000L;
                until.tv_nsec = ns % 1000000000L;
                while (!srv.stopping &&
                       pthread_cond_timedwait(&srv.cond, &srv.mu, &until) != ETIMEDOUT)
                        ;
        }
        pthread_mutex_unlock(&srv.mu);

        char reply[4200];
        int n;
        if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
                n = snprintf(reply, sizeof(reply), "%.*s", (int)st->len, st->body);
        else
                n = snprintf(reply, sizeof(reply), "{\"method\":\"%s\",\"path\":\"%s\"}", method,
                             url);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer((size_t)n, reply, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        int status = atomic_load(&srv.status);
        enum MHD_Result r = MHD_queue_response(conn, status ? (unsigned)status : 200, resp);
        MHD_destroy_response(resp);
        return r;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        free(*con_cls);
        *con_cls = NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
        if (toe == MHD_CONNECTION_NOTIFY_STARTED)
                atomic_fetch_add(&srv.connections, 1);
}

static void server_start(void)
{
        memset(&srv, 0, sizeof(srv));
        pthread_mutex_init(&srv.mu, NULL);
        pthread_cond_init(&srv.cond, NULL);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        srv.daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, handle,
            NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
            completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
        ck_assert_ptr_nonnull(srv.daemon);
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
        ck_assert_ptr_nonnull(info);
        srv.port = info->port;
        ck_assert_int_gt(srv.port, 0);
}

static void server_stop(void)
{
        pthread_mutex_lock(&srv.mu);
        srv.stopping = true;
        pthread_cond_broadcast(&srv.cond);
        pthread_mutex_unlock(&srv.mu);
        MHD_stop_daemon(srv.daemon);
        srv.daemon = NULL;
}

static struct cc_httpc *client_for(int port, int timeout_ms, int threshold, int open_ms)
{
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        struct cc_httpc_config cfg = {.name = "test",
                                      .base_url = base,
                                      .connect_timeout_ms = 1000,
                                      .timeout_ms = timeout_ms,
                                      .failure_threshold = threshold,
                                      .open_ms = open_ms};
        struct cc_httpc *c = cc_httpc_new(&cfg);
        ck_assert_ptr_nonnull(c);
        return c;
}

static int get(struct cc_httpc *c, const char *path, struct cc_httpc_response *resp)
{
        return cc_httpc_request(c, "GET", path, NULL, 0, NULL, 0, NULL, NULL, resp);
}

/* Like get() but for callers that only care about the outcome. */
static int get_status(struct cc_httpc *c, const char *path, long *ret_status)
{
        struct cc_httpc_response resp;
        int r = get(c, path, &resp);
        if (r == 0) {
                if (ret_status)
                        *ret_status = resp.status;
                cc_httpc_response_fini(&resp);
        }
        return r;
}

START_TEST(httpc_get_and_post_roundtrip)
{
        struct cc_httpc *c = client_for(srv.port, 5000, 5, 1000);
        struct cc_httpc_header hdrs[] = {{"X-Test", "abc"}};
        struct cc_httpc_response resp;
        ck_assert_int_eq(
            cc_httpc_request(c, "GET", "/hello?x=1", hdrs, 1, NULL, 0, "alice", "s3cret", &resp),
            0);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(resp.body, "{\"method\":\"GET\",\"path\":\"/hello\"}");
        ck_assert_uint_eq(resp.body_len, strlen(resp.body));
        ck_assert_str_eq(resp.content_type, "application/json");
        cc_httpc_response_fini(&resp);
        ck_assert_str_eq(srv.method, "GET");
        ck_assert_str_eq(srv.x_test, "abc");
        /* base64("alice:s3cret") */
        ck_assert_str_eq(srv.authorization, "Basic YWxpY2U6czNjcmV0");

        const char *body = "{\"name\":\"caf\xc3\xa9\",\"n\":1}";
        struct cc_httpc_header json[] = {{"Content-Type", "application/json"}};
        ck_assert_int_eq(
            cc_httpc_request(c, "POST", "/items", json, 1, body, strlen(body), NULL, NULL, &resp),
            0);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(resp.body, body);
        cc_httpc_response_fini(&resp);
        ck_assert_str_eq(srv.method, "POST");
        ck_assert_str_eq(srv.path, "/items");
        ck_assert_str_eq(srv.content_type, "application/json");
        ck_assert_str_eq(srv.authorization, "");
        ck_assert_uint_eq(srv.body_len, strlen(body));

        ck_assert_int_eq(cc_httpc_request(c, "PUT", "items/7", json, 1, "{}", 2, NULL, NULL, &resp),
                         0);
        cc_httpc_response_fini(&resp);
        ck_assert_str_eq(srv.method, "PUT");
        ck_assert_str_eq(srv.path, "/items/7");
        ck_assert_int_eq(
            cc_httpc_request(c, "DELETE", "/items/7", NULL, 0, NULL, 0, NULL, NULL, &resp), 0);
        cc_httpc_response_fini(&resp);
        ck_assert_str_eq(srv.method, "DELETE");

        /* A 4xx is an answer, not a failure. */
        atomic_store(&srv.status, 404);
        ck_assert_int_eq(get(c, "/missing", &resp), 0);
        ck_assert_int_eq(resp.status, 404);
        cc_httpc_response_fini(&resp);
        ck_assert_int_eq(cc_breaker_state(cc_httpc_breaker(c)), CC_BREAKER_CLOSED);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_method_with_body_sent_as_given)
{
        /* A body must not turn the request into a POST on the wire (curl's default once a body
         * is set). */
        struct cc_httpc *c = client_for(srv.port, 5000, 5, 1000);
        struct cc_httpc_header json[] = {{"Content-Type", "application/json"}};
        const char *methods[] = {"GET", "PUT", "DELETE", "PATCH", "POST"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(methods); i++) {
                char body[64];
                snprintf(body, sizeof(body), "{\"sent_with\":\"%s\"}", methods[i]);
                struct cc_httpc_response resp;
                ck_assert_int_eq(cc_httpc_request(c, methods[i], "/things/1", json, 1, body,
                                                  strlen(body), NULL, NULL, &resp),
                                 0);
                ck_assert_int_eq(resp.status, 200);
                cc_httpc_response_fini(&resp);
                ck_assert_str_eq(srv.method, methods[i]);
                ck_assert_str_eq(srv.path, "/things/1");
                ck_assert_uint_eq(srv.body_len, strlen(body));
                ck_assert(memcmp(srv.body, body, srv.body_len) == 0);
        }
        /* Without a body GET stays a plain GET, and the same handle still works for it. */
        struct cc_httpc_response resp;
        ck_assert_int_eq(get(c, "/things", &resp), 0);
        ck_assert_str_eq(resp.body, "{\"method\":\"GET\",\"path\":\"/things\"}");
        cc_httpc_response_fini(&resp);
        ck_assert_str_eq(srv.method, "GET");
        ck_assert_uint_eq(srv.body_len, 0);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_reuses_connection)
{
        struct cc_httpc *c = client_for(srv.port, 5000, 5, 1000);
        for (int i = 0; i < 6; i++) {
                long status = 0;
                if (i % 2) {
                        struct cc_httpc_response resp;
                        ck_assert_int_eq(
                            cc_httpc_request(c, "POST", "/p", NULL, 0, "x", 1, NULL, NULL, &resp),
                            0);
                        status = resp.status;
                        cc_httpc_response_fini(&resp);
                } else {
                        ck_assert_int_eq(get_status(c, "/g", &status), 0);
                }
                ck_assert_int_eq(status, 200);
        }
        ck_assert_int_eq(atomic_load(&srv.requests), 6);
        ck_assert_int_eq(atomic_load(&srv.connections), 1);
        cc_httpc_free(c);
}
END_TEST

struct parallel_arg {
        struct cc_httpc *c;
        int ok;
};

static void *parallel_worker(void *p)
{
        struct parallel_arg *a = p;
        for (int i = 0; i < 20; i++) {
                long status = 0;
                if (get_status(a->c, "/par", &status) == 0 && status == 200)
                        a->ok++;
        }
        return NULL;
}

START_TEST(httpc_parallel_requests)
{
        struct cc_httpc *c = client_for(srv.port, 5000, 5, 1000);
        pthread_t th[4];
        struct parallel_arg args[4];
        for (int i = 0; i < 4; i++) {
                args[i] = (struct parallel_arg){.c = c};
                pthread_create(&th[i], NULL, parallel_worker, &args[i]);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                ck_assert_int_eq(args[i].ok, 20);
        }
        ck_assert_int_eq(atomic_load(&srv.requests), 80);
        /* Handles are pooled, so connections stay near the concurrency, far below 80. */
        ck_assert_int_le(atomic_load(&srv.connections), 4);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_connect_refused)
{
        int port, fd = cc_test_bound_socket(&port);
        struct cc_httpc *c = client_for(port, 5000, 5, 1000);
        int64_t t0 = cc_monotonic_us();
        ck_assert_int_eq(get_status(c, "/x", NULL), -ECONNREFUSED);
        ck_assert_int_lt(cc_monotonic_us() - t0, 500000);
        cc_httpc_free(c);
        close(fd);
}
END_TEST

START_TEST(httpc_slow_server_times_out)
{
        atomic_store(&srv.delay_ms, 3000);
        struct cc_httpc *c = client_for(srv.port, 300, 5, 1000);
        int64_t t0 = cc_monotonic_us();
        ck_assert_int_eq(get_status(c, "/slow", NULL), -ETIMEDOUT);
        int64_t took = cc_monotonic_us() - t0;
        ck_assert_int_ge(took, 250000);
        ck_assert_int_lt(took, 1500000);
        /* A timed-out connection is not reused for the next call. */
        long status = 0;
        ck_assert_int_eq(get_status(c, "/fast", &status), 0);
        ck_assert_int_eq(status, 200);
        cc_httpc_free(c);
}
END_TEST

/* Retries until the breaker lets a call through; returns its result. */
static int wait_for_trial(struct cc_httpc *c, const char *path, long *ret_status)
{
        int r;
        CC_TEST_WAIT((r = get_status(c, path, ret_status)) != -EHOSTDOWN, 5000, 5);
        return r;
}

START_TEST(httpc_breaker_opens_and_fails_fast)
{
        atomic_store(&srv.status, 503);
        struct cc_httpc *c = client_for(srv.port, 5000, 3, 300);
        struct cc_breaker *b = cc_httpc_breaker(c);
        for (int i = 0; i < 3; i++) {
                long status = 0;
                ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_CLOSED);
                ck_assert_int_eq(get_status(c, "/down", &status), 0);
                ck_assert_int_eq(status, 503);
        }
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        ck_assert_int_eq(atomic_load(&srv.requests), 3);

        int64_t t0 = cc_monotonic_us();
        for (int i = 0; i < 1000; i++)
                ck_assert_int_eq(get_status(c, "/down", NULL), -EHOSTDOWN);
        int64_t took = cc_monotonic_us() - t0;
        printf("httpc: open breaker rejects in %.2f us\n", (double)took / 1000);
        ck_assert_int_lt(took, 1000000); /* far below one network round trip each */
        ck_assert_int_eq(atomic_load(&srv.requests), 3);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_breaker_half_open_success_closes)
{
        atomic_store(&srv.status, 500);
        struct cc_httpc *c = client_for(srv.port, 5000, 2, 200);
        struct cc_breaker *b = cc_httpc_breaker(c);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        int64_t opened = cc_monotonic_us();

        atomic_store(&srv.status, 200);
        long status = 0;
        ck_assert_int_eq(wait_for_trial(c, "/a", &status), 0);
        ck_assert_int_ge(cc_monotonic_us() - opened, 190000);
        ck_assert_int_eq(status, 200);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_CLOSED);
        ck_assert_int_eq(atomic_load(&srv.requests), 3);
        ck_assert_int_eq(get_status(c, "/a", &status), 0);
        ck_assert_int_eq(atomic_load(&srv.requests), 4);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_breaker_half_open_failure_reopens)
{
        atomic_store(&srv.status, 502);
        struct cc_httpc *c = client_for(srv.port, 5000, 2, 200);
        struct cc_breaker *b = cc_httpc_breaker(c);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);

        long status = 0;
        ck_assert_int_eq(wait_for_trial(c, "/a", &status), 0);
        ck_assert_int_eq(status, 502);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        ck_assert_int_eq(get_status(c, "/a", NULL), -EHOSTDOWN);
        ck_assert_int_eq(atomic_load(&srv.requests), 3);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_timeouts_and_refusals_open_breaker)
{
        int port, fd = cc_test_bound_socket(&port);
        struct cc_httpc *c = client_for(port, 5000, 2, 60000);
        ck_assert_int_eq(get_status(c, "/", NULL), -ECONNREFUSED);
        ck_assert_int_eq(get_status(c, "/", NULL), -ECONNREFUSED);
        ck_assert_int_eq(get_status(c, "/", NULL), -EHOSTDOWN);
        cc_httpc_free(c);
        close(fd);

        atomic_store(&srv.delay_ms, 2000);
        c = client_for(srv.port, 200, 2, 60000);
        ck_assert_int_eq(get_status(c, "/slow", NULL), -ETIMEDOUT);
        ck_assert_int_eq(get_status(c, "/slow", NULL), -ETIMEDOUT);
        ck_assert_int_eq(get_status(c, "/slow", NULL), -EHOSTDOWN);
        ck_assert_int_eq(atomic_load(&srv.requests), 2);
        cc_httpc_free(c);
}
END_TEST

struct trial_arg {
        struct cc_httpc *c;
        int result;
        long status;
};

static void *trial_worker(void *p)
{
        struct trial_arg *a = p;
        a->result = wait_for_trial(a->c, "/slow", &a->status);
        return NULL;
}

START_TEST(httpc_half_open_lets_one_call_through)
{
        atomic_store(&srv.status, 500);
        struct cc_httpc *c = client_for(srv.port, 5000, 1, 100);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        ck_assert_int_eq(cc_breaker_state(cc_httpc_breaker(c)), CC_BREAKER_OPEN);
        atomic_store(&srv.status, 200);
        atomic_store(&srv.delay_ms, 400);

        /* The trial hangs on the slow path; meanwhile every other call is refused. */
        struct trial_arg a = {.c = c};
        pthread_t th;
        pthread_create(&th, NULL, trial_worker, &a);
        CC_TEST_WAIT(atomic_load(&srv.requests) >= 2, 5000, 1);
        ck_assert_int_eq(atomic_load(&srv.requests), 2);
        ck_assert_int_eq(cc_breaker_state(cc_httpc_breaker(c)), CC_BREAKER_HALF_OPEN);
        ck_assert_int_eq(get_status(c, "/b", NULL), -EHOSTDOWN);
        pthread_join(th, NULL);
        ck_assert_int_eq(a.result, 0);
        ck_assert_int_eq(a.status, 200);
        ck_assert_int_eq(cc_breaker_state(cc_httpc_breaker(c)), CC_BREAKER_CLOSED);
        ck_assert_int_eq(atomic_load(&srv.requests), 2);
        cc_httpc_free(c);
}
END_TEST

START_TEST(httpc_breaker_state_in_metrics)
{
        atomic_store(&srv.status, 500);
        struct cc_httpc *c = client_for(srv.port, 5000, 1, 60000);
        char *text = cc_metrics_render();
        ck_assert_msg(strstr(text, "cc_http_client_breaker_state{client=\"test\"} 0"), "%s", text);
        free(text);
        ck_assert_int_eq(get_status(c, "/a", NULL), 0);
        text = cc_metrics_render();
        ck_assert_msg(strstr(text, "cc_http_client_breaker_state{client=\"test\"} 1"), "%s", text);
        free(text);
        cc_httpc_free(c);
        text = cc_metrics_render();
        ck_assert_msg(!strstr(text, "client=\"test\""), "%s", text);
        free(text);
}
END_TEST

START_TEST(httpc_bad_arguments)
{
        ck_assert_ptr_null(cc_httpc_new(NULL));
        ck_assert_ptr_null(cc_httpc_new(&(struct cc_httpc_config){.name = "x"}));
        struct cc_httpc *c = client_for(srv.port, 5000, 5, 1000);
        struct cc_httpc_response resp;
        ck_assert_int_eq(cc_httpc_request(c, NULL, "/", NULL, 0, NULL, 0, NULL, NULL, &resp),
                         -EINVAL);
        ck_assert_int_eq(cc_httpc_request(c, "GET", NULL, NULL, 0, NULL, 0, NULL, NULL, &resp),
                         -EINVAL);
        struct cc_httpc_header evil[] = {{"X-A", "1\r\nX-Injected: yes"}};
        ck_assert_int_eq(cc_httpc_request(c, "GET", "/", evil, 1, NULL, 0, NULL, NULL, &resp),
                         -EINVAL);
        struct cc_httpc_header badname[] = {{"X A", "1"}};
        ck_assert_int_eq(cc_httpc_request(c, "GET", "/", badname, 1, NULL, 0, NULL, NULL, &resp),
                         -EINVAL);
        ck_assert_int_eq(
            cc_httpc_request(c, "GET /x HTTP/1.1\r\n", "/", NULL, 0, NULL, 0, NULL, NULL, &resp),
            -EINVAL);
        ck_assert_int_eq(cc_httpc_request(c, "GET", "/a b", NULL, 0, NULL, 0, NULL, NULL, &resp),
                         -EINVAL);
        ck_assert_int_eq(atomic_load(&srv.requests), 0);
        cc_httpc_response_fini(NULL);
        cc_httpc_free(NULL);
        cc_httpc_free(c);
}
END_TEST

START_TEST(breaker_opens_after_consecutive_failures)
{
        struct cc_breaker *b = cc_breaker_new(3, 60000);
        ck_assert(cc_breaker_allow(b));
        cc_breaker_record(b, false);
        cc_breaker_record(b, false);
        cc_breaker_record(b, true); /* not consecutive any more */
        cc_breaker_record(b, false);
        cc_breaker_record(b, false);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_CLOSED);
        ck_assert(cc_breaker_allow(b));
        cc_breaker_record(b, false);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        ck_assert(!cc_breaker_allow(b));
        ck_assert(!cc_breaker_allow(b));
        cc_breaker_free(b);

        /* Defaults: five failures. */
        b = cc_breaker_new(0, 0);
        for (int i = 0; i < 4; i++)
                cc_breaker_record(b, false);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_CLOSED);
        cc_breaker_record(b, false);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        ck_assert(!cc_breaker_allow(b));
        cc_breaker_free(b);
        cc_breaker_free(NULL);
}
END_TEST

static bool wait_allowed(struct cc_breaker *b)
{
        return CC_TEST_WAIT(cc_breaker_allow(b), 5000, 2);
}

START_TEST(breaker_half_open_trial)
{
        struct cc_breaker *b = cc_breaker_new(1, 100);
        cc_breaker_record(b, false);
        int64_t opened = cc_monotonic_us();
        ck_assert(!cc_breaker_allow(b));
        ck_assert(wait_allowed(b));
        ck_assert_int_ge(cc_monotonic_us() - opened, 100000);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_HALF_OPEN);
        ck_assert(!cc_breaker_allow(b));
        cc_breaker_record(b, false);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
        opened = cc_monotonic_us();
        ck_assert(!cc_breaker_allow(b));

        /* The open period restarts from the failed trial. */
        ck_assert(wait_allowed(b));
        ck_assert_int_ge(cc_monotonic_us() - opened, 100000);
        cc_breaker_record(b, true);
        ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_CLOSED);
        ck_assert(cc_breaker_allow(b));
        ck_assert(cc_breaker_allow(b));
        cc_breaker_free(b);
}
END_TEST

#define RACERS 8

struct racer {
        struct cc_breaker *b;
        pthread_barrier_t *start;
        pthread_barrier_t *done;
        atomic_int *allowed;
        int rounds;
};

static void *racer_main(void *p)
{
        struct racer *r = p;
        for (int i = 0; i < r->rounds; i++) {
                pthread_barrier_wait(r->start);
                if (cc_breaker_allow(r->b))
                        atomic_fetch_add(r->allowed, 1);
                pthread_barrier_wait(r->done);
        }
        return NULL;
}

START_TEST(breaker_half_open_admits_one_of_many)
{
        enum { ROUNDS = 50 };
        struct cc_breaker *b = cc_breaker_new(1, 1);
        pthread_barrier_t start, done;
        pthread_barrier_init(&start, NULL, RACERS + 1);
        pthread_barrier_init(&done, NULL, RACERS + 1);
        atomic_int allowed = 0;
        struct racer racers[RACERS];
        pthread_t th[RACERS];
        for (int i = 0; i < RACERS; i++) {
                racers[i] = (struct racer){b, &start, &done, &allowed, ROUNDS};
                pthread_create(&th[i], NULL, racer_main, &racers[i]);
        }
        for (int round = 0; round < ROUNDS; round++) {
                cc_breaker_record(b, false); /* closed → open, or half-open → open */
                ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_OPEN);
                usleep(2000); /* lets the 1 ms open period pass */
                atomic_store(&allowed, 0);
                pthread_barrier_wait(&start);
                pthread_barrier_wait(&done);
                ck_assert_int_eq(atomic_load(&allowed), 1);
                ck_assert_int_eq(cc_breaker_state(b), CC_BREAKER_HALF_OPEN);
        }
        for (int i = 0; i < RACERS; i++)
                pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        pthread_barrier_destroy(&done);
        cc_breaker_free(b);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("httpc");
        TCase *tc = tcase_create("httpc");
        tcase_add_checked_fixture(tc, server_start, server_stop);
        tcase_add_test(tc, httpc_get_and_post_roundtrip);
        tcase_add_test(tc, httpc_method_with_body_sent_as_given);
        tcase_add_test(tc, httpc_reuses_connection);
        tcase_add_test(tc, httpc_parallel_requests);
        tcase_add_test(tc, httpc_connect_refused);
        tcase_add_test(tc, httpc_slow_server_times_out);
        tcase_add_test(tc, httpc_breaker_opens_and_fails_fast);
        tcase_add_test(tc, httpc_breaker_half_open_success_closes);
        tcase_add_test(tc, httpc_breaker_half_open_failure_reopens);
        tcase_add_test(tc, httpc_timeouts_and_refusals_open_breaker);
        tcase_add_test(tc, httpc_half_open_lets_one_call_through);
        tcase_add_test(tc, httpc_breaker_state_in_metrics);
        tcase_add_test(tc, httpc_bad_arguments);
        suite_add_tcase(s, tc);

        TCase *tb = tcase_create("breaker");
        tcase_add_test(tb, breaker_opens_after_consecutive_failures);
        tcase_add_test(tb, breaker_half_open_trial);
        tcase_add_test(tb, breaker_half_open_admits_one_of_many);
        suite_add_tcase(s, tb);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
