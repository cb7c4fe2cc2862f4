/* The gateway's identity routes against real PostgreSQL and the devbroker: the session story
 * (login, me, refresh, rotation, reuse detection, logout), the register rules, deactivation,
 * bad tokens, bad input, login throttling and user events on cc.users.v1. */
#include <time.h>

#include "gateway_test.h"
#include "cc/event.h"

START_TEST(gateway_auth_session_story)
{
        struct cc_service *svc = gt_start(true);
        struct gt_session admin;
        gt_signup(svc, "Boss@Example.com", &admin);
        struct gt_resp r;

        /* login normalises the email's case and spaces */
        gt_call(svc, "POST", "/api/auth/login",
                "{\"email\":\"  BOSS@example.COM \",\"password\":\"correct horse\"}", NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "token_type"), "bearer");
        ck_assert_str_eq(gt_str(r.json, "user.email"), "boss@example.com");
        ck_assert_str_eq(gt_str(r.json, "user.role"), "ADMIN");
        ck_assert_ptr_nonnull(gt_str(r.json, "user.last_login_at"));
        struct gt_session s;
        gt_session_from(&r, &s);
        gt_resp_fini(&r);

        gt_call(svc, "GET", "/api/auth/me", NULL, s.access, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "id"), s.user_id);
        ck_assert_str_eq(gt_str(r.json, "status"), "ACTIVE");
        ck_assert_str_eq(gt_str(r.json, "auth_provider"), "LOCAL");
        ck_assert(json_object_is_type(json_object_object_get(r.json, "skills"), json_type_array));
        ck_assert(json_object_object_get_ex(r.json, "department", NULL));
        ck_assert_ptr_null(json_object_object_get(r.json, "department"));
        ck_assert_msg(strchr(gt_str(r.json, "created_at"), 'Z') != NULL, "%s", r.body);
        gt_resp_fini(&r);

        /* refresh rotates */
        char body[256];
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", s.refresh);
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        char *access2 = strdup(gt_str(r.json, "access_token"));
        char *refresh2 = strdup(gt_str(r.json, "refresh_token"));
        ck_assert_str_ne(refresh2, s.refresh);
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_call(svc, "GET", "/api/auth/me", NULL, access2, NULL), 200);

        /* the rotated token again: reuse, the whole family goes */
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh2);
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_sql_int("SELECT count(*) FROM auth_audit WHERE event = "
                                    "'refresh_reuse_detected' AND user_id = $1",
                                    s.user_id),
                         1);

        /* logout with the refresh token in the body ends that session only */
        gt_call(svc, "POST", "/api/auth/login",
                "{\"email\":\"boss@example.com\",\"password\":\"correct horse\"}", NULL, &r);
        struct gt_session s2;
        gt_session_from(&r, &s2);
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", s2.refresh);
        gt_call(svc, "POST", "/api/auth/logout", body, s2.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(gt_str(r.json, "message"), "Logged out successfully");
        gt_resp_fini(&r);
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);

        /* logout with only the bearer (empty body) ends the bearer's session */
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", admin.refresh);
        ck_assert_int_eq(gt_call(svc, "POST", "/api/auth/logout", NULL, admin.access, NULL), 200);
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);
        ck_assert_int_ge(gt_sql_int("SELECT count(*) FROM auth_audit WHERE event = 'logout' AND "
                                    "detail IS DISTINCT FROM 'no session' AND $1 <> ''",
                                    "x"),
                         2);

        /* refresh needs its field; unknown tokens are refused the same way */
        gt_call(svc, "POST", "/api/auth/refresh", "{}", NULL, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strstr(gt_str(r.json, "detail"), "refresh_token") != NULL, "%s", r.body);
        gt_resp_fini(&r);
        gt_call(svc, "POST", "/api/auth/refresh", "{\"refresh_token\":\"nope\"}", NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);

        free(access2);
        free(refresh2);
        gt_session_fini(&s);
        gt_session_fini(&s2);
        gt_session_fini(&admin);
        cc_service_stop(svc);
}
END_TEST

