/* /api/queues: the organization's queues (not in the contract: ours, for the routing of waiting
 * calls). Anyone in the organization reads them; supervisors and admins change them. Another
 * organization's queue answers 404 like one that does not exist. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "cc/log.h"
#include "queues_internal.h"

static const char *const overflow_actions[] = {"voicemail", "hangup", "queue", "transfer", NULL};

bool tel_dial_target_normalize(const char *in, char out[256])
{
        if (!in)
                return false;
        size_t n = strlen(in);
        if (n > 7 && strncasecmp(in, "client:", 7) == 0) {
                /* Twilio Client identities: letters, digits and a few separators. */
                if (n - 7 > 121)
                        return false;
                for (size_t i = 7; i < n; i++) {
                        char c = in[i];
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                              c == '@'))
                                return false;
                }
                snprintf(out, 256, "client:%s", in + 7);
                return true;
        }
        if (n > 4 && strncasecmp(in, "sip:", 4) == 0) {
                if (n > 255)
                        return false;
                for (size_t i = 4; i < n; i++)
                        if (in[i] <= 0x20 || in[i] >= 0x7f || strchr("\"<>", in[i]))
                                return false;
                snprintf(out, 256, "sip:%s", in + 4);
                return true;
        }
        /* E.164: an optional '+', then 8 to 15 digits not starting with 0. */
        const char *d = in[0] == '+' ? in + 1 : in;
        size_t nd = strlen(d);
        if (nd < 8 || nd > 15 || d[0] < '1' || d[0] > '9')
                return false;
        for (size_t i = 0; i < nd; i++)
                if (d[i] < '0' || d[i] > '9')
                        return false;
        snprintf(out, 256, "+%s", d);
        return true;
}

static void reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "queues request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

static void reply_error(struct cc_http_req *req, int r)
{
        switch (r) {
        case -ENOENT:
                cc_http_reply_error(req, 404, "Queue not found");
                break;
        case -EEXIST:
                cc_http_reply_error(req, 409, "A queue with this name already exists");
                break;
        case -EBUSY:
                cc_http_reply_error(req, 409, "Calls are waiting in this queue");
                break;
        case -EMLINK:
                cc_http_reply_error(req, 409, "A campaign uses this queue");
                break;
        default:
                reply_internal(req, r);
        }
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

static void h_queues_list(struct cc_http_req *req)
{
        int64_t skip, limit;
        if (query_int(req, "skip", 0, 0, 1000000000, &skip) < 0 ||
            query_int(req, "limit", 20, 1, 100, &limit) < 0)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *items = NULL;
        int r = tel_queue_list(conn, cc_http_req_auth(req)->org_id, skip, limit, &items);
        cc_db_release(conn);
        if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, items);
}

static void h_queues_get(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_queue_fetch_json(conn, cc_http_req_auth(req)->org_id,
                                     cc_http_req_param(req, "queue_id"), &o);
        cc_db_release(conn);
        if (r < 0)
                reply_error(req, r);
        else
                cc_http_reply_json(req, 200, o);
}

/* What the body asks for, read and checked on its own; the overflow pair is settled against the
 * stored queue afterwards (settle_overflow). */
struct input {
        struct tel_queue_fields f;
        bool target_given;     /* the body names overflow_target (null included) */
        const char *target;    /* as given, NULL for null */
        char target_norm[256]; /* what is stored */
        char action[16];       /* the body's overflow_action, lower case; "" when not given */
};

static int int_field(json_object *body, const char *field, int64_t min, int64_t max, int *ret,
                     struct cc_json_err *err)
{
        int64_t v;
        int r = cc_json_get_int(body, field, 0, min, max, &v, err);
        if (r == 0)
                *ret = (int)v;
        return r == -EINVAL ? r : 0;
}

/* cc_text_valid, with tab and line breaks allowed where multiline (a description). */
static bool text_valid(const char *s, bool multiline)
{
        size_t len = strlen(s);
        return multiline ? cc_text_valid_multiline(s, len) : cc_text_valid(s, len);
}

