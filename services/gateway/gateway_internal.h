/* Shared inside the gateway's identity code: configuration, per-service state, the user and
 * team rows, and the functions of each file (store_* hold the SQL, h_* the HTTP). */
#pragma once

#include <json-c/json.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "cc/db.h"
#include "cc/http.h"
#include "cc/jwt.h"
#include "cc/ratelimit.h"
#include "cc/service.h"
#include "identity.h"

struct gw_config {
        char *private_key_file;
        long long access_ttl_s;
        long long refresh_ttl_s;
        bool allow_signup;
        long long argon2_t_cost;
        long long argon2_m_cost_kib;
        long long argon2_parallelism;
        long long login_max_failures;
        long long signups_per_hour;
        long long login_window_s;
        long long active_cache_ms;
};
extern struct gw_config gw_cfg;

#define GW_ACTIVE_SLOTS 4096

struct gw_active_entry {
        char user_id[CC_UUID_LEN + 1];
        int state; /* 1 active, 0 not active, -ENOENT no such user */
        enum cc_role role;
        int64_t checked_ms;
};

struct gw {
        EVP_PKEY *key;
        char kid[64];
        char *jwks_json;
        const char *issuer, *audience; /* borrowed from the service's settings */
        struct cc_ratelimit *rl_email, *rl_addr, *rl_signup;
        char *dummy_hash; /* verified against when the email is unknown, for equal timing */
        pthread_mutex_t active_lock;
        struct gw_active_entry active[GW_ACTIVE_SLOTS];
};

struct gw *gw_of(struct cc_service *svc);
int gw_init(struct cc_service *svc);
void gw_fini(struct cc_service *svc);

extern const struct cc_http_route gateway_identity_routes[];
extern const size_t gateway_identity_nroutes;

/* ---- password.c ---- */
/* An argon2id encoded hash (heap) of password with the configured parameters, NULL on failure. */
char *gw_password_hash(const char *password);
/* true when password matches encoded; always does the full argon2 work. */
bool gw_password_verify(const char *encoded, const char *password);

/* ---- tokens.c ---- */
int gw_tokens_init(struct gw *gw, char *err, size_t err_len) CC_MUSTCHECK;
void gw_tokens_fini(struct gw *gw);
/* A signed access token (heap) for the user, carrying the refresh family as "sid". */
char *gw_access_token(struct gw *gw, const char *user_id, const char *org_id, const char *role,
                      const char *email, const char *family_id);
#define GW_REFRESH_LEN 43 /* base64url of 32 bytes */
/* A fresh refresh token and its SHA-256. */
void gw_refresh_new(char token[GW_REFRESH_LEN + 1], uint8_t hash[32]);
void gw_refresh_hash(const char *token, uint8_t hash[32]);
/* The "sid" claim of a verified access token into out ("" when absent). */
void gw_token_sid(const char *token, char out[CC_UUID_LEN + 1]);

/* ---- store_users.c ---- */
struct gw_user {
        char id[CC_UUID_LEN + 1];
        char org_id[CC_UUID_LEN + 1];
        char *email, *username, *first_name, *last_name, *role, *status, *department,
            *phone_extension, *skills_json, *avatar, *auth_provider, *password_hash;
        bool email_verified;
        int64_t created_at_ms, updated_at_ms, last_login_at_ms; /* -1: none */
};

/* New user fields (strings borrowed). */
struct gw_user_new {
        const char *org_id, *email, *password_hash, *first_name, *last_name, *role, *department,
            *phone_extension, *username;
};

/* Each returns 0 and fills *ret (strings in arena), -ENOENT, or a cc_db error. */
int gw_store_user_by_email(struct cc_db_conn *conn, struct cc_arena *a, const char *email,
                           struct gw_user *ret) CC_MUSTCHECK;
int gw_store_user_get(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                      const char *id, bool for_update, struct gw_user *ret) CC_MUSTCHECK;
/* State of a user for the active check: 1 active, 0 not, -ENOENT. */
int gw_store_user_state(struct cc_db_conn *conn, const char *id,
                        enum cc_role *ret_role) CC_MUSTCHECK;
