/* A token bucket per string key (an email, a client address), in memory, shared by the threads
 * of one process. Memory is bounded: at most max_keys buckets; buckets that have refilled
 * completely carry no information and are dropped first when room is needed. Thread-safe. */
#pragma once

#include "cc/util.h"

struct cc_ratelimit;

/* burst: tokens a full bucket holds (>= 1); per_second: refill rate (> 0); max_keys: bound on
 * the buckets kept (>= 1). NULL for invalid arguments. */
struct cc_ratelimit *cc_ratelimit_new(double burst, double per_second, size_t max_keys);
void cc_ratelimit_free(struct cc_ratelimit *rl);

/* Takes one token from key's bucket at now_us (a monotonic clock, e.g. cc_monotonic_us). true
 * when one was there; false when the bucket is empty, with *ret_retry_ms (if not NULL) the time
 * until a token is back. */
bool cc_ratelimit_take(struct cc_ratelimit *rl, const char *key, int64_t now_us,
                       int64_t *ret_retry_ms);
/* As take, without consuming: true when a take would succeed now. */
bool cc_ratelimit_check(struct cc_ratelimit *rl, const char *key, int64_t now_us,
                        int64_t *ret_retry_ms);
/* Forgets key (its bucket is full again). */
void cc_ratelimit_reset(struct cc_ratelimit *rl, const char *key);
/* Buckets kept now. */
size_t cc_ratelimit_size(struct cc_ratelimit *rl);
