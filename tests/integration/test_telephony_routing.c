/* Queues and routing as callers and agents live them: an inbound call waits in a queue until an
 * agent becomes available and gets it (its phone rings through the Twilio simulator, it answers,
 * the call is theirs, wrap-up follows the hang-up); a caller who gives up is recorded as
 * abandoned; a missed offer goes to the next agent; a caller who waits too long overflows to
 * voicemail; priorities, skills and longest-idle decide who gets what; and many calls and agents
 * arriving at once never give one agent more than it can take or one call two agents. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony_test.h"
#include "calls_internal.h"
#include "cc/event.h"
#include "cc/json.h"

#define WAIT_MS 15000
#define NUMBER  "+15557770701"
#define CALLER  "+15550009001"
#define HOOK(p) "/api/webhooks/twilio/" p

/* ---- database helpers (the test's schema) ---- */

/* A pool on the current test's schema (each test starts a service in a schema of its own). */
static struct cc_db_pool *db(void)
{
        static struct cc_db_pool *pool;
        static char schema[sizeof(tt_schema)];
        if (pool && strcmp(schema, tt_schema) != 0) {
                cc_db_pool_free(pool);
                pool = NULL;
        }
        if (!pool) {
                pool = cc_test_pool(tt_schema, 4, 5000);
                snprintf(schema, sizeof(schema), "%s", tt_schema);
        }
        return pool;
}

