/* The identity routes of the gateway and the helpers their handlers share. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cc/json.h"
#include "cc/log.h"
#include "gateway_internal.h"

const struct cc_http_route gateway_identity_routes[] = {
    {"GET", "/.well-known/jwks.json", h_jwks, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/auth/register", h_register, CC_ROLE_NONE, 0},
    {"POST", "/api/auth/login", h_login, CC_ROLE_NONE, 0},
    {"POST", "/api/auth/refresh", h_refresh, CC_ROLE_NONE, 0},
    {"POST", "/api/auth/logout", h_logout, CC_ROLE_NONE, 0},
    {"GET", "/api/auth/me", h_me, CC_ROLE_AGENT, 0},
    {"GET", "/api/users", h_users_list, CC_ROLE_ADMIN, 0},
    {"POST", "/api/users", h_users_create, CC_ROLE_ADMIN, 0},
    {"GET", "/api/users/{id}", h_users_get, CC_ROLE_ADMIN, 0},
    {"PUT", "/api/users/{id}", h_users_update, CC_ROLE_ADMIN, 0},
    {"DELETE", "/api/users/{id}", h_users_delete, CC_ROLE_ADMIN, 0},
    {"GET", "/api/teams", h_teams_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/teams", h_teams_create, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/teams/{team_id}", h_teams_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/teams/{team_id}", h_teams_update, CC_ROLE_SUPERVISOR, 0},
    {"DELETE", "/api/teams/{team_id}", h_teams_delete, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/teams/{team_id}/members", h_members_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/teams/{team_id}/members", h_members_add, CC_ROLE_SUPERVISOR, 0},
    {"DELETE", "/api/teams/{team_id}/members/{user_id}", h_members_remove, CC_ROLE_SUPERVISOR, 0},
};
const size_t gateway_identity_nroutes = CC_ARRAY_SIZE(gateway_identity_routes);

void h_jwks(struct cc_http_req *req)
{
        struct gw *gw = gw_of(cc_service_of(req));
        cc_http_reply_header(req, "Cache-Control", "public, max-age=300");
        cc_http_reply_raw(req, 200, "application/json", gw->jwks_json, strlen(gw->jwks_json));
}

struct cc_db_conn *gw_acquire(struct cc_http_req *req)
{
        return cc_service_req_db(req);
}

void gw_reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "identity request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

static size_t active_slot(const char *user_id)
{
        uint64_t h = 1469598103934665603ULL;
        for (const char *s = user_id; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return (size_t)(h % GW_ACTIVE_SLOTS);
}

/* 1 active, 0 not, -ENOENT no such user, other negative: the database could not say. */
static int user_state(struct cc_service *svc, const char *user_id, enum cc_role *ret_role)
{
        struct gw *gw = gw_of(svc);
        size_t slot = active_slot(user_id);
        int64_t now = cc_now_ms();
        pthread_mutex_lock(&gw->active_lock);
        struct gw_active_entry *e = &gw->active[slot];
        if (strcmp(e->user_id, user_id) == 0 && now - e->checked_ms < gw_cfg.active_cache_ms) {
                int st = e->state;
                *ret_role = e->role;
                pthread_mutex_unlock(&gw->active_lock);
                return st;
        }
        pthread_mutex_unlock(&gw->active_lock);

        struct cc_db_conn *conn = NULL;
        int r = cc_db_acquire(cc_service_pool(svc), &conn);
        if (r < 0)
                return r;
        enum cc_role role = CC_ROLE_NONE;
        r = gw_store_user_state(conn, user_id, &role);
        cc_db_release(conn);
        if (r < 0 && r != -ENOENT)
                return r;
        pthread_mutex_lock(&gw->active_lock);
        snprintf(e->user_id, sizeof(e->user_id), "%s", user_id);
        e->state = r;
        e->role = role;
        e->checked_ms = now;
        pthread_mutex_unlock(&gw->active_lock);
        *ret_role = role;
        return r;
}

