/* /api/contacts: the six contact routes of the contract (§5.4). Any authenticated caller reads
 * and writes contacts; deleting and the CSV import take a SUPERVISOR or ADMIN. A contact is the
 * caller's when its campaign is the caller's organization's (and not deleted); anybody else's
 * campaign or contact answers 404 like one that does not exist. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "cc/log.h"
#include "cc/multipart.h"
#include "contacts_internal.h"

#define CAMPAIGN_NOT_FOUND "Campaign not found"
#define CONTACT_NOT_FOUND  "Contact not found"
/* The contract sets no bounds on skip and limit; these keep one answer to a sane size. */
#define MAX_SKIP  10000000
#define MAX_LIMIT 1000

static void reply_internal(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "contacts request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

static void reply_result(struct cc_http_req *req, int r, int status, json_object *o,
                         const char *not_found)
{
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, "%s", not_found);
        else if (r < 0)
                reply_internal(req, r);
        else
                cc_http_reply_json(req, status, o);
}

static const char *org(struct cc_http_req *req)
{
        return cc_http_req_auth(req)->org_id;
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

static void reply_bad_status(struct cc_http_req *req)
{
        cc_http_reply_error(req, 422,
                            "status: must be one of PENDING, DIALING, CONNECTED, COMPLETED, "
                            "FAILED, DO_NOT_CALL");
}

static void h_contacts_list(struct cc_http_req *req)
{
        struct tel_contact_filter f = {0};
        if (query_int(req, "skip", 0, 0, MAX_SKIP, &f.skip) < 0 ||
            query_int(req, "limit", 50, 1, MAX_LIMIT, &f.limit) < 0)
                return;
        const char *campaign = cc_http_req_query(req, "campaign_id");
        if (campaign && *campaign) {
                if (!cc_uuid_valid(campaign)) {
                        cc_http_reply_error(req, 422, "campaign_id: must be a UUID");
                        return;
                }
                f.campaign_id = campaign;
        }
        const char *st = cc_http_req_query(req, "status");
        if (st && *st && !(f.status = tel_contact_status_canonical(st))) {
                reply_bad_status(req);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = f.campaign_id ? tel_contact_campaign_visible(conn, org(req), f.campaign_id) : 0;
        json_object *items = NULL;
        int64_t total = 0;
        if (r == 0)
                r = tel_contact_list(conn, org(req), &f, &items, &total);
        cc_db_release(conn);
        if (r < 0) {
                reply_result(req, r, 0, NULL, CAMPAIGN_NOT_FOUND);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "contacts", items);
        json_object_object_add(o, "total", json_object_new_int64(total));
        json_object_object_add(o, "skip", json_object_new_int64(f.skip));
        json_object_object_add(o, "limit", json_object_new_int64(f.limit));
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

/* The contract's 20 characters of up to 4 bytes each, and a NUL. */
#define PHONE_MAX 81

/* A phone number as the contract takes it: 10 to 20 characters once the spaces around it are
 * trimmed (so a blank one is refused). Stored in E.164 when it reads as a number, else as sent
 * without the spaces around it. */
static int get_phone(json_object *body, unsigned flags, char out[PHONE_MAX], bool *ret_set,
                     struct cc_json_err *err)
{
        const char *s = NULL;
        int r = cc_json_get_string(body, "phone_number", flags, 0, 0, &s, err);
        *ret_set = r == 0;
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        size_t len = strlen(s);
        if (!cc_text_valid(s, len)) {
                snprintf(err->msg, sizeof(err->msg),
                         "phone_number: must not contain control characters");
                return -EINVAL;
        }
        /* Tabs are control characters: only spaces are left to trim. */
        while (len && *s == ' ') {
                s++;
                len--;
        }
        while (len && s[len - 1] == ' ')
                len--;
        ssize_t chars = cc_utf8_count(s, len);
        if (chars < 10 || chars > 20) {
                snprintf(err->msg, sizeof(err->msg), "phone_number: %s",
                         chars == 0   ? "must not be blank"
                         : chars < 10 ? "must be at least 10 characters"
                                      : "must be at most 20 characters");
                return -EINVAL;
        }
        char e164[TEL_E164_MAX];
        if (tel_phone_e164(s, len, tel_cfg.default_country_code, e164))
                snprintf(out, PHONE_MAX, "%s", e164);
        else
                snprintf(out, PHONE_MAX, "%.*s", (int)len, s);
        return 0;
}

/* A nullable text: *ret_set says whether the body names it at all (null included). Control
 * characters are refused (tab and line breaks allowed where multiline); "" is stored as null,
 * as the import stores an empty cell. */
static int nullable_string(json_object *body, const char *field, size_t max, bool multiline,
                           bool *ret_set, const char **ret, struct cc_json_err *err)
{
        *ret_set = json_object_object_get_ex(body, field, NULL);
        *ret = NULL;
        int r = cc_json_get_string(body, field, CC_JSON_NULLABLE, 0, max, ret, err);
        if (r == -EINVAL)
                return r;
        if (*ret && !tel_contact_text_valid(*ret, strlen(*ret), multiline)) {
                snprintf(err->msg, sizeof(err->msg), "%s: must not contain control characters%s",
                         field, multiline ? " other than tab and line breaks" : "");
                *ret = NULL;
                return -EINVAL;
        }
        if (*ret && !**ret)
                *ret = NULL;
        return 0;
}

static int metadata(json_object *body, bool *ret_set, const char **ret, struct cc_json_err *err)
{
        json_object *meta = NULL;
        *ret_set = json_object_object_get_ex(body, "extra_metadata", NULL);
        *ret = NULL;
        if (cc_json_get_object(body, "extra_metadata", CC_JSON_NULLABLE, &meta, err) == -EINVAL)
                return -EINVAL;
        if (meta && !json_object_is_type(meta, json_type_object)) {
                snprintf(err->msg, sizeof(err->msg), "extra_metadata: must be an object");
                return -EINVAL;
        }
        if (meta)
                *ret = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
        return 0;
}

static void h_contacts_create(struct cc_http_req *req)
{
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct tel_contact_new c = {0};
        struct cc_json_err err;
        char phone[PHONE_MAX];
        bool set, ignored;
        if (cc_json_get_uuid(body, "campaign_id", CC_JSON_REQUIRED, &c.campaign_id, &err) < 0 ||
            get_phone(body, CC_JSON_REQUIRED, phone, &set, &err) < 0 ||
            nullable_string(body, "name", 255, false, &ignored, &c.name, &err) < 0 ||
            nullable_string(body, "email", 255, false, &ignored, &c.email, &err) < 0 ||
            nullable_string(body, "notes", 2000, true, &ignored, &c.notes, &err) < 0 ||
            metadata(body, &ignored, &c.extra_metadata, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        c.phone_number = phone;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_contact_create(conn, org(req), &c, &o);
        cc_db_release(conn);
        reply_result(req, r, 201, o, CAMPAIGN_NOT_FOUND);
}

/* The contact id of the path, or NULL after answering 404 for one that cannot exist. */
static const char *contact_id(struct cc_http_req *req)
{
        const char *id = cc_http_req_param(req, "contact_id");
        if (!cc_uuid_valid(id)) {
                cc_http_reply_error(req, 404, CONTACT_NOT_FOUND);
                return NULL;
        }
        return id;
}

static void h_contacts_get(struct cc_http_req *req)
{
        const char *id = contact_id(req);
        if (!id)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        int r = tel_contact_get(conn, org(req), id, &o);
        cc_db_release(conn);
        reply_result(req, r, 200, o, CONTACT_NOT_FOUND);
}

static void h_contacts_update(struct cc_http_req *req)
{
        const char *id = contact_id(req);
        if (!id)
                return;
        json_object *body = cc_http_req_json(req);
        if (!body_object(req, body))
                return;
        struct tel_contact_patch p = {0};
        struct cc_json_err err;
        char phone[PHONE_MAX];
        const char *st = NULL;
        int r = -ENOENT;
        /* null for a field that cannot be null leaves it as it is, as absence does. */
        if (get_phone(body, CC_JSON_NULLABLE, phone, &p.set_phone, &err) < 0 ||
            nullable_string(body, "name", 255, false, &p.set_name, &p.name, &err) < 0 ||
            nullable_string(body, "email", 255, false, &p.set_email, &p.email, &err) < 0 ||
            nullable_string(body, "outcome", 100, false, &p.set_outcome, &p.outcome, &err) < 0 ||
            nullable_string(body, "notes", 2000, true, &p.set_notes, &p.notes, &err) < 0 ||
            metadata(body, &p.set_metadata, &p.metadata, &err) < 0 ||
            (r = cc_json_get_int(body, "attempts", CC_JSON_NULLABLE, 0, INT32_MAX, &p.attempts,
                                 &err)) == -EINVAL ||
            cc_json_get_string(body, "status", CC_JSON_NULLABLE, 1, 32, &st, &err) == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        p.phone_number = p.set_phone ? phone : NULL;
        p.set_attempts = r == 0;
        if (st) {
                p.status = tel_contact_status_canonical(st);
                if (!p.status) {
                        cc_http_reply_error(req, 422,
                                            "status: must be one of PENDING, COMPLETED, FAILED, "
                                            "DO_NOT_CALL");
                        return;
                }
                /* The dialer's states: only a call it placed may put a contact in them. */
                if (strcmp(p.status, "DIALING") == 0 || strcmp(p.status, "CONNECTED") == 0) {
                        cc_http_reply_error(req, 422,
                                            "status: %s is set by the dialer; a client may set "
                                            "PENDING, COMPLETED, FAILED or DO_NOT_CALL",
                                            p.status);
                        return;
                }
                p.set_status = true;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *o = NULL;
        char msg[256] = "";
        r = tel_contact_update(conn, org(req), id, &p, &o, msg, sizeof(msg));
        cc_db_release(conn);
        if (r == -EINVAL)
                cc_http_reply_error(req, 422, "%s", msg);
        else if (r == -EBUSY)
                cc_http_reply_error(req, 409, "Contact has a call in progress");
        else
                reply_result(req, r, 200, o, CONTACT_NOT_FOUND);
}

static void h_contacts_delete(struct cc_http_req *req)
{
        const char *id = contact_id(req);
        if (!id)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int r = tel_contact_delete(conn, org(req), id);
        cc_db_release(conn);
        reply_result(req, r, 204, NULL, CONTACT_NOT_FOUND);
}

static void h_contacts_import(struct cc_http_req *req)
{
        const char *campaign = cc_http_req_query(req, "campaign_id");
        if (!campaign || !*campaign) {
                cc_http_reply_error(req, 422, "campaign_id: field required");
                return;
        }
        if (!cc_uuid_valid(campaign)) {
                cc_http_reply_error(req, 422, "campaign_id: must be a UUID");
                return;
        }
        size_t len;
        const char *body = cc_http_req_body(req, &len);
        /* The server enforces the limit when its max_upload is set to it; this keeps the
         * setting true whatever the server was given. */
        if ((long long)len > tel_cfg.upload_max_bytes) {
                cc_http_reply_error(req, 413, "File too large: at most %lld bytes",
                                    tel_cfg.upload_max_bytes);
                return;
        }
        struct cc_multipart_part file;
        int r =
            cc_multipart_find(cc_http_req_header(req, "Content-Type"), body, len, "file", &file);
        if (r == -ENOENT) {
                cc_http_reply_error(req, 422, "file: field required");
                return;
        }
        if (r < 0) {
                cc_http_reply_error(req, 422, "file: must be sent as multipart/form-data");
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        r = tel_contact_campaign_visible(conn, org(req), campaign);
        struct tel_import_result res;
        char err[256] = "";
        if (r == 0)
                r = tel_contacts_import(conn, org(req), campaign, file.data, file.len, &res, err,
                                        sizeof(err));
        cc_db_release(conn);
        if (r == -EILSEQ || r == -EBADMSG) {
                cc_http_reply_error(req, 422, "%s", err);
                return;
        }
        if (r < 0) {
                reply_result(req, r, 0, NULL, CAMPAIGN_NOT_FOUND);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "imported", json_object_new_int64(res.imported));
        json_object_object_add(o, "failed", json_object_new_int64(res.failed));
        json_object_object_add(o, "total", json_object_new_int64(res.imported + res.failed));
        json_object_object_add(o, "errors", res.errors);
        cc_log_info(cc_http_req_id(req),
                    "contacts import into campaign %s: %" PRId64 " imported, %" PRId64 " failed",
                    campaign, res.imported, res.failed);
        cc_http_reply_json(req, 200, o);
}

/* The router serves "/api/contacts" and "/api/contacts/" as one route. */
const struct cc_http_route tel_contacts_routes[] = {
    {"GET", "/api/contacts", h_contacts_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/contacts", h_contacts_create, CC_ROLE_AGENT, 0},
    {"POST", "/api/contacts/bulk-import", h_contacts_import, CC_ROLE_SUPERVISOR,
     CC_HTTP_RAW_BODY | CC_HTTP_UPLOAD},
    {"GET", "/api/contacts/{contact_id}", h_contacts_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/contacts/{contact_id}", h_contacts_update, CC_ROLE_AGENT, 0},
    {"DELETE", "/api/contacts/{contact_id}", h_contacts_delete, CC_ROLE_SUPERVISOR, 0},
};
const size_t tel_contacts_nroutes = CC_ARRAY_SIZE(tel_contacts_routes);
