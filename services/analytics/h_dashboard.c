/* /api/dashboard/{overview,stats,agent-performance} (contract §8.2, camelCase keys). Any role,
 * scoped to the caller's organization; an AGENT sees only its own calls, numbers and member
 * entry. Counts are of calls that have ended (the rollups); the
 * live and newest calls come from the read model's indexes, 25 at most. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cc/json.h"
#include "queries.h"

#define PAGE 25

static void add_int(json_object *o, const char *k, int64_t v)
{
        json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *call_json(const struct an_call_row *c, bool live)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", c->id);
        cc_json_add_string(o, "fromNumber", c->from_number);
        cc_json_add_string(o, "toNumber", c->to_number);
        cc_json_add_string(o, "status", c->status);
        cc_json_add_time(o, "startTime", c->started_ms);
        if (!live) {
                cc_json_add_time(o, "endTime", c->ended_ms);
                json_object_object_add(
                    o, "duration", c->duration_s >= 0 ? json_object_new_int(c->duration_s) : NULL);
        }
        cc_json_add_string(o, "agentId", c->agent_id);
        cc_json_add_string(o, "direction", c->direction);
        if (live)
                json_object_object_add(o, "metadata", NULL); /* not in the event stream */
        return o;
}

static void h_overview(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *arena = cc_http_req_arena(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_call_row *live = NULL, *recent = NULL;
        struct an_member *members = NULL;
        size_t nlive = 0, nrecent = 0, nmembers = 0;
        struct an_counts all;
        /* An AGENT: its own calls, itself as the only member, its own totals. */
        const char *self = an_caller_agent(auth);
        char dim;
        const char *dim_id;
        an_caller_dim(auth, &dim, &dim_id);
        int r;
        if ((r = an_store_calls(conn, auth->org_id, self, true, PAGE, arena, &live, &nlive)) < 0 ||
            (r = an_store_calls(conn, auth->org_id, self, false, PAGE, arena, &recent, &nrecent)) <
                0 ||
            (r = an_store_members(conn, auth->org_id, self, arena, &members, &nmembers)) < 0 ||
            (r = an_store_all_time(conn, auth->org_id, dim, dim_id, &all)) < 0) {
                cc_db_release(conn);
                an_reply_failure(req, r);
                return;
        }
        cc_db_release(conn);

        json_object *active = json_object_new_array(), *recents = json_object_new_array();
        for (size_t i = 0; i < nlive; i++)
                json_object_array_add(active, call_json(&live[i], true));
        for (size_t i = 0; i < nrecent; i++)
                json_object_array_add(recents, call_json(&recent[i], false));

        int64_t available = 0, on_call = 0;
        json_object *list = json_object_new_array();
        for (size_t i = 0; i < nmembers; i++) {
                const struct an_member *m = &members[i];
                bool is_on_call = false;
                for (size_t j = 0; j < nlive && !is_on_call; j++)
                        is_on_call = live[j].agent_id && strcmp(live[j].agent_id, m->id) == 0;
                /* the contract's mapping: an ACTIVE account is available, any other offline */
                bool is_available = m->status && strcmp(m->status, "ACTIVE") == 0;
                available += is_available;
                on_call += is_on_call;
                json_object *o = json_object_new_object();
                cc_json_add_string(o, "id", m->id);
                cc_json_add_string(o, "email", m->email);
                cc_json_add_string(o, "firstName", m->first_name);
                cc_json_add_string(o, "lastName", m->last_name);
                cc_json_add_string(o, "role", m->role);
                cc_json_add_string(o, "status", is_available ? "available" : "offline");
                cc_json_add_string(o, "department", m->department);
                json_object_object_add(o, "phoneExtension", NULL);
                json_object_object_add(o, "isOnCall", json_object_new_boolean(is_on_call));
                cc_json_add_time(o, "updatedAt", m->updated_ms);
                json_object_object_add(o, "lastLoginAt", NULL);
                json_object_array_add(list, o);
        }

        json_object *stats = json_object_new_object();
        add_int(stats, "totalCalls", all.calls);
        add_int(stats, "completedCalls", all.completed);
        add_int(stats, "missedCalls", all.no_answer);
        add_int(stats, "agentHandledCalls", all.handled);
        json_object_object_add(stats, "averageDuration",
                               an_json_ratio(all.duration_sum, all.calls, 1));
        add_int(stats, "availableMembers", available);
        add_int(stats, "onCallMembers", on_call);
        add_int(stats, "onBreakMembers", 0);

        json_object *o = json_object_new_object();
        json_object_object_add(o, "activeCalls", active);
        json_object_object_add(o, "recentCalls", recents);
        json_object_object_add(o, "members", list);
        json_object_object_add(o, "stats", stats);
        cc_http_reply_json(req, 200, o);
}

/* The last `days` calendar days in tz (UTC by default), today included: whole days, so the
 * window is read from day buckets (or hours in a zone off UTC by whole hours). */
static int days_window(struct cc_http_req *req, struct cc_db_conn *conn, enum an_group group,
                       int64_t *ret_days, struct an_window *ret)
{
        struct an_window_spec spec = {.now_ms = cc_now_ms(), .group = group, .whole_days = true};
        int64_t days;
        if (an_req_int(req, "days", 7, 1, 365, &days) < 0 || an_req_tz(req, &spec.tz) < 0)
                return -EINVAL;
        spec.span_ms = days * AN_DAY_MS;
        int r = an_req_window(req, conn, &spec, ret);
        if (r < 0)
                return r;
        *ret_days = days;
        return 0;
}

static void h_stats(struct cc_http_req *req)
{
        struct cc_arena *arena = cc_http_req_arena(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_window w;
        int64_t days;
        if (days_window(req, conn, AN_GROUP_DAY, &days, &w) < 0) {
                cc_db_release(conn);
                return;
        }
        struct an_counts *per = NULL;
        int r = an_req_caller_counts(req, conn, &w, &per);
        cc_db_release(conn);
        if (r < 0)
                return;
        struct an_counts sum = {0};
        json_object *daily = json_object_new_array();
        for (size_t i = 0; i < w.nperiods; i++) {
                const struct an_counts *c = &per[i];
                an_counts_add(&sum, c);
                if (c->calls == 0)
                        continue;
                json_object *d = json_object_new_object();
                json_object_object_add(d, "date", json_object_new_string(w.periods[i].key));
                add_int(d, "total", c->calls);
                add_int(d, "completed", c->completed);
                add_int(d, "missed", c->no_answer);
                json_object_object_add(d, "avgDuration",
                                       an_json_ratio(c->duration_sum, c->calls, 1));
                json_object_array_add(daily, d);
        }
        json_object *summary = json_object_new_object();
        add_int(summary, "totalCalls", sum.calls);
        add_int(summary, "completedCalls", sum.completed);
        add_int(summary, "missedCalls", sum.no_answer);
        json_object_object_add(summary, "averageDuration",
                               an_json_ratio(sum.duration_sum, sum.calls, 1));
        json_object_object_add(summary, "completionRate",
                               an_json_ratio(sum.completed, sum.calls, 100));
        json_object *o = json_object_new_object();
        json_object_object_add(
            o, "period",
            json_object_new_string(cc_arena_printf(arena, "last_%lld_days", (long long)days)));
        json_object_object_add(o, "summary", summary);
        json_object_object_add(o, "daily", daily);
        cc_http_reply_json(req, 200, o);
}

static void h_agent_performance(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct cc_arena *arena = cc_http_req_arena(req);
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct an_window w;
        int64_t days;
        if (days_window(req, conn, AN_GROUP_NONE, &days, &w) < 0) {
                cc_db_release(conn);
                return;
        }
        struct an_cover cv;
        an_cover_build(&w, arena, &cv);
        struct an_user_counts *users = NULL;
        size_t n = 0;
        int r = an_store_user_counts(conn, auth->org_id, NULL, an_caller_agent(auth), true, &cv,
                                     arena, &users, &n);
        cc_db_release(conn);
        if (r < 0) {
                an_reply_failure(req, r);
                return;
        }
        json_object *agents = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                const struct an_counts *c = &users[i].c;
                if (c->calls == 0)
                        continue; /* an AGENT without calls in the window, as anyone's list */
                json_object *a = json_object_new_object();
                cc_json_add_string(a, "agentId", users[i].user_id);
                add_int(a, "totalCalls", c->calls);
                add_int(a, "completedCalls", c->completed);
                json_object_object_add(a, "completionRate",
                                       an_json_ratio(c->completed, c->calls, 100));
                json_object_object_add(a, "averageDuration",
                                       an_json_ratio(c->duration_sum, c->calls, 1));
                json_object_array_add(agents, a);
        }
        json_object *o = json_object_new_object();
        json_object_object_add(
            o, "period",
            json_object_new_string(cc_arena_printf(arena, "last_%lld_days", (long long)days)));
        json_object_object_add(o, "agents", agents);
        cc_http_reply_json(req, 200, o);
}

const struct cc_http_route an_dashboard_routes[] = {
    {"GET", "/api/dashboard/overview", h_overview, CC_ROLE_AGENT, 0},
    {"GET", "/api/dashboard/stats", h_stats, CC_ROLE_AGENT, 0},
    {"GET", "/api/dashboard/agent-performance", h_agent_performance, CC_ROLE_AGENT, 0},
};
const size_t an_dashboard_nroutes = CC_ARRAY_SIZE(an_dashboard_routes);
