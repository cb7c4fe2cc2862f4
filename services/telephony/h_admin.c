/* /api/telephony/credentials and /api/telephony/numbers (ADMIN): the Twilio account an
 * organization brings, and its phone numbers. The auth token goes in and is never given back,
 * not even in part; nothing here logs request bodies or the token. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "cc/log.h"
#include "telephony.h"

#define NUMBER_NOT_FOUND "Phone number not found"
#define NO_PROVIDER      "Telephony service not available"

static void reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "telephony admin request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

static bool body_object(struct cc_http_req *req, json_object *body)
{
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return false;
        }
        return true;
}

static const char *const source_names[] = {
    [TEL_CRED_NONE] = "none",
    [TEL_CRED_PLATFORM] = "platform",
    [TEL_CRED_ORGANIZATION] = "organization",
};

static void reply_credentials(struct cc_http_req *req, struct cc_db_conn *conn)
{
        struct tel_credentials_info info;
        int r = tel_credentials_info(conn, tel_req(req), cc_http_req_auth(req)->org_id, &info);
        cc_db_release(conn);
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "configured", json_object_new_boolean(info.token_usable));
        cc_json_add_string(o, "source", source_names[info.source]);
        /* The platform's account is not the organization's business: only its own is shown. */
        cc_json_add_string(o, "account_sid", info.account_sid[0] ? info.account_sid : NULL);
        json_object_object_add(o, "auth_token_set", json_object_new_boolean(info.token_usable));
        cc_json_add_time(o, "updated_at", info.updated_at_ms);
        cc_http_reply_json(req, 200, o);
}

static void h_credentials_get(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (conn)
                reply_credentials(req, conn);
}

/* "AC" and 32 hex digits; written lower-cased (Twilio's form) into out. */
static bool account_sid_parse(const char *s, char out[64])
{
        if (strlen(s) != 34 || s[0] != 'A' || s[1] != 'C')
                return false;
        out[0] = 'A';
        out[1] = 'C';
        for (size_t i = 2; i < 34; i++) {
                if (!isxdigit((unsigned char)s[i]))
                        return false;
                out[i] = (char)tolower((unsigned char)s[i]);
        }
        out[34] = '\0';
        return true;
}

/* Printable ASCII without spaces: what goes into a Basic auth header unchanged. */
static bool token_chars_valid(const char *s)
{
        for (; *s; s++)
                if (*s < 0x21 || *s > 0x7e)
                        return false;
        return true;
}