/* The first column of the first row of sql (with one optional parameter), or "" (heap). */
static char *sql_text(struct cc_db_pool *pool, const char *sql, const char *param)
{
        struct cc_db_conn *conn;
        ck_assert_int_eq(cc_db_acquire(pool, &conn), 0);
        PGresult *res = NULL;
        const char *p[] = {param};
        int r = cc_db_exec(conn, sql, param ? 1 : 0, p, &res);
        ck_assert_msg(r == 0, "%s: %s", sql, cc_db_error(conn));
        char *out = strdup(PQntuples(res) && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
        PQclear(res);
        cc_db_release(conn);
        return out;
}

static void sql_exec(struct cc_db_pool *pool, const char *sql, int n, const char *const *p)
{
        struct cc_db_conn *conn;
        ck_assert_int_eq(cc_db_acquire(pool, &conn), 0);
        int r = cc_db_exec(conn, sql, n, p, NULL);
        ck_assert_msg(r == 0, "%s: %s", sql, cc_db_error(conn));
        cc_db_release(conn);
}

static long long sql_int(struct cc_db_pool *pool, const char *sql, const char *param)
{
        char *s = sql_text(pool, sql, param);
        long long v = s[0] ? atoll(s) : -1;
        free(s);
        return v;
}

/* The user behind an agent profile (a call's agent_id names the user). Heap. */
static char *user_of(struct cc_db_pool *pool, const char *agent_id)
{
        return sql_text(pool, "SELECT user_id FROM agents WHERE id = $1", agent_id);
}

/* An agent of org (and its user): status, endpoint (NULL: client:<user id>), capacity and skills
 * ("{}" for none); idle_rank orders who has been idle longest (smaller = longer). Heap id. */
static char *make_agent(struct cc_db_pool *pool, const char *org_id, const char *status,
                        const char *endpoint, int capacity, const char *skills, int idle_rank)
{
        char id[CC_UUID_LEN + 1], user[CC_UUID_LEN + 1], cap[16], rank[16];
        cc_uuid_v4(id);
        cc_uuid_v4(user);
        snprintf(cap, sizeof(cap), "%d", capacity);
        snprintf(rank, sizeof(rank), "%d", idle_rank);
        const char *p[] = {id, org_id, user, status, endpoint, cap, skills, rank};
        sql_exec(pool,
                 "WITH u AS (INSERT INTO users (id, org_id, role, status) VALUES ($3, $2, 'AGENT', "
                 "'ACTIVE')) INSERT INTO agents (id, org_id, user_id, status, metadata, "
                 "max_capacity, skills, idle_since) VALUES ($1, $2, $3, $4, CASE WHEN $5::text IS "
                 "NULL THEN NULL ELSE jsonb_build_object('endpoint', $5::text) END, $6::int, "
                 "$7::text[], now() - interval '1 hour' + $8::int * interval '1 second')",
                 8, p);
        return strdup(id);
}

static void set_agent_status(struct cc_service *svc, const struct tt_caller *admin,
                             const char *agent_id, const char *status)
{
        char path[128], body[64];
        snprintf(path, sizeof(path), "/api/agents/%s/status", agent_id);
        snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
        struct tt_resp r;
        tt_call(svc, "PATCH", path, body, admin->token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
}

static json_object *get_json(struct cc_service *svc, const struct tt_caller *c, const char *path)
{
        struct tt_resp r;
        tt_call(svc, "GET", path, NULL, c->token, &r);
        tt_expect(&r, 200, NULL);
        json_object *o = json_object_get(r.json);
        tt_resp_fini(&r);
        return o;
}

static json_object *get_call(struct cc_service *svc, const struct tt_caller *c, const char *id)
{
        char path[96];
        snprintf(path, sizeof(path), "/api/calls/%s", id);
        return get_json(svc, c, path);
}

static json_object *get_agent(struct cc_service *svc, const struct tt_caller *c, const char *id)
{
        char path[96];
        snprintf(path, sizeof(path), "/api/agents/%s", id);
        return get_json(svc, c, path);
}

/* Waits until GET path's field equals want; fails with what it last saw. */
static void wait_field(struct cc_service *svc, const struct tt_caller *c, const char *path,
                       const char *field, const char *want)
{
        char last[128] = "";
        bool ok = CC_TEST_WAIT(({
                                       json_object *o = get_json(svc, c, path);
                                       const char *v = tt_str(o, field);
                                       snprintf(last, sizeof(last), "%s", v ? v : "(null)");
                                       json_object_put(o);
                                       strcmp(last, want) == 0;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "%s: %s is %s, want %s", path, field, last, want);
}

static void wait_call(struct cc_service *svc, const struct tt_caller *c, const char *id,
                      const char *field, const char *want)
{
        char path[96];
        snprintf(path, sizeof(path), "/api/calls/%s", id);
        wait_field(svc, c, path, field, want);
}

static void wait_agent(struct cc_service *svc, const struct tt_caller *c, const char *id,
                       const char *field, const char *want)
{
        char path[96];
        snprintf(path, sizeof(path), "/api/agents/%s", id);
        wait_field(svc, c, path, field, want);
}

static void add_number(struct cc_service *svc, const struct tt_caller *admin, const char *number)
{
        char body[128];
        snprintf(body, sizeof(body), "{\"number\":\"%s\"}", number);
        struct tt_resp r;
        tt_call(svc, "POST", "/api/telephony/numbers", body, admin->token, &r);
        tt_expect(&r, 201, NULL);
        tt_resp_fini(&r);
}

/* A queue made through the API; heap id. */
static char *make_queue(struct cc_service *svc, const struct tt_caller *sup, const char *body)
{
        struct tt_resp r;
        tt_call(svc, "POST", "/api/queues/", body, sup->token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

/* A caller rings our number through the simulator (the number's status callback set, as the
 * operator guide says); returns our call id (heap) and the simulator's sid. */
static char *inbound_call(struct cc_service *svc, const char *from, char sid[64])
{
        char body[1024];
        const char *base = getenv("CC_PUBLIC_BASE_URL");
        snprintf(body, sizeof(body),
                 "{\"to\":\"" NUMBER "\",\"from\":\"%s\",\"url\":\"%s" HOOK(
                     "voice") "\",\"status_callback\":\"%s" HOOK("call-status") "\"}",
                 from, base, base);
        json_object *o = tt_sim_request("POST", "/sim/inbound-call", body);
        ck_assert_msg(o, "the simulator refused the inbound call");
        snprintf(sid, 64, "%s", tt_str(o, "call_sid"));
        json_object_put(o);
        (void)svc;
        char *id = sql_text(db(), "SELECT id FROM calls WHERE twilio_sid = $1", sid);
        ck_assert_msg(id[0], "no call for sid %s", sid);
        return id;
}

static void sim_hangup(const char *sid)
{
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s/hangup", sid);
        json_object_put(tt_sim_request("POST", path, NULL));
}

/* The simulator's latest call to `to` (waits for one); fills sid and last TwiML (heap). */
static char *sim_leg_to(const char *to, char sid[64])
{
        char *twiml = NULL;
        bool ok = CC_TEST_WAIT(({
                                       json_object *doc;
                                       json_object *calls = tt_sim_calls_to(to, &doc);
                                       size_t n = json_object_array_length(calls);
                                       if (n) {
                                               json_object *c =
                                                   json_object_array_get_idx(calls, n - 1);
                                               snprintf(sid, 64, "%s", tt_str(c, "sid"));
                                               const char *t = tt_str(c, "last_twiml");
                                               free(twiml);
                                               twiml = t ? strdup(t) : NULL;
                                       }
                                       json_object_put(doc);
                                       twiml != NULL;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "the simulator got no call to %s", to);
        return twiml;
}

static char *sim_status(const char *sid)
{
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        json_object *o = tt_sim_request("GET", path, NULL);
        char *s = strdup(o && tt_str(o, "status") ? tt_str(o, "status") : "");
        json_object_put(o);
        return s;
}

/* ---- events ---- */

/* Every event on topic keyed by key that arrives within the window (after the last one, a
 * short linger catches duplicates). */
static size_t read_events(const char *topic, const char *key, size_t want,
                          Cc__Events__V1__Envelope **out, size_t cap)
{
        struct cc_kafka_consumer *c = cc_test_consumer(topic, NULL, NULL);
        int64_t deadline = cc_monotonic_us() + 20 * 1000000LL;
        size_t n = 0;
        struct cc_kafka_message msg;
        while (cc_test_consume(c, deadline, &msg) == 0) {
                bool mine = msg.key_len == strlen(key) && memcmp(msg.key, key, msg.key_len) == 0;
                Cc__Events__V1__Envelope *env =
                    mine ? cc_event_unpack(msg.value, msg.value_len) : NULL;
                cc_kafka_message_release(&msg);
                if (!env)
                        continue;
                if (n < cap)
                        out[n++] = env;
                else
                        cc_event_free(env);
                if (n >= want && deadline > cc_monotonic_us() + 1500000)
                        deadline = cc_monotonic_us() + 1500000;
        }
        cc_kafka_consumer_free(c);
        return n;
}

static void free_events(Cc__Events__V1__Envelope **ev, size_t n)
{
        for (size_t i = 0; i < n; i++)
                cc_event_free(ev[i]);
}

/* ---- tests ---- */

START_TEST(routing_inbound_call_waits_then_an_agent_gets_it)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        /* the IVR-less organization sends callers to its "default" queue */
        char *queue = make_queue(svc, &admin, "{\"name\":\"default\",\"wrap_up_seconds\":1}");
        char *agent = make_agent(db(), admin.org_id, "OFFLINE", "client:alice", 1, "{}", 0);

        char sid[64];
        char *id = inbound_call(svc, CALLER, sid);
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_state"), "WAITING");
        ck_assert_str_eq(tt_str(call, "queue_id"), queue);
        ck_assert_str_eq(tt_str(call, "status"), "RINGING");
        ck_assert_ptr_null(tt_str(call, "agent_id"));
        json_object_put(call);
        /* the caller waits in its own conference, hearing our hold music */
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        json_object *sc = tt_sim_request("GET", path, NULL);
        char wait[160];
        snprintf(wait, sizeof(wait), ">cc-%s</Conference>", id);
        ck_assert_msg(sc && strstr(tt_str(sc, "last_twiml"), wait) &&
                          strstr(tt_str(sc, "last_twiml"), "/api/webhooks/twilio/hold"),
                      "the caller plays %s", sc ? tt_str(sc, "last_twiml") : "(no call)");
        json_object_put(sc);

        set_agent_status(svc, &admin, agent, "AVAILABLE");
        wait_call(svc, &admin, id, "status", "IN_PROGRESS");
        call = get_call(svc, &admin, id);
        char *agent_user = user_of(db(), agent);
        ck_assert_str_eq(tt_str(call, "agent_id"), agent_user);
        ck_assert_str_eq(tt_str(call, "queue_state"), "CONNECTED");
        json_object_put(call);
        /* the agent's phone rang and joined the caller's conference, starting it */
        char leg[64], conf[80];
        char *twiml = sim_leg_to("client:alice", leg);
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", id);
        ck_assert_msg(strstr(twiml, conf) && strstr(twiml, "startConferenceOnEnter=\"true\""),
                      "agent leg plays %s", twiml);
        free(twiml);
        json_object *a = get_agent(svc, &admin, agent);
        ck_assert_str_eq(tt_str(a, "status"), "BUSY");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(a, "current_load")), 1);
        json_object_put(a);

        /* the caller hangs up: the agent's leg is hung up, wrap-up, then available again */
        sim_hangup(sid);
        wait_call(svc, &admin, id, "status", "COMPLETED");
        wait_agent(svc, &admin, agent, "status", "WRAP_UP");
        wait_agent(svc, &admin, agent, "status", "AVAILABLE");
        ck_assert(CC_TEST_WAIT(({
                                       char *st = sim_status(leg);
                                       bool done = strcmp(st, "completed") == 0;
                                       free(st);
                                       done;
                               }),
                               WAIT_MS, 20));
        a = get_agent(svc, &admin, agent);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(a, "current_load")), 0);
        json_object_put(a);

        /* the call's final accounting, once, at the hang-up, with its queue, wait and agent;
         * then the wrap-up's length, once, when the agent is available again */
        Cc__Events__V1__Envelope *ev[32];
        size_t n = read_events("cc.calls.v1", id, 5, ev, 32);
        int ended = 0, wrapped = 0;
        int64_t ended_at = 0;
        for (size_t i = 0; i < n; i++) {
                if (ev[i]->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_WRAPPED_UP) {
                        ck_assert_int_eq(ended, 1); /* after call.ended (one partition, in order) */
                        wrapped++;
                        const Cc__Events__V1__CallWrappedUp *w = ev[i]->call_wrapped_up;
                        ck_assert_str_eq(w->call_id, id);
                        ck_assert_str_eq(w->queue_id, queue);
                        ck_assert_str_eq(w->agent_id, agent_user);
                        ck_assert_int_ge(w->wrap_up_seconds, 1);
                        ck_assert_int_le(w->wrap_up_seconds, 3);
                        ck_assert_int_eq(w->ended_at_ms, ended_at);
                        ck_assert_int_gt(w->started_at_ms, 0);
                        ck_assert_int_ge(ev[i]->occurred_at_ms, ended_at + 1000);
                        continue;
                }
                if (ev[i]->payload_case != CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED)
                        continue;
                ended++;
                const Cc__Events__V1__CallEnded *e = ev[i]->call_ended;
                ended_at = e->ended_at_ms;
                ck_assert_str_eq(e->queue_id, queue);
                ck_assert_str_eq(e->agent_id, agent_user);
                ck_assert(!e->abandoned);
                ck_assert(e->wrap_up_pending);
                ck_assert_int_eq(e->wrap_up_seconds, 0);
                ck_assert_int_ge(e->queue_wait_seconds, 0);
                ck_assert_int_gt(e->answered_at_ms, 0);
                /* the queue's threshold and name travel with the call */
                ck_assert_int_eq(e->service_level_seconds, 20);
                ck_assert_str_eq(e->queue_name, "default");
        }
        ck_assert_int_eq(ended, 1);
        ck_assert_int_eq(wrapped, 1);
        free_events(ev, n);
        /* the agent's presence, step by step, with how long each lasted */
        n = read_events("cc.agents.v1", agent, 4, ev, 32);
        static const Cc__Events__V1__AgentStatus want[] = {
            CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_AVAILABLE,
            CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BUSY,
            CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_WRAP_UP,
            CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_AVAILABLE,
        };
        ck_assert_int_eq(n, 4);
        for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(ev[i]->payload_case,
                                 CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED);
                ck_assert_int_eq(ev[i]->agent_status_changed->status, want[i]);
        }
        ck_assert_int_ge(ev[3]->agent_status_changed->previous_duration_seconds, 1);
        free_events(ev, n);

        /* the agent sees the call among its own */
        struct tt_caller self = {.token = cc_test_token("AGENT", admin.org_id, agent_user, 900)};
        json_object *own = get_json(svc, &self, "/api/calls/");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(own, "total")), 1);
        json_object_put(own);
        tt_caller_fini(&self);
        free(agent_user);
        free(id);
        free(agent);
        free(queue);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

START_TEST(routing_caller_who_hangs_up_while_waiting_is_abandoned)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char sid[64];
        char *id = inbound_call(svc, CALLER, sid);
        wait_call(svc, &admin, id, "queue_state", "WAITING");
        sim_hangup(sid);
        wait_call(svc, &admin, id, "status", "COMPLETED");
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_state"), "ABANDONED");
        ck_assert(json_object_get_boolean(json_object_object_get(call, "abandoned")));
        ck_assert_ptr_null(tt_str(call, "agent_id"));
        json_object_put(call);

        Cc__Events__V1__Envelope *ev[32];
        size_t n = read_events("cc.calls.v1", id, 4, ev, 32);
        int ended = 0;
        for (size_t i = 0; i < n; i++) {
                if (ev[i]->payload_case != CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED)
                        continue;
                ended++;
                ck_assert(ev[i]->call_ended->abandoned);
                ck_assert_int_eq(ev[i]->call_ended->answered_at_ms, 0);
                ck_assert_str_ne(ev[i]->call_ended->queue_id, "");
                ck_assert_int_eq(ev[i]->call_ended->wrap_up_seconds, 0);
        }
        ck_assert_int_eq(ended, 1);
        free_events(ev, n);
        free(id);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

START_TEST(routing_missed_offer_goes_to_the_next_agent)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        /* the longest idle agent's phone never answers (the simulator's …0002) */
        char *absent = make_agent(db(), admin.org_id, "AVAILABLE", "+15550000002", 1, "{}", 0);
        char *bob = make_agent(db(), admin.org_id, "AVAILABLE", "client:bob", 1, "{}", 10);
        char sid[64];
        char *id = inbound_call(svc, CALLER, sid);
        wait_call(svc, &admin, id, "status", "IN_PROGRESS");
        json_object *call = get_call(svc, &admin, id);
        char *bob_user = user_of(db(), bob);
        ck_assert_str_eq(tt_str(call, "agent_id"), bob_user);
        free(bob_user);
        json_object_put(call);
        ck_assert_int_eq(sql_int(db(),
                                 "SELECT count(*) FROM offers WHERE agent_id = $1 AND state = "
                                 "'MISSED'",
                                 absent),
                         1);
        json_object *a = get_agent(svc, &admin, absent);
        ck_assert_str_eq(tt_str(a, "status"), "AVAILABLE");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(a, "current_load")), 0);
        json_object_put(a);
        sim_hangup(sid);
        wait_call(svc, &admin, id, "status", "COMPLETED");
        free(id);
        free(absent);
        free(bob);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

