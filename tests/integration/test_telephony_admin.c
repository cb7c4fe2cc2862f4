/* The Twilio account an organization brings and its phone numbers: credentials stored sealed
 * and never shown or logged, the platform's account as the fallback, checks against a small
 * stand-in for Twilio's account endpoint, numbers unique across organizations, the ADMIN-only
 * routes and tenant isolation. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/http.h"
#include "telephony_test.h"

#define SID_A     "AC0123456789abcdef0123456789abcdef"
#define TOKEN_A   "5ecre7a5ecre7a5ecre7a5ecre7a5ec1"
#define SID_PLAT  "ACffffffffffffffffffffffffffff0001"
#define TOKEN_PLT "p1a7f0rmp1a7f0rmp1a7f0rmp1a7f0rm"
#define CREDS     "/api/telephony/credentials"
#define NUMBERS   "/api/telephony/numbers"

/* ---- a stand-in for Twilio's GET /2010-04-01/Accounts/{sid}.json ---- */

static struct {
        const char *sid, *token;
} twilio_accounts[4];
static atomic_int twilio_hits;

static void h_account(struct cc_http_req *req)
{
        atomic_fetch_add(&twilio_hits, 1);
        char sid[64] = "", user[256] = "";
        const char *file = cc_http_req_param(req, "file");
        const char *dot = strstr(file, ".json");
        if (dot && (size_t)(dot - file) < sizeof(sid))
                memcpy(sid, file, (size_t)(dot - file));
        const char *h = cc_http_req_header(req, "Authorization");
        if (h && strncmp(h, "Basic ", 6) == 0) {
                int n = cc_base64_decode(h + 6, strlen(h + 6), user, sizeof(user) - 1);
                user[n > 0 ? n : 0] = '\0';
        }
        for (size_t i = 0; i < CC_ARRAY_SIZE(twilio_accounts); i++) {
                char want[256];
                if (!twilio_accounts[i].sid || strcmp(twilio_accounts[i].sid, sid) != 0)
                        continue;
                snprintf(want, sizeof(want), "%s:%s", twilio_accounts[i].sid,
                         twilio_accounts[i].token);
                if (strcmp(user, want) != 0)
                        break;
                json_object *o = json_object_new_object();
                json_object_object_add(o, "sid", json_object_new_string(sid));
                json_object_object_add(o, "status", json_object_new_string("active"));
                cc_http_reply_json(req, 200, o);
                return;
        }
        static const char refused[] =
            "{\"code\":20003,\"message\":\"Authenticate\",\"more_info\":"
            "\"https://www.twilio.com/docs/errors/20003\",\"status\":401}";
        cc_http_reply_raw(req, 401, "application/json", refused, sizeof(refused) - 1);
}

static const struct cc_http_route twilio_routes[] = {
    {"GET", "/2010-04-01/Accounts/{file}", h_account, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
};

static struct cc_http_server *twilio_start(char base[64])
{
        const struct cc_http_server_config cfg = {
            .service = "fake-twilio", .bind_addr = "127.0.0.1", .threads = 1};
        char err[256];
        struct cc_http_server *srv =
            cc_http_server_new(&cfg, twilio_routes, CC_ARRAY_SIZE(twilio_routes), err, sizeof(err));
        ck_assert_msg(srv, "fake twilio: %s", err);
        ck_assert_int_eq(cc_http_server_start(srv), 0);
        snprintf(base, 64, "http://127.0.0.1:%d", cc_http_server_port(srv));
        return srv;
}

static void twilio_stop(struct cc_http_server *srv)
{
        cc_http_server_stop(srv);
        cc_http_server_free(srv);
}

/* ---- helpers ---- */

static void put_creds(struct cc_service *svc, const struct tt_caller *c, const char *sid,
                      const char *token, struct tt_resp *ret)
{
        char body[512];
        snprintf(body, sizeof(body), "{\"account_sid\":\"%s\",\"auth_token\":\"%s\"}", sid, token);
        tt_call(svc, "PUT", CREDS, body, c->token, ret);
}

static bool jbool(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "%s missing", key);
        return json_object_get_boolean(v);
}

