/* SQL of the analytics API. Sums come from the rollups, read through a cover (periods.c): each
 * segment is one range scan of a primary key, and width_bucket files every bucket under its
 * period, so a month costs a few dozen rows per dimension whatever the number of calls. Lists
 * come from the read model's per-organization tables (users, campaigns) and the calls table
 * only through its indexes, a page at a time. Every statement is scoped by org_id. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queries.h"

/* The counters of call_rollups and agent_rollups, in the order read_*_sums reads them. */
/* clang-format off */
#define CALL_COLUMNS(X)                                                                            \
        X(calls) X(inbound) X(outbound) X(completed) X(failed) X(no_answer) X(busy) X(canceled)    \
        X(answered) X(handled) X(queued) X(queued_answered) X(within_sl) X(abandoned)              \
        X(duration_sum) X(completed_duration_sum) X(talk_sum) X(hold_sum) X(wrap_sum)              \
        X(answered_wait_sum)
/* clang-format on */
#define AGENT_COLUMNS(X) X(available_s) X(busy_s) X(wrap_up_s) X(break_s) X(training_s) X(offline_s)
#define NCALL_SUMS       20

/* ", sum(r.calls) AS calls, ..." over rollup rows, and ", coalesce(sum(x.calls), 0) AS
 * calls, ..." over those sums. */
#define SUM_OF_ROWS(c) ", sum(r." #c ") AS " #c
#define SUM_OF_SUMS(c) ", coalesce(sum(x." #c "), 0) AS " #c

/* The cover's segments ($2 grains, $3 / $4 bounds in seconds) and the periods' first minutes
 * ($5) as a sorted array for width_bucket. */
#define SEGMENTS "unnest($2::text[], $3::bigint[], $4::bigint[]) AS s(g, lo, hi)"
#define PERIODS                                                                                    \
        "(SELECT array_agg(to_timestamp(x) ORDER BY x) AS a FROM unnest($5::bigint[]) AS x) b"
#define IN_SEGMENT                                                                                 \
        "r.grain = s.g::\"char\" AND r.bucket >= to_timestamp(s.lo) "                              \
        "AND r.bucket < to_timestamp(s.hi)"

/* Each segment is summed in a subquery of its own: an aggregate cannot be flattened into a
 * join, so every segment stays one index range scan. (As a plain join the planner prefers
 * hashing the segments against a scan of the organization's every row.) A period made of
 * several segments comes back as several rows, which per_period adds up: summing them again in
 * SQL cost more than the scans (numeric sums, a second sort) once periods are many. */
#define PER_PERIOD(TABLE, COLUMNS, WHERE)                                                          \
        "SELECT x.* FROM " PERIODS ", " SEGMENTS " CROSS JOIN LATERAL ("                           \
        "  SELECT width_bucket(r.bucket, b.a) - 1 AS p" COLUMNS(                                   \
            SUM_OF_ROWS) " FROM " TABLE " r "                                                      \
                         "  WHERE r.org_id = $1 AND " WHERE IN_SEGMENT " GROUP BY 1) x"

static const char call_counts_sql[] =
    PER_PERIOD("call_rollups", CALL_COLUMNS, "r.dim = $6 AND r.dim_id = $7 AND ");
/* The organization's agent time is the total the writer keeps under the nil user id
 * (rollup.c): one row per bucket however many agents there are. An agent's own read never
 * returns that row, whatever id it is given. */
#define ORG_TOTAL_USER "'00000000-0000-0000-0000-000000000000'::uuid"
static const char agent_time_sql[] =
    PER_PERIOD("agent_rollups", AGENT_COLUMNS, "r.user_id = " ORG_TOTAL_USER " AND ");
static const char agent_time_one_sql[] = PER_PERIOD(
    "agent_rollups", AGENT_COLUMNS, "r.user_id = $6 AND r.user_id <> " ORG_TOTAL_USER " AND ");

