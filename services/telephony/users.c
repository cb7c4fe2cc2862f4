/* The gateway's users as telephony knows them, from user.created / user.updated on cc.users.v1:
 * enough to refuse an agent profile for a user of another organization, to name agents, and to
 * take a deactivated user's agent offline. Each event carries the whole user, so applying one is
 * an upsert guarded by the user's version (User.updated_at_ms): Kafka may redeliver an old
 * version after a newer one, and the newer must stay. */
#include <errno.h>
#include <string.h>

#include "cc/log.h"
#include "telephony.h"

/* The insert happens, or the update does when this version is newer than the stored one;
 * RETURNING then yields a row. No row: an equal or older version, skipped. */
static const char upsert_sql[] =
    "INSERT INTO users (id, org_id, email, first_name, last_name, role, status, skills, "
    "version_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, "
    "ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), $9) "
    "ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, email = EXCLUDED.email, "
    "first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, role = EXCLUDED.role, "
    "status = EXCLUDED.status, skills = EXCLUDED.skills, version_ms = EXCLUDED.version_ms "
    "WHERE users.version_ms < EXCLUDED.version_ms RETURNING id";

static const char agent_of_user_sql[] = "SELECT id FROM agents WHERE org_id = $1 AND user_id = $2";

static const char *str(const char *s)
{
        return s ? s : "";
}

/* A deactivated user cannot take calls: its agent profile goes OFFLINE like any presence change
 * (agent.status_changed, a wrap-up closed). The lookup runs after the user row was written, so
 * an agent request that locked the profile first and reads the user afterwards sees the new
 * status, and one that comes later waits for this transaction. */
static int take_offline(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                        const char *traceparent)
{
        const char *params[] = {org_id, user_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, agent_of_user_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 1) {
                char agent_id[CC_UUID_LEN + 1];
                snprintf(agent_id, sizeof(agent_id), "%s", PQgetvalue(res, 0, 0));
                r = tel_agent_set_status(conn, org_id, agent_id, TEL_AGENT_OFFLINE, 0, traceparent);
                if (r > 0)
                        r = 0; /* already offline */
        }
        PQclear(res);
        return r;
}

/* A database refusal of the event's data (bad text, a violated constraint) will not go away on
 * a retry: the event is dead-lettered. Anything else (connection lost) is retried. */
static int db_error(struct cc_db_conn *conn, int r)
{
        const char *state = cc_db_sqlstate(conn);
        if (r == -EINVAL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
                return -EBADMSG;
        return r;
}

int tel_users_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env, void *userdata)
{
        (void)userdata;
        const Cc__Events__V1__User *u = NULL;
        if (strcmp(env->type, "user.created") == 0) {
                if (env->payload_case != CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED)
                        return -EBADMSG;
                u = env->user_created->user;
        } else if (strcmp(env->type, "user.updated") == 0) {
                if (env->payload_case != CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED)
                        return -EBADMSG;
                u = env->user_updated->user;
        } else {
                return 0; /* team.* and types we do not know yet are not ours */
        }
        if (!u || !cc_uuid_valid(u->user_id) || !cc_uuid_valid(env->org_id))
                return -EBADMSG;

        json_object *skills = json_object_new_array();
        for (size_t i = 0; i < u->n_skills; i++)
                json_object_array_add(skills, json_object_new_string(str(u->skills[i])));
        char version[24];
        snprintf(version, sizeof(version), "%lld", (long long)u->updated_at_ms);
        const char *status = CC_EVENT_ENUM_NAME(user_status, u->status);
        const char *params[] = {
            u->user_id,
            env->org_id,
            str(u->email),
            str(u->first_name),
            str(u->last_name),
            CC_EVENT_ENUM_NAME(user_role, u->role),
            status,
            json_object_to_json_string_ext(skills, JSON_C_TO_STRING_PLAIN),
            version,
        };
        PGresult *res = NULL;
        int r = cc_db_exec(conn, upsert_sql, CC_ARRAY_SIZE(params), params, &res);
        json_object_put(skills);
        if (r < 0)
                return db_error(conn, r);
        bool applied = PQntuples(res) == 1;
        PQclear(res);
        if (!applied) {
                cc_log_debug(NULL, "users: %s of %s version %lld is not newer, skipped", env->type,
                             u->user_id, (long long)u->updated_at_ms);
                return 0;
        }
        if (strcmp(status, "INACTIVE") == 0 || strcmp(status, "SUSPENDED") == 0) {
                r = take_offline(conn, env->org_id, u->user_id,
                                 env->traceparent && *env->traceparent ? env->traceparent : NULL);
                if (r < 0)
                        return db_error(conn, r);
        }
        return 0;
}
