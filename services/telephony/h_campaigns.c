/* /api/campaigns (contract §5.3): the organization's campaigns. Everyone in the organization
 * reads them; creating, changing and deleting them (which starts and stops the dialer) is for
 * supervisors and admins (the route table checks the role). Every id is looked up inside the
 * caller's organization: another organization's campaign or queue is "not found". The body's
 * organization_id is the client's label, stored and echoed, never used to scope anything.
 *
 * Beyond the contract, a campaign carries the dialer's settings (queue_id, pacing_ratio,
 * max_attempts, retry_delay_seconds, calling_hours, time_zone) and reports its status and, on
 * its own, its contact counts. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "campaigns_internal.h"
#include "cc/json.h"
#include "cc/log.h"

#define NOT_FOUND       "Campaign not found"
#define QUEUE_NOT_FOUND "Queue not found"
#define FK_VIOLATION    "23503"
#define MAX_SKIP        1000000000
#define MAX_DESCRIPTION 10000
#define MAX_RETRY_DELAY 604800 /* a week */

static const char *traceparent(struct cc_http_req *req)
{
        return cc_http_req_header(req, "traceparent");
}

static int errf(struct cc_json_err *err, const char *fmt, ...) CC_PRINTF(2, 3);

static int errf(struct cc_json_err *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Replies to a failure the client could not have caused. */
static void reply_internal(struct cc_http_req *req, struct cc_db_conn *conn, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "campaigns request failed: %s%s%s", strerror(-r),
                     conn ? ": " : "", conn ? cc_db_error(conn) : "");
        cc_http_reply_error(req, 500, "Internal server error");
}

/* Rolls back, gives the connection back and answers r. */
static void finish(struct cc_http_req *req, struct cc_db_conn *conn, int r)
{
        bool fk = r == -EINVAL && strcmp(cc_db_sqlstate(conn), FK_VIOLATION) == 0;
        if (r == -ENOENT || fk) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                /* The only reference a campaign has is its queue, deleted meanwhile. */
                cc_http_reply_error(req, 404, "%s", fk ? QUEUE_NOT_FOUND : NOT_FOUND);
                return;
        }
        reply_internal(req, conn, r);
        cc_db_rollback(conn);
        cc_db_release(conn);
}

/* ---- reading a body ---- */

/* Buffers behind the input's numeric values. */
struct input_bufs {
        char pacing[32], max_attempts[16], retry_delay[16];
};

static void set(struct tel_campaign_input *in, enum tel_campaign_col c, const char *value)
{
        in->set[c] = true;
        in->value[c] = value;
}

/* A field that may not be null on update: present and null is refused rather than ignored, so a
 * client never believes it cleared something it did not. */
static int not_null(json_object *body, const char *field, struct cc_json_err *err)
{
        json_object *v = NULL;
        if (body && json_object_object_get_ex(body, field, &v) && !v)
                return errf(err, "%s: must not be null", field);
        return 0;
}

static int read_text(json_object *body, const char *field, unsigned flags, size_t min, size_t max,
                     struct tel_campaign_input *in, enum tel_campaign_col c,
                     struct cc_json_err *err)
{
        const char *v = NULL;
        int r = cc_json_get_string(body, field, flags, min, max, &v, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!cc_text_valid(v, strlen(v)))
                return errf(err, "%s: must not contain control characters", field);
        set(in, c, v);
        return 0;
}

