#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cc/http.h"
#include "cc/json.h"
#include "cc/jwt.h"
#include "cc/log.h"
#include "cc/metrics.h"
#include "testlib.h"

#define MAX_BODY   1000
#define MAX_UPLOAD 100000
#define ISSUER     "cc-test"
#define AUDIENCE   "cc-api"
#define USER_ID    "6f1c2a3e-0b4d-4c8e-9a7f-1e2d3c4b5a69"
#define ORG_ID     "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static struct cc_http_server *srv;
static struct cc_jwt_verifier *verifier;
static EVP_PKEY *signing_key;
static char base_url[64];
static atomic_bool ready_flag = true;
static atomic_int slow_entered;
static atomic_int count_calls;  /* requests that reached h_count */
static atomic_int hold_entered; /* h_hold is running */
static atomic_int hold_release; /* lets h_hold answer */

/* ---- handlers ---- */

static void h_list(struct cc_http_req *req)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "handler", json_object_new_string("list"));
        const char *status = cc_http_req_query(req, "status");
        cc_json_add_string(o, "status", status);
        const char *tags[8];
        size_t n = cc_http_req_query_all(req, "tag", tags, 8);
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, json_object_new_string(tags[i]));
        json_object_object_add(o, "tags", arr);
        cc_http_reply_json(req, 200, o);
}

static void h_create(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "got", body ? json_object_get(body) : NULL);
        cc_http_reply_json(req, 201, o);
}

static void h_get(struct cc_http_req *req)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", cc_http_req_param(req, "id"));
        cc_http_reply_header(req, "X-Handler", "get");
        cc_http_reply_json(req, 200, o);
}

static void h_note(struct cc_http_req *req)
{
        cc_http_reply_error(req, 409, "note %s of %s: conflict", cc_http_req_param(req, "note_id"),
                            cc_http_req_param(req, "id"));
}

static void h_raw(struct cc_http_req *req)
{
        size_t len;
        const char *body = cc_http_req_body(req, &len);
        char *text = cc_arena_printf(cc_http_req_arena(req), "%zu:%s:%s", len, body,
                                     cc_http_req_json(req) ? "json" : "nojson");
        cc_http_reply_raw(req, 200, "text/plain", text, strlen(text));
}

static void h_forgot(struct cc_http_req *req)
{
}

static void h_slow(struct cc_http_req *req)
{
        atomic_store(&slow_entered, 1);
        usleep(300 * 1000); /* the work a slow handler does, not synchronisation */
        cc_http_reply_raw(req, 200, "text/plain", "done", 4);
}

/* Counts its calls, so a test can tell a request refused before dispatch from one served. */
static void h_count(struct cc_http_req *req)
{
        atomic_fetch_add(&count_calls, 1);
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", cc_http_req_param(req, "id"));
        cc_json_add_string(o, "q", cc_http_req_query(req, "q"));
        cc_http_reply_json(req, 200, o);
}

/* Answers once the test lets it (at most 10 s): an in-flight request of known length. */
static void h_hold(struct cc_http_req *req)
{
        atomic_store(&hold_entered, 1);
        CC_TEST_WAIT(atomic_load(&hold_release), 10000, 5);
        cc_http_reply_raw(req, 200, "text/plain", "held", 4);
}

static void h_whoami(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "user_id", auth ? auth->user_id : NULL);
        cc_json_add_string(o, "role", auth ? cc_role_name(auth->role) : NULL);
        cc_http_reply_json(req, 200, o);
}

static void h_reqid(struct cc_http_req *req)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", cc_http_req_id(req));
        cc_json_add_string(o, "client", cc_http_req_client_addr(req));
        cc_http_reply_json(req, 200, o);
}