START_TEST(routing_agent_placing_a_call_is_rung_into_it_when_answered)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char *agent = make_agent(db(), admin.org_id, "AVAILABLE", "client:carol", 1, "{}", 0);
        char *user = user_of(db(), agent);
        struct tt_caller self = {.token = cc_test_token("AGENT", admin.org_id, user, 900)};
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"" NUMBER "\",\"to_number\":\"+15550107000\","
                "\"direction\":\"OUTBOUND\"}",
                self.token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        /* the callee answers and waits on hold while the agent's phone rings into the call */
        char callee[64], leg[64], conf[80];
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", id);
        char *twiml = sim_leg_to("+15550107000", callee);
        free(twiml);
        twiml = sim_leg_to("client:carol", leg);
        ck_assert_msg(strstr(twiml, conf), "agent leg plays %s", twiml);
        free(twiml);
        wait_call(svc, &admin, id, "queue_state", "CONNECTED");
        wait_agent(svc, &admin, agent, "status", "BUSY");
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "agent_id"), user);
        ck_assert_str_eq(tt_str(call, "status"), "IN_PROGRESS");
        json_object_put(call);
        sim_hangup(callee);
        wait_call(svc, &admin, id, "status", "COMPLETED");
        /* no queue, no wrap-up: the agent is free at once */
        wait_agent(svc, &admin, agent, "status", "AVAILABLE");
        free(id);
        free(user);
        free(agent);
        tt_caller_fini(&self);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

