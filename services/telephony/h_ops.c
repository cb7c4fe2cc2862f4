/* /api/telephony/...: a test call, transfers, hold and mute on live calls, and the providers list
 * (API-CONTRACT.md §5.8), done through Twilio: holds and mutes act on the call's leg in its
 * conference, a blind transfer redirects the call, an attended one dials the target into the
 * call's conference so the agent can introduce the caller before leaving. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "telephony.h"

/* The contract's phone pattern: optional '+', first digit 1-9, 8-15 digits; '+' added. */
static bool phone_normalize(const char *in, char out[20])
{
        const char *d = in[0] == '+' ? in + 1 : in;
        size_t n = strlen(d);
        if (n < 8 || n > 15 || d[0] < '1' || d[0] > '9')
                return false;
        for (size_t i = 0; i < n; i++)
                if (d[i] < '0' || d[i] > '9')
                        return false;
        snprintf(out, 20, "+%s", d);
        return true;
}

/* The call named by the path, visible to the caller (an AGENT only sees its own calls); replies
 * 404 / 503 itself. */
static int visible_call(struct cc_http_req *req, struct cc_db_conn *conn, const char *call_id,
                        struct tel_call *call)
{
        const struct cc_auth *a = cc_http_req_auth(req);
        int r = cc_uuid_valid(call_id) ? tel_call_get(conn, a->org_id, call_id, call) : -ENOENT;
        if (r == 0 && a->role == CC_ROLE_AGENT && strcmp(call->agent_id, a->user_id) != 0)
                r = -ENOENT;
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, "Call not found");
        else if (r < 0)
                cc_http_reply_error(req, 503, "Database unavailable");
        return r;
}

static void reply_ok(struct cc_http_req *req, const char *message, json_object *o)
{
        if (!o)
                o = json_object_new_object();
        json_object_object_add(o, "success", json_object_new_boolean(1));
        json_object_object_add(o, "message", json_object_new_string(message));
        cc_http_reply_json(req, 200, o);
}