static const struct cc_http_route routes[] = {
    {"GET", "/api/calls", h_list, CC_ROLE_NONE, 0},
    {"POST", "/api/calls/", h_create, CC_ROLE_NONE, 0},
    {"GET", "/api/calls/{id}", h_get, CC_ROLE_NONE, 0},
    {"PUT", "/api/calls/{id}/notes/{note_id}", h_note, CC_ROLE_NONE, 0},
    {"POST", "/raw", h_raw, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"GET", "/forgot", h_forgot, CC_ROLE_NONE, 0},
    {"GET", "/slow", h_slow, CC_ROLE_NONE, 0},
    {"GET", "/agent", h_whoami, CC_ROLE_AGENT, 0},
    {"GET", "/supervisor", h_whoami, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/admin", h_whoami, CC_ROLE_ADMIN, 0},
    {"GET", "/reqid", h_reqid, CC_ROLE_NONE, 0},
    {"GET", "/count", h_count, CC_ROLE_NONE, 0},
    {"POST", "/count", h_count, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"GET", "/count/{id}", h_count, CC_ROLE_NONE, 0},
    {"GET", "/hold", h_hold, CC_ROLE_NONE, 0},
    {"POST", "/upload", h_raw, CC_ROLE_SUPERVISOR, CC_HTTP_RAW_BODY | CC_HTTP_UPLOAD},
};

static int is_ready(void *userdata, char *why, size_t why_len)
{
        if (atomic_load(&ready_flag))
                return 0;
        snprintf(why, why_len, "database unreachable");
        return -1;
}

/* ---- tokens ---- */

static char *sign_token(const char *role, long exp_offset)
{
        long now = (long)(cc_now_ms() / 1000);
        char *payload = cc_xasprintf(
            "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"org\":\"%s\",\"role\":\"%s\","
            "\"type\":\"access\",\"iat\":%ld,\"exp\":%ld}",
            ISSUER, AUDIENCE, USER_ID, ORG_ID, role, now, now + exp_offset);
        char *token =
            cc_test_sign_es256(signing_key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload);
        free(payload);
        return token;
}

static void make_verifier(void)
{
        signing_key = EVP_EC_gen("P-256");
        ck_assert_ptr_nonnull(signing_key);
        char *pem = cc_test_public_pem(signing_key);
        verifier = cc_jwt_verifier_new(pem, ISSUER, AUDIENCE, 64);
        free(pem);
        ck_assert_ptr_nonnull(verifier);
}

/* ---- fixture ---- */

static void start_server(int conn_timeout_s, int json_depth)
{
        struct cc_http_server_config cfg = {
            .service = "test",
            .bind_addr = "127.0.0.1",
            .port = 0,
            .threads = 2,
            .max_body = MAX_BODY,
            .max_upload = MAX_UPLOAD,
            .conn_timeout_s = conn_timeout_s,
            .max_json_depth = json_depth,
            .verifier = verifier,
            .ready = is_ready,
        };
        char err[256] = "";
        srv = cc_http_server_new(&cfg, routes, CC_ARRAY_SIZE(routes), err, sizeof(err));
        ck_assert_msg(srv != NULL, "server: %s", err);
        ck_assert_int_eq(cc_http_server_start(srv), 0);
        ck_assert_int_gt(cc_http_server_port(srv), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", cc_http_server_port(srv));
}

static void setup(void)
{
        cc_log_init("test_http", CC_LOG_WARN);
        make_verifier();
        start_server(5, 0);
}

static void teardown(void)
{
        cc_http_server_free(srv);
        srv = NULL;
        cc_jwt_verifier_free(verifier);
        verifier = NULL;
        EVP_PKEY_free(signing_key);
        signing_key = NULL;
}

static const char *url(const char *path)
{
        static _Thread_local char buf[512];
        snprintf(buf, sizeof(buf), "%s%s", base_url, path);
        return buf;
}

static void request(const char *method, const char *path, const char *body,
                    const char *const *headers, struct cc_test_response *resp)
{
        cc_test_http(method, url(path), body, body ? strlen(body) : 0, headers, resp);
}

static void assert_json_body(const struct cc_test_response *r, const char *expected)
{
        char ct[128];
        ck_assert_ptr_nonnull(cc_test_response_header(r, "Content-Type", ct, sizeof(ct)));
        ck_assert_str_eq(ct, "application/json");
        ck_assert_str_eq(r->body, expected);
}

/* ---- tests ---- */

START_TEST(http_routes_params_and_trailing_slash)
{
        struct cc_test_response r;
        request("GET", "/api/calls/abc%2Fdef", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":\"abc/def\"}");
        char h[64];
        ck_assert_str_eq(cc_test_response_header(&r, "X-Handler", h, sizeof(h)), "get");
        cc_test_response_fini(&r);

        request("GET", "/api/calls/", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"handler\":\"list\""));
        cc_test_response_fini(&r);

        request("POST", "/api/calls", "{\"a\":1}", NULL, &r);
        ck_assert_int_eq(r.status, 201);
        assert_json_body(&r, "{\"got\":{\"a\":1}}");
        cc_test_response_fini(&r);

        request("PUT", "/api/calls/c9/notes/n1", "", NULL, &r);
        ck_assert_int_eq(r.status, 409);
        assert_json_body(&r, "{\"detail\":\"note n1 of c9: conflict\"}");
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_query_repeated_keys_and_bare_question_mark)
{
        struct cc_test_response r;
        request("GET", "/api/calls?status=open+now&tag=a&tag=b%26c&other=1", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r,
                         "{\"handler\":\"list\",\"status\":\"open now\",\"tags\":[\"a\",\"b&c\"]}");
        cc_test_response_fini(&r);

        request("GET", "/api/calls?", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"handler\":\"list\",\"status\":null,\"tags\":[]}");
        cc_test_response_fini(&r);

        request("GET", "/api/calls/?status", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"handler\":\"list\",\"status\":\"\",\"tags\":[]}");
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_unknown_path_404_and_wrong_method_405)
{
        struct cc_test_response r;
        request("GET", "/api/nothing", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 404);
        assert_json_body(&r, "{\"detail\":\"Not Found\"}");
        cc_test_response_fini(&r);

        request("DELETE", "/api/calls/", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 405);
        assert_json_body(&r, "{\"detail\":\"Method Not Allowed\"}");
        char allow[64];
        ck_assert_ptr_nonnull(cc_test_response_header(&r, "Allow", allow, sizeof(allow)));
        ck_assert_str_eq(allow, "GET, POST");
        cc_test_response_fini(&r);

        /* HEAD is served by the GET route, without a body. */
        request("HEAD", "/healthz", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "");
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_body_too_large_with_content_length)
{
        char *big = malloc(MAX_BODY + 2);
        memset(big, 'x', MAX_BODY + 1);
        big[MAX_BODY + 1] = '\0';
        struct cc_test_response r;
        request("POST", "/raw", big, NULL, &r);
        ck_assert_int_eq(r.status, 413);
        assert_json_body(&r, "{\"detail\":\"Request body too large\"}");
        cc_test_response_fini(&r);

        big[MAX_BODY] = '\0'; /* exactly the limit is fine */
        request("POST", "/raw", big, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(strncmp(r.body, "1000:xxx", 8), 0);
        cc_test_response_fini(&r);
        free(big);
}
END_TEST

struct upload {
        size_t left;
};

static size_t read_x(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct upload *u = userdata;
        size_t n = size * nitems;
        if (n > 100)
                n = 100; /* many small chunks */
        if (n > u->left)
                n = u->left;
        memset(buf, 'y', n);
        u->left -= n;
        return n;
}

static size_t sink(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        strncat(userdata, ptr, size * nmemb > 200 ? 200 : size * nmemb);
        return size * nmemb;
}

/* A chunked upload has no Content-Length, so the limit applies while the body streams in. */
static CURLcode chunked_post_rc(size_t len, char *body_out, long *ret_status)
{
        CURL *c = curl_easy_init();
        struct upload u = {len};
        struct curl_slist *hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_URL, url("/raw"));
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_x);
        curl_easy_setopt(c, CURLOPT_READDATA, &u);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body_out);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        body_out[0] = '\0';
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return rc;
}

