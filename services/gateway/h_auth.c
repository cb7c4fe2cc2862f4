/* The /api/auth routes: register, login, refresh, logout and me. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "cc/log.h"
#include "gateway_internal.h"

#define INVALID_TOKEN "Invalid or expired token"

/* Reads an optional or required string; false after replying 422. */
static bool get_str(struct cc_http_req *req, json_object *body, const char *field, unsigned flags,
                    size_t min, size_t max, const char **out)
{
        struct cc_json_err err;
        *out = NULL;
        int r = cc_json_get_string(body, field, flags, min, max, out, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return false;
        }
        return true;
}

static const char *const user_roles[] = {"ADMIN", "SUPERVISOR", "AGENT", "CUSTOMER", NULL};

bool gw_create_user(struct cc_http_req *req, json_object *body, const char *org_id,
                    bool anonymous_signup, struct gw_user *ret_user, struct cc_db_conn **ret_conn)
{
        struct cc_arena *a = cc_http_req_arena(req);
        const char *email_raw, *password, *first, *last, *dept, *ext, *username, *org_name;
        if (!get_str(req, body, "email", CC_JSON_REQUIRED, 1, 320, &email_raw))
                return false;
        char *email = gw_normalize_email(a, email_raw);
        if (!email) {
                cc_http_reply_error(req, 422, "email: value is not a valid email address");
                return false;
        }
        if (!get_str(req, body, "password", CC_JSON_REQUIRED, 8, 100, &password) ||
            !get_str(req, body, "first_name", CC_JSON_REQUIRED, 1, 100, &first) ||
            !get_str(req, body, "last_name", CC_JSON_REQUIRED, 1, 100, &last) ||
            !get_str(req, body, "department", 0, 0, 100, &dept) ||
            !get_str(req, body, "phone_extension", 0, 0, 20, &ext) ||
            !get_str(req, body, "username", 0, 0, 100, &username) ||
            !get_str(req, body, "organization_name", 0, 1, 255, &org_name))
                return false;
        const char *role = "ADMIN";
        if (!anonymous_signup) {
                struct cc_json_err err;
                int idx = 2;
                int r = cc_json_get_enum(body, "role", 0, user_roles, &idx, &err);
                if (r == -EINVAL) {
                        cc_http_reply_error(req, 422, "%s", err.msg);
                        return false;
                }
                if (idx == 3) {
                        cc_http_reply_error(req, 422,
                                            "role: CUSTOMER accounts are not supported; use "
                                            "ADMIN, SUPERVISOR or AGENT");
                        return false;
                }
                role = user_roles[idx];
        }
        char *hash = gw_password_hash(password);
        if (!hash) {
                gw_reply_internal(req, -EINVAL);
                return false;
        }
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn) {
                free(hash);
                return false;
        }
        char new_org[CC_UUID_LEN + 1];
        int r = cc_db_begin(conn);
        if (r == 0 && anonymous_signup) {
                char *name = org_name ? (char *)org_name
                                      : cc_arena_printf(a, "%s %s's organization", first, last);
                r = gw_store_org_create(conn, name, new_org);
                org_id = new_org;
        }
        const struct gw_user_new nu = {
            .org_id = org_id,
            .email = email,
            .password_hash = hash,
            .first_name = first,
            .last_name = last,
            .role = role,
            .department = dept,
            .phone_extension = ext,
            .username = username,
        };
        if (r == 0)
                r = gw_store_user_create(conn, a, &nu, ret_user);
        free(hash);
        if (r == 0)
                r = gw_event_user(conn, "user.created", ret_user, NULL, 0,
                                  cc_http_req_header(req, "traceparent"));
        if (r == 0) {
                const struct cc_auth *auth = cc_http_req_auth(req);
                gw_audit(conn, "user_created", ret_user->id, ret_user->org_id, ret_user->email,
                         cc_http_req_client_addr(req),
                         anonymous_signup ? "signup" : (auth ? auth->user_id : NULL));
        }
        if (r < 0) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                if (r == -EEXIST)
                        cc_http_reply_error(req, 400, "Email already registered");
                else
                        gw_reply_internal(req, r);
                return false;
        }
        *ret_conn = conn;
        return true;
}