static void h_test_call(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        struct cc_json_err jerr;
        const char *to_in = NULL, *message = NULL;
        char to[20];
        if (cc_json_get_string(body, "to", CC_JSON_REQUIRED, 1, 32, &to_in, &jerr) < 0 ||
            cc_json_get_string(body, "message", 0, 1, 500, &message, &jerr) == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", jerr.msg);
                return;
        }
        if (!phone_normalize(to_in, to)) {
                cc_http_reply_error(req, 422, "to: must be a phone number (+ and 8-15 digits)");
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        const struct cc_auth *a = cc_http_req_auth(req);
        char from[32];
        if (tel_default_number(conn, a->org_id, from) < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (!from[0]) {
                cc_http_reply_error(req, 400, "No phone number to call from");
                goto out;
        }
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_leaf(t, "Say", NULL,
                      message ? message : "This is a test call from your contact center.");
        size_t len;
        char *twiml = cc_twiml_finish(t, &len);
        const struct tel_call_new nc = {
            .inbound = false,
            .from_number = from,
            .to_number = to,
            .agent_id = a->user_id,
            .traceparent = cc_http_req_header(req, "traceparent"),
        };
        struct tel_call call;
        int r = tel_call_dial(req, conn, a->org_id, &nc, twiml, &call);
        free(twiml);
        if (r < 0)
                goto out;
        char msg[96];
        snprintf(msg, sizeof(msg), "Test call initiated to %s", to);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "callSid", json_object_new_string(call.twilio_sid));
        json_object_object_add(o, "call_id", json_object_new_string(call.id));
        json_object_object_add(o, "to", json_object_new_string(to));
        reply_ok(req, msg, o);
out:
        cc_db_release(conn);
}

static bool call_active(const struct tel_call *call)
{
        return call->status == TEL_CALL_IN_PROGRESS || call->status == TEL_CALL_ON_HOLD;
}

static void h_transfer(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        struct cc_json_err jerr;
        const char *call_id = NULL, *to_in = NULL;
        bool blind = false;
        char to[20];
        if (cc_json_get_uuid(body, "call_id", CC_JSON_REQUIRED, &call_id, &jerr) < 0 ||
            cc_json_get_string(body, "to", CC_JSON_REQUIRED, 1, 32, &to_in, &jerr) < 0 ||
            cc_json_get_bool(body, "blind", 0, &blind, &jerr) == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", jerr.msg);
                return;
        }
        if (!phone_normalize(to_in, to)) {
                cc_http_reply_error(req, 422, "to: must be a phone number (+ and 8-15 digits)");
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel *tel = tel_req(req);
        struct tel_call call;
        char err[512], conference[48];
        if (visible_call(req, conn, call_id, &call) < 0)
                goto out;
        if (!call_active(&call)) {
                cc_http_reply_error(req, 400, "Call is not active");
                goto out;
        }
        tel_conference_name(call.id, conference);
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_open(t, "Dial", NULL);
        if (blind)
                cc_twiml_leaf(t, "Number", NULL, to);
        else
                cc_twiml_leaf(t, "Conference", NULL, conference);
        cc_twiml_close(t);
        size_t len;
        char *twiml = cc_twiml_finish(t, &len);
        int r;
        if (blind) {
                /* The caller leaves the conference for the new party; the agent is free. */
                const struct cc_kv f[] = {{"Twiml", twiml}};
                r = tel_twilio_update_call(conn, tel, &call, f, 1, err, sizeof(err));
        } else {
                /* The target joins the call's conference; the agent stays until it hangs up. */
                struct tel_account acct;
                char from[32];
                r = tel_account_for_org(conn, tel, call.org_id, &acct);
                if (r == 0)
                        r = tel_default_number(conn, call.org_id, from);
                if (r == 0) {
                        const struct cc_kv f[] = {
                            {"To", to},
                            {"From", from[0]        ? from
                                     : call.inbound ? call.to_number
                                                    : call.from_number},
                            {"Twiml", twiml},
                        };
                        struct cc_twilio_result res;
                        memset(&res, 0, sizeof(res));
                        r = cc_twilio_call_create(tel->twilio, acct.account_sid, acct.auth_token, f,
                                                  CC_ARRAY_SIZE(f), &res);
                        snprintf(err, sizeof(err), "%s",
                                 res.message[0] ? res.message : "Twilio error");
                        if (r == -EPROTO && res.http_status >= 400 && res.http_status < 500 &&
                            res.http_status != 401 && res.http_status != 403)
                                r = -EINVAL;
                } else {
                        snprintf(err, sizeof(err), "no Twilio account configured");
                }
        }
        free(twiml);
        if (r < 0) {
                tel_twilio_reply_error(req, r, "transfer", err);
                goto out;
        }
        char at[25];
        cc_format_time_ms(cc_now_ms(), at);
        json_object *patch = json_object_new_object(), *info = json_object_new_object();
        json_object_object_add(info, "to", json_object_new_string(to));
        json_object_object_add(info, "type", json_object_new_string(blind ? "blind" : "attended"));
        json_object_object_add(info, "at", json_object_new_string(at));
        json_object_object_add(info, "by", json_object_new_string(cc_http_req_auth(req)->user_id));
        json_object_object_add(patch, "transfer", info);
        r = tel_call_merge_metadata(conn, call.org_id, call.id, patch);
        json_object_put(patch);
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        char msg[96];
        snprintf(msg, sizeof(msg), "Call transferred to %s", to);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "transferType",
                               json_object_new_string(blind ? "blind" : "attended"));
        reply_ok(req, msg, o);
out:
        cc_db_release(conn);
}

/* Hold and unhold: the conference leg at Twilio first, then our state machine. */
static void hold(struct cc_http_req *req, bool on)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call call;
        char err[512];
        if (visible_call(req, conn, cc_http_req_param(req, "call_id"), &call) < 0)
                goto out;
        /* Only a call in progress can be held, and only a held one resumed (a ringing call is
         * not "resumed" into being answered). */
        enum tel_call_status to = on ? TEL_CALL_ON_HOLD : TEL_CALL_IN_PROGRESS;
        if (call.status != (on ? TEL_CALL_IN_PROGRESS : TEL_CALL_ON_HOLD)) {
                cc_http_reply_error(req, 409,
                                    on ? "Call is not in progress" : "Call is not on hold");
                goto out;
        }
        const struct cc_kv f[] = {{"Hold", on ? "true" : "false"}};
        int r = tel_twilio_update_participant(conn, tel_req(req), &call, f, 1, err, sizeof(err));
        if (r < 0) {
                tel_twilio_reply_error(req, r, on ? "hold" : "resume", err);
                goto out;
        }
        const struct tel_transition t = {
            .to = to,
            .source = TEL_SOURCE_API,
            .duration_s = -1,
            .traceparent = cc_http_req_header(req, "traceparent"),
        };
        r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_transition(conn, call.org_id, call.id, &t, NULL);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                if (r == -EPERM)
                        cc_http_reply_error(req, 409, "Call changed state meanwhile");
                else
                        cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        reply_ok(req, on ? "Call on hold" : "Call resumed", NULL);
out:
        cc_db_release(conn);
}

