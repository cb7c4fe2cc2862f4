/* The supervisor routes (API-CONTRACT.md §5.5): monitor, whisper and barge-in dial the
 * supervisor into a live call's conference through a real twilio-sim process
 * (CC_TEST_TWILIO_SIM) with the right participant settings, end hangs the call up there, the
 * summary follows the contract's rules, and everything is refused on an ended call, to agents
 * and across organizations. Each supervisor has one leg at a time, whoever acted last and
 * whatever requests run at once, and end hangs them all up. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "telephony_test.h"
#include "cc/json.h"

/* The simulator process and its address: the shared helpers of telephony_test.h. */
#define sim_start       tt_sim_start
#define sim_stop        tt_sim_stop
#define sim_base        tt_sim_base
#define start_reachable tt_start_reachable

#define PLAT_AC    "AC0123456789abcdef0123456789abcdef"
#define PLAT_TOK   "platform-token-0123456789"
#define FORBID_SUP "Supervisor or admin access required"
#define NOT_FOUND  "Call not found"
#define NOT_ACTIVE "Call is not active"
#define WAIT_MS    15000

static int64_t jint(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_int), "%s is not an int in %s", key,
                      json_object_to_json_string(o));
        return json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "%s is not a bool in %s", key,
                      json_object_to_json_string(o));
        return json_object_get_boolean(v);
}

static void exec_sql(const char *sql, int n, const char *const *p)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        cc_test_exec(conn, sql, n, p);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

/* A caller whose client:<user id> the simulator answers (it treats a To ending in 0001, 0002
 * or 0003 as busy, unanswered or failed). */
static void answering_caller(struct tt_caller *c, const char *org_id, const char *role)
{
        for (;;) {
                tt_caller(c, org_id, role);
                const char *tail = c->user_id + CC_UUID_LEN - 4;
                if (strncmp(tail, "000", 3) != 0 || tail[3] < '1' || tail[3] > '3')
                        return;
                tt_caller_fini(c);
        }
}

/* ---- the simulator ---- */

static json_object *sim_get(const char *path)
{
        char url[256];
        snprintf(url, sizeof(url), "%s%s", sim_base, path);
        struct cc_test_response resp;
        cc_test_http("GET", url, NULL, 0, NULL, &resp);
        json_object *doc =
            resp.status == 200 ? cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0) : NULL;
        cc_test_response_fini(&resp);
        ck_assert_msg(doc, "GET %s failed", path);
        return doc;
}

/* The sids of the simulator's calls to `to`, oldest first, as "sid,sid,..." (heap). */
static char *sim_calls_to(const char *to, size_t *ret_n)
{
        json_object *doc = sim_get("/sim/calls");
        json_object *calls = json_object_object_get(doc, "calls");
        struct cc_strbuf b = {0};
        size_t n = 0;
        for (size_t i = 0; i < json_object_array_length(calls); i++) {
                json_object *c = json_object_array_get_idx(calls, i);
                if (strcmp(tt_str(c, "to"), to) == 0) {
                        cc_strbuf_printf(&b, "%s%s", n ? "," : "", tt_str(c, "sid"));
                        n++;
                }
        }
        json_object_put(doc);
        *ret_n = n;
        return cc_strbuf_take(&b);
}

/* The sid of the one leg the simulator got to `to`, waiting for it; heap. */
static char *sim_leg_to(const char *to)
{
        char *sids = NULL;
        size_t n = 0;
        CC_TEST_WAIT(({
                             free(sids);
                             sids = sim_calls_to(to, &n);
                             n > 0;
                     }),
                     WAIT_MS, 20);
        ck_assert_msg(n == 1, "%zu legs to %s", n, to);
        return sids;
}

static json_object *sim_call(const char *sid)
{
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        return sim_get(path);
}

/* Waits until the simulator's call plays TwiML containing want (it keeps a leg's TwiML from its
 * answer on). */
