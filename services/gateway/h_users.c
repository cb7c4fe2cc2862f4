/* /api/users: user management for the admins of an organization. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "gateway_internal.h"

void h_users_list(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_ADMIN))
                return;
        int64_t skip, limit, total = 0;
        if (gw_page(req, &skip, &limit) < 0)
                return;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        json_object *users = NULL;
        int r = gw_store_user_list(conn, cc_http_req_arena(req), cc_http_req_auth(req)->org_id,
                                   skip, limit, &users, &total);
        cc_db_release(conn);
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "users", users);
        json_object_object_add(o, "total", json_object_new_int64(total));
        json_object_object_add(o, "skip", json_object_new_int64(skip));
        json_object_object_add(o, "limit", json_object_new_int64(limit));
        cc_http_reply_json(req, 200, o);
}

void h_users_create(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_ADMIN))
                return;
        struct gw_user u;
        struct cc_db_conn *conn = NULL;
        if (!gw_create_user(req, cc_http_req_json(req), cc_http_req_auth(req)->org_id, false, &u,
                            &conn))
                return;
        int r = cc_db_commit(conn);
        cc_db_release(conn);
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 201, gw_user_json(&u));
}

void h_users_get(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_ADMIN))
                return;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        struct gw_user u;
        int r = gw_store_user_get(conn, cc_http_req_arena(req), cc_http_req_auth(req)->org_id,
                                  cc_http_req_param(req, "id"), false, &u);
        cc_db_release(conn);
        if (r == -ENOENT) {
                cc_http_reply_error(req, 404, "User not found");
                return;
        }
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 200, gw_user_json(&u));
}

static bool differs(const char *a, const char *b)
{
        if (!a || !b)
                return a != b;
        return strcmp(a, b) != 0;
}

/* Applies patch to the user in one transaction with its user.updated event; revokes the
 * user's refresh tokens when the status leaves ACTIVE. */
static void update_user(struct cc_http_req *req, const char *id, const struct gw_user_patch *p,
                        int ok_status)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        struct gw_user old, u;
        const char *changed[10];
        size_t n = 0;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_user_get(conn, a, auth->org_id, id, true, &old);
        if (r == 0)
                r = gw_store_user_update(conn, a, auth->org_id, id, p, &u);
        if (r == 0) {
#define CHANGED(f)                                                                                 \
        if (differs(old.f, u.f))                                                                   \
        changed[n++] = #f
                CHANGED(first_name);
                CHANGED(last_name);
                CHANGED(role);
                CHANGED(status);
                CHANGED(department);
                CHANGED(phone_extension);
                CHANGED(username);
                CHANGED(skills_json);
                CHANGED(avatar);
#undef CHANGED
                for (size_t i = 0; i < n; i++)
                        if (strcmp(changed[i], "skills_json") == 0)
                                changed[i] = "skills";
        }
        bool deactivated =
            r == 0 && strcmp(old.status, "ACTIVE") == 0 && strcmp(u.status, "ACTIVE") != 0;
        if (r == 0 && deactivated)
                r = gw_store_refresh_revoke_user(conn, id);
        if (r == 0 && n > 0)
                r = gw_event_user(conn, "user.updated", &u, changed, n,
                                  cc_http_req_header(req, "traceparent"));
        if (r == 0 && n > 0) {
                char *detail = cc_arena_strdup(a, "");
                for (size_t i = 0; i < n; i++)
                        detail = cc_arena_printf(a, "%s%s%s", detail, i ? "," : "", changed[i]);
                gw_audit(conn, deactivated ? "user_deactivated" : "user_updated", u.id, u.org_id,
                         u.email, cc_http_req_client_addr(req),
                         cc_arena_printf(a, "by %s: %s", auth->user_id, detail));
        }
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (r == -ENOENT) {
                cc_http_reply_error(req, 404, "User not found");
                return;
        }
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        gw_forget_user(gw_of(cc_service_of(req)), id);
        if (ok_status == 204)
                cc_http_reply_json(req, 204, NULL);
        else
                cc_http_reply_json(req, 200, gw_user_json(&u));
}

static const char *const roles[] = {"ADMIN", "SUPERVISOR", "AGENT", "CUSTOMER", NULL};
static const char *const statuses[] = {"ACTIVE", "INACTIVE", "SUSPENDED", NULL};

/* One optional string field of the patch; false after replying 422. */
static bool patch_str(struct cc_http_req *req, json_object *body, const char *field, unsigned flags,
                      size_t min, size_t max, bool *set, const char **value)
{
        struct cc_json_err err;
        json_object *v = NULL;
        if (!json_object_object_get_ex(body, field, &v))
                return true;
        int r = cc_json_get_string(body, field, flags, min, max, value, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return false;
        }
        /* present: null (when nullable) clears the field */
        *set = r == 0 || (flags & CC_JSON_NULLABLE);
        if (r == -ENOENT)
                *value = NULL;
        return true;
}

void h_users_update(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_ADMIN))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *id = cc_http_req_param(req, "id");
        json_object *body = cc_http_req_json(req);
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return;
        }
        struct gw_user_patch p = {0};
        struct cc_json_err err;
        if (!patch_str(req, body, "first_name", 0, 1, 100, &p.set_first_name, &p.first_name) ||
            !patch_str(req, body, "last_name", 0, 1, 100, &p.set_last_name, &p.last_name) ||
            !patch_str(req, body, "department", CC_JSON_NULLABLE, 0, 100, &p.set_department,
                       &p.department) ||
            !patch_str(req, body, "phone_extension", CC_JSON_NULLABLE, 0, 20,
                       &p.set_phone_extension, &p.phone_extension) ||
            !patch_str(req, body, "username", CC_JSON_NULLABLE, 0, 100, &p.set_username,
                       &p.username) ||
            !patch_str(req, body, "avatar", CC_JSON_NULLABLE, 0, 2048, &p.set_avatar, &p.avatar))
                return;
        int idx = -1;
        int r = cc_json_get_enum(body, "role", 0, roles, &idx, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        if (r == 0 && idx == 3) {
                cc_http_reply_error(req, 422, "role: CUSTOMER accounts are not supported");
                return;
        }
        if (r == 0) {
                p.set_role = true;
                p.role = roles[idx];
        }
        r = cc_json_get_enum(body, "status", 0, statuses, &idx, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        if (r == 0) {
                p.set_status = true;
                p.status = statuses[idx];
        }
        r = gw_skills(req, body, "skills", &p.skills_json);
        if (r == -EINVAL)
                return;
        p.set_skills = r == 0;
        /* An organization must not lose its last way in by accident. */
        if (strcmp(id, auth->user_id) == 0 && ((p.set_role && strcmp(p.role, "ADMIN") != 0) ||
                                               (p.set_status && strcmp(p.status, "ACTIVE") != 0))) {
                cc_http_reply_error(req, 400, "Admins cannot demote or deactivate themselves");
                return;
        }
        update_user(req, id, &p, 200);
}

void h_users_delete(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_ADMIN))
                return;
        const char *id = cc_http_req_param(req, "id");
        if (strcmp(id, cc_http_req_auth(req)->user_id) == 0) {
                cc_http_reply_error(req, 400, "Admins cannot demote or deactivate themselves");
                return;
        }
        /* Deactivate rather than destroy: calls and audit rows keep pointing at the user. */
        struct gw_user_patch p = {.set_status = true, .status = "INACTIVE"};
        update_user(req, id, &p, 204);
}
