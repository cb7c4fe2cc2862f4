/* Helpers shared by the telephony service's integration tests (included, not linked; inline so a
 * program need not use every one). The service runs in-process in a schema of its own per test;
 * callers are made up with tokens signed by the test key (telephony trusts the token's org and
 * role, as it trusts the gateway's). */
#pragma once

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "telephony.h"

static char tt_prefix[48];
static char tt_schema[64];
static struct cc_service_def tt_def;

/* A 32-byte key for the credential store (CC_SECRETS_KEY_FILE), fixed so tests can open what
 * they sealed: the file holds TT_SECRETS_KEY_HEX; the same key in base64 for cc_secretbox_new. */
#define TT_SECRETS_KEY_HEX "3031323334353637383961626364656630313233343536373839616263646566"
#define TT_CREDENTIALS_KEY "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static inline const char *tt_secrets_key_file(void)
{
        /* One file for every test process (same content), replaced atomically so a service never
         * reads it half-written. */
        static const char path[] = "/tmp/cc-test-secrets.key";
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
        FILE *f = fopen(tmp, "w");
        ck_assert_ptr_nonnull(f);
        fputs(TT_SECRETS_KEY_HEX "\n", f);
        fclose(f);
        ck_assert_int_eq(rename(tmp, path), 0);
        return path;
}

/* Environment for one in-process telephony service. twilio_base: the REST API it talks to (a
 * simulator or a test server; NULL leaves the default). Platform credentials are set when
 * account_sid is non-NULL. */
static inline void tt_env(const char *twilio_base, const char *account_sid, const char *auth_token)
{
        cc_test_service_env(0);
        setenv("CC_HTTP_MAX_BODY", "65536", 1);
        setenv("CC_OUTBOX_POLL_MS", "200", 1);
        /* CC_TEST_LOG_LEVEL=debug shows what the service does while a test runs */
        const char *level = getenv("CC_TEST_LOG_LEVEL");
        setenv("CC_LOG_LEVEL", level ? level : "error", 1);
        setenv("CC_SECRETS_KEY_FILE", tt_secrets_key_file(), 1);
        setenv("CC_PUBLIC_BASE_URL", "https://cc.example.com", 1);
        if (twilio_base)
                setenv("CC_TWILIO_API_BASE", twilio_base, 1);
        else
                unsetenv("CC_TWILIO_API_BASE");
        setenv("CC_TWILIO_ACCOUNT_SID", account_sid ? account_sid : "", 1);
        setenv("CC_TWILIO_AUTH_TOKEN", auth_token ? auth_token : "", 1);
        setenv("CC_TWILIO_TIMEOUT_MS", "3000", 1);
        cc_test_unique(tt_prefix, tt_schema, sizeof(tt_schema));
        tt_def = *telephony_service_def();
        tt_def.name = tt_schema;
}

static inline struct cc_service *tt_start(const char *twilio_base, const char *account_sid,
                                          const char *auth_token)
{
        tt_env(twilio_base, account_sid, auth_token);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&tt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

struct tt_resp {
        long status;
        json_object *json; /* NULL when the body is not JSON */
        char *body;
        char content_type[128];
};

static inline void tt_resp_fini(struct tt_resp *r)
{
        json_object_put(r->json);
        free(r->body);
        memset(r, 0, sizeof(*r));
}

/* One request with an optional bearer token and extra header lines ("X-Twilio-Signature: ...",
 * NULL-terminated; NULL for none). The Content-Type is JSON unless an extra header sets one. */
static inline long tt_request(struct cc_service *svc, const char *method, const char *path,
                              const char *body, const char *token, const char *const *extra,
                              struct tt_resp *ret)
{
        char url[1024], auth[4096];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", cc_service_port(svc), path);
        const char *hdrs[16];
        size_t n = 0;
        bool has_type = false;
        for (size_t i = 0; extra && extra[i] && n < 13; i++) {
                if (strncasecmp(extra[i], "Content-Type:", 13) == 0)
                        has_type = true;
                hdrs[n++] = extra[i];
        }
        if (!has_type)
                hdrs[n++] = "Content-Type: application/json";
        if (token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                hdrs[n++] = auth;
        }
        hdrs[n] = NULL;
        struct cc_test_response r;
        cc_test_http(method, url, body, body ? strlen(body) : 0, hdrs, &r);
        struct tt_resp out = {.status = r.status, .body = strdup(r.body)};
        out.json = r.body[0] == '{' || r.body[0] == '[' ? json_tokener_parse(r.body) : NULL;
        if (!cc_test_response_header(&r, "Content-Type", out.content_type,
                                     sizeof(out.content_type)))
                out.content_type[0] = '\0';
        cc_test_response_fini(&r);
        long st = out.status;
        if (ret)
                *ret = out;
        else
                tt_resp_fini(&out);
        return st;
}

static inline long tt_call(struct cc_service *svc, const char *method, const char *path,
                           const char *body, const char *token, struct tt_resp *ret)
{
        return tt_request(svc, method, path, body, token, NULL, ret);
}

static inline const char *tt_str(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        return v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

static inline void tt_expect(struct tt_resp *r, long status, const char *detail)
{
        ck_assert_msg(r->status == status, "status %ld (want %ld): %s", r->status, status, r->body);
        if (detail)
                ck_assert_msg(r->json && tt_str(r->json, "detail") &&
                                  strcmp(tt_str(r->json, "detail"), detail) == 0,
                              "body %s, want detail %s", r->body, detail);
}

/* A made-up caller: a fresh user id in org (heap token; free it). */
struct tt_caller {
        char org_id[CC_UUID_LEN + 1];
        char user_id[CC_UUID_LEN + 1];
        char *token;
};

static inline void tt_caller(struct tt_caller *c, const char *org_id, const char *role)
{
        if (org_id)
                snprintf(c->org_id, sizeof(c->org_id), "%s", org_id);
        else
                cc_uuid_v4(c->org_id);
        cc_uuid_v4(c->user_id);
        c->token = cc_test_token(role, c->org_id, c->user_id, 900);
}

static inline void tt_caller_fini(struct tt_caller *c)
{
        free(c->token);
        c->token = NULL;
}

static inline long long tt_sql_int(const char *sql, const char *param)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        long long v = cc_test_pool_query_int(pool, sql, param);
        cc_db_pool_free(pool);
        return v;
}

static inline void tt_suite_setup(void)
{
        cc_test_unique("teltest", tt_prefix, sizeof(tt_prefix));
}

static inline void tt_suite_teardown(void)
{
        cc_test_drop_schemas(tt_prefix);
}

/* ---- a twilio-sim process (CC_TEST_TWILIO_SIM) and a service it can call back ---- */

#define TT_SIM_AC  "AC0123456789abcdef0123456789abcdef"
#define TT_SIM_TOK "platform-token-0123456789"

static pid_t tt_sim_pid;
static char tt_sim_base[64];

/* Starts the simulator with the platform account TT_SIM_AC and the given ring and talk times. */
static inline void tt_sim_start(int ring_ms, int talk_ms)
{
        const char *bin = cc_test_env("CC_TEST_TWILIO_SIM");
        char ready[128], ring[16], talk[16];
        snprintf(ready, sizeof(ready), "/tmp/twsim-%d.port", (int)getpid());
        unlink(ready);
        snprintf(ring, sizeof(ring), "%d", ring_ms);
        snprintf(talk, sizeof(talk), "%d", talk_ms);
        char *const argv[] = {(char *)bin,
                              "--port",
                              "0",
                              "--ready-file",
                              ready,
                              "--account",
                              TT_SIM_AC ":" TT_SIM_TOK,
                              "--ring-ms",
                              ring,
                              "--talk-ms",
                              talk,
                              "--log-level",
                              "error",
                              NULL};
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* A failed assertion ends the test's process at once: take the simulator along. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execv(bin, argv);
                _exit(127);
        }
        tt_sim_pid = pid;
        int port = 0;
        bool ok = CC_TEST_WAIT(({
                                       FILE *f = fopen(ready, "r");
                                       bool got = f && fscanf(f, "%d", &port) == 1 && port > 0;
                                       if (f)
                                               fclose(f);
                                       got;
                               }),
                               10000, 10);
        ck_assert_msg(ok, "twilio-sim did not write %s", ready);
        unlink(ready);
        snprintf(tt_sim_base, sizeof(tt_sim_base), "http://127.0.0.1:%d", port);
}