static void wait_sim_twiml(const char *sid, const char *want)
{
        char *last = NULL;
        bool ok = CC_TEST_WAIT(({
                                       json_object *c = sim_call(sid);
                                       free(last);
                                       const char *t = tt_str(c, "last_twiml");
                                       last = strdup(t ? t : "(none)");
                                       json_object_put(c);
                                       strstr(last, want) != NULL;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "call %s plays %s, want %s in it", sid, last, want);
        free(last);
}

static void wait_sim_status(const char *sid, const char *want)
{
        char last[32] = "";
        bool ok = CC_TEST_WAIT(({
                                       json_object *c = sim_call(sid);
                                       snprintf(last, sizeof(last), "%s", tt_str(c, "status"));
                                       json_object_put(c);
                                       strcmp(last, want) == 0;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "call %s is %s at the simulator, want %s", sid, last, want);
}

static void expect_sim_status(const char *sid, const char *want)
{
        json_object *c = sim_call(sid);
        ck_assert_msg(strcmp(tt_str(c, "status"), want) == 0, "call %s: %s, want %s", sid,
                      tt_str(c, "status"), want);
        json_object_put(c);
}

/* ---- the service ---- */

static void get_call(struct cc_service *svc, const char *token, const char *id, struct tt_resp *r)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/calls/%s", id);
        tt_call(svc, "GET", path, NULL, token, r);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
}

static void wait_call_status(struct cc_service *svc, const char *token, const char *id,
                             const char *want)
{
        char last[32] = "";
        bool ok = CC_TEST_WAIT(({
                                       struct tt_resp r;
                                       get_call(svc, token, id, &r);
                                       snprintf(last, sizeof(last), "%s", tt_str(r.json, "status"));
                                       tt_resp_fini(&r);
                                       strcmp(last, want) == 0;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "call %s is %s, want %s", id, last, want);
}

/* The call's metadata key `key` (a new reference; NULL when absent). */
static json_object *call_meta(struct cc_service *svc, const char *token, const char *id,
                              const char *key)
{
        struct tt_resp r;
        get_call(svc, token, id, &r);
        json_object *v =
            json_object_object_get(json_object_object_get(r.json, "extra_metadata"), key);
        json_object_get(v);
        tt_resp_fini(&r);
        return v;
}

static char *supervisor_of(struct cc_service *svc, const char *token, const char *id)
{
        struct tt_resp r;
        get_call(svc, token, id, &r);
        const char *s = tt_str(r.json, "supervisor_id");
        char *out = strdup(s ? s : "(null)");
        tt_resp_fini(&r);
        return out;
}

static void expect_supervisor(struct cc_service *svc, const char *token, const char *id,
                              const char *want)
{
        char *s = supervisor_of(svc, token, id);
        ck_assert_str_eq(s, want);
        free(s);
}

/* POST /api/supervisor/calls/{id}/<action>[?query] with body (NULL: none). */
static long act(struct cc_service *svc, const char *token, const char *id, const char *action,
                const char *query, const char *body, struct tt_resp *ret)
{
        char path[256];
        snprintf(path, sizeof(path), "/api/supervisor/calls/%s/%s%s%s", id, action,
                 query ? "?" : "", query ? query : "");
        return tt_call(svc, "POST", path, body, token, ret);
}

static void expect_act(struct cc_service *svc, const char *token, const char *id,
                       const char *action, const char *body, long status, const char *detail)
{
        struct tt_resp r;
        act(svc, token, id, action, NULL, body, &r);
        tt_expect(&r, status, detail);
        tt_resp_fini(&r);
}

static char *inbound_call(struct cc_service *svc, const char *token)
{
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"INBOUND\"}",
                token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

static void move(const char *org, const char *id, enum tel_call_status to)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const struct tel_transition t = {.to = to, .source = TEL_SOURCE_API, .duration_s = -1};
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_call_transition(conn, org, id, &t, NULL), 0);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

/* The agent's leg of the call as routing leaves it: an accepted offer with its CallSid. */
static void agent_leg(const char *org, const char *agent_user, const char *call_id, const char *sid)
{
        char agent[CC_UUID_LEN + 1], offer[CC_UUID_LEN + 1];
        cc_uuid_v4(agent);
        cc_uuid_v4(offer);
        const char *p[] = {agent, org, agent_user};
        exec_sql("INSERT INTO agents (id, org_id, user_id, status, current_load) "
                 "VALUES ($1, $2, $3, 'BUSY', 1)",
                 3, p);
        const char *q[] = {offer, org, call_id, agent, sid};
        exec_sql("INSERT INTO offers (id, org_id, call_id, agent_id, state, twilio_sid) "
                 "VALUES ($1, $2, $3, $4, 'ACCEPTED', $5)",
                 5, q);
}

/* The agent's outbound call from the organization's number (added here) to +15550107777,
 * answered: it sits in conference cc-<id>. *ret_customer: the customer's leg at the simulator
 * (heap). */
static char *live_call(struct cc_service *svc, const struct tt_caller *admin,
                       const struct tt_caller *agent, char **ret_customer)
{
        struct tt_resp r;
        tt_call(svc, "POST", "/api/telephony/numbers", "{\"number\":\"+15557770700\"}",
                admin->token, &r);
        tt_expect(&r, 201, NULL);
        tt_resp_fini(&r);
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15557770700\",\"to_number\":\"+15550107777\","
                "\"direction\":\"OUTBOUND\"}",
                agent->token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        wait_call_status(svc, agent->token, id, "IN_PROGRESS");
        char *customer = sim_leg_to("+15550107777");
        char conf[80];
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", id);
        wait_sim_twiml(customer, conf);
        *ret_customer = customer;
        return id;
}

/* ---- the actions on a live call ---- */

START_TEST(telephony_supervisor_actions_through_simulator)
{
        sim_start(50, 60000); /* calls stay up until hung up */
        struct cc_service *svc = start_reachable();
        struct tt_caller admin, sup, sup2, agent;
        tt_caller(&admin, NULL, "ADMIN");
        answering_caller(&sup, admin.org_id, "SUPERVISOR");
        tt_caller(&sup2, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        struct tt_resp r;
        char *customer;
        char *id = live_call(svc, &admin, &agent, &customer);
        char want[512];

        /* monitor, with the empty body the client sends: the supervisor's own client listens */
        act(svc, sup.token, id, "monitor", NULL, NULL, &r);
        tt_expect(&r, 200, NULL);
        char url[128];
        snprintf(url, sizeof(url), "wss://monitor/%s", id);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "call_id"), id);
        ck_assert_str_eq(tt_str(r.json, "monitor_url"), url);
        ck_assert_str_eq(tt_str(r.json, "message"), "Monitoring started");
        ck_assert_int_eq(json_object_object_length(r.json), 4);
        tt_resp_fini(&r);
        char client[64];
        snprintf(client, sizeof(client), "client:%s", sup.user_id);
        char *monitor_leg = sim_leg_to(client);
        snprintf(want, sizeof(want),
                 "<Dial><Conference muted=\"true\" startConferenceOnEnter=\"false\" "
                 "endConferenceOnExit=\"false\" beep=\"false\">cc-%s</Conference></Dial>",
                 id);
        wait_sim_twiml(monitor_leg, want);
        json_object *sc = sim_call(monitor_leg);
        ck_assert_str_eq(tt_str(sc, "from"), "+15557770700");
        json_object_put(sc);
        expect_supervisor(svc, agent.token, id, sup.user_id);
        json_object *s = call_meta(svc, sup.token, id, "supervisor");
        ck_assert_str_eq(tt_str(s, "mode"), "monitor");
        ck_assert_str_eq(tt_str(s, "leg_sid"), monitor_leg);
        ck_assert_str_eq(tt_str(s, "user_id"), sup.user_id);
        json_object_put(s);

        /* whisper needs the agent's leg to coach */
        expect_act(svc, sup.token, id, "whisper", "{\"message\":\"hello\"}", 400,
                   "Call has no agent to coach");
        agent_leg(admin.org_id, agent.user_id, id, "CA00000000000000000000000000a9e171");
        expect_act(svc, sup.token, id, "whisper", "{}", 422, "message: field required");
        expect_act(svc, sup.token, id, "whisper", NULL, 422, "message: field required");
        s = call_meta(svc, sup.token, id, "supervisor");
        ck_assert_str_eq(tt_str(s, "mode"), "monitor"); /* the refusals changed nothing */
        json_object_put(s);

        /* coach: only the agent hears; the monitor leg it replaces is hung up */
        act(svc, sup.token, id, "whisper", NULL,
            "{\"message\":\"Offer the loyalty discount\",\"endpoint\":\"+15550104441\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "message"), "Whisper sent to agent");
        tt_resp_fini(&r);
        char *coach_leg = sim_leg_to("+15550104441");
        snprintf(want, sizeof(want),
                 "<Conference coach=\"CA00000000000000000000000000a9e171\" "
                 "startConferenceOnEnter=\"false\" endConferenceOnExit=\"false\" "
                 "beep=\"false\">cc-%s</Conference>",
                 id);
        wait_sim_twiml(coach_leg, want);
        wait_sim_status(monitor_leg, "completed");
        s = call_meta(svc, sup.token, id, "supervisor");
        ck_assert_str_eq(tt_str(s, "mode"), "whisper");
        ck_assert_str_eq(tt_str(s, "leg_sid"), coach_leg);
        json_object_put(s);
        /* another message (the query string, as the original read it) reuses the coach leg */
        act(svc, sup.token, id, "whisper", "message=Now%20close%20it", NULL, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
        size_t n = 0;
        free(sim_calls_to("+15550104441", &n));
        ck_assert_uint_eq(n, 1);
        expect_sim_status(coach_leg, "in-progress");
        /* the agent's screen shows the messages */
        json_object *ws = call_meta(svc, agent.token, id, "whispers");
        ck_assert_uint_eq(json_object_array_length(ws), 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(ws, 0), "message"),
                         "Offer the loyalty discount");
        ck_assert_str_eq(tt_str(json_object_array_get_idx(ws, 1), "message"), "Now close it");
        ck_assert_str_eq(tt_str(json_object_array_get_idx(ws, 1), "user_id"), sup.user_id);
        json_object_put(ws);

        /* a bad endpoint, an agent: refused before anything is dialled */
        expect_act(svc, sup2.token, id, "barge-in", "{\"endpoint\":\"call me\"}", 422, NULL);
        expect_act(svc, agent.token, id, "barge-in", NULL, 403, FORBID_SUP);
        expect_act(svc, agent.token, id, "monitor", NULL, 403, FORBID_SUP);
        expect_supervisor(svc, agent.token, id, sup.user_id);

        /* barge-in by another supervisor: speaks to everyone; the first one's leg stays */
        act(svc, sup2.token, id, "barge-in", NULL, "{\"endpoint\":\"sip:sup2@pbx.example.com\"}",
            &r);
        tt_expect(&r, 200, NULL);
        snprintf(url, sizeof(url), "wss://conference/%s", id);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "conference_url"), url);
        ck_assert_str_eq(tt_str(r.json, "message"), "Barge-in started");
        tt_resp_fini(&r);
        char *barge_leg = sim_leg_to("sip:sup2@pbx.example.com");
        snprintf(want, sizeof(want),
                 "<Conference muted=\"false\" startConferenceOnEnter=\"false\" "
                 "endConferenceOnExit=\"false\" beep=\"false\">cc-%s</Conference>",
                 id);
        wait_sim_twiml(barge_leg, want);
        expect_supervisor(svc, agent.token, id, sup2.user_id);
        expect_sim_status(coach_leg, "in-progress");

        /* end: Twilio hangs the call up, the record is COMPLETED, the supervisor leaves too */
        act(svc, sup.token, id, "end", NULL, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "message"), "Call ended");
        tt_resp_fini(&r);
        wait_sim_status(customer, "completed");
        wait_sim_status(barge_leg, "completed");
        get_call(svc, sup.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        tt_resp_fini(&r);

        /* an ended call: refused, nothing dialled, nothing changed */
        json_object *all = sim_get("/sim/calls");
        size_t calls_before = json_object_array_length(json_object_object_get(all, "calls"));
        json_object_put(all);
        expect_act(svc, sup.token, id, "monitor", NULL, 400, NOT_ACTIVE);
        expect_act(svc, sup.token, id, "whisper", "{\"message\":\"late\"}", 400, NOT_ACTIVE);
        expect_act(svc, sup.token, id, "barge-in", NULL, 400, NOT_ACTIVE);
        expect_act(svc, sup.token, id, "end", NULL, 400, NOT_ACTIVE);
        all = sim_get("/sim/calls");
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(all, "calls")),
                          calls_before);
        json_object_put(all);
        expect_supervisor(svc, agent.token, id, sup2.user_id);

        free(barge_leg);
        free(coach_leg);
        free(monitor_leg);
        free(customer);
        free(id);
        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        tt_caller_fini(&sup2);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
        sim_stop();
}
END_TEST

/* ---- one leg per supervisor, whoever acted last ---- */

#define AGENT_SID "CA00000000000000000000000000a9e171"

/* The simulator's call has ended (hung up before its answer, it is canceled). */
static void wait_sim_ended(const char *sid)
{
        char last[32] = "";
        bool ok =
            CC_TEST_WAIT(({
                                 json_object *c = sim_call(sid);
                                 snprintf(last, sizeof(last), "%s", tt_str(c, "status"));
                                 json_object_put(c);
                                 strcmp(last, "completed") == 0 || strcmp(last, "canceled") == 0;
                         }),
                         WAIT_MS, 20);
        ck_assert_msg(ok, "call %s is %s at the simulator, want it ended", sid, last);
}

static size_t sim_count(void)
{
        json_object *all = sim_get("/sim/calls");
        size_t n = json_object_array_length(json_object_object_get(all, "calls"));
        json_object_put(all);
        return n;
}

/* The leg the call's metadata records for supervisor user_id ("supervisors"), checking its
 * mode (heap). */
static char *session_leg(struct cc_service *svc, const char *token, const char *id,
                         const char *user_id, const char *mode)
{
        json_object *all = call_meta(svc, token, id, "supervisors");
        json_object *s = json_object_object_get(all, user_id);
        ck_assert_msg(s && tt_str(s, "leg_sid"), "no session of %s in %s", user_id,
                      json_object_to_json_string(all));
        ck_assert_str_eq(tt_str(s, "mode"), mode);
        char *leg = strdup(tt_str(s, "leg_sid"));
        json_object_put(all);
        return leg;
}

static void expect_session(struct cc_service *svc, const char *token, const char *id,
                           const char *user_id, const char *mode, const char *leg_sid)
{
        char *leg = session_leg(svc, token, id, user_id, mode);
        ck_assert_str_eq(leg, leg_sid);
        free(leg);
}

/* action by the caller of token, dialling endpoint (with message for a whisper): the new leg,
 * once it plays the call's conference (heap). */
static char *join(struct cc_service *svc, const char *token, const char *id, const char *action,
                  const char *endpoint, const char *message)
{
        char body[256], conf[80];
        snprintf(body, sizeof(body), "{\"endpoint\":\"%s\"%s%s%s}", endpoint,
                 message ? ",\"message\":\"" : "", message ? message : "", message ? "\"" : "");
        struct tt_resp r;
        act(svc, token, id, action, NULL, body, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
        char *leg = sim_leg_to(endpoint);
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", id);
        wait_sim_twiml(leg, conf);
        return leg;
}

START_TEST(telephony_supervisor_one_leg_per_supervisor)
{
        sim_start(50, 60000);
        struct cc_service *svc = start_reachable();
        struct tt_caller admin, a, b, agent;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&a, admin.org_id, "SUPERVISOR");
        tt_caller(&b, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        char *customer;
        char *id = live_call(svc, &admin, &agent, &customer);
        agent_leg(admin.org_id, agent.user_id, id, AGENT_SID);

        /* A listens, B listens, A barges in: A's listening leg goes, B's stays */
        char *a1 = join(svc, a.token, id, "monitor", "+15550300011", NULL);
        char *b1 = join(svc, b.token, id, "monitor", "+15550300021", NULL);
        char *a2 = join(svc, a.token, id, "barge-in", "+15550300012", NULL);
        wait_sim_ended(a1);
        expect_sim_status(b1, "in-progress");
        expect_session(svc, a.token, id, a.user_id, "barge-in", a2);
        expect_session(svc, a.token, id, b.user_id, "monitor", b1);
        /* A coaches: A's barge-in leg goes */
        char *a3 = join(svc, a.token, id, "whisper", "+15550300013", "Offer the discount");
        wait_sim_ended(a2);
        expect_sim_status(b1, "in-progress");
        /* B barges in: B's listening leg goes, A's coaching stays */
        char *b2 = join(svc, b.token, id, "barge-in", "+15550300022", NULL);
        wait_sim_ended(b1);
        expect_sim_status(a3, "in-progress");

        /* A whispers again after B acted: A's own coach leg is reused, nothing is dialled */
        size_t before = sim_count();
        expect_act(svc, a.token, id, "whisper", "{\"message\":\"Now close it\"}", 200, NULL);
        ck_assert_uint_eq(sim_count(), before);
        expect_sim_status(a3, "in-progress");
        expect_session(svc, a.token, id, a.user_id, "whisper", a3);
        expect_session(svc, a.token, id, b.user_id, "barge-in", b2);
        /* "supervisor" is the most recent session, as supervisor_id is its supervisor */
        json_object *s = call_meta(svc, a.token, id, "supervisor");
        ck_assert_str_eq(tt_str(s, "user_id"), a.user_id);
        ck_assert_str_eq(tt_str(s, "mode"), "whisper");
        ck_assert_str_eq(tt_str(s, "leg_sid"), a3);
        ck_assert_str_eq(tt_str(s, "coach_sid"), AGENT_SID);
        json_object_put(s);
        expect_supervisor(svc, agent.token, id, a.user_id);

        /* end: every supervisor's leg is hung up, not only the last one's */
        expect_act(svc, b.token, id, "end", NULL, 200, NULL);
        wait_sim_status(customer, "completed");
        wait_sim_status(a3, "completed");
        wait_sim_status(b2, "completed");
        wait_call_status(svc, a.token, id, "COMPLETED");

        free(a1);
        free(a2);
        free(a3);
        free(b1);
        free(b2);
        free(customer);
        free(id);
        tt_caller_fini(&admin);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
        sim_stop();
}
END_TEST

/* ---- requests at once ---- */

/* The test holding the call's row lock, as a request does: the service's requests that need it
 * queue behind, whatever they did before (read, dial). */
struct row_lock {
        struct cc_db_pool *pool;
        struct cc_db_conn *conn;
        char pid[16];
};

static void lock_call(struct row_lock *l, const char *id)
{
        l->pool = cc_test_pool(tt_schema, 2, 5000);
        l->conn = cc_test_acquire(l->pool);
        const char *p[] = {id};
        cc_test_exec(l->conn, "BEGIN", 0, NULL);
        cc_test_exec(l->conn, "SELECT 1 FROM calls WHERE id = $1 FOR UPDATE", 1, p);
        cc_test_query_value(l->conn, "SELECT pg_backend_pid()::text", NULL, l->pid, sizeof(l->pid));
}

/* Waits until at least n sessions wait for the lock, directly or behind one another. */
static void wait_queued(struct row_lock *l, long long n)
{
        static const char sql[] =
            "WITH RECURSIVE w(pid) AS ("
            "SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) UNION "
            "SELECT a.pid FROM pg_stat_activity a JOIN w ON w.pid = ANY(pg_blocking_pids(a.pid))"
            ") SELECT count(*) FROM w";
        long long got = 0;
        bool ok =
            CC_TEST_WAIT((got = cc_test_pool_query_int(l->pool, sql, l->pid)) >= n, WAIT_MS, 10);
        ck_assert_msg(ok, "%lld requests wait for the call, want %lld", got, n);
}

static void unlock_call(struct row_lock *l)
{
        cc_test_exec(l->conn, "COMMIT", 0, NULL);
        cc_db_release(l->conn);
        cc_db_pool_free(l->pool);
}

/* A request in a thread of its own. */
struct bg_act {
        pthread_t thread;
        struct cc_service *svc;
        const char *token, *id, *action, *body;
        long status;
};

static void *bg_run(void *arg)
{
        struct bg_act *b = arg;
        b->status = act(b->svc, b->token, b->id, b->action, NULL, b->body, NULL);
        return NULL;
}

static void bg_start(struct bg_act *b, struct cc_service *svc, const char *token, const char *id,
                     const char *action, const char *body)
{
        *b = (struct bg_act){.svc = svc, .token = token, .id = id, .action = action, .body = body};
        ck_assert_int_eq(pthread_create(&b->thread, NULL, bg_run, b), 0);
}

static long bg_join(struct bg_act *b)
{
        ck_assert_int_eq(pthread_join(b->thread, NULL), 0);
        return b->status;
}

/* tt_start_reachable with threads to spare: a request held behind the test's lock keeps its
 * server thread (and any connection that thread accepted), and the next request and the
 * simulator's callbacks need others. */
static struct cc_service *start_wide(void)
{
        tt_env(sim_base, TT_SIM_AC, TT_SIM_TOK);
        setenv("CC_HTTP_THREADS", "6", 1);
        char port_s[16], base[64];
        int port = cc_test_free_port();
        snprintf(port_s, sizeof(port_s), "%d", port);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        setenv("CC_HTTP_PORT", port_s, 1);
        setenv("CC_PUBLIC_BASE_URL", base, 1);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&tt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

static bool sim_ended(const char *sid)
{
        json_object *c = sim_call(sid);
        const char *st = tt_str(c, "status");
        bool ended = strcmp(st, "completed") == 0 || strcmp(st, "canceled") == 0;
        json_object_put(c);
        return ended;
}

/* Both requests dialled, then queued for the call: one of the two legs must have been hung up
 * and the other recorded and still up. Returns the recorded one (heap). */
static char *recorded_of_two(struct cc_service *svc, const struct tt_caller *c, const char *id,
                             const char *mode, const char *to1, const char *to2)
{
        char *l1 = sim_leg_to(to1), *l2 = sim_leg_to(to2);
        bool ok = CC_TEST_WAIT(sim_ended(l1) || sim_ended(l2), WAIT_MS, 20);
        ck_assert_msg(ok, "both legs %s and %s are still up", l1, l2);
        char *kept = strdup(sim_ended(l1) ? l2 : l1);
        wait_sim_status(kept, "in-progress");
        char *recorded = session_leg(svc, c->token, id, c->user_id, mode);
        ck_assert_str_eq(recorded, kept);
        free(recorded);
        free(l1);
        free(l2);
        return kept;
}

START_TEST(telephony_supervisor_concurrent_requests)
{
        sim_start(50, 60000);
        struct cc_service *svc = start_wide();
        struct tt_caller admin, a, b, agent;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&a, admin.org_id, "SUPERVISOR");
        tt_caller(&b, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        char *customer;
        char *id = live_call(svc, &admin, &agent, &customer);
        agent_leg(admin.org_id, agent.user_id, id, AGENT_SID);
        struct row_lock l;
        struct bg_act x, y;

        /* two monitors of A, both dialled before either is recorded: one leg stays, the one it
         * replaced is hung up */
        lock_call(&l, id);
        bg_start(&x, svc, a.token, id, "monitor", "{\"endpoint\":\"+15550400011\"}");
        wait_queued(&l, 1);
        bg_start(&y, svc, a.token, id, "monitor", "{\"endpoint\":\"+15550400012\"}");
        wait_queued(&l, 2);
        unlock_call(&l);
        ck_assert_int_eq(bg_join(&x), 200);
        ck_assert_int_eq(bg_join(&y), 200);
        char *mon = recorded_of_two(svc, &a, id, "monitor", "+15550400011", "+15550400012");

        /* two whispers of A, the same way: one coach leg, the monitor leg gone, both messages
         * kept */
        lock_call(&l, id);
        bg_start(&x, svc, a.token, id, "whisper",
                 "{\"endpoint\":\"+15550400013\",\"message\":\"first\"}");
        wait_queued(&l, 1);
        bg_start(&y, svc, a.token, id, "whisper",
                 "{\"endpoint\":\"+15550400014\",\"message\":\"second\"}");
        wait_queued(&l, 2);
        unlock_call(&l);
        ck_assert_int_eq(bg_join(&x), 200);
        ck_assert_int_eq(bg_join(&y), 200);
        char *coach = recorded_of_two(svc, &a, id, "whisper", "+15550400013", "+15550400014");
        wait_sim_ended(mon);
        json_object *ws = call_meta(svc, agent.token, id, "whispers");
        ck_assert_uint_eq(json_object_array_length(ws), 2);
        json_object_put(ws);

        /* a whisper that would reuse the coach leg, queued behind a monitor of A that replaces
         * it: the whisper dials a new coach leg */
        lock_call(&l, id);
        bg_start(&x, svc, a.token, id, "monitor", "{\"endpoint\":\"+15550400015\"}");
        wait_queued(&l, 1);
        bg_start(&y, svc, a.token, id, "whisper",
                 "{\"endpoint\":\"+15550400016\",\"message\":\"third\"}");
        wait_queued(&l, 2);
        unlock_call(&l);
        ck_assert_int_eq(bg_join(&x), 200);
        ck_assert_int_eq(bg_join(&y), 200);
        char *mon2 = sim_leg_to("+15550400015");
        char *coach2 = sim_leg_to("+15550400016");
        expect_session(svc, a.token, id, a.user_id, "whisper", coach2);
        wait_sim_status(coach2, "in-progress");
        wait_sim_ended(coach);
        wait_sim_ended(mon2);
        ws = call_meta(svc, agent.token, id, "whispers");
        ck_assert_uint_eq(json_object_array_length(ws), 3);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(ws, 2), "message"), "third");
        json_object_put(ws);

        /* a barge-in of B recorded while end waits for the call: end hangs it up too */
        lock_call(&l, id);
        bg_start(&x, svc, b.token, id, "barge-in", "{\"endpoint\":\"+15550400017\"}");
        wait_queued(&l, 1);
        bg_start(&y, svc, a.token, id, "end", NULL);
        wait_queued(&l, 2);
        unlock_call(&l);
        ck_assert_int_eq(bg_join(&x), 200);
        ck_assert_int_eq(bg_join(&y), 200);
        char *barge = sim_leg_to("+15550400017");
        wait_sim_ended(barge);
        wait_sim_ended(coach2);
        wait_sim_status(customer, "completed");
        wait_call_status(svc, a.token, id, "COMPLETED");

        free(barge);
        free(coach2);
        free(mon2);
        free(coach);
        free(mon);
        free(customer);
        free(id);
        tt_caller_fini(&admin);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
        sim_stop();
}
END_TEST

/* ---- refusals, without Twilio ---- */

START_TEST(telephony_supervisor_refusals)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, agent, other;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&agent, sup.org_id, "AGENT");
        tt_caller(&other, NULL, "ADMIN");
        char *ringing = inbound_call(svc, sup.token);
        char *live = inbound_call(svc, sup.token);
        move(sup.org_id, live, TEL_CALL_IN_PROGRESS);
        struct tt_resp r;
        static const char *const actions[] = {"monitor", "whisper", "barge-in", "end"};
        const char *msg = "{\"message\":\"hi\"}";

        /* agents: none of the six */
        tt_call(svc, "GET", "/api/supervisor/active-calls", NULL, agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        char path[160];
        snprintf(path, sizeof(path), "/api/supervisor/calls/%s/summary", live);
        tt_call(svc, "GET", path, NULL, agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        for (size_t i = 0; i < CC_ARRAY_SIZE(actions); i++)
                expect_act(svc, agent.token, live, actions[i], msg, 403, FORBID_SUP);

        /* another organization's call, or none at all: not found */
        tt_call(svc, "GET", path, NULL, other.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        char ghost[CC_UUID_LEN + 1];
        cc_uuid_v4(ghost);
        for (size_t i = 0; i < CC_ARRAY_SIZE(actions); i++) {
                expect_act(svc, other.token, live, actions[i], msg, 404, NOT_FOUND);
                expect_act(svc, sup.token, ghost, actions[i], msg, 404, NOT_FOUND);
                expect_act(svc, sup.token, "not-a-call", actions[i], msg, 404, NOT_FOUND);
        }
        get_call(svc, sup.token, live, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "IN_PROGRESS");
        tt_resp_fini(&r);

        /* a call not answered yet has nothing to join */
        expect_act(svc, sup.token, ringing, "monitor", NULL, 400, NOT_ACTIVE);
        expect_act(svc, sup.token, ringing, "whisper", msg, 400, NOT_ACTIVE);
        expect_act(svc, sup.token, ringing, "barge-in", NULL, 400, NOT_ACTIVE);
        /* bad input is named before anything else */
        expect_act(svc, sup.token, live, "monitor", "{\"endpoint\":\"12\"}", 422, NULL);
        expect_act(svc, sup.token, live, "whisper", "{\"message\":\"\"}", 422, NULL);
        expect_act(svc, sup.token, live, "monitor", "[]", 422, NULL);
        /* no Twilio here: a live call cannot be joined, and stays as it was */
        expect_act(svc, sup.token, live, "monitor", NULL, 400, "Telephony service not available");
        expect_act(svc, sup.token, live, "barge-in", NULL, 400, "Telephony service not available");
        expect_supervisor(svc, sup.token, live, "(null)");

        /* a call Twilio never had ends here alone; once ended, it stays so */
        expect_act(svc, sup.token, live, "end", NULL, 200, NULL);
        expect_act(svc, sup.token, ringing, "end", NULL, 200, NULL);
        for (size_t i = 0; i < CC_ARRAY_SIZE(actions); i++) {
                expect_act(svc, sup.token, live, actions[i], msg, 400, NOT_ACTIVE);
                expect_act(svc, sup.token, ringing, actions[i], msg, 400, NOT_ACTIVE);
        }
        get_call(svc, sup.token, live, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        tt_resp_fini(&r);
        get_call(svc, sup.token, ringing, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        tt_resp_fini(&r);

        free(ringing);
        free(live);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        tt_caller_fini(&other);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_supervisor_active_calls)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, admin, other;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&admin, sup.org_id, "ADMIN");
        tt_caller(&other, NULL, "SUPERVISOR");
        char *older = inbound_call(svc, sup.token);
        char *ringing = inbound_call(svc, sup.token);
        char *ended = inbound_call(svc, sup.token);
        char *deleted = inbound_call(svc, sup.token);
        char *newer = inbound_call(svc, sup.token);
        char *theirs = inbound_call(svc, other.token);
        move(sup.org_id, older, TEL_CALL_IN_PROGRESS);
        move(sup.org_id, newer, TEL_CALL_IN_PROGRESS);
        move(sup.org_id, ended, TEL_CALL_IN_PROGRESS);
        move(sup.org_id, ended, TEL_CALL_COMPLETED);
        move(sup.org_id, deleted, TEL_CALL_IN_PROGRESS);
        move(other.org_id, theirs, TEL_CALL_IN_PROGRESS);
        char path[128];
        snprintf(path, sizeof(path), "/api/calls/%s", deleted);
        ck_assert_int_eq(tt_call(svc, "DELETE", path, NULL, sup.token, NULL), 204);

        struct tt_resp r;
        tt_call(svc, "GET", "/api/supervisor/active-calls", NULL, admin.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "total"), 2);
        json_object *calls = json_object_object_get(r.json, "calls");
        ck_assert_uint_eq(json_object_array_length(calls), 2);
        json_object *first = json_object_array_get_idx(calls, 0);
        ck_assert_str_eq(tt_str(first, "id"), newer);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(calls, 1), "id"), older);
        /* full Call objects */
        ck_assert_str_eq(tt_str(first, "status"), "IN_PROGRESS");
        ck_assert_str_eq(tt_str(first, "direction"), "INBOUND");
        ck_assert_str_eq(tt_str(first, "provider"), "TWILIO");
        ck_assert_str_eq(tt_str(first, "organization_id"), sup.org_id);
        ck_assert_str_eq(tt_str(first, "from_number"), "+15550001111");
        ck_assert_ptr_nonnull(tt_str(first, "start_time"));
        tt_resp_fini(&r);
        tt_call(svc, "GET", "/api/supervisor/active-calls?page_size=1", NULL, sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "total"), 2);
        calls = json_object_object_get(r.json, "calls");
        ck_assert_uint_eq(json_object_array_length(calls), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(calls, 0), "id"), newer);
        tt_resp_fini(&r);
        tt_call(svc, "GET", "/api/supervisor/active-calls?page_size=0", NULL, sup.token, &r);
        ck_assert_int_eq(r.status, 422);
        tt_resp_fini(&r);
        /* the other organization sees its own only */
        tt_call(svc, "GET", "/api/supervisor/active-calls", NULL, other.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "total"), 1);
        calls = json_object_object_get(r.json, "calls");
        ck_assert_str_eq(tt_str(json_object_array_get_idx(calls, 0), "id"), theirs);
        tt_resp_fini(&r);

        free(older);
        free(ringing);
        free(ended);
        free(deleted);
        free(newer);
        free(theirs);
        tt_caller_fini(&sup);
        tt_caller_fini(&admin);
        tt_caller_fini(&other);
        cc_service_stop(svc);
}
END_TEST

