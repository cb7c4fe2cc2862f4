/* /api/calls: the six call routes of the contract (§5.1). Any authenticated caller; everything
 * is scoped to the caller's organization, and an AGENT sees (and touches) only the calls whose
 * agent it is; anybody else's call answers 404 like a call that does not exist. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calls_internal.h"
#include "cc/json.h"
#include "cc/log.h"

/* page * page_size must stay far from overflowing; deeper than this nobody pages by number. */
#define MAX_PAGE 10000000

static const char *traceparent(struct cc_http_req *req)
{
        return cc_http_req_header(req, "traceparent");
}

/* The agent whose calls this caller is limited to, NULL for supervisors and admins. */
static const char *only_agent(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        return auth->role == CC_ROLE_AGENT ? auth->user_id : NULL;
}

static void reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "calls request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

/* Client text echoed in a message only when it is short, printable UTF-8. */
static const char *echo(const char *s)
{
        return s && strlen(s) <= 64 && cc_text_valid(s, strlen(s)) ? s : "(invalid)";
}

static void reply_not_found(struct cc_http_req *req, const char *id)
{
        cc_http_reply_error(req, 404, "Call %s not found", echo(id));
}

static void finish(struct cc_db_conn *conn, struct cc_http_req *req, int r)
{
        cc_db_rollback(conn);
        cc_db_release(conn);
        if (r == -ENOENT)
                reply_not_found(req, cc_http_req_param(req, "call_id"));
        else
                reply_internal(req, r);
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

static void h_calls_list(struct cc_http_req *req)
{
        struct tel_call_filter f = {.status = -1};
        if (query_int(req, "page", 1, 1, MAX_PAGE, &f.page) < 0 ||
            query_int(req, "page_size", 20, 1, 100, &f.page_size) < 0)
                return;
        /* The client sends `status`; the contract's name is `call_status`. */
        const char *st = cc_http_req_query(req, "call_status");
        if (!st || !*st)
                st = cc_http_req_query(req, "status");
        if (st && *st) {
                enum tel_call_status s;
                if (tel_call_status_parse(st, &s) < 0) {
                        cc_http_reply_error(req, 400, "Invalid call status: %s", echo(st));
                        return;
                }
                f.status = (int)s;
        }
        const char *agent = cc_http_req_query(req, "agent_id");
        if (agent && *agent) {
                if (!cc_uuid_valid(agent)) {
                        cc_http_reply_error(req, 422, "agent_id: must be a UUID");
                        return;
                }
                f.agent_id = agent;
        }
        const char *cursor = cc_http_req_query(req, "cursor");
        if (cursor && *cursor) {
                if (tel_call_cursor_decode(cursor, &f.cursor_ms, f.cursor_id) < 0) {
                        cc_http_reply_error(req, 422, "cursor: not a cursor this API returned");
                        return;
                }
                f.has_cursor = true;
        }
        struct tel_call_page pg = {0};
        const char *self = only_agent(req);
        if (self && f.agent_id && strcasecmp(f.agent_id, self) != 0) {
                pg.items = json_object_new_array(); /* an agent's view holds no one else's */
        } else {
                if (self)
                        f.agent_id = self;
                struct cc_db_conn *conn = cc_service_req_db(req);
                if (!conn)
                        return;
                int r = tel_call_list(conn, cc_http_req_auth(req)->org_id, &f, &pg);
                cc_db_release(conn);
                if (r < 0) {
                        reply_internal(req, r);
                        return;
                }
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "items", pg.items);
        json_object_object_add(o, "total", json_object_new_int64(pg.total));
        json_object_object_add(o, "page", json_object_new_int64(f.page));
        json_object_object_add(o, "page_size", json_object_new_int64(f.page_size));
        /* Paging by number follows the contract's rule; paging by cursor has no page number
         * to multiply, so it says whether a call follows this page. */
        bool more = f.has_cursor ? pg.more : pg.total > f.page * f.page_size;
        json_object_object_add(o, "has_more", json_object_new_boolean(more));
        cc_json_add_string(o, "next_cursor", pg.next_cursor[0] ? pg.next_cursor : NULL);
        cc_http_reply_json(req, 200, o);
}

static bool body_object(struct cc_http_req *req, json_object *body)
{
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return false;
        }
        return true;
}

/* Phone numbers (or sip:/client: addresses) of 10 to 20 printable ASCII characters. */
static int get_number(json_object *body, const char *field, const char **ret,
                      struct cc_json_err *err)
{
        int r = cc_json_get_string(body, field, CC_JSON_REQUIRED, 10, 20, ret, err);
        if (r < 0)
                return r;
        for (const char *p = *ret; *p; p++) {
                if (*p < 0x20 || *p > 0x7e) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "%s: must be printable ASCII (a phone number)", field);
                        return -EINVAL;
                }
        }
        return 0;
}