/* Users with their calls over the window: one index range scan per user and segment. */
#define USER_COUNTS(WHERE, ORDER)                                                                  \
        "SELECT u.id, u.first_name, u.last_name, y.* FROM users u CROSS JOIN LATERAL ("            \
        "  SELECT 0 AS p" CALL_COLUMNS(                                                            \
            SUM_OF_SUMS) " FROM " SEGMENTS " CROSS JOIN LATERAL ("                                 \
                         "    SELECT 0" CALL_COLUMNS(                                              \
                             SUM_OF_ROWS) " FROM call_rollups r "                                  \
                                          "    WHERE r.org_id = $1 AND r.dim = 'a' AND r.dim_id "  \
                                          "= u.id::text AND " IN_SEGMENT "  ) x"                   \
                                          ") y WHERE u.org_id = $1 " WHERE " ORDER BY " ORDER

static const char users_by_role_sql[] =
    USER_COUNTS("AND u.role = $5", "u.first_name, u.last_name, u.id");
static const char user_one_sql[] = USER_COUNTS("AND u.id = $5", "u.id");
static const char users_active_sql[] = USER_COUNTS("AND y.calls > 0", "y.calls DESC, u.id");

static const char all_time_sql[] = "SELECT 0" CALL_COLUMNS(
    SUM_OF_ROWS) " FROM call_rollups r "
                 "WHERE r.org_id = $1 AND r.dim = $2 AND r.dim_id = $3 AND r.grain = 'd'";

#define CAMPAIGN_COUNTS(WHERE)                                                                     \
        "SELECT c.id, c.name, c.active, x.* FROM campaigns c CROSS JOIN LATERAL ("                 \
        "  SELECT 0" CALL_COLUMNS(                                                                 \
            SUM_OF_ROWS) " FROM call_rollups r "                                                   \
                         "  WHERE r.org_id = $1 AND " WHERE " AND r.grain = 'd'"                   \
                         ") x WHERE c.org_id = $1 ORDER BY c.created_at DESC NULLS LAST, c.id"
static const char campaign_counts_sql[] = CAMPAIGN_COUNTS("r.dim = 'c' AND r.dim_id = c.id::text");
/* An agent's calls in each campaign: dimension 'x', "<campaign>/<agent>" (rollup.c). */
static const char campaign_agent_counts_sql[] =
    CAMPAIGN_COUNTS("r.dim = 'x' AND r.dim_id = c.id::text || '/' || $2");

/* The live statuses of calls_org_live's predicate, so the partial index serves it. */
static const char live_count_sql[] =
    "SELECT count(*) FROM calls WHERE org_id = $1 AND NOT ended "
    "AND status IN ('QUEUED', 'RINGING', 'IN_PROGRESS', 'ON_HOLD') AND status = $2 "
    "AND ($3::text IS NULL OR agent_id = $3)";

static const char active_campaigns_sql[] =
    "SELECT count(*) FROM campaigns WHERE org_id = $1 AND active AND NOT completed";

#define CALL_COLS                                                                                  \
        "id, from_number, to_number, status, direction, nullif(agent_id, ''), "                    \
        "(extract(epoch FROM started_at) * 1000)::bigint, "                                        \
        "(extract(epoch FROM ended_at) * 1000)::bigint, duration_s"

/* The live ones are few (calls_org_live holds only them): the agent is a filter. */
static const char calls_live_sql[] =
    "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND NOT ended "
    "AND status IN ('QUEUED', 'RINGING', 'IN_PROGRESS', 'ON_HOLD') AND status <> 'QUEUED' "
    "AND ($3::text IS NULL OR agent_id = $3) "
    "ORDER BY started_at DESC NULLS LAST, id LIMIT $2";

/* calls_org_started's and calls_agent_started's order, so the newest page is read off the
 * index. */
static const char calls_recent_sql[] =
    "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND started_at IS NOT NULL "
    "ORDER BY started_at DESC, id LIMIT $2";
static const char calls_recent_agent_sql[] =
    "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND agent_id = $3 AND agent_id <> '' "
    "AND started_at IS NOT NULL ORDER BY started_at DESC, id LIMIT $2";

