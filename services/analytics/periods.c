/* Time windows for the analytics API: start_date / end_date / tz / group_by read from a request,
 * the window cut into periods in the caller's zone (PostgreSQL's calendar and zone database do
 * that), and the cover of those periods by UTC rollup buckets (days, hours, minutes). Also the
 * few request helpers and the rounding the handlers share. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/log.h"
#include "queries.h"

#define MINUTE_S 60
#define HOUR_S   3600
#define DAY_S    86400

/* ---- dates ---- */

static bool digits(const char *p, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return false;
                v = v * 10 + (p[i] - '0');
        }
        *ret = v;
        return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int d = (int)(doy - (153 * mp + 2) / 5 + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *ret_y = (int)(yoe + era * 400 + (m <= 2));
        *ret_m = m;
        *ret_d = d;
}

static int days_in_month(int y, int m)
{
        static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m == 2 && leap ? 29 : n[m - 1];
}

int an_time_parse(const char *s, bool is_end, struct an_time *ret)
{
        int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
        if (!s || strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
            s[7] != '-' || !digits(s + 8, 2, &d))
                return -EINVAL;
        if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
                return -EINVAL;
        const char *p = s + 10;
        struct an_time t = {.set = true};
        if (!*p) {
                int64_t day = days_from_civil(y, mo, d) + (is_end ? 1 : 0);
                civil_from_days(day, &y, &mo, &d);
                snprintf(t.local, sizeof(t.local), "%04d-%02d-%02d 00:00:00.000", y, mo, d);
                *ret = t;
                return 0;
        }
        if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2, &h) || p[3] != ':' ||
            !digits(p + 4, 2, &mi))
                return -EINVAL;
        p += 6;
        if (*p == ':') {
                if (!digits(p + 1, 2, &sec))
                        return -EINVAL;
                p += 3;
                if (*p == '.') {
                        int n = 0;
                        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
                                if (n < 3)
                                        ms = ms * 10 + (*p - '0');
                        }
                        if (n == 0 || n > 9)
                                return -EINVAL;
                        for (; n < 3; n++)
                                ms *= 10;
                }
        }
        if (h > 23 || mi > 59 || sec > 59)
                return -EINVAL;
        int off_s = 0;
        if (*p == 'Z' || *p == 'z') {
                t.absolute = true;
                p++;
        } else if (*p == '+' || *p == '-' || *p == ' ') {
                int sign = *p == '-' ? -1 : 1, oh, om = 0;
                if (!digits(p + 1, 2, &oh))
                        return -EINVAL;
                p += 3;
                bool colon = *p == ':';
                if (colon)
                        p++;
                if (*p || colon) { /* "+05:" has no minutes */
                        if (!digits(p, 2, &om))
                                return -EINVAL;
                        p += 2;
                }
                if (oh > 23 || om > 59)
                        return -EINVAL;
                t.absolute = true;
                off_s = sign * (oh * 3600 + om * 60);
        }
        if (*p)
                return -EINVAL;
        if (t.absolute) {
                int64_t secs = days_from_civil(y, mo, d) * DAY_S + h * 3600 + mi * 60 + sec - off_s;
                t.ms = secs * 1000 + ms;
        } else {
                snprintf(t.local, sizeof(t.local), "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, mo, d,
                         h, mi, sec, ms);
        }
        *ret = t;
        return 0;
}

/* ---- periods ---- */

#define TS(p) "('epoch'::timestamptz + " p "::bigint * interval '1 millisecond')"
#define MS(x) "(extract(epoch FROM " x ") * 1000)::bigint"

/* $1 tz, $2/$3 start as an instant (ms) or a wall-clock time in tz, $4/$5 the same for the end,
 * $6 now (ms), $7 the span before the end when there is no start, $8 the unit for date_trunc,
 * $9 the most periods wanted (0: the window alone), $10 the key's to_char format, $11 the step,
 * $12 whether a missing end is the next midnight in tz and a missing start whole days before
 * the end (else now, and the span before the end).
 * Candidates start one step before the period holding the start, so a start inside a repeated
 * hour (clocks going back) is still covered; each period ends where the next begins, so the
 * periods tile the window whatever the zone's jumps; and keys that repeat (the hour that
 * happens twice) fold into one period. Generation stops a few periods past the cap, so a huge
 * window costs nothing before it is refused. The zone is used even with no period to cut, so
 * an unknown one is always reported. */
