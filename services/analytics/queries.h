/* The API half of the analytics service, shared by its files: periods.c (query parameters, time
 * windows cut into periods in a time zone, the cover of a window by rollup buckets, numbers
 * rounded as the contract wants), store_read.c (the SQL over the read model and the rollups) and
 * the handlers h_analytics.c, h_kpis.c and h_dashboard.c. Nothing here reads raw history: sums
 * come from call_rollups / agent_rollups, lists from the read model's small tables or its
 * live-call index. docs/kpis.md describes every number. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "analytics.h"

/* ---- periods.c: windows and periods ---- */

enum an_group { AN_GROUP_NONE = -1, AN_GROUP_HOUR, AN_GROUP_DAY, AN_GROUP_WEEK, AN_GROUP_MONTH };

/* A window's periods are capped: an hour per period over a leap year, a day over 24 years. */
#define AN_MAX_PERIODS 8784

#define AN_DAY_MS (86400 * (int64_t)1000)

/* start_date / end_date as the client wrote them. */
struct an_time {
        bool set;
        bool absolute; /* it carried Z or an offset: ms is the instant */
        int64_t ms;
        /* otherwise a wall-clock time in the window's zone, "YYYY-MM-DD HH:MM:SS.mmm"; a bare
         * date read as an end means the end of that day (the next midnight) */
        char local[32];
};

/* Parses an ISO date (YYYY-MM-DD) or datetime (YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH[:MM]]),
 * years 1970 to 9999. A space where the offset's sign should be is read as '+' (an unencoded
 * '+' in a query string arrives as a space). -EINVAL when it is not one. */
int an_time_parse(const char *s, bool is_end, struct an_time *ret) CC_MUSTCHECK;

struct an_window_spec {
        const char *tz; /* a zone PostgreSQL knows ("UTC" by default) */
        struct an_time start, end;
        int64_t now_ms;
        int64_t span_ms; /* start when none is given: end - span */
        /* Defaults in whole days of tz instead: a missing end is the next midnight (nothing
         * starts in the future, so the window still holds every call up to now, and it is
         * made of day buckets alone), a missing start span_ms's days before the end. */
        bool whole_days;
        enum an_group group; /* AN_GROUP_NONE: one period, the whole window */
};

struct an_period {
        int64_t lo_ms, hi_ms; /* [lo, hi), clipped to the window */
        char key[24];         /* "2025-10-05 14:00", "2025-10-05", "2025-W41", "2025-10"; "" */
};

struct an_window {
        int64_t start_ms, end_ms;
        /* Minute rollups are kept from here on (an_minutes_from_ms); before it a window's
         * bounds are counted to the quarter hour. */
        int64_t minutes_from_ms;
        struct an_period *periods; /* in the arena given to an_window_resolve, in time order */
        size_t nperiods;
};

/* 10000-01-01T00:00:00Z: the first instant an answer cannot write. */
#define AN_TIME_MAX_MS 253402300800000LL

/* The periods of spec's window in its zone (PostgreSQL does the calendar). Returns 0, -EDOM
 * for a time zone PostgreSQL does not know, -ERANGE when the window is empty or reversed,
 * -EOVERFLOW when it reaches before 1970 or into the year 10000 (UTC),
 * -E2BIG for more than AN_MAX_PERIODS periods, or cc_db_exec's errors. */
int an_window_resolve(struct cc_db_conn *conn, const struct an_window_spec *spec,
                      struct cc_arena *arena, struct an_window *ret) CC_MUSTCHECK;

/* The rollup buckets that add up to each period, coarsest first: whole UTC days, then whole
 * hours, quarter hours, then minutes. A bucket belongs to a window when its start lies in it, so
 * a window resolves to the minute (to the quarter hour before w->minutes_from_ms). Adjacent
 * segments of one grain are merged across periods; bounds tells which period a bucket falls in
 * (PostgreSQL's width_bucket). */
struct an_cover {
        size_t nsegs;
        char *grains;         /* 'd', 'h', 'q', 'm' */
        int64_t *lo_s, *hi_s; /* [lo, hi) in seconds since the epoch */
        int64_t *bounds_s;    /* each period's first minute */
        size_t nperiods;      /* = the window's */
};

void an_cover_build(const struct an_window *w, struct cc_arena *arena, struct an_cover *ret);

/* ---- periods.c: request helpers shared by the handlers ---- */

/* Reads start_date, end_date (absent: the span_ms before now), tz and, when default_group is
 * not AN_GROUP_NONE, group_by. Replies 422 naming the parameter and returns -EINVAL on a bad
 * value. */
int an_req_window_spec(struct cc_http_req *req, enum an_group default_group, int64_t span_ms,
                       struct an_window_spec *ret) CC_MUSTCHECK;
/* an_window_resolve for a request: on failure replies (422 naming tz, start_date or group_by;
 * 503 or 500 otherwise) and returns a negative errno. */
int an_req_window(struct cc_http_req *req, struct cc_db_conn *conn,
                  const struct an_window_spec *spec, struct an_window *ret) CC_MUSTCHECK;
/* The optional tz parameter ("UTC" when absent); replies 422 when it cannot be a zone name. */
int an_req_tz(struct cc_http_req *req, const char **ret) CC_MUSTCHECK;
/* An optional UUID query parameter: 0 and *ret (NULL when absent), or replies 422. */
int an_req_uuid(struct cc_http_req *req, const char *name, const char **ret) CC_MUSTCHECK;
/* An integer query parameter in [min, max], dflt when absent; replies 422 otherwise. */
int an_req_int(struct cc_http_req *req, const char *name, int64_t dflt, int64_t min, int64_t max,
               int64_t *ret) CC_MUSTCHECK;
