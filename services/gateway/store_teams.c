/* SQL for teams and their members, always inside the caller's organization. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "gateway_internal.h"

#define TEAM_COLS                                                                                  \
        "t.id, t.name, t.description, t.org_id, t.supervisor_id, t.max_members, "                  \
        "(SELECT count(*) FROM team_members m WHERE m.team_id = t.id), "                           \
        "array_to_json(t.skills)::text, (extract(epoch FROM t.created_at) * 1000)::bigint, "       \
        "(extract(epoch FROM t.updated_at) * 1000)::bigint"

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static json_object *team_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, 0));
        cc_json_add_string(o, "name", val(res, row, 1));
        cc_json_add_string(o, "description", val(res, row, 2));
        cc_json_add_string(o, "organization_id", val(res, row, 3));
        cc_json_add_string(o, "supervisor_id", val(res, row, 4));
        json_object_object_add(o, "max_members",
                               json_object_new_int64(strtoll(val(res, row, 5), NULL, 10)));
        json_object_object_add(o, "current_members",
                               json_object_new_int64(strtoll(val(res, row, 6), NULL, 10)));
        json_object *skills = json_tokener_parse(val(res, row, 7));
        json_object_object_add(o, "skills", skills ? skills : json_object_new_array());
        cc_json_add_time(o, "created_at", strtoll(val(res, row, 8), NULL, 10));
        cc_json_add_time(o, "updated_at", strtoll(val(res, row, 9), NULL, 10));
        return o;
}

int gw_store_team_get(struct cc_db_conn *conn, const char *org_id, const char *id,
                      json_object **ret_team)
{
        if (!cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r =
            cc_db_exec(conn, "SELECT " TEAM_COLS " FROM teams t WHERE t.org_id = $1 AND t.id = $2",
                       2, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                *ret_team = team_json(res, 0);
                r = 0;
        }
        PQclear(res);
        return r;
}

int gw_store_team_create(struct cc_db_conn *conn, const char *org_id, const char *id,
                         const struct gw_team_fields *f)
{
        char max[24];
        snprintf(max, sizeof(max), "%lld", (long long)(f->set_max_members ? f->max_members : 10));
        const char *p[] = {id,
                           org_id,
                           f->name,
                           f->description,
                           f->supervisor_id,
                           max,
                           f->skills_json ? f->skills_json : "[]",
                           f->extra_metadata_json};
        return cc_db_exec(conn,
                          "INSERT INTO teams (id, org_id, name, description, supervisor_id, "
                          "max_members, skills, extra_metadata) VALUES ($1, $2, $3, $4, $5, $6, "
                          "ARRAY(SELECT json_array_elements_text($7::json)), $8::jsonb)",
                          8, p, NULL);
}

int gw_store_team_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                         const struct gw_team_fields *f)
{
        const char *t = "t", *n = "f";
        char max[24];
        snprintf(max, sizeof(max), "%lld", (long long)f->max_members);
        const char *p[] = {org_id,
                           id,
                           f->set_name ? t : n,
                           f->name,
                           f->set_description ? t : n,
                           f->description,
                           f->set_supervisor_id ? t : n,
                           f->supervisor_id,
                           f->set_max_members ? t : n,
                           max,
                           f->set_skills ? t : n,
                           f->skills_json,
                           f->set_extra_metadata ? t : n,
                           f->extra_metadata_json};
        PGresult *res = NULL;
        int r = cc_db_exec(
            conn,
            "UPDATE teams SET name = CASE WHEN $3::boolean THEN $4 ELSE name END, "
            "description = CASE WHEN $5::boolean THEN $6 ELSE description END, "
            "supervisor_id = CASE WHEN $7::boolean THEN $8::uuid ELSE supervisor_id END, "
            "max_members = CASE WHEN $9::boolean THEN $10::integer ELSE max_members END, "
            "skills = CASE WHEN $11::boolean THEN ARRAY(SELECT "
            "json_array_elements_text($12::json)) "
            "ELSE skills END, "
            "extra_metadata = CASE WHEN $13::boolean THEN $14::jsonb ELSE extra_metadata END, "
            "updated_at = now() WHERE org_id = $1 AND id = $2",
            14, p, &res);
        if (r < 0)
                return r;
        r = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int gw_store_team_delete(struct cc_db_conn *conn, const char *org_id, const char *id)
{
        if (!cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "DELETE FROM teams WHERE org_id = $1 AND id = $2", 2, p, &res);
        if (r < 0)
                return r;
        r = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int gw_store_team_list(struct cc_db_conn *conn, const char *org_id, int64_t skip, int64_t limit,
                       json_object **ret_teams, int64_t *ret_total)
{
        char skip_s[24], limit_s[24];
        snprintf(skip_s, sizeof(skip_s), "%lld", (long long)skip);
        snprintf(limit_s, sizeof(limit_s), "%lld", (long long)limit);
        const char *p[] = {org_id, skip_s, limit_s};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " TEAM_COLS " FROM teams t WHERE t.org_id = $1 "
                           "ORDER BY t.created_at DESC, t.id OFFSET $2 LIMIT $3",
                           3, p, &res);
        if (r < 0)
                return r;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(arr, team_json(res, i));
        PQclear(res);
        /* Teams per organization are few (tens): a count over them is an index range scan. */
        r = cc_db_exec(conn, "SELECT count(*) FROM teams WHERE org_id = $1", 1, p, &res);
        if (r < 0) {
                json_object_put(arr);
                return r;
        }
        *ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        *ret_teams = arr;
        return 0;
}