static const char members_sql[] =
    "SELECT id, email, first_name, last_name, role, status, nullif(department, ''), "
    "version_ms FROM users WHERE org_id = $1 AND ($2::uuid IS NULL OR id = $2) "
    "ORDER BY first_name, last_name, id";

static const char *const exists_sql[] = {
    [AN_KIND_USER] = "SELECT 1 FROM users WHERE org_id = $1 AND id = $2::uuid",
    [AN_KIND_QUEUE] = "SELECT 1 FROM queues WHERE org_id = $1 AND id = $2",
    [AN_KIND_CAMPAIGN] = "SELECT 1 FROM campaigns WHERE org_id = $1 AND id = $2::uuid",
};

_Static_assert(sizeof(struct an_counts) % sizeof(int64_t) == 0, "an_counts holds int64_t only");

void an_counts_add(struct an_counts *to, const struct an_counts *c)
{
        /* every field is an int64_t: add them as an array */
        int64_t *t = (int64_t *)to;
        const int64_t *f = (const int64_t *)c;
        for (size_t i = 0; i < sizeof(*to) / sizeof(int64_t); i++)
                t[i] += f[i];
}

static int64_t col_i64(PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *col_str(PGresult *res, int row, int col, struct cc_arena *arena)
{
        return PQgetisnull(res, row, col) ? NULL
                                          : cc_arena_strdup(arena, PQgetvalue(res, row, col));
}

static void read_call_sums(PGresult *res, int row, int col, struct an_counts *c)
{
        int64_t *v[NCALL_SUMS] = {
            &c->calls,     &c->inbound,   &c->outbound,     &c->completed,
            &c->failed,    &c->no_answer, &c->busy,         &c->canceled,
            &c->answered,  &c->handled,   &c->queued,       &c->queued_answered,
            &c->within_sl, &c->abandoned, &c->duration_sum, &c->completed_duration_sum,
            &c->talk_sum,  &c->hold_sum,  &c->wrap_sum,     &c->answered_wait_sum,
        };
        for (int i = 0; i < NCALL_SUMS; i++)
                *v[i] = col_i64(res, row, col + i);
}

static void read_agent_sums(PGresult *res, int row, int col, struct an_counts *c)
{
        c->available_s += col_i64(res, row, col);
        c->busy_s += col_i64(res, row, col + 1);
        c->wrap_up_s += col_i64(res, row, col + 2);
        c->break_s += col_i64(res, row, col + 3);
        c->training_s += col_i64(res, row, col + 4);
        c->offline_s += col_i64(res, row, col + 5);
}

/* The cover as PostgreSQL array literals: $2 grains, $3 / $4 segment bounds, $5 periods. */
struct cover_params {
        char *grains, *lo, *hi, *bounds;
};

static void cover_params_init(struct cover_params *p, const struct an_cover *cv)
{
        struct cc_strbuf g = {0}, lo = {0}, hi = {0}, b = {0};
        cc_strbuf_puts(&g, "{");
        cc_strbuf_puts(&lo, "{");
        cc_strbuf_puts(&hi, "{");
        cc_strbuf_puts(&b, "{");
        for (size_t i = 0; i < cv->nsegs; i++) {
                const char *sep = i ? "," : "";
                cc_strbuf_printf(&g, "%s%c", sep, cv->grains[i]);
                cc_strbuf_printf(&lo, "%s%" PRId64, sep, cv->lo_s[i]);
                cc_strbuf_printf(&hi, "%s%" PRId64, sep, cv->hi_s[i]);
        }
        for (size_t i = 0; i < cv->nperiods; i++)
                cc_strbuf_printf(&b, "%s%" PRId64, i ? "," : "", cv->bounds_s[i]);
        cc_strbuf_puts(&g, "}");
        cc_strbuf_puts(&lo, "}");
        cc_strbuf_puts(&hi, "}");
        cc_strbuf_puts(&b, "}");
        p->grains = cc_strbuf_take(&g);
        p->lo = cc_strbuf_take(&lo);
        p->hi = cc_strbuf_take(&hi);
        p->bounds = cc_strbuf_take(&b);
}

static void cover_params_fini(struct cover_params *p)
{
        free(p->grains);
        free(p->lo);
        free(p->hi);
        free(p->bounds);
}

/* Runs a per-period sum (first column the period's index) and hands each row to read. */
static int per_period(struct cc_db_conn *conn, const char *sql, const char *org_id,
                      const char *extra1, const char *extra2, int nextra, const struct an_cover *cv,
                      void (*read)(PGresult *, int, int, struct an_counts *), struct an_counts *ret)
{
        if (cv->nsegs == 0 || cv->nperiods == 0)
                return 0;
        struct cover_params cp;
        cover_params_init(&cp, cv);
        const char *params[] = {org_id, cp.grains, cp.lo, cp.hi, cp.bounds, extra1, extra2};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, 5 + nextra, params, &res);
        cover_params_fini(&cp);
        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                int64_t p = col_i64(res, i, 0);
                if (p >= 0 && (size_t)p < cv->nperiods) {
                        struct an_counts c = {0};
                        read(res, i, 1, &c);
                        an_counts_add(&ret[p], &c);
                }
        }
        PQclear(res);
        return 0;
}