static void h_hold(struct cc_http_req *req)
{
        hold(req, true);
}

static void h_unhold(struct cc_http_req *req)
{
        hold(req, false);
}

static void mute(struct cc_http_req *req, bool on)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call call;
        char err[512];
        if (visible_call(req, conn, cc_http_req_param(req, "call_id"), &call) < 0)
                goto out;
        if (!call_active(&call)) {
                cc_http_reply_error(req, 409, "Call is not active");
                goto out;
        }
        const struct cc_kv f[] = {{"Muted", on ? "true" : "false"}};
        int r = tel_twilio_update_participant(conn, tel_req(req), &call, f, 1, err, sizeof(err));
        if (r < 0) {
                tel_twilio_reply_error(req, r, on ? "mute" : "unmute", err);
                goto out;
        }
        json_object *patch = json_object_new_object();
        json_object_object_add(patch, "muted", json_object_new_boolean(on));
        r = tel_call_merge_metadata(conn, call.org_id, call.id, patch);
        json_object_put(patch);
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        reply_ok(req, on ? "Call muted" : "Call unmuted", NULL);
out:
        cc_db_release(conn);
}

static void h_mute(struct cc_http_req *req)
{
        mute(req, true);
}

static void h_unmute(struct cc_http_req *req)
{
        mute(req, false);
}

static void h_providers(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_account acct;
        int r = tel_account_for_org(conn, tel_req(req), cc_http_req_auth(req)->org_id, &acct);
        cc_db_release(conn);
        if (r < 0 && r != -ENOENT) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        json_object *p = json_object_new_object();
        json_object_object_add(p, "id", json_object_new_string("twilio"));
        json_object_object_add(p, "name", json_object_new_string("Twilio"));
        json_object_object_add(p, "status",
                               json_object_new_string(r == 0 ? "active" : "not_configured"));
        json_object *caps = json_object_new_array();
        static const char *const cap[] = {"voice", "sms", "recording", "transcription"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(cap); i++)
                json_object_array_add(caps, json_object_new_string(cap[i]));
        json_object_object_add(p, "capabilities", caps);
        json_object *list = json_object_new_array();
        json_object_array_add(list, p);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "providers", list);
        cc_http_reply_json(req, 200, o);
}

const struct cc_http_route tel_ops_routes[] = {
    {"POST", "/api/telephony/test-call", h_test_call, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/telephony/transfer", h_transfer, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/telephony/hold/{call_id}", h_hold, CC_ROLE_AGENT, 0},
    {"POST", "/api/telephony/unhold/{call_id}", h_unhold, CC_ROLE_AGENT, 0},
    {"POST", "/api/telephony/mute/{call_id}", h_mute, CC_ROLE_AGENT, 0},
    {"POST", "/api/telephony/unmute/{call_id}", h_unmute, CC_ROLE_AGENT, 0},
    {"GET", "/api/telephony/providers", h_providers, CC_ROLE_AGENT, 0},
};
const size_t tel_ops_nroutes = CC_ARRAY_SIZE(tel_ops_routes);
