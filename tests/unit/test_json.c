#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "testlib.h"

/* Parses a test document (which must be valid) with json-c itself: the getters must also hold
 * against documents from other sources, such as strings with NUL escapes that cc_json_parse
 * refuses. */
static json_object *doc(const char *text)
{
        json_object *obj = json_tokener_parse(text);
        ck_assert_msg(obj != NULL, "test document %s did not parse", text);
        return obj;
}

#define REQ CC_JSON_REQUIRED

/* Asserts a getter failed with exactly msg. */
#define ck_assert_field_error(call, err, want_msg)                                                 \
        do {                                                                                       \
                memset((err).msg, 'x', sizeof((err).msg) - 1);                                     \
                (err).msg[sizeof((err).msg) - 1] = '\0';                                           \
                int r_ = (call);                                                                   \
                ck_assert_int_eq(r_, -EINVAL);                                                     \
                ck_assert_str_eq((err).msg, want_msg);                                             \
        } while (0)

START_TEST(json_string_accepts_within_bounds)
{
        json_object *o = doc("{\"first_name\":\"Ada\",\"empty\":\"\"}");
        struct cc_json_err err;
        const char *v = NULL;
        ck_assert_int_eq(cc_json_get_string(o, "first_name", REQ, 1, 100, &v, &err), 0);
        ck_assert_str_eq(v, "Ada");
        ck_assert_int_eq(cc_json_get_string(o, "empty", REQ, 0, 10, &v, &err), 0);
        ck_assert_str_eq(v, "");
        /* Exact bounds are inclusive, and max 0 means unbounded. */
        ck_assert_int_eq(cc_json_get_string(o, "first_name", REQ, 3, 3, &v, &err), 0);
        ck_assert_int_eq(cc_json_get_string(o, "first_name", REQ, 0, 0, &v, &err), 0);
        json_object_put(o);
}
END_TEST

START_TEST(json_string_length_counts_code_points)
{
        /* "Zoë 日本" is 6 code points but 10 bytes; "😀" is one code point of 4 bytes. */
        json_object *o =
            doc("{\"name\":\"Zo\\u00eb \xe6\x97\xa5\xe6\x9c\xac\",\"e\":\"\xf0\x9f\x98\x80\"}");
        struct cc_json_err err;
        const char *v = NULL;
        ck_assert_int_eq(cc_json_get_string(o, "name", REQ, 6, 6, &v, &err), 0);
        ck_assert_str_eq(v, "Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac");
        ck_assert_field_error(cc_json_get_string(o, "name", REQ, 0, 5, &v, &err), err,
                              "name: must be at most 5 characters");
        ck_assert_int_eq(cc_json_get_string(o, "e", REQ, 1, 1, &v, &err), 0);
        json_object_put(o);
}
END_TEST

START_TEST(json_string_rejects_bad_values)
{
        json_object *o = doc("{\"first_name\":\"abcdef\",\"n\":5,\"b\":true,\"a\":[],\"o\":{},"
                             "\"empty\":\"\",\"z\":\"a\\u0000b\",\"nul\":null}");
        struct cc_json_err err;
        const char *v = "untouched";
        ck_assert_field_error(cc_json_get_string(o, "first_name", REQ, 1, 5, &v, &err), err,
                              "first_name: must be at most 5 characters");
        ck_assert_field_error(cc_json_get_string(o, "first_name", REQ, 1, 1, &v, &err), err,
                              "first_name: must be at most 1 character");
        ck_assert_field_error(cc_json_get_string(o, "first_name", REQ, 8, 10, &v, &err), err,
                              "first_name: must be at least 8 characters");
        ck_assert_field_error(cc_json_get_string(o, "empty", REQ, 1, 10, &v, &err), err,
                              "empty: must not be empty");
        ck_assert_field_error(cc_json_get_string(o, "n", REQ, 0, 10, &v, &err), err,
                              "n: must be a string");
        ck_assert_field_error(cc_json_get_string(o, "b", REQ, 0, 10, &v, &err), err,
                              "b: must be a string");
        ck_assert_field_error(cc_json_get_string(o, "a", REQ, 0, 10, &v, &err), err,
                              "a: must be a string");
        ck_assert_field_error(cc_json_get_string(o, "o", 0, 0, 10, &v, &err), err,
                              "o: must be a string");
        ck_assert_field_error(cc_json_get_string(o, "z", REQ, 0, 10, &v, &err), err,
                              "z: must not contain NUL characters");
        ck_assert_field_error(cc_json_get_string(o, "email", REQ, 0, 10, &v, &err), err,
                              "email: field required");
        ck_assert_field_error(cc_json_get_string(o, "nul", REQ, 0, 10, &v, &err), err,
                              "nul: must not be null");
        ck_assert_str_eq(v, "untouched");
        json_object_put(o);
}
END_TEST