START_TEST(routing_caller_waiting_too_long_overflows_to_voicemail)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char *queue = make_queue(svc, &admin, "{\"name\":\"default\",\"max_wait_seconds\":10}");
        char sid[64];
        char *id = inbound_call(svc, CALLER, sid);
        wait_call(svc, &admin, id, "queue_state", "WAITING");
        /* ten seconds pass */
        const char *p[] = {id};
        sql_exec(db(),
                 "UPDATE calls SET queued_at = queued_at - interval '11 seconds', "
                 "entered_queue_at = entered_queue_at - interval '11 seconds' WHERE id = $1",
                 1, p);
        wait_call(svc, &admin, id, "queue_state", "OVERFLOWED");
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        char *last = NULL;
        bool ok = CC_TEST_WAIT(
            ({
                    json_object *o = tt_sim_request("GET", path, NULL);
                    free(last);
                    last = strdup(o && tt_str(o, "last_twiml") ? tt_str(o, "last_twiml") : "");
                    json_object_put(o);
                    strstr(last, "<Record") != NULL;
            }),
            WAIT_MS, 20);
        ck_assert_msg(ok, "the caller hears %s", last);
        free(last);
        free(id);
        free(queue);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

/* ---- decisions, without Twilio: the worker sleeps and passes are run by hand ---- */

