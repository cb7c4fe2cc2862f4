/* A background thread that runs one function every interval, or at once when kicked: the
 * services' housekeeping (retention jobs) and telephony's worker. The function runs on that
 * thread only, never twice at a time; stopping waits for a round in progress to finish. */
#pragma once

#include "cc/util.h"

struct cc_periodic;

/* Starts the thread; the first round runs after interval_ms (or a kick). NULL when the thread
 * cannot be created. */
struct cc_periodic *cc_periodic_start(const char *name, long long interval_ms,
                                      void (*fn)(void *userdata), void *userdata);
/* Runs a round as soon as the current one (if any) ends; kicks while one is pending fold into
 * it. Safe from any thread, and with NULL. */
void cc_periodic_kick(struct cc_periodic *p);
/* Stops the thread and frees it; NULL is a no-op. */
void cc_periodic_stop(struct cc_periodic *p);
