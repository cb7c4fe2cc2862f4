/* Helpers shared by the analytics service's integration tests (included, not linked; inline so a
 * program need not use every one): a schema migrated as the service migrates its own, the
 * service started in-process, events built as telephony and the gateway build them, and the
 * handler run on them the way the consumer runs it. */
#pragma once

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "cc/consume.h"
#include "cc/migrate.h"
#include "cc/outbox.h"
#include "testlib.h"

static char at_prefix[48];
static char at_schema[64];
static struct cc_service_def at_def;

static inline void at_suite_setup(void)
{
        cc_test_unique("antest", at_prefix, sizeof(at_prefix));
}

static inline void at_suite_teardown(void)
{
        cc_test_drop_schemas(at_prefix);
}

/* A fresh schema with the service's migrations (the library's outbox and processed_events
 * first, as cc_service_start runs them) and a pool whose sessions live in it. No consumer, no
 * HTTP: for tests that call the handler themselves. */
static inline struct cc_db_pool *at_db_open(void)
{
        cc_test_unique(at_prefix, at_schema, sizeof(at_schema));
        const struct cc_service_def *def = analytics_service_def();
        size_t n = def->nmigrations + 1;
        struct cc_migration *migs = cc_xcalloc(n, sizeof(*migs));
        migs[0] = cc_outbox_migration;
        memcpy(migs + 1, def->migrations, def->nmigrations * sizeof(*migs));
        struct cc_db_pool *pool = cc_test_pool(at_schema, 2, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char err[512];
        int r = cc_migrate_run(conn, at_schema, migs, n, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate: %s", err);
        cc_db_release(conn);
        free(migs);
        return pool;
}

/* The whole service in-process in a schema (and consumer group) of its own. */
static inline struct cc_service *at_start(void)
{
        cc_test_service_env(0);
        const char *level = getenv("CC_TEST_LOG_LEVEL");
        setenv("CC_LOG_LEVEL", level ? level : "error", 1);
        cc_test_unique(at_prefix, at_schema, sizeof(at_schema));
        at_def = *analytics_service_def();
        at_def.name = at_schema;
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&at_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

/* ---- events ---- */

/* One event and the storage of its payload (strings are borrowed from the caller). */
struct at_event {
        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        Cc__Events__V1__User user;
        Cc__Events__V1__UserCreated user_created;
        Cc__Events__V1__UserUpdated user_updated;
        Cc__Events__V1__Campaign campaign;
        Cc__Events__V1__CampaignCreated campaign_created;
        Cc__Events__V1__CampaignUpdated campaign_updated;
        Cc__Events__V1__CampaignCompleted campaign_completed;
        Cc__Events__V1__CallStarted call_started;
        Cc__Events__V1__CallUpdated call_updated;
        Cc__Events__V1__CallAnswered call_answered;
        Cc__Events__V1__CallEnded call_ended;
        Cc__Events__V1__CallWrappedUp call_wrapped_up;
        Cc__Events__V1__AgentStatusChanged agent;
};

static inline void at_event_init(struct at_event *ev, const char *type, const char *org_id,
                                 int64_t at_ms)
{
        memset(ev, 0, sizeof(*ev));
        cc_event_init(&ev->env, type, org_id, at_ms, "test", NULL, ev->event_id);
}

/* A call as telephony would account it in call.ended; the other events take what they need. */
struct at_call {
        const char *id, *agent, *queue, *campaign, *queue_name;
        bool outbound, abandoned;
        Cc__Events__V1__CallStatus status; /* terminal */
        int64_t start, answer, end;        /* ms; answer 0 when never answered */
        int duration, talk, hold, wrap, wait, sl;
};

static inline char *at_s(const char *s)
{
        return (char *)(s ? s : "");
}

static inline Cc__Events__V1__CallDirection at_direction(const struct at_call *c)
{
        return c->outbound ? CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND
                           : CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
}

/* call.started: QUEUED in its queue (RINGING outside one), no agent yet. */
static inline void at_ev_call_started(struct at_event *ev, const char *org_id,
                                      const struct at_call *c)
{
        at_event_init(ev, "call.started", org_id, c->start);
        Cc__Events__V1__CallStarted *p = &ev->call_started;
        cc__events__v1__call_started__init(p);
        p->call_id = at_s(c->id);
        p->direction = at_direction(c);
        p->status = c->queue ? CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_QUEUED
                             : CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_RINGING;
        p->from_number = c->outbound ? "+15550000001" : "+15551230000";
        p->to_number = c->outbound ? "+15551230000" : "+15550000001";
        p->agent_id = "";
        p->queue_id = at_s(c->queue);
        p->campaign_id = at_s(c->campaign);
        p->started_at_ms = c->start;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED;
        ev->env.call_started = p;
}

static inline void at_ev_call_updated(struct at_event *ev, const char *org_id,
                                      const struct at_call *c, Cc__Events__V1__CallStatus status,
                                      bool with_agent, int64_t at)
{
        at_event_init(ev, "call.updated", org_id, at);
        Cc__Events__V1__CallUpdated *p = &ev->call_updated;
        cc__events__v1__call_updated__init(p);
        p->call_id = at_s(c->id);
        p->status = status;
        p->agent_id = with_agent ? at_s(c->agent) : "";
        p->queue_id = at_s(c->queue);
        p->on_hold = status == CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_ON_HOLD;
        p->changed_at_ms = at;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
        ev->env.call_updated = p;
}

static inline void at_ev_call_answered(struct at_event *ev, const char *org_id,
                                       const struct at_call *c)
{
        at_event_init(ev, "call.answered", org_id, c->answer);
        Cc__Events__V1__CallAnswered *p = &ev->call_answered;
        cc__events__v1__call_answered__init(p);
        p->call_id = at_s(c->id);
        p->agent_id = at_s(c->agent);
        p->queue_id = at_s(c->queue);
        p->answered_at_ms = c->answer;
        p->queue_wait_seconds = c->wait;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED;
        ev->env.call_answered = p;
}

static inline void at_ev_call_ended(struct at_event *ev, const char *org_id,
                                    const struct at_call *c)
{
        at_event_init(ev, "call.ended", org_id, c->end);
        Cc__Events__V1__CallEnded *p = &ev->call_ended;
        cc__events__v1__call_ended__init(p);
        p->call_id = at_s(c->id);
        p->status = c->status;
        p->direction = at_direction(c);
        p->agent_id = at_s(c->agent);
        p->queue_id = at_s(c->queue);
        p->campaign_id = at_s(c->campaign);
        p->contact_id = "";
        p->started_at_ms = c->start;
        p->answered_at_ms = c->answer;
        p->ended_at_ms = c->end;
        p->duration_seconds = c->duration;
        p->talk_seconds = c->talk;
        p->hold_seconds = c->hold;
        p->wrap_up_seconds = c->wrap;
        p->queue_wait_seconds = c->wait;
        p->abandoned = c->abandoned;
        p->disposition = "";
        p->from_number = c->outbound ? "+15550000001" : "+15551230000";
        p->to_number = c->outbound ? "+15551230000" : "+15550000001";
        p->service_level_seconds = c->sl;
        p->queue_name = at_s(c->queue_name);
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        ev->env.call_ended = p;
}

/* call.ended as telephony writes it at the hang-up of a call whose agent goes into wrap-up:
 * no wrap-up seconds yet, and the flag that they follow. */
static inline void at_ev_call_ended_pending(struct at_event *ev, const char *org_id,
                                            const struct at_call *c)
{
        at_ev_call_ended(ev, org_id, c);
        ev->call_ended.wrap_up_seconds = 0;
        ev->call_ended.wrap_up_pending = true;
}

/* call.wrapped_up: the end of the agent's wrap-up after c, c->wrap seconds after its end. */
static inline void at_ev_call_wrapped_up(struct at_event *ev, const char *org_id,
                                         const struct at_call *c)
{
        at_event_init(ev, "call.wrapped_up", org_id, c->end + c->wrap * 1000LL);
        Cc__Events__V1__CallWrappedUp *p = &ev->call_wrapped_up;
        cc__events__v1__call_wrapped_up__init(p);
        p->call_id = at_s(c->id);
        p->agent_id = at_s(c->agent);
        p->queue_id = at_s(c->queue);
        p->campaign_id = at_s(c->campaign);
        p->started_at_ms = c->start;
        p->ended_at_ms = c->end;
        p->wrap_up_seconds = c->wrap;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_WRAPPED_UP;
        ev->env.call_wrapped_up = p;
}

/* The events telephony writes over a call's life, in order: started, the agent ringing and
 * answering (answered + updated IN_PROGRESS), an optional hold, the terminal update at the
 * hang-up and call.ended. Returns how many it wrote into evs (at most 7). */
static inline int at_call_events(struct at_event *evs, const char *org_id, const struct at_call *c)
{
        int n = 0;
        at_ev_call_started(&evs[n++], org_id, c);
        if (c->answer) {
                at_ev_call_answered(&evs[n++], org_id, c);
                at_ev_call_updated(&evs[n++], org_id, c,
                                   CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS, true,
                                   c->answer);
                if (c->hold) {
                        at_ev_call_updated(&evs[n++], org_id, c,
                                           CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_ON_HOLD, true,
                                           c->answer + 1000);
                        at_ev_call_updated(&evs[n++], org_id, c,
                                           CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS,
                                           true, c->answer + 1000 + c->hold * 1000LL);
                }
        }
        at_ev_call_updated(&evs[n++], org_id, c, c->status, c->answer > 0, c->end);
        at_ev_call_ended(&evs[n++], org_id, c);
        return n;
}

static inline void at_ev_agent(struct at_event *ev, const char *org_id, const char *agent_id,
                               const char *user_id, Cc__Events__V1__AgentStatus status,
                               Cc__Events__V1__AgentStatus previous, int previous_s, int64_t at)
{
        at_event_init(ev, "agent.status_changed", org_id, at);
        Cc__Events__V1__AgentStatusChanged *p = &ev->agent;
        cc__events__v1__agent_status_changed__init(p);
        p->agent_id = at_s(agent_id);
        p->user_id = at_s(user_id);
        p->status = status;
        p->previous_status = previous;
        p->previous_duration_seconds = previous_s;
        p->changed_at_ms = at;
        p->current_load = status == CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BUSY;
        p->max_capacity = 1;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED;
        ev->env.agent_status_changed = p;
}

/* user.created, or user.updated when updated is true; version = User.updated_at_ms. */
static inline void at_ev_user(struct at_event *ev, const char *org_id, bool updated,
                              const char *user_id, const char *first, const char *last,
                              Cc__Events__V1__UserRole role, int64_t version)
{
        at_event_init(ev, updated ? "user.updated" : "user.created", org_id, version);
        Cc__Events__V1__User *u = &ev->user;
        cc__events__v1__user__init(u);
        u->user_id = at_s(user_id);
        u->email = "someone@example.com";
        u->first_name = at_s(first);
        u->last_name = at_s(last);
        u->role = role;
        u->status = CC__EVENTS__V1__USER_STATUS__USER_STATUS_ACTIVE;
        u->department = "";
        u->created_at_ms = 1741600000000LL;
        u->updated_at_ms = version;
        if (updated) {
                cc__events__v1__user_updated__init(&ev->user_updated);
                ev->user_updated.user = u;
                ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED;
                ev->env.user_updated = &ev->user_updated;
        } else {
                cc__events__v1__user_created__init(&ev->user_created);
                ev->user_created.user = u;
                ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
                ev->env.user_created = &ev->user_created;
        }
}

/* campaign.created, or campaign.updated when updated is true; version = updated_at_ms. */
static inline void at_ev_campaign(struct at_event *ev, const char *org_id, bool updated,
                                  const char *campaign_id, const char *name, bool active,
                                  int64_t version)
{
        at_event_init(ev, updated ? "campaign.updated" : "campaign.created", org_id, version);
        Cc__Events__V1__Campaign *c = &ev->campaign;
        cc__events__v1__campaign__init(c);
        c->campaign_id = at_s(campaign_id);
        c->name = at_s(name);
        c->type = CC__EVENTS__V1__CAMPAIGN_TYPE__CAMPAIGN_TYPE_OUTBOUND;
        c->active = active;
        c->queue_id = "";
        c->created_at_ms = 1741600000000LL;
        c->updated_at_ms = version;
        if (updated) {
                cc__events__v1__campaign_updated__init(&ev->campaign_updated);
                ev->campaign_updated.campaign = c;
                ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_UPDATED;
                ev->env.campaign_updated = &ev->campaign_updated;
        } else {
                cc__events__v1__campaign_created__init(&ev->campaign_created);
                ev->campaign_created.campaign = c;
                ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED;
                ev->env.campaign_created = &ev->campaign_created;
        }
}

static inline void at_ev_campaign_completed(struct at_event *ev, const char *org_id,
                                            const char *campaign_id, int64_t at)
{
        at_event_init(ev, "campaign.completed", org_id, at);
        Cc__Events__V1__CampaignCompleted *p = &ev->campaign_completed;
        cc__events__v1__campaign_completed__init(p);
        p->campaign_id = at_s(campaign_id);
        p->contacts_total = 10;
        p->contacts_completed = 8;
        p->contacts_failed = 2;
        p->completed_at_ms = at;
        ev->env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_COMPLETED;
        ev->env.campaign_completed = p;
}

/* ---- applying ---- */

/* Runs the handler in a transaction of its own on a pooled connection, committed when it
 * succeeds (the consumer's step without the event-id bookkeeping). */
static inline int at_apply(struct cc_db_pool *pool, const Cc__Events__V1__Envelope *env)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        int r = an_apply(conn, env, NULL);
        if (r == 0)
                ck_assert_int_eq(cc_db_commit(conn), 0);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        return r;
}

static inline void at_apply_ok(struct cc_db_pool *pool, const struct at_event *ev)
{
        int r = at_apply(pool, &ev->env);
        ck_assert_msg(r == 0, "%s: %d", ev->env.type, r);
}

/* The consumer's own step (decode, record the event id, apply, commit) on the packed event, as
 * it runs for a Kafka message: a repeated event id is skipped. */
static inline void at_consume(struct cc_db_pool *pool, const struct at_event *ev)
{
        const struct cc_consumer_config cfg = {
            .service = "analytics",
            .schema = at_schema,
            .pool = pool,
            .handler = an_apply,
        };
        size_t len = 0;
        uint8_t *buf = cc_event_pack(&ev->env, &len);
        int r = cc_consume_one(&cfg, buf, len, "k", 1);
        free(buf);
        ck_assert_msg(r == 0, "%s: %d", ev->env.type, r);
}

/* ---- reading ---- */

/* Every row a query returns, as one string (columns '|'-separated, rows ';'-terminated), for
 * comparing whole tables. Heap; free it. */
static inline char *at_dump(struct cc_db_pool *pool, const char *sql)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        PGresult *res = cc_test_query(conn, sql, 0, NULL);
        struct cc_strbuf b = {0};
        for (int i = 0; i < PQntuples(res); i++) {
                for (int j = 0; j < PQnfields(res); j++)
                        cc_strbuf_printf(&b, "%s%s", j ? "|" : "",
                                         PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j));
                cc_strbuf_puts(&b, ";\n");
        }
        PQclear(res);
        cc_db_release(conn);
        return cc_strbuf_take(&b);
}

/* One value of a query with one parameter, as text ("(null)" for SQL NULL, "" for no row). */
static inline const char *at_value(struct cc_db_pool *pool, const char *sql, const char *param,
                                   char *buf, size_t len)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {param};
        PGresult *res = cc_test_query(conn, sql, param ? 1 : 0, p);
        if (PQntuples(res) == 0)
                snprintf(buf, len, "%s", "");
        else
                snprintf(buf, len, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
        PQclear(res);
        cc_db_release(conn);
        return buf;
}
