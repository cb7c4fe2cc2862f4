/* GET /api/analytics/kpis: contact-center KPIs (AHT, ASA, service level, abandonment,
 * occupancy) and volumes per period, for the organization or one queue, agent or campaign. Every
 * number is a ratio of rollup counters summed over the period (docs/kpis.md has the formulas
 * and why each variant). An AGENT gets its own numbers only. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "queries.h"

#define SPAN_30D (30 * AN_DAY_MS)

static const char *const group_names[] = {"hour", "day", "week", "month"};

static void add_int(json_object *o, const char *k, int64_t v)
{
        json_object_object_add(o, k, json_object_new_int64(v));
}

/* The KPIs of one period's (or the window's) counters into o. */
static void add_kpis(json_object *o, const struct an_counts *c, bool occupancy)
{
        add_int(o, "total", c->calls);
        add_int(o, "inbound", c->inbound);
        add_int(o, "outbound", c->outbound);
        add_int(o, "completed", c->completed);
        add_int(o, "failed", c->failed);
        add_int(o, "no_answer", c->no_answer);
        add_int(o, "busy", c->busy);
        add_int(o, "canceled", c->canceled);
        add_int(o, "answered", c->answered);
        add_int(o, "handled", c->handled);
        add_int(o, "queued", c->queued);
        add_int(o, "queued_answered", c->queued_answered);
        add_int(o, "answered_within_sl", c->within_sl);
        add_int(o, "abandoned", c->abandoned);
        add_int(o, "total_duration", c->completed_duration_sum);
        json_object_object_add(o, "avg_duration",
                               an_json_ratio(c->completed_duration_sum, c->completed, 1));
        json_object_object_add(o, "completion_rate", an_json_ratio(c->completed, c->calls, 100));
        int64_t handle = c->talk_sum + c->hold_sum + c->wrap_sum;
        add_int(o, "talk_seconds", c->talk_sum);
        add_int(o, "hold_seconds", c->hold_sum);
        add_int(o, "wrap_seconds", c->wrap_sum);
        json_object_object_add(o, "aht", an_json_ratio(handle, c->handled, 1));
        add_int(o, "queue_wait_seconds", c->answered_wait_sum);
        json_object_object_add(o, "asa",
                               an_json_ratio(c->answered_wait_sum, c->queued_answered, 1));
        json_object_object_add(o, "service_level", an_json_ratio(c->within_sl, c->queued, 100));
        json_object_object_add(o, "abandonment_rate", an_json_ratio(c->abandoned, c->queued, 100));
        if (occupancy) {
                add_int(o, "available_seconds", c->available_s);
                json_object_object_add(o, "occupancy",
                                       an_json_ratio(handle, handle + c->available_s, 100));
        } else {
                /* agent time is not kept per queue or campaign */
                json_object_object_add(o, "available_seconds", NULL);
                json_object_object_add(o, "occupancy", NULL);
        }
}

static const char *lower(struct cc_http_req *req, const char *s)
{
        if (!s)
                return NULL;
        char *t = cc_arena_strdup(cc_http_req_arena(req), s);
        for (char *p = t; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return t;
}

struct kpi_filter {
        const char *queue_id, *agent_id, *campaign_id;
};

/* 0 and the filter, or a reply (422 for a bad or conflicting value, 404 for an id the
 * organization does not have) and a negative errno. */
static int read_filter(struct cc_http_req *req, struct cc_db_conn *conn, struct kpi_filter *ret)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct kpi_filter f;
        if (an_req_uuid(req, "queue_id", &f.queue_id) < 0 ||
            an_req_uuid(req, "agent_id", &f.agent_id) < 0 ||
            an_req_uuid(req, "campaign_id", &f.campaign_id) < 0)
                return -EINVAL;
        /* the rollups name dimensions by the events' (lower-case) ids */
        f.queue_id = lower(req, f.queue_id);
        f.agent_id = lower(req, f.agent_id);
        f.campaign_id = lower(req, f.campaign_id);
        if (auth->role == CC_ROLE_AGENT) {
                const char *other = f.queue_id ? "queue_id" : f.campaign_id ? "campaign_id" : NULL;
                if (other) {
                        cc_http_reply_error(req, 422,
                                            "%s: not available to agents, whose numbers are "
                                            "their own",
                                            other);
                        return -EINVAL;
                }
                if (f.agent_id && strcasecmp(f.agent_id, auth->user_id) != 0) {
                        cc_http_reply_error(req, 404, "Agent %s not found", f.agent_id);
                        return -ENOENT;
                }
                f.agent_id = auth->user_id;
                *ret = f;
                return 0;
        }
        /* The rollups keep one dimension at a time. */
        if ((f.queue_id != NULL) + (f.agent_id != NULL) + (f.campaign_id != NULL) > 1) {
                cc_http_reply_error(req, 422,
                                    "%s: only one of queue_id, agent_id, campaign_id at a time",
                                    f.queue_id ? "queue_id" : "agent_id");
                return -EINVAL;
        }
        static const struct {
                enum an_kind kind;
                const char *what;
        } kinds[] = {
            {AN_KIND_QUEUE, "Queue"}, {AN_KIND_USER, "Agent"}, {AN_KIND_CAMPAIGN, "Campaign"}};
        const char *ids[] = {f.queue_id, f.agent_id, f.campaign_id};
        for (size_t i = 0; i < CC_ARRAY_SIZE(ids); i++) {
                if (!ids[i])
                        continue;
                bool found = false;
                int r = an_store_exists(conn, auth->org_id, kinds[i].kind, ids[i], &found);
                if (r < 0) {
                        an_reply_failure(req, r);
                        return r;
                }
                if (!found) {
                        cc_http_reply_error(req, 404, "%s %s not found", kinds[i].what, ids[i]);
                        return -ENOENT;
                }
        }
        *ret = f;
        return 0;
}