static struct cc_service *start_quiet(void)
{
        setenv("CC_WORKER_INTERVAL_MS", "60000", 1);
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        unsetenv("CC_WORKER_INTERVAL_MS");
        return svc;
}

/* A call waiting in queue since `ago_s` seconds ago; heap id. */
static char *waiting_call(struct cc_db_pool *pool, const char *org_id, const char *queue_id,
                          int priority, int ago_s)
{
        char id[CC_UUID_LEN + 1], prio[16], ago[16];
        cc_uuid_v4(id);
        snprintf(prio, sizeof(prio), "%d", priority);
        snprintf(ago, sizeof(ago), "%d", ago_s);
        const char *p[] = {id, org_id, queue_id, prio, ago};
        sql_exec(pool,
                 "INSERT INTO calls (id, org_id, direction, status, from_number, to_number, "
                 "queue_id, queue_state, queue_priority, queued_at) VALUES ($1, $2, 'INBOUND', "
                 "'RINGING', '+15550001111', '+15550002222', $3, 'WAITING', $4::int, now() - "
                 "$5::int * interval '1 second')",
                 5, p);
        return strdup(id);
}

static char *queue_row(struct cc_db_pool *pool, const char *org_id, const char *name,
                       const char *skills, int priority)
{
        char id[CC_UUID_LEN + 1], prio[16];
        cc_uuid_v4(id);
        snprintf(prio, sizeof(prio), "%d", priority);
        const char *p[] = {id, org_id, name, skills, prio};
        sql_exec(pool,
                 "INSERT INTO queues (id, org_id, name, skills, priority) VALUES ($1, $2, $3, "
                 "$4::text[], $5::int)",
                 5, p);
        return strdup(id);
}

static int route(struct cc_db_pool *pool, const char *org_id)
{
        struct cc_db_conn *conn;
        ck_assert_int_eq(cc_db_acquire(pool, &conn), 0);
        int made = -1;
        ck_assert_int_eq(tel_route_org(conn, org_id, &made), 0);
        cc_db_release(conn);
        return made;
}

static char *offered_agent(struct cc_db_pool *pool, const char *call_id)
{
        return sql_text(
            pool, "SELECT agent_id FROM offers WHERE call_id = $1 AND state = 'PENDING'", call_id);
}

START_TEST(routing_priority_skills_and_longest_idle_decide)
{
        struct cc_service *svc = start_quiet();
        struct cc_db_pool *pool = db();
        char org[CC_UUID_LEN + 1];
        cc_uuid_v4(org);
        char *general = queue_row(pool, org, "general", "{}", 0);
        char *vip = queue_row(pool, org, "vip", "{vip}", 50);
        /* the general caller has waited longest, but the vip queue goes first */
        char *g1 = waiting_call(pool, org, general, 0, 300);
        char *g2 = waiting_call(pool, org, general, 0, 200);
        char *v1 = waiting_call(pool, org, vip, 50, 10);
        char *plain_idle = make_agent(pool, org, "AVAILABLE", NULL, 1, "{}", 0);
        char *vip_agent = make_agent(pool, org, "AVAILABLE", NULL, 1, "{vip,en}", 5);
        char *on_break = make_agent(pool, org, "BREAK", NULL, 1, "{vip}", -100);
        ck_assert_int_eq(route(pool, org), 2);
        /* the vip call needs the skill: only the vip agent has it */
        char *a = offered_agent(pool, v1);
        ck_assert_str_eq(a, vip_agent);
        free(a);
        /* then first come first served: the oldest general call, to the longest idle agent */
        a = offered_agent(pool, g1);
        ck_assert_str_eq(a, plain_idle);
        free(a);
        a = offered_agent(pool, g2);
        ck_assert_str_eq(a, "");
        free(a);
        ck_assert_int_eq(sql_int(pool, "SELECT current_load FROM agents WHERE id = $1", vip_agent),
                         1);
        ck_assert_int_eq(sql_int(pool, "SELECT current_load FROM agents WHERE id = $1", on_break),
                         0);
        /* nobody is left: another pass changes nothing */
        ck_assert_int_eq(route(pool, org), 0);
        free(general);
        free(vip);
        free(g1);
        free(g2);
        free(v1);
        free(plain_idle);
        free(vip_agent);
        free(on_break);
        cc_service_stop(svc);
}
END_TEST

/* Many routing passes, agents going on and off break, and calls arriving, all at once. */
#define C_AGENTS  40
#define C_CALLS   150
#define C_ROUTERS 6

struct crowd {
        struct cc_db_pool *pool;
        char org[CC_UUID_LEN + 1];
        char queue[CC_UUID_LEN + 1];
        char *agents[C_AGENTS];
        int failures;
        pthread_mutex_t mu;
};

static void crowd_fail(struct crowd *c)
{
        pthread_mutex_lock(&c->mu);
        c->failures++;
        pthread_mutex_unlock(&c->mu);
}

static void *crowd_router(void *arg)
{
        struct crowd *c = arg;
        for (int i = 0; i < 15; i++) {
                struct cc_db_conn *conn;
                if (cc_db_acquire(c->pool, &conn) < 0) {
                        crowd_fail(c);
                        continue;
                }
                int made;
                if (tel_route_org(conn, c->org, &made) < 0)
                        crowd_fail(c);
                cc_db_release(conn);
        }
        return NULL;
}

