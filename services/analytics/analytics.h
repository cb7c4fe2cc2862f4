/* Shared inside the analytics service: what each file offers the others. apply.c and rollup.c
 * turn events into the read model and the rollups (migrations/001_analytics.sql); store_read.c,
 * periods.c and the h_*.c files answer the API from them. */
#pragma once

#include <json-c/json.h>

#include "cc/db.h"
#include "cc/event.h"
#include "cc/http.h"
#include "cc/service.h"

const struct cc_service_def *analytics_service_def(void);

/* The service's own settings (analytics.c). */
struct an_config {
        long long minute_retention_days; /* CC_ANALYTICS_MINUTE_RETENTION_DAYS; 0: for ever */
};
extern struct an_config an_cfg;

/* ---- apply.c: the consumer's handler (cc.users.v1, cc.calls.v1, cc.agents.v1,
 * cc.campaigns.v1), inside the transaction that records the event id. 0 applied or skipped
 * (types it does not use); -EBADMSG for a permanently invalid event (dead-lettered); other
 * negative errno to retry. Lower-cases the payload's ids in place (the strings must be
 * writable, as an unpacked message's are). ---- */
int an_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env,
             void *userdata) CC_MUSTCHECK;

/* ---- rollup.c ---- */
/* Adds a call's final accounting to call_rollups: every grain (minute, quarter hour, hour, day of
 * its start, UTC) for the organization, its agent, its queue and its campaign. */
int an_rollup_call(struct cc_db_conn *conn, const char *org_id,
                   const Cc__Events__V1__CallEnded *e) CC_MUSTCHECK;
/* Adds the wrap-up after a call (call.wrapped_up) to the call's rows: wrap_sum only, in the
 * buckets of its start. */
int an_rollup_wrap_up(struct cc_db_conn *conn, const char *org_id,
                      const Cc__Events__V1__CallWrappedUp *e) CC_MUSTCHECK;
/* The earliest instant whose minute rollups are still kept at now_ms (INT64_MIN when they are
 * kept for ever); reads count to the quarter hour before it. */
int64_t an_minutes_from_ms(int64_t now_ms);
/* Drops minute rollups older than an_minutes_from_ms(now_ms), a bounded batch per statement;
 * the number of rows dropped, or a negative errno. The housekeeping runs it. */
long long an_drop_old_minutes(struct cc_db_conn *conn, int64_t now_ms) CC_MUSTCHECK;
/* Adds [from_ms, to_ms) spent by an agent (user id) in status ("AVAILABLE", "BUSY", "WRAP_UP",
 * "BREAK", "TRAINING", "OFFLINE") to agent_rollups, split at bucket boundaries, and the same
 * to the organization's total (the rows of the nil user id). -EBADMSG for a nil user id. */
int an_rollup_agent_time(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                         const char *status, int64_t from_ms, int64_t to_ms) CC_MUSTCHECK;

/* ---- routes (h_analytics.c: /api/analytics/{dashboard,calls,agents,campaigns};
 * h_kpis.c: /api/analytics/kpis; h_dashboard.c: the /api/dashboard routes) ---- */
extern const struct cc_http_route an_analytics_routes[];
extern const size_t an_analytics_nroutes;
extern const struct cc_http_route an_kpis_routes[];
extern const size_t an_kpis_nroutes;
extern const struct cc_http_route an_dashboard_routes[];
extern const size_t an_dashboard_nroutes;