/* The state GET /credentials (or PUT) showed; account_sid NULL means JSON null. */
static void expect_creds(struct tt_resp *r, bool configured, const char *source,
                         const char *account_sid)
{
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
        ck_assert_msg(jbool(r->json, "configured") == configured, "%s", r->body);
        ck_assert_str_eq(tt_str(r->json, "source"), source);
        if (account_sid)
                ck_assert_str_eq(tt_str(r->json, "account_sid"), account_sid);
        else
                ck_assert_ptr_null(tt_str(r->json, "account_sid"));
        ck_assert_msg(json_object_object_get_ex(r->json, "auth_token_set", NULL), "%s", r->body);
        ck_assert_msg(json_object_object_get_ex(r->json, "updated_at", NULL), "%s", r->body);
}

static char *number_add(struct cc_service *svc, const struct tt_caller *c, const char *number)
{
        char body[256];
        struct tt_resp r;
        snprintf(body, sizeof(body), "{\"number\":\"%s\",\"friendly_name\":\"Main line\"}", number);
        tt_call(svc, "POST", NUMBERS, body, c->token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "number"), number);
        ck_assert_str_eq(tt_str(r.json, "friendly_name"), "Main line");
        ck_assert_ptr_nonnull(tt_str(r.json, "created_at"));
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