static int parse_input(json_object *body, bool create, struct input *in, struct cc_json_err *err)
{
        struct tel_queue_fields *f = &in->f;
        *f = (struct tel_queue_fields){.priority = -1,
                                       .wrap_up_seconds = -1,
                                       .service_level_seconds = -1,
                                       .max_wait_seconds = -1,
                                       .active = -1};
        if (body && !json_object_is_type(body, json_type_object)) {
                snprintf(err->msg, sizeof(err->msg), "body: must be a JSON object");
                return -EINVAL;
        }
        int r =
            cc_json_get_string(body, "name", create ? CC_JSON_REQUIRED : 0, 1, 100, &f->name, err);
        if (r == -EINVAL)
                return r;
        if (f->name && f->name[strspn(f->name, " \t\r\n")] == '\0') {
                snprintf(err->msg, sizeof(err->msg), "name: must not be blank");
                return -EINVAL;
        }
        if (f->name && !text_valid(f->name, false)) {
                snprintf(err->msg, sizeof(err->msg), "name: must not contain control characters");
                return -EINVAL;
        }
        f->set_description = body && json_object_object_get_ex(body, "description", NULL);
        if (cc_json_get_string(body, "description", CC_JSON_NULLABLE, 0, 1000, &f->description,
                               err) == -EINVAL)
                return -EINVAL;
        if (f->description && !text_valid(f->description, true)) {
                snprintf(err->msg, sizeof(err->msg),
                         "description: must not contain control characters other than tab and "
                         "line breaks");
                return -EINVAL;
        }
        /* "" is no description, as null is. */
        if (f->description && !*f->description)
                f->description = NULL;
        json_object *skills = NULL;
        bool skills_given = body && json_object_object_get_ex(body, "skills", NULL);
        if (cc_json_get_array(body, "skills", CC_JSON_NULLABLE, 50, &skills, err) == -EINVAL)
                return -EINVAL;
        for (size_t i = 0; skills && i < json_object_array_length(skills); i++) {
                json_object *s = json_object_array_get_idx(skills, i);
                size_t len = s ? (size_t)json_object_get_string_len(s) : 0;
                ssize_t chars = 0;
                if (s && json_object_is_type(s, json_type_string))
                        chars = cc_utf8_count(json_object_get_string(s), len);
                if (!s || !json_object_is_type(s, json_type_string) || chars < 1 || chars > 100 ||
                    !cc_text_valid(json_object_get_string(s), len)) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "skills: must be strings of 1 to 100 characters");
                        return -EINVAL;
                }
        }
        /* null clears the skills like [] */
        if (skills_given)
                f->skills_json =
                    skills ? json_object_to_json_string_ext(skills, JSON_C_TO_STRING_PLAIN) : "[]";
        if (int_field(body, "priority", 0, 100, &f->priority, err) < 0 ||
            int_field(body, "wrap_up_seconds", 0, 3600, &f->wrap_up_seconds, err) < 0 ||
            int_field(body, "service_level_seconds", 1, 3600, &f->service_level_seconds, err) < 0 ||
            int_field(body, "max_wait_seconds", 10, 86400, &f->max_wait_seconds, err) < 0)
                return -EINVAL;
        bool active;
        r = cc_json_get_bool(body, "active", 0, &active, err);
        if (r == -EINVAL)
                return r;
        if (r == 0)
                f->active = active;
        const char *action = NULL;
        if (cc_json_get_string(body, "overflow_action", 0, 1, 16, &action, err) == -EINVAL)
                return -EINVAL;
        in->action[0] = '\0';
        if (action) {
                for (size_t i = 0; overflow_actions[i]; i++)
                        if (strcasecmp(action, overflow_actions[i]) == 0)
                                snprintf(in->action, sizeof(in->action), "%s", overflow_actions[i]);
                if (!in->action[0]) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "overflow_action: must be one of voicemail, hangup, queue, "
                                 "transfer");
                        return -EINVAL;
                }
        }
        in->target_given = body && json_object_object_get_ex(body, "overflow_target", NULL);
        in->target = NULL;
        if (cc_json_get_string(body, "overflow_target", CC_JSON_NULLABLE, 1, 255, &in->target,
                               err) == -EINVAL)
                return -EINVAL;
        return 0;
}

/* Settles overflow_action and overflow_target together, against `current` (NULL on create):
 * queue and transfer need a target (another queue of the organization, stored by id; a number,
 * client: or sip: address), voicemail and hangup have none. When the body names neither, they
 * stay as stored. 0, or -EINVAL with the message in err, or a database error. */