/* ---- the summary ---- */

static void transcript(const char *org, const char *call_id, const char *role, const char *at,
                       const char *content)
{
        char id[CC_UUID_LEN + 1], tsid[48];
        cc_uuid_v4(id);
        snprintf(tsid, sizeof(tsid), "TR%s", id);
        const char *p[] = {id, call_id, org, tsid, role, content, at};
        exec_sql("INSERT INTO transcripts (id, call_id, org_id, transcription_sid, role, content, "
                 "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)",
                 7, p);
}

static void summary(struct cc_service *svc, const char *token, const char *id, struct tt_resp *r)
{
        char path[160];
        snprintf(path, sizeof(path), "/api/supervisor/calls/%s/summary", id);
        tt_call(svc, "GET", path, NULL, token, r);
        tt_expect(r, 200, NULL);
}

static void expect_keywords(json_object *s, const char *want)
{
        json_object *kw = json_object_object_get(s, "keywords");
        char got[256] = "";
        for (size_t i = 0; i < json_object_array_length(kw); i++) {
                json_object *k = json_object_array_get_idx(kw, i);
                size_t len = strlen(got);
                snprintf(got + len, sizeof(got) - len, "%s%s=%d", i ? " " : "", tt_str(k, "word"),
                         (int)jint(k, "count"));
        }
        ck_assert_str_eq(got, want);
}

