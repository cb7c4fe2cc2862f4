/* Helpers shared by the telephony service's integration tests (included, not linked; inline so a
 * program need not use every one). The service runs in-process in a schema of its own per test;
 * callers are made up with tokens signed by the test key (telephony trusts the token's org and
 * role, as it trusts the gateway's). */
#pragma once

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        setenv("CC_LOG_LEVEL", "error", 1);
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