static long chunked_post(size_t len, char *body_out)
{
        long status = 0;
        CURLcode rc = chunked_post_rc(len, body_out, &status);
        ck_assert_msg(rc == CURLE_OK, "chunked post: %s", curl_easy_strerror(rc));
        return status;
}

START_TEST(http_body_too_large_chunked)
{
        char body[256];
        ck_assert_int_eq(chunked_post(MAX_BODY + 500, body), 413);
        ck_assert_str_eq(body, "{\"detail\":\"Request body too large\"}");
        ck_assert_int_eq(chunked_post(MAX_BODY, body), 200);
        ck_assert_int_eq(strncmp(body, "1000:yyy", 8), 0);
        /* One that keeps streaming far past the limit is cut off rather than read forever. */
        long status = 0;
        ck_assert_int_ne(chunked_post_rc(8u << 20, body, &status), CURLE_OK);
}
END_TEST

START_TEST(http_malformed_json_400_and_empty_body_accepted)
{
        const char *const json_ct[] = {"Content-Type: application/json", NULL};
        struct cc_test_response r;
        request("POST", "/api/calls", "{\"a\":", json_ct, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_msg(strncmp(r.body, "{\"detail\":\"Malformed JSON body: ", 32) == 0, "%s",
                      r.body);
        cc_test_response_fini(&r);

        request("POST", "/api/calls", "", json_ct, &r);
        ck_assert_int_eq(r.status, 201);
        assert_json_body(&r, "{\"got\":null}");
        cc_test_response_fini(&r);

        /* Raw routes see the bytes and no JSON. */
        request("POST", "/raw", "a=1&b=2", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "7:a=1&b=2:nojson");
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_json_depth_limit)
{
        cc_http_server_free(srv);
        start_server(5, 4);
        struct cc_test_response r;
        request("POST", "/api/calls", "[[[1]]]", NULL, &r);
        ck_assert_int_eq(r.status, 201);
        cc_test_response_fini(&r);
        request("POST", "/api/calls", "[[[[[[[[1]]]]]]]]", NULL, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "Malformed JSON body: "));
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_request_id_echoed_or_generated)
{
        const char *const given[] = {"X-Request-Id: trace-42.abc", NULL};
        struct cc_test_response r;
        char h[256];
        request("GET", "/reqid", NULL, given, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":\"trace-42.abc\",\"client\":\"127.0.0.1\"}");
        ck_assert_str_eq(cc_test_response_header(&r, "X-Request-Id", h, sizeof(h)), "trace-42.abc");
        cc_test_response_fini(&r);

        request("GET", "/reqid", NULL, NULL, &r);
        ck_assert_ptr_nonnull(cc_test_response_header(&r, "X-Request-Id", h, sizeof(h)));
        ck_assert(cc_uuid_valid(h));
        ck_assert_ptr_nonnull(strstr(r.body, h));
        cc_test_response_fini(&r);

        /* Too long: replaced, not echoed. */
        char longid[160] = "X-Request-Id: ";
        memset(longid + strlen(longid), 'a', 129);
        const char *const too_long[] = {longid, NULL};
        request("GET", "/reqid", NULL, too_long, &r);
        ck_assert_ptr_nonnull(cc_test_response_header(&r, "X-Request-Id", h, sizeof(h)));
        ck_assert(cc_uuid_valid(h));
        cc_test_response_fini(&r);

        /* Errors carry the id too. */
        request("GET", "/missing", NULL, given, &r);
        ck_assert_int_eq(r.status, 404);
        ck_assert_str_eq(cc_test_response_header(&r, "X-Request-Id", h, sizeof(h)), "trace-42.abc");
        cc_test_response_fini(&r);
}
END_TEST

