/* What telephony asks Twilio to do: place calls, update live calls and their conference legs,
 * through the organization's own account or the platform's, and how Twilio's failures are
 * answered to our clients. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "telephony.h"

void tel_conference_name(const char *call_id, char out[48])
{
        snprintf(out, 48, "cc-%s", call_id);
}

/* Twilio answered but refused: a 4xx other than authentication and throttling is our
 * request's fault (a bad number); credentials refused or a 5xx is Twilio's (or its
 * configuration's) problem; 429 is Twilio asking us to slow down (-EAGAIN, answered 503). */
static int twilio_failure(int r, const struct cc_twilio_result *res, char *err, size_t err_len)
{
        if (r == -EPROTO) {
                cc_set_error(err, err_len, "%s", res->message[0] ? res->message : "Twilio error");
                if (res->http_status == 429)
                        return -EAGAIN;
                if (res->http_status >= 400 && res->http_status < 500 && res->http_status != 401 &&
                    res->http_status != 403)
                        return -EINVAL;
                return -EPROTO;
        }
        cc_set_error(err, err_len, "%s", res->message[0] ? res->message : "Twilio unreachable");
        return r;
}

static int account(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                   struct tel_account *acct, char *err, size_t err_len)
{
        int r = tel_account_for_org(conn, tel, org_id, acct);
        if (r == -ENOENT)
                cc_set_error(err, err_len, "no Twilio account configured");
        else if (r < 0)
                cc_set_error(err, err_len, "cannot read the Twilio account");
        return r;
}

int tel_twilio_place_call(struct cc_db_conn *conn, struct tel *tel, const struct tel_call *call,
                          const char *twiml, char *err, size_t err_len)
{
        struct tel_account acct;
        int r = account(conn, tel, call->org_id, &acct, err, err_len);
        if (r < 0)
                return r;
        /* Our id rides along (Twilio signs the query too): a callback that overtakes the answer
         * to Calls.json still finds its call before we have stored the sid. */
        char voice[2200], status[2200];
        snprintf(voice, sizeof(voice), "%s/api/webhooks/twilio/voice?call=%s",
                 tel_cfg.public_base_url, call->id);
        snprintf(status, sizeof(status), "%s/api/webhooks/twilio/call-status?call=%s",
                 tel_cfg.public_base_url, call->id);
        const struct cc_kv fields[] = {
            {"To", call->to_number},
            {"From", call->from_number},
            {twiml ? "Twiml" : "Url", twiml ? twiml : voice},
            {"StatusCallback", status},
            {"StatusCallbackMethod", "POST"},
            {"StatusCallbackEvent", "initiated"},
            {"StatusCallbackEvent", "ringing"},
            {"StatusCallbackEvent", "answered"},
            {"StatusCallbackEvent", "completed"},
        };
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_call_create(tel->twilio, acct.account_sid, acct.auth_token, fields,
                                  CC_ARRAY_SIZE(fields), &res);
        if (r < 0)
                return twilio_failure(r, &res, err, err_len);
        r = tel_call_set_sid(conn, call->org_id, call->id, res.sid);
        if (r < 0)
                cc_set_error(err, err_len, "cannot store the call's sid");
        return r;
}

static int live_sid(const struct tel_call *call, char *err, size_t err_len)
{
        if (!call->twilio_sid[0]) {
                cc_set_error(err, err_len, "the call has no Twilio call");
                return -EINVAL;
        }
        return 0;
}

int tel_twilio_update_call(struct cc_db_conn *conn, struct tel *tel, const struct tel_call *call,
                           const struct cc_kv *fields, size_t n, char *err, size_t err_len)
{
        struct tel_account acct;
        int r = live_sid(call, err, err_len);
        if (r == 0)
                r = account(conn, tel, call->org_id, &acct, err, err_len);
        if (r < 0)
                return r;
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_call_update(tel->twilio, acct.account_sid, acct.auth_token, call->twilio_sid,
                                  fields, n, &res);
        return r < 0 ? twilio_failure(r, &res, err, err_len) : 0;
}

int tel_twilio_update_participant(struct cc_db_conn *conn, struct tel *tel,
                                  const struct tel_call *call, const struct cc_kv *fields, size_t n,
                                  char *err, size_t err_len)
{
        struct tel_account acct;
        int r = live_sid(call, err, err_len);
        if (r == 0)
                r = account(conn, tel, call->org_id, &acct, err, err_len);
        if (r < 0)
                return r;
        char conference[48];
        tel_conference_name(call->id, conference);
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_participant_update(tel->twilio, acct.account_sid, acct.auth_token, conference,
                                         call->twilio_sid, fields, n, &res);
        return r < 0 ? twilio_failure(r, &res, err, err_len) : 0;
}