/* clang-format off */
#define WINDOW_SQL(GEN)                                                                            \
        "WITH e AS (SELECT coalesce(" TS("$4") ", $5::timestamp AT TIME ZONE $1, "               \
        "  CASE WHEN $12::boolean THEN (date_trunc('day', " TS("$6") " AT TIME ZONE $1) "         \
        "                               + interval '1 day') AT TIME ZONE $1 "                      \
        "  ELSE " TS("$6") " END) AS e), "                                                         \
        "w AS (SELECT coalesce(" TS("$2") ", $3::timestamp AT TIME ZONE $1, "                    \
        "  CASE WHEN $12::boolean THEN ((e.e AT TIME ZONE $1) "                                    \
        "                               - $7::bigint / 86400000 * interval '1 day') "              \
        "                              AT TIME ZONE $1 "                                           \
        "  ELSE e.e - $7::bigint * interval '1 millisecond' END) AS s, e.e FROM e) "             \
        "SELECT " MS("w.s") ", " MS("w.e") ", (now() AT TIME ZONE $1) IS NOT NULL, "             \
        "       x.key, " MS("x.lo") ", " MS("x.hi") " "                                            \
        "FROM w LEFT JOIN LATERAL ("                                                               \
        "  SELECT k.key, greatest(k.i, w.s) AS lo, "                                               \
        "         least(coalesce(lead(k.i) OVER (ORDER BY k.i), w.e), w.e) AS hi "                \
        "  FROM (SELECT g.key, min(g.i) AS i FROM (" GEN ") g GROUP BY g.key) k "                  \
        "  WHERE w.s < w.e AND $9::int > 0"                                                        \
        ") x ON x.lo < x.hi "                                                                      \
        "ORDER BY x.lo"

/* Days, weeks and months step in wall-clock time (a day is 23 or 25 hours around a jump). */
#define GEN_CALENDAR                                                                               \
        "SELECT to_char(l, $10) AS key, l AT TIME ZONE $1 AS i "                                   \
        "FROM generate_series(date_trunc($8, w.s AT TIME ZONE $1) - $11::interval, "               \
        "     least(w.e AT TIME ZONE $1, (w.s AT TIME ZONE $1) + ($9::int + 2) * $11::interval), " \
        "     $11::interval) AS l"

/* Hours step in real time and are named by their wall-clock hour: the hour that happens twice
 * when clocks go back gets one key, the hour skipped when they go forward none. Real-time steps
 * keep the minutes of the start's offset, so after a change by less than an hour (Lord Howe's
 * half-hour DST, Kathmandu's +05:30 to +05:45) they no longer fall on the wall clock's hours:
 * every wall-clock hour is a candidate too, and a key starts at its earliest candidate (a
 * wall-clock hour that happens twice PostgreSQL reads as the later one; the real-time step
 * finds the earlier). */
#define GEN_HOURS                                                                                  \
        "SELECT to_char(i AT TIME ZONE $1, $10) AS key, i "                                        \
        "FROM generate_series(date_trunc($8, w.s AT TIME ZONE $1) AT TIME ZONE $1 - $11::interval, " \
        "     least(w.e, w.s + ($9::int + 2) * $11::interval), $11::interval) AS i "               \
        "UNION ALL "                                                                               \
        "SELECT to_char(l AT TIME ZONE $1 AT TIME ZONE $1, $10), l AT TIME ZONE $1 "             \
        "FROM generate_series(date_trunc($8, w.s AT TIME ZONE $1) - $11::interval, "               \
        "     least(w.e AT TIME ZONE $1, (w.s AT TIME ZONE $1) + ($9::int + 2) * $11::interval), " \
        "     $11::interval) AS l"
/* clang-format on */