/* Issues an access token and a refresh token of family_id (new family when NULL) inside the
 * open transaction on conn. */
static int issue_tokens(struct cc_http_req *req, struct cc_db_conn *conn, const struct gw_user *u,
                        const char *family_id, char **ret_access,
                        char ret_refresh[GW_REFRESH_LEN + 1])
{
        char fam[CC_UUID_LEN + 1];
        if (family_id)
                snprintf(fam, sizeof(fam), "%s", family_id);
        else
                cc_uuid_v4(fam);
        uint8_t hash[32];
        gw_refresh_new(ret_refresh, hash);
        int r = gw_store_refresh_insert(conn, fam, u->id, u->org_id, hash,
                                        cc_http_req_client_addr(req), gw_cfg.refresh_ttl_s);
        if (r < 0)
                return r;
        struct gw *gw = gw_of(cc_service_of(req));
        *ret_access = gw_access_token(gw, u->id, u->org_id, u->role, u->email, fam);
        return *ret_access ? 0 : -EINVAL;
}

static json_object *token_body(json_object *user, const char *access, const char *refresh)
{
        json_object *o = json_object_new_object();
        if (user)
                json_object_object_add(o, "user", user);
        json_object_object_add(o, "access_token", json_object_new_string(access));
        json_object_object_add(o, "refresh_token", json_object_new_string(refresh));
        json_object_object_add(o, "token_type", json_object_new_string("bearer"));
        return o;
}

/* The caller of a public route when it sent a bearer token: 1 verified (into *ret), 0 none,
 * -EACCES present but invalid. */
static int optional_bearer(struct cc_http_req *req, struct cc_auth *ret, const char **ret_token)
{
        const char *h = cc_http_req_header(req, "Authorization");
        if (!h || strncasecmp(h, "Bearer ", 7) != 0)
                return 0;
        const char *token = h + 7;
        while (*token == ' ')
                token++;
        if (!*token)
                return 0;
        if (ret_token)
                *ret_token = token;
        return cc_jwt_verify(cc_service_jwt_verifier(cc_service_of(req)), token, ret) == 0
                   ? 1
                   : -EACCES;
}

static void reply_throttled(struct cc_http_req *req, int64_t retry_ms, const char *detail)
{
        char s[24];
        snprintf(s, sizeof(s), "%lld", (long long)((retry_ms + 999) / 1000));
        cc_http_reply_header(req, "Retry-After", s);
        cc_http_reply_error(req, 429, "%s", detail);
}

void h_register(struct cc_http_req *req)
{
        struct cc_auth auth;
        int b = optional_bearer(req, &auth, NULL);
        const char *org_id = NULL;
        if (b < 0) {
                cc_http_reply_error(req, 401, "Authentication failed");
                return;
        }
        if (b == 1) {
                /* Stand in for the route's guard: the admin path is an authenticated route. */
                if (auth.role != CC_ROLE_ADMIN) {
                        cc_http_reply_error(req, 403, "Admin access required");
                        return;
                }
                if (!gateway_user_active(cc_service_of(req), auth.user_id)) {
                        cc_http_reply_error(req, 403, "User account is not active");
                        return;
                }
                org_id = auth.org_id;
        } else if (!gw_cfg.allow_signup) {
                cc_http_reply_error(req, 403, "Registration is closed: ask an administrator");
                return;
        } else {
                /* Each anonymous sign-up creates an organization: bounded per address so a
                 * script cannot fill the database with them. */
                const char *addr = cc_http_req_client_addr(req);
                int64_t retry = 0;
                if (!cc_ratelimit_take(gw_of(cc_service_of(req))->rl_signup, addr ? addr : "",
                                       cc_monotonic_us(), &retry)) {
                        reply_throttled(req, retry,
                                        "Too many sign-ups from this address; try again later");
                        return;
                }
        }
        struct gw_user u;
        struct cc_db_conn *conn = NULL;
        if (!gw_create_user(req, cc_http_req_json(req), org_id, b == 0, &u, &conn))
                return;
        char *access = NULL, refresh[GW_REFRESH_LEN + 1];
        int r = issue_tokens(req, conn, &u, NULL, &access, refresh);
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (r < 0) {
                free(access);
                gw_reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 201, token_body(gw_user_json(&u), access, refresh));
        free(access);
}

