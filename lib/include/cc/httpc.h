/* Outbound HTTP over libcurl with connection reuse, connect and total timeouts, and a circuit
 * breaker per client: after `failure_threshold` consecutive failures (transport errors, 5xx,
 * timeouts) it opens and calls fail at once with -EHOSTDOWN for `open_ms`; then one trial call
 * is let through (half-open) and its outcome closes or re-opens it. State is in /metrics as
 * cc_http_client_breaker_state{client="..."} (0 closed, 1 open, 2 half-open). Thread-safe. */
#pragma once

#include "cc/util.h"

enum cc_breaker_state { CC_BREAKER_CLOSED = 0, CC_BREAKER_OPEN = 1, CC_BREAKER_HALF_OPEN = 2 };

struct cc_breaker;
/* failure_threshold <= 0 means 5, open_ms <= 0 means 5000. */
struct cc_breaker *cc_breaker_new(int failure_threshold, int open_ms);
void cc_breaker_free(struct cc_breaker *b);
/* true when a call may go ahead now (in half-open only one at a time). Every true must be
 * followed by exactly one cc_breaker_record, or a half-open breaker stays half-open. */
bool cc_breaker_allow(struct cc_breaker *b);
/* A success closes the breaker from any state; a failure opens it after failure_threshold
 * consecutive ones, or at once when it is the half-open trial. */
void cc_breaker_record(struct cc_breaker *b, bool success);
enum cc_breaker_state cc_breaker_state(struct cc_breaker *b);

struct cc_httpc_config {
        const char *name;       /* metrics label, unique per process (default: base_url) */
        const char *base_url;   /* "http://127.0.0.1:9000"; paths are appended */
        int connect_timeout_ms; /* default 2000 */
        int timeout_ms;         /* whole call, default 10000 */
        int failure_threshold;  /* default 5 */
        int open_ms;            /* default 5000 */
};

struct cc_httpc_header {
        const char *name;
        const char *value;
};

struct cc_httpc_response {
        long status;
        char *body; /* NUL-terminated, heap */
        size_t body_len;
        char *content_type; /* heap or NULL */
};

struct cc_httpc;
/* NULL when cfg has no base_url. Registers the breaker gauge; _free removes it. */
struct cc_httpc *cc_httpc_new(const struct cc_httpc_config *cfg);
void cc_httpc_free(struct cc_httpc *c);
/* Performs method path (appended to base_url) with optional body. Basic auth when user != NULL.
 * 0 with *ret_resp filled whatever the status; -EHOSTDOWN breaker open, -ETIMEDOUT timeout,
 * -ECONNREFUSED could not connect, -EIO other transport errors (including a response body
 * over 16 MiB). Transport errors and 5xx count as breaker failures, anything else as success. */
int cc_httpc_request(struct cc_httpc *c, const char *method, const char *path,
                     const struct cc_httpc_header *headers, size_t nheaders, const void *body,
                     size_t body_len, const char *basic_user, const char *basic_pass,
                     struct cc_httpc_response *ret_resp) CC_MUSTCHECK;
void cc_httpc_response_fini(struct cc_httpc_response *resp);
struct cc_breaker *cc_httpc_breaker(struct cc_httpc *c);