START_TEST(json_string_rejects_invalid_utf8)
{
        static const char *const bad[] = {
            "\xff",             /* never valid */
            "a\x80",            /* lone continuation byte */
            "\xc3",             /* truncated two-byte sequence */
            "\xc0\xaf",         /* overlong '/' */
            "\xe0\x80\xaf",     /* overlong, three bytes */
            "\xed\xa0\x80",     /* UTF-16 surrogate D800 */
            "\xf4\x90\x80\x80", /* beyond U+10FFFF */
            "\xe6\x97",         /* truncated three-byte sequence */
        };
        struct cc_json_err err;
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "bio", json_object_new_string(bad[i]));
                const char *v = NULL;
                ck_assert_field_error(cc_json_get_string(o, "bio", REQ, 0, 100, &v, &err), err,
                                      "bio: must be valid UTF-8");
                json_object_put(o);
        }
        /* Through the parser invalid UTF-8 is a malformed document, so it never reaches a
         * getter (or the database). */
        char perr[256] = "";
        const char *text = "{\"bio\":\"caf\xe9\"}";
        json_object *o = cc_json_parse(text, strlen(text), 32, perr, sizeof(perr));
        ck_assert_ptr_null(o);
        ck_assert_msg(strstr(perr, "utf-8") != NULL, "error: %s", perr);
}
END_TEST

START_TEST(json_presence_rules)
{
        json_object *o = doc("{\"nick\":null}");
        struct cc_json_err err;
        const char *v = "untouched";
        /* Optional: absent or null reads as "not given". */
        ck_assert_int_eq(cc_json_get_string(o, "missing", 0, 0, 10, &v, &err), -ENOENT);
        ck_assert_int_eq(cc_json_get_string(o, "nick", 0, 0, 10, &v, &err), -ENOENT);
        /* Required but nullable: null is a value the caller accepts, absence is not. */
        ck_assert_int_eq(cc_json_get_string(o, "nick", REQ | CC_JSON_NULLABLE, 0, 10, &v, &err),
                         -ENOENT);
        ck_assert_field_error(
            cc_json_get_string(o, "missing", REQ | CC_JSON_NULLABLE, 0, 10, &v, &err), err,
            "missing: field required");
        ck_assert_str_eq(v, "untouched");
        /* No body at all reads as an empty object. */
        ck_assert_field_error(cc_json_get_string(NULL, "email", REQ, 0, 10, &v, &err), err,
                              "email: field required");
        int64_t n = 7;
        ck_assert_int_eq(cc_json_get_int(NULL, "age", 0, 0, 10, &n, &err), -ENOENT);
        ck_assert_int_eq(n, 7);
        json_object_put(o);
}
END_TEST

