/* /api/ivr (contract §5.7): the organization's IVR configuration, its menus with their digit
 * options, and flows. Reads are open to every caller of the organization, changes to
 * supervisors (the route table checks the role). Every id is looked up inside the caller's
 * organization: another organization's menu is "not found", never a target.
 *
 * A menu something still points at (the configuration's main menu, another menu's option, a
 * flow) is not deleted: the request gets 409 naming the reference, so a live phone tree never
 * loses a branch behind the supervisor's back. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "cc/log.h"
#include "ivr_internal.h"
#include "telephony.h"

#define MENU_NOT_FOUND "IVR menu not found"
#define MAX_OPTIONS    12
#define MAX_STEPS      50
#define MAX_TARGET     100

/* SQLSTATE foreign_key_violation: a menu named in the request was deleted meanwhile. */
#define FK_VIOLATION "23503"

static int errf(struct cc_json_err *err, const char *fmt, ...) CC_PRINTF(2, 3);

static int errf(struct cc_json_err *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* A member's message ("digit: ...") under its element's name ("options[2].digit: ..."). */
static int nested(struct cc_json_err *err, const char *list, size_t i, const struct cc_json_err *e)
{
        return errf(err, "%s[%zu].%s", list, i, e->msg);
}

/* Replies to a failure the client could not have caused and gives the connection back. */
static void fail(struct cc_http_req *req, struct cc_db_conn *conn, int r, const char *what)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
        } else {
                cc_log_error(cc_http_req_id(req), "ivr: failed to %s: %s%s%s", what, strerror(-r),
                             conn ? ": " : "", conn ? cc_db_error(conn) : "");
                cc_http_reply_error(req, 500, "Failed to %s", what);
        }
        cc_db_release(conn);
}

static bool fk_violation(struct cc_db_conn *conn, int r)
{
        return r == -EINVAL && strcmp(cc_db_sqlstate(conn), FK_VIOLATION) == 0;
}

/* The request's JSON object (NULL when there was no body: every getter reads that as {});
 * false after replying 422 to anything else. */
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

static json_object *envelope(const char *message)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "success", json_object_new_boolean(true));
        json_object_object_add(o, "message", json_object_new_string(message));
        return o;
}

/* ---- field checks ---- */

/* Spoken or displayed text: line breaks and tabs are fine, other control characters have no
 * place in speech or in an XML document. */
static bool free_text_ok(const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                        return false;
        }
        return true;
}

static bool audio_url_ok(const char *s)
{
        const char *host = strstr(s, "://") + 3;
        if (!*host || *host == '/')
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
                        return false;
        return true;
}

/* A phone number (optional '+', first digit 1-9, 8 to 15 digits) as E.164 with its '+', a
 * "sip:" address, or a "client:" identity; NULL when target is none of them. */
static const char *transfer_target(struct cc_arena *a, const char *s)
{
        if (strncasecmp(s, "sip:", 4) == 0) {
                if (!s[4])
                        return NULL;
                for (const char *p = s + 4; *p; p++)
                        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                                return NULL;
                return s;
        }
        if (strncasecmp(s, "client:", 7) == 0) {
                if (!s[7])
                        return NULL;
                for (const char *p = s + 7; *p; p++)
                        if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                              (*p >= 'A' && *p <= 'Z')))
                                return NULL;
                return s;
        }
        const char *d = s + (*s == '+');
        size_t n = strlen(d);
        if (n < 8 || n > 15 || *d < '1' || *d > '9')
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (d[i] < '0' || d[i] > '9')
                        return NULL;
        return cc_arena_printf(a, "+%s", d);
}

/* Checks raw (NULL or "" = none) as the target of action and gives the form to store. A menu
 * target's existence is the database's to say (ivr_store_first_missing_menu). */
static int check_target(struct cc_arena *a, const char *field, enum ivr_action action,
                        const char *raw, const char **ret, struct cc_json_err *err)
{
        bool none = !raw || !raw[0];
        const char *name = ivr_action_name(action);
        switch (action) {
        case IVR_VOICEMAIL:
        case IVR_HANGUP:
        case IVR_REPEAT:
                if (!none)
                        return errf(err, "%s: not allowed for %s", field, name);
                *ret = NULL;
                return 0;
        default:
                break;
        }
        if (none)
                return errf(err, "%s: required for %s", field, name);
        if (action == IVR_QUEUE && !cc_text_valid(raw, strlen(raw)))
                return errf(err, "%s: must not contain control characters", field);
        if (action == IVR_TRANSFER) {
                raw = transfer_target(a, raw);
                if (!raw)
                        return errf(err,
                                    "%s: must be a phone number (+ and 8-15 digits), a sip: "
                                    "address or a client: name",
                                    field);
        }
        *ret = raw;
        return 0;
}

