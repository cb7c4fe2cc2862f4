/* /api/teams: teams and their members inside the caller's organization. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "gateway_internal.h"

#define TEAM_NOT_FOUND "Team not found"

static const char *traceparent(struct cc_http_req *req)
{
        return cc_http_req_header(req, "traceparent");
}

void h_teams_list(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_AGENT))
                return;
        int64_t skip, limit, total = 0;
        if (gw_page(req, &skip, &limit) < 0)
                return;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        json_object *teams = NULL;
        int r =
            gw_store_team_list(conn, cc_http_req_auth(req)->org_id, skip, limit, &teams, &total);
        cc_db_release(conn);
        if (r < 0) {
                gw_reply_internal(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "teams", teams);
        json_object_object_add(o, "total", json_object_new_int64(total));
        json_object_object_add(o, "skip", json_object_new_int64(skip));
        json_object_object_add(o, "limit", json_object_new_int64(limit));
        cc_http_reply_json(req, 200, o);
}

static void reply_team(struct cc_http_req *req, struct cc_db_conn *conn, const char *id, int status)
{
        json_object *team = NULL;
        int r = gw_store_team_get(conn, cc_http_req_auth(req)->org_id, id, &team);
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, TEAM_NOT_FOUND);
        else if (r < 0)
                gw_reply_internal(req, r);
        else
                cc_http_reply_json(req, status, team);
}

void h_teams_get(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_AGENT))
                return;
        struct cc_db_conn *conn = gw_acquire(req);
        if (conn)
                reply_team(req, conn, cc_http_req_param(req, "team_id"), 200);
}

/* Reads the team fields present in body; required: name (create). false after replying. */
static bool read_fields(struct cc_http_req *req, json_object *body, bool create,
                        struct gw_team_fields *f)
{
        struct cc_json_err err;
        int r;
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return false;
        }
        r = cc_json_get_string(body, "name", create ? CC_JSON_REQUIRED : 0, 1, 255, &f->name, &err);
        if (r == -EINVAL)
                goto invalid;
        f->set_name = r == 0;
        json_object *v = NULL;
        r = cc_json_get_string(body, "description", CC_JSON_NULLABLE, 0, 1000, &f->description,
                               &err);
        if (r == -EINVAL)
                goto invalid;
        f->set_description = json_object_object_get_ex(body, "description", &v);
        if (r == -ENOENT)
                f->description = NULL;
        r = cc_json_get_uuid(body, "supervisor_id", CC_JSON_NULLABLE, &f->supervisor_id, &err);
        if (r == -EINVAL)
                goto invalid;
        f->set_supervisor_id = json_object_object_get_ex(body, "supervisor_id", &v);
        if (r == -ENOENT)
                f->supervisor_id = NULL;
        r = cc_json_get_int(body, "max_members", 0, 1, 100, &f->max_members, &err);
        if (r == -EINVAL)
                goto invalid;
        f->set_max_members = r == 0;
        r = gw_skills(req, body, "skills", &f->skills_json);
        if (r == -EINVAL)
                return false;
        f->set_skills = r == 0;
        json_object *meta = NULL;
        r = cc_json_get_object(body, "extra_metadata", CC_JSON_NULLABLE, &meta, &err);
        if (r == -EINVAL)
                goto invalid;
        f->set_extra_metadata = json_object_object_get_ex(body, "extra_metadata", &v);
        f->extra_metadata_json =
            r == 0 ? cc_arena_strdup(cc_http_req_arena(req),
                                     json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN))
                   : NULL;
        return true;
invalid:
        cc_http_reply_error(req, 422, "%s", err.msg);
        return false;
}

/* The supervisor named must be a user of the caller's organization. */
static int check_supervisor(struct cc_http_req *req, struct cc_db_conn *conn, const char *id)
{
        if (!id)
                return 0;
        struct gw_user u;
        int r = gw_store_user_get(conn, cc_http_req_arena(req), cc_http_req_auth(req)->org_id, id,
                                  false, &u);
        if (r == -ENOENT)
                cc_http_reply_error(req, 422, "supervisor_id: no such user in this organization");
        return r;
}

void h_teams_create(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_SUPERVISOR))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct gw_team_fields f = {0};
        if (!read_fields(req, cc_http_req_json(req), true, &f))
                return;
        if (!f.set_supervisor_id)
                f.supervisor_id = auth->user_id;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        int r = check_supervisor(req, conn, f.supervisor_id);
        if (r == -ENOENT) {
                cc_db_release(conn);
                return;
        }
        if (r == 0)
                r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_team_create(conn, auth->org_id, id, &f);
        if (r == 0)
                r = gw_event_team(conn, cc_http_req_arena(req), "team.created", auth->org_id, id,
                                  f.name, f.supervisor_id, false, traceparent(req));
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                gw_reply_internal(req, r);
                return;
        }
        reply_team(req, conn, id, 201);
}