static void *crowd_presence(void *arg)
{
        struct crowd *c = arg;
        for (int round = 0; round < 4; round++) {
                for (int i = 0; i < C_AGENTS; i += 3) {
                        struct cc_db_conn *conn;
                        if (cc_db_acquire(c->pool, &conn) < 0) {
                                crowd_fail(c);
                                continue;
                        }
                        enum tel_agent_status to =
                            round % 2 == 0 ? TEL_AGENT_BREAK : TEL_AGENT_AVAILABLE;
                        int r = cc_db_begin(conn);
                        if (r == 0)
                                r = tel_agent_set_status(conn, c->org, c->agents[i], to, 0, NULL);
                        if (r >= 0)
                                r = cc_db_commit(conn);
                        if (r < 0) {
                                cc_db_rollback(conn);
                                crowd_fail(c);
                        }
                        cc_db_release(conn);
                }
        }
        return NULL;
}

static void *crowd_arrivals(void *arg)
{
        struct crowd *c = arg;
        for (int i = 0; i < C_CALLS / 2; i++)
                free(waiting_call(c->pool, c->org, c->queue, 0, 0));
        return NULL;
}

START_TEST(routing_many_calls_and_agents_at_once_never_overbook)
{
        struct cc_service *svc = start_quiet();
        struct crowd c = {.pool = cc_test_pool(tt_schema, C_ROUTERS + 4, 10000)};
        pthread_mutex_init(&c.mu, NULL);
        cc_uuid_v4(c.org);
        char *q = queue_row(c.pool, c.org, "crowd", "{}", 0);
        snprintf(c.queue, sizeof(c.queue), "%s", q);
        free(q);
        for (int i = 0; i < C_AGENTS; i++)
                c.agents[i] = make_agent(c.pool, c.org, "AVAILABLE", NULL, 1 + i % 3, "{}", i);
        for (int i = 0; i < C_CALLS / 2; i++)
                free(waiting_call(c.pool, c.org, c.queue, 0, C_CALLS - i));

        pthread_t th[C_ROUTERS + 2];
        for (int i = 0; i < C_ROUTERS; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, crowd_router, &c), 0);
        ck_assert_int_eq(pthread_create(&th[C_ROUTERS], NULL, crowd_presence, &c), 0);
        ck_assert_int_eq(pthread_create(&th[C_ROUTERS + 1], NULL, crowd_arrivals, &c), 0);
        for (int i = 0; i < C_ROUTERS + 2; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_eq(c.failures, 0);
        route(c.pool, c.org); /* settle whatever arrived after the last pass */

        /* every agent's load is exactly its live offers, within capacity */
        ck_assert_int_eq(sql_int(c.pool,
                                 "SELECT count(*) FROM agents a WHERE a.org_id = $1 AND "
                                 "(a.current_load > a.max_capacity OR a.current_load <> (SELECT "
                                 "count(*) FROM offers o WHERE o.agent_id = a.id AND o.state IN "
                                 "('PENDING', 'DIALING', 'ACCEPTED')))",
                                 c.org),
                         0);
        /* no call has two agents; an offered call has exactly one, a waiting call none */
        ck_assert_int_eq(sql_int(c.pool,
                                 "SELECT count(*) FROM calls k WHERE k.org_id = $1 AND (SELECT "
                                 "count(*) FROM offers o WHERE o.call_id = k.id AND o.state IN "
                                 "('PENDING', 'DIALING', 'ACCEPTED')) <> CASE k.queue_state WHEN "
                                 "'OFFERED' THEN 1 ELSE 0 END",
                                 c.org),
                         0);
        /* and nothing was left undone: either nobody waits or nobody is free */
        ck_assert_int_eq(sql_int(c.pool,
                                 "SELECT (EXISTS (SELECT 1 FROM calls WHERE org_id = $1 AND "
                                 "queue_state = 'WAITING') AND EXISTS (SELECT 1 FROM agents WHERE "
                                 "org_id = $1 AND status = 'AVAILABLE' AND current_load < "
                                 "max_capacity))::int",
                                 c.org),
                         0);
        long long offers = sql_int(c.pool, "SELECT count(*) FROM offers WHERE org_id = $1", c.org);
        ck_assert_int_gt(offers, 30);
        for (int i = 0; i < C_AGENTS; i++)
                free(c.agents[i]);
        cc_db_pool_free(c.pool);
        pthread_mutex_destroy(&c.mu);
        cc_service_stop(svc);
}
END_TEST

START_TEST(routing_queues_overflowing_into_each_other_end_in_voicemail)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char *second = make_queue(svc, &admin, "{\"name\":\"second\",\"max_wait_seconds\":10}");
        char *first = make_queue(svc, &admin,
                                 "{\"name\":\"default\",\"max_wait_seconds\":10,"
                                 "\"overflow_action\":\"queue\",\"overflow_target\":\"second\"}");
        char path[128];
        snprintf(path, sizeof(path), "/api/queues/%s", second);
        struct tt_resp r;
        tt_call(svc, "PUT", path, "{\"overflow_action\":\"queue\",\"overflow_target\":\"default\"}",
                admin.token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
        char sid[64];
        char *id = inbound_call(svc, CALLER, sid);
        wait_call(svc, &admin, id, "queue_state", "WAITING");
        const char *p[] = {id};
        /* the first queue's wait is over: on to the second, keeping its place in line */
        sql_exec(db(),
                 "UPDATE calls SET queued_at = queued_at - interval '11 seconds', "
                 "entered_queue_at = entered_queue_at - interval '11 seconds' WHERE id = $1",
                 1, p);
        wait_call(svc, &admin, id, "queue_id", second);
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_state"), "WAITING");
        json_object_put(call);
        ck_assert_int_eq(sql_int(db(),
                                 "SELECT (queued_at < entered_queue_at - interval '10 seconds')"
                                 "::int FROM calls WHERE id = $1",
                                 id),
                         1);
        /* the second's wait is over too: not back to the first, a message instead */
        sql_exec(db(),
                 "UPDATE calls SET entered_queue_at = entered_queue_at - interval '11 seconds' "
                 "WHERE id = $1",
                 1, p);
        wait_call(svc, &admin, id, "queue_state", "OVERFLOWED");
        call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_id"), second);
        json_object_put(call);
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        ck_assert(CC_TEST_WAIT(({
                                       json_object *o = tt_sim_request("GET", path, NULL);
                                       bool rec = o && tt_str(o, "last_twiml") &&
                                                  strstr(tt_str(o, "last_twiml"), "<Record");
                                       json_object_put(o);
                                       rec;
                               }),
                               WAIT_MS, 20));
        free(id);
        free(first);
        free(second);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
        tt_sim_stop();
}
END_TEST