/* Reads the file from its start into buf; whether it holds needle. */
static bool read_contains(int fd, char *buf, size_t len, const char *needle)
{
        ssize_t n = pread(fd, buf, len - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        return strstr(buf, needle) != NULL;
}

START_TEST(http_request_logged_once_at_info)
{
        char path[] = "/tmp/cc_test_http_log_XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        int saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        cc_log_init("test_http", CC_LOG_INFO);

        const char *const given[] = {"X-Request-Id: log-me-7", NULL};
        struct cc_test_response r;
        request("GET", "/api/calls/z", NULL, given, &r);
        ck_assert_int_eq(r.status, 200);
        cc_test_response_fini(&r);

        /* The line is written when the connection reports the request complete, just after the
         * client has its answer. */
        char buf[4096] = "";
        CC_TEST_WAIT(read_contains(fd, buf, sizeof(buf), "log-me-7"), 5000, 5);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        unlink(path);
        const char *line = strstr(buf, "log-me-7");
        ck_assert_msg(line != NULL, "no log line: %s", buf);
        ck_assert_ptr_null(strstr(line + 1, "log-me-7"));
        ck_assert_ptr_nonnull(strstr(buf, "\"level\":\"info\""));
        ck_assert_ptr_nonnull(strstr(buf, "GET /api/calls/z 200 "));
}
END_TEST

START_TEST(http_healthz_and_readyz)
{
        struct cc_test_response r;
        request("GET", "/healthz", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"status\":\"ok\"}");
        cc_test_response_fini(&r);

        request("GET", "/readyz", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"status\":\"ready\"}");
        cc_test_response_fini(&r);

        atomic_store(&ready_flag, false);
        request("GET", "/readyz", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 503);
        assert_json_body(&r, "{\"status\":\"not ready\",\"detail\":\"database unreachable\"}");
        cc_test_response_fini(&r);
        atomic_store(&ready_flag, true);
}
END_TEST

/* Counters are bumped when MHD reports a request complete, a moment after the client has the
 * reply, so poll until the expected line shows up. */
static bool metrics_have(const char *line)
{
        char *text = cc_metrics_render();
        bool found = strstr(text, line) != NULL;
        free(text);
        return found;
}

static bool metrics_contain(const char *line, char **ret_text)
{
        bool found = CC_TEST_WAIT(metrics_have(line), 5000, 2);
        if (ret_text)
                *ret_text = cc_metrics_render();
        return found;
}

START_TEST(http_metrics_count_requests)
{
        struct cc_test_response r;
        for (int i = 0; i < 3; i++) {
                request("GET", "/api/calls/x", NULL, NULL, &r);
                cc_test_response_fini(&r);
        }
        request("GET", "/no/such/thing", NULL, NULL, &r);
        cc_test_response_fini(&r);
        request("PATCH", "/api/calls", NULL, NULL, &r);
        cc_test_response_fini(&r);

        char *text = NULL;
        ck_assert_msg(metrics_contain("cc_http_requests_total{route=\"/api/calls/{id}\","
                                      "method=\"GET\",status=\"200\"} 3\n",
                                      &text),
                      "%s", text);
        free(text);
        ck_assert(metrics_contain("cc_http_requests_total{route=\"unmatched\",method=\"GET\","
                                  "status=\"404\"} 1\n",
                                  NULL));
        ck_assert(metrics_contain("cc_http_requests_total{route=\"unmatched\",method=\"PATCH\","
                                  "status=\"405\"} 1\n",
                                  NULL));
        ck_assert(metrics_contain(
            "cc_http_request_duration_seconds_count{route=\"/api/calls/{id}\"} 3\n", NULL));

        /* And over HTTP, in the exposition format. */
        request("GET", "/metrics", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        char ct[128];
        ck_assert_ptr_nonnull(cc_test_response_header(&r, "Content-Type", ct, sizeof(ct)));
        ck_assert_int_eq(strncmp(ct, "text/plain; version=0.0.4", 25), 0);
        ck_assert_ptr_nonnull(strstr(r.body, "# TYPE cc_http_requests_total counter\n"));
        ck_assert_ptr_nonnull(
            strstr(r.body, "# TYPE cc_http_request_duration_seconds histogram\n"));
        ck_assert_ptr_nonnull(
            strstr(r.body, "cc_http_request_duration_seconds_bucket{route=\"/api/calls/{id}\","
                           "le=\"+Inf\"} 3\n"));
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_handler_without_reply_is_500)
{
        struct cc_test_response r;
        request("GET", "/forgot", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 500);
        assert_json_body(&r, "{\"detail\":\"Internal server error\"}");
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_auth_401_403_200)
{
        struct cc_test_response r;
        char h[64];
        request("GET", "/agent", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 401);
        assert_json_body(&r, "{\"detail\":\"Not authenticated\"}");
        ck_assert_str_eq(cc_test_response_header(&r, "WWW-Authenticate", h, sizeof(h)), "Bearer");
        cc_test_response_fini(&r);

        const char *const basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
        request("GET", "/agent", NULL, basic, &r);
        ck_assert_int_eq(r.status, 401);
        assert_json_body(&r, "{\"detail\":\"Not authenticated\"}");
        cc_test_response_fini(&r);

        const char *const junk[] = {"Authorization: Bearer not.a.token", NULL};
        request("GET", "/agent", NULL, junk, &r);
        ck_assert_int_eq(r.status, 401);
        assert_json_body(&r, "{\"detail\":\"Authentication failed\"}");
        cc_test_response_fini(&r);

        char *expired = sign_token("ADMIN", -3600);
        char *hdr = cc_xasprintf("Authorization: Bearer %s", expired);
        const char *const exp_h[] = {hdr, NULL};
        request("GET", "/agent", NULL, exp_h, &r);
        ck_assert_int_eq(r.status, 401);
        assert_json_body(&r, "{\"detail\":\"Authentication failed\"}");
        cc_test_response_fini(&r);
        free(hdr);
        free(expired);

        char *agent = sign_token("AGENT", 900);
        hdr = cc_xasprintf("Authorization: Bearer %s", agent);
        const char *const agent_h[] = {hdr, NULL};
        request("GET", "/agent", NULL, agent_h, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"user_id\":\"" USER_ID "\",\"role\":\"AGENT\"}");
        cc_test_response_fini(&r);
        request("GET", "/supervisor", NULL, agent_h, &r);
        ck_assert_int_eq(r.status, 403);
        assert_json_body(&r, "{\"detail\":\"Supervisor or admin access required\"}");
        cc_test_response_fini(&r);
        request("GET", "/admin", NULL, agent_h, &r);
        ck_assert_int_eq(r.status, 403);
        assert_json_body(&r, "{\"detail\":\"Admin access required\"}");
        cc_test_response_fini(&r);
        free(hdr);
        free(agent);

        char *sup = sign_token("SUPERVISOR", 900);
        hdr = cc_xasprintf("Authorization: bearer %s", sup);
        const char *const sup_h[] = {hdr, NULL};
        request("GET", "/supervisor", NULL, sup_h, &r);
        ck_assert_int_eq(r.status, 200);
        cc_test_response_fini(&r);
        request("GET", "/admin", NULL, sup_h, &r);
        ck_assert_int_eq(r.status, 403);
        cc_test_response_fini(&r);
        free(hdr);
        free(sup);

        char *admin = sign_token("ADMIN", 900);
        hdr = cc_xasprintf("Authorization: Bearer %s", admin);
        const char *const admin_h[] = {hdr, NULL};
        request("GET", "/admin", NULL, admin_h, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"user_id\":\"" USER_ID "\",\"role\":\"ADMIN\"}");
        cc_test_response_fini(&r);
        free(hdr);
        free(admin);

        /* Public routes have no caller. */
        request("GET", "/api/calls", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        cc_test_response_fini(&r);
}
END_TEST

START_TEST(http_slow_client_disconnected)
{
        cc_http_server_free(srv);
        start_server(1, 0);
        int fd = cc_test_connect("127.0.0.1", cc_http_server_port(srv));
        ck_assert_int_ge(fd, 0);
        const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        ck_assert_int_eq(write(fd, partial, sizeof(partial) - 1), (ssize_t)sizeof(partial) - 1);
        int64_t start = cc_monotonic_us();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 4000), 1);
        char buf[64];
        ck_assert_int_le(read(fd, buf, sizeof(buf)), 0);
        int64_t waited_ms = (cc_monotonic_us() - start) / 1000;
        ck_assert_int_ge(waited_ms, 500);
        ck_assert_int_le(waited_ms, 3500);
        close(fd);

        /* A client that does send its request in time is served. */
        struct cc_test_response r;
        request("GET", "/healthz", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        cc_test_response_fini(&r);
}
END_TEST

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        return size * nmemb;
}

START_TEST(http_keep_alive_reuses_connection)
{
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        long status = 0, connects = -1;
        const char *paths[] = {"/healthz", "/api/calls/1", "/api/nothing"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(paths); i++) {
                curl_easy_setopt(c, CURLOPT_URL, url(paths[i]));
                ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
                ck_assert_int_eq(status, i == 2 ? 404 : 200);
                ck_assert_int_eq(connects, i == 0 ? 1 : 0);
        }
        /* A POST with a body keeps the connection too. */
        curl_easy_setopt(c, CURLOPT_URL, url("/api/calls"));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"k\":true}");
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        ck_assert_int_eq(status, 201);
        ck_assert_int_eq(connects, 0);
        curl_easy_cleanup(c);
}
END_TEST

