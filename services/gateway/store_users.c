/* SQL for organizations and users. Every statement names the org it works in, except the
 * login lookup by email (emails are unique across organizations). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "gateway_internal.h"

#define USER_COLS                                                                                  \
        "id, org_id, email, username, first_name, last_name, role, status, department, "           \
        "phone_extension, array_to_json(skills)::text, avatar, email_verified, auth_provider, "    \
        "password_hash, (extract(epoch FROM created_at) * 1000)::bigint, "                         \
        "(extract(epoch FROM updated_at) * 1000)::bigint, "                                        \
        "(extract(epoch FROM last_login_at) * 1000)::bigint"

static char *col(struct cc_arena *a, PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : cc_arena_strdup(a, PQgetvalue(res, row, c));
}

static int64_t col_ms(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? -1 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static void user_from_row(struct cc_arena *a, PGresult *res, int row, struct gw_user *u)
{
        snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, row, 0));
        snprintf(u->org_id, sizeof(u->org_id), "%s", PQgetvalue(res, row, 1));
        u->email = col(a, res, row, 2);
        u->username = col(a, res, row, 3);
        u->first_name = col(a, res, row, 4);
        u->last_name = col(a, res, row, 5);
        u->role = col(a, res, row, 6);
        u->status = col(a, res, row, 7);
        u->department = col(a, res, row, 8);
        u->phone_extension = col(a, res, row, 9);
        u->skills_json = col(a, res, row, 10);
        u->avatar = col(a, res, row, 11);
        u->email_verified = strcmp(PQgetvalue(res, row, 12), "t") == 0;
        u->auth_provider = col(a, res, row, 13);
        u->password_hash = col(a, res, row, 14);
        u->created_at_ms = col_ms(res, row, 15);
        u->updated_at_ms = col_ms(res, row, 16);
        u->last_login_at_ms = col_ms(res, row, 17);
}

static int one_user(struct cc_db_conn *conn, struct cc_arena *a, const char *sql, int n,
                    const char *const *params, struct gw_user *ret)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        user_from_row(a, res, 0, ret);
        PQclear(res);
        return 0;
}

int gw_store_user_by_email(struct cc_db_conn *conn, struct cc_arena *a, const char *email,
                           struct gw_user *ret)
{
        const char *p[] = {email};
        return one_user(conn, a, "SELECT " USER_COLS " FROM users WHERE email = $1", 1, p, ret);
}

int gw_store_user_get(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                      const char *id, bool for_update, struct gw_user *ret)
{
        if (!cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        return one_user(
            conn, a,
            for_update ? "SELECT " USER_COLS " FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE"
                       : "SELECT " USER_COLS " FROM users WHERE org_id = $1 AND id = $2",
            2, p, ret);
}

int gw_store_user_state(struct cc_db_conn *conn, const char *id, enum cc_role *ret_role)
{
        if (!cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "SELECT status, role FROM users WHERE id = $1", 1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        r = strcmp(PQgetvalue(res, 0, 0), "ACTIVE") == 0 ? 1 : 0;
        *ret_role = cc_role_parse(PQgetvalue(res, 0, 1));
        PQclear(res);
        return r;
}

int gw_store_org_create(struct cc_db_conn *conn, const char *name, char ret_id[CC_UUID_LEN + 1])
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {id, name};
        int r =
            cc_db_exec(conn, "INSERT INTO organizations (id, name) VALUES ($1, $2)", 2, p, NULL);
        if (r == 0)
                memcpy(ret_id, id, sizeof(id));
        return r;
}

int gw_store_user_create(struct cc_db_conn *conn, struct cc_arena *a, const struct gw_user_new *u,
                         struct gw_user *ret)
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {
            id,           u->org_id, u->email,      u->password_hash,   u->first_name,
            u->last_name, u->role,   u->department, u->phone_extension, u->username};
        return one_user(conn, a,
                        "INSERT INTO users (id, org_id, email, password_hash, first_name, "
                        "last_name, role, department, phone_extension, username) VALUES ($1, $2, "
                        "$3, $4, $5, $6, $7, $8, $9, $10) RETURNING " USER_COLS,
                        10, p, ret);
}

int gw_store_user_touch_login(struct cc_db_conn *conn, const char *id)
{
        const char *p[] = {id};
        return cc_db_exec(conn, "UPDATE users SET last_login_at = now() WHERE id = $1", 1, p, NULL);
}

int gw_store_user_update(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                         const char *id, const struct gw_user_patch *pt, struct gw_user *ret)
{
        const char *t = "t", *f = "f";
#define FLAG(x) (pt->set_##x ? t : f)
        const char *p[] = {org_id,
                           id,
                           FLAG(first_name),
                           pt->first_name,
                           FLAG(last_name),
                           pt->last_name,
                           FLAG(role),
                           pt->role,
                           FLAG(status),
                           pt->status,
                           FLAG(department),
                           pt->department,
                           FLAG(phone_extension),
                           pt->phone_extension,
                           FLAG(username),
                           pt->username,
                           FLAG(skills),
                           pt->skills_json,
                           FLAG(avatar),
                           pt->avatar};
#undef FLAG
        return one_user(
            conn, a,
            "UPDATE users SET "
            "first_name = CASE WHEN $3::boolean THEN $4 ELSE first_name END, "
            "last_name = CASE WHEN $5::boolean THEN $6 ELSE last_name END, "
            "role = CASE WHEN $7::boolean THEN $8 ELSE role END, "
            "status = CASE WHEN $9::boolean THEN $10 ELSE status END, "
            "department = CASE WHEN $11::boolean THEN $12 ELSE department END, "
            "phone_extension = CASE WHEN $13::boolean THEN $14 ELSE phone_extension END, "
            "username = CASE WHEN $15::boolean THEN $16 ELSE username END, "
            "skills = CASE WHEN $17::boolean THEN ARRAY(SELECT "
            "json_array_elements_text($18::json)) "
            "ELSE skills END, "
            "avatar = CASE WHEN $19::boolean THEN $20 ELSE avatar END, "
            "updated_at = now() WHERE org_id = $1 AND id = $2 RETURNING " USER_COLS,
            20, p, ret);
}

int gw_store_user_list(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                       int64_t skip, int64_t limit, json_object **ret_users, int64_t *ret_total)
{
        char skip_s[24], limit_s[24];
        snprintf(skip_s, sizeof(skip_s), "%lld", (long long)skip);
        snprintf(limit_s, sizeof(limit_s), "%lld", (long long)limit);
        const char *p[] = {org_id, skip_s, limit_s};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " USER_COLS " FROM users WHERE org_id = $1 "
                           "ORDER BY created_at DESC, id OFFSET $2 LIMIT $3",
                           3, p, &res);
        if (r < 0)
                return r;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++) {
                struct gw_user u;
                user_from_row(a, res, i, &u);
                json_object_array_add(arr, gw_user_json(&u));
        }
        PQclear(res);
        /* An organization's users number in the hundreds: counting them is cheap. */
        r = cc_db_exec(conn, "SELECT count(*) FROM users WHERE org_id = $1", 1, p, &res);
        if (r < 0) {
                json_object_put(arr);
                return r;
        }
        *ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        *ret_users = arr;
        return 0;
}

json_object *gw_user_json(const struct gw_user *u)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", u->id);
        cc_json_add_string(o, "email", u->email);
        cc_json_add_string(o, "username", u->username);
        cc_json_add_string(o, "first_name", u->first_name);
        cc_json_add_string(o, "last_name", u->last_name);
        cc_json_add_string(o, "role", u->role);
        cc_json_add_string(o, "department", u->department);
        cc_json_add_string(o, "phone_extension", u->phone_extension);
        cc_json_add_string(o, "status", u->status);
        cc_json_add_string(o, "auth_provider", u->auth_provider);
        json_object_object_add(o, "email_verified", json_object_new_boolean(u->email_verified));
        json_object *skills = u->skills_json ? json_tokener_parse(u->skills_json) : NULL;
        json_object_object_add(o, "skills", skills ? skills : json_object_new_array());
        cc_json_add_string(o, "avatar", u->avatar);
        cc_json_add_string(o, "organization_id", u->org_id);
        cc_json_add_time(o, "created_at", u->created_at_ms);
        cc_json_add_time(o, "last_login_at", u->last_login_at_ms);
        return o;
}