static int numbers_count(struct cc_service *svc, const struct tt_caller *c)
{
        struct tt_resp r;
        tt_call(svc, "GET", NUMBERS, NULL, c->token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        json_object *arr = json_object_object_get(r.json, "numbers");
        ck_assert_msg(arr && json_object_is_type(arr, json_type_array), "%s", r.body);
        int n = (int)json_object_array_length(arr);
        tt_resp_fini(&r);
        return n;
}

/* A 16-character-or-more random token that appears nowhere else. */
static void random_token(char out[33])
{
        unsigned char b[16];
        cc_random_bytes(b, sizeof(b));
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- tests ---- */

START_TEST(telephony_admin_credentials_round_trip)
{
        char base[64];
        struct cc_http_server *tw = twilio_start(base);
        twilio_accounts[0].sid = SID_A;
        twilio_accounts[0].token = TOKEN_A;
        struct cc_service *svc = tt_start(base, NULL, NULL);
        struct tt_caller a;
        tt_caller(&a, NULL, "ADMIN");
        struct tt_resp r;

        tt_call(svc, "GET", CREDS, NULL, a.token, &r);
        expect_creds(&r, false, "none", NULL);
        ck_assert(!jbool(r.json, "auth_token_set"));
        tt_resp_fini(&r);
        tt_call(svc, "POST", CREDS "/test", NULL, a.token, &r);
        tt_expect(&r, 400, "Telephony service not available");
        tt_resp_fini(&r);

        /* Set, then read back: configured as the organization's own, never the token. */
        put_creds(svc, &a, SID_A, TOKEN_A, &r);
        expect_creds(&r, true, "organization", SID_A);
        ck_assert(jbool(r.json, "auth_token_set"));
        ck_assert_ptr_null(strstr(r.body, TOKEN_A));
        ck_assert_ptr_null(strstr(r.body, TOKEN_A + 28)); /* not even its last characters */
        tt_resp_fini(&r);
        tt_call(svc, "GET", CREDS, NULL, a.token, &r);
        expect_creds(&r, true, "organization", SID_A);
        ck_assert_ptr_nonnull(tt_str(r.json, "updated_at"));
        ck_assert_ptr_null(strstr(r.body, TOKEN_A));
        ck_assert_ptr_null(strstr(r.body, TOKEN_A + 28));
        tt_resp_fini(&r);

        /* At rest only sealed. */
        struct cc_db_conn *conn = cc_test_acquire(cc_service_pool(svc));
        char sealed[512];
        cc_test_query_value(conn,
                            "SELECT auth_token_sealed FROM twilio_credentials WHERE org_id = $1",
                            a.org_id, sealed, sizeof(sealed));
        ck_assert_msg(strncmp(sealed, "v1:", 3) == 0, "%s", sealed);
        ck_assert_ptr_null(strstr(sealed, TOKEN_A));
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM twilio_credentials WHERE "
                                    "strpos(auth_token_sealed, $1) > 0",
                                    TOKEN_A),
                         0);

        /* What calls and webhooks get: the decrypted token. */
        struct tel_account acct;
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), a.org_id, &acct), 0);
        ck_assert_str_eq(acct.account_sid, SID_A);
        ck_assert_str_eq(acct.auth_token, TOKEN_A);
        ck_assert(acct.own);
        char org[CC_UUID_LEN + 1] = "";
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), SID_A, &acct, org), 0);
        ck_assert_str_eq(org, a.org_id);
        ck_assert_str_eq(acct.auth_token, TOKEN_A);
        /* Neither own nor platform credentials for anyone else. */
        char other[CC_UUID_LEN + 1];
        cc_uuid_v4(other);
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), other, &acct), -ENOENT);
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), NULL, &acct, org), -ENOENT);
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), SID_PLAT, &acct, org), -ENOENT);
        cc_db_release(conn);

        /* The check against Twilio uses them (Basic auth with this sid and token). */
        int hits = atomic_load(&twilio_hits);
        tt_call(svc, "POST", CREDS "/test", NULL, a.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "account_sid"), SID_A);
        ck_assert_str_eq(tt_str(r.json, "status"), "active");
        ck_assert_ptr_null(strstr(r.body, TOKEN_A));
        tt_resp_fini(&r);
        ck_assert_int_eq(atomic_load(&twilio_hits), hits + 1);

        /* A wrong token (replacing the right one) is refused by Twilio, and says so. */
        put_creds(svc, &a, SID_A, "00000000000000000000000000000000", &r);
        expect_creds(&r, true, "organization", SID_A);
        tt_resp_fini(&r);
        tt_call(svc, "POST", CREDS "/test", NULL, a.token, &r);
        tt_expect(&r, 400, "Twilio rejected the credentials: Authenticate");
        tt_resp_fini(&r);

        /* Upper-case hex is taken in Twilio's lower-case form. */
        put_creds(svc, &a, "AC0123456789ABCDEF0123456789ABCDEF", TOKEN_A, &r);
        expect_creds(&r, true, "organization", SID_A);
        tt_resp_fini(&r);

        /* Deleting goes back to nothing (no platform account here). */
        ck_assert_int_eq(tt_call(svc, "DELETE", CREDS, NULL, a.token, NULL), 204);
        ck_assert_int_eq(tt_call(svc, "DELETE", CREDS, NULL, a.token, NULL), 204);
        tt_call(svc, "GET", CREDS, NULL, a.token, &r);
        expect_creds(&r, false, "none", NULL);
        ck_assert_ptr_null(tt_str(r.json, "updated_at"));
        tt_resp_fini(&r);
        conn = cc_test_acquire(cc_service_pool(svc));
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), a.org_id, &acct), -ENOENT);
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), SID_A, &acct, org), -ENOENT);
        cc_db_release(conn);

        tt_caller_fini(&a);
        cc_service_stop(svc);
        twilio_stop(tw);
}
END_TEST