struct slow_call {
        long status;
        char body[64];
};

static void *slow_client(void *arg)
{
        struct slow_call *sc = arg;
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url("/slow"));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, sc->body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sc->status);
        curl_easy_cleanup(c);
        return NULL;
}

START_TEST(http_graceful_stop_finishes_inflight)
{
        struct slow_call sc = {0};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, slow_client, &sc), 0);
        ck_assert(CC_TEST_WAIT(atomic_load(&slow_entered), 5000, 1));
        int64_t start = cc_monotonic_us();
        cc_http_server_stop(srv);
        int64_t stop_ms = (cc_monotonic_us() - start) / 1000;
        pthread_join(t, NULL);
        ck_assert_int_eq(sc.status, 200);
        ck_assert_str_eq(sc.body, "done");
        ck_assert_int_lt(stop_ms, 5000);

        /* Nothing listens any more. */
        int fd = cc_test_connect("127.0.0.1", cc_http_server_port(srv));
        ck_assert_int_lt(fd, 0);
}
END_TEST

START_TEST(http_header_block_limit)
{
        /* A long bearer token and a few kilobytes of other headers fit... */
        char *big = malloc(9000);
        strcpy(big, "X-Padding: ");
        memset(big + strlen(big), 'p', 6000);
        big[11 + 6000] = '\0';
        const char *const ok[] = {big, NULL};
        struct cc_test_response r;
        request("GET", "/healthz", NULL, ok, &r);
        ck_assert_int_eq(r.status, 200);
        cc_test_response_fini(&r);
        free(big);

        /* ...a header block larger than the connection's memory does not. */
        big = malloc(40000);
        strcpy(big, "X-Padding: ");
        memset(big + strlen(big), 'p', 30000);
        big[11 + 30000] = '\0';
        const char *const too_big[] = {big, NULL};
        request("GET", "/healthz", NULL, too_big, &r);
        ck_assert_int_eq(r.status, 431);
        cc_test_response_fini(&r);
        free(big);
}
END_TEST

