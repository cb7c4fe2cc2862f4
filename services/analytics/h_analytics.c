/* /api/analytics/{dashboard,calls,agents,campaigns} (contract §8.1). Any role, scoped to the
 * caller's organization; an AGENT sees its own numbers only (its calls, its calls in each
 * campaign, itself among the agents). A call counts
 * once it has ended (its call.ended is in the rollups), in the period of its start; calls in
 * progress show only as active_calls. docs/kpis.md defines every number. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cc/json.h"
#include "queries.h"

#define DAY_MS   AN_DAY_MS
#define SPAN_30D (30 * DAY_MS)

/* The whole-window counts of one dimension: a single period. */
static int window_counts(struct cc_db_conn *conn, struct cc_http_req *req, const char *org_id,
                         char dim, const char *dim_id, int64_t lo_ms, int64_t hi_ms,
                         struct an_counts *ret)
{
        struct an_period p = {.lo_ms = lo_ms, .hi_ms = hi_ms};
        struct an_window w = {.start_ms = lo_ms,
                              .end_ms = hi_ms,
                              .minutes_from_ms = an_minutes_from_ms(cc_now_ms()),
                              .periods = &p,
                              .nperiods = 1};
        struct an_cover cv;
        an_cover_build(&w, cc_http_req_arena(req), &cv);
        struct an_counts c = {0};
        int r = an_store_call_counts(conn, org_id, dim, dim_id, &cv, &c);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

static void h_dashboard(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        int64_t now = cc_now_ms(), active = 0, campaigns = 0;
        struct an_counts c;
        char dim;
        const char *dim_id;
        an_caller_dim(auth, &dim, &dim_id);
        int r;
        /* An AGENT's own calls; the running campaigns are the organization's, the ones it may
         * be dialled into. */
        if ((r = window_counts(conn, req, auth->org_id, dim, dim_id, now - DAY_MS, now, &c)) < 0 ||
            (r = an_store_live_count(conn, auth->org_id, "IN_PROGRESS", an_caller_agent(auth),
                                     &active)) < 0 ||
            (r = an_store_active_campaigns(conn, auth->org_id, &campaigns)) < 0) {
                cc_db_release(conn);
                an_reply_failure(req, r);
                return;
        }
        cc_db_release(conn);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "total_calls_24h", json_object_new_int64(c.calls));
        json_object_object_add(o, "active_calls", json_object_new_int64(active));
        json_object_object_add(o, "completed_calls_24h", json_object_new_int64(c.completed));
        json_object_object_add(o, "avg_call_duration",
                               an_json_ratio(c.completed_duration_sum, c.completed, 1));
        json_object_object_add(o, "active_campaigns", json_object_new_int64(campaigns));
        json_object_object_add(o, "completion_rate", an_json_ratio(c.completed, c.calls, 100));
        cc_http_reply_json(req, 200, o);
}

static void h_calls(struct cc_http_req *req)
{
        struct an_window_spec spec;
        if (an_req_window_spec(req, AN_GROUP_DAY, SPAN_30D, &spec) < 0)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_window w;
        if (an_req_window(req, conn, &spec, &w) < 0) {
                cc_db_release(conn);
                return;
        }
        struct an_counts *per = NULL;
        int r = an_req_caller_counts(req, conn, &w, &per);
        cc_db_release(conn);
        if (r < 0)
                return;
        struct an_counts sum = {0};
        json_object *metrics = json_object_new_array();
        for (size_t i = 0; i < w.nperiods; i++) {
                const struct an_counts *c = &per[i];
                an_counts_add(&sum, c);
                if (c->calls == 0)
                        continue; /* as the original's GROUP BY: periods with calls only */
                json_object *p = json_object_new_object();
                json_object_object_add(p, "period", json_object_new_string(w.periods[i].key));
                json_object_object_add(p, "total", json_object_new_int64(c->calls));
                json_object_object_add(p, "inbound", json_object_new_int64(c->inbound));
                json_object_object_add(p, "outbound", json_object_new_int64(c->outbound));
                json_object_object_add(p, "completed", json_object_new_int64(c->completed));
                json_object_object_add(p, "failed", json_object_new_int64(c->failed));
                json_object_object_add(p, "total_duration",
                                       json_object_new_int64(c->completed_duration_sum));
                json_object_object_add(p, "avg_duration",
                                       an_json_ratio(c->completed_duration_sum, c->completed, 1));
                json_object_object_add(p, "completion_rate",
                                       an_json_ratio(c->completed, c->calls, 100));
                json_object_array_add(metrics, p);
        }
        json_object *summary = json_object_new_object();
        json_object_object_add(summary, "total_calls", json_object_new_int64(sum.calls));
        json_object_object_add(summary, "completed_calls", json_object_new_int64(sum.completed));
        /* the contract's definition: every call's duration over the completed ones */
        json_object_object_add(summary, "avg_duration",
                               an_json_ratio(sum.duration_sum, sum.completed, 1));
        json_object_object_add(summary, "completion_rate",
                               an_json_ratio(sum.completed, sum.calls, 100));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "summary", summary);
        json_object_object_add(o, "metrics", metrics);
        cc_http_reply_json(req, 200, o);
}