START_TEST(telephony_admin_platform_fallback_and_numbers)
{
        char base[64];
        struct cc_http_server *tw = twilio_start(base);
        twilio_accounts[0].sid = SID_PLAT;
        twilio_accounts[0].token = TOKEN_PLT;
        setenv("CC_TWILIO_FROM_NUMBER", "+15550000000", 1);
        struct cc_service *svc = tt_start(base, SID_PLAT, TOKEN_PLT);
        unsetenv("CC_TWILIO_FROM_NUMBER");
        struct tt_caller a, b;
        tt_caller(&a, NULL, "ADMIN");
        tt_caller(&b, NULL, "ADMIN");
        struct tt_resp r;

        /* The platform's account, without showing which it is. */
        tt_call(svc, "GET", CREDS, NULL, a.token, &r);
        expect_creds(&r, true, "platform", NULL);
        ck_assert(jbool(r.json, "auth_token_set"));
        ck_assert_ptr_null(strstr(r.body, TOKEN_PLT));
        ck_assert_ptr_null(strstr(r.body, SID_PLAT));
        tt_resp_fini(&r);
        tt_call(svc, "POST", CREDS "/test", NULL, a.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "status"), "active");
        ck_assert_ptr_null(strstr(r.body, SID_PLAT)); /* the test does not reveal it either */
        tt_resp_fini(&r);
        /* An organization cannot claim the platform's account as its own. */
        put_creds(svc, &a, SID_PLAT, "0123456789abcdef0123456789abcdef", &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(tt_str(r.json, "detail"), "account_sid:", 12) == 0, "%s", r.body);
        tt_resp_fini(&r);

        struct cc_db_conn *conn = cc_test_acquire(cc_service_pool(svc));
        struct tel_account acct;
        char org[CC_UUID_LEN + 1] = "x";
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), a.org_id, &acct), 0);
        ck_assert_str_eq(acct.account_sid, SID_PLAT);
        ck_assert_str_eq(acct.auth_token, TOKEN_PLT);
        ck_assert(!acct.own);
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), NULL, &acct, org), 0);
        ck_assert_str_eq(org, "");
        ck_assert_str_eq(acct.auth_token, TOKEN_PLT);
        strcpy(org, "x");
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), SID_PLAT, &acct, org), 0);
        ck_assert_str_eq(org, "");
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc), SID_A, &acct, org), -ENOENT);

        /* Its own account wins over the platform's once set. */
        put_creds(svc, &a, SID_A, TOKEN_A, &r);
        expect_creds(&r, true, "organization", SID_A);
        tt_resp_fini(&r);
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), a.org_id, &acct), 0);
        ck_assert_str_eq(acct.auth_token, TOKEN_A);
        ck_assert(acct.own);
        /* ... and the same account cannot be connected to a second organization. */
        put_creds(svc, &b, SID_A, TOKEN_A, &r);
        ck_assert_int_eq(r.status, 409);
        tt_resp_fini(&r);
        tt_call(svc, "GET", CREDS, NULL, b.token, &r);
        expect_creds(&r, true, "platform", NULL);
        tt_resp_fini(&r);

        /* A sealed token copied into another organization's row does not open there: B is then
         * not configured at all, and does not silently fall back to the platform's account. */
        const char *p[] = {b.org_id, a.org_id};
        cc_test_exec(conn,
                     "INSERT INTO twilio_credentials (org_id, account_sid, auth_token_sealed) "
                     "SELECT $1, 'AC' || repeat('b', 32), auth_token_sealed "
                     "FROM twilio_credentials WHERE org_id = $2",
                     2, p);
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), b.org_id, &acct), -ENOENT);
        ck_assert_int_eq(tel_account_by_sid(conn, tel_of(svc),
                                            "AC"
                                            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                            &acct, org),
                         -ENOENT);
        tt_call(svc, "GET", CREDS, NULL, b.token, &r);
        expect_creds(&r, false, "organization",
                     "AC"
                     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        ck_assert(!jbool(r.json, "auth_token_set"));
        tt_resp_fini(&r);
        tt_call(svc, "POST", CREDS "/test", NULL, b.token, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_null(strstr(r.body, TOKEN_A));
        tt_resp_fini(&r);
        /* A's own is untouched. */
        ck_assert_int_eq(tel_account_for_org(conn, tel_of(svc), a.org_id, &acct), 0);
        ck_assert_str_eq(acct.auth_token, TOKEN_A);

        /* Caller id: the platform's number until the organization has numbers, then its oldest;
         * a number finds its organization. */
        char number[32];
        ck_assert_int_eq(tel_default_number(conn, a.org_id, number), 0);
        ck_assert_str_eq(number, "+15550000000");
        char *n1 = number_add(svc, &a, "+15551230001");
        char *n2 = number_add(svc, &a, "+15551230002");
        ck_assert_int_eq(tel_default_number(conn, a.org_id, number), 0);
        ck_assert_str_eq(number, "+15551230001");
        ck_assert_int_eq(tel_org_for_number(conn, "+15551230002", org), 0);
        ck_assert_str_eq(org, a.org_id);
        ck_assert_int_eq(tel_org_for_number(conn, "+15559999999", org), -ENOENT);
        char path[128];
        snprintf(path, sizeof(path), NUMBERS "/%s", n1);
        ck_assert_int_eq(tt_call(svc, "DELETE", path, NULL, a.token, NULL), 204);
        ck_assert_int_eq(tel_default_number(conn, a.org_id, number), 0);
        ck_assert_str_eq(number, "+15551230002");
        ck_assert_int_eq(tel_org_for_number(conn, "+15551230001", org), -ENOENT);
        cc_db_release(conn);

        free(n1);
        free(n2);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        cc_service_stop(svc);
        twilio_stop(tw);
}
END_TEST

START_TEST(telephony_admin_numbers_tenant_isolation)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller a, b;
        tt_caller(&a, NULL, "ADMIN");
        tt_caller(&b, NULL, "ADMIN");
        struct tt_resp r;

        char *id = number_add(svc, &a, "+442071234567");
        ck_assert_int_eq(numbers_count(svc, &a), 1);
        ck_assert_int_eq(numbers_count(svc, &b), 0);

        /* A number routes to one organization: nobody registers it twice. */
        tt_call(svc, "POST", NUMBERS, "{\"number\":\"+442071234567\"}", b.token, &r);
        tt_expect(&r, 409, "Phone number already registered");
        tt_resp_fini(&r);
        tt_call(svc, "POST", NUMBERS, "{\"number\":\"+442071234567\"}", a.token, &r);
        tt_expect(&r, 409, "Phone number already registered");
        tt_resp_fini(&r);
        ck_assert_int_eq(numbers_count(svc, &b), 0);

        /* B can neither see nor delete A's number. */
        char path[128];
        snprintf(path, sizeof(path), NUMBERS "/%s", id);
        tt_call(svc, "DELETE", path, NULL, b.token, &r);
        tt_expect(&r, 404, "Phone number not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(numbers_count(svc, &a), 1);
        tt_call(svc, "DELETE", NUMBERS "/not-a-uuid", NULL, a.token, &r);
        tt_expect(&r, 404, "Phone number not found");
        tt_resp_fini(&r);

        /* Credentials: B sees its own state, and B's delete leaves A's. */
        put_creds(svc, &a, SID_A, TOKEN_A, &r);
        ck_assert_int_eq(r.status, 200);
        tt_resp_fini(&r);
        tt_call(svc, "GET", CREDS, NULL, b.token, &r);
        expect_creds(&r, false, "none", NULL);
        ck_assert_ptr_null(strstr(r.body, SID_A));
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_call(svc, "DELETE", CREDS, NULL, b.token, NULL), 204);
        tt_call(svc, "GET", CREDS, NULL, a.token, &r);
        expect_creds(&r, true, "organization", SID_A);
        tt_resp_fini(&r);

        /* A's delete works, once; the number is then free for B. */
        ck_assert_int_eq(tt_call(svc, "DELETE", path, NULL, a.token, NULL), 204);
        ck_assert_int_eq(tt_call(svc, "DELETE", path, NULL, a.token, NULL), 404);
        char *idb = number_add(svc, &b, "+442071234567");
        ck_assert_int_eq(numbers_count(svc, &a), 0);
        ck_assert_int_eq(numbers_count(svc, &b), 1);

        free(id);
        free(idb);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        cc_service_stop(svc);
}
END_TEST