int gw_store_org_create(struct cc_db_conn *conn, const char *name,
                        char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* -EEXIST for a taken email. */
int gw_store_user_create(struct cc_db_conn *conn, struct cc_arena *a, const struct gw_user_new *u,
                         struct gw_user *ret) CC_MUSTCHECK;
int gw_store_user_touch_login(struct cc_db_conn *conn, const char *id) CC_MUSTCHECK;
/* Changes: for each field name set (value may be NULL = SQL NULL), skills as a JSON array text. */
struct gw_user_patch {
        bool set_first_name, set_last_name, set_role, set_status, set_department,
            set_phone_extension, set_username, set_skills, set_avatar;
        const char *first_name, *last_name, *role, *status, *department, *phone_extension,
            *username, *skills_json, *avatar;
};
int gw_store_user_update(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                         const char *id, const struct gw_user_patch *p,
                         struct gw_user *ret) CC_MUSTCHECK;
/* A page of the org's users, newest first, as a JSON array (owned by caller); *ret_total: the
 * org's user count. */
int gw_store_user_list(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                       int64_t skip, int64_t limit, json_object **ret_users,
                       int64_t *ret_total) CC_MUSTCHECK;
json_object *gw_user_json(const struct gw_user *u);

/* ---- store_tokens.c ---- */
int gw_store_refresh_insert(struct cc_db_conn *conn, const char *family_id, const char *user_id,
                            const char *org_id, const uint8_t hash[32], const char *client_addr,
                            int64_t ttl_s) CC_MUSTCHECK;
enum gw_refresh_state {
        GW_REFRESH_OK,
        GW_REFRESH_UNKNOWN,
        GW_REFRESH_EXPIRED,
        GW_REFRESH_REVOKED,
        GW_REFRESH_REUSED
};
/* Locks the token row; fills family and user ids when found. */
int gw_store_refresh_take(struct cc_db_conn *conn, const uint8_t hash[32],
                          enum gw_refresh_state *ret_state, char ret_family[CC_UUID_LEN + 1],
                          char ret_user[CC_UUID_LEN + 1]) CC_MUSTCHECK;
int gw_store_refresh_rotate(struct cc_db_conn *conn, const uint8_t hash[32]) CC_MUSTCHECK;
int gw_store_refresh_revoke_family(struct cc_db_conn *conn, const char *family_id) CC_MUSTCHECK;
/* Family of a token hash, -ENOENT when unknown. */
int gw_store_refresh_family(struct cc_db_conn *conn, const uint8_t hash[32],
                            char ret_family[CC_UUID_LEN + 1]) CC_MUSTCHECK;
int gw_store_refresh_revoke_user(struct cc_db_conn *conn, const char *user_id) CC_MUSTCHECK;

/* ---- store_teams.c ---- */
struct gw_team_fields {
        bool set_name, set_description, set_supervisor_id, set_max_members, set_skills,
            set_extra_metadata;
        const char *name, *description, *supervisor_id, *skills_json, *extra_metadata_json;
        int64_t max_members;
};
/* Team as contract JSON (caller owns), -ENOENT when not in org. */
int gw_store_team_get(struct cc_db_conn *conn, const char *org_id, const char *id,
                      json_object **ret_team) CC_MUSTCHECK;
int gw_store_team_create(struct cc_db_conn *conn, const char *org_id, const char *id,
                         const struct gw_team_fields *f) CC_MUSTCHECK;
int gw_store_team_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                         const struct gw_team_fields *f) CC_MUSTCHECK;
int gw_store_team_delete(struct cc_db_conn *conn, const char *org_id, const char *id) CC_MUSTCHECK;
int gw_store_team_list(struct cc_db_conn *conn, const char *org_id, int64_t skip, int64_t limit,
                       json_object **ret_teams, int64_t *ret_total) CC_MUSTCHECK;
