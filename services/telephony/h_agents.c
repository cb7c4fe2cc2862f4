/* /api/agents: the six agent routes of the contract (§5.2), scoped to the caller's organization.
 * Anyone in the organization may read its agents; an AGENT may create, change and set the
 * presence of its own profile only, a SUPERVISOR or ADMIN of any. What routing gives an agent,
 * its capacity and skills, only a SUPERVISOR or ADMIN may change. A profile belongs to a user
 * telephony learnt from the gateway's user.* events, of the same organization. Presence changes
 * go through tel_agent_set_status in the request's transaction, so each one writes exactly one
 * agent.status_changed; a capacity change moves the presence with the load (BUSY when full,
 * AVAILABLE again with room); once an agent is free for more calls, waiting calls are offered. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agents_internal.h"
#include "cc/json.h"
#include "cc/log.h"

#define MAX_SKIP     1000000000
#define MAX_SKILLS   50
#define SKILL_MAX    100
#define LANGUAGE_MAX 35
#define IDENTITY_MAX 121 /* Twilio Client identities */
#define ENDPOINT_MAX 255

#define CLIENT_STATUSES "OFFLINE, AVAILABLE, BUSY, BREAK, TRAINING"

static const char *traceparent(struct cc_http_req *req)
{
        return cc_http_req_header(req, "traceparent");
}

static void reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "agents request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

/* Ends a request whose transaction failed: rolls back, releases, answers. */
static void finish(struct cc_db_conn *conn, struct cc_http_req *req, int r)
{
        cc_db_rollback(conn);
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, "Agent not found");
        else
                reply_internal(req, r);
}

static void refuse(struct cc_db_conn *conn, struct cc_http_req *req, int status, const char *detail)
{
        cc_db_rollback(conn);
        cc_db_release(conn);
        cc_http_reply_error(req, status, "%s", detail);
}

static int query_int(struct cc_http_req *req, const char *name, int64_t dflt, int64_t min,
                     int64_t max, int64_t *ret)
{
        const char *v = cc_http_req_query(req, name);
        if (!v || !*v) {
                *ret = dflt;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end || x < min || x > max) {
                cc_http_reply_error(req, 422, "%s: must be an integer from %" PRId64 " to %" PRId64,
                                    name, min, max);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

/* An AGENT acts on its own profile only. */
static bool may_change(const struct cc_auth *auth, const char *user_id)
{
        return auth->role != CC_ROLE_AGENT || strcasecmp(auth->user_id, user_id) == 0;
}

/* Routing offers waiting calls to the agents that can take them now (in its own transaction,
 * after ours committed); the worker then dials the offers. */
static void offer_waiting_calls(struct cc_http_req *req, struct cc_db_conn *conn,
                                const char *org_id)
{
        if (tel_route_org(conn, org_id, NULL) < 0)
                cc_log_warn(cc_http_req_id(req), "routing after an agent change failed");
        tel_worker_kick(tel_req(req));
}

static void reply_agent(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                        const char *agent_id, int status)
{
        json_object *o = NULL;
        int r = tel_agent_fetch_json(conn, org_id, agent_id, &o);
        cc_db_release(conn);
        if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, status, o);
}

/* ---- input ---- */

static bool body_object(struct cc_http_req *req, json_object *body)
{
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return false;
        }
        return true;
}

static int invalid(struct cc_json_err *err, const char *fmt, ...) CC_PRINTF(2, 3);

static int invalid(struct cc_json_err *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* A status a client may set: WRAP_UP is the system's (after a call, for the queue's wrap-up
 * time), refused like an unknown value. */
static int client_status(const char *s, enum tel_agent_status *ret, struct cc_json_err *err)
{
        enum tel_agent_status st;
        if (tel_agent_status_parse(s, &st) < 0)
                return invalid(err, "status: must be one of " CLIENT_STATUSES);
        if (st == TEL_AGENT_WRAP_UP)
                return invalid(err, "status: WRAP_UP is set by the system after a call; must be "
                                    "one of " CLIENT_STATUSES);
        *ret = st;
        return 0;
}

static bool ascii_in(const char *s, const char *extra)
{
        for (; *s; s++) {
                bool alnum = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                             (*s >= '0' && *s <= '9');
                if (!alnum && !strchr(extra, *s))
                        return false;
        }
        return true;
}

/* Where offered calls ring: a Twilio Client identity, a SIP address or an E.164 number, which
 * routing dials as they are. */