static const char *sentiment_of(struct cc_service *svc, const char *token, const char *org,
                                const char *id, const char *text, char out[16])
{
        const char *p[] = {id};
        exec_sql("DELETE FROM transcripts WHERE call_id = $1", 1, p);
        transcript(org, id, "USER", "2025-03-01T10:00:00Z", text);
        struct tt_resp r;
        summary(svc, token, id, &r);
        snprintf(out, 16, "%s", tt_str(r.json, "sentiment"));
        tt_resp_fini(&r);
        return out;
}

START_TEST(telephony_supervisor_summary)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, other;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&other, NULL, "SUPERVISOR");
        const char *org = sup.org_id;
        char *done = inbound_call(svc, sup.token);
        /* ended: 125.7 s from start to end (the stored duration is not what counts) */
        const char *p[] = {done};
        exec_sql("UPDATE calls SET status = 'COMPLETED', start_time = '2025-03-01T10:00:00Z', "
                 "ended_at = '2025-03-01T10:02:05.700Z', duration_s = 999 WHERE id = $1",
                 1, p);
        /* out of order: the summary orders them by time */
        transcript(org, done, "USER", "2025-03-01T10:01:00Z",
                   "The ISSUE is the Payment. I am frustrated.");
        transcript(org, done, "USER", "2025-03-01T10:00:05Z",
                   "Hello, I have a problem with my order and I want to cancel it.");
        transcript(org, done, "ASSISTANT", "2025-03-01T10:00:30Z",
                   "Thanks for calling! I can help with your order.");
        struct tt_resp r;
        summary(svc, sup.token, done, &r);
        json_object *s = r.json;
        ck_assert_str_eq(tt_str(s, "call_id"), done);
        ck_assert_ptr_null(tt_str(s, "agent_id"));
        ck_assert_str_eq(tt_str(s, "from_number"), "+15550001111");
        ck_assert_str_eq(tt_str(s, "to_number"), "+15550002222");
        ck_assert_str_eq(tt_str(s, "status"), "COMPLETED");
        ck_assert_str_eq(tt_str(s, "direction"), "INBOUND");
        ck_assert_int_eq(jint(s, "duration_sec"), 125);
        ck_assert_int_eq(jint(s, "total_exchanges"), 3);
        ck_assert_str_eq(tt_str(s, "first_utterance"),
                         "Hello, I have a problem with my order and I want to cancel it.");
        ck_assert_str_eq(tt_str(s, "last_utterance"), "The ISSUE is the Payment. I am frustrated.");
        /* counts over lower-cased text, most first, ties in the contract's order */
        expect_keywords(s, "order=2 cancel=1 issue=1 payment=1 help=1");
        /* positive: thanks (1); negative: problem, cancel, issue, frustrated (4) */
        ck_assert_str_eq(tt_str(s, "sentiment"), "negative");
        json_object *ts = json_object_object_get(s, "transcripts");
        ck_assert_uint_eq(json_object_array_length(ts), 3);
        json_object *t1 = json_object_array_get_idx(ts, 1);
        ck_assert_str_eq(tt_str(t1, "role"), "ASSISTANT");
        ck_assert_str_eq(tt_str(t1, "content"), "Thanks for calling! I can help with your order.");
        ck_assert_str_eq(tt_str(t1, "timestamp"), "2025-03-01T10:00:30.000Z");
        ck_assert_str_eq(tt_str(json_object_array_get_idx(ts, 2), "timestamp"),
                         "2025-03-01T10:01:00.000Z");
        tt_resp_fini(&r);

        /* a live call with nothing said yet */
        char *quiet = inbound_call(svc, sup.token);
        move(org, quiet, TEL_CALL_IN_PROGRESS);
        summary(svc, sup.token, quiet, &r);
        ck_assert_int_eq(jint(r.json, "duration_sec"), 0);
        ck_assert_int_eq(jint(r.json, "total_exchanges"), 0);
        ck_assert_str_eq(tt_str(r.json, "first_utterance"), "");
        ck_assert_str_eq(tt_str(r.json, "last_utterance"), "");
        ck_assert_str_eq(tt_str(r.json, "sentiment"), "neutral");
        ck_assert_str_eq(tt_str(r.json, "status"), "IN_PROGRESS");
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.json, "keywords")), 0);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.json, "transcripts")),
                          0);
        tt_resp_fini(&r);
        /* no end time: the stored duration */
        const char *q[] = {quiet};
        exec_sql("UPDATE calls SET duration_s = 42 WHERE id = $1", 1, q);
        summary(svc, sup.token, quiet, &r);
        ck_assert_int_eq(jint(r.json, "duration_sec"), 42);
        tt_resp_fini(&r);

        /* the sentiment rule: one side must outweigh the other 1.2 times; words count inside
         * others ("goodbye" is good) */
        char out[16];
        ck_assert_str_eq(sentiment_of(svc, sup.token, org, quiet,
                                      "Great, I appreciate it. Goodbye and thanks!", out),
                         "positive");
        ck_assert_str_eq(sentiment_of(svc, sup.token, org, quiet,
                                      "good good good good good good problem problem problem "
                                      "problem problem",
                                      out),
                         "neutral"); /* 6 is not more than 1.2 x 5 */
        ck_assert_str_eq(sentiment_of(svc, sup.token, org, quiet,
                                      "good good good good good good good problem problem "
                                      "problem problem problem",
                                      out),
                         "positive");
        ck_assert_str_eq(sentiment_of(svc, sup.token, org, quiet, "ANGRY complaint, good", out),
                         "negative");
        ck_assert_str_eq(sentiment_of(svc, sup.token, org, quiet, "The weather is fine.", out),
                         "neutral");
        /* refund refund refund: a keyword's count, not one per segment */
        transcript(org, quiet, "USER", "2025-03-01T10:00:01Z", "Refund, refund! REFUND my order");
        summary(svc, sup.token, quiet, &r);
        expect_keywords(r.json, "refund=3 order=1");
        ck_assert_int_eq(jint(r.json, "total_exchanges"), 2);
        tt_resp_fini(&r);

        /* another organization's call is not found */
        char path[160];
        snprintf(path, sizeof(path), "/api/supervisor/calls/%s/summary", done);
        tt_call(svc, "GET", path, NULL, other.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);

        free(done);
        free(quiet);
        tt_caller_fini(&sup);
        tt_caller_fini(&other);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_supervisor");
        TCase *tc = tcase_create("telephony_supervisor");
        tcase_set_timeout(tc, 90);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_supervisor_actions_through_simulator);
        tcase_add_test(tc, telephony_supervisor_one_leg_per_supervisor);
        tcase_add_test(tc, telephony_supervisor_concurrent_requests);
        tcase_add_test(tc, telephony_supervisor_refusals);
        tcase_add_test(tc, telephony_supervisor_active_calls);
        tcase_add_test(tc, telephony_supervisor_summary);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