START_TEST(json_int_accepts)
{
        json_object *o = doc("{\"a\":5,\"b\":5.0,\"c\":-3,\"d\":9223372036854775807,\"e\":0,"
                             "\"f\":-9223372036854775807,\"g\":1e3}");
        struct cc_json_err err;
        int64_t v = 0;
        ck_assert_int_eq(cc_json_get_int(o, "a", REQ, 1, 10, &v, &err), 0);
        ck_assert_int_eq(v, 5);
        ck_assert_int_eq(cc_json_get_int(o, "b", REQ, 1, 10, &v, &err), 0);
        ck_assert_int_eq(v, 5);
        ck_assert_int_eq(cc_json_get_int(o, "c", REQ, -3, -3, &v, &err), 0);
        ck_assert_int_eq(v, -3);
        ck_assert_int_eq(cc_json_get_int(o, "d", REQ, 0, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, INT64_MAX);
        ck_assert_int_eq(cc_json_get_int(o, "e", REQ, 0, 0, &v, &err), 0);
        ck_assert_int_eq(v, 0);
        ck_assert_int_eq(cc_json_get_int(o, "f", REQ, INT64_MIN, INT64_MAX, &v, &err), 0);
        ck_assert_int_eq(v, -INT64_MAX);
        ck_assert_int_eq(cc_json_get_int(o, "g", REQ, 0, 1000, &v, &err), 0);
        ck_assert_int_eq(v, 1000);
        json_object_put(o);
}
END_TEST

START_TEST(json_int_rejects)
{
        json_object *o = doc("{\"max_capacity\":11,\"low\":0,\"age\":\"5\",\"t\":true,\"f\":5.5,"
                             "\"big\":1e19,\"nan\":NaN,\"inf\":Infinity,\"o\":{},\"n\":null}");
        struct cc_json_err err;
        int64_t v = 42;
        ck_assert_field_error(cc_json_get_int(o, "max_capacity", REQ, 1, 10, &v, &err), err,
                              "max_capacity: must be between 1 and 10");
        ck_assert_field_error(cc_json_get_int(o, "low", REQ, 1, 10, &v, &err), err,
                              "low: must be between 1 and 10");
        ck_assert_field_error(cc_json_get_int(o, "low", REQ, 1, INT64_MAX, &v, &err), err,
                              "low: must be at least 1");
        ck_assert_field_error(cc_json_get_int(o, "max_capacity", REQ, INT64_MIN, 10, &v, &err), err,
                              "max_capacity: must be at most 10");
        ck_assert_field_error(cc_json_get_int(o, "age", REQ, 0, 200, &v, &err), err,
                              "age: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "t", REQ, 0, 200, &v, &err), err,
                              "t: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "f", REQ, 0, 200, &v, &err), err,
                              "f: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "o", REQ, 0, 200, &v, &err), err,
                              "o: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "nan", REQ, 0, 200, &v, &err), err,
                              "nan: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "inf", REQ, 0, 200, &v, &err), err,
                              "inf: must be an integer");
        ck_assert_field_error(cc_json_get_int(o, "big", REQ, 0, INT64_MAX, &v, &err), err,
                              "big: must be between 0 and 9223372036854775807");
        ck_assert_field_error(cc_json_get_int(o, "n", REQ, 0, 200, &v, &err), err,
                              "n: must not be null");
        ck_assert_field_error(cc_json_get_int(o, "missing", REQ, 0, 200, &v, &err), err,
                              "missing: field required");
        ck_assert_int_eq(v, 42);
        json_object_put(o);
}
END_TEST

START_TEST(json_int_rejects_numbers_beyond_64_bits)
{
        /* json-c saturates these to INT64_MAX / INT64_MIN; they must not be clamped. */
        json_object *o = doc("{\"a\":99999999999999999999,\"b\":-99999999999999999999,"
                             "\"c\":9223372036854775808,\"d\":18446744073709551616}");
        struct cc_json_err err;
        int64_t v = 42;
        ck_assert_field_error(cc_json_get_int(o, "a", REQ, INT64_MIN, INT64_MAX, &v, &err), err,
                              "a: must be at most 9223372036854775807");
        ck_assert_field_error(cc_json_get_int(o, "b", REQ, INT64_MIN, INT64_MAX, &v, &err), err,
                              "b: must be at least -9223372036854775807");
        ck_assert_field_error(cc_json_get_int(o, "c", REQ, INT64_MIN, INT64_MAX, &v, &err), err,
                              "c: must be at most 9223372036854775807");
        ck_assert_field_error(cc_json_get_int(o, "b", REQ, -5, 5, &v, &err), err,
                              "b: must be between -5 and 5");
        ck_assert_field_error(cc_json_get_int(o, "d", REQ, 0, 100, &v, &err), err,
                              "d: must be between 0 and 100");
        ck_assert_int_eq(v, 42);
        json_object_put(o);
}
END_TEST

START_TEST(json_double_accepts_and_rejects)
{
        json_object *o = doc("{\"score\":0.5,\"i\":3,\"neg\":-1,\"high\":1.5,\"s\":\"0.5\","
                             "\"b\":false,\"nan\":NaN,\"inf\":-Infinity,\"huge\":1e400,"
                             "\"bigint\":99999999999999999999}");
        struct cc_json_err err;
        double v = 42;
        ck_assert_int_eq(cc_json_get_double(o, "score", REQ, 0, 1, &v, &err), 0);
        ck_assert_double_eq(v, 0.5);
        ck_assert_int_eq(cc_json_get_double(o, "i", REQ, 0, 10, &v, &err), 0);
        ck_assert_double_eq(v, 3.0);
        ck_assert_int_eq(cc_json_get_double(o, "neg", REQ, -1, 1, &v, &err), 0);
        ck_assert_double_eq(v, -1.0);
        v = 42;
        ck_assert_field_error(cc_json_get_double(o, "high", REQ, -1, 1, &v, &err), err,
                              "high: must be between -1 and 1");
        ck_assert_field_error(cc_json_get_double(o, "neg", REQ, 0.25, 0.75, &v, &err), err,
                              "neg: must be between 0.25 and 0.75");
        ck_assert_field_error(cc_json_get_double(o, "neg", REQ, 0, INFINITY, &v, &err), err,
                              "neg: must be at least 0");
        ck_assert_field_error(cc_json_get_double(o, "high", REQ, -INFINITY, 1, &v, &err), err,
                              "high: must be at most 1");
        ck_assert_field_error(cc_json_get_double(o, "s", REQ, 0, 1, &v, &err), err,
                              "s: must be a number");
        ck_assert_field_error(cc_json_get_double(o, "b", REQ, 0, 1, &v, &err), err,
                              "b: must be a number");
        ck_assert_field_error(cc_json_get_double(o, "nan", REQ, -INFINITY, INFINITY, &v, &err), err,
                              "nan: must be a finite number");
        ck_assert_field_error(cc_json_get_double(o, "inf", REQ, -INFINITY, INFINITY, &v, &err), err,
                              "inf: must be a finite number");
        ck_assert_field_error(cc_json_get_double(o, "huge", REQ, -INFINITY, INFINITY, &v, &err),
                              err, "huge: must be a finite number");
        ck_assert_field_error(cc_json_get_double(o, "bigint", REQ, 0, 1e30, &v, &err), err,
                              "bigint: must be between 0 and 1e+30");
        ck_assert_field_error(cc_json_get_double(o, "huge", REQ, 0, INFINITY, &v, &err), err,
                              "huge: must be a finite number");
        ck_assert_field_error(cc_json_get_double(o, "nan", REQ, 0, 1, &v, &err), err,
                              "nan: must be between 0 and 1");
        ck_assert_double_eq(v, 42);
        json_object_put(o);
}
END_TEST

START_TEST(json_bool_accepts_only_booleans)
{
        json_object *o = doc("{\"active\":true,\"off\":false,\"one\":1,\"s\":\"true\",\"n\":null}");
        struct cc_json_err err;
        bool v = false;
        ck_assert_int_eq(cc_json_get_bool(o, "active", REQ, &v, &err), 0);
        ck_assert(v);
        ck_assert_int_eq(cc_json_get_bool(o, "off", REQ, &v, &err), 0);
        ck_assert(!v);
        v = true;
        ck_assert_field_error(cc_json_get_bool(o, "one", REQ, &v, &err), err,
                              "one: must be a boolean");
        ck_assert_field_error(cc_json_get_bool(o, "s", REQ, &v, &err), err, "s: must be a boolean");
        ck_assert_int_eq(cc_json_get_bool(o, "n", 0, &v, &err), -ENOENT);
        ck_assert(v);
        json_object_put(o);
}
END_TEST

START_TEST(json_enum_matches_exactly)
{
        static const char *const roles[] = {"ADMIN", "SUPERVISOR", "AGENT", NULL};
        json_object *o = doc("{\"role\":\"AGENT\",\"lower\":\"agent\",\"n\":2,\"prefix\":\"ADM\","
                             "\"nul\":\"ADMIN\\u0000x\"}");
        struct cc_json_err err;
        int idx = -1;
        ck_assert_int_eq(cc_json_get_enum(o, "role", REQ, roles, &idx, &err), 0);
        ck_assert_int_eq(idx, 2);
        idx = -1;
        const char *msg[] = {"lower", "n", "prefix", "nul"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(msg); i++) {
                char want[128];
                snprintf(want, sizeof(want), "%s: must be one of ADMIN, SUPERVISOR, AGENT", msg[i]);
                ck_assert_field_error(cc_json_get_enum(o, msg[i], REQ, roles, &idx, &err), err,
                                      want);
        }
        ck_assert_int_eq(idx, -1);
        ck_assert_field_error(cc_json_get_enum(o, "missing", REQ, roles, &idx, &err), err,
                              "missing: field required");
        json_object_put(o);
}
END_TEST

START_TEST(json_uuid_checks_shape)
{
        json_object *o = doc("{\"id\":\"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70\","
                             "\"upper\":\"3F1C9A52-7E4B-4D0A-9C3E-5B2A1F8D6E70\","
                             "\"short\":\"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e7\","
                             "\"long\":\"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70a\","
                             "\"dash\":\"3f1c9a527-e4b-4d0a-9c3e-5b2a1f8d6e70\","
                             "\"hex\":\"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e7g\","
                             "\"nul\":\"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70\\u0000\","
                             "\"num\":5}");
        struct cc_json_err err;
        const char *v = NULL;
        ck_assert_int_eq(cc_json_get_uuid(o, "id", REQ, &v, &err), 0);
        ck_assert_str_eq(v, "3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70");
        ck_assert_int_eq(cc_json_get_uuid(o, "upper", REQ, &v, &err), 0);
        const char *bad[] = {"short", "long", "dash", "hex", "nul", "num"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                char want[64];
                snprintf(want, sizeof(want), "%s: must be a UUID", bad[i]);
                ck_assert_field_error(cc_json_get_uuid(o, bad[i], REQ, &v, &err), err, want);
        }
        ck_assert_int_eq(cc_json_get_uuid(o, "absent", 0, &v, &err), -ENOENT);
        json_object_put(o);
}
END_TEST

START_TEST(json_object_and_array_members)
{
        json_object *o = doc("{\"meta\":{\"k\":1},\"tags\":[\"a\",\"b\",\"c\"],\"s\":\"x\"}");
        struct cc_json_err err;
        json_object *v = NULL;
        ck_assert_int_eq(cc_json_get_object(o, "meta", REQ, &v, &err), 0);
        ck_assert(json_object_is_type(v, json_type_object));
        ck_assert_field_error(cc_json_get_object(o, "tags", REQ, &v, &err), err,
                              "tags: must be an object");
        ck_assert_int_eq(cc_json_get_array(o, "tags", REQ, 3, &v, &err), 0);
        ck_assert_int_eq(json_object_array_length(v), 3);
        ck_assert_int_eq(cc_json_get_array(o, "tags", REQ, 0, &v, &err), 0);
        ck_assert_field_error(cc_json_get_array(o, "tags", REQ, 2, &v, &err), err,
                              "tags: must have at most 2 items");
        ck_assert_field_error(cc_json_get_array(o, "tags", REQ, 1, &v, &err), err,
                              "tags: must have at most 1 item");
        ck_assert_field_error(cc_json_get_array(o, "meta", REQ, 10, &v, &err), err,
                              "meta: must be an array");
        ck_assert_field_error(cc_json_get_array(o, "s", REQ, 10, &v, &err), err,
                              "s: must be an array");
        ck_assert_field_error(cc_json_get_object(o, "absent", REQ, &v, &err), err,
                              "absent: field required");
        json_object_put(o);
}
END_TEST

START_TEST(json_parse_accepts_any_value)
{
        char err[128];
        const char *ok[] = {"{}", "[]", "12", "-1.5", "true", "\"s\"", " {\"a\":[1,2,{}]} \r\n\t"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(ok); i++) {
                json_object *o = cc_json_parse(ok[i], strlen(ok[i]), 32, err, sizeof(err));
                ck_assert_msg(o != NULL, "%s: %s", ok[i], err);
                json_object_put(o);
        }
        /* The text need not be NUL-terminated: only len bytes count. */
        json_object *o = cc_json_parse("{\"a\":1}garbage", 7, 32, err, sizeof(err));
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "a")), 1);
        json_object_put(o);
        o = cc_json_parse("12345", 2, 32, err, sizeof(err));
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_object_get_int(o), 12);
        json_object_put(o);
}
END_TEST