static bool endpoint_valid(const char *s)
{
        size_t n = strlen(s);
        if (strncmp(s, "client:", 7) == 0)
                return n > 7 && n - 7 <= IDENTITY_MAX && ascii_in(s + 7, "_-.@");
        if (strncmp(s, "sip:", 4) == 0) {
                if (n <= 4 || n > ENDPOINT_MAX)
                        return false;
                for (const char *p = s + 4; *p; p++)
                        if (*p <= 0x20 || *p >= 0x7f || strchr("<>\"'\\", *p))
                                return false;
                return true;
        }
        if (s[0] != '+' || s[1] < '1' || s[1] > '9' || n < 3 || n > 16)
                return false;
        return ascii_in(s + 1, "") && strspn(s + 1, "0123456789") == n - 1;
}

struct agent_input {
        bool has_status;
        enum tel_agent_status status;
        size_t n_skills;
        struct tel_agent_fields f;
};

/* The writable fields of a create or update body. A field that is absent or null keeps its
 * value (or takes the default on create), except metadata, which null clears. */
static int parse_fields(json_object *body, struct agent_input *in, struct cc_json_err *err)
{
        memset(in, 0, sizeof(*in));
        const char *st = NULL;
        int r = cc_json_get_string(body, "status", CC_JSON_NULLABLE, 1, 32, &st, err);
        if (r == -EINVAL)
                return r;
        if (r == 0) {
                if (client_status(st, &in->status, err) < 0)
                        return -EINVAL;
                in->has_status = true;
        }

        int64_t cap = 0;
        r = cc_json_get_int(body, "max_capacity", CC_JSON_NULLABLE, 1, 10, &cap, err);
        if (r == -EINVAL)
                return r;
        in->f.set_max_capacity = r == 0;
        in->f.max_capacity = (int)cap;

        json_object *skills = NULL;
        r = cc_json_get_array(body, "skills", CC_JSON_NULLABLE, MAX_SKILLS, &skills, err);
        if (r == -EINVAL)
                return r;
        if (r == 0) {
                for (size_t i = 0; i < json_object_array_length(skills); i++) {
                        json_object *v = json_object_array_get_idx(skills, i);
                        const char *s = json_object_get_string(v);
                        size_t len = v ? (size_t)json_object_get_string_len(v) : 0;
                        ssize_t chars = v ? cc_utf8_count(s, len) : -1;
                        if (!json_object_is_type(v, json_type_string) || chars < 1 ||
                            chars > SKILL_MAX || !cc_text_valid(s, len))
                                return invalid(err,
                                               "skills: must be an array of strings of 1 to %d "
                                               "characters",
                                               SKILL_MAX);
                }
                in->f.set_skills = true;
                in->n_skills = json_object_array_length(skills);
                in->f.skills_json = json_object_to_json_string_ext(skills, JSON_C_TO_STRING_PLAIN);
        }

        const char *lang = NULL;
        r = cc_json_get_string(body, "language", CC_JSON_NULLABLE, 1, LANGUAGE_MAX, &lang, err);
        if (r == -EINVAL)
                return r;
        if (r == 0) {
                if (!ascii_in(lang, "-_"))
                        return invalid(err, "language: must be a language tag such as en or "
                                            "en-US");
                in->f.set_language = true;
                in->f.language = lang;
        }

        json_object *meta = NULL;
        in->f.set_metadata = json_object_object_get_ex(body, "metadata", NULL);
        r = cc_json_get_object(body, "metadata", CC_JSON_NULLABLE, &meta, err);
        if (r == -EINVAL)
                return r;
        if (meta) {
                json_object *ep = NULL;
                if (json_object_object_get_ex(meta, "endpoint", &ep) && ep &&
                    (!json_object_is_type(ep, json_type_string) ||
                     !endpoint_valid(json_object_get_string(ep))))
                        return invalid(err, "metadata.endpoint: must be client:<identity>, "
                                            "sip:<address> or an E.164 number such as "
                                            "+15551234567");
                in->f.metadata_json = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
        }
        return 0;
}

/* ---- handlers ---- */

static void h_agents_list(struct cc_http_req *req)
{
        int64_t skip, limit;
        if (query_int(req, "skip", 0, 0, MAX_SKIP, &skip) < 0 ||
            query_int(req, "limit", 20, 1, 100, &limit) < 0)
                return;
        int status = -1;
        const char *st = cc_http_req_query(req, "status");
        if (st && *st) {
                enum tel_agent_status s;
                if (tel_agent_status_parse(st, &s) < 0) {
                        cc_http_reply_error(req, 422,
                                            "status: must be one of OFFLINE, AVAILABLE, BUSY, "
                                            "WRAP_UP, BREAK, TRAINING");
                        return;
                }
                status = (int)s;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *a = NULL;
        int r = tel_agent_list_json(conn, cc_http_req_auth(req)->org_id, status, skip, limit, &a);
        cc_db_release(conn);
        if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, a);
}