START_TEST(gateway_auth_register_rules)
{
        struct cc_service *svc = gt_start(true);
        struct gt_resp r;
        /* anonymous: role and organization_id are ignored, a new organization is made */
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"first@example.com\",\"password\":\"longenough\",\"first_name\":\"F\","
                "\"last_name\":\"L\",\"role\":\"AGENT\",\"organization_id\":"
                "\"00000000-0000-4000-8000-000000000000\"}",
                NULL, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "user.role"), "ADMIN");
        ck_assert_str_ne(gt_str(r.json, "user.organization_id"),
                         "00000000-0000-4000-8000-000000000000");
        ck_assert_ptr_nonnull(gt_str(r.json, "access_token"));
        struct gt_session admin;
        gt_session_from(&r, &admin);
        gt_resp_fini(&r);

        /* duplicate email, whatever its case */
        gt_call(
            svc, "POST", "/api/auth/register",
            "{\"email\":\" FIRST@Example.com\",\"password\":\"longenough\",\"first_name\":\"F\","
            "\"last_name\":\"L\"}",
            NULL, &r);
        gt_expect_detail(&r, 400, "Email already registered");
        gt_resp_fini(&r);

        /* an admin's token: the user joins the admin's organization with the role asked for */
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"sup@example.com\",\"password\":\"longenough\",\"first_name\":\"S\","
                "\"last_name\":\"V\",\"role\":\"SUPERVISOR\"}",
                admin.access, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "user.role"), "SUPERVISOR");
        ck_assert_str_eq(gt_str(r.json, "user.organization_id"), admin.org_id);
        struct gt_session sup;
        gt_session_from(&r, &sup);
        gt_resp_fini(&r);

        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"cust@example.com\",\"password\":\"longenough\",\"first_name\":\"C\","
                "\"last_name\":\"U\",\"role\":\"CUSTOMER\"}",
                admin.access, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "role:", 5) == 0, "%s", r.body);
        gt_resp_fini(&r);

        /* a non-admin token cannot register anyone */
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"x@example.com\",\"password\":\"longenough\",\"first_name\":\"X\","
                "\"last_name\":\"Y\"}",
                sup.access, &r);
        gt_expect_detail(&r, 403, "Admin access required");
        gt_resp_fini(&r);

        /* validation names the field; malformed JSON is 400; oversized 413 */
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"not-an-email\",\"password\":\"longenough\",\"first_name\":\"X\","
                "\"last_name\":\"Y\"}",
                NULL, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "email:", 6) == 0, "%s", r.body);
        gt_resp_fini(&r);
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"ok@example.com\",\"password\":\"short\",\"first_name\":\"X\","
                "\"last_name\":\"Y\"}",
                NULL, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "password:", 9) == 0, "%s", r.body);
        gt_resp_fini(&r);
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"ok@example.com\",\"password\":\"longenough\",\"last_name\":\"Y\"}",
                NULL, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "first_name:", 11) == 0, "%s", r.body);
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_call(svc, "POST", "/api/auth/login", "{\"email\": ", NULL, NULL), 400);
        char *big = malloc(20000);
        memset(big, ' ', 19999);
        big[0] = '{';
        big[19997] = '}';
        big[19998] = '\0';
        ck_assert_int_eq(gt_call(svc, "POST", "/api/auth/login", big, NULL, NULL), 413);
        free(big);

        gt_session_fini(&admin);
        gt_session_fini(&sup);
        cc_service_stop(svc);

        /* sign-up off: anonymous register is refused, an admin's still works */
        svc = gt_start(false);
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"anon@example.com\",\"password\":\"longenough\",\"first_name\":\"A\","
                "\"last_name\":\"N\"}",
                NULL, &r);
        ck_assert_int_eq(r.status, 403);
        gt_resp_fini(&r);
        cc_service_stop(svc);
}
END_TEST

