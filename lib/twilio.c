#include "cc/twilio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cc/json.h"

/* ---- form encoding ---- */

/* Decodes one %-escaped, '+'-for-space component into a NUL-terminated arena string. */
static int form_decode(struct cc_arena *arena, const char *s, size_t n, const char **ret)
{
        char *out = cc_arena_alloc(arena, n + 1);
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '+') {
                        c = ' ';
                } else if (c == '%') {
                        if (i + 2 >= n)
                                return -EINVAL;
                        int hi = cc_hex_value(s[i + 1]), lo = cc_hex_value(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char)(hi << 4 | lo);
                        i += 2;
                }
                /* A NUL would silently cut the value short for every C consumer. */
                if (c == '\0')
                        return -EINVAL;
                out[o++] = c;
        }
        out[o] = '\0';
        /* Text that is not UTF-8 cannot be stored or compared as text downstream. */
        if (cc_utf8_count(out, o) < 0)
                return -EINVAL;
        *ret = out;
        return 0;
}

int cc_form_parse(struct cc_arena *arena, const char *body, size_t len, struct cc_kv **ret_fields,
                  size_t *ret_n)
{
        size_t n = 0;
        for (size_t i = 0; i < len;) {
                const char *amp = memchr(body + i, '&', len - i);
                size_t end = amp ? (size_t)(amp - body) : len;
                if (end > i && ++n > CC_FORM_MAX_FIELDS)
                        return -E2BIG;
                i = end + 1;
        }

        struct cc_kv *fields = cc_arena_alloc(arena, sizeof(*fields) * (n ? n : 1));
        size_t k = 0;
        for (size_t i = 0; i < len;) {
                const char *seg = body + i;
                const char *amp = memchr(seg, '&', len - i);
                size_t seg_len = amp ? (size_t)(amp - seg) : len - i;
                i += seg_len + 1;
                /* "a=1&&b=2" and a trailing '&' are what sloppy encoders send; nothing is lost. */
                if (seg_len == 0)
                        continue;
                const char *eq = memchr(seg, '=', seg_len);
                size_t key_len = eq ? (size_t)(eq - seg) : seg_len;
                int r = form_decode(arena, seg, key_len, &fields[k].key);
                if (r < 0)
                        return r;
                if (eq)
                        r = form_decode(arena, eq + 1, seg_len - key_len - 1, &fields[k].value);
                else
                        fields[k].value = "";
                if (r < 0)
                        return r;
                k++;
        }
        *ret_fields = fields;
        *ret_n = k;
        return 0;
}

const char *cc_kv_get(const struct cc_kv *fields, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(fields[i].key, key) == 0)
                        return fields[i].value;
        return NULL;
}

static void percent_encode(struct cc_strbuf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                unsigned char c = *p;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        cc_strbuf_append(b, p, 1);
                } else {
                        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
                        cc_strbuf_append(b, esc, sizeof(esc));
                }
        }
}

void cc_form_append(struct cc_strbuf *b, const char *key, const char *value)
{
        if (b->len > 0)
                cc_strbuf_append(b, "&", 1);
        percent_encode(b, key);
        cc_strbuf_append(b, "=", 1);
        percent_encode(b, value ? value : "");
}

/* ---- request signatures ---- */

static int kv_cmp(const void *a, const void *b)
{
        const struct cc_kv *x = *(const struct cc_kv *const *)a;
        const struct cc_kv *y = *(const struct cc_kv *const *)b;
        int r = strcmp(x->key, y->key);
        return r ? r : strcmp(x->value, y->value);
}