int an_store_call_counts(struct cc_db_conn *conn, const char *org_id, char dim, const char *dim_id,
                         const struct an_cover *cv, struct an_counts *ret)
{
        char d[2] = {dim, '\0'};
        return per_period(conn, call_counts_sql, org_id, d, dim_id ? dim_id : "", 2, cv,
                          read_call_sums, ret);
}

int an_store_agent_time(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                        const struct an_cover *cv, struct an_counts *ret)
{
        return per_period(conn, user_id ? agent_time_one_sql : agent_time_sql, org_id, user_id,
                          NULL, user_id ? 1 : 0, cv, read_agent_sums, ret);
}

int an_store_all_time(struct cc_db_conn *conn, const char *org_id, char dim, const char *dim_id,
                      struct an_counts *ret)
{
        char d[2] = {dim, '\0'};
        const char *params[] = {org_id, d, dim_id ? dim_id : ""};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, all_time_sql, 3, params, &res);
        if (r < 0)
                return r;
        struct an_counts c = {0};
        if (PQntuples(res) == 1)
                read_call_sums(res, 0, 1, &c);
        PQclear(res);
        *ret = c;
        return 0;
}

static int query_count(struct cc_db_conn *conn, const char *sql, int n, const char *const *params,
                       int64_t *ret)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, &res);
        if (r < 0)
                return r;
        *ret = PQntuples(res) == 1 ? col_i64(res, 0, 0) : 0;
        PQclear(res);
        return 0;
}

int an_store_live_count(struct cc_db_conn *conn, const char *org_id, const char *status,
                        const char *agent_id, int64_t *ret)
{
        const char *params[] = {org_id, status, agent_id};
        return query_count(conn, live_count_sql, 3, params, ret);
}

int an_store_active_campaigns(struct cc_db_conn *conn, const char *org_id, int64_t *ret)
{
        return query_count(conn, active_campaigns_sql, 1, &org_id, ret);
}

int an_store_exists(struct cc_db_conn *conn, const char *org_id, enum an_kind kind, const char *id,
                    bool *ret)
{
        const char *params[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, exists_sql[kind], 2, params, &res);
        if (r < 0)
                return r;
        *ret = PQntuples(res) > 0;
        PQclear(res);
        return 0;
}

int an_store_user_counts(struct cc_db_conn *conn, const char *org_id, const char *role,
                         const char *only_user, bool active_only, const struct an_cover *cv,
                         struct cc_arena *arena, struct an_user_counts **ret, size_t *ret_n)
{
        const char *sql = only_user     ? user_one_sql
                          : active_only ? users_active_sql
                                        : users_by_role_sql;
        struct cover_params cp;
        cover_params_init(&cp, cv);
        const char *params[] = {org_id, cp.grains, cp.lo, cp.hi, only_user ? only_user : role};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, only_user || !active_only ? 5 : 4, params, &res);
        cover_params_fini(&cp);
        if (r < 0)
                return r;
        size_t n = (size_t)PQntuples(res);
        struct an_user_counts *v = cc_arena_alloc(arena, (n ? n : 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                memset(&v[i], 0, sizeof(v[i]));
                v[i].user_id = col_str(res, (int)i, 0, arena);
                v[i].first_name = col_str(res, (int)i, 1, arena);
                v[i].last_name = col_str(res, (int)i, 2, arena);
                read_call_sums(res, (int)i, 4, &v[i].c);
        }
        PQclear(res);
        *ret = v;
        *ret_n = n;
        return 0;
}

