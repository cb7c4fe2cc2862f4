#include "cc/json.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static int fail(struct cc_json_err *err, const char *field, const char *fmt, ...) CC_PRINTF(3, 4);

static int fail(struct cc_json_err *err, const char *field, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        int n = snprintf(err->msg, sizeof(err->msg), "%s: ", field);
        if (n < 0 || (size_t)n >= sizeof(err->msg))
                return -EINVAL;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* The member itself, or -ENOENT/-EINVAL from the presence rules shared by every getter. A body
 * that was absent (obj NULL) reads as an empty object. */
static int lookup(json_object *obj, const char *field, unsigned flags, json_object **ret_value,
                  struct cc_json_err *err)
{
        json_object *v = NULL;
        if (!obj || !json_object_object_get_ex(obj, field, &v)) {
                if (flags & CC_JSON_REQUIRED)
                        return fail(err, field, "field required");
                return -ENOENT;
        }
        if (!v) {
                if ((flags & CC_JSON_REQUIRED) && !(flags & CC_JSON_NULLABLE))
                        return fail(err, field, "must not be null");
                return -ENOENT;
        }
        *ret_value = v;
        return 0;
}

static const char *plural(size_t n)
{
        return n == 1 ? "" : "s";
}

int cc_json_get_string(json_object *obj, const char *field, unsigned flags, size_t min_len,
                       size_t max_len, const char **ret_value, struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string))
                return fail(err, field, "must be a string");
        const char *s = json_object_get_string(v);
        size_t len = (size_t)json_object_get_string_len(v);
        if (memchr(s, '\0', len))
                return fail(err, field, "must not contain NUL characters");
        ssize_t chars = cc_utf8_count(s, len);
        if (chars < 0)
                return fail(err, field, "must be valid UTF-8");
        if ((size_t)chars < min_len) {
                if (min_len == 1)
                        return fail(err, field, "must not be empty");
                return fail(err, field, "must be at least %zu character%s", min_len,
                            plural(min_len));
        }
        if (max_len > 0 && (size_t)chars > max_len)
                return fail(err, field, "must be at most %zu character%s", max_len,
                            plural(max_len));
        *ret_value = s;
        return 0;
}

/* Names the bound that was crossed; a side left open by the caller is not mentioned. */
static int int_range_error(struct cc_json_err *err, const char *field, int64_t min, int64_t max,
                           bool too_high)
{
        /* INT64_MIN itself is refused (see cc_json_get_int), so the lowest bound is one above. */
        int64_t lo = min < INT64_MIN + 1 ? INT64_MIN + 1 : min;
        bool lo_open = min <= INT64_MIN + 1, hi_open = max == INT64_MAX;
        if (too_high && lo_open)
                return fail(err, field, "must be at most %lld", (long long)max);
        if (!too_high && hi_open)
                return fail(err, field, "must be at least %lld", (long long)lo);
        return fail(err, field, "must be between %lld and %lld", (long long)lo, (long long)max);
}

int cc_json_get_int(json_object *obj, const char *field, unsigned flags, int64_t min, int64_t max,
                    int64_t *ret_value, struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        int64_t n;
        switch (json_object_get_type(v)) {
        case json_type_int:
                n = json_object_get_int64(v);
                /* json-c saturates numbers beyond 64 bits instead of failing: a huge positive
                 * one shows as uint64 above INT64_MAX, a huge negative one as INT64_MIN, which
                 * is indistinguishable from that exact value, so INT64_MIN is refused too. */
                if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
                        return int_range_error(err, field, min, max, true);
                if (n == INT64_MIN)
                        return int_range_error(err, field, min, max, false);
                break;
        case json_type_double: {
                double d = json_object_get_double(v);
                if (!isfinite(d) || trunc(d) != d)
                        return fail(err, field, "must be an integer");
                /* 2^63 is exactly representable; anything at or beyond it does not fit. */
                if (d >= 9223372036854775808.0 || d <= -9223372036854775808.0)
                        return int_range_error(err, field, min, max, d > 0);
                n = (int64_t)d;
                break;
        }
        default:
                return fail(err, field, "must be an integer");
        }
        if (n < min || n > max)
                return int_range_error(err, field, min, max, n > max);
        *ret_value = n;
        return 0;
}

static int double_range_error(struct cc_json_err *err, const char *field, double min, double max,
                              double d)
{
        bool lo_open = !isfinite(min) || min <= -DBL_MAX;
        bool hi_open = !isfinite(max) || max >= DBL_MAX;
        /* Only an infinity gets past an open side. */
        if ((lo_open && hi_open) || (isinf(d) && (d > 0 ? hi_open : lo_open)))
                return fail(err, field, "must be a finite number");
        if (lo_open)
                return fail(err, field, "must be at most %.15g", max);
        if (hi_open)
                return fail(err, field, "must be at least %.15g", min);
        return fail(err, field, "must be between %.15g and %.15g", min, max);
}

int cc_json_get_double(json_object *obj, const char *field, unsigned flags, double min, double max,
                       double *ret_value, struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        double d;
        switch (json_object_get_type(v)) {
        case json_type_int: {
                int64_t n = json_object_get_int64(v);
                /* Saturated (out of 64-bit range) integers have no faithful value: treat them
                 * as beyond any finite bound. */
                if (n == INT64_MIN)
                        d = -INFINITY;
                else if (json_object_get_uint64(v) == UINT64_MAX)
                        d = INFINITY;
                else if (n == INT64_MAX)
                        d = (double)json_object_get_uint64(v);
                else
                        d = (double)n;
                break;
        }
        case json_type_double:
                d = json_object_get_double(v);
                break;
        default:
                return fail(err, field, "must be a number");
        }
        if (!isfinite(d) || d < min || d > max)
                return double_range_error(err, field, min, max, d);
        *ret_value = d;
        return 0;
}