void cc_twilio_signature(const char *auth_token, const char *url, const struct cc_kv *fields,
                         size_t n, char out[CC_TWILIO_SIGNATURE_LEN])
{
        const struct cc_kv **sorted = cc_xmalloc(sizeof(*sorted) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
                sorted[i] = &fields[i];
        /* Ties are broken by value, so qsort's instability cannot change the data signed. */
        qsort(sorted, n, sizeof(*sorted), kv_cmp);

        struct cc_strbuf data = {0};
        cc_strbuf_puts(&data, url ? url : "");
        for (size_t i = 0; i < n; i++) {
                cc_strbuf_puts(&data, sorted[i]->key);
                cc_strbuf_puts(&data, sorted[i]->value ? sorted[i]->value : "");
        }
        free(sorted);

        const char *key = auth_token ? auth_token : "";
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (!HMAC(EVP_sha1(), key, (int)strlen(key),
                  (const unsigned char *)(data.data ? data.data : ""), data.len, mac, &mac_len) ||
            mac_len != 20) {
                /* Only a broken libcrypto gets here; an empty signature matches no header. */
                out[0] = '\0';
        } else {
                cc_base64_encode(mac, mac_len, out);
        }
        cc_strbuf_fini(&data);
}

bool cc_twilio_signature_valid(const char *auth_token, const char *url, const struct cc_kv *fields,
                               size_t n, const char *header)
{
        /* With no token anyone could compute the signature: never accept one. */
        if (!header || !auth_token || !*auth_token)
                return false;
        if (strlen(header) != CC_TWILIO_SIGNATURE_LEN - 1)
                return false;
        char expected[CC_TWILIO_SIGNATURE_LEN];
        cc_twilio_signature(auth_token, url, fields, n, expected);
        if (strlen(expected) != CC_TWILIO_SIGNATURE_LEN - 1)
                return false;
        return cc_consttime_eq(expected, header, CC_TWILIO_SIGNATURE_LEN - 1);
}

/* ---- REST client ---- */

struct cc_twilio {
        struct cc_httpc *http;
};

struct cc_twilio *cc_twilio_new(const struct cc_twilio_config *cfg)
{
        if (!cfg || !cfg->api_base || !*cfg->api_base)
                return NULL;
        if (strncmp(cfg->api_base, "http://", 7) != 0 && strncmp(cfg->api_base, "https://", 8) != 0)
                return NULL;
        struct cc_httpc_config hc = {
            .name = cfg->name && *cfg->name ? cfg->name : "twilio",
            .base_url = cfg->api_base,
            .timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000,
        };
        struct cc_httpc *http = cc_httpc_new(&hc);
        if (!http)
                return NULL;
        struct cc_twilio *tw = cc_xcalloc(1, sizeof(*tw));
        tw->http = http;
        return tw;
}

void cc_twilio_free(struct cc_twilio *tw)
{
        if (!tw)
                return;
        cc_httpc_free(tw->http);
        free(tw);
}

struct cc_breaker *cc_twilio_breaker(struct cc_twilio *tw)
{
        return cc_httpc_breaker(tw->http);
}

/* SIDs go into the URL path: anything but letters and digits could walk to another resource. */
static bool sid_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                        return false;
        }
        return true;
}

static void copy_json_string(json_object *obj, const char *field, char *out, size_t out_len)
{
        json_object *v;
        if (json_object_object_get_ex(obj, field, &v) && json_object_is_type(v, json_type_string))
                snprintf(out, out_len, "%s", json_object_get_string(v));
}

static const char *transport_message(int r)
{
        switch (r) {
        case -EHOSTDOWN:
                return "Twilio circuit open";
        case -ETIMEDOUT:
                return "Twilio timed out";
        default:
                return "Twilio unreachable";
        }
}

static int twilio_request(struct cc_twilio *tw, const char *method, const char *path,
                          const char *account_sid, const char *auth_token,
                          const struct cc_kv *fields, size_t n, struct cc_twilio_result *ret)
{
        struct cc_strbuf body = {0};
        for (size_t i = 0; i < n; i++)
                cc_form_append(&body, fields[i].key, fields[i].value);
        const struct cc_httpc_header headers[] = {
            {"Accept", "application/json"},
            {"Content-Type", "application/x-www-form-urlencoded"},
        };
        bool has_body = strcmp(method, "POST") == 0;
        struct cc_httpc_response resp = {0};
        int r = cc_httpc_request(tw->http, method, path, headers, has_body ? 2 : 1,
                                 has_body ? (body.data ? body.data : "") : NULL,
                                 has_body ? body.len : 0, account_sid, auth_token, &resp);
        cc_strbuf_fini(&body);
        if (r < 0) {
                snprintf(ret->message, sizeof(ret->message), "%s", transport_message(r));
                return r;
        }

        ret->http_status = (int)resp.status;
        json_object *doc =
            resp.body_len ? cc_json_parse(resp.body, resp.body_len, 0, NULL, 0) : NULL;
        bool ok = resp.status >= 200 && resp.status < 300;
        if (ok) {
                copy_json_string(doc, "sid", ret->sid, sizeof(ret->sid));
                /* A conference participant is named by its call_sid; it has no sid of its own. */
                if (!ret->sid[0])
                        copy_json_string(doc, "call_sid", ret->sid, sizeof(ret->sid));
                copy_json_string(doc, "status", ret->status, sizeof(ret->status));
        } else {
                json_object *v;
                if (json_object_object_get_ex(doc, "code", &v) &&
                    json_object_is_type(v, json_type_int))
                        ret->code = json_object_get_int(v);
                copy_json_string(doc, "message", ret->message, sizeof(ret->message));
                if (!ret->message[0])
                        snprintf(ret->message, sizeof(ret->message), "Twilio answered HTTP %ld",
                                 resp.status);
        }
        json_object_put(doc);
        cc_httpc_response_fini(&resp);
        return ok ? 0 : -EPROTO;
}