/* Without a credentials key nothing can be stored; roles and validation still hold; an
 * unreachable Twilio is a 502 that says so. */
START_TEST(telephony_admin_roles_validation_and_outages)
{
        int refused_port = 0;
        int fd = cc_test_bound_socket(&refused_port);
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", refused_port);
        tt_env(base, SID_PLAT, TOKEN_PLT);
        unsetenv("CC_SECRETS_KEY_FILE");
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&tt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        struct tt_caller admin, sup, agent;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&sup, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        struct tt_resp r;

        static const struct {
                const char *method, *path, *body;
        } routes[] = {
            {"GET", CREDS, NULL},
            {"PUT", CREDS, "{\"account_sid\":\"" SID_A "\",\"auth_token\":\"" TOKEN_A "\"}"},
            {"DELETE", CREDS, NULL},
            {"POST", CREDS "/test", NULL},
            {"GET", NUMBERS, NULL},
            {"POST", NUMBERS, "{\"number\":\"+15551239999\"}"},
            {"DELETE", NUMBERS "/00000000-0000-4000-8000-000000000000", NULL},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(routes); i++) {
                const struct tt_caller *who[] = {&sup, &agent};
                for (size_t k = 0; k < 2; k++) {
                        tt_call(svc, routes[i].method, routes[i].path, routes[i].body,
                                who[k]->token, &r);
                        ck_assert_msg(r.status == 403, "%s %s: %ld %s", routes[i].method,
                                      routes[i].path, r.status, r.body);
                        tt_resp_fini(&r);
                }
                ck_assert_int_eq(
                    tt_call(svc, routes[i].method, routes[i].path, routes[i].body, NULL, NULL),
                    401);
        }
        ck_assert_int_eq(numbers_count(svc, &admin), 0);

        static const struct {
                const char *path, *body, *field;
        } bad[] = {
            {CREDS, "{\"auth_token\":\"" TOKEN_A "\"}", "account_sid:"},
            {CREDS, "{\"account_sid\":\"" SID_A "\"}", "auth_token:"},
            {CREDS, "{\"account_sid\":\"AC123\",\"auth_token\":\"" TOKEN_A "\"}", "account_sid:"},
            {CREDS,
             "{\"account_sid\":\"XX0123456789abcdef0123456789abcdef\",\"auth_token\":\"" TOKEN_A
             "\"}",
             "account_sid:"},
            {CREDS,
             "{\"account_sid\":\"AC0123456789abcdef0123456789abcdeg\",\"auth_token\":\"" TOKEN_A
             "\"}",
             "account_sid:"},
            {CREDS, "{\"account_sid\":\"" SID_A "\",\"auth_token\":\"short\"}", "auth_token:"},
            {CREDS, "{\"account_sid\":\"" SID_A "\",\"auth_token\":\"has a space in the token!\"}",
             "auth_token:"},
            {CREDS, "{\"account_sid\":\"" SID_A "\",\"auth_token\":12345678901234567890}",
             "auth_token:"},
            {CREDS, "[1]", "body:"},
            {NUMBERS, "{}", "number:"},
            {NUMBERS, "{\"number\":\"15551230000\"}", "number:"},
            {NUMBERS, "{\"number\":\"+1555\"}", "number:"},
            {NUMBERS, "{\"number\":\"+1555123000012345\"}", "number:"},
            {NUMBERS, "{\"number\":\"+05551230000\"}", "number:"},
            {NUMBERS, "{\"number\":\"+1555 1230000\"}", "number:"},
            {NUMBERS,
             "{\"number\":\"+15551230000\",\"friendly_name\":\""
             "0123456789012345678901234567890123456789012345678901234567890123456789\"}",
             "friendly_name:"},
            {NUMBERS, "{\"number\":\"+15551230000\",\"friendly_name\":\"a\\nb\"}",
             "friendly_name:"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                tt_call(svc, strcmp(bad[i].path, CREDS) == 0 ? "PUT" : "POST", bad[i].path,
                        bad[i].body, admin.token, &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", bad[i].body, r.status, r.body);
                const char *d = tt_str(r.json, "detail");
                ck_assert_msg(d && strncmp(d, bad[i].field, strlen(bad[i].field)) == 0, "%s: %s",
                              bad[i].body, r.body);
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(numbers_count(svc, &admin), 0);

        /* A well-formed PUT still cannot be stored without a key. */
        put_creds(svc, &admin, SID_A, TOKEN_A, &r);
        tt_expect(&r, 503, "Credential storage is not configured");
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM twilio_credentials", NULL), 0);
        tt_call(svc, "GET", CREDS, NULL, admin.token, &r);
        expect_creds(&r, true, "platform", NULL);
        tt_resp_fini(&r);

        /* Nothing listens at the API base: the check says Twilio could not be reached. */
        tt_call(svc, "POST", CREDS "/test", NULL, admin.token, &r);
        ck_assert_msg(r.status == 502 || r.status == 503, "%ld %s", r.status, r.body);
        const char *d = tt_str(r.json, "detail");
        ck_assert_msg(d && strstr(d, "Twilio"), "%s", r.body);
        ck_assert_ptr_null(strstr(r.body, TOKEN_PLT));
        tt_resp_fini(&r);

        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
        close(fd);
}
END_TEST

/* Everything the service writes to stderr at debug level while tokens come and go. */
START_TEST(telephony_admin_never_logs_token)
{
        char base[64], token[33], wrong[33];
        random_token(token);
        random_token(wrong);
        struct cc_http_server *tw = twilio_start(base);
        twilio_accounts[0].sid = SID_A;
        twilio_accounts[0].token = token;
        tt_env(base, NULL, NULL);
        setenv("CC_LOG_LEVEL", "debug", 1);

        char logpath[] = "/tmp/tel-admin-log-XXXXXX";
        int logfd = mkstemp(logpath);
        ck_assert_int_ge(logfd, 0);
        fflush(stderr);
        int saved = dup(2);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_ge(dup2(logfd, 2), 0);

        struct cc_service *svc = NULL;
        char err[512];
        int started = cc_service_start(&tt_def, &svc, err, sizeof(err));
        struct tt_caller a;
        tt_caller(&a, NULL, "ADMIN");
        long st[8] = {0};
        char body[256];
        if (started == 0) {
                snprintf(body, sizeof(body), "{\"account_sid\":\"%s\",\"auth_token\":\"%s\"}",
                         SID_A, token);
                st[0] = tt_call(svc, "PUT", CREDS, body, a.token, NULL);
                st[1] = tt_call(svc, "GET", CREDS, NULL, a.token, NULL);
                st[2] = tt_call(svc, "POST", CREDS "/test", NULL, a.token, NULL);
                /* refused ones: a bad field next to the token, a broken document holding it */
                snprintf(body, sizeof(body), "{\"account_sid\":\"AC1\",\"auth_token\":\"%s\"}",
                         token);
                st[3] = tt_call(svc, "PUT", CREDS, body, a.token, NULL);
                snprintf(body, sizeof(body), "{\"account_sid\":\"%s\",\"auth_token\":\"%s\"", SID_A,
                         token);
                st[4] = tt_call(svc, "PUT", CREDS, body, a.token, NULL);
                /* a token Twilio rejects, then checked */
                snprintf(body, sizeof(body), "{\"account_sid\":\"%s\",\"auth_token\":\"%s\"}",
                         SID_A, wrong);
                st[5] = tt_call(svc, "PUT", CREDS, body, a.token, NULL);
                st[6] = tt_call(svc, "POST", CREDS "/test", NULL, a.token, NULL);
                st[7] = tt_call(svc, "DELETE", CREDS, NULL, a.token, NULL);
                cc_service_stop(svc);
        }
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        ck_assert_msg(started == 0, "start: %s", err);

        char *log = NULL;
        off_t size = lseek(logfd, 0, SEEK_END);
        ck_assert_int_gt(size, 0);
        log = cc_xmalloc((size_t)size + 1);
        ck_assert_int_eq(pread(logfd, log, (size_t)size, 0), size);
        log[size] = '\0';
        close(logfd);
        unlink(logpath);

        long want[8] = {200, 200, 200, 422, 400, 200, 400, 204};
        for (int i = 0; i < 8; i++)
                ck_assert_msg(st[i] == want[i], "request %d: %ld", i, st[i]);
        /* The requests were logged (debug is on), the tokens never. */
        ck_assert_msg(strstr(log, CREDS), "no request lines in the log");
        ck_assert_msg(!strstr(log, token), "token in the log:\n%s", log);
        ck_assert_msg(!strstr(log, wrong), "token in the log:\n%s", log);
        free(log);
        tt_caller_fini(&a);
        twilio_stop(tw);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_admin");
        TCase *tc = tcase_create("telephony_admin");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_admin_credentials_round_trip);
        tcase_add_test(tc, telephony_admin_platform_fallback_and_numbers);
        tcase_add_test(tc, telephony_admin_numbers_tenant_isolation);
        tcase_add_test(tc, telephony_admin_roles_validation_and_outages);
        tcase_add_test(tc, telephony_admin_never_logs_token);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