static const char *full_name(struct cc_arena *arena, const char *first, const char *last)
{
        first = first ? first : "";
        last = last ? last : "";
        return cc_arena_printf(arena, "%s%s%s", first, *first && *last ? " " : "", last);
}

static void h_agents(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct an_window_spec spec;
        if (an_req_window_spec(req, AN_GROUP_NONE, SPAN_30D, &spec) < 0)
                return;
        /* by default the last 30 days, today included: a probe per agent and day bucket */
        spec.whole_days = true;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_window w;
        if (an_req_window(req, conn, &spec, &w) < 0) {
                cc_db_release(conn);
                return;
        }
        struct cc_arena *arena = cc_http_req_arena(req);
        struct an_cover cv;
        an_cover_build(&w, arena, &cv);
        struct an_user_counts *users = NULL;
        size_t n = 0;
        const char *self = auth->role == CC_ROLE_AGENT ? auth->user_id : NULL;
        int r =
            an_store_user_counts(conn, auth->org_id, "AGENT", self, false, &cv, arena, &users, &n);
        cc_db_release(conn);
        if (r < 0) {
                an_reply_failure(req, r);
                return;
        }
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                const struct an_counts *c = &users[i].c;
                json_object *o = json_object_new_object();
                json_object_object_add(o, "agent_id", json_object_new_string(users[i].user_id));
                json_object_object_add(o, "agent_name",
                                       json_object_new_string(full_name(arena, users[i].first_name,
                                                                        users[i].last_name)));
                json_object_object_add(o, "total_calls", json_object_new_int64(c->calls));
                json_object_object_add(o, "completed_calls", json_object_new_int64(c->completed));
                json_object_object_add(o, "avg_duration",
                                       an_json_ratio(c->completed_duration_sum, c->completed, 1));
                json_object_object_add(o, "completion_rate",
                                       an_json_ratio(c->completed, c->calls, 100));
                json_object_array_add(a, o);
        }
        cc_http_reply_json(req, 200, a);
}

static void h_campaigns(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_campaign_counts *v = NULL;
        size_t n = 0;
        /* every campaign, with an AGENT's own calls in it */
        int r = an_store_campaign_counts(conn, auth->org_id, an_caller_agent(auth),
                                         cc_http_req_arena(req), &v, &n);
        cc_db_release(conn);
        if (r < 0) {
                an_reply_failure(req, r);
                return;
        }
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "campaign_id", json_object_new_string(v[i].id));
                cc_json_add_string(o, "campaign_name", v[i].name);
                json_object_object_add(o, "total_calls", json_object_new_int64(v[i].c.calls));
                json_object_object_add(o, "completed_calls",
                                       json_object_new_int64(v[i].c.completed));
                json_object_object_add(o, "active", json_object_new_boolean(v[i].active));
                json_object_object_add(o, "completion_rate",
                                       an_json_ratio(v[i].c.completed, v[i].c.calls, 100));
                json_object_array_add(a, o);
        }
        cc_http_reply_json(req, 200, a);
}

const struct cc_http_route an_analytics_routes[] = {
    {"GET", "/api/analytics/dashboard", h_dashboard, CC_ROLE_AGENT, 0},
    {"GET", "/api/analytics/calls", h_calls, CC_ROLE_AGENT, 0},
    {"GET", "/api/analytics/agents", h_agents, CC_ROLE_AGENT, 0},
    {"GET", "/api/analytics/campaigns", h_campaigns, CC_ROLE_AGENT, 0},
};
const size_t an_analytics_nroutes = CC_ARRAY_SIZE(an_analytics_routes);
