/* The whole gateway in one process (identity and front door, real users signed up and created
 * through its own routes) in front of test upstreams (library HTTP servers on loopback) that
 * echo what they receive, answer slowly, fail, or are not there at all. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway_test.h"
#include "cc/http.h"
#include "cc/json.h"
#include "cc/service.h"
#include "frontdoor.h"

#define SLOW_MS    1500
#define TIMEOUT_MS 1000
#define FAILURES   3
#define OPEN_MS    300

/* ---- test upstreams ---- */

static atomic_int echo_hits;
static atomic_int slow_inflight;
static atomic_int flaky_hits;
static atomic_bool flaky_healthy;

static const char *const echoed_headers[] = {
    "Authorization",    "Content-Type",        "Accept",          "X-Twilio-Signature",
    "X-Request-Id",     "traceparent",         "X-Forwarded-For", "X-Forwarded-Proto",
    "X-Forwarded-Host", "Connection",          "Keep-Alive",      "TE",
    "Upgrade",          "Proxy-Authorization", "X-Custom",
};

/* Replies with what arrived: method, path, raw query, the headers above and the body. */
static void h_echo(struct cc_http_req *req)
{
        atomic_fetch_add(&echo_hits, 1);
        size_t len;
        const char *body = cc_http_req_body(req, &len);
        if (strstr(cc_http_req_path(req), "echo-body")) {
                const char *ct = cc_http_req_header(req, "Content-Type");
                cc_http_reply_raw(req, 200, ct ? ct : "application/octet-stream", body, len);
                return;
        }
        json_object *o = json_object_new_object(), *h = json_object_new_object();
        json_object_object_add(o, "method", json_object_new_string(cc_http_req_method(req)));
        json_object_object_add(o, "path", json_object_new_string(cc_http_req_path(req)));
        json_object_object_add(o, "query", json_object_new_string(cc_http_req_query_string(req)));
        for (size_t i = 0; i < CC_ARRAY_SIZE(echoed_headers); i++) {
                const char *v = cc_http_req_header(req, echoed_headers[i]);
                if (v)
                        json_object_object_add(h, echoed_headers[i], json_object_new_string(v));
        }
        json_object_object_add(o, "headers", h);
        json_object_object_add(o, "body", json_object_new_string_len(body, (int)len));
        const char *status = cc_http_req_query(req, "status");
        cc_http_reply_header(req, "X-Upstream", "echo");
        cc_http_reply_header(req, "Cache-Control", "no-store");
        cc_http_reply_json(req, status ? atoi(status) : 200, o);
}

static void *slow_reply(void *arg)
{
        usleep(SLOW_MS * 1000);
        atomic_fetch_sub(&slow_inflight, 1);
        cc_http_reply_error(arg, 200, "slow");
        return NULL;
}

/* Answers SLOW_MS later from a thread of its own, so the upstream itself never runs out of
 * workers (MHD binds each connection to one worker thread). */
static void h_slow(struct cc_http_req *req)
{
        atomic_fetch_add(&slow_inflight, 1);
        cc_http_req_defer(req);
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, slow_reply, req), 0);
        pthread_detach(t);
}

static void h_flaky(struct cc_http_req *req)
{
        atomic_fetch_add(&flaky_hits, 1);
        if (atomic_load(&flaky_healthy))
                cc_http_reply_error(req, 200, "fine");
        else
                cc_http_reply_error(req, 500, "broken");
}

#define ALL_METHODS(pattern, fn)                                                                   \
        {"GET", pattern, fn, CC_ROLE_NONE, CC_HTTP_RAW_BODY},                                      \
            {"POST", pattern, fn, CC_ROLE_NONE, CC_HTTP_RAW_BODY},                                 \
            {"PUT", pattern, fn, CC_ROLE_NONE, CC_HTTP_RAW_BODY},                                  \
            {"PATCH", pattern, fn, CC_ROLE_NONE, CC_HTTP_RAW_BODY},                                \
        {                                                                                          \
                "DELETE", pattern, fn, CC_ROLE_NONE, CC_HTTP_RAW_BODY                              \
        }

static const struct cc_http_route echo_routes[] = {ALL_METHODS("/api/{*rest}", h_echo)};
static const struct cc_http_route slow_routes[] = {ALL_METHODS("/api/{*rest}", h_slow)};
static const struct cc_http_route flaky_routes[] = {ALL_METHODS("/api/{*rest}", h_flaky)};