static void h_kpis(struct cc_http_req *req)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        struct an_window_spec spec;
        if (an_req_window_spec(req, AN_GROUP_DAY, SPAN_30D, &spec) < 0)
                return;
        spec.whole_days = true; /* by default the last 30 days, today included */
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct kpi_filter f;
        struct an_window w;
        if (read_filter(req, conn, &f) < 0 || an_req_window(req, conn, &spec, &w) < 0) {
                cc_db_release(conn);
                return;
        }
        struct cc_arena *arena = cc_http_req_arena(req);
        struct an_cover cv;
        an_cover_build(&w, arena, &cv);
        struct an_counts *per = cc_arena_alloc(arena, (w.nperiods + 1) * sizeof(*per));
        memset(per, 0, (w.nperiods + 1) * sizeof(*per));
        char dim = f.queue_id ? 'q' : f.agent_id ? 'a' : f.campaign_id ? 'c' : 'o';
        const char *dim_id = f.queue_id      ? f.queue_id
                             : f.agent_id    ? f.agent_id
                             : f.campaign_id ? f.campaign_id
                                             : "";
        bool occupancy = dim == 'o' || dim == 'a';
        int r = an_store_call_counts(conn, auth->org_id, dim, dim_id, &cv, per);
        if (r == 0 && occupancy)
                r = an_store_agent_time(conn, auth->org_id, f.agent_id, &cv, per);
        cc_db_release(conn);
        if (r < 0) {
                an_reply_failure(req, r);
                return;
        }
        json_object *periods = json_object_new_array();
        struct an_counts sum = {0};
        for (size_t i = 0; i < w.nperiods; i++) {
                an_counts_add(&sum, &per[i]);
                json_object *p = json_object_new_object();
                json_object_object_add(p, "period", json_object_new_string(w.periods[i].key));
                cc_json_add_time(p, "start", w.periods[i].lo_ms);
                cc_json_add_time(p, "end", w.periods[i].hi_ms);
                add_kpis(p, &per[i], occupancy);
                json_object_array_add(periods, p);
        }
        json_object *summary = json_object_new_object();
        add_kpis(summary, &sum, occupancy);
        json_object *o = json_object_new_object();
        cc_json_add_time(o, "start_date", w.start_ms);
        cc_json_add_time(o, "end_date", w.end_ms);
        json_object_object_add(o, "group_by", json_object_new_string(group_names[spec.group]));
        json_object_object_add(o, "tz", json_object_new_string(spec.tz));
        cc_json_add_string(o, "queue_id", f.queue_id);
        cc_json_add_string(o, "agent_id", f.agent_id);
        cc_json_add_string(o, "campaign_id", f.campaign_id);
        json_object_object_add(o, "summary", summary);
        json_object_object_add(o, "periods", periods);
        cc_http_reply_json(req, 200, o);
}

const struct cc_http_route an_kpis_routes[] = {
    {"GET", "/api/analytics/kpis", h_kpis, CC_ROLE_AGENT, 0},
};
const size_t an_kpis_nroutes = CC_ARRAY_SIZE(an_kpis_routes);