/* Locks the team row; -ENOENT when not in org. */
int gw_store_team_lock(struct cc_db_conn *conn, const char *org_id, const char *id,
                       int64_t *ret_max, int64_t *ret_count) CC_MUSTCHECK;
/* -EEXIST when already a member. */
int gw_store_member_add(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                        const char *user_id, const char *role,
                        json_object **ret_member) CC_MUSTCHECK;
int gw_store_member_remove(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                           const char *user_id) CC_MUSTCHECK;
int gw_store_member_list(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                         json_object **ret_members) CC_MUSTCHECK;
/* Member user ids as a NULL-terminated arena array. */
int gw_store_member_ids(struct cc_db_conn *conn, struct cc_arena *a, const char *team_id,
                        char ***ret_ids, size_t *ret_n) CC_MUSTCHECK;

/* ---- store_audit.c ---- */
/* Best effort: an audit row that cannot be written is logged, never fails the request. */
void gw_audit(struct cc_db_conn *conn, const char *event, const char *user_id, const char *org_id,
              const char *email, const char *client_addr, const char *detail);
void gw_audit_pool(struct cc_db_pool *pool, const char *event, const char *user_id,
                   const char *org_id, const char *email, const char *client_addr,
                   const char *detail);

/* ---- events.c ---- */
int gw_event_user(struct cc_db_conn *conn, const char *type, const struct gw_user *u,
                  const char *const *changed, size_t nchanged,
                  const char *traceparent) CC_MUSTCHECK;
int gw_event_team(struct cc_db_conn *conn, struct cc_arena *a, const char *type, const char *org_id,
                  const char *team_id, const char *name, const char *supervisor_id, bool deleted,
                  const char *traceparent) CC_MUSTCHECK;

/* ---- h_*.c helpers (routes.c) ---- */
/* Checks the verified caller is still an active user whose current role reaches min_role;
 * replies 401/403/503 and returns false otherwise. */
bool gw_caller_ok(struct cc_http_req *req, enum cc_role min_role);
/* Acquires a connection or replies 503. */
struct cc_db_conn *gw_acquire(struct cc_http_req *req);
void gw_reply_internal(struct cc_http_req *req, int r);
/* Trims and lower-cases an email into the arena and checks its shape; NULL when invalid. */
char *gw_normalize_email(struct cc_arena *a, const char *s);
/* skip/limit from the query: 0 or replies 422. */
int gw_page(struct cc_http_req *req, int64_t *ret_skip, int64_t *ret_limit) CC_MUSTCHECK;
/* JSON array of strings (each 1..100 code points, at most 50) into a JSON text, or replies. */
int gw_skills(struct cc_http_req *req, json_object *body, const char *field,
              const char **ret_json) CC_MUSTCHECK;
void gw_forget_user(struct gw *gw, const char *user_id);

void h_jwks(struct cc_http_req *req);
void h_register(struct cc_http_req *req);
void h_login(struct cc_http_req *req);
void h_refresh(struct cc_http_req *req);
void h_logout(struct cc_http_req *req);
void h_me(struct cc_http_req *req);
void h_users_list(struct cc_http_req *req);
void h_users_create(struct cc_http_req *req);
void h_users_get(struct cc_http_req *req);
void h_users_update(struct cc_http_req *req);
void h_users_delete(struct cc_http_req *req);
void h_teams_list(struct cc_http_req *req);
void h_teams_get(struct cc_http_req *req);
void h_teams_create(struct cc_http_req *req);
void h_teams_update(struct cc_http_req *req);
void h_teams_delete(struct cc_http_req *req);
void h_members_add(struct cc_http_req *req);
void h_members_remove(struct cc_http_req *req);
void h_members_list(struct cc_http_req *req);
/* Shared by register (admin path) and POST /api/users: validates the body and creates the user
 * in org_id in one transaction with its event. Replies on failure and returns false. */
bool gw_create_user(struct cc_http_req *req, json_object *body, const char *org_id,
                    bool anonymous_signup, struct gw_user *ret_user, struct cc_db_conn **ret_conn);