static void h_credentials_put(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct tel *tel = tel_req(req);
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct cc_json_err err;
        const char *sid_in = NULL, *token = NULL;
        int r = cc_json_get_string(body, "account_sid", CC_JSON_REQUIRED, 1, 64, &sid_in, &err);
        if (r == 0)
                r = cc_json_get_string(body, "auth_token", CC_JSON_REQUIRED, 16, 128, &token, &err);
        if (r < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        char sid[64];
        if (!account_sid_parse(sid_in, sid)) {
                cc_http_reply_error(req, 422,
                                    "account_sid: must be AC followed by 32 hexadecimal digits");
                return;
        }
        if (!token_chars_valid(token)) {
                cc_http_reply_error(req, 422, "auth_token: must be printable ASCII without spaces");
                return;
        }
        /* Webhooks naming the platform's account are always verified with the platform's token
         * (tel_account_by_sid looks there first), so a copy under an organization would sign
         * nothing and only blur which account that organization's calls are billed to. */
        if (tel_cfg.twilio_account_sid && strcasecmp(sid, tel_cfg.twilio_account_sid) == 0) {
                cc_http_reply_error(req, 422,
                                    "account_sid: is the platform's account; delete the "
                                    "organization's credentials to use it");
                return;
        }
        if (!tel || !tel->box) {
                cc_http_reply_error(req, 503, "Credential storage is not configured");
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        r = tel_credentials_put(conn, tel, auth->org_id, auth->user_id, sid, token);
        if (r == -EEXIST) {
                cc_db_release(conn);
                cc_http_reply_error(req, 409,
                                    "This Twilio account is already connected to another "
                                    "organization");
                return;
        }
        if (r < 0) {
                cc_db_release(conn);
                reply_internal(req, r);
                return;
        }
        cc_log_info(cc_http_req_id(req), "twilio credentials of organization %s set to account %s",
                    auth->org_id, sid);
        reply_credentials(req, conn);
}

static void h_credentials_delete(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = tel_credentials_delete(conn, auth->org_id);
        cc_db_release(conn);
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        cc_http_reply_json(req, 204, NULL);
}

static void h_credentials_test(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct tel *tel = tel_req(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_credentials_info info;
        struct tel_account acct;
        int r = tel_credentials_info(conn, tel, auth->org_id, &info);
        if (r == 0 && info.source == TEL_CRED_ORGANIZATION && !info.token_usable) {
                cc_db_release(conn);
                cc_http_reply_error(req, 400,
                                    "The stored Twilio credentials can no longer be decrypted; "
                                    "set them again");
                return;
        }
        if (r == 0)
                r = tel_account_for_org(conn, tel, auth->org_id, &acct);
        cc_db_release(conn);
        if (r == -ENOENT) {
                cc_http_reply_error(req, 400, NO_PROVIDER);
                return;
        }
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        if (!tel->twilio) {
                explicit_bzero(&acct, sizeof(acct));
                cc_http_reply_error(req, 503, "Twilio API is not configured");
                return;
        }
        struct cc_twilio_result res;
        memset(&res, 0, sizeof(res));
        r = cc_twilio_account_fetch(tel->twilio, acct.account_sid, acct.auth_token, &res);
        explicit_bzero(acct.auth_token, sizeof(acct.auth_token));
        if (r == 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "success", json_object_new_boolean(true));
                /* The platform's account is not the organization's business (as in GET). */
                cc_json_add_string(o, "account_sid", acct.own ? acct.account_sid : NULL);
                cc_json_add_string(o, "status", res.status[0] ? res.status : NULL);
                cc_json_add_string(o, "source", acct.own ? "organization" : "platform");
                cc_http_reply_json(req, 200, o);
                return;
        }
        const char *msg = res.message[0] ? res.message : strerror(-r);
        int st = res.http_status;
        if (r == -EPROTO && (st == 400 || st == 401 || st == 403 || st == 404))
                cc_http_reply_error(req, 400, "Twilio rejected the credentials: %s", msg);
        else if (r == -EPROTO && st == 429)
                cc_http_reply_error(req, 503, "Twilio is rate limiting this account: %s", msg);
        else if (r == -EPROTO)
                cc_http_reply_error(req, 502, "Twilio answered with an error (HTTP %d): %s", st,
                                    msg);
        else if (r == -EHOSTDOWN)
                cc_http_reply_error(req, 503,
                                    "Twilio is unavailable (too many recent failures); "
                                    "try again shortly");
        else
                cc_http_reply_error(req, 502, "Could not reach Twilio: %s", msg);
}

static void h_numbers_list(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *numbers = NULL;
        int r = tel_numbers_list(conn, cc_http_req_auth(req)->org_id, &numbers);
        cc_db_release(conn);
        if (r < 0) {
                reply_internal(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "numbers", numbers);
        cc_http_reply_json(req, 200, o);
}

/* E.164: "+", a non-zero first digit, 8 to 15 digits in all. */
static bool e164_valid(const char *s)
{
        if (s[0] != '+' || s[1] < '1' || s[1] > '9')
                return false;
        size_t n = 0;
        for (s++; *s; s++, n++)
                if (*s < '0' || *s > '9')
                        return false;
        return n >= 8 && n <= 15;
}

static void h_numbers_add(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct cc_json_err err;
        const char *number = NULL, *friendly = NULL;
        int r = cc_json_get_string(body, "number", CC_JSON_REQUIRED, 1, 32, &number, &err);
        if (r == 0 && !e164_valid(number)) {
                cc_http_reply_error(req, 422,
                                    "number: must be E.164, \"+\" and 8 to 15 digits "
                                    "(+15551230000)");
                return;
        }
        if (r == 0)
                r = cc_json_get_string(body, "friendly_name", CC_JSON_NULLABLE, 0, 64, &friendly,
                                       &err);
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        /* A label shown in lists and logs: one line of text. */
        if (friendly && !cc_text_valid(friendly, strlen(friendly))) {
                cc_http_reply_error(req, 422, "friendly_name: must not contain control characters");
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *row = NULL;
        r = tel_number_add(conn, cc_http_req_auth(req)->org_id, number, friendly, &row);
        cc_db_release(conn);
        if (r == -EEXIST)
                cc_http_reply_error(req, 409, "Phone number already registered");
        else if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 201, row);
}

static void h_numbers_delete(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = tel_number_delete(conn, cc_http_req_auth(req)->org_id,
                                  cc_http_req_param(req, "number_id"));
        cc_db_release(conn);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, NUMBER_NOT_FOUND);
        else if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, 204, NULL);
}

const struct cc_http_route tel_admin_routes[] = {
    {"GET", "/api/telephony/credentials", h_credentials_get, CC_ROLE_ADMIN, 0},
    {"PUT", "/api/telephony/credentials", h_credentials_put, CC_ROLE_ADMIN, 0},
    {"DELETE", "/api/telephony/credentials", h_credentials_delete, CC_ROLE_ADMIN, 0},
    {"POST", "/api/telephony/credentials/test", h_credentials_test, CC_ROLE_ADMIN, 0},
    {"GET", "/api/telephony/numbers", h_numbers_list, CC_ROLE_ADMIN, 0},
    {"POST", "/api/telephony/numbers", h_numbers_add, CC_ROLE_ADMIN, 0},
    {"DELETE", "/api/telephony/numbers/{number_id}", h_numbers_delete, CC_ROLE_ADMIN, 0},
};
const size_t tel_admin_nroutes = CC_ARRAY_SIZE(tel_admin_routes);