/* The dimension a caller's numbers come from: an AGENT's own calls ('a', its user id), anyone
 * else's organization ('o', ""). */
void an_caller_dim(const struct cc_auth *auth, char *ret_dim, const char **ret_id);
/* The agent a caller is limited to: its own user id for an AGENT, NULL for anyone else. */
const char *an_caller_agent(const struct cc_auth *auth);
struct an_counts;
/* The caller's call counts (an_caller_dim) per period of w, w->nperiods entries in the
 * request's arena. 0, or a negative errno with the reply (503 or 500) sent. */
int an_req_caller_counts(struct cc_http_req *req, struct cc_db_conn *conn,
                         const struct an_window *w, struct an_counts **ret) CC_MUSTCHECK;
/* 503 for a database that cannot be reached, 500 (logged) for anything else. */
void an_reply_failure(struct cc_http_req *req, int r);

/* num / den * scale rounded half up to 2 decimals (0 when den is 0), as a JSON number written
 * with at most 2 decimals ("33.33", "50.0"). scale 100 makes a percentage. */
json_object *an_json_ratio(int64_t num, int64_t den, int64_t scale);

/* ---- store_read.c ---- */

/* Sums of call_rollups (calls .. answered_wait_sum) and agent_rollups (available_s ..). */
struct an_counts {
        int64_t calls, inbound, outbound, completed, failed, no_answer, busy, canceled;
        int64_t answered, handled, queued, queued_answered, within_sl, abandoned;
        int64_t duration_sum, completed_duration_sum, talk_sum, hold_sum, wrap_sum;
        int64_t answered_wait_sum;
        int64_t available_s, busy_s, wrap_up_s, break_s, training_s, offline_s;
};

void an_counts_add(struct an_counts *to, const struct an_counts *c);

/* call_rollups of one dimension ('o' with dim_id "", 'a' a user id, 'q' a queue id, 'c' a
 * campaign id, 'x' "<campaign id>/<user id>", kept by day only) summed per period of the cover: ret
 * has cv->nperiods entries, zeroed by the caller; only the call counters are written. */
int an_store_call_counts(struct cc_db_conn *conn, const char *org_id, char dim, const char *dim_id,
                         const struct an_cover *cv, struct an_counts *ret) CC_MUSTCHECK;
/* agent_rollups of one agent (user id), or of every agent when user_id is NULL, added per
 * period into ret's agent-time fields. */
int an_store_agent_time(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                        const struct an_cover *cv, struct an_counts *ret) CC_MUSTCHECK;
/* Every call of one dimension that has ended, all time (its day buckets). */
int an_store_all_time(struct cc_db_conn *conn, const char *org_id, char dim, const char *dim_id,
                      struct an_counts *ret) CC_MUSTCHECK;

/* Calls not ended whose status is status (the live-call index), of one agent (user id) or,
 * with agent_id NULL, of the whole organization. */
int an_store_live_count(struct cc_db_conn *conn, const char *org_id, const char *status,
                        const char *agent_id, int64_t *ret) CC_MUSTCHECK;
int an_store_active_campaigns(struct cc_db_conn *conn, const char *org_id,
                              int64_t *ret) CC_MUSTCHECK;

/* Whether an id names something of the organization in the read model. */
enum an_kind { AN_KIND_USER, AN_KIND_QUEUE, AN_KIND_CAMPAIGN };
int an_store_exists(struct cc_db_conn *conn, const char *org_id, enum an_kind kind, const char *id,
                    bool *ret) CC_MUSTCHECK;

/* A user and its calls over a cover's whole window (dimension 'a'). */
struct an_user_counts {
        const char *user_id, *first_name, *last_name;
        struct an_counts c;
};
/* The users of the organization with their counts: only only_user when it is not NULL; else
 * with active_only every user (any role) with a call in the window, most calls first; else the
 * users with role, by name. Strings and the array live in arena. */
int an_store_user_counts(struct cc_db_conn *conn, const char *org_id, const char *role,
                         const char *only_user, bool active_only, const struct an_cover *cv,
                         struct cc_arena *arena, struct an_user_counts **ret,
                         size_t *ret_n) CC_MUSTCHECK;

/* Every campaign of the organization with its calls of all time, newest first: all of them, or
 * with agent_id those of that agent (dimension 'x'). */
struct an_campaign_counts {
        const char *id, *name;
        bool active;
        struct an_counts c;
};
int an_store_campaign_counts(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                             struct cc_arena *arena, struct an_campaign_counts **ret,
                             size_t *ret_n) CC_MUSTCHECK;

/* Calls of the read model, newest first. */
struct an_call_row {
        const char *id, *from_number, *to_number, *status, *direction, *agent_id; /* agent: NULL */
        int64_t started_ms, ended_ms;                                             /* -1: unknown */
        int duration_s;                                                           /* -1: unknown */
};
/* live: at most limit calls that have not ended with status RINGING, IN_PROGRESS or ON_HOLD;
 * otherwise the newest limit calls. Of the organization, or with agent_id of that agent. */
int an_store_calls(struct cc_db_conn *conn, const char *org_id, const char *agent_id, bool live,
                   int limit, struct cc_arena *arena, struct an_call_row **ret,
                   size_t *ret_n) CC_MUSTCHECK;

/* Every user of the organization by name, or with only_user that one. */
struct an_member {
        const char *id, *email, *first_name, *last_name, *role, *status, *department;
        int64_t updated_ms; /* -1: unknown */
};
int an_store_members(struct cc_db_conn *conn, const char *org_id, const char *only_user,
                     struct cc_arena *arena, struct an_member **ret, size_t *ret_n) CC_MUSTCHECK;