START_TEST(routing_answered_campaign_call_goes_to_the_campaigns_queue)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char *queue = make_queue(svc, &admin, "{\"name\":\"outbound\",\"skills\":[\"sales\"]}");
        /* an agent without the skill is never offered the call */
        char *plain = make_agent(db(), admin.org_id, "AVAILABLE", "client:paul", 1, "{}", 0);
        char *seller = make_agent(db(), admin.org_id, "AVAILABLE", "client:sara", 1, "{sales}", 5);
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"name\":\"Renewals\",\"type\":\"OUTBOUND\",\"organization_id\":\"x\","
                 "\"instructions\":{},\"queue_id\":\"%s\"}",
                 queue);
        struct tt_resp r;
        tt_call(svc, "POST", "/api/campaigns/", body, admin.token, &r);
        tt_expect(&r, 201, NULL);
        char *campaign = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        snprintf(body, sizeof(body),
                 "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550108000\",\"name\":\"Carla\"}",
                 campaign);
        tt_call(svc, "POST", "/api/contacts/", body, admin.token, &r);
        tt_expect(&r, 201, NULL);
        char *contact = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", campaign);
        tt_call(svc, "PUT", path, "{\"active\":true}", admin.token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);

        /* the dialer rings the contact; answered, the contact waits in the campaign's queue and
         * the agent with the queue's skill is rung into the call */
        char callee[64], leg[64];
        free(sim_leg_to("+15550108000", callee));
        char *twiml = sim_leg_to("client:sara", leg);
        free(twiml);
        char *id = sql_text(db(), "SELECT id FROM calls WHERE contact_id = $1", contact);
        wait_call(svc, &admin, id, "queue_state", "CONNECTED");
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_id"), queue);
        char *seller_user = user_of(db(), seller);
        ck_assert_str_eq(tt_str(call, "agent_id"), seller_user);
        ck_assert_str_eq(tt_str(call, "campaign_id"), campaign);
        json_object_put(call);
        ck_assert_int_eq(sql_int(db(), "SELECT count(*) FROM offers WHERE agent_id = $1", plain),
                         0);
        snprintf(path, sizeof(path), "/api/contacts/%s", contact);
        json_object *c = get_json(svc, &admin, path);
        ck_assert_str_eq(tt_str(c, "status"), "CONNECTED");
        json_object_put(c);
        sim_hangup(callee);
        wait_call(svc, &admin, id, "status", "COMPLETED");
        wait_field(svc, &admin, path, "status", "COMPLETED");
        free(seller_user);
        free(id);
        free(contact);
        free(campaign);
        free(plain);
        free(seller);
        free(queue);
        tt_caller_fini(&admin);
        tt_sim_stop();
        cc_service_stop(svc);
}
END_TEST

START_TEST(routing_missed_agent_placed_call_and_inactive_queue_wait_in_default)
{
        tt_sim_start(50, 600000);
        struct cc_service *svc = tt_start_reachable();
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, NUMBER);
        char *fallback = make_queue(svc, &admin, "{\"name\":\"default\"}");

        /* an agent whose phone never answers places a call: the callee is not left on hold for
         * ever, it waits in the default queue (where max wait and overflow apply) */
        char *agent = make_agent(db(), admin.org_id, "AVAILABLE", "+15550000002", 1, "{}", 0);
        char *user = user_of(db(), agent);
        struct tt_caller self = {.token = cc_test_token("AGENT", admin.org_id, user, 900)};
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"" NUMBER "\",\"to_number\":\"+15550107100\","
                "\"direction\":\"OUTBOUND\"}",
                self.token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        wait_call(svc, &admin, id, "queue_id", fallback);
        json_object *call = get_call(svc, &admin, id);
        ck_assert_str_eq(tt_str(call, "queue_state"), "WAITING");
        json_object_put(call);

        /* a queue switched off takes no new callers: the IVR's choice lands in default */
        tt_call(svc, "POST", "/api/queues/", "{\"name\":\"sales\",\"active\":false}", admin.token,
                &r);
        tt_expect(&r, 201, NULL);
        tt_resp_fini(&r);
        tt_call(svc, "POST", "/api/ivr/menus",
                "{\"name\":\"Main\",\"greeting\":\"Hello\",\"options\":[{\"digit\":\"1\","
                "\"description\":\"Sales\",\"action\":\"queue\",\"target\":\"sales\"}]}",
                admin.token, &r);
        tt_expect(&r, 201, NULL);
        char body[128];
        snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}",
                 tt_str(json_object_object_get(r.json, "menu"), "id"));
        tt_resp_fini(&r);
        tt_call(svc, "PUT", "/api/ivr/config", body, admin.token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
        char sid[64], path[128];
        char *in = inbound_call(svc, CALLER, sid);
        snprintf(path, sizeof(path), "/sim/calls/%s/digits", sid);
        json_object_put(tt_sim_request("POST", path, "{\"digits\":\"1\"}"));
        wait_call(svc, &admin, in, "queue_id", fallback);
        free(in);
        free(id);
        free(user);
        free(agent);
        free(fallback);
        tt_caller_fini(&self);
        tt_caller_fini(&admin);
        tt_sim_stop();
        cc_service_stop(svc);
}
END_TEST

