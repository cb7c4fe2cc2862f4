/* user.* and team.* events, written to the outbox inside the caller's transaction. */
#include <stdlib.h>
#include <string.h>

#include "cc/event.h"
#include "cc/outbox.h"
#include "gateway_internal.h"

#define USERS_TOPIC "cc.users.v1"

static Cc__Events__V1__UserRole role_pb(const char *role)
{
        switch (cc_role_parse(role)) {
        case CC_ROLE_ADMIN:
                return CC__EVENTS__V1__USER_ROLE__USER_ROLE_ADMIN;
        case CC_ROLE_SUPERVISOR:
                return CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR;
        case CC_ROLE_AGENT:
                return CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT;
        default:
                return CC__EVENTS__V1__USER_ROLE__USER_ROLE_UNSPECIFIED;
        }
}

static Cc__Events__V1__UserStatus status_pb(const char *s)
{
        if (strcmp(s, "ACTIVE") == 0)
                return CC__EVENTS__V1__USER_STATUS__USER_STATUS_ACTIVE;
        if (strcmp(s, "INACTIVE") == 0)
                return CC__EVENTS__V1__USER_STATUS__USER_STATUS_INACTIVE;
        if (strcmp(s, "SUSPENDED") == 0)
                return CC__EVENTS__V1__USER_STATUS__USER_STATUS_SUSPENDED;
        return CC__EVENTS__V1__USER_STATUS__USER_STATUS_UNSPECIFIED;
}

static int add(struct cc_db_conn *conn, Cc__Events__V1__Envelope *env, const char *key,
               const char *event_id)
{
        size_t len = 0;
        uint8_t *packed = cc_event_pack(env, &len);
        int r = cc_outbox_add(conn, USERS_TOPIC, key, event_id, env->type, env->traceparent, packed,
                              len);
        free(packed);
        return r;
}

int gw_event_user(struct cc_db_conn *conn, const char *type, const struct gw_user *u,
                  const char *const *changed, size_t nchanged, const char *traceparent)
{
        Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
        user.user_id = (char *)u->id;
        user.email = u->email;
        user.first_name = u->first_name;
        user.last_name = u->last_name;
        user.role = role_pb(u->role);
        user.status = status_pb(u->status);
        user.department = u->department ? u->department : "";
        user.created_at_ms = u->created_at_ms;
        user.updated_at_ms = u->updated_at_ms;
        json_object *skills = u->skills_json ? json_tokener_parse(u->skills_json) : NULL;
        size_t nskills = skills ? json_object_array_length(skills) : 0;
        char **sk = cc_xcalloc(nskills + 1, sizeof(*sk));
        for (size_t i = 0; i < nskills; i++)
                sk[i] = (char *)json_object_get_string(json_object_array_get_idx(skills, i));
        user.skills = sk;
        user.n_skills = nskills;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, type, u->org_id, 0, "gateway", traceparent, event_id);
        Cc__Events__V1__UserCreated created = CC__EVENTS__V1__USER_CREATED__INIT;
        Cc__Events__V1__UserUpdated updated = CC__EVENTS__V1__USER_UPDATED__INIT;
        if (strcmp(type, "user.created") == 0) {
                created.user = &user;
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
                env.user_created = &created;
        } else {
                updated.user = &user;
                updated.changed_fields = (char **)changed;
                updated.n_changed_fields = nchanged;
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED;
                env.user_updated = &updated;
        }
        int r = add(conn, &env, u->id, event_id);
        free(sk);
        json_object_put(skills);
        return r;
}

int gw_event_team(struct cc_db_conn *conn, struct cc_arena *a, const char *type, const char *org_id,
                  const char *team_id, const char *name, const char *supervisor_id, bool deleted,
                  const char *traceparent)
{
        Cc__Events__V1__TeamChanged team = CC__EVENTS__V1__TEAM_CHANGED__INIT;
        team.team_id = (char *)team_id;
        team.name = (char *)(name ? name : "");
        team.supervisor_id = (char *)(supervisor_id ? supervisor_id : "");
        team.deleted = deleted;
        if (!deleted) {
                /* The whole member list, so a consumer can replace what it holds. */
                int r = gw_store_member_ids(conn, a, team_id, &team.member_user_ids,
                                            &team.n_member_user_ids);
                if (r < 0)
                        return r;
        }
        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, type, org_id, 0, "gateway", traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_TEAM_CHANGED;
        env.team_changed = &team;
        return add(conn, &env, team_id, event_id);
}