START_TEST(json_parse_rejects_malformed)
{
        const char *bad[] = {"",     "   ", "{",     "{\"a\":1,}", "[1,]", "{\"a\" 1}", "tru",
                             "01",   "-",   ".5",    "+1",         "TRUE", "[1] //c",   "nul",
                             "null", "{}}", "{} {}", "[1] x",      "1 2"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                char err[128] = "";
                json_object *o = cc_json_parse(bad[i], strlen(bad[i]), 32, err, sizeof(err));
                ck_assert_msg(o == NULL, "\"%s\" was accepted", bad[i]);
                json_object_put(o);
                ck_assert_msg(err[0] != '\0', "\"%s\" gave no message", bad[i]);
        }
        char err[128];
        ck_assert_ptr_null(cc_json_parse("{\"a\":", 5, 32, err, sizeof(err)));
        ck_assert_str_eq(err, "unexpected end of data at offset 5");
        ck_assert_ptr_null(cc_json_parse("[1,]", 4, 32, err, sizeof(err)));
        ck_assert_str_eq(err, "unexpected character at offset 3");
        /* No err buffer is fine too. */
        ck_assert_ptr_null(cc_json_parse("{", 1, 32, NULL, 0));
}
END_TEST

START_TEST(json_parse_rejects_trailing_garbage)
{
        char err[128];
        static const char text[] = "{\"a\":1}\0junk";
        ck_assert_ptr_null(cc_json_parse(text, sizeof(text) - 1, 32, err, sizeof(err)));
        ck_assert_str_eq(err, "unexpected data after the JSON value at offset 7");
        ck_assert_ptr_null(cc_json_parse("{\"a\":1} x", 9, 32, err, sizeof(err)));
        ck_assert_ptr_null(cc_json_parse("[1]]", 4, 32, err, sizeof(err)));
        json_object *o = cc_json_parse("[1]  \n", 6, 32, err, sizeof(err));
        ck_assert_ptr_nonnull(o);
        json_object_put(o);
}
END_TEST