START_TEST(gateway_auth_deactivated_user_is_locked_out)
{
        struct cc_service *svc = gt_start(true);
        struct gt_session admin, agent;
        gt_signup(svc, "admin@deact.example", &admin);
        gt_add_user(svc, &admin, "agent@deact.example", "AGENT", &agent);
        ck_assert_int_eq(gt_call(svc, "GET", "/api/auth/me", NULL, agent.access, NULL), 200);
        ck_assert(gateway_user_active(svc, agent.user_id));

        char path[128], body[256];
        snprintf(path, sizeof(path), "/api/users/%s", agent.user_id);
        ck_assert_int_eq(gt_call(svc, "DELETE", path, NULL, admin.access, NULL), 204);
        ck_assert(!gateway_user_active(svc, agent.user_id));
        struct gt_resp r;
        gt_call(svc, "GET", "/api/auth/me", NULL, agent.access, &r);
        gt_expect_detail(&r, 403, "User account is not active");
        gt_resp_fini(&r);
        gt_call(svc, "GET", "/api/teams/", NULL, agent.access, &r);
        gt_expect_detail(&r, 403, "User account is not active");
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", agent.refresh);
        gt_call(svc, "POST", "/api/auth/refresh", body, NULL, &r);
        gt_expect_detail(&r, 401, "Invalid or expired token");
        gt_resp_fini(&r);
        gt_call(svc, "POST", "/api/auth/login",
                "{\"email\":\"agent@deact.example\",\"password\":\"agent password\"}", NULL, &r);
        gt_expect_detail(&r, 403, "User account is not active");
        gt_resp_fini(&r);
        /* the row stays, deactivated */
        gt_call(svc, "GET", path, NULL, admin.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(gt_str(r.json, "status"), "INACTIVE");
        gt_resp_fini(&r);
        /* an admin cannot lock itself out */
        snprintf(path, sizeof(path), "/api/users/%s", admin.user_id);
        ck_assert_int_eq(gt_call(svc, "DELETE", path, NULL, admin.access, NULL), 400);

        gt_session_fini(&admin);
        gt_session_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(gateway_auth_bad_tokens_are_refused)
{
        struct cc_service *svc = gt_start(true);
        struct gt_session admin;
        gt_signup(svc, "admin@tokens.example", &admin);
        EVP_PKEY *key = gt_private_key();
        long now = (long)time(NULL);
        char payload[1024];
#define CLAIMS(iat, exp)                                                                           \
        snprintf(payload, sizeof(payload),                                                         \
                 "{\"sub\":\"%s\",\"org\":\"%s\",\"role\":\"ADMIN\",\"email\":\"a@b.c\","          \
                 "\"jti\":\"j1\",\"iat\":%ld,\"exp\":%ld,\"iss\":\"cc-gateway\","                  \
                 "\"aud\":\"cc-api\",\"type\":\"access\"}",                                        \
                 admin.user_id, admin.org_id, (long)(iat), (long)(exp))
        /* a good hand-made token first, so the refusals below are about the token */
        CLAIMS(now, now + 300);
        char *good = cc_test_sign_es256(key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload);
        ck_assert_int_eq(gt_call(svc, "GET", "/api/auth/me", NULL, good, NULL), 200);

        CLAIMS(now - 4000, now - 3600);
        char *expired = cc_test_sign_es256(key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload);
        char *tampered = strdup(good);
        char *sig = strrchr(tampered, '.') + 5;
        *sig = *sig == 'A' ? 'B' : 'A';
        EVP_PKEY *other = EVP_EC_gen("P-256");
        CLAIMS(now, now + 300);
        char *wrong_key = cc_test_sign_es256(other, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload);
        char h64[128], p64[1400];
        cc_base64url_encode("{\"alg\":\"none\",\"typ\":\"JWT\"}", 27, h64);
        cc_base64url_encode(payload, strlen(payload), p64);
        char *none = cc_xasprintf("%s.%s.", h64, p64);
        cc_base64url_encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 28, h64);
        char *hs = cc_xasprintf("%s.%s.c2lnbmF0dXJl", h64, p64);
        const char *bad[] = {expired, tampered, wrong_key, none, hs, admin.refresh, "garbage"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                struct gt_resp r;
                gt_call(svc, "GET", "/api/auth/me", NULL, bad[i], &r);
                ck_assert_msg(r.status == 401, "token %zu: %ld %s", i, r.status, r.body);
                gt_resp_fini(&r);
                ck_assert_int_eq(gt_call(svc, "GET", "/api/users/", NULL, bad[i], NULL), 401);
        }
        /* an access token is no refresh token */
        char body[1200];
        snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", admin.access);
        ck_assert_int_eq(gt_call(svc, "POST", "/api/auth/refresh", body, NULL, NULL), 401);
        /* no token at all */
        struct gt_resp r;
        gt_call(svc, "GET", "/api/auth/me", NULL, NULL, &r);
        gt_expect_detail(&r, 401, "Not authenticated");
        gt_resp_fini(&r);

        /* the JWKS publishes the key the tokens verify with */
        gt_call(svc, "GET", "/.well-known/jwks.json", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        json_object *k = json_object_array_get_idx(json_object_object_get(r.json, "keys"), 0);
        ck_assert_str_eq(gt_str(k, "kty"), "EC");
        ck_assert_str_eq(gt_str(k, "crv"), "P-256");
        ck_assert_str_eq(gt_str(k, "alg"), "ES256");
        ck_assert_int_eq(strlen(gt_str(k, "x")), 43);
        ck_assert_int_eq(strlen(gt_str(k, "y")), 43);
        gt_resp_fini(&r);

        free(good);
        free(expired);
        free(tampered);
        free(wrong_key);
        free(none);
        free(hs);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other);
        gt_session_fini(&admin);
        cc_service_stop(svc);
}
END_TEST

START_TEST(gateway_auth_login_throttled)
{
        struct cc_service *svc = gt_start(true);
        struct gt_session admin;
        gt_signup(svc, "admin@throttle.example", &admin);
        struct gt_resp r;
        for (int i = 0; i < 5; i++) {
                gt_call(svc, "POST", "/api/auth/login",
                        "{\"email\":\"admin@throttle.example\",\"password\":\"wrong password\"}",
                        NULL, &r);
                gt_expect_detail(&r, 401, "Invalid email or password");
                gt_resp_fini(&r);
        }
        /* the right password does not help while the bucket is empty */
        gt_call(svc, "POST", "/api/auth/login",
                "{\"email\":\"admin@throttle.example\",\"password\":\"correct horse\"}", NULL, &r);
        ck_assert_msg(r.status == 429, "%ld %s", r.status, r.body);
        ck_assert_ptr_nonnull(gt_str(r.json, "detail"));
        int retry = atoi(r.retry_after);
        ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %s", r.retry_after);
        gt_resp_fini(&r);
        /* the client address is limited too: another email from here is refused */
        gt_call(svc, "POST", "/api/auth/login",
                "{\"email\":\"nobody@throttle.example\",\"password\":\"x\"}", NULL, &r);
        ck_assert_int_eq(r.status, 429);
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_sql_int("SELECT count(*) FROM auth_audit WHERE event = "
                                    "'login_failure' AND email = $1",
                                    "admin@throttle.example"),
                         5);
        gt_session_fini(&admin);
        cc_service_stop(svc);
}
END_TEST