/* IVRActionType, in enum ivr_action's order. */
static const char *const option_actions[] = {"transfer",  "queue",  "menu",
                                             "voicemail", "hangup", NULL};
/* NoInputAction. */
static const char *const no_input_actions[] = {"repeat", "transfer", "voicemail", "hangup", NULL};
static const enum ivr_action no_input_values[] = {IVR_REPEAT, IVR_TRANSFER, IVR_VOICEMAIL,
                                                  IVR_HANGUP};

/* A JSON object member that may be absent or null; "metadata" also goes by "metadata_payload". */
static int read_object_json(struct cc_arena *a, json_object *o, const char *field,
                            const char **ret_json, struct cc_json_err *e)
{
        json_object *v = NULL;
        int r = cc_json_get_object(o, field, CC_JSON_NULLABLE, &v, e);
        if (r == 0)
                *ret_json =
                    cc_arena_strdup(a, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return r;
}

static int read_option(struct cc_arena *a, json_object *o, size_t i, struct ivr_option *ret,
                       struct cc_json_err *err)
{
        struct cc_json_err e;
        if (!json_object_is_type(o, json_type_object))
                return errf(err, "options[%zu]: must be an object", i);
        struct ivr_option opt = {0};
        json_object *d = NULL;
        if (!json_object_object_get_ex(o, "digit", &d) || !d)
                return errf(err, "options[%zu].digit: field required", i);
        const char *ds = json_object_is_type(d, json_type_string) ? json_object_get_string(d) : "";
        if (!json_object_is_type(d, json_type_string) || json_object_get_string_len(d) != 1 ||
            !ds[0] || !strchr("0123456789*#", ds[0]))
                return errf(err, "options[%zu].digit: must be one of 0-9 * #", i);
        opt.digit[0] = ds[0];
        int r =
            cc_json_get_string(o, "description", CC_JSON_REQUIRED, 0, 255, &opt.description, &e);
        if (r == 0 && !free_text_ok(opt.description))
                r = errf(&e, "description: must not contain control characters");
        int idx = 0;
        if (r == 0)
                r = cc_json_get_enum(o, "action", CC_JSON_REQUIRED, option_actions, &idx, &e);
        opt.action = (enum ivr_action)idx;
        const char *target = NULL;
        if (r == 0)
                r = cc_json_get_string(o, "target", CC_JSON_NULLABLE, 0, MAX_TARGET, &target, &e);
        if (r == -EINVAL)
                return nested(err, "options", i, &e);
        char field[40];
        snprintf(field, sizeof(field), "options[%zu].target", i);
        if (check_target(a, field, opt.action, target, &opt.target, err) < 0)
                return -EINVAL;
        const char *mkey = json_object_object_get_ex(o, "metadata_payload", NULL)
                               ? "metadata_payload"
                               : "metadata";
        if (read_object_json(a, o, mkey, &opt.metadata_json, &e) == -EINVAL)
                return nested(err, "options", i, &e);
        *ret = opt;
        return 0;
}

static int read_options(struct cc_arena *a, json_object *arr, struct ivr_option **ret,
                        size_t *ret_n, struct cc_json_err *err)
{
        size_t n = json_object_array_length(arr);
        struct ivr_option *opts = cc_arena_alloc(a, (n ? n : 1) * sizeof(*opts));
        for (size_t i = 0; i < n; i++) {
                if (read_option(a, json_object_array_get_idx(arr, i), i, &opts[i], err) < 0)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (opts[j].digit[0] == opts[i].digit[0])
                                return errf(err,
                                            "options[%zu].digit: %s is already used by "
                                            "options[%zu]",
                                            i, opts[i].digit, j);
        }
        *ret = opts;
        *ret_n = n;
        return 0;
}

/* The menu fields a request gave, checked on their own; what depends on the stored menu (a
 * target given without its action) is checked when applied. */
struct menu_input {
        const char *name, *greeting;
        int64_t timeout, max_retries;
        bool set_timeout, set_retries;
        bool set_no_action, set_no_target, set_inv_action, set_inv_target;
        enum ivr_action no_action, inv_action;
        const char *no_target, *inv_target;
        bool set_active, active;
        bool set_options;
        struct ivr_option *opts;
        size_t nopts;
};

static int read_handling(json_object *body, const char *action_field, const char *target_field,
                         bool *set_action, enum ivr_action *action, bool *set_target,
                         const char **target, struct cc_json_err *err)
{
        int idx = 0;
        int r = cc_json_get_enum(body, action_field, 0, no_input_actions, &idx, err);
        if (r == -EINVAL)
                return r;
        *set_action = r == 0;
        if (r == 0)
                *action = no_input_values[idx];
        r = cc_json_get_string(body, target_field, CC_JSON_NULLABLE, 0, MAX_TARGET, target, err);
        if (r == -EINVAL)
                return r;
        *set_target = json_object_object_get_ex(body, target_field, NULL);
        return 0;
}

static int read_menu_input(struct cc_arena *a, json_object *body, bool create,
                           struct menu_input *in, struct cc_json_err *err)
{
        unsigned req = create ? CC_JSON_REQUIRED : 0;
        int r = cc_json_get_string(body, "name", req, 1, 100, &in->name, err);
        if (r == 0 && !cc_text_valid(in->name, strlen(in->name)))
                return errf(err, "name: must not contain control characters");
        if (r == -EINVAL)
                return r;
        r = cc_json_get_string(body, "greeting", req, 1, 1000, &in->greeting, err);
        if (r == -EINVAL)
                return r;
        if (r == 0 && !free_text_ok(in->greeting))
                return errf(err, "greeting: must not contain control characters");
        if (r == 0 && ivr_greeting_is_url(in->greeting) && !audio_url_ok(in->greeting))
                return errf(err, "greeting: not a usable audio URL (http(s)://host/path, no "
                                 "spaces)");
        json_object *arr = NULL;
        r = cc_json_get_array(body, "options", req, MAX_OPTIONS, &arr, err);
        if (r == -EINVAL)
                return r;
        in->set_options = r == 0;
        if (r == 0 && read_options(a, arr, &in->opts, &in->nopts, err) < 0)
                return -EINVAL;
        r = cc_json_get_int(body, "timeout", 0, 1, 60, &in->timeout, err);
        if (r == -EINVAL)
                return r;
        in->set_timeout = r == 0;
        r = cc_json_get_int(body, "max_retries", 0, 1, 10, &in->max_retries, err);
        if (r == -EINVAL)
                return r;
        in->set_retries = r == 0;
        if (read_handling(body, "no_input_action", "no_input_target", &in->set_no_action,
                          &in->no_action, &in->set_no_target, &in->no_target, err) < 0 ||
            read_handling(body, "invalid_input_action", "invalid_input_target", &in->set_inv_action,
                          &in->inv_action, &in->set_inv_target, &in->inv_target, err) < 0)
                return -EINVAL;
        /* New menus are active (the contract), unless the creator says otherwise. */
        r = cc_json_get_bool(body, "active", 0, &in->active, err);
        if (r == -EINVAL)
                return r;
        in->set_active = r == 0;
        return 0;
}

/* An action and its target go together: a new action without a target clears the target. */
static int apply_handling(struct cc_arena *a, const char *field, bool set_action,
                          enum ivr_action action, bool set_target, const char *target,
                          enum ivr_action *m_action, const char **m_target, struct cc_json_err *err)
{
        if (!set_action && !set_target)
                return 0;
        if (set_action)
                *m_action = action;
        return check_target(a, field, *m_action, set_target ? target : NULL, m_target, err);
}

static int apply_menu_input(struct cc_arena *a, const struct menu_input *in, struct ivr_menu *m,
                            struct cc_json_err *err)
{
        if (in->name)
                m->name = in->name;
        if (in->greeting)
                m->greeting = in->greeting;
        if (in->set_timeout)
                m->timeout = (int)in->timeout;
        if (in->set_retries)
                m->max_retries = (int)in->max_retries;
        if (in->set_active)
                m->active = in->active;
        if (apply_handling(a, "no_input_target", in->set_no_action, in->no_action,
                           in->set_no_target, in->no_target, &m->no_input_action,
                           &m->no_input_target, err) < 0)
                return -EINVAL;
        return apply_handling(a, "invalid_input_target", in->set_inv_action, in->inv_action,
                              in->set_inv_target, in->inv_target, &m->invalid_input_action,
                              &m->invalid_input_target, err);
}

/* 0 when every menu target among the options (or steps) is a menu of the organization, 1 after
 * replying 422, a negative errno when the database could not say. */
static int check_menu_targets(struct cc_http_req *req, struct cc_db_conn *conn, const char *list,
                              const struct ivr_option *opts, const struct ivr_step *steps, size_t n)
{
        struct cc_arena *a = cc_http_req_arena(req);
        const char **ids = cc_arena_alloc(a, (n ? n : 1) * sizeof(*ids));
        size_t *at = cc_arena_alloc(a, (n ? n : 1) * sizeof(*at));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                enum ivr_action act = opts ? opts[i].action : steps[i].type;
                if (act == IVR_MENU) {
                        ids[k] = opts ? opts[i].target : steps[i].target;
                        at[k++] = i;
                }
        }
        ssize_t missing = -1;
        int r = k ? ivr_store_first_missing_menu(conn, a, cc_http_req_auth(req)->org_id, ids, k,
                                                 &missing)
                  : 0;
        if (r < 0)
                return r;
        if (missing < 0)
                return 0;
        cc_http_reply_error(req, 422, "%s[%zu].target: no such menu", list, at[missing]);
        return 1;
}