START_TEST(json_parse_rejects_what_cannot_be_stored)
{
        /* Values json-c reads but PostgreSQL (text, jsonb) and C strings cannot hold. */
        static const char *const bad[] = {
            "{\"a\":\"x\\u0000y\"}", "{\"a\\u0000b\":1}",    "[\"\\\\\\u0000\"]",
            "{\"a\":NaN}",           "{\"a\":[1,Infinity]}", "{\"a\":{\"b\":-Infinity}}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char err[128] = "";
                json_object *o = cc_json_parse(bad[i], strlen(bad[i]), 0, err, sizeof(err));
                ck_assert_msg(o == NULL, "accepted %s", bad[i]);
                ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
        }
        /* An escaped backslash followed by the letters u0000 is ordinary text. */
        const char *ok = "{\"a\":\"\\\\u0000\",\"b\":1.5e300}";
        char err[128];
        json_object *o = cc_json_parse(ok, strlen(ok), 0, err, sizeof(err));
        ck_assert_msg(o != NULL, "refused %s: %s", ok, err);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "a")), "\\u0000");
        json_object_put(o);
}
END_TEST

START_TEST(json_parse_limits_depth)
{
        char text[201];
        for (int i = 0; i < 100; i++) {
                text[i] = '[';
                text[100 + i] = ']';
        }
        text[200] = '\0';
        char err[128];
        ck_assert_ptr_null(cc_json_parse(text, 200, 32, err, sizeof(err)));
        ck_assert_msg(strstr(err, "nesting too deep") != NULL, "message was: %s", err);
        /* 32 levels fit in a limit of 32; the same depth fails a limit of 31. */
        memmove(text + 32, text + 168, 33);
        json_object *o = cc_json_parse(text, 64, 32, err, sizeof(err));
        ck_assert_msg(o != NULL, "%s", err);
        json_object_put(o);
        ck_assert_ptr_null(cc_json_parse(text, 64, 31, err, sizeof(err)));
}
END_TEST