int tel_twilio_http_status(int r)
{
        switch (r) {
        case -ENOENT:
        case -EINVAL:
                return 400;
        case -EPROTO:
                return 502;
        case -ETIMEDOUT:
                return 504;
        default:
                return 503;
        }
}

void tel_twilio_reply_error(struct cc_http_req *req, int r, const char *verb, const char *err)
{
        int status = tel_twilio_http_status(r);
        if (r == -ENOENT)
                cc_http_reply_error(req, status, "Telephony service not available");
        else if (status >= 503)
                cc_http_reply_error(req, status, "Twilio unavailable: %s", err);
        else
                cc_http_reply_error(req, status, "Failed to %s call: %s", verb, err);
}

int tel_call_dial(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                  const struct tel_call_new *c, const char *twiml, struct tel_call *ret_call)
{
        struct tel *tel = tel_req(req);
        struct tel_account acct;
        char err[512];
        int r = tel_account_for_org(conn, tel, org_id, &acct);
        if (r < 0) {
                if (r == -ENOENT)
                        cc_http_reply_error(req, 400, "Telephony service not available");
                else
                        cc_http_reply_error(req, 503, "Database unavailable");
                return r;
        }
        struct tel_call call;
        r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_create(conn, org_id, c, &call);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                cc_http_reply_error(req, 503, "Database unavailable");
                return r;
        }
        /* Twilio is called outside any transaction: a slow Twilio must not hold row locks. */
        r = tel_twilio_place_call(conn, tel, &call, twiml, err, sizeof(err));
        if (r < 0) {
                const struct tel_transition t = {
                    .to = TEL_CALL_FAILED,
                    .source = TEL_SOURCE_WEBHOOK, /* never refused: FAILED is always reachable */
                    .duration_s = -1,
                    .traceparent = c->traceparent,
                };
                if (cc_db_begin(conn) == 0) {
                        if (tel_call_transition(conn, org_id, call.id, &t, NULL) >= 0)
                                (void)!cc_db_commit(conn);
                        else
                                cc_db_rollback(conn);
                }
                tel_twilio_reply_error(req, r, "create", err);
                return r;
        }
        r = tel_call_get(conn, org_id, call.id, ret_call);
        if (r < 0)
                cc_http_reply_error(req, 503, "Database unavailable");
        return r;
}

int tel_twilio_create_leg(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                          const char *to, const char *twiml, const char *status_url, int timeout_s,
                          char ret_sid[64], char *err, size_t err_len)
{
        struct tel_account acct;
        int r = account(conn, tel, org_id, &acct, err, err_len);
        if (r < 0)
                return r;
        char from[32];
        r = tel_default_number(conn, org_id, from);
        if (r < 0) {
                explicit_bzero(&acct, sizeof(acct));
                cc_set_error(err, err_len, "cannot read the organization's numbers");
                return r;
        }
        char timeout[16];
        snprintf(timeout, sizeof(timeout), "%d", timeout_s);
        struct cc_kv fields[10] = {{"To", to}, {"From", from}, {"Twiml", twiml}};
        size_t n = 3;
        if (timeout_s > 0)
                fields[n++] = (struct cc_kv){"Timeout", timeout};
        if (status_url) {
                fields[n++] = (struct cc_kv){"StatusCallback", status_url};
                fields[n++] = (struct cc_kv){"StatusCallbackMethod", "POST"};
                fields[n++] = (struct cc_kv){"StatusCallbackEvent", "initiated"};
                fields[n++] = (struct cc_kv){"StatusCallbackEvent", "ringing"};
                fields[n++] = (struct cc_kv){"StatusCallbackEvent", "answered"};
                fields[n++] = (struct cc_kv){"StatusCallbackEvent", "completed"};
        }
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_call_create(tel->twilio, acct.account_sid, acct.auth_token, fields, n, &res);
        explicit_bzero(&acct, sizeof(acct));
        if (r < 0)
                return twilio_failure(r, &res, err, err_len);
        snprintf(ret_sid, 64, "%s", res.sid);
        return 0;
}

int tel_twilio_hangup_sid(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                          const char *sid, char *err, size_t err_len)
{
        struct tel_account acct;
        int r = account(conn, tel, org_id, &acct, err, err_len);
        if (r < 0)
                return r;
        const struct cc_kv fields[] = {{"Status", "completed"}};
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_call_update(tel->twilio, acct.account_sid, acct.auth_token, sid, fields, 1,
                                  &res);
        explicit_bzero(&acct, sizeof(acct));
        return r < 0 ? twilio_failure(r, &res, err, err_len) : 0;
}