static struct cc_http_server *upstream_start(const struct cc_http_route *routes, size_t n,
                                             int threads, const char *cors)
{
        const struct cc_http_server_config cfg = {
            .service = "upstream",
            .bind_addr = "127.0.0.1",
            .threads = threads,
            .max_body = 4u << 20,
            .cors_origins = cors,
        };
        char err[256];
        struct cc_http_server *srv = cc_http_server_new(&cfg, routes, n, err, sizeof(err));
        ck_assert_msg(srv, "upstream: %s", err);
        ck_assert_int_eq(cc_http_server_start(srv), 0);
        return srv;
}

/* ---- the gateway under test ---- */

static struct cc_http_server *echo_up, *slow_up, *flaky_up;
static int refused_fd;
static struct cc_service *svc;
static char base[64];
/* An organization's admin (signed up), and a supervisor and an agent the admin created. */
static struct gt_session admin, sup, agent;
static const char *agent_token, *sup_token;

static void set_url(const char *var, int port)
{
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
        setenv(var, url, 1);
}

static void setup(void)
{
        atomic_store(&echo_hits, 0);
        atomic_store(&slow_inflight, 0);
        atomic_store(&flaky_hits, 0);
        atomic_store(&flaky_healthy, false);
        echo_up = upstream_start(echo_routes, CC_ARRAY_SIZE(echo_routes), 4, NULL);
        slow_up = upstream_start(slow_routes, CC_ARRAY_SIZE(slow_routes), 2, NULL);
        flaky_up = upstream_start(flaky_routes, CC_ARRAY_SIZE(flaky_routes), 2, NULL);
        int refused_port;
        refused_fd = cc_test_bound_socket(&refused_port);
        gt_env(true);
        /* The identity tests' small body limit would refuse the 1 MiB upload; the CORS test
         * checks the default origins. */
        unsetenv("CC_HTTP_MAX_BODY");
        unsetenv("CC_CORS_ORIGINS");
        set_url("CC_TELEPHONY_URL", cc_http_server_port(echo_up));
        set_url("CC_SMS_URL", cc_http_server_port(slow_up));
        set_url("CC_SENTIMENT_URL", refused_port);
        set_url("CC_ANALYTICS_URL", cc_http_server_port(flaky_up));
        char n[16];
        snprintf(n, sizeof(n), "%d", TIMEOUT_MS);
        setenv("CC_UPSTREAM_TIMEOUT_MS", n, 1);
        snprintf(n, sizeof(n), "%d", FAILURES);
        setenv("CC_UPSTREAM_FAILURES", n, 1);
        snprintf(n, sizeof(n), "%d", OPEN_MS);
        setenv("CC_UPSTREAM_OPEN_MS", n, 1);

        char err[512];
        int r = cc_service_start(&gt_def, &svc, err, sizeof(err));
        ck_assert_msg(r == 0, "gateway: %s", err);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", cc_service_port(svc));
        gt_signup(svc, "admin@proxy.example", &admin);
        gt_add_user(svc, &admin, "sup@proxy.example", "SUPERVISOR", &sup);
        gt_add_user(svc, &admin, "agent@proxy.example", "AGENT", &agent);
        agent_token = agent.access;
        sup_token = sup.access;
}

static void teardown(void)
{
        cc_service_stop(svc);
        cc_http_server_free(echo_up);
        cc_http_server_free(slow_up);
        cc_http_server_free(flaky_up);
        close(refused_fd);
        gt_session_fini(&admin);
        gt_session_fini(&sup);
        gt_session_fini(&agent);
}

static void request(const char *method, const char *path, const char *token, const char *body,
                    size_t body_len, const char *const *extra, struct cc_test_response *resp)
{
        char url[4096], auth[4096];
        snprintf(url, sizeof(url), "%s%s", base, path);
        const char *headers[24];
        size_t n = 0;
        if (token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                headers[n++] = auth;
        }
        for (size_t i = 0; extra && extra[i] && n < 22; i++)
                headers[n++] = extra[i];
        headers[n] = NULL;
        cc_test_http(method, url, body, body_len, headers, resp);
}

static json_object *body_json(const struct cc_test_response *resp)
{
        json_object *o = json_tokener_parse(resp->body);
        ck_assert_msg(o, "not JSON: %s", resp->body);
        return o;
}

static const char *field(json_object *o, const char *path)
{
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", path);
        json_object *cur = o;
        for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(cur, k, &cur))
                        return NULL;
        return json_object_get_string(cur);
}