START_TEST(json_add_string_and_time)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "name", "Ada \"the\" first");
        cc_json_add_string(o, "nick", NULL);
        cc_json_add_time(o, "created_at", 1759673002123);
        cc_json_add_time(o, "epoch", 0);
        cc_json_add_time(o, "deleted_at", -1);
        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                         "{\"name\":\"Ada \\\"the\\\" first\",\"nick\":null,"
                         "\"created_at\":\"2025-10-05T14:03:22.123Z\","
                         "\"epoch\":\"1970-01-01T00:00:00.000Z\",\"deleted_at\":null}");
        json_object_put(o);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, json_string_accepts_within_bounds);
        tcase_add_test(tc, json_string_length_counts_code_points);
        tcase_add_test(tc, json_string_rejects_bad_values);
        tcase_add_test(tc, json_string_rejects_invalid_utf8);
        tcase_add_test(tc, json_presence_rules);
        tcase_add_test(tc, json_int_accepts);
        tcase_add_test(tc, json_int_rejects);
        tcase_add_test(tc, json_int_rejects_numbers_beyond_64_bits);
        tcase_add_test(tc, json_double_accepts_and_rejects);
        tcase_add_test(tc, json_bool_accepts_only_booleans);
        tcase_add_test(tc, json_enum_matches_exactly);
        tcase_add_test(tc, json_uuid_checks_shape);
        tcase_add_test(tc, json_object_and_array_members);
        tcase_add_test(tc, json_parse_accepts_any_value);
        tcase_add_test(tc, json_parse_rejects_malformed);
        tcase_add_test(tc, json_parse_rejects_trailing_garbage);
        tcase_add_test(tc, json_parse_rejects_what_cannot_be_stored);
        tcase_add_test(tc, json_parse_limits_depth);
        tcase_add_test(tc, json_add_string_and_time);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