START_TEST(gateway_auth_signup_throttled_per_address)
{
        gt_env(true);
        setenv("CC_SIGNUP_MAX_PER_HOUR", "2", 1);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&gt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        struct gt_session a, b;
        gt_signup(svc, "one@signup.example", &a);
        gt_signup(svc, "two@signup.example", &b);
        struct gt_resp r;
        gt_call(svc, "POST", "/api/auth/register",
                "{\"email\":\"three@signup.example\",\"password\":\"correct horse\","
                "\"first_name\":\"T\",\"last_name\":\"Hree\"}",
                NULL, &r);
        gt_expect_detail(&r, 429, "Too many sign-ups from this address; try again later");
        int retry = atoi(r.retry_after);
        ck_assert_msg(retry >= 1 && retry <= 3600, "Retry-After %s", r.retry_after);
        gt_resp_fini(&r);
        ck_assert_int_eq(
            gt_sql_int("SELECT count(*) FROM users WHERE email = $1", "three@signup.example"), 0);
        /* An admin creating users in its own organization is not a sign-up. */
        struct gt_session agent;
        gt_add_user(svc, &a, "agent@signup.example", "AGENT", &agent);
        gt_session_fini(&agent);
        gt_session_fini(&a);
        gt_session_fini(&b);
        cc_service_stop(svc);
        setenv("CC_SIGNUP_MAX_PER_HOUR", "100000", 1);
}
END_TEST