void h_login(struct cc_http_req *req)
{
        struct cc_service *svc = cc_service_of(req);
        struct gw *gw = gw_of(svc);
        struct cc_arena *a = cc_http_req_arena(req);
        json_object *body = cc_http_req_json(req);
        const char *email_raw, *password;
        if (!get_str(req, body, "email", CC_JSON_REQUIRED, 1, 320, &email_raw))
                return;
        char *email = gw_normalize_email(a, email_raw);
        if (!email) {
                cc_http_reply_error(req, 422, "email: value is not a valid email address");
                return;
        }
        if (!get_str(req, body, "password", CC_JSON_REQUIRED, 1, 1000, &password))
                return;
        const char *addr = cc_http_req_client_addr(req);
        char *email_key = cc_arena_printf(a, "e:%s", email);
        char *addr_key = cc_arena_printf(a, "a:%s", addr ? addr : "");
        int64_t now = cc_monotonic_us(), retry = 0;
        if (!cc_ratelimit_check(gw->rl_email, email_key, now, &retry) ||
            !cc_ratelimit_check(gw->rl_addr, addr_key, now, &retry)) {
                gw_audit_pool(cc_service_pool(svc), "login_throttled", NULL, NULL, email, addr,
                              NULL);
                reply_throttled(req, retry, "Too many failed login attempts; try again later");
                return;
        }

        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        struct gw_user u;
        int r = gw_store_user_by_email(conn, a, email, &u);
        if (r < 0 && r != -ENOENT) {
                cc_db_release(conn);
                gw_reply_internal(req, r);
                return;
        }
        /* An unknown email still pays for one verification, so timing does not tell. */
        bool found = r == 0;
        bool ok = gw_password_verify(found && u.password_hash ? u.password_hash : gw->dummy_hash,
                                     password) &&
                  found && u.password_hash;
        if (!ok) {
                cc_ratelimit_take(gw->rl_email, email_key, now, NULL);
                cc_ratelimit_take(gw->rl_addr, addr_key, now, NULL);
                gw_audit(conn, "login_failure", found ? u.id : NULL, found ? u.org_id : NULL, email,
                         addr, found ? "bad password" : "unknown email");
                cc_db_release(conn);
                cc_http_reply_error(req, 401, "Invalid email or password");
                return;
        }
        /* Only a caller who knows the password learns the account is disabled. */
        if (strcmp(u.status, "ACTIVE") != 0) {
                gw_audit(conn, "login_failure", u.id, u.org_id, email, addr, "not active");
                cc_db_release(conn);
                cc_http_reply_error(req, 403, "User account is not active");
                return;
        }
        cc_ratelimit_reset(gw->rl_email, email_key);
        char *access = NULL, refresh[GW_REFRESH_LEN + 1];
        r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_user_touch_login(conn, u.id);
        if (r == 0)
                r = issue_tokens(req, conn, &u, NULL, &access, refresh);
        if (r == 0) {
                gw_audit(conn, "login_success", u.id, u.org_id, email, addr, NULL);
                r = cc_db_commit(conn);
        } else {
                cc_db_rollback(conn);
        }
        if (r == 0)
                r = gw_store_user_get(conn, a, u.org_id, u.id, false, &u);
        cc_db_release(conn);
        if (r < 0) {
                free(access);
                gw_reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 200, token_body(gw_user_json(&u), access, refresh));
        free(access);
}

