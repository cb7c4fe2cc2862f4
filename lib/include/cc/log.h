/* Structured logs: one JSON object per line on stderr with time, level, service, request id
 * and message. Library code logs at debug at most; callers decide what an error means. */
#pragma once

#include "cc/util.h"

enum cc_log_level { CC_LOG_DEBUG, CC_LOG_INFO, CC_LOG_WARN, CC_LOG_ERROR };

void cc_log_init(const char *service, enum cc_log_level level);
/* Parses "debug"/"info"/"warn"/"error"; returns -EINVAL for anything else. */
int cc_log_level_parse(const char *s, enum cc_log_level *ret_level) CC_MUSTCHECK;
bool cc_log_enabled(enum cc_log_level level);
/* request_id may be NULL. */
void cc_log(enum cc_log_level level, const char *request_id, const char *fmt, ...) CC_PRINTF(3, 4);

#define cc_log_debug(rid, ...) cc_log(CC_LOG_DEBUG, rid, __VA_ARGS__)
#define cc_log_info(rid, ...)  cc_log(CC_LOG_INFO, rid, __VA_ARGS__)
#define cc_log_warn(rid, ...)  cc_log(CC_LOG_WARN, rid, __VA_ARGS__)
#define cc_log_error(rid, ...) cc_log(CC_LOG_ERROR, rid, __VA_ARGS__)
