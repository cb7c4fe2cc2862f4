/* Configuration from CC_* environment variables, described as one declarative table with types,
 * defaults and bounds. A missing or bad value stops the service at start with its name. */
#pragma once

#include "cc/util.h"

enum cc_config_type { CC_CONFIG_STRING, CC_CONFIG_INT, CC_CONFIG_BOOL, CC_CONFIG_LOGLEVEL };

struct cc_config_var {
        const char *name; /* "CC_HTTP_PORT" */
        enum cc_config_type type;
        const char *fallback; /* default as text; NULL means required */
        long long min, max;   /* INT: bounds; STRING: length bounds (max 0 = unbounded) */
        void *target;         /* STRING: char **, INT: long long *, BOOL: bool *, LOGLEVEL: int * */
        const char *help;     /* one line for docs and error messages */
};

/* Reads every variable from the environment (getenv). On the first missing or bad value writes
 * a message naming it into err and returns -EINVAL. Strings are heap copies owned by the caller
 * (free with cc_config_free). */
int cc_config_load(const struct cc_config_var *vars, size_t n, char *err,
                   size_t err_len) CC_MUSTCHECK;
void cc_config_free(const struct cc_config_var *vars, size_t n);