START_TEST(http_non_text_path_parameter_is_404)
{
        /* An overlong '/', a control character, a byte that is never UTF-8, a lone
         * continuation byte and a truncated sequence: none names a resource. */
        const char *paths[] = {"/count/%C0%AF", "/count/%01",    "/count/%FF",
                               "/count/a%80b",  "/count/%E2%82", "/count/%7F"};
        struct cc_test_response r;
        for (size_t i = 0; i < CC_ARRAY_SIZE(paths); i++) {
                request("GET", paths[i], NULL, NULL, &r);
                ck_assert_msg(r.status == 404, "%s: %ld %s", paths[i], r.status, r.body);
                assert_json_body(&r, "{\"detail\":\"Not Found\"}");
                cc_test_response_fini(&r);
        }
        ck_assert_int_eq(atomic_load(&count_calls), 0);

        /* Encoded text still reaches the handler decoded. */
        request("GET", "/count/caf%C3%A9%20%2F1", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":\"caf\xc3\xa9 /1\",\"q\":null}");
        cc_test_response_fini(&r);
        ck_assert_int_eq(atomic_load(&count_calls), 1);
}
END_TEST

START_TEST(http_non_text_query_is_400)
{
        const char *paths[] = {"/count?q=a%00b",  "/count?q=%01",      "/count?q=%ff",
                               "/count?q=%C0%AF", "/count?%00=1",      "/count?k%01=v",
                               "/count?%ff",      "/count?ok=1&q=%1f", "/count/7?q=x%e9y"};
        struct cc_test_response r;
        for (size_t i = 0; i < CC_ARRAY_SIZE(paths); i++) {
                request("GET", paths[i], NULL, NULL, &r);
                ck_assert_msg(r.status == 400, "%s: %ld %s", paths[i], r.status, r.body);
                assert_json_body(&r, "{\"detail\":\"Query parameters must be UTF-8 text\"}");
                cc_test_response_fini(&r);
        }
        ck_assert_int_eq(atomic_load(&count_calls), 0);

        /* UTF-8 text, '+' as a space and an encoded '+' still come through. */
        request("GET", "/count?q=caf%C3%A9", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":null,\"q\":\"caf\xc3\xa9\"}");
        cc_test_response_fini(&r);
        request("GET", "/count?q=a+b%2Bc", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":null,\"q\":\"a b+c\"}");
        cc_test_response_fini(&r);
        request("GET", "/count/z?q=%E2%82%AC", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        assert_json_body(&r, "{\"id\":\"z\",\"q\":\"\xe2\x82\xac\"}");
        cc_test_response_fini(&r);
        ck_assert_int_eq(atomic_load(&count_calls), 3);
}
END_TEST

/* What came back on a raw connection: the status (0: none), the Content-Type and the body. */
struct raw_reply {
        long status;
        char content_type[64];
        char body[512];
};

/* Sends request on a new connection and reads until the server closes it (or timeout_ms); the
 * requests used here are answered with "Connection: close". */
static void raw_exchange(const char *request, size_t len, int timeout_ms, struct raw_reply *ret)
{
        int fd = cc_test_connect("127.0.0.1", cc_http_server_port(srv));
        ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
        for (size_t off = 0; off < len;) {
                ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
                ck_assert_msg(n > 0, "send: %s", strerror(errno));
                off += (size_t)n;
        }
        char buf[4096];
        size_t got = 0;
        int64_t deadline = cc_monotonic_us() + (int64_t)timeout_ms * 1000;
        for (;;) {
                int left = (int)((deadline - cc_monotonic_us()) / 1000);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (left <= 0 || poll(&p, 1, left) != 1)
                        break;
                ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
                if (got == sizeof(buf) - 1)
                        break;
        }
        close(fd);
        buf[got] = '\0';
        *ret = (struct raw_reply){0};
        if (sscanf(buf, "HTTP/1.%*d %ld", &ret->status) != 1)
                ret->status = 0;
        const char *ct = strstr(buf, "\r\nContent-Type: ");
        if (ct)
                sscanf(ct + 16, "%63[^\r]", ret->content_type);
        const char *body = strstr(buf, "\r\n\r\n");
        if (body)
                snprintf(ret->body, sizeof(ret->body), "%s", body + 4);
}

START_TEST(http_ambiguous_body_framing_is_400)
{
        static const char *const requests[] = {
            "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 7\r\n"
            "Connection: close\r\n\r\nhihello",
        };
        struct raw_reply rr;
        for (size_t i = 0; i < CC_ARRAY_SIZE(requests); i++) {
                raw_exchange(requests[i], strlen(requests[i]), 5000, &rr);
                ck_assert_msg(rr.status == 400, "request %zu: status %ld %s", i, rr.status,
                              rr.body);
                ck_assert_str_eq(rr.content_type, "application/json");
                ck_assert_str_eq(rr.body, "{\"detail\":\"Ambiguous request body length\"}");
        }
        ck_assert_int_eq(atomic_load(&count_calls), 0);

        /* Each framing on its own is served. */
        static const char *const fine[] = {
            "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
            "hello",
            "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(fine); i++) {
                raw_exchange(fine[i], strlen(fine[i]), 5000, &rr);
                ck_assert_msg(rr.status == 200, "request %zu: status %ld %s", i, rr.status,
                              rr.body);
        }
        ck_assert_int_eq(atomic_load(&count_calls), 2);
}
END_TEST

/* GET /count with header lines of "X-Pad-N: ppp..." adding up to about pad bytes. */
static char *padded_request(size_t pad)
{
        size_t cap = pad + 256, len = 0;
        char *req = cc_xmalloc(cap);
        len +=
            (size_t)snprintf(req, cap, "GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (int i = 0; pad > 0; i++) {
                size_t line = pad < 1000 ? pad : 1000;
                int head = snprintf(req + len, cap - len, "X-Pad-%d: ", i);
                len += (size_t)head;
                size_t value = line > (size_t)head + 3 ? line - (size_t)head - 2 : 1;
                memset(req + len, 'p', value);
                len += value;
                memcpy(req + len, "\r\n", 2);
                len += 2;
                pad -= line;
        }
        memcpy(req + len, "\r\n", 3);
        return req;
}

START_TEST(http_large_request_head_is_431_before_handler)
{
        struct raw_reply rr;
        /* 13 KB of headers: what MHD can still read, but then has too little room left to build
         * the reply in. */
        char *req = padded_request(13000);
        raw_exchange(req, strlen(req), 5000, &rr);
        free(req);
        ck_assert_msg(rr.status == 431, "status %ld %s", rr.status, rr.body);
        ck_assert_str_eq(rr.content_type, "application/json");
        ck_assert_str_eq(rr.body, "{\"detail\":\"Request header fields too large\"}");
        ck_assert_int_eq(atomic_load(&count_calls), 0);

        /* A few kilobytes are served. */
        req = padded_request(6000);
        raw_exchange(req, strlen(req), 5000, &rr);
        free(req);
        ck_assert_msg(rr.status == 200, "status %ld %s", rr.status, rr.body);
        ck_assert_int_eq(atomic_load(&count_calls), 1);
}
END_TEST

struct hold_call {
        long status;
        char body[64];
};

static void *hold_client(void *arg)
{
        struct hold_call *hc = arg;
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url("/hold"));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, hc->body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &hc->status);
        curl_easy_cleanup(c);
        return NULL;
}