static const char window_calendar_sql[] = WINDOW_SQL(GEN_CALENDAR);
static const char window_hours_sql[] = WINDOW_SQL(GEN_HOURS);

static const struct {
        const char *unit, *format, *step;
} group_sql[] = {
    [AN_GROUP_HOUR] = {"hour", "YYYY-MM-DD HH24:00", "1 hour"},
    [AN_GROUP_DAY] = {"day", "YYYY-MM-DD", "1 day"},
    /* the ISO week and the ISO week-numbering year it belongs to; FM drops the zero padding */
    [AN_GROUP_WEEK] = {"week", "IYYY-\"W\"FMIW", "1 week"},
    [AN_GROUP_MONTH] = {"month", "YYYY-MM", "1 month"},
};

/* The IANA zone names PostgreSQL knows, read once per process. PostgreSQL itself also takes
 * POSIX strings ("5" is UTC-5, "UTC-99" a day off) and the server's own "localtime": a tz
 * parameter must be a name from this list, whatever the case. "posixrules" and "Factory" are
 * files of the zone database, not zones. */
static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;
static char **zones;
static size_t nzones;

static int cmp_zone(const void *a, const void *b)
{
        return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static int zone_known(struct cc_db_conn *conn, const char *tz, bool *ret)
{
        pthread_mutex_lock(&zones_mu);
        if (!zones) {
                PGresult *res = NULL;
                int r = cc_db_exec(conn,
                                   "SELECT name FROM pg_timezone_names WHERE name NOT IN "
                                   "('localtime', 'posixrules', 'Factory')",
                                   0, NULL, &res);
                if (r < 0) {
                        pthread_mutex_unlock(&zones_mu);
                        return r;
                }
                size_t n = (size_t)PQntuples(res);
                if (n == 0) {
                        /* a server without its zone database: not a list to keep */
                        PQclear(res);
                        pthread_mutex_unlock(&zones_mu);
                        return -EIO;
                }
                char **v = cc_xcalloc(n, sizeof(*v));
                for (size_t i = 0; i < n; i++)
                        v[i] = cc_xstrdup(PQgetvalue(res, (int)i, 0));
                PQclear(res);
                qsort(v, n, sizeof(*v), cmp_zone);
                zones = v;
                nzones = n;
        }
        *ret = bsearch(&tz, zones, nzones, sizeof(*zones), cmp_zone) != NULL;
        pthread_mutex_unlock(&zones_mu);
        return 0;
}

int an_window_resolve(struct cc_db_conn *conn, const struct an_window_spec *spec,
                      struct cc_arena *arena, struct an_window *ret)
{
        bool known = false;
        int zr = zone_known(conn, spec->tz, &known);
        if (zr < 0)
                return zr;
        if (!known)
                return -EDOM;
        char start_ms[24], end_ms[24], now_ms[24], span_ms[24], max[16];
        snprintf(start_ms, sizeof(start_ms), "%" PRId64, spec->start.ms);
        snprintf(end_ms, sizeof(end_ms), "%" PRId64, spec->end.ms);
        snprintf(now_ms, sizeof(now_ms), "%" PRId64, spec->now_ms);
        snprintf(span_ms, sizeof(span_ms), "%" PRId64, spec->span_ms);
        bool grouped = spec->group != AN_GROUP_NONE;
        snprintf(max, sizeof(max), "%d", grouped ? AN_MAX_PERIODS : 0);
        int g = grouped ? spec->group : AN_GROUP_DAY;
        const char *params[] = {
            spec->tz,
            spec->start.set && spec->start.absolute ? start_ms : NULL,
            spec->start.set && !spec->start.absolute ? spec->start.local : NULL,
            spec->end.set && spec->end.absolute ? end_ms : NULL,
            spec->end.set && !spec->end.absolute ? spec->end.local : NULL,
            now_ms,
            span_ms,
            group_sql[g].unit,
            max,
            group_sql[g].format,
            group_sql[g].step,
            spec->whole_days ? "t" : "f",
        };
        PGresult *res = NULL;
        int r = cc_db_exec(conn, g == AN_GROUP_HOUR ? window_hours_sql : window_calendar_sql,
                           CC_ARRAY_SIZE(params), params, &res);
        if (r == -EINVAL && strcmp(cc_db_sqlstate(conn), "22023") == 0)
                return -EDOM; /* invalid_parameter_value: time zone "..." not recognized */
        if (r < 0)
                return r;
        int n = PQntuples(res);
        if (n < 1) {
                PQclear(res);
                return -EPROTO; /* the window row is always there */
        }
        struct an_window w = {
            .minutes_from_ms = an_minutes_from_ms(spec->now_ms),
            .start_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
            .end_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10),
        };
        if (w.start_ms >= w.end_ms) {
                PQclear(res);
                return -ERANGE;
        }
        /* Answers write instants as ISO 8601 UTC, years 1970 to 9999: a window that a zone
         * pushes past either end (1 January 1970 in Kolkata) has no way to be written. The end
         * of 9999 itself is written a millisecond early (nothing can happen in it: events
         * carry no later time). */
        if (w.start_ms < 0 || w.end_ms > AN_TIME_MAX_MS) {
                PQclear(res);
                return -EOVERFLOW;
        }
        if (w.end_ms == AN_TIME_MAX_MS)
                w.end_ms--;
        if (!grouped) {
                w.periods = cc_arena_alloc(arena, sizeof(*w.periods));
                w.periods[0] = (struct an_period){.lo_ms = w.start_ms, .hi_ms = w.end_ms};
                w.nperiods = 1;
        } else if (n > AN_MAX_PERIODS) {
                PQclear(res);
                return -E2BIG;
        } else {
                w.periods = cc_arena_alloc(arena, (size_t)n * sizeof(*w.periods));
                for (int i = 0; i < n; i++) {
                        if (PQgetisnull(res, i, 3))
                                continue; /* the window holds no whole millisecond: nothing */
                        struct an_period *p = &w.periods[w.nperiods++];
                        snprintf(p->key, sizeof(p->key), "%s", PQgetvalue(res, i, 3));
                        p->lo_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10);
                        p->hi_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
                        if (p->hi_ms > w.end_ms)
                                p->hi_ms = w.end_ms;
                }
        }
        PQclear(res);
        *ret = w;
        return 0;
}