static void assert_detail(const struct cc_test_response *resp, long status, const char *detail)
{
        ck_assert_msg(resp->status == status, "status %ld (want %ld): %s", resp->status, status,
                      resp->body);
        json_object *o = body_json(resp);
        ck_assert_str_eq(field(o, "detail"), detail);
        json_object_put(o);
}

/* ---- tests ---- */

START_TEST(gateway_proxy_forwards_request_and_reply)
{
        const char *extra[] = {
            "Content-Type: application/json",
            "Accept: application/json",
            "X-Twilio-Signature: sig=",
            "X-Request-Id: req-abc-123",
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "Connection: keep-alive, X-Custom",
            "Keep-Alive: timeout=5",
            "TE: trailers",
            "Upgrade: websocket",
            "Proxy-Authorization: Basic eDp5",
            "X-Custom: dropped",
            NULL,
        };
        const char *path = "/api/calls/c1/notes%2Fx?status=418&a=1&b=x%20y&c=%2F&d=a+b&e&"
                           "call_ids=1&call_ids=2";
        struct cc_test_response resp;
        request("PUT", path, agent_token, "{\"notes\":\"hi\"}", 14, extra, &resp);
        ck_assert_msg(resp.status == 418, "status %ld: %s", resp.status, resp.body);
        char buf[256];
        ck_assert_str_eq(cc_test_response_header(&resp, "X-Upstream", buf, sizeof(buf)), "echo");
        ck_assert_str_eq(cc_test_response_header(&resp, "Cache-Control", buf, sizeof(buf)),
                         "no-store");
        ck_assert_str_eq(cc_test_response_header(&resp, "Content-Type", buf, sizeof(buf)),
                         "application/json");
        ck_assert_str_eq(cc_test_response_header(&resp, "X-Request-Id", buf, sizeof(buf)),
                         "req-abc-123");
        json_object *o = body_json(&resp);
        ck_assert_str_eq(field(o, "method"), "PUT");
        ck_assert_str_eq(field(o, "path"), "/api/calls/c1/notes%2Fx");
        ck_assert_str_eq(field(o, "query"),
                         "status=418&a=1&b=x%20y&c=%2F&d=a+b&e&call_ids=1&call_ids=2");
        ck_assert_str_eq(field(o, "body"), "{\"notes\":\"hi\"}");
        char want_auth[4096];
        snprintf(want_auth, sizeof(want_auth), "Bearer %s", agent_token);
        ck_assert_str_eq(field(o, "headers.Authorization"), want_auth);
        ck_assert_str_eq(field(o, "headers.Content-Type"), "application/json");
        ck_assert_str_eq(field(o, "headers.Accept"), "application/json");
        ck_assert_str_eq(field(o, "headers.X-Twilio-Signature"), "sig=");
        ck_assert_str_eq(field(o, "headers.X-Request-Id"), "req-abc-123");
        ck_assert_str_eq(field(o, "headers.traceparent"),
                         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        ck_assert_str_eq(field(o, "headers.X-Forwarded-For"), "127.0.0.1");
        ck_assert_str_eq(field(o, "headers.X-Forwarded-Proto"), "http");
        ck_assert_str_eq(field(o, "headers.X-Forwarded-Host"), base + strlen("http://"));
        /* Hop-by-hop and unknown headers stay at the gateway (the upstream's own connection
         * header would say keep-alive, not name X-Custom). */
        const char *conn = field(o, "headers.Connection");
        ck_assert(!conn || !strstr(conn, "X-Custom"));
        ck_assert_ptr_null(field(o, "headers.Keep-Alive"));
        ck_assert_ptr_null(field(o, "headers.TE"));
        ck_assert_ptr_null(field(o, "headers.Upgrade"));
        ck_assert_ptr_null(field(o, "headers.Proxy-Authorization"));
        ck_assert_ptr_null(field(o, "headers.X-Custom"));
        json_object_put(o);
        cc_test_response_fini(&resp);

        /* A bare '?' and a collection root with its slash. */
        request("GET", "/api/calls/?", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        o = body_json(&resp);
        ck_assert_str_eq(field(o, "path"), "/api/calls/");
        ck_assert_str_eq(field(o, "query"), "");
        ck_assert_str_eq(field(o, "method"), "GET");
        json_object_put(o);
        cc_test_response_fini(&resp);
}
END_TEST

START_TEST(gateway_proxy_passes_large_body)
{
        size_t len = 1u << 20;
        char *big = cc_xmalloc(len);
        for (size_t i = 0; i < len; i++)
                big[i] = (char)('a' + (i * 7) % 26);
        const char *extra[] = {"Content-Type: text/csv", NULL};
        struct cc_test_response resp;
        request("POST", "/api/contacts/echo-body", agent_token, big, len, extra, &resp);
        ck_assert_msg(resp.status == 200, "status %ld", resp.status);
        char buf[64];
        ck_assert_str_eq(cc_test_response_header(&resp, "Content-Type", buf, sizeof(buf)),
                         "text/csv");
        ck_assert_uint_eq(strlen(resp.body), len);
        ck_assert(memcmp(resp.body, big, len) == 0);
        cc_test_response_fini(&resp);
        free(big);
}
END_TEST

START_TEST(gateway_proxy_enforces_roles)
{
        struct cc_test_response resp;
        request("GET", "/api/calls/", NULL, NULL, 0, NULL, &resp);
        assert_detail(&resp, 401, "Not authenticated");
        cc_test_response_fini(&resp);
        request("GET", "/api/calls/", "not.a.token", NULL, 0, NULL, &resp);
        assert_detail(&resp, 401, "Authentication failed");
        cc_test_response_fini(&resp);
        /* SUP routes from the table: an agent is refused before anything is forwarded. */
        const char *sup_routes[][2] = {
            {"GET", "/api/supervisor/active-calls"},
            {"POST", "/api/contacts/bulk-import?campaign_id=x"},
            {"DELETE", "/api/contacts/c1"},
            {"PUT", "/api/ivr/config"},
            {"POST", "/api/telephony/transfer"},
            {"GET", "/api/sentiment/alerts"},
            {"POST", "/api/supervisor/unlisted/path"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(sup_routes); i++) {
                request(sup_routes[i][0], sup_routes[i][1], agent_token, NULL, 0, NULL, &resp);
                assert_detail(&resp, 403, "Supervisor or admin access required");
                cc_test_response_fini(&resp);
        }
        request("GET", "/api/supervisor/active-calls", sup_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        /* Agents reach "any" routes, also ones newer than the table under a known prefix. */
        request("GET", "/api/queues/q1/members", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        /* Webhooks are public. */
        request("POST", "/api/webhooks/twilio/call-status", NULL, "CallSid=x", 9, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        json_object *o = body_json(&resp);
        ck_assert_str_eq(field(o, "body"), "CallSid=x");
        json_object_put(o);
        cc_test_response_fini(&resp);
        /* Paths nobody owns. */
        request("GET", "/api/nowhere", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 404);
        cc_test_response_fini(&resp);
}
END_TEST

START_TEST(gateway_proxy_503_when_upstream_down)
{
        struct cc_test_response resp;
        request("POST", "/api/sentiment/analyze", agent_token, "{}", 2, NULL, &resp);
        assert_detail(&resp, 503, "sentiment unavailable");
        cc_test_response_fini(&resp);
}
END_TEST

START_TEST(gateway_proxy_504_on_timeout)
{
        struct cc_test_response resp;
        int64_t t0 = cc_monotonic_us();
        request("GET", "/api/sms/inbox", agent_token, NULL, 0, NULL, &resp);
        int64_t ms = (cc_monotonic_us() - t0) / 1000;
        assert_detail(&resp, 504, "sms timed out");
        ck_assert_msg(ms >= TIMEOUT_MS - 50 && ms < SLOW_MS, "answered after %lld ms",
                      (long long)ms);
        cc_test_response_fini(&resp);
}
END_TEST

START_TEST(gateway_proxy_breaker_opens_and_recovers)
{
        struct cc_test_response resp;
        for (int i = 0; i < FAILURES; i++) {
                request("GET", "/api/analytics/dashboard", agent_token, NULL, 0, NULL, &resp);
                assert_detail(&resp, 500, "broken"); /* passed through unchanged */
                cc_test_response_fini(&resp);
        }
        ck_assert_int_eq(atomic_load(&flaky_hits), FAILURES);
        /* Open: answered by the gateway alone, quickly. */
        int64_t t0 = cc_monotonic_us();
        request("GET", "/api/analytics/dashboard", agent_token, NULL, 0, NULL, &resp);
        int64_t us = cc_monotonic_us() - t0;
        assert_detail(&resp, 503, "analytics unavailable");
        cc_test_response_fini(&resp);
        ck_assert_int_eq(atomic_load(&flaky_hits), FAILURES);
        ck_assert_msg(us < 50000, "open breaker took %lld us", (long long)us);

        /* Half-open after OPEN_MS: one trial reaches the recovered upstream and closes it. */
        atomic_store(&flaky_healthy, true);
        usleep((OPEN_MS + 50) * 1000);
        request("GET", "/api/analytics/dashboard", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        request("GET", "/api/analytics/calls", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        ck_assert_int_eq(atomic_load(&flaky_hits), FAILURES + 2);
}
END_TEST

static void *slow_client(void *arg)
{
        struct cc_test_response resp;
        request("GET", "/api/sms/inbox", agent_token, NULL, 0, NULL, &resp);
        *(long *)arg = resp.status;
        cc_test_response_fini(&resp);
        return NULL;
}

START_TEST(gateway_proxy_slow_upstream_does_not_stall_others)
{
        /* The gateway has two HTTP worker threads (cc_test_service_env). */
        pthread_t threads[10];
        long statuses[10];
        for (int i = 0; i < 10; i++)
                ck_assert_int_eq(pthread_create(&threads[i], NULL, slow_client, &statuses[i]), 0);
        ck_assert_msg(CC_TEST_WAIT(atomic_load(&slow_inflight) == 10, 2000, 5),
                      "only %d slow requests reached the upstream", atomic_load(&slow_inflight));
        int64_t t0 = cc_monotonic_us();
        struct cc_test_response resp;
        request("GET", "/api/calls/fast", agent_token, NULL, 0, NULL, &resp);
        int64_t ms = (cc_monotonic_us() - t0) / 1000;
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        ck_assert_msg(ms < 200, "fast request took %lld ms behind slow ones", (long long)ms);
        for (int i = 0; i < 10; i++) {
                pthread_join(threads[i], NULL);
                ck_assert_int_eq(statuses[i], 504);
        }
}
END_TEST

START_TEST(gateway_proxy_root_and_health)
{
        struct cc_test_response resp;
        request("GET", "/", NULL, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(resp.body, "{\"name\":\"Voice by Kraliki API\",\"version\":\"2.0.0\","
                                    "\"status\":\"running\",\"stack\":\"C\"}");
        cc_test_response_fini(&resp);

        /* Probes run in the background; wait for the first round. */
        bool seen = false;
        int64_t deadline = cc_monotonic_us() + 3000000;
        while (!seen && cc_monotonic_us() < deadline) {
                request("GET", "/health", NULL, NULL, 0, NULL, &resp);
                ck_assert_int_eq(resp.status, 200);
                json_object *o = body_json(&resp);
                const char *t = field(o, "services.telephony");
                seen = t && strcmp(t, "ready") == 0;
                if (seen) {
                        ck_assert_str_eq(field(o, "status"), "degraded");
                        ck_assert_str_eq(field(o, "database"), "connected");
                        ck_assert_str_eq(field(o, "services.sentiment"), "unavailable");
                        ck_assert_str_eq(field(o, "services.sms"), "ready");
                        ck_assert_str_eq(field(o, "services.analytics"), "ready");
                }
                json_object_put(o);
                cc_test_response_fini(&resp);
                if (!seen)
                        usleep(50000);
        }
        ck_assert_msg(seen, "telephony never reported ready");
}
END_TEST

static bool route_listed(json_object *paths, const char *method, const char *pattern)
{
        json_object *item, *op;
        char lower[16];
        size_t i = 0;
        for (; method[i] && i < sizeof(lower) - 1; i++)
                lower[i] = (char)(method[i] | 0x20);
        lower[i] = '\0';
        return json_object_object_get_ex(paths, pattern, &item) &&
               json_object_object_get_ex(item, lower, &op);
}

START_TEST(gateway_proxy_openapi_lists_every_route)
{
        struct cc_test_response resp;
        request("GET", "/openapi.json", NULL, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        json_object *doc = body_json(&resp), *paths, *v;
        ck_assert(json_object_object_get_ex(doc, "openapi", &v));
        ck_assert_str_eq(json_object_get_string(v), "3.1.0");
        ck_assert(json_object_object_get_ex(doc, "paths", &paths));
        /* The routes the gateway serves: identity's and the front door's, as wired. */
        const struct cc_service_def *gw = gateway_service_def();
        size_t expected = 0;
        bool has_login = false, has_health = false;
        for (size_t i = 0; i < gw->nroutes; i++) {
                const struct cc_http_route *rt = &gw->routes[i];
                has_login |= strcmp(rt->pattern, "/api/auth/login") == 0;
                has_health |= strcmp(rt->pattern, "/health") == 0;
                if (strstr(rt->pattern, "{*"))
                        continue; /* prefix catch-alls: described in info.description */
                ck_assert_msg(route_listed(paths, rt->method, rt->pattern),
                              "%s %s missing from openapi.json", rt->method, rt->pattern);
                expected++;
        }
        ck_assert_msg(has_login && has_health, "the gateway's table lacks a half");
        /* And nothing else: the document's operation count is the tables'. */
        size_t documented = 0;
        json_object_object_foreach(paths, key, item)
        {
                (void)key;
                documented += (size_t)json_object_object_length(item);
        }
        ck_assert_uint_eq(documented, expected);
        json_object_put(doc);
        cc_test_response_fini(&resp);
}
END_TEST

/* CORS is the HTTP library's, switched on by the gateway's service definition with the
 * front door's origins (FRONTDOOR_DEFAULT_CORS_ORIGINS unless CC_CORS_ORIGINS says otherwise). */
START_TEST(gateway_proxy_cors)
{
        char url[128], buf[256];
        struct cc_test_response resp;
        snprintf(url, sizeof(url), "%s/api/anything/at/all", base);
        const char *pre[] = {"Origin: http://localhost:5173", "Access-Control-Request-Method: PUT",
                             "Access-Control-Request-Headers: authorization,content-type", NULL};
        cc_test_http("OPTIONS", url, NULL, 0, pre, &resp);
        ck_assert_int_eq(resp.status, 204);
        ck_assert_str_eq(
            cc_test_response_header(&resp, "Access-Control-Allow-Origin", buf, sizeof(buf)),
            "http://localhost:5173");
        ck_assert_str_eq(
            cc_test_response_header(&resp, "Access-Control-Allow-Credentials", buf, sizeof(buf)),
            "true");
        ck_assert_ptr_nonnull(
            strstr(cc_test_response_header(&resp, "Access-Control-Allow-Methods", buf, sizeof(buf)),
                   "PUT"));
        ck_assert_str_eq(
            cc_test_response_header(&resp, "Access-Control-Allow-Headers", buf, sizeof(buf)),
            "authorization,content-type");
        ck_assert_str_eq(cc_test_response_header(&resp, "Vary", buf, sizeof(buf)), "Origin");
        cc_test_response_fini(&resp);

        const char *bad[] = {"Origin: http://evil.example", "Access-Control-Request-Method: GET",
                             NULL};
        cc_test_http("OPTIONS", url, NULL, 0, bad, &resp);
        ck_assert_int_eq(resp.status, 400);
        ck_assert_ptr_null(
            cc_test_response_header(&resp, "Access-Control-Allow-Origin", buf, sizeof(buf)));
        cc_test_response_fini(&resp);

        /* A forwarded request's reply (made on the proxy's thread) carries them too. */
        const char *actual[] = {"Origin: http://127.0.0.1:5174", NULL};
        request("GET", "/api/calls/", agent_token, NULL, 0, actual, &resp);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(
            cc_test_response_header(&resp, "Access-Control-Allow-Origin", buf, sizeof(buf)),
            "http://127.0.0.1:5174");
        ck_assert_str_eq(cc_test_response_header(&resp, "Vary", buf, sizeof(buf)), "Origin");
        cc_test_response_fini(&resp);

        request("GET", "/", NULL, NULL, 0, actual, &resp);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(
            cc_test_response_header(&resp, "Access-Control-Allow-Origin", buf, sizeof(buf)),
            "http://127.0.0.1:5174");
        cc_test_response_fini(&resp);

        request("GET", "/api/calls/", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_ptr_null(
            cc_test_response_header(&resp, "Access-Control-Allow-Origin", buf, sizeof(buf)));
        cc_test_response_fini(&resp);
}
END_TEST

/* A token outlives its user's deactivation; the front door asks identity, so the still-valid
 * token of a deactivated user (and of a user that never existed) is refused at the door. */
START_TEST(gateway_proxy_refuses_inactive_user)
{
        struct cc_test_response resp;
        request("GET", "/api/calls/", agent_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        ck_assert_int_eq(atomic_load(&echo_hits), 1);

        char path[128];
        snprintf(path, sizeof(path), "/api/users/%s", agent.user_id);
        ck_assert_int_eq(gt_call(svc, "DELETE", path, NULL, admin.access, NULL), 204);
        /* At once, not after the active cache's CC_ACTIVE_CACHE_MS. */
        request("GET", "/api/calls/", agent_token, NULL, 0, NULL, &resp);
        assert_detail(&resp, 403, "User account is not active");
        cc_test_response_fini(&resp);
        request("POST", "/api/contacts/echo-body", agent_token, "x", 1, NULL, &resp);
        assert_detail(&resp, 403, "User account is not active");
        cc_test_response_fini(&resp);

        /* A well-signed token for a user id the gateway does not know (the same signing for a
         * known user passes, so the refusal is the user's, not the token's). */
        char *known = cc_test_token("SUPERVISOR", admin.org_id, sup.user_id, 600);
        request("GET", "/api/calls/", known, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        free(known);
        char *ghost =
            cc_test_token("AGENT", admin.org_id, "44444444-4444-4444-8444-444444444444", 600);
        request("GET", "/api/calls/", ghost, NULL, 0, NULL, &resp);
        assert_detail(&resp, 401, "Authentication failed");
        cc_test_response_fini(&resp);
        free(ghost);

        /* The others of the organization still pass. */
        request("GET", "/api/supervisor/active-calls", sup_token, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        cc_test_response_fini(&resp);
        ck_assert_int_eq(atomic_load(&echo_hits), 3);
}
END_TEST

/* A deferred reply made before the handler returns (the handler's thread has not suspended the
 * connection yet) and one made later from another thread both reach the client. */
static void h_defer_now(struct cc_http_req *req)
{
        cc_http_req_defer(req);
        cc_http_reply_header(req, "X-Deferred", "now");
        cc_http_reply_raw(req, 201, "text/plain", "now", 3);
}

static void *defer_later_reply(void *arg)
{
        usleep(20000);
        cc_http_reply_raw(arg, 202, "text/plain", "later", 5);
        return NULL;
}

static void h_defer_later(struct cc_http_req *req)
{
        cc_http_req_defer(req);
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, defer_later_reply, req), 0);
        pthread_detach(t);
}

START_TEST(gateway_proxy_deferred_replies)
{
        static const struct cc_http_route routes[] = {
            {"GET", "/now", h_defer_now, CC_ROLE_NONE, 0},
            {"GET", "/later", h_defer_later, CC_ROLE_NONE, 0},
        };
        struct cc_http_server *srv = upstream_start(routes, CC_ARRAY_SIZE(routes), 1, NULL);
        char url[128], buf[64];
        struct cc_test_response resp;
        for (int i = 0; i < 20; i++) {
                snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", cc_http_server_port(srv),
                         i % 2 ? "later" : "now");
                cc_test_http("GET", url, NULL, 0, NULL, &resp);
                ck_assert_int_eq(resp.status, i % 2 ? 202 : 201);
                ck_assert_str_eq(resp.body, i % 2 ? "later" : "now");
                if (i % 2 == 0)
                        ck_assert_str_eq(
                            cc_test_response_header(&resp, "X-Deferred", buf, sizeof(buf)), "now");
                ck_assert_ptr_nonnull(
                    cc_test_response_header(&resp, "X-Request-Id", buf, sizeof(buf)));
                cc_test_response_fini(&resp);
        }
        cc_http_server_free(srv);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("gateway_proxy");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, gt_suite_setup, gt_suite_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, gateway_proxy_forwards_request_and_reply);
        tcase_add_test(tc, gateway_proxy_passes_large_body);
        tcase_add_test(tc, gateway_proxy_enforces_roles);
        tcase_add_test(tc, gateway_proxy_503_when_upstream_down);
        tcase_add_test(tc, gateway_proxy_504_on_timeout);
        tcase_add_test(tc, gateway_proxy_breaker_opens_and_recovers);
        tcase_add_test(tc, gateway_proxy_slow_upstream_does_not_stall_others);
        tcase_add_test(tc, gateway_proxy_root_and_health);
        tcase_add_test(tc, gateway_proxy_openapi_lists_every_route);
        tcase_add_test(tc, gateway_proxy_cors);
        tcase_add_test(tc, gateway_proxy_refuses_inactive_user);
        tcase_add_test(tc, gateway_proxy_deferred_replies);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
