/* SQL for agent profiles and their presence, and agent.status_changed on cc.agents.v1 (key:
 * agent id) written to the outbox in the caller's transaction. Every statement names the
 * organization. A presence change always goes through tel_agent_set_status under the profile's
 * row lock, so the previous status and its duration in the event are the ones it really had. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agents_internal.h"
#include "cc/event.h"
#include "cc/json.h"
#include "cc/outbox.h"

#define AGENTS_TOPIC "cc.agents.v1"
#define PRODUCER     "telephony"

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define TS(p)   "('epoch'::timestamptz + " p "::bigint * interval '1 millisecond')"

static const char *const status_names[TEL_AGENT_NSTATUS] = {
    [TEL_AGENT_OFFLINE] = "OFFLINE", [TEL_AGENT_AVAILABLE] = "AVAILABLE",
    [TEL_AGENT_BUSY] = "BUSY",       [TEL_AGENT_WRAP_UP] = "WRAP_UP",
    [TEL_AGENT_BREAK] = "BREAK",     [TEL_AGENT_TRAINING] = "TRAINING",
};

const char *tel_agent_status_name(enum tel_agent_status s)
{
        return (unsigned)s < TEL_AGENT_NSTATUS ? status_names[s] : "OFFLINE";
}

int tel_agent_status_parse(const char *s, enum tel_agent_status *ret)
{
        for (int i = 0; s && i < TEL_AGENT_NSTATUS; i++) {
                if (strcasecmp(s, status_names[i]) == 0) {
                        *ret = (enum tel_agent_status)i;
                        return 0;
                }
        }
        return -EINVAL;
}

static enum tel_agent_status status_of(const char *s)
{
        enum tel_agent_status st = TEL_AGENT_OFFLINE;
        if (tel_agent_status_parse(s, &st) < 0)
                st = TEL_AGENT_OFFLINE; /* the table's CHECK makes this unreachable */
        return st;
}

static Cc__Events__V1__AgentStatus status_pb(enum tel_agent_status s)
{
        static const Cc__Events__V1__AgentStatus map[TEL_AGENT_NSTATUS] = {
            [TEL_AGENT_OFFLINE] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE,
            [TEL_AGENT_AVAILABLE] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_AVAILABLE,
            [TEL_AGENT_BUSY] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BUSY,
            [TEL_AGENT_WRAP_UP] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_WRAP_UP,
            [TEL_AGENT_BREAK] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BREAK,
            [TEL_AGENT_TRAINING] = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_TRAINING,
        };
        return (unsigned)s < TEL_AGENT_NSTATUS
                   ? map[s]
                   : CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_UNSPECIFIED;
}