void h_teams_update(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_SUPERVISOR))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *id = cc_http_req_param(req, "team_id");
        struct gw_team_fields f = {0};
        if (!read_fields(req, cc_http_req_json(req), false, &f))
                return;
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        int64_t max = 0, count = 0;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_team_lock(conn, auth->org_id, id, &max, &count);
        if (r == -ENOENT) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 404, TEAM_NOT_FOUND);
                return;
        }
        if (r == 0 && f.set_max_members && f.max_members < count) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 422, "max_members: below the current member count (%lld)",
                                    (long long)count);
                return;
        }
        if (r == 0) {
                r = check_supervisor(req, conn, f.supervisor_id);
                if (r == -ENOENT) {
                        cc_db_rollback(conn);
                        cc_db_release(conn);
                        return;
                }
        }
        if (r == 0)
                r = gw_store_team_update(conn, auth->org_id, id, &f);
        json_object *team = NULL;
        if (r == 0)
                r = gw_store_team_get(conn, auth->org_id, id, &team);
        if (r == 0) {
                json_object *n = json_object_object_get(team, "name");
                json_object *s = json_object_object_get(team, "supervisor_id");
                r = gw_event_team(conn, cc_http_req_arena(req), "team.updated", auth->org_id, id,
                                  json_object_get_string(n), s ? json_object_get_string(s) : NULL,
                                  false, traceparent(req));
        }
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (r < 0) {
                json_object_put(team);
                gw_reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 200, team);
}

void h_teams_delete(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_SUPERVISOR))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *id = cc_http_req_param(req, "team_id");
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = gw_store_team_delete(conn, auth->org_id, id);
        if (r == 0)
                r = gw_event_team(conn, cc_http_req_arena(req), "team.deleted", auth->org_id, id,
                                  NULL, NULL, true, traceparent(req));
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, TEAM_NOT_FOUND);
        else if (r < 0)
                gw_reply_internal(req, r);
        else
                cc_http_reply_json(req, 204, NULL);
}

static const char *const team_roles[] = {"MEMBER", "LEAD", "SUPERVISOR"};

void h_members_add(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_SUPERVISOR))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *team_id = cc_http_req_param(req, "team_id");
        json_object *body = cc_http_req_json(req);
        struct cc_json_err err;
        const char *user_id = NULL, *role_in = NULL;
        int r = cc_json_get_string(body, "user_id", CC_JSON_REQUIRED, 1, 64, &user_id, &err);
        if (r == 0)
                r = cc_json_get_string(body, "role", 0, 1, 50, &role_in, &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        const char *role = "MEMBER";
        if (role_in) {
                role = NULL;
                for (size_t i = 0; i < CC_ARRAY_SIZE(team_roles); i++)
                        if (strcasecmp(role_in, team_roles[i]) == 0)
                                role = team_roles[i];
                if (!role) {
                        cc_http_reply_error(req, 422,
                                            "role: must be one of MEMBER, LEAD, "
                                            "SUPERVISOR");
                        return;
                }
        }
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        int64_t max = 0, count = 0;
        struct gw_user u;
        json_object *member = NULL;
        const char *missing = NULL;
        r = cc_db_begin(conn);
        if (r == 0) {
                r = gw_store_team_lock(conn, auth->org_id, team_id, &max, &count);
                if (r == -ENOENT)
                        missing = TEAM_NOT_FOUND;
        }
        if (r == 0) {
                r = gw_store_user_get(conn, cc_http_req_arena(req), auth->org_id, user_id, false,
                                      &u);
                if (r == -ENOENT)
                        missing = "User not found";
        }
        if (r == 0 && count >= max) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 400, "Team is full (max_members %lld)", (long long)max);
                return;
        }
        if (r == 0)
                r = gw_store_member_add(conn, auth->org_id, team_id, u.id, role, &member);
        if (r == 0)
                r = gw_event_team(conn, cc_http_req_arena(req), "team.member_added", auth->org_id,
                                  team_id, NULL, NULL, false, traceparent(req));
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (missing)
                cc_http_reply_error(req, 404, "%s", missing);
        else if (r == -EEXIST)
                cc_http_reply_error(req, 400, "User is already a team member");
        else if (r < 0)
                gw_reply_internal(req, r);
        else
                cc_http_reply_json(req, 201, member), member = NULL;
        json_object_put(member);
}

void h_members_remove(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_SUPERVISOR))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *team_id = cc_http_req_param(req, "team_id");
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        int64_t max = 0, count = 0;
        const char *missing = NULL;
        int r = cc_db_begin(conn);
        if (r == 0) {
                r = gw_store_team_lock(conn, auth->org_id, team_id, &max, &count);
                if (r == -ENOENT)
                        missing = TEAM_NOT_FOUND;
        }
        if (r == 0) {
                r = gw_store_member_remove(conn, auth->org_id, team_id,
                                           cc_http_req_param(req, "user_id"));
                if (r == -ENOENT)
                        missing = "Team member not found";
        }
        if (r == 0)
                r = gw_event_team(conn, cc_http_req_arena(req), "team.member_removed", auth->org_id,
                                  team_id, NULL, NULL, false, traceparent(req));
        if (r == 0)
                r = cc_db_commit(conn);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (missing)
                cc_http_reply_error(req, 404, "%s", missing);
        else if (r < 0)
                gw_reply_internal(req, r);
        else
                cc_http_reply_json(req, 204, NULL);
}

void h_members_list(struct cc_http_req *req)
{
        if (!gw_caller_ok(req, CC_ROLE_AGENT))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *team_id = cc_http_req_param(req, "team_id");
        struct cc_db_conn *conn = gw_acquire(req);
        if (!conn)
                return;
        int64_t max = 0, count = 0;
        json_object *members = NULL;
        int r = gw_store_team_lock(conn, auth->org_id, team_id, &max, &count);
        if (r == 0)
                r = gw_store_member_list(conn, auth->org_id, team_id, &members);
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, TEAM_NOT_FOUND);
        else if (r < 0)
                gw_reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, members);
}