/* ---- the cover ---- */

static int64_t floor_to(int64_t x, int64_t unit)
{
        int64_t q = x / unit;
        return (x % unit < 0 ? q - 1 : q) * unit;
}

static int64_t ceil_to(int64_t x, int64_t unit)
{
        return -floor_to(-x, unit);
}

static void push(struct an_cover *cv, char grain, int64_t lo, int64_t hi)
{
        if (lo >= hi)
                return;
        size_t n = cv->nsegs;
        if (n > 0 && cv->grains[n - 1] == grain && cv->hi_s[n - 1] == lo) {
                cv->hi_s[n - 1] = hi;
                return;
        }
        cv->grains[n] = grain;
        cv->lo_s[n] = lo;
        cv->hi_s[n] = hi;
        cv->nsegs++;
}

/* The rollup grains, finest first, and their sizes in seconds. */
static const struct {
        char grain;
        int64_t s;
} grains[] = {{'m', 60}, {'q', 15 * 60}, {'h', HOUR_S}, {'d', DAY_S}};

/* [a, b) from buckets of grain i and finer: the whole buckets of grain i in the middle, the
 * ends from finer ones. Segments are pushed in time order, so adjacent ones of one grain merge. */
static void cover(struct an_cover *cv, size_t i, int64_t a, int64_t b)
{
        if (i == 0) {
                push(cv, grains[0].grain, a, b);
                return;
        }
        int64_t c0 = ceil_to(a, grains[i].s), c1 = floor_to(b, grains[i].s);
        if (c0 < c1) {
                cover(cv, i - 1, a, c0);
                push(cv, grains[i].grain, c0, c1);
                cover(cv, i - 1, c1, b);
        } else {
                cover(cv, i - 1, a, b);
        }
}