static int64_t col_i64(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

/* ---- presence ---- */

static const char lock_status_sql[] =
    "SELECT status, " MS("status_since") ", wrap_call_id "
                                         "FROM agents WHERE org_id = $1 AND id = $2 FOR UPDATE";

/* clang-format off */
static const char set_status_sql[] =
        "UPDATE agents SET status = $3::text, status_since = " TS("$4") ", updated_at = now(), "
        "idle_since = CASE WHEN $3::text = 'AVAILABLE' THEN " TS("$4") " ELSE idle_since END, "
        "wrap_call_id = CASE WHEN $5::boolean THEN NULL ELSE wrap_call_id END, "
        "wrap_until = CASE WHEN $5::boolean THEN NULL ELSE wrap_until END "
        "WHERE org_id = $1 AND id = $2";
/* clang-format on */

int tel_agent_set_status(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         enum tel_agent_status to, int64_t at_ms, const char *traceparent)
{
        if ((unsigned)to >= TEL_AGENT_NSTATUS)
                return -EINVAL;
        const char *lock_params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, lock_status_sql, 2, lock_params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        enum tel_agent_status from = status_of(PQgetvalue(res, 0, 0));
        int64_t since_ms = col_i64(res, 0, 1);
        char wrap_call[CC_UUID_LEN + 1] = "";
        if (!PQgetisnull(res, 0, 2))
                snprintf(wrap_call, sizeof(wrap_call), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);
        if (from == to)
                return 1;

        int64_t at = at_ms ? at_ms : cc_now_ms();
        /* A change dated before the one it follows (clocks of two writers) would give a negative
         * duration and move status_since backwards: it counts as happening at that instant. */
        if (at < since_ms)
                at = since_ms;
        int64_t secs = (at - since_ms) / 1000;
        int duration_s = secs > INT32_MAX ? INT32_MAX : (int)secs;
        bool leave_wrap = from == TEL_AGENT_WRAP_UP;
        char at_s[24];
        snprintf(at_s, sizeof(at_s), "%lld", (long long)at);
        const char *params[] = {org_id, agent_id, tel_agent_status_name(to), at_s,
                                leave_wrap ? "true" : "false"};
        r = cc_db_exec(conn, set_status_sql, 5, params, NULL);
        if (r == 0)
                r = tel_event_agent_status(conn, org_id, agent_id, from, duration_s, at,
                                           traceparent);
        /* The wrap-up's end is the call's last figure: its call.wrapped_up goes out now. */
        if (r == 0 && leave_wrap && wrap_call[0])
                r = tel_route_wrap_up_done(conn, org_id, wrap_call, at, traceparent);
        return r;
}

static const char event_row_sql[] = "SELECT user_id, status, current_load, max_capacity "
                                    "FROM agents WHERE org_id = $1 AND id = $2";

int tel_event_agent_status(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                           enum tel_agent_status previous, int previous_duration_s, int64_t at_ms,
                           const char *traceparent)
{
        const char *params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, event_row_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        Cc__Events__V1__AgentStatusChanged p = CC__EVENTS__V1__AGENT_STATUS_CHANGED__INIT;
        p.agent_id = (char *)agent_id; /* protobuf-c only reads it */
        p.user_id = PQgetvalue(res, 0, 0);
        p.status = status_pb(status_of(PQgetvalue(res, 0, 1)));
        p.previous_status = status_pb(previous);
        p.previous_duration_seconds = previous_duration_s > 0 ? previous_duration_s : 0;
        p.current_load = (int32_t)col_i64(res, 0, 2);
        p.max_capacity = (int32_t)col_i64(res, 0, 3);
        int64_t at = at_ms ? at_ms : cc_now_ms();
        p.changed_at_ms = at;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "agent.status_changed", org_id, at, PRODUCER, traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED;
        env.agent_status_changed = &p;
        size_t len = 0;
        uint8_t *packed = cc_event_pack(&env, &len);
        PQclear(res); /* after packing: user_id points into it */
        r = cc_outbox_add(conn, AGENTS_TOPIC, agent_id, event_id, env.type, env.traceparent, packed,
                          len);
        free(packed);
        return r;
}

static const char endpoint_sql[] =
    "SELECT coalesce(nullif(metadata->>'endpoint', ''), 'client:' || user_id::text) "
    "FROM agents WHERE org_id = $1 AND id = $2";

int tel_agent_endpoint(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                       char ret_to[256])
{
        const char *params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, endpoint_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        snprintf(ret_to, 256, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

/* ---- profiles ---- */

static const char user_lock_sql[] =
    "SELECT status FROM users WHERE org_id = $1 AND id = $2 FOR SHARE";

static bool user_status_active(const char *status)
{
        return strcmp(status, "INACTIVE") != 0 && strcmp(status, "SUSPENDED") != 0;
}

int tel_agent_user_lock(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                        bool *ret_active)
{
        const char *params[] = {org_id, user_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, user_lock_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_active = user_status_active(PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

static const char insert_sql[] =
    "INSERT INTO agents (id, org_id, user_id, max_capacity, skills, language, metadata) "
    "VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6, $7::jsonb)";

int tel_agent_insert(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                     const struct tel_agent_fields *f, char ret_id[CC_UUID_LEN + 1])
{
        char id[CC_UUID_LEN + 1], cap[16];
        cc_uuid_v4(id);
        snprintf(cap, sizeof(cap), "%d",
                 f->set_max_capacity ? f->max_capacity : TEL_AGENT_DEFAULT_CAPACITY);
        const char *params[] = {
            id,
            org_id,
            user_id,
            cap,
            f->set_skills && f->skills_json ? f->skills_json : "[]",
            f->set_language && f->language ? f->language : "en",
            f->set_metadata ? f->metadata_json : NULL,
        };
        int r = cc_db_exec(conn, insert_sql, CC_ARRAY_SIZE(params), params, NULL);
        if (r == 0)
                memcpy(ret_id, id, sizeof(id));
        return r;
}

static const char lock_sql[] = "SELECT id, user_id, status, max_capacity, current_load "
                               "FROM agents WHERE org_id = $1 AND id = $2 FOR UPDATE";
static const char user_status_sql[] = "SELECT status FROM users WHERE org_id = $1 AND id = $2";

int tel_agent_lock(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                   struct tel_agent *ret)
{
        const char *params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, lock_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        struct tel_agent a = {.user_active = true};
        snprintf(a.id, sizeof(a.id), "%s", PQgetvalue(res, 0, 0));
        snprintf(a.user_id, sizeof(a.user_id), "%s", PQgetvalue(res, 0, 1));
        a.status = status_of(PQgetvalue(res, 0, 2));
        a.max_capacity = (int)col_i64(res, 0, 3);
        a.current_load = (int)col_i64(res, 0, 4);
        PQclear(res);

        const char *uparams[] = {org_id, a.user_id};
        r = cc_db_exec(conn, user_status_sql, 2, uparams, &res);
        if (r < 0)
                return r;
        /* A user we never heard of again keeps the profile usable: it was made while it was
         * known, and users are not deleted. */
        if (PQntuples(res) == 1)
                a.user_active = user_status_active(PQgetvalue(res, 0, 0));
        PQclear(res);
        *ret = a;
        return 0;
}

static const char skills_equal_sql[] =
    "SELECT a.skills @> s.v AND a.skills <@ s.v FROM agents a, "
    "(SELECT ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) AS v) s "
    "WHERE a.org_id = $1 AND a.id = $2";

int tel_agent_skills_equal(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                           const char *skills_json, bool *ret_equal)
{
        const char *params[] = {org_id, agent_id, skills_json};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, skills_equal_sql, 3, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_equal = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        return 0;
}

/* clang-format off */
static const char update_sql[] =
        "UPDATE agents SET "
        "max_capacity = CASE WHEN $3::boolean THEN $4::integer ELSE max_capacity END, "
        "skills = CASE WHEN $5::boolean "
        "THEN ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) ELSE skills END, "
        "language = CASE WHEN $7::boolean THEN $8::text ELSE language END, "
        "metadata = CASE WHEN $9::boolean THEN $10::jsonb ELSE metadata END, "
        "updated_at = now() WHERE org_id = $1 AND id = $2";
/* clang-format on */

static const char *flag(bool b)
{
        return b ? "true" : "false";
}

int tel_agent_update(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                     const struct tel_agent_fields *f)
{
        char cap[16];
        snprintf(cap, sizeof(cap), "%d", f->max_capacity);
        const char *params[] = {
            org_id,
            agent_id,
            flag(f->set_max_capacity),
            f->set_max_capacity ? cap : NULL,
            flag(f->set_skills),
            f->set_skills ? f->skills_json : NULL,
            flag(f->set_language),
            f->set_language ? f->language : NULL,
            flag(f->set_metadata),
            f->set_metadata ? f->metadata_json : NULL,
        };
        return cc_db_exec(conn, update_sql, CC_ARRAY_SIZE(params), params, NULL);
}

/* clang-format off */
#define AGENT_SELECT                                                                               \
        "SELECT a.id, a.user_id, a.status, " MS("a.status_since") ", a.max_capacity, "             \
        "a.current_load, array_to_json(a.skills)::text, a.language, a.metadata::text, "            \
        MS("a.created_at") ", " MS("a.updated_at") ", "                                            \
        "concat_ws(' ', nullif(u.first_name, ''), nullif(u.last_name, '')) "                       \
        "FROM agents a LEFT JOIN users u ON u.id = a.user_id AND u.org_id = a.org_id "
/* clang-format on */

enum {
        COL_ID,
        COL_USER,
        COL_STATUS,
        COL_STATUS_SINCE,
        COL_MAX_CAPACITY,
        COL_LOAD,
        COL_SKILLS,
        COL_LANGUAGE,
        COL_METADATA,
        COL_CREATED,
        COL_UPDATED,
        COL_NAME,
};

static const char get_sql[] = AGENT_SELECT "WHERE a.org_id = $1 AND a.id = $2";
static const char list_sql[] =
    AGENT_SELECT "WHERE a.org_id = $1 AND ($2::text IS NULL OR a.status = $2::text) "
                 "ORDER BY a.created_at DESC, a.id DESC OFFSET $3 LIMIT $4";

static json_object *parsed(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : json_tokener_parse(PQgetvalue(res, row, c));
}

static json_object *agent_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", PQgetvalue(res, row, COL_ID));
        cc_json_add_string(o, "user_id", PQgetvalue(res, row, COL_USER));
        cc_json_add_string(o, "name", PQgetvalue(res, row, COL_NAME));
        cc_json_add_string(o, "status", PQgetvalue(res, row, COL_STATUS));
        cc_json_add_time(o, "status_since", col_i64(res, row, COL_STATUS_SINCE));
        json_object_object_add(o, "max_capacity",
                               json_object_new_int((int)col_i64(res, row, COL_MAX_CAPACITY)));
        json_object_object_add(o, "current_load",
                               json_object_new_int((int)col_i64(res, row, COL_LOAD)));
        json_object *skills = parsed(res, row, COL_SKILLS);
        json_object_object_add(o, "skills", skills ? skills : json_object_new_array());
        cc_json_add_string(o, "language", PQgetvalue(res, row, COL_LANGUAGE));
        json_object_object_add(o, "metadata", parsed(res, row, COL_METADATA));
        cc_json_add_time(o, "created_at", col_i64(res, row, COL_CREATED));
        cc_json_add_time(o, "updated_at", col_i64(res, row, COL_UPDATED));
        return o;
}

int tel_agent_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         json_object **ret_json)
{
        const char *params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, get_sql, 2, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_json = agent_json(res, 0);
        PQclear(res);
        return 0;
}

int tel_agent_list_json(struct cc_db_conn *conn, const char *org_id, int status, int64_t skip,
                        int64_t limit, json_object **ret_array)
{
        char skip_s[24], limit_s[24];
        snprintf(skip_s, sizeof(skip_s), "%lld", (long long)skip);
        snprintf(limit_s, sizeof(limit_s), "%lld", (long long)limit);
        const char *params[] = {
            org_id,
            status >= 0 ? tel_agent_status_name((enum tel_agent_status)status) : NULL,
            skip_s,
            limit_s,
        };
        PGresult *res = NULL;
        int r = cc_db_exec(conn, list_sql, 4, params, &res);
        if (r < 0)
                return r;
        json_object *a = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(a, agent_json(res, i));
        PQclear(res);
        *ret_array = a;
        return 0;
}

static const char available_sql[] =
    "SELECT count(*) FROM agents WHERE org_id = $1 AND status = 'AVAILABLE' "
    "AND current_load < max_capacity";

int tel_agent_available_count(struct cc_db_conn *conn, const char *org_id, int64_t *ret_count)
{
        const char *params[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, available_sql, 1, params, &res);
        if (r < 0)
                return r;
        *ret_count = col_i64(res, 0, 0);
        PQclear(res);
        return 0;
}