static int settle_overflow(struct cc_db_conn *conn, const char *org_id, struct input *in,
                           const struct tel_queue *current, struct cc_json_err *err)
{
        struct tel_queue_fields *f = &in->f;
        if (!in->action[0] && !in->target_given && current)
                return 0;
        const char *action = in->action[0] ? in->action
                             : current     ? current->overflow_action
                                           : "voicemail";
        const char *target = in->target_given                         ? in->target
                             : current && current->overflow_target[0] ? current->overflow_target
                                                                      : NULL;
        if (in->action[0])
                f->overflow_action = in->action;
        f->set_overflow_target = true;
        f->overflow_target = NULL;
        bool to_queue = strcmp(action, "queue") == 0;
        if (!to_queue && strcmp(action, "transfer") != 0)
                return 0;
        if (!target) {
                snprintf(err->msg, sizeof(err->msg),
                         "overflow_target: required when overflow_action is %s", action);
                return -EINVAL;
        }
        if (to_queue) {
                struct tel_queue q;
                int r = tel_queue_resolve(conn, org_id, target, false, &q);
                if (r == -ENOENT) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "overflow_target: no such queue in this organization");
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
                if (current && strcmp(q.id, current->id) == 0) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "overflow_target: must be another queue");
                        return -EINVAL;
                }
                snprintf(in->target_norm, sizeof(in->target_norm), "%s", q.id);
        } else if (!tel_dial_target_normalize(target, in->target_norm)) {
                snprintf(err->msg, sizeof(err->msg),
                         "overflow_target: must be a phone number, client:<identity> or "
                         "sip:<address>");
                return -EINVAL;
        }
        f->overflow_target = in->target_norm;
        return 0;
}

static void reply_queue(struct cc_http_req *req, struct cc_db_conn *conn, const char *id,
                        int status)
{
        json_object *o = NULL;
        int r = tel_queue_fetch_json(conn, cc_http_req_auth(req)->org_id, id, &o);
        cc_db_release(conn);
        if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, status, o);
}

static void h_queues_create(struct cc_http_req *req)
{
        struct input in;
        struct cc_json_err err;
        if (parse_input(cc_http_req_json(req), true, &in, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        const char *org_id = cc_http_req_auth(req)->org_id;
        char id[CC_UUID_LEN + 1];
        err.msg[0] = '\0';
        int r = settle_overflow(conn, org_id, &in, NULL, &err);
        if (r == 0)
                r = tel_queue_create(conn, org_id, &in.f, id);
        if (r < 0) {
                cc_db_release(conn);
                if (r == -EINVAL && err.msg[0])
                        cc_http_reply_error(req, 422, "%s", err.msg);
                else
                        reply_error(req, r);
                return;
        }
        reply_queue(req, conn, id, 201);
}

static void h_queues_update(struct cc_http_req *req)
{
        struct input in;
        struct cc_json_err err;
        if (parse_input(cc_http_req_json(req), false, &in, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        const char *org_id = cc_http_req_auth(req)->org_id;
        const char *id = cc_http_req_param(req, "queue_id");
        struct tel_queue current;
        err.msg[0] = '\0';
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_queue_lock(conn, org_id, id, &current);
        if (r == 0)
                r = settle_overflow(conn, org_id, &in, &current, &err);
        if (r == 0)
                r = tel_queue_update(conn, org_id, current.id, &in.f);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                if (r == -EINVAL && err.msg[0])
                        cc_http_reply_error(req, 422, "%s", err.msg);
                else
                        reply_error(req, r);
                return;
        }
        reply_queue(req, conn, current.id, 200);
}

static void h_queues_delete(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_queue_delete(conn, cc_http_req_auth(req)->org_id,
                                     cc_http_req_param(req, "queue_id"));
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0)
                cc_db_rollback(conn);
        cc_db_release(conn);
        if (r < 0)
                reply_error(req, r);
        else
                cc_http_reply_json(req, 204, NULL);
}

/* The router serves "/api/queues" and "/api/queues/" as one route. */
const struct cc_http_route tel_queues_routes[] = {
    {"GET", "/api/queues", h_queues_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/queues", h_queues_create, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/queues/{queue_id}", h_queues_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/queues/{queue_id}", h_queues_update, CC_ROLE_SUPERVISOR, 0},
    {"DELETE", "/api/queues/{queue_id}", h_queues_delete, CC_ROLE_SUPERVISOR, 0},
};
const size_t tel_queues_nroutes = CC_ARRAY_SIZE(tel_queues_routes);