START_TEST(gateway_auth_user_events_once)
{
        struct cc_service *svc = gt_start(true);
        struct gt_session admin, agent;
        gt_signup(svc, "admin@events.example", &admin);
        gt_add_user(svc, &admin, "agent@events.example", "AGENT", &agent);
        char path[128];
        snprintf(path, sizeof(path), "/api/users/%s", agent.user_id);
        struct gt_resp r;
        gt_call(svc, "PUT", path, "{\"role\":\"SUPERVISOR\",\"department\":\"Sales\"}",
                admin.access, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "role"), "SUPERVISOR");
        ck_assert_str_eq(gt_str(r.json, "department"), "Sales");
        gt_resp_fini(&r);

        struct cc_kafka_consumer *c = cc_test_consumer("cc.users.v1", NULL, NULL);
        int created = 0, updated = 0;
        int64_t deadline = cc_monotonic_us() + 30 * 1000000LL;
        struct cc_kafka_message msg;
        while (cc_test_consume(c, deadline, &msg) == 0) {
                Cc__Events__V1__Envelope *env = cc_event_unpack(msg.value, msg.value_len);
                if (env && env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED &&
                    strcmp(env->user_created->user->user_id, agent.user_id) == 0) {
                        created++;
                        ck_assert_str_eq(env->type, "user.created");
                        ck_assert_str_eq(env->org_id, admin.org_id);
                        ck_assert_str_eq(env->user_created->user->email, "agent@events.example");
                }
                if (env && env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED &&
                    strcmp(env->user_updated->user->user_id, agent.user_id) == 0) {
                        updated++;
                        ck_assert_int_eq(env->user_updated->user->role,
                                         CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR);
                        ck_assert_uint_eq(env->user_updated->n_changed_fields, 2);
                }
                cc_event_free(env);
                cc_kafka_message_release(&msg);
                /* once both arrived, keep reading briefly to catch a duplicate */
                if (created && updated && deadline > cc_monotonic_us() + 1500000)
                        deadline = cc_monotonic_us() + 1500000;
        }
        cc_kafka_consumer_free(c);
        ck_assert_int_eq(created, 1);
        ck_assert_int_eq(updated, 1);
        gt_session_fini(&admin);
        gt_session_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("gateway_auth");
        TCase *tc = tcase_create("gateway_auth");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, gt_suite_setup, gt_suite_teardown);
        tcase_add_test(tc, gateway_auth_session_story);
        tcase_add_test(tc, gateway_auth_register_rules);
        tcase_add_test(tc, gateway_auth_deactivated_user_is_locked_out);
        tcase_add_test(tc, gateway_auth_bad_tokens_are_refused);
        tcase_add_test(tc, gateway_auth_login_throttled);
        tcase_add_test(tc, gateway_auth_user_events_once);
        tcase_add_test(tc, gateway_auth_signup_throttled_per_address);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