/* A Twilio that fails every Calls.json with fake_status until told otherwise. */
static atomic_int fake_status = 503;
static atomic_int fake_hits;

static void h_fake_calls(struct cc_http_req *req)
{
        atomic_fetch_add(&fake_hits, 1);
        int st = atomic_load(&fake_status);
        if (st == 201) {
                char body[128];
                snprintf(body, sizeof(body), "{\"sid\":\"CA%032d\",\"status\":\"queued\"}",
                         atomic_load(&fake_hits));
                cc_http_reply_raw(req, 201, "application/json", body, strlen(body));
                return;
        }
        static const char err[] =
            "{\"code\":20500,\"message\":\"Internal failure\",\"status\":503}";
        cc_http_reply_raw(req, st, "application/json", err, sizeof(err) - 1);
}

static const struct cc_http_route fake_routes[] = {
    {"POST", "/2010-04-01/Accounts/{acct}/Calls.json", h_fake_calls, CC_ROLE_NONE,
     CC_HTTP_RAW_BODY},
};

START_TEST(routing_twilio_failing_is_nobodys_missed_call)
{
        const struct cc_http_server_config cfg = {
            .service = "fake-twilio", .bind_addr = "127.0.0.1", .threads = 1};
        char err[256], base[64];
        struct cc_http_server *fake =
            cc_http_server_new(&cfg, fake_routes, CC_ARRAY_SIZE(fake_routes), err, sizeof(err));
        ck_assert_msg(fake, "fake twilio: %s", err);
        ck_assert_int_eq(cc_http_server_start(fake), 0);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", cc_http_server_port(fake));
        setenv("CC_WORKER_INTERVAL_MS", "60000", 1);
        struct cc_service *svc = tt_start(base, TT_SIM_AC, TT_SIM_TOK);
        unsetenv("CC_WORKER_INTERVAL_MS");
        struct cc_db_pool *pool = db();
        char org[CC_UUID_LEN + 1];
        cc_uuid_v4(org);
        char *queue = queue_row(pool, org, "support", "{}", 0);
        char *call = waiting_call(pool, org, queue, 0, 5);
        char *agent = make_agent(pool, org, "AVAILABLE", NULL, 1, "{}", 0);
        struct cc_db_conn *conn;
        ck_assert_int_eq(cc_db_acquire(pool, &conn), 0);

        static const int failures[] = {503, 429, 401};
        for (size_t i = 0; i < CC_ARRAY_SIZE(failures); i++) {
                atomic_store(&fake_status, failures[i]);
                ck_assert_int_eq(route(pool, org), 1);
                ck_assert_int_eq(tel_route_dial_offers(conn, tel_of(svc)), 0);
                /* withdrawn, not missed: the agent is free again and the call waits */
                ck_assert_int_eq(sql_int(pool,
                                         "SELECT count(*) FROM offers WHERE call_id = $1 AND "
                                         "state = 'MISSED'",
                                         call),
                                 0);
                ck_assert_int_eq(
                    sql_int(pool, "SELECT current_load FROM agents WHERE id = $1", agent), 0);
                char *st = sql_text(pool, "SELECT queue_state FROM calls WHERE id = $1", call);
                ck_assert_str_eq(st, "WAITING");
                free(st);
        }
        /* Twilio is back: the same agent is rung */
        atomic_store(&fake_status, 201);
        ck_assert_int_eq(route(pool, org), 1);
        ck_assert_int_eq(tel_route_dial_offers(conn, tel_of(svc)), 1);
        ck_assert_int_eq(sql_int(pool,
                                 "SELECT count(*) FROM offers WHERE call_id = $1 AND state = "
                                 "'DIALING' AND twilio_sid IS NOT NULL",
                                 call),
                         1);
        ck_assert_int_eq(atomic_load(&fake_hits), 4);
        cc_db_release(conn);
        free(call);
        free(queue);
        free(agent);
        cc_service_stop(svc);
        cc_http_server_stop(fake);
        cc_http_server_free(fake);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_routing");
        TCase *tc = tcase_create("routing");
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, routing_priority_skills_and_longest_idle_decide);
        tcase_add_test(tc, routing_many_calls_and_agents_at_once_never_overbook);
        tcase_add_test(tc, routing_inbound_call_waits_then_an_agent_gets_it);
        tcase_add_test(tc, routing_caller_who_hangs_up_while_waiting_is_abandoned);
        tcase_add_test(tc, routing_missed_offer_goes_to_the_next_agent);
        tcase_add_test(tc, routing_caller_waiting_too_long_overflows_to_voicemail);
        tcase_add_test(tc, routing_agent_placing_a_call_is_rung_into_it_when_answered);
        tcase_add_test(tc, routing_queues_overflowing_into_each_other_end_in_voicemail);
        tcase_add_test(tc, routing_twilio_failing_is_nobodys_missed_call);
        tcase_add_test(tc, routing_answered_campaign_call_goes_to_the_campaigns_queue);
        tcase_add_test(tc, routing_missed_agent_placed_call_and_inactive_queue_wait_in_default);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