static inline void tt_sim_stop(void)
{
        if (tt_sim_pid <= 0)
                return;
        kill(tt_sim_pid, SIGTERM);
        int status;
        if (!CC_TEST_WAIT(waitpid(tt_sim_pid, &status, WNOHANG) != 0, 10000, 10)) {
                kill(tt_sim_pid, SIGKILL);
                waitpid(tt_sim_pid, &status, 0);
        }
        tt_sim_pid = 0;
}

/* A request to the simulator's control API; the JSON answer when it is 200, else NULL. */
static inline json_object *tt_sim_request(const char *method, const char *path, const char *body)
{
        char url[256];
        snprintf(url, sizeof(url), "%s%s", tt_sim_base, path);
        const char *hdrs[] = {"Content-Type: application/json", NULL};
        struct cc_test_response resp;
        cc_test_http(method, url, body, body ? strlen(body) : 0, hdrs, &resp);
        json_object *doc = resp.status == 200 ? json_tokener_parse(resp.body) : NULL;
        cc_test_response_fini(&resp);
        return doc;
}

/* The simulator's calls to `to` (most recent last) as a JSON array (owned by *ret_doc). */
static inline json_object *tt_sim_calls_to(const char *to, json_object **ret_doc)
{
        json_object *doc = tt_sim_request("GET", "/sim/calls", NULL);
        json_object *calls = json_object_object_get(doc, "calls");
        json_object *out = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(calls); i++) {
                json_object *c = json_object_array_get_idx(calls, i);
                if (tt_str(c, "to") && strcmp(tt_str(c, "to"), to) == 0)
                        json_object_array_add(out, json_object_get(c));
        }
        json_object_put(doc);
        *ret_doc = out;
        return out;
}

/* Starts the service with CC_PUBLIC_BASE_URL at its own address, so what a simulator is told to
 * call back reaches this in-process service; twilio_base and the platform account as tt_env. */
static inline struct cc_service *
tt_start_reachable_with(const char *twilio_base, const char *account_sid, const char *auth_token)
{
        tt_env(twilio_base, account_sid, auth_token);
        int port = cc_test_free_port();
        char port_s[16], base[64];
        snprintf(port_s, sizeof(port_s), "%d", port);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        setenv("CC_HTTP_PORT", port_s, 1);
        setenv("CC_PUBLIC_BASE_URL", base, 1);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&tt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

/* The same with the simulator started by tt_sim_start as Twilio. */
static inline struct cc_service *tt_start_reachable(void)
{
        return tt_start_reachable_with(tt_sim_base, TT_SIM_AC, TT_SIM_TOK);
}

/* Runs one statement in the test's schema (fails the test on error). */
static inline void tt_sql(const char *sql)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn;
        ck_assert_int_eq(cc_db_acquire(pool, &conn), 0);
        int r = cc_db_exec(conn, sql, 0, NULL, NULL);
        ck_assert_msg(r == 0, "%s: %s", sql, cc_db_error(conn));
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