int an_store_campaign_counts(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                             struct cc_arena *arena, struct an_campaign_counts **ret, size_t *ret_n)
{
        const char *params[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, agent_id ? campaign_agent_counts_sql : campaign_counts_sql,
                           agent_id ? 2 : 1, params, &res);
        if (r < 0)
                return r;
        size_t n = (size_t)PQntuples(res);
        struct an_campaign_counts *v = cc_arena_alloc(arena, (n ? n : 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                memset(&v[i], 0, sizeof(v[i]));
                v[i].id = col_str(res, (int)i, 0, arena);
                v[i].name = col_str(res, (int)i, 1, arena);
                v[i].active = strcmp(PQgetvalue(res, (int)i, 2), "t") == 0;
                read_call_sums(res, (int)i, 4, &v[i].c);
        }
        PQclear(res);
        *ret = v;
        *ret_n = n;
        return 0;
}

int an_store_calls(struct cc_db_conn *conn, const char *org_id, const char *agent_id, bool live,
                   int limit, struct cc_arena *arena, struct an_call_row **ret, size_t *ret_n)
{
        char lim[16];
        snprintf(lim, sizeof(lim), "%d", limit);
        const char *params[] = {org_id, lim, agent_id};
        const char *sql = live       ? calls_live_sql
                          : agent_id ? calls_recent_agent_sql
                                     : calls_recent_sql;
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, live || agent_id ? 3 : 2, params, &res);
        if (r < 0)
                return r;
        size_t n = (size_t)PQntuples(res);
        struct an_call_row *v = cc_arena_alloc(arena, (n ? n : 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                int row = (int)i;
                v[i] = (struct an_call_row){
                    .id = col_str(res, row, 0, arena),
                    .from_number = col_str(res, row, 1, arena),
                    .to_number = col_str(res, row, 2, arena),
                    .status = col_str(res, row, 3, arena),
                    .direction = col_str(res, row, 4, arena),
                    .agent_id = col_str(res, row, 5, arena),
                    .started_ms = PQgetisnull(res, row, 6) ? -1 : col_i64(res, row, 6),
                    .ended_ms = PQgetisnull(res, row, 7) ? -1 : col_i64(res, row, 7),
                    .duration_s = PQgetisnull(res, row, 8) ? -1 : (int)col_i64(res, row, 8),
                };
        }
        PQclear(res);
        *ret = v;
        *ret_n = n;
        return 0;
}

int an_store_members(struct cc_db_conn *conn, const char *org_id, const char *only_user,
                     struct cc_arena *arena, struct an_member **ret, size_t *ret_n)
{
        const char *params[] = {org_id, only_user};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, members_sql, 2, params, &res);
        if (r < 0)
                return r;
        size_t n = (size_t)PQntuples(res);
        struct an_member *v = cc_arena_alloc(arena, (n ? n : 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                int row = (int)i;
                int64_t version = col_i64(res, row, 7);
                v[i] = (struct an_member){
                    .id = col_str(res, row, 0, arena),
                    .email = col_str(res, row, 1, arena),
                    .first_name = col_str(res, row, 2, arena),
                    .last_name = col_str(res, row, 3, arena),
                    .role = col_str(res, row, 4, arena),
                    .status = col_str(res, row, 5, arena),
                    .department = col_str(res, row, 6, arena),
                    .updated_ms = version > 0 ? version : -1,
                };
        }
        PQclear(res);
        *ret = v;
        *ret_n = n;
        return 0;
}