static void h_calls_create(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct tel_call_new c = {.traceparent = traceparent(req)};
        struct cc_json_err err;
        const char *dir = NULL;
        int r;
        if ((r = get_number(body, "from_number", &c.from_number, &err)) < 0 ||
            (r = get_number(body, "to_number", &c.to_number, &err)) < 0 ||
            (r = cc_json_get_string(body, "direction", CC_JSON_REQUIRED, 1, 16, &dir, &err)) < 0)
                goto invalid;
        if (strcasecmp(dir, "INBOUND") == 0) {
                c.inbound = true;
        } else if (strcasecmp(dir, "OUTBOUND") != 0) {
                cc_http_reply_error(req, 422, "direction: must be one of INBOUND, OUTBOUND");
                return;
        }
        if ((r = cc_json_get_uuid(body, "campaign_id", CC_JSON_NULLABLE, &c.campaign_id, &err)) ==
                -EINVAL ||
            (r = cc_json_get_uuid(body, "contact_id", CC_JSON_NULLABLE, &c.contact_id, &err)) ==
                -EINVAL ||
            (r = cc_json_get_object(body, "metadata", CC_JSON_NULLABLE, &c.metadata, &err)) ==
                -EINVAL)
                goto invalid;
        if (auth->role == CC_ROLE_AGENT)
                c.agent_id = auth->user_id;

        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call call;
        if (!c.inbound) {
                /* Checks for a provider before creating anything, places the call after the
                 * commit, and answers Twilio's failures itself (the call stays, FAILED). */
                if (tel_call_dial(req, conn, auth->org_id, &c, NULL, &call) < 0) {
                        cc_db_release(conn);
                        return;
                }
        } else {
                r = cc_db_begin(conn);
                if (r == 0)
                        r = tel_call_create(conn, auth->org_id, &c, &call);
                if (r == 0)
                        r = cc_db_commit(conn);
                if (r < 0) {
                        finish(conn, req, r);
                        return;
                }
        }
        json_object *o = NULL;
        r = tel_call_fetch_json(conn, auth->org_id, call.id, NULL, &o);
        cc_db_release(conn);
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 201, o);
        return;
invalid:
        cc_http_reply_error(req, 422, "%s", err.msg);
}

static void h_calls_get(struct cc_http_req *req)
{
        const char *id = cc_http_req_param(req, "call_id");
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_call_fetch_json(conn, cc_http_req_auth(req)->org_id, id, only_agent(req), &o);
        cc_db_release(conn);
        if (r == -ENOENT)
                reply_not_found(req, id);
        else if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, o);
}

/* Begins a transaction and locks the call if this caller may touch it: 0, or < 0 after the
 * reply was sent, the transaction rolled back and conn released. */
static int lock_call(struct cc_http_req *req, struct cc_db_conn *conn, struct tel_call_row *row)
{
        const char *self = only_agent(req);
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_row_get(conn, cc_http_req_auth(req)->org_id,
                                     cc_http_req_param(req, "call_id"), true, false, row);
        if (r == 0 && self && strcmp(row->call.agent_id, self) != 0)
                r = -ENOENT;
        if (r < 0)
                finish(conn, req, r);
        return r;
}

static void reply_call(struct cc_http_req *req, struct cc_db_conn *conn, const char *id)
{
        json_object *o = NULL;
        int r = tel_call_fetch_json(conn, cc_http_req_auth(req)->org_id, id, NULL, &o);
        cc_db_release(conn);
        if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 200, o);
}

/* Reads a nullable field: *ret_set says whether the body names it at all (null included). */
static int nullable_string(json_object *body, const char *field, size_t max, bool *ret_set,
                           const char **ret, struct cc_json_err *err)
{
        *ret_set = json_object_object_get_ex(body, field, NULL);
        *ret = NULL;
        int r = cc_json_get_string(body, field, CC_JSON_NULLABLE, 0, max, ret, err);
        return r == -EINVAL ? r : 0;
}

static int nullable_uuid(json_object *body, const char *field, bool *ret_set, const char **ret,
                         struct cc_json_err *err)
{
        *ret_set = json_object_object_get_ex(body, field, NULL);
        *ret = NULL;
        int r = cc_json_get_uuid(body, field, CC_JSON_NULLABLE, ret, err);
        return r == -EINVAL ? r : 0;
}