void gw_forget_user(struct gw *gw, const char *user_id)
{
        pthread_mutex_lock(&gw->active_lock);
        struct gw_active_entry *e = &gw->active[active_slot(user_id)];
        if (strcmp(e->user_id, user_id) == 0)
                e->user_id[0] = '\0';
        pthread_mutex_unlock(&gw->active_lock);
}

bool gateway_user_active(struct cc_service *svc, const char *user_id)
{
        enum cc_role role;
        return user_state(svc, user_id, &role) == 1;
}

bool gw_caller_ok(struct cc_http_req *req, enum cc_role min_role)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        enum cc_role role = CC_ROLE_NONE;
        int st = user_state(cc_service_of(req), auth->user_id, &role);
        if (st == -ENOENT) {
                cc_http_reply_error(req, 401, "Authentication failed");
                return false;
        }
        if (st < 0) {
                gw_reply_internal(req, st);
                return false;
        }
        if (st == 0) {
                cc_http_reply_error(req, 403, "User account is not active");
                return false;
        }
        /* The token's role may predate a demotion: the stored one decides. */
        if (role < min_role) {
                cc_http_reply_error(req, 403,
                                    min_role == CC_ROLE_ADMIN
                                        ? "Admin access required"
                                        : "Supervisor or admin access required");
                return false;
        }
        return true;
}

char *gw_normalize_email(struct cc_arena *a, const char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                n--;
        if (n < 3 || n > 254)
                return NULL;
        char *out = cc_arena_strndup(a, s, n);
        const char *at = NULL;
        for (char *p = out; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c <= ' ' || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ',' ||
                    c == ':' || c == ';' || c == '<' || c == '>' || c == '[' || c == ']' ||
                    c == '\\')
                        return NULL;
                if (c == '@') {
                        if (at)
                                return NULL;
                        at = p;
                }
                *p = (char)tolower(c);
        }
        if (!at || at == out || at - out > 64)
                return NULL;
        const char *dot = strrchr(at, '.');
        if (!dot || dot == at + 1 || dot[1] == '\0' || strstr(at, ".."))
                return NULL;
        return out;
}

int gw_page(struct cc_http_req *req, int64_t *ret_skip, int64_t *ret_limit)
{
        const char *names[] = {"skip", "limit"};
        const int64_t defaults[] = {0, 20}, mins[] = {0, 1}, maxs[] = {100000, 100};
        int64_t out[2];
        for (int i = 0; i < 2; i++) {
                const char *v = cc_http_req_query(req, names[i]);
                out[i] = defaults[i];
                if (!v || !*v)
                        continue;
                char *end = NULL;
                errno = 0;
                long long x = strtoll(v, &end, 10);
                if (errno || *end || x < mins[i] || x > maxs[i]) {
                        cc_http_reply_error(req, 422, "%s: must be an integer from %lld to %lld",
                                            names[i], (long long)mins[i], (long long)maxs[i]);
                        return -EINVAL;
                }
                out[i] = x;
        }
        *ret_skip = out[0];
        *ret_limit = out[1];
        return 0;
}

int gw_skills(struct cc_http_req *req, json_object *body, const char *field, const char **ret_json)
{
        struct cc_json_err err;
        json_object *arr = NULL;
        int r = cc_json_get_array(body, field, 0, 50, &arr, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return r;
        }
        if (r == -ENOENT)
                return r;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *s = json_object_array_get_idx(arr, i);
                const char *v =
                    json_object_is_type(s, json_type_string) ? json_object_get_string(s) : NULL;
                ssize_t len = v ? cc_utf8_count(v, strlen(v)) : -1;
                if (!v || len < 1 || len > 100 || !cc_text_valid(v, strlen(v))) {
                        cc_http_reply_error(req, 422,
                                            "%s: items must be strings of 1 to 100 "
                                            "characters",
                                            field);
                        return -EINVAL;
                }
        }
        *ret_json = cc_arena_strdup(cc_http_req_arena(req),
                                    json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
        return 0;
}