int cc_json_get_bool(json_object *obj, const char *field, unsigned flags, bool *ret_value,
                     struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_boolean))
                return fail(err, field, "must be a boolean");
        *ret_value = json_object_get_boolean(v);
        return 0;
}

int cc_json_get_enum(json_object *obj, const char *field, unsigned flags, const char *const *values,
                     int *ret_index, struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                size_t len = (size_t)json_object_get_string_len(v);
                for (int i = 0; values[i]; i++) {
                        /* Length first: "ADMIN\u0000x" must not match "ADMIN". */
                        if (strlen(values[i]) == len && memcmp(values[i], s, len) == 0) {
                                *ret_index = i;
                                return 0;
                        }
                }
        }
        char list[sizeof(err->msg)];
        size_t pos = 0;
        list[0] = '\0';
        for (int i = 0; values[i] && pos < sizeof(list); i++) {
                int n = snprintf(list + pos, sizeof(list) - pos, "%s%s", i ? ", " : "", values[i]);
                if (n < 0)
                        break;
                pos += (size_t)n;
        }
        return fail(err, field, "must be one of %s", list);
}

int cc_json_get_uuid(json_object *obj, const char *field, unsigned flags, const char **ret_value,
                     struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) != CC_UUID_LEN ||
            !cc_uuid_valid(json_object_get_string(v)))
                return fail(err, field, "must be a UUID");
        *ret_value = json_object_get_string(v);
        return 0;
}

int cc_json_get_object(json_object *obj, const char *field, unsigned flags, json_object **ret_value,
                       struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_object))
                return fail(err, field, "must be an object");
        *ret_value = v;
        return 0;
}

int cc_json_get_array(json_object *obj, const char *field, unsigned flags, size_t max_items,
                      json_object **ret_value, struct cc_json_err *err)
{
        json_object *v = NULL;
        int r = lookup(obj, field, flags, &v, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_array))
                return fail(err, field, "must be an array");
        if (max_items > 0 && json_object_array_length(v) > max_items)
                return fail(err, field, "must have at most %zu item%s", max_items,
                            plural(max_items));
        *ret_value = v;
        return 0;
}

static bool only_whitespace(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                        return false;
        return true;
}

/* An escaped NUL (\u0000, not itself escaped as \\u0000) anywhere in the text: json-c accepts
 * it, C strings and PostgreSQL's text and jsonb do not. */
static bool has_escaped_nul(const char *text, size_t len)
{
        for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), "u0000", 5)); p++) {
                size_t backslashes = 0;
                for (const char *q = p; q > text && q[-1] == '\\'; q--)
                        backslashes++;
                if (backslashes % 2 == 1)
                        return true;
        }
        return false;
}

/* NaN and the infinities, which json-c reads even in strict mode and nothing downstream can
 * store or print as JSON. Depth is bounded by the parser's limit. */
static bool has_non_finite(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_double:
                return !isfinite(json_object_get_double(o));
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (has_non_finite(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, key, val)
                {
                        (void)key;
                        if (has_non_finite(val))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}

json_object *cc_json_parse(const char *text, size_t len, int max_depth, char *err, size_t err_len)
{
        if (len > INT_MAX) {
                cc_set_error(err, err_len, "document too large");
                return NULL;
        }
        struct json_tokener *tok =
            json_tokener_new_ex(max_depth > 0 ? max_depth : JSON_TOKENER_DEFAULT_DEPTH);
        if (!tok) {
                cc_set_error(err, err_len, "cannot create a JSON parser");
                return NULL;
        }
        /* Invalid UTF-8 anywhere is a malformed document (400): values stored verbatim (jsonb)
         * would otherwise reach PostgreSQL and fail there. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *obj = json_tokener_parse_ex(tok, text ? text : "", (int)len);
        enum json_tokener_error e = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        if (!obj && e == json_tokener_continue) {
                /* A bare number or literal ("12", "true") only ends at a terminator, so give
                 * the tokener the NUL it would see at the end of a C string. */
                obj = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
                end = len;
        }
        if (!obj) {
                if (e == json_tokener_success)
                        cc_set_error(err, err_len, "a null document is not accepted");
                else
                        cc_set_error(err, err_len, "%s at offset %zu", json_tokener_error_desc(e),
                                     end);
                goto out;
        }
        if (end < len && !only_whitespace(text + end, len - end)) {
                cc_set_error(err, err_len, "unexpected data after the JSON value at offset %zu",
                             end);
                json_object_put(obj);
                obj = NULL;
        } else if (has_escaped_nul(text, len)) {
                cc_set_error(err, err_len, "NUL characters (\\u0000) are not accepted");
                json_object_put(obj);
                obj = NULL;
        } else if (has_non_finite(obj)) {
                cc_set_error(err, err_len, "NaN and Infinity are not JSON numbers");
                json_object_put(obj);
                obj = NULL;
        }
out:
        json_tokener_free(tok);
        return obj;
}

void cc_json_add_string(json_object *obj, const char *field, const char *value)
{
        json_object_object_add(obj, field, value ? json_object_new_string(value) : NULL);
}

void cc_json_add_time(json_object *obj, const char *field, int64_t ms)
{
        if (ms < 0) {
                json_object_object_add(obj, field, NULL);
                return;
        }
        char buf[25];
        cc_format_time_ms(ms, buf);
        json_object_object_add(obj, field, json_object_new_string(buf));
}