static void *stop_server(void *arg)
{
        cc_http_server_stop(arg);
        return NULL;
}

/* One new connection during the stop: 1 when it was refused or closed without an answer within
 * a second, 0 when it was served (the stop had not begun), -1 when it hung. */
static int new_connection_during_stop(int port, int64_t *ret_ms)
{
        int64_t t0 = cc_monotonic_us();
        int fd = cc_test_connect("127.0.0.1", port);
        if (fd < 0) {
                *ret_ms = (cc_monotonic_us() - t0) / 1000;
                return 1;
        }
        const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        ssize_t w = send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL);
        char buf[256] = "";
        ssize_t n = -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (w > 0 && poll(&p, 1, 1000) == 1)
                n = read(fd, buf, sizeof(buf) - 1);
        *ret_ms = (cc_monotonic_us() - t0) / 1000;
        close(fd);
        if (w <= 0 || (p.revents && n <= 0))
                return 1; /* reset or closed */
        if (n > 0)
                return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
        return -1;
}

START_TEST(http_stop_refuses_new_connections_while_draining)
{
        int port = cc_http_server_port(srv);
        struct hold_call hc = {0};
        pthread_t client, stopper;
        ck_assert_int_eq(pthread_create(&client, NULL, hold_client, &hc), 0);
        ck_assert(CC_TEST_WAIT(atomic_load(&hold_entered), 5000, 1));
        ck_assert_int_eq(pthread_create(&stopper, NULL, stop_server, srv), 0);

        /* Until the stop begins a new connection is served; from then on it must be turned away
         * at once, not parked in the listen backlog for the whole drain. */
        int outcome = 0;
        int64_t took_ms = 0;
        int64_t deadline = cc_monotonic_us() + 5000000;
        while ((outcome = new_connection_during_stop(port, &took_ms)) == 0 &&
               cc_monotonic_us() < deadline)
                usleep(10 * 1000);
        bool still_held = atomic_load(&hold_release) == 0;
        atomic_store(&hold_release, 1);
        pthread_join(stopper, NULL);
        pthread_join(client, NULL);

        ck_assert_msg(outcome != -1, "a new connection hung for %lld ms during the stop",
                      (long long)took_ms);
        ck_assert_msg(outcome == 1, "new connections were still served 5 s into the stop");
        ck_assert_int_lt(took_ms, 1000);
        ck_assert(still_held);
        /* The request in flight when the stop began was answered. */
        ck_assert_int_eq(hc.status, 200);
        ck_assert_str_eq(hc.body, "held");
}
END_TEST