static void h_agents_create(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_json_err err;
        const char *user_id = NULL;
        struct agent_input in;
        if (cc_json_get_uuid(body, "user_id", CC_JSON_REQUIRED, &user_id, &err) < 0 ||
            parse_fields(body, &in, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        /* An agent's own profile starts with the defaults a supervisor then sets. */
        if (!may_change(auth, user_id) ||
            (auth->role == CC_ROLE_AGENT &&
             ((in.f.set_max_capacity && in.f.max_capacity != TEL_AGENT_DEFAULT_CAPACITY) ||
              (in.f.set_skills && in.n_skills > 0)))) {
                cc_http_reply_error(req, 403, "Access denied");
                return;
        }
        enum tel_agent_status status = in.has_status ? in.status : TEL_AGENT_OFFLINE;

        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        bool active = false;
        char id[CC_UUID_LEN + 1];
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_agent_user_lock(conn, auth->org_id, user_id, &active);
        if (r == -ENOENT) {
                refuse(conn, req, 404, "User not found");
                return;
        }
        if (r == 0 && status != TEL_AGENT_OFFLINE && !active) {
                refuse(conn, req, 409, "User account is not active");
                return;
        }
        if (r == 0)
                r = tel_agent_insert(conn, auth->org_id, user_id, &in.f, id);
        if (r == -EEXIST) {
                refuse(conn, req, 400, "User already has an agent profile");
                return;
        }
        /* Profiles start OFFLINE; any other first status is a presence change like later ones
         * (agent.status_changed from OFFLINE, after 0 seconds). */
        if (r == 0 && status != TEL_AGENT_OFFLINE) {
                r = tel_agent_set_status(conn, auth->org_id, id, status, 0, traceparent(req));
                r = r > 0 ? 0 : r;
        }
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        if (status == TEL_AGENT_AVAILABLE)
                offer_waiting_calls(req, conn, auth->org_id);
        reply_agent(req, conn, auth->org_id, id, 201);
}

/* The path's agent id; anything that is not a UUID names no agent. */
static const char *agent_param(struct cc_http_req *req)
{
        const char *id = cc_http_req_param(req, "agent_id");
        if (!id || !cc_uuid_valid(id)) {
                cc_http_reply_error(req, 404, "Agent not found");
                return NULL;
        }
        return id;
}

static void h_agents_get(struct cc_http_req *req)
{
        const char *id = agent_param(req);
        if (!id)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_agent_fetch_json(conn, cc_http_req_auth(req)->org_id, id, &o);
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, "Agent not found");
        else if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, o);
}

/* Begins the transaction and locks the agent this caller may change: 0, or < 0 after the
 * reply was sent and conn released. */
static int lock_agent(struct cc_http_req *req, struct cc_db_conn *conn, const char *id,
                      struct tel_agent *ret)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_agent_lock(conn, auth->org_id, id, ret);
        if (r < 0) {
                finish(conn, req, r);
                return r;
        }
        if (!may_change(auth, ret->user_id)) {
                refuse(conn, req, 403, "Access denied");
                return -EACCES;
        }
        return 0;
}

/* A deactivated user's profile stays OFFLINE (the users consumer put it there). */
static bool status_refused(struct cc_http_req *req, struct cc_db_conn *conn,
                           const struct tel_agent *a, enum tel_agent_status to)
{
        if (to == a->status || to == TEL_AGENT_OFFLINE || a->user_active)
                return false;
        refuse(conn, req, 409, "User account is not active");
        return true;
}

/* Whether an AGENT's update would change what routing gives it; sending back the values it
 * read changes nothing and is allowed. */
static int changes_routing(struct cc_db_conn *conn, const char *org_id, const struct tel_agent *a,
                           const struct agent_input *in, bool *ret)
{
        bool same = true;
        if (in->f.set_max_capacity && in->f.max_capacity != a->max_capacity)
                same = false;
        if (same && in->f.set_skills) {
                int r = tel_agent_skills_equal(conn, org_id, a->id, in->f.skills_json, &same);
                if (r < 0)
                        return r;
        }
        *ret = !same;
        return 0;
}

/* The presence an update leaves: the one asked for (or kept), moved with the load when the
 * capacity changed. A full agent cannot be AVAILABLE; a BUSY one with calls and room again is
 * AVAILABLE, as routing does when a call ends. BUSY without calls, or asked for in this very
 * request, is the agent's own choice and stays. */