/* ---- configuration ---- */

static void h_config_get(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *config = NULL;
        int r = ivr_store_config_ensure(conn, cc_http_req_auth(req)->org_id, &config);
        if (r < 0) {
                fail(req, conn, r, "get IVR configuration");
                return;
        }
        cc_db_release(conn);
        cc_http_reply_json(req, 200, config);
}

/* The configuration is created on first use (GET does the same), so an update never finds it
 * missing. */
static void h_config_update(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct cc_json_err err;
        struct ivr_config_patch p = {0};
        json_object *settings = NULL;
        int r = cc_json_get_string(body, "main_menu_id", CC_JSON_NULLABLE, 0, 64, &p.main_menu_id,
                                   &err);
        p.set_main_menu = json_object_object_get_ex(body, "main_menu_id", NULL);
        if (r != -EINVAL) {
                r = cc_json_get_object(body, "settings", CC_JSON_NULLABLE, &settings, &err);
                p.set_settings = json_object_object_get_ex(body, "settings", NULL);
        }
        if (r != -EINVAL) {
                r = cc_json_get_bool(body, "active", 0, &p.active, &err);
                p.set_active = r == 0;
        }
        if (settings)
                p.settings_json = cc_arena_strdup(
                    a, json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PLAIN));
        if (r == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct ivr_menu m;
        r = 0;
        if (p.main_menu_id)
                r = ivr_store_menu_get(conn, a, auth->org_id, p.main_menu_id, false, &m);
        char id[CC_UUID_LEN + 1];
        if (r == 0)
                r = ivr_store_config_update(conn, auth->org_id, &p, id);
        if (r == -ENOENT || fk_violation(conn, r)) {
                cc_db_release(conn);
                cc_http_reply_error(req, 404, "Main menu not found");
                return;
        }
        if (r < 0) {
                fail(req, conn, r, "update IVR configuration");
                return;
        }
        cc_db_release(conn);
        json_object *o = envelope("IVR configuration updated");
        json_object *c = json_object_new_object();
        cc_json_add_string(c, "id", id);
        json_object_object_add(o, "config", c);
        cc_http_reply_json(req, 200, o);
}