START_TEST(http_rejects_invalid_routes)
{
        static const struct cc_http_route bad[] = {
            {"GET", "/a/{id", h_get, CC_ROLE_NONE, 0},
        };
        static const struct cc_http_route dup[] = {
            {"GET", "/a", h_get, CC_ROLE_NONE, 0},
            {"GET", "/a/", h_get, CC_ROLE_NONE, 0},
        };
        struct cc_http_server_config cfg = {.service = "t", .max_body = 10};
        char err[256] = "";
        ck_assert_ptr_null(cc_http_server_new(&cfg, bad, 1, err, sizeof(err)));
        ck_assert_ptr_nonnull(strstr(err, "/a/{id"));
        ck_assert_ptr_null(cc_http_server_new(&cfg, dup, 2, err, sizeof(err)));
        ck_assert_ptr_nonnull(strstr(err, "twice"));
}
END_TEST

/* An upload route takes bodies up to max_upload (others stay at max_body), and turns away a
 * caller without the route's role before reading a byte of the body. */
START_TEST(http_upload_limits_and_early_refusal)
{
        char *sup = sign_token("SUPERVISOR", 300), *agent = sign_token("AGENT", 300);
        char auth_sup[2048], auth_agent[2048];
        snprintf(auth_sup, sizeof(auth_sup), "Authorization: Bearer %s", sup);
        snprintf(auth_agent, sizeof(auth_agent), "Authorization: Bearer %s", agent);
        size_t n = 50000;
        char *big = cc_xmalloc(n + 1);
        memset(big, 'a', n);
        big[n] = '\0';
        const char *hs[] = {auth_sup, "Content-Type: text/plain", NULL};
        struct cc_test_response r;
        cc_test_http("POST", url("/upload"), big, n, hs, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert(strncmp(r.body, "50000:", 6) == 0);
        cc_test_response_fini(&r);
        /* the same body is too large for an ordinary route */
        cc_test_http("POST", url("/raw"), big, n, hs, &r);
        ck_assert_int_eq(r.status, 413);
        cc_test_response_fini(&r);
        free(big);

        /* headers announcing 2 MB, and no body at all: the answer comes at once */
        static const struct {
                const char *auth;
                int status;
        } cases[] = {{NULL, 401}, {"AGENT", 403}, {"SUPERVISOR", 413}};
        for (size_t i = 0; i < CC_ARRAY_SIZE(cases); i++) {
                int fd = cc_test_connect("127.0.0.1", cc_http_server_port(srv));
                ck_assert_int_ge(fd, 0);
                char head[4096];
                const char *a = !cases[i].auth ? "" : i == 1 ? auth_agent : auth_sup;
                snprintf(head, sizeof(head),
                         "POST /upload HTTP/1.1\r\nHost: x\r\n%s%sContent-Type: text/plain\r\n"
                         "Content-Length: 2000000\r\n\r\n",
                         a, a[0] ? "\r\n" : "");
                ck_assert(send(fd, head, strlen(head), MSG_NOSIGNAL) > 0);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ck_assert_msg(poll(&p, 1, 2000) == 1, "case %zu: no answer before the body", i);
                char buf[512] = "";
                ssize_t got = read(fd, buf, sizeof(buf) - 1);
                ck_assert_int_gt(got, 12);
                char want[32];
                snprintf(want, sizeof(want), "HTTP/1.1 %d", cases[i].status);
                ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "case %zu: %s", i, buf);
                close(fd);
        }
        free(sup);
        free(agent);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("http");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, http_routes_params_and_trailing_slash);
        tcase_add_test(tc, http_query_repeated_keys_and_bare_question_mark);
        tcase_add_test(tc, http_unknown_path_404_and_wrong_method_405);
        tcase_add_test(tc, http_body_too_large_with_content_length);
        tcase_add_test(tc, http_body_too_large_chunked);
        tcase_add_test(tc, http_malformed_json_400_and_empty_body_accepted);
        tcase_add_test(tc, http_json_depth_limit);
        tcase_add_test(tc, http_request_id_echoed_or_generated);
        tcase_add_test(tc, http_request_logged_once_at_info);
        tcase_add_test(tc, http_healthz_and_readyz);
        tcase_add_test(tc, http_metrics_count_requests);
        tcase_add_test(tc, http_handler_without_reply_is_500);
        tcase_add_test(tc, http_auth_401_403_200);
        tcase_add_test(tc, http_slow_client_disconnected);
        tcase_add_test(tc, http_keep_alive_reuses_connection);
        tcase_add_test(tc, http_graceful_stop_finishes_inflight);
        tcase_add_test(tc, http_header_block_limit);
        tcase_add_test(tc, http_rejects_invalid_routes);
        tcase_add_test(tc, http_non_text_path_parameter_is_404);
        tcase_add_test(tc, http_non_text_query_is_400);
        tcase_add_test(tc, http_ambiguous_body_framing_is_400);
        tcase_add_test(tc, http_large_request_head_is_431_before_handler);
        tcase_add_test(tc, http_stop_refuses_new_connections_while_draining);
        tcase_add_test(tc, http_upload_limits_and_early_refusal);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = cc_test_run(suite());
        curl_global_cleanup();
        return rc;
}