static enum tel_agent_status status_after(const struct tel_agent *a, const struct agent_input *in)
{
        enum tel_agent_status to = in->has_status ? in->status : a->status;
        if (!in->f.set_max_capacity || in->f.max_capacity == a->max_capacity)
                return to;
        bool full = a->current_load >= in->f.max_capacity;
        if (to == TEL_AGENT_AVAILABLE && full)
                return TEL_AGENT_BUSY;
        if (to == TEL_AGENT_BUSY && !in->has_status && !full && a->current_load > 0)
                return TEL_AGENT_AVAILABLE;
        return to;
}

static void h_agents_update(struct cc_http_req *req)
{
        const char *id = agent_param(req);
        if (!id)
                return;
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct cc_json_err err;
        struct agent_input in;
        if (parse_fields(body, &in, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        const struct cc_auth *auth = cc_http_req_auth(req);
        const char *org_id = auth->org_id;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_agent a;
        if (lock_agent(req, conn, id, &a) < 0)
                return;
        int r = 0;
        if (auth->role == CC_ROLE_AGENT) {
                bool routing = false;
                r = changes_routing(conn, org_id, &a, &in, &routing);
                if (r < 0) {
                        finish(conn, req, r);
                        return;
                }
                if (routing) {
                        refuse(conn, req, 403, "Access denied");
                        return;
                }
        }
        if (in.f.set_max_capacity && in.f.max_capacity < a.current_load) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 409,
                                    "max_capacity: must not be below the agent's current load "
                                    "(%d)",
                                    a.current_load);
                return;
        }
        if (in.has_status && status_refused(req, conn, &a, in.status))
                return;
        if (in.f.set_max_capacity || in.f.set_skills || in.f.set_language || in.f.set_metadata)
                r = tel_agent_update(conn, org_id, a.id, &in.f);
        /* One presence change at most (one event), after the new capacity is written so the
         * event shows it. */
        enum tel_agent_status now = status_after(&a, &in);
        bool changed = false;
        if (r == 0 && now != a.status) {
                r = tel_agent_set_status(conn, org_id, a.id, now, 0, traceparent(req));
                changed = r == 0;
                r = r > 0 ? 0 : r;
        }
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        bool more_room = in.f.set_max_capacity && in.f.max_capacity > a.max_capacity;
        /* New skills may fit queues the agent could not serve before. */
        if (now == TEL_AGENT_AVAILABLE && (changed || more_room || in.f.set_skills))
                offer_waiting_calls(req, conn, org_id);
        reply_agent(req, conn, org_id, a.id, 200);
}

static void h_agents_status(struct cc_http_req *req)
{
        const char *id = agent_param(req);
        if (!id)
                return;
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct cc_json_err err;
        const char *st = NULL;
        enum tel_agent_status to = TEL_AGENT_OFFLINE;
        if (cc_json_get_string(body, "status", CC_JSON_REQUIRED, 1, 32, &st, &err) < 0 ||
            client_status(st, &to, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        const char *org_id = cc_http_req_auth(req)->org_id;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_agent a;
        if (lock_agent(req, conn, id, &a) < 0)
                return;
        if (status_refused(req, conn, &a, to))
                return;
        int r = tel_agent_set_status(conn, org_id, a.id, to, 0, traceparent(req));
        bool changed = r == 0;
        if (r >= 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        if (changed && to == TEL_AGENT_AVAILABLE)
                offer_waiting_calls(req, conn, org_id);
        reply_agent(req, conn, org_id, a.id, 200);
}

static void h_agents_available_count(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int64_t n = 0;
        int r = tel_agent_available_count(conn, cc_http_req_auth(req)->org_id, &n);
        cc_db_release(conn);
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "available_agents", json_object_new_int64(n));
        cc_http_reply_json(req, 200, o);
}

/* The router serves "/api/agents" and "/api/agents/" as one route. */
const struct cc_http_route tel_agents_routes[] = {
    {"GET", "/api/agents", h_agents_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/agents", h_agents_create, CC_ROLE_AGENT, 0},
    {"GET", "/api/agents/available/count", h_agents_available_count, CC_ROLE_AGENT, 0},
    {"GET", "/api/agents/{agent_id}", h_agents_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/agents/{agent_id}", h_agents_update, CC_ROLE_AGENT, 0},
    {"PATCH", "/api/agents/{agent_id}/status", h_agents_status, CC_ROLE_AGENT, 0},
};
const size_t tel_agents_nroutes = CC_ARRAY_SIZE(tel_agents_routes);