static void h_calls_update(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct tel_call_patch pt = {0};
        struct cc_json_err err;
        const char *st = NULL;
        bool has_status = false;
        enum tel_call_status status = TEL_CALL_QUEUED;
        int r = cc_json_get_string(body, "status", CC_JSON_NULLABLE, 1, 32, &st, &err);
        if (r == -EINVAL)
                goto invalid;
        if (r == 0) {
                if (tel_call_status_parse(st, &status) < 0) {
                        cc_http_reply_error(req, 422,
                                            "status: must be one of QUEUED, RINGING, IN_PROGRESS, "
                                            "ON_HOLD, COMPLETED, NO_ANSWER, BUSY, FAILED, "
                                            "CANCELED");
                        return;
                }
                has_status = true;
        }
        if (nullable_uuid(body, "agent_id", &pt.set_agent_id, &pt.agent_id, &err) < 0 ||
            nullable_uuid(body, "supervisor_id", &pt.set_supervisor_id, &pt.supervisor_id, &err) <
                0 ||
            nullable_string(body, "disposition", 50, &pt.set_disposition, &pt.disposition, &err) <
                0 ||
            nullable_string(body, "notes", 2000, &pt.set_notes, &pt.notes, &err) < 0)
                goto invalid;
        json_object *meta = NULL;
        pt.set_metadata = json_object_object_get_ex(body, "metadata", NULL);
        if (cc_json_get_object(body, "metadata", CC_JSON_NULLABLE, &meta, &err) == -EINVAL)
                goto invalid;
        if (meta)
                pt.metadata_json = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);

        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        if (lock_call(req, conn, &row) < 0)
                return;
        /* Sending back the status the call has is no change, not a refused one. */
        struct tel_transition t = {.to = status,
                                   .source = TEL_SOURCE_API,
                                   .duration_s = -1,
                                   .traceparent = traceparent(req)};
        bool change = has_status && status != row.call.status;
        if (change && !tel_call_transition_allowed(row.call.status, status)) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 409, "Cannot change call status from %s to %s",
                                    tel_call_status_name(row.call.status),
                                    tel_call_status_name(status));
                return;
        }
        r = tel_call_update(conn, &row, &pt, change ? &t : NULL, traceparent(req), NULL);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        reply_call(req, conn, row.call.id);
        return;
invalid:
        cc_http_reply_error(req, 422, "%s", err.msg);
}

static void h_calls_end(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        if (lock_call(req, conn, &row) < 0)
                return;
        if (tel_call_status_terminal(row.call.status)) {
                cc_db_rollback(conn);
                cc_db_release(conn);
                cc_http_reply_error(req, 409, "Call already ended");
                return;
        }
        const struct tel_transition t = {.to = TEL_CALL_COMPLETED,
                                         .source = TEL_SOURCE_API,
                                         .duration_s = -1,
                                         .traceparent = traceparent(req)};
        bool answered =
            row.call.status == TEL_CALL_IN_PROGRESS || row.call.status == TEL_CALL_ON_HOLD;
        int r = tel_call_transition(conn, row.call.org_id, row.call.id, &t, NULL);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        /* Ending the record ends the call: Twilio hangs up (or stops ringing). The record is
         * already final, so a Twilio that cannot be reached is logged, not answered as an
         * error the client could do nothing about. */
        if (row.call.twilio_sid[0]) {
                const struct cc_kv f[] = {{"Status", answered ? "completed" : "canceled"}};
                char err[256];
                if (tel_twilio_update_call(conn, tel_req(req), &row.call, f, 1, err, sizeof(err)) <
                    0)
                        cc_log_warn(cc_http_req_id(req), "call %s ended here, not at Twilio: %s",
                                    row.call.id, err);
        }
        reply_call(req, conn, row.call.id);
}

static void h_calls_delete(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        if (lock_call(req, conn, &row) < 0)
                return;
        int r = tel_call_soft_delete(conn, row.call.org_id, row.call.id);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                finish(conn, req, r);
                return;
        }
        cc_db_release(conn);
        cc_http_reply_json(req, 204, NULL);
}

/* The router serves "/api/calls" and "/api/calls/" as one route. */
const struct cc_http_route tel_calls_routes[] = {
    {"GET", "/api/calls", h_calls_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/calls", h_calls_create, CC_ROLE_AGENT, 0},
    {"GET", "/api/calls/{call_id}", h_calls_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/calls/{call_id}", h_calls_update, CC_ROLE_AGENT, 0},
    {"POST", "/api/calls/{call_id}/end", h_calls_end, CC_ROLE_AGENT, 0},
    {"DELETE", "/api/calls/{call_id}", h_calls_delete, CC_ROLE_AGENT, 0},
};
const size_t tel_calls_nroutes = CC_ARRAY_SIZE(tel_calls_routes);