/* A JSON object column; with nullable, null (given) clears it. */
static int read_object(json_object *body, const char *field, unsigned flags, bool nullable,
                       struct tel_campaign_input *in, enum tel_campaign_col c,
                       struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = cc_json_get_object(body, field, flags, &v, err);
        if (r == 0)
                set(in, c, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        else if (r == -ENOENT && nullable && body && json_object_object_get_ex(body, field, NULL))
                set(in, c, NULL);
        else if (r == -ENOENT && !nullable)
                r = not_null(body, field, err);
        return r == -ENOENT ? 0 : r;
}

/* "HH:MM", 00:00 to 23:59. */
static bool clock_ok(const char *s)
{
        return strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
               (s[0] < '2' || s[1] <= '3') && s[2] == ':' && s[3] >= '0' && s[3] <= '5' &&
               s[4] >= '0' && s[4] <= '9';
}

static int read_hours(json_object *body, struct tel_campaign_input *in, struct cc_json_err *err)
{
        json_object *v = NULL;
        if (!body || !json_object_object_get_ex(body, "calling_hours", &v))
                return 0;
        if (!v) { /* any time */
                set(in, TEL_CAMP_HOURS_START, NULL);
                set(in, TEL_CAMP_HOURS_END, NULL);
                return 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return errf(err, "calling_hours: must be an object {\"start\": \"HH:MM\", "
                                 "\"end\": \"HH:MM\"} or null");
        const char *start = NULL, *end = NULL;
        struct cc_json_err e;
        if (cc_json_get_string(v, "start", CC_JSON_REQUIRED, 0, 16, &start, &e) < 0)
                return errf(err, "calling_hours.%s", e.msg);
        if (cc_json_get_string(v, "end", CC_JSON_REQUIRED, 0, 16, &end, &e) < 0)
                return errf(err, "calling_hours.%s", e.msg);
        if (!clock_ok(start))
                return errf(err, "calling_hours.start: must be a time HH:MM (00:00 to 23:59)");
        if (!clock_ok(end))
                return errf(err, "calling_hours.end: must be a time HH:MM (00:00 to 23:59)");
        if (strcmp(start, end) == 0)
                return errf(err, "calling_hours: start and end must differ (null: any time)");
        set(in, TEL_CAMP_HOURS_START, start);
        set(in, TEL_CAMP_HOURS_END, end);
        return 0;
}

/* Checks the body on its own; what needs the database (the queue, the time zone) is checked by
 * check_refs. */
static int read_input(json_object *body, bool create, struct tel_campaign_input *in,
                      struct input_bufs *b, struct cc_json_err *err)
{
        unsigned req = create ? CC_JSON_REQUIRED : 0;
        memset(in, 0, sizeof(*in));
        int r = 0;
        const char *const non_null[] = {
            "name",     "type",         "language",     "version",
            "active",   "pacing_ratio", "max_attempts", "retry_delay_seconds",
            "time_zone"};
        for (size_t i = 0; r == 0 && !create && i < CC_ARRAY_SIZE(non_null); i++)
                r = not_null(body, non_null[i], err);
        if (r == 0)
                r = read_text(body, "name", req, 1, 255, in, TEL_CAMP_NAME, err);
        int idx = 0;
        if (r == 0) {
                r = cc_json_get_enum(body, "type", req, tel_campaign_types, &idx, err);
                if (r == 0)
                        set(in, TEL_CAMP_TYPE, tel_campaign_types[idx]);
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0 && create) {
                r = cc_json_get_string(body, "organization_id", CC_JSON_REQUIRED, 1, 255,
                                       &in->organization_label, err);
                if (r == 0 &&
                    !cc_text_valid(in->organization_label, strlen(in->organization_label)))
                        r = errf(err, "organization_id: must not contain control characters");
        }
        if (r == 0)
                r = read_object(body, "instructions", req, false, in, TEL_CAMP_INSTRUCTIONS, err);
        if (r == 0) {
                const char *d = NULL;
                r = cc_json_get_string(body, "description", CC_JSON_NULLABLE, 0, MAX_DESCRIPTION,
                                       &d, err);
                if (r == 0 ||
                    (r == -ENOENT && body && json_object_object_get_ex(body, "description", NULL)))
                        set(in, TEL_CAMP_DESCRIPTION, d);
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0)
                r = read_text(body, "language", 0, 1, 35, in, TEL_CAMP_LANGUAGE, err);
        if (r == 0)
                r = read_text(body, "version", 0, 1, 50, in, TEL_CAMP_VERSION, err);
        if (r == 0) {
                bool active = false;
                r = cc_json_get_bool(body, "active", 0, &active, err);
                if (r == 0)
                        set(in, TEL_CAMP_ACTIVE, active ? "true" : "false");
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0)
                r = read_object(body, "tools", 0, true, in, TEL_CAMP_TOOLS, err);
        if (r == 0)
                r = read_object(body, "voice", 0, true, in, TEL_CAMP_VOICE, err);
        if (r == 0)
                r = read_object(body, "analytics", 0, true, in, TEL_CAMP_ANALYTICS, err);
        /* The contract's output name, or the UI's input name. */
        if (r == 0) {
                bool payload = body && json_object_object_get_ex(body, "metadata_payload", NULL);
                r = read_object(body, payload ? "metadata_payload" : "metadata", 0, true, in,
                                TEL_CAMP_METADATA, err);
        }
        if (r == 0) {
                const char *q = NULL;
                r = cc_json_get_uuid(body, "queue_id", CC_JSON_NULLABLE, &q, err);
                if (r == 0 ||
                    (r == -ENOENT && body && json_object_object_get_ex(body, "queue_id", NULL)))
                        set(in, TEL_CAMP_QUEUE, q);
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0) {
                double ratio = 0;
                r = cc_json_get_double(body, "pacing_ratio", 0, 0, 10, &ratio, err);
                if (r == 0 && !(ratio > 0))
                        r = errf(err, "pacing_ratio: must be greater than 0 and at most 10");
                if (r == 0) {
                        snprintf(b->pacing, sizeof(b->pacing), "%.17g", ratio);
                        set(in, TEL_CAMP_PACING, b->pacing);
                }
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0) {
                int64_t v = 0;
                r = cc_json_get_int(body, "max_attempts", 0, 1, 20, &v, err);
                if (r == 0) {
                        snprintf(b->max_attempts, sizeof(b->max_attempts), "%" PRId64, v);
                        set(in, TEL_CAMP_MAX_ATTEMPTS, b->max_attempts);
                }
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0) {
                int64_t v = 0;
                r = cc_json_get_int(body, "retry_delay_seconds", 0, 1, MAX_RETRY_DELAY, &v, err);
                if (r == 0) {
                        snprintf(b->retry_delay, sizeof(b->retry_delay), "%" PRId64, v);
                        set(in, TEL_CAMP_RETRY_DELAY, b->retry_delay);
                }
                r = r == -ENOENT ? 0 : r;
        }
        if (r == 0)
                r = read_hours(body, in, err);
        if (r == 0)
                r = read_text(body, "time_zone", 0, 1, 64, in, TEL_CAMP_TIME_ZONE, err);
        return r;
}

/* The request's JSON object (NULL: no body, read as {}); false after replying 422. */
static bool body_object(struct cc_http_req *req, json_object **ret_body)
{
        json_object *body = cc_http_req_json(req);
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return false;
        }
        *ret_body = body;
        return true;
}

/* The queue (of the caller's organization) and the time zone the input names. 0, or < 0 after
 * replying (conn released). */
static int check_refs(struct cc_http_req *req, struct cc_db_conn *conn,
                      const struct tel_campaign_input *in)
{
        const char *org_id = cc_http_req_auth(req)->org_id;
        bool known = true;
        int r = 0;
        if (in->set[TEL_CAMP_QUEUE] && in->value[TEL_CAMP_QUEUE]) {
                r = tel_campaign_queue_known(conn, org_id, in->value[TEL_CAMP_QUEUE], &known);
                if (r == 0 && !known) {
                        cc_db_release(conn);
                        cc_http_reply_error(req, 404, QUEUE_NOT_FOUND);
                        return -ENOENT;
                }
        }
        if (r == 0 && in->set[TEL_CAMP_TIME_ZONE]) {
                r = tel_campaign_time_zone_known(conn, in->value[TEL_CAMP_TIME_ZONE], &known);
                if (r == 0 && !known) {
                        cc_db_release(conn);
                        cc_http_reply_error(req, 422,
                                            "time_zone: not a time zone name (IANA, such as "
                                            "Europe/Prague or UTC)");
                        return -EINVAL;
                }
        }
        if (r < 0) {
                reply_internal(req, conn, r);
                cc_db_release(conn);
        }
        return r;
}

/* The dialer need not wait for its next round to start a campaign just switched on. */
static void kick_if_started(struct cc_http_req *req, const struct tel_campaign_input *in)
{
        if (in->set[TEL_CAMP_ACTIVE] && strcmp(in->value[TEL_CAMP_ACTIVE], "true") == 0)
                tel_worker_kick(tel_req(req));
}

/* ---- handlers ---- */

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

static void h_campaigns_list(struct cc_http_req *req)
{
        struct tel_campaign_filter f = {.active = -1};
        if (query_int(req, "skip", 0, 0, MAX_SKIP, &f.skip) < 0 ||
            query_int(req, "limit", 20, 1, 100, &f.limit) < 0)
                return;
        const char *active = cc_http_req_query(req, "active");
        if (active && *active) {
                if (strcasecmp(active, "true") == 0) {
                        f.active = 1;
                } else if (strcasecmp(active, "false") == 0) {
                        f.active = 0;
                } else {
                        cc_http_reply_error(req, 422, "active: must be true or false");
                        return;
                }
        }
        const char *type = cc_http_req_query(req, "type");
        if (type && *type) {
                for (int i = 0; tel_campaign_types[i]; i++)
                        if (strcasecmp(type, tel_campaign_types[i]) == 0)
                                f.type = tel_campaign_types[i];
                if (!f.type) {
                        cc_http_reply_error(req, 422,
                                            "type: must be one of INBOUND, OUTBOUND, TRANSFER, "
                                            "ESCALATION");
                        return;
                }
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *a = NULL;
        int r = tel_campaign_list_json(conn, cc_http_req_auth(req)->org_id, &f, &a);
        if (r < 0)
                reply_internal(req, conn, r);
        else
                cc_http_reply_json(req, 200, a);
        cc_db_release(conn);
}

static void h_campaigns_create(struct cc_http_req *req)
{
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct tel_campaign_input in;
        struct input_bufs bufs;
        struct cc_json_err err;
        if (read_input(body, true, &in, &bufs, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn || check_refs(req, conn, &in) < 0)
                return;
        json_object *o = NULL;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_campaign_create(conn, cc_http_req_auth(req)->org_id, &in, traceparent(req),
                                        &o);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                json_object_put(o);
                finish(req, conn, r == -ENOENT ? -EIO : r);
                return;
        }
        cc_db_release(conn);
        kick_if_started(req, &in);
        cc_http_reply_json(req, 201, o);
}

static void h_campaigns_get(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_campaign_get_json(conn, cc_http_req_auth(req)->org_id,
                                      cc_http_req_param(req, "campaign_id"), true, &o);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, NOT_FOUND);
        else if (r < 0)
                reply_internal(req, conn, r);
        else
                cc_http_reply_json(req, 200, o);
        cc_db_release(conn);
}

static void h_campaigns_update(struct cc_http_req *req)
{
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct tel_campaign_input in;
        struct input_bufs bufs;
        struct cc_json_err err;
        if (read_input(body, false, &in, &bufs, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn || check_refs(req, conn, &in) < 0)
                return;
        json_object *o = NULL;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_campaign_update(conn, cc_http_req_auth(req)->org_id,
                                        cc_http_req_param(req, "campaign_id"), &in,
                                        traceparent(req), &o);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                json_object_put(o);
                finish(req, conn, r);
                return;
        }
        cc_db_release(conn);
        kick_if_started(req, &in);
        cc_http_reply_json(req, 200, o);
}

static void h_campaigns_delete(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_campaign_delete(conn, cc_http_req_auth(req)->org_id,
                                        cc_http_req_param(req, "campaign_id"), traceparent(req));
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(req, conn, r);
                return;
        }
        cc_db_release(conn);
        cc_http_reply_json(req, 204, NULL);
}

/* The router serves "/api/campaigns" and "/api/campaigns/" as one route. */
const struct cc_http_route tel_campaigns_routes[] = {
    {"GET", "/api/campaigns", h_campaigns_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/campaigns", h_campaigns_create, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/campaigns/{campaign_id}", h_campaigns_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/campaigns/{campaign_id}", h_campaigns_update, CC_ROLE_SUPERVISOR, 0},
    {"DELETE", "/api/campaigns/{campaign_id}", h_campaigns_delete, CC_ROLE_SUPERVISOR, 0},
};
const size_t tel_campaigns_nroutes = CC_ARRAY_SIZE(tel_campaigns_routes);