/* The first bucket whose start lies at or after ms: a minute, or before the minutes still kept
 * a quarter hour. Every bound of the window goes through here, so the periods still tile. */
static int64_t first_bucket_s(int64_t ms, int64_t minutes_from_ms)
{
        int64_t unit_ms = ms < minutes_from_ms ? grains[1].s * 1000 : grains[0].s * 1000;
        return ceil_to(ms, unit_ms) / 1000;
}

void an_cover_build(const struct an_window *w, struct cc_arena *arena, struct an_cover *ret)
{
        struct an_cover cv = {.nperiods = w->nperiods};
        /* at most seven segments a period: minutes, quarters, hours, days, hours, ... */
        size_t cap = 7 * w->nperiods + 1;
        cv.grains = cc_arena_alloc(arena, cap);
        cv.lo_s = cc_arena_alloc(arena, cap * sizeof(*cv.lo_s));
        cv.hi_s = cc_arena_alloc(arena, cap * sizeof(*cv.hi_s));
        cv.bounds_s = cc_arena_alloc(arena, (w->nperiods + 1) * sizeof(*cv.bounds_s));
        for (size_t i = 0; i < w->nperiods; i++) {
                int64_t a = first_bucket_s(w->periods[i].lo_ms, w->minutes_from_ms);
                int64_t b = first_bucket_s(w->periods[i].hi_ms, w->minutes_from_ms);
                cv.bounds_s[i] = a;
                if (a < b)
                        cover(&cv, CC_ARRAY_SIZE(grains) - 1, a, b);
        }
        *ret = cv;
}

/* ---- request helpers ---- */

/* Client text echoed in a message only when short and printable. */
static const char *echo(const char *s)
{
        return s && strlen(s) <= 64 && cc_text_valid(s, strlen(s)) ? s : "(invalid)";
}

static const char *const group_names[] = {"hour", "day", "week", "month", NULL};

/* Zone names as IANA writes them ("America/Argentina/Buenos_Aires", "Etc/GMT+5"); PostgreSQL
 * decides whether it knows the zone. */
static bool tz_plausible(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '/' || c == '_' || c == '-' || c == '+'))
                        return false;
        }
        return true;
}

int an_req_tz(struct cc_http_req *req, const char **ret)
{
        const char *tz = cc_http_req_query(req, "tz");
        if (!tz || !*tz) {
                *ret = "UTC";
                return 0;
        }
        if (!tz_plausible(tz)) {
                cc_http_reply_error(req, 422, "tz: unknown time zone %s", echo(tz));
                return -EINVAL;
        }
        *ret = tz;
        return 0;
}

static int req_time(struct cc_http_req *req, const char *name, bool is_end, struct an_time *ret)
{
        const char *v = cc_http_req_query(req, name);
        if (!v || !*v) {
                *ret = (struct an_time){0};
                return 0;
        }
        if (an_time_parse(v, is_end, ret) < 0) {
                cc_http_reply_error(req, 422,
                                    "%s: must be an ISO date or datetime (YYYY-MM-DD or "
                                    "YYYY-MM-DDTHH:MM:SS, optionally with Z or an offset), "
                                    "not %s",
                                    name, echo(v));
                return -EINVAL;
        }
        return 0;
}

int an_req_window_spec(struct cc_http_req *req, enum an_group default_group, int64_t span_ms,
                       struct an_window_spec *ret)
{
        struct an_window_spec spec = {
            .tz = "UTC", .now_ms = cc_now_ms(), .span_ms = span_ms, .group = default_group};
        if (req_time(req, "start_date", false, &spec.start) < 0 ||
            req_time(req, "end_date", true, &spec.end) < 0)
                return -EINVAL;
        if (an_req_tz(req, &spec.tz) < 0)
                return -EINVAL;
        const char *g = cc_http_req_query(req, "group_by");
        if (default_group != AN_GROUP_NONE && g) { /* "group_by=" is none of the four */
                int i = 0;
                while (group_names[i] && strcmp(group_names[i], g) != 0)
                        i++;
                if (!group_names[i]) {
                        cc_http_reply_error(req, 422,
                                            "group_by: must be one of hour, day, week, month");
                        return -EINVAL;
                }
                spec.group = (enum an_group)i;
        }
        *ret = spec;
        return 0;
}