static int check_credentials(const char *account_sid, const char *auth_token,
                             struct cc_twilio_result *ret)
{
        if (!sid_valid(account_sid)) {
                snprintf(ret->message, sizeof(ret->message), "invalid account SID");
                return -EINVAL;
        }
        if (!auth_token || !*auth_token) {
                snprintf(ret->message, sizeof(ret->message), "missing auth token");
                return -EINVAL;
        }
        return 0;
}

int cc_twilio_call_create(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                          const struct cc_kv *fields, size_t n, struct cc_twilio_result *ret)
{
        memset(ret, 0, sizeof(*ret));
        int r = check_credentials(account_sid, auth_token, ret);
        if (r < 0)
                return r;
        char *path = cc_xasprintf("/2010-04-01/Accounts/%s/Calls.json", account_sid);
        r = twilio_request(tw, "POST", path, account_sid, auth_token, fields, n, ret);
        free(path);
        return r;
}

int cc_twilio_call_update(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                          const char *call_sid, const struct cc_kv *fields, size_t n,
                          struct cc_twilio_result *ret)
{
        memset(ret, 0, sizeof(*ret));
        int r = check_credentials(account_sid, auth_token, ret);
        if (r < 0)
                return r;
        if (!sid_valid(call_sid)) {
                snprintf(ret->message, sizeof(ret->message), "invalid call SID");
                return -EINVAL;
        }
        char *path = cc_xasprintf("/2010-04-01/Accounts/%s/Calls/%s.json", account_sid, call_sid);
        r = twilio_request(tw, "POST", path, account_sid, auth_token, fields, n, ret);
        free(path);
        return r;
}

int cc_twilio_participant_update(struct cc_twilio *tw, const char *account_sid,
                                 const char *auth_token, const char *conference,
                                 const char *call_sid, const struct cc_kv *fields, size_t n,
                                 struct cc_twilio_result *ret)
{
        memset(ret, 0, sizeof(*ret));
        int r = check_credentials(account_sid, auth_token, ret);
        if (r < 0)
                return r;
        if (!sid_valid(call_sid)) {
                snprintf(ret->message, sizeof(ret->message), "invalid call SID");
                return -EINVAL;
        }
        size_t conf_len = conference ? strlen(conference) : 0;
        if (conf_len == 0 || conf_len > 256) {
                snprintf(ret->message, sizeof(ret->message), "invalid conference name");
                return -EINVAL;
        }
        struct cc_strbuf path = {0};
        cc_strbuf_printf(&path, "/2010-04-01/Accounts/%s/Conferences/", account_sid);
        /* Friendly names are caller-chosen: encoded, a '/' or '..' stays inside the segment. */
        percent_encode(&path, conference);
        cc_strbuf_printf(&path, "/Participants/%s.json", call_sid);
        r = twilio_request(tw, "POST", path.data, account_sid, auth_token, fields, n, ret);
        cc_strbuf_fini(&path);
        return r;
}

int cc_twilio_message_create(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                             const struct cc_kv *fields, size_t n, struct cc_twilio_result *ret)
{
        memset(ret, 0, sizeof(*ret));
        int r = check_credentials(account_sid, auth_token, ret);
        if (r < 0)
                return r;
        char *path = cc_xasprintf("/2010-04-01/Accounts/%s/Messages.json", account_sid);
        r = twilio_request(tw, "POST", path, account_sid, auth_token, fields, n, ret);
        free(path);
        return r;
}

int cc_twilio_account_fetch(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                            struct cc_twilio_result *ret)
{
        memset(ret, 0, sizeof(*ret));
        int r = check_credentials(account_sid, auth_token, ret);
        if (r < 0)
                return r;
        char *path = cc_xasprintf("/2010-04-01/Accounts/%s.json", account_sid);
        r = twilio_request(tw, "GET", path, account_sid, auth_token, NULL, 0, ret);
        free(path);
        return r;
}