int gw_store_team_lock(struct cc_db_conn *conn, const char *org_id, const char *id,
                       int64_t *ret_max, int64_t *ret_count)
{
        if (!cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r =
            cc_db_exec(conn,
                       "SELECT max_members, (SELECT count(*) FROM team_members m WHERE "
                       "m.team_id = t.id) FROM teams t WHERE org_id = $1 AND id = $2 FOR UPDATE",
                       2, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                *ret_max = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                *ret_count = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
                r = 0;
        }
        PQclear(res);
        return r;
}

static json_object *member_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, 0));
        cc_json_add_string(o, "team_id", val(res, row, 1));
        cc_json_add_string(o, "user_id", val(res, row, 2));
        cc_json_add_string(o, "role", val(res, row, 3));
        cc_json_add_time(o, "joined_at", strtoll(val(res, row, 4), NULL, 10));
        return o;
}

#define MEMBER_COLS "id, team_id, user_id, role, (extract(epoch FROM joined_at) * 1000)::bigint"

int gw_store_member_add(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                        const char *user_id, const char *role, json_object **ret_member)
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {id, org_id, team_id, user_id, role};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "INSERT INTO team_members (id, org_id, team_id, user_id, role) VALUES "
                           "($1, $2, $3, $4, $5) RETURNING " MEMBER_COLS,
                           5, p, &res);
        if (r < 0)
                return r;
        *ret_member = member_json(res, 0);
        PQclear(res);
        return 0;
}

int gw_store_member_remove(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                           const char *user_id)
{
        if (!cc_uuid_valid(user_id))
                return -ENOENT;
        const char *p[] = {org_id, team_id, user_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "DELETE FROM team_members WHERE org_id = $1 AND team_id = $2 AND "
                           "user_id = $3",
                           3, p, &res);
        if (r < 0)
                return r;
        r = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int gw_store_member_list(struct cc_db_conn *conn, const char *org_id, const char *team_id,
                         json_object **ret_members)
{
        const char *p[] = {org_id, team_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " MEMBER_COLS " FROM team_members WHERE org_id = $1 AND "
                           "team_id = $2 ORDER BY joined_at, id",
                           2, p, &res);
        if (r < 0)
                return r;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(arr, member_json(res, i));
        PQclear(res);
        *ret_members = arr;
        return 0;
}

int gw_store_member_ids(struct cc_db_conn *conn, struct cc_arena *a, const char *team_id,
                        char ***ret_ids, size_t *ret_n)
{
        const char *p[] = {team_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY "
                           "joined_at, id",
                           1, p, &res);
        if (r < 0)
                return r;
        size_t n = (size_t)PQntuples(res);
        char **ids = cc_arena_alloc(a, (n + 1) * sizeof(*ids));
        for (size_t i = 0; i < n; i++)
                ids[i] = cc_arena_strdup(a, PQgetvalue(res, (int)i, 0));
        ids[n] = NULL;
        PQclear(res);
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}