/* ---- menus ---- */

static void h_menus_list(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *menus = NULL;
        int r = ivr_store_menu_list(conn, cc_http_req_auth(req)->org_id, &menus);
        if (r < 0) {
                fail(req, conn, r, "list IVR menus");
                return;
        }
        cc_db_release(conn);
        cc_http_reply_json(req, 200, menus);
}

static void h_menus_create(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct cc_json_err err;
        struct menu_input in = {0};
        struct ivr_menu m = {
            .timeout = 5,
            .max_retries = 3,
            .no_input_action = IVR_REPEAT,
            .invalid_input_action = IVR_REPEAT,
            .active = true,
        };
        int r = read_menu_input(a, body, true, &in, &err);
        if (r == 0)
                r = apply_menu_input(a, &in, &m, &err);
        if (r < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        cc_uuid_v4(m.id);
        r = cc_db_begin(conn);
        if (r == 0) {
                r = check_menu_targets(req, conn, "options", in.opts, NULL, in.nopts);
                if (r == 1) {
                        cc_db_release(conn);
                        return;
                }
        }
        if (r == 0)
                r = ivr_store_menu_insert(conn, auth->org_id, &m, in.opts, in.nopts);
        if (r == 0)
                r = cc_db_commit(conn);
        if (fk_violation(conn, r)) {
                cc_db_release(conn);
                cc_http_reply_error(req, 422, "options: a target menu was deleted meanwhile");
        } else if (r < 0) {
                fail(req, conn, r, "create IVR menu");
        } else {
                cc_db_release(conn);
                json_object *o = envelope("IVR menu created");
                json_object *mo = json_object_new_object();
                cc_json_add_string(mo, "id", m.id);
                cc_json_add_string(mo, "name", m.name);
                json_object_object_add(o, "menu", mo);
                cc_http_reply_json(req, 201, o);
        }
}

static void h_menus_update(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        const char *id = cc_http_req_param(req, "menu_id");
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct cc_json_err err;
        struct menu_input in = {0};
        if (read_menu_input(a, body, false, &in, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct ivr_menu m;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = ivr_store_menu_get(conn, a, auth->org_id, id, true, &m);
        if (r == -ENOENT) {
                cc_db_release(conn);
                cc_http_reply_error(req, 404, MENU_NOT_FOUND);
                return;
        }
        if (r == 0 && apply_menu_input(a, &in, &m, &err) < 0) {
                cc_db_release(conn);
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        if (r == 0 && in.set_options) {
                r = check_menu_targets(req, conn, "options", in.opts, NULL, in.nopts);
                if (r == 1) {
                        cc_db_release(conn);
                        return;
                }
        }
        if (r == 0)
                r = ivr_store_menu_update(conn, auth->org_id, &m, in.set_options ? in.opts : NULL,
                                          in.nopts);
        if (r == 0)
                r = cc_db_commit(conn);
        if (fk_violation(conn, r)) {
                cc_db_release(conn);
                cc_http_reply_error(req, 422, "options: a target menu was deleted meanwhile");
        } else if (r < 0) {
                fail(req, conn, r, "update IVR menu");
        } else {
                cc_db_release(conn);
                json_object *o = envelope("IVR menu updated");
                json_object *mo = json_object_new_object();
                cc_json_add_string(mo, "id", m.id);
                json_object_object_add(o, "menu", mo);
                cc_http_reply_json(req, 200, o);
        }
}

static void h_menus_delete(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        const char *id = cc_http_req_param(req, "menu_id");
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct ivr_menu m;
        const char *detail = NULL;
        /* The row lock keeps a new reference from appearing between the check and the delete
         * (a reference's foreign key check needs a share lock on this row). */
        int r = cc_db_begin(conn);
        if (r == 0)
                r = ivr_store_menu_get(conn, a, auth->org_id, id, true, &m);
        if (r == 0)
                r = ivr_store_menu_referenced(conn, a, auth->org_id, m.id, &detail);
        if (r == 1) {
                cc_db_release(conn);
                cc_http_reply_error(req, 409, "%s", detail);
                return;
        }
        if (r == 0)
                r = ivr_store_menu_delete(conn, auth->org_id, m.id);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r == -ENOENT) {
                cc_db_release(conn);
                cc_http_reply_error(req, 404, MENU_NOT_FOUND);
        } else if (fk_violation(conn, r)) {
                cc_db_release(conn);
                cc_http_reply_error(req, 409, "IVR menu is still in use");
        } else if (r < 0) {
                fail(req, conn, r, "delete IVR menu");
        } else {
                cc_db_release(conn);
                cc_http_reply_json(req, 200, envelope("IVR menu deleted"));
        }
}

/* ---- flows ---- */

static int read_step(struct cc_arena *a, json_object *o, size_t i, struct ivr_step *ret,
                     struct cc_json_err *err)
{
        struct cc_json_err e;
        if (!json_object_is_type(o, json_type_object))
                return errf(err, "steps[%zu]: must be an object", i);
        struct ivr_step s = {0};
        int idx = 0;
        const char *target = NULL;
        int r = cc_json_get_enum(o, "type", CC_JSON_REQUIRED, option_actions, &idx, &e);
        s.type = (enum ivr_action)idx;
        if (r == 0)
                r = cc_json_get_string(o, "target", CC_JSON_NULLABLE, 0, MAX_TARGET, &target, &e);
        if (r != -EINVAL)
                r = read_object_json(a, o, "conditions", &s.conditions_json, &e);
        if (r == -EINVAL)
                return nested(err, "steps", i, &e);
        char field[40];
        snprintf(field, sizeof(field), "steps[%zu].target", i);
        if (check_target(a, field, s.type, target, &s.target, err) < 0)
                return -EINVAL;
        *ret = s;
        return 0;
}

static int read_flow(struct cc_arena *a, json_object *body, struct ivr_flow *f,
                     struct cc_json_err *err)
{
        int r = cc_json_get_string(body, "name", CC_JSON_REQUIRED, 1, 100, &f->name, err);
        if (r == 0 && !cc_text_valid(f->name, strlen(f->name)))
                return errf(err, "name: must not contain control characters");
        if (r == 0)
                r = cc_json_get_string(body, "description", CC_JSON_NULLABLE, 0, 1000,
                                       &f->description, err);
        if (r == 0 && !free_text_ok(f->description))
                return errf(err, "description: must not contain control characters");
        if (r != -EINVAL)
                r = cc_json_get_string(body, "start_menu_id", CC_JSON_REQUIRED, 1, 64,
                                       &f->start_menu_id, err);
        json_object *arr = NULL;
        if (r == 0)
                r = cc_json_get_array(body, "steps", CC_JSON_REQUIRED, MAX_STEPS, &arr, err);
        if (r < 0)
                return -EINVAL;
        size_t n = json_object_array_length(arr);
        struct ivr_step *steps = cc_arena_alloc(a, (n ? n : 1) * sizeof(*steps));
        for (size_t i = 0; i < n; i++)
                if (read_step(a, json_object_array_get_idx(arr, i), i, &steps[i], err) < 0)
                        return -EINVAL;
        f->steps = steps;
        f->nsteps = n;
        return 0;
}

static void h_flows_create(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *a = cc_http_req_arena(req);
        json_object *body = NULL;
        if (!body_object(req, &body))
                return;
        struct cc_json_err err;
        struct ivr_flow f = {0};
        if (read_flow(a, body, &f, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        struct ivr_menu start;
        int r = cc_db_begin(conn);
        if (r == 0) {
                r = ivr_store_menu_get(conn, a, auth->org_id, f.start_menu_id, false, &start);
                if (r == -ENOENT) {
                        cc_db_release(conn);
                        cc_http_reply_error(req, 404, "Start menu not found");
                        return;
                }
        }
        if (r == 0) {
                f.start_menu_id = cc_arena_strdup(a, start.id);
                r = check_menu_targets(req, conn, "steps", NULL, f.steps, f.nsteps);
                if (r == 1) {
                        cc_db_release(conn);
                        return;
                }
        }
        if (r == 0)
                r = ivr_store_flow_insert(conn, auth->org_id, id, &f);
        if (r == 0)
                r = cc_db_commit(conn);
        if (fk_violation(conn, r)) {
                cc_db_release(conn);
                cc_http_reply_error(req, 404, "Start menu not found");
        } else if (r < 0) {
                fail(req, conn, r, "create IVR flow");
        } else {
                cc_db_release(conn);
                json_object *o = envelope("IVR flow created");
                json_object *fo = json_object_new_object();
                cc_json_add_string(fo, "id", id);
                cc_json_add_string(fo, "name", f.name);
                json_object_object_add(o, "flow", fo);
                cc_http_reply_json(req, 201, o);
        }
}

static void h_flows_list(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        json_object *flows = NULL;
        int r = ivr_store_flow_list(conn, cc_http_req_auth(req)->org_id, &flows);
        if (r < 0) {
                fail(req, conn, r, "list IVR flows");
                return;
        }
        cc_db_release(conn);
        cc_http_reply_json(req, 200, flows);
}

const struct cc_http_route tel_ivr_routes[] = {
    {"GET", "/api/ivr/config", h_config_get, CC_ROLE_AGENT, 0},
    {"PUT", "/api/ivr/config", h_config_update, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/ivr/menus", h_menus_list, CC_ROLE_AGENT, 0},
    {"POST", "/api/ivr/menus", h_menus_create, CC_ROLE_SUPERVISOR, 0},
    {"PUT", "/api/ivr/menus/{menu_id}", h_menus_update, CC_ROLE_SUPERVISOR, 0},
    {"DELETE", "/api/ivr/menus/{menu_id}", h_menus_delete, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/ivr/flows", h_flows_create, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/ivr/flows", h_flows_list, CC_ROLE_AGENT, 0},
};
const size_t tel_ivr_nroutes = CC_ARRAY_SIZE(tel_ivr_routes);