void h_refresh(struct cc_http_req *req)
{
        struct cc_arena *a = cc_http_req_arena(req);
        const char *token;
        if (!get_str(req, cc_http_req_json(req), "refresh_token", CC_JSON_REQUIRED, 1, 8192,
                     &token))
                return;
        const char *addr = cc_http_req_client_addr(req);
        uint8_t hash[32];
        gw_refresh_hash(token, hash);
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        enum gw_refresh_state st = GW_REFRESH_UNKNOWN;
        char family[CC_UUID_LEN + 1] = "", user_id[CC_UUID_LEN + 1] = "";
        char *access = NULL, refresh[GW_REFRESH_LEN + 1];
        struct gw_user u;
        const char *refused = NULL;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_refresh_take(conn, hash, &st, family, user_id);
        if (r < 0)
                goto fail;
        if (st == GW_REFRESH_REUSED) {
                /* A rotated token came back: whoever holds the family's newest token may be a
                 * thief or the victim; end the session for both. */
                r = gw_store_refresh_revoke_family(conn, family);
                refused = "refresh_reuse_detected";
        } else if (st != GW_REFRESH_OK) {
                refused = "refresh_refused";
        }
        if (r < 0)
                goto fail;
        if (!refused) {
                /* The user is looked up in the token's own organization. */
                PGresult *res = NULL;
                const char *p[] = {user_id};
                r = cc_db_exec(conn, "SELECT org_id FROM users WHERE id = $1", 1, p, &res);
                if (r < 0)
                        goto fail;
                char org[CC_UUID_LEN + 1];
                snprintf(org, sizeof(org), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
                PQclear(res);
                r = cc_uuid_valid(org) ? gw_store_user_get(conn, a, org, user_id, true, &u)
                                       : -ENOENT;
                if (r < 0 && r != -ENOENT)
                        goto fail;
                if (r == -ENOENT || strcmp(u.status, "ACTIVE") != 0) {
                        r = gw_store_refresh_revoke_family(conn, family);
                        if (r < 0)
                                goto fail;
                        refused = "refresh_refused_inactive";
                }
        }
        if (!refused) {
                r = gw_store_refresh_rotate(conn, hash);
                if (r == 0)
                        r = issue_tokens(req, conn, &u, family, &access, refresh);
                if (r < 0)
                        goto fail;
                gw_audit(conn, "refresh", u.id, u.org_id, u.email, addr, NULL);
        } else {
                gw_audit(conn, refused, user_id[0] ? user_id : NULL, NULL, NULL, addr,
                         family[0] ? family : NULL);
        }
        r = cc_db_commit(conn);
        if (r < 0)
                goto fail;
        cc_db_release(conn);
        if (refused) {
                cc_http_reply_error(req, 401, INVALID_TOKEN);
                return;
        }
        cc_http_reply_json(req, 200, token_body(NULL, access, refresh));
        free(access);
        return;
fail:
        cc_db_rollback(conn);
        cc_db_release(conn);
        free(access);
        gw_reply_internal(req, r);
}

void h_logout(struct cc_http_req *req)
{
        const char *token = NULL, *bearer = NULL;
        struct cc_json_err err;
        int r =
            cc_json_get_string(cc_http_req_json(req), "refresh_token", 0, 1, 8192, &token, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        char family[CC_UUID_LEN + 1] = "";
        struct cc_auth auth;
        bool have_auth = optional_bearer(req, &auth, &bearer) == 1;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        if (token) {
                uint8_t hash[32];
                gw_refresh_hash(token, hash);
                r = gw_store_refresh_family(conn, hash, family);
        } else if (have_auth) {
                gw_token_sid(bearer, family);
                r = family[0] ? 0 : -ENOENT;
        } else {
                r = -ENOENT;
        }
        if (r == 0)
                r = gw_store_refresh_revoke_family(conn, family);
        if (r == 0 || r == -ENOENT) {
                gw_audit(conn, "logout", have_auth ? auth.user_id : NULL,
                         have_auth ? auth.org_id : NULL, have_auth ? auth.email : NULL,
                         cc_http_req_client_addr(req), family[0] ? family : "no session");
        }
        cc_db_release(conn);
        if (r < 0 && r != -ENOENT) {
                gw_reply_internal(req, r);
                return;
        }
        /* Logging out is idempotent: an unknown or spent token still ends in "logged out". */
        json_object *o = json_object_new_object();
        json_object_object_add(o, "message", json_object_new_string("Logged out successfully"));
        cc_http_reply_json(req, 200, o);
}

void h_me(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        struct gw_user u;
        int r =
            gw_store_user_get(conn, cc_http_req_arena(req), auth->org_id, auth->user_id, false, &u);
        cc_db_release(conn);
        if (r == -ENOENT) {
                cc_http_reply_error(req, 401, "Authentication failed");
                return;
        }
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        if (strcmp(u.status, "ACTIVE") != 0) {
                cc_http_reply_error(req, 403, "User account is not active");
                return;
        }
        cc_http_reply_json(req, 200, gw_user_json(&u));
}
