#include "cc/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/log.h"

static int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int load_one(const struct cc_config_var *v, char *err, size_t err_len)
{
        const char *raw = getenv(v->name);
        if (raw && *raw == '\0')
                raw = NULL;
        if (!raw)
                raw = v->fallback;
        if (!raw) {
                if (v->help && *v->help)
                        snprintf(err, err_len, "%s is required (%s)", v->name, v->help);
                else
                        snprintf(err, err_len, "%s is required", v->name);
                return -EINVAL;
        }

        switch (v->type) {
        case CC_CONFIG_STRING: {
                size_t len = strlen(raw);
                if ((long long)len < v->min || (v->max > 0 && (long long)len > v->max)) {
                        if (v->max > 0)
                                snprintf(err, err_len, "%s must be %lld to %lld characters long",
                                         v->name, v->min, v->max);
                        else
                                snprintf(err, err_len, "%s must be at least %lld characters long",
                                         v->name, v->min);
                        return -EINVAL;
                }
                *(char **)v->target = cc_xstrdup(raw);
                return 0;
        }
        case CC_CONFIG_INT: {
                char *end = NULL;
                errno = 0;
                long long n = strtoll(raw, &end, 10);
                if (errno || end == raw || *end != '\0') {
                        snprintf(err, err_len, "%s must be an integer, got \"%s\"", v->name, raw);
                        return -EINVAL;
                }
                if (n < v->min || n > v->max) {
                        snprintf(err, err_len, "%s must be between %lld and %lld, got %lld",
                                 v->name, v->min, v->max, n);
                        return -EINVAL;
                }
                *(long long *)v->target = n;
                return 0;
        }
        case CC_CONFIG_BOOL:
                if (parse_bool(raw, (bool *)v->target) < 0) {
                        snprintf(err, err_len, "%s must be true or false, got \"%s\"", v->name,
                                 raw);
                        return -EINVAL;
                }
                return 0;
        case CC_CONFIG_LOGLEVEL: {
                enum cc_log_level level;
                if (cc_log_level_parse(raw, &level) < 0) {
                        snprintf(err, err_len,
                                 "%s must be one of debug, info, warn, error, got \"%s\"", v->name,
                                 raw);
                        return -EINVAL;
                }
                *(int *)v->target = (int)level;
                return 0;
        }
        }
        snprintf(err, err_len, "%s has an unknown type", v->name);
        return -EINVAL;
}

int cc_config_load(const struct cc_config_var *vars, size_t n, char *err, size_t err_len)
{
        for (size_t i = 0; i < n; i++) {
                int r = load_one(&vars[i], err, err_len);
                if (r < 0) {
                        /* Leave nothing half-loaded behind. */
                        cc_config_free(vars, i);
                        return r;
                }
        }
        return 0;
}

void cc_config_free(const struct cc_config_var *vars, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (vars[i].type == CC_CONFIG_STRING) {
                        char **p = vars[i].target;
                        free(*p);
                        *p = NULL;
                }
        }
}
