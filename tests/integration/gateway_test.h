/* Helpers shared by the gateway's integration tests (included, not linked: each test program is
 * one .c plus testlib.c; inline so a program need not use every one). The gateway runs
 * in-process in a schema of its own per test. */
#pragma once

#include <json-c/json.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "gateway.h"
#include "identity.h"

static char gt_prefix[48];
static char gt_schema[64];
static struct cc_service_def gt_def;

/* Environment for one in-process gateway; argon2 made cheap so tests stay fast. */
static inline void gt_env(bool signup)
{
        char key[1024];
        cc_test_service_env(0);
        snprintf(key, sizeof(key), "%s/jwt-private.pem", cc_test_env("CC_TEST_KEYS_DIR"));
        setenv("CC_JWT_PRIVATE_KEY_FILE", key, 1);
        setenv("CC_ALLOW_SIGNUP", signup ? "true" : "false", 1);
        setenv("CC_ARGON2_T_COST", "1", 1);
        setenv("CC_ARGON2_M_COST_KIB", "1024", 1);
        setenv("CC_HTTP_MAX_BODY", "8192", 1);
        setenv("CC_OUTBOX_POLL_MS", "200", 1);
        setenv("CC_LOG_LEVEL", "error", 1);
        setenv("CC_ACTIVE_CACHE_MS", "3000", 1);
        /* Tests sign up many organizations from one address. */
        setenv("CC_SIGNUP_MAX_PER_HOUR", "100000", 1);
        cc_test_unique(gt_prefix, gt_schema, sizeof(gt_schema));
        gt_def = *gateway_service_def();
        gt_def.name = gt_schema;
}

static inline struct cc_service *gt_start(bool signup)
{
        gt_env(signup);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&gt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

struct gt_resp {
        long status;
        json_object *json; /* NULL when the body is not JSON */
        char *body;
        char retry_after[32];
};

static inline void gt_resp_fini(struct gt_resp *r)
{
        json_object_put(r->json);
        free(r->body);
        memset(r, 0, sizeof(*r));
}

/* One request; token NULL: no Authorization header. */
static inline long gt_call(struct cc_service *svc, const char *method, const char *path,
                           const char *body, const char *token, struct gt_resp *ret)
{
        char url[512], auth[4096];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", cc_service_port(svc), path);
        const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
        if (token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                hdrs[1] = auth;
        }
        struct cc_test_response r;
        cc_test_http(method, url, body, body ? strlen(body) : 0, hdrs, &r);
        struct gt_resp out = {.status = r.status, .body = strdup(r.body)};
        out.json = r.body[0] ? json_tokener_parse(r.body) : NULL;
        if (!cc_test_response_header(&r, "Retry-After", out.retry_after, sizeof(out.retry_after)))
                out.retry_after[0] = '\0';
        cc_test_response_fini(&r);
        long st = out.status;
        if (ret)
                *ret = out;
        else
                gt_resp_fini(&out);
        return st;
}

static inline const char *gt_str(json_object *o, const char *path)
{
        /* "user.email": one level of nesting is all the tests need. */
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", path);
        char *dot = strchr(buf, '.');
        if (dot) {
                *dot = '\0';
                o = json_object_object_get(o, buf);
                path = path + (dot - buf) + 1;
        }
        json_object *v = json_object_object_get(o, path);
        return v ? json_object_get_string(v) : NULL;
}

static inline void gt_expect_detail(struct gt_resp *r, long status, const char *detail)
{
        ck_assert_msg(r->status == status, "status %ld (want %ld): %s", r->status, status, r->body);
        if (detail)
                ck_assert_msg(r->json && gt_str(r->json, "detail") &&
                                  strcmp(gt_str(r->json, "detail"), detail) == 0,
                              "body %s, want detail %s", r->body, detail);
}

/* A session: tokens and ids (heap strings). */
struct gt_session {
        char *access, *refresh, *user_id, *org_id;
};

static inline void gt_session_fini(struct gt_session *s)
{
        free(s->access);
        free(s->refresh);
        free(s->user_id);
        free(s->org_id);
        memset(s, 0, sizeof(*s));
}

static inline void gt_session_from(struct gt_resp *r, struct gt_session *s)
{
        s->access = strdup(gt_str(r->json, "access_token"));
        s->refresh = strdup(gt_str(r->json, "refresh_token"));
        s->user_id = strdup(gt_str(r->json, "user.id"));
        s->org_id = strdup(gt_str(r->json, "user.organization_id"));
}

/* Anonymous sign-up of a new organization's admin. */
static inline void gt_signup(struct cc_service *svc, const char *email, struct gt_session *s)
{
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"email\":\"%s\",\"password\":\"correct horse\",\"first_name\":\"Ada\","
                 "\"last_name\":\"Admin\",\"organization_name\":\"Org %s\"}",
                 email, email);
        struct gt_resp r;
        gt_call(svc, "POST", "/api/auth/register", body, NULL, &r);
        ck_assert_msg(r.status == 201, "signup %s: %ld %s", email, r.status, r.body);
        gt_session_from(&r, s);
        gt_resp_fini(&r);
}

/* An admin creates a user of role in its organization, who then logs in. */
static inline void gt_add_user(struct cc_service *svc, const struct gt_session *admin,
                               const char *email, const char *role, struct gt_session *s)
{
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"email\":\"%s\",\"password\":\"agent password\",\"first_name\":\"Al\","
                 "\"last_name\":\"Agent\",\"role\":\"%s\"}",
                 email, role);
        struct gt_resp r;
        gt_call(svc, "POST", "/api/users", body, admin->access, &r);
        ck_assert_msg(r.status == 201, "create %s: %ld %s", email, r.status, r.body);
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"agent password\"}", email);
        gt_call(svc, "POST", "/api/auth/login", body, NULL, &r);
        ck_assert_msg(r.status == 200, "login %s: %ld %s", email, r.status, r.body);
        gt_session_from(&r, s);
        gt_resp_fini(&r);
}

static inline long long gt_sql_int(const char *sql_fmt, const char *param)
{
        struct cc_db_pool *pool = cc_test_pool(gt_schema, 1, 5000);
        long long v = cc_test_pool_query_int(pool, sql_fmt, param);
        cc_db_pool_free(pool);
        return v;
}

static inline EVP_PKEY *gt_private_key(void)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/jwt-private.pem", cc_test_env("CC_TEST_KEYS_DIR"));
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        ck_assert_ptr_nonnull(key);
        return key;
}

static inline void gt_suite_setup(void)
{
        cc_test_unique("gwtest", gt_prefix, sizeof(gt_prefix));
}

static inline void gt_suite_teardown(void)
{
        cc_test_drop_schemas(gt_prefix);
}
