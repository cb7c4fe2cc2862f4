/* JSON helpers over json-c: reading typed fields with validation (required, type, length, enum,
 * range) that produce one clear message naming the field, for a 422 {"detail": "<field>: ..."}.
 * Each getter returns 0 (value written), -ENOENT (optional and absent or null: nothing written)
 * or -EINVAL (message written to err). obj NULL (no body) reads as an empty object.
 * Strings are borrowed from obj. String lengths count UTF-8 code points; invalid UTF-8 and
 * embedded NULs are refused. max_len / max_items 0 means no upper bound. Integers accept a JSON
 * integer or a double without fraction (5.0), never a string or a boolean; numbers beyond the
 * 64-bit range (and INT64_MIN itself, which json-c cannot tell from them) are out of range. */
#pragma once

#include <json-c/json.h>
#include "cc/util.h"

#define CC_JSON_REQUIRED 1u
#define CC_JSON_NULLABLE 2u /* explicit null allowed even when required */

/* A field error message buffer: "<field>: <what is wrong>". */
struct cc_json_err {
        char msg[256];
};

int cc_json_get_string(json_object *obj, const char *field, unsigned flags, size_t min_len,
                       size_t max_len, const char **ret_value,
                       struct cc_json_err *err) CC_MUSTCHECK;
int cc_json_get_int(json_object *obj, const char *field, unsigned flags, int64_t min, int64_t max,
                    int64_t *ret_value, struct cc_json_err *err) CC_MUSTCHECK;
int cc_json_get_double(json_object *obj, const char *field, unsigned flags, double min, double max,
                       double *ret_value, struct cc_json_err *err) CC_MUSTCHECK;
int cc_json_get_bool(json_object *obj, const char *field, unsigned flags, bool *ret_value,
                     struct cc_json_err *err) CC_MUSTCHECK;
/* values: NULL-terminated list of allowed strings; *ret_index is the position matched. */
int cc_json_get_enum(json_object *obj, const char *field, unsigned flags, const char *const *values,
                     int *ret_index, struct cc_json_err *err) CC_MUSTCHECK;
/* UUID-shaped string. */
int cc_json_get_uuid(json_object *obj, const char *field, unsigned flags, const char **ret_value,
                     struct cc_json_err *err) CC_MUSTCHECK;
/* Object or array member (type checked), borrowed from obj. */
int cc_json_get_object(json_object *obj, const char *field, unsigned flags, json_object **ret_value,
                       struct cc_json_err *err) CC_MUSTCHECK;
int cc_json_get_array(json_object *obj, const char *field, unsigned flags, size_t max_items,
                      json_object **ret_value, struct cc_json_err *err) CC_MUSTCHECK;

/* Parses text (need not be NUL-terminated) with a depth limit (<= 0: json-c's default of 32) in
 * json-c's strict mode; any JSON value may be at the top. NULL (and a message) for malformed
 * JSON, trailing bytes other than whitespace, or a bare "null" document. */
json_object *cc_json_parse(const char *text, size_t len, int max_depth, char *err, size_t err_len);

/* Adds a string member, or JSON null when value is NULL. */
void cc_json_add_string(json_object *obj, const char *field, const char *value);
/* Adds an RFC 3339 UTC time (…Z), or null when ms < 0. */
void cc_json_add_time(json_object *obj, const char *field, int64_t ms);