int an_req_window(struct cc_http_req *req, struct cc_db_conn *conn,
                  const struct an_window_spec *spec, struct an_window *ret)
{
        int r = an_window_resolve(conn, spec, cc_http_req_arena(req), ret);
        switch (r) {
        case 0:
                return 0;
        case -EDOM:
                cc_http_reply_error(req, 422, "tz: unknown time zone %s", echo(spec->tz));
                break;
        case -ERANGE:
                cc_http_reply_error(req, 422, "start_date: must be before end_date");
                break;
        case -EOVERFLOW:
                cc_http_reply_error(req, 422,
                                    "start_date: the window must lie between 1970-01-01 and "
                                    "9999-12-31 UTC");
                break;
        case -E2BIG:
                cc_http_reply_error(req, 422,
                                    "group_by: the window holds more than %d periods; shorten it "
                                    "or group by a longer period",
                                    AN_MAX_PERIODS);
                break;
        default:
                an_reply_failure(req, r);
        }
        return r;
}

void an_caller_dim(const struct cc_auth *auth, char *ret_dim, const char **ret_id)
{
        const char *agent = an_caller_agent(auth);
        *ret_dim = agent ? 'a' : 'o';
        *ret_id = agent ? agent : "";
}

const char *an_caller_agent(const struct cc_auth *auth)
{
        return auth->role == CC_ROLE_AGENT ? auth->user_id : NULL;
}

int an_req_caller_counts(struct cc_http_req *req, struct cc_db_conn *conn,
                         const struct an_window *w, struct an_counts **ret)
{
        struct cc_arena *arena = cc_http_req_arena(req);
        struct an_cover cv;
        an_cover_build(w, arena, &cv);
        struct an_counts *per = cc_arena_alloc(arena, (w->nperiods + 1) * sizeof(*per));
        memset(per, 0, (w->nperiods + 1) * sizeof(*per));
        char dim;
        const char *dim_id;
        an_caller_dim(cc_http_req_auth(req), &dim, &dim_id);
        int r = an_store_call_counts(conn, cc_http_req_auth(req)->org_id, dim, dim_id, &cv, per);
        if (r < 0) {
                an_reply_failure(req, r);
                return r;
        }
        *ret = per;
        return 0;
}

int an_req_uuid(struct cc_http_req *req, const char *name, const char **ret)
{
        const char *v = cc_http_req_query(req, name);
        if (!v || !*v) {
                *ret = NULL;
                return 0;
        }
        if (!cc_uuid_valid(v)) {
                cc_http_reply_error(req, 422, "%s: must be a UUID", name);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int an_req_int(struct cc_http_req *req, const char *name, int64_t dflt, int64_t min, int64_t max,
               int64_t *ret)
{
        const char *v = cc_http_req_query(req, name);
        if (!v || !*v) {
                *ret = dflt;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end || x < min || x > max) {
                cc_http_reply_error(req, 422, "%s: must be an integer from %" PRId64 " to %" PRId64,
                                    name, min, max);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

void an_reply_failure(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "analytics request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

/* ---- numbers ---- */

json_object *an_json_ratio(int64_t num, int64_t den, int64_t scale)
{
        /* In integers, so 2/3 of a percent rounds the way a person would, never 66.66999. */
        __int128 hundredths = 0;
        if (den > 0 && num > 0)
                hundredths = ((__int128)num * scale * 200 + den) / ((__int128)den * 2);
        long long whole = (long long)(hundredths / 100), frac = (long long)(hundredths % 100);
        char text[48];
        if (frac % 10 == 0)
                snprintf(text, sizeof(text), "%lld.%lld", whole, frac / 10);
        else
                snprintf(text, sizeof(text), "%lld.%02lld", whole, frac);
        return json_object_new_double_s((double)hundredths / 100.0, text);
}
