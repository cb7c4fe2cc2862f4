/* Calls end to end, as in development: the gateway, telephony and the Twilio simulator as
 * processes. An outbound call made through the gateway is placed at the simulator, whose signed
 * status callbacks come back through the gateway's /api/webhooks/... to telephony until the call
 * is COMPLETED with the simulator's duration, and call.ended reaches the broker once. An inbound
 * call placed by the simulator hears the organization's IVR menu and a key press puts it in the
 * menu's queue. An agent made from a user the gateway announced on cc.users.v1 becomes available
 * and takes a caller waiting in a queue: its phone rings through the simulator, it answers, and
 * when it hangs up the caller is hung up too and the agent goes through wrap-up. */
#include <json-c/json.h>

#include "e2e.h"
#include "cc/event.h"
#include "cc/kafka.h"

#define SIM_ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define SIM_TOKEN   "e2e-auth-token-0123456789abcdef"

static struct proc gateway, telephony;
static pid_t sim_pid;
static int sim_port;
static char sim_ready[128];
static char admin_token[2048];

static void spawn_sim(void)
{
        snprintf(sim_ready, sizeof(sim_ready), "/tmp/cc-e2e-sim-%d.port", (int)getpid());
        unlink(sim_ready);
        const char *bin = cc_test_env("CC_TEST_TWILIO_SIM");
        sim_pid = fork();
        ck_assert_int_ge(sim_pid, 0);
        if (sim_pid == 0) {
                char log[128];
                snprintf(log, sizeof(log), "/tmp/cc-e2e-sim-%d.log", (int)getppid());
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(fd, STDERR_FILENO);
                dup2(fd, STDOUT_FILENO);
                execl(bin, bin, "--port", "0", "--bind", "127.0.0.1", "--account",
                      SIM_ACCOUNT ":" SIM_TOKEN, "--ring-ms", "100", "--talk-ms", "2000",
                      "--ready-file", sim_ready, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && sim_port <= 0; i++) {
                char *s = slurp(sim_ready);
                sim_port = atoi(s);
                free(s);
                if (sim_port <= 0)
                        usleep(100 * 1000);
        }
        ck_assert_msg(sim_port > 0, "the simulator did not start");
}

/* A JSON request; returns the status and the parsed body (caller puts it). */
static long call_json(const char *method, int port, const char *path, const char *body,
                      const char *token, json_object **ret)
{
        char url[512], auth[2200];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
        if (token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                hdrs[1] = auth;
        }
        struct cc_test_response r;
        cc_test_http(method, url, body, body ? strlen(body) : 0, hdrs, &r);
        long st = r.status;
        if (ret)
                *ret = json_tokener_parse(r.body);
        cc_test_response_fini(&r);
        return st;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        return v ? json_object_get_string(v) : "";
}

static void setup(void)
{
        spawn_sim();
        gateway.port = cc_test_free_port();
        telephony.port = cc_test_free_port();
        char api[64], pub[64], tel_url[64];
        snprintf(api, sizeof(api), "CC_TWILIO_API_BASE=http://127.0.0.1:%d", sim_port);
        snprintf(pub, sizeof(pub), "CC_PUBLIC_BASE_URL=http://127.0.0.1:%d", gateway.port);
        snprintf(tel_url, sizeof(tel_url), "CC_TELEPHONY_URL=http://127.0.0.1:%d", telephony.port);
        const char *const tel_env[] = {api,
                                       pub,
                                       "CC_TWILIO_ACCOUNT_SID=" SIM_ACCOUNT,
                                       "CC_TWILIO_AUTH_TOKEN=" SIM_TOKEN,
                                       "CC_TWILIO_FROM_NUMBER=+15550100000",
                                       "CC_OUTBOX_POLL_MS=200",
                                       NULL};
        const char *const gw_env[] = {tel_url,
                                      "CC_ALLOW_SIGNUP=true",
                                      "CC_SIGNUP_MAX_PER_HOUR=1000",
                                      "CC_ARGON2_T_COST=1",
                                      "CC_ARGON2_M_COST_KIB=1024",
                                      NULL};
        spawn("telephony", tel_env, &telephony);
        spawn("gateway", gw_env, &gateway);
        ck_assert_msg(wait_ready(&telephony, 60000), "telephony never became ready");
        ck_assert_msg(wait_ready(&gateway, 60000), "gateway never became ready");

        char email[96], body[512];
        snprintf(email, sizeof(email), "e2e-%d-%lld@example.com", (int)getpid(),
                 (long long)cc_now_ms());
        snprintf(body, sizeof(body),
                 "{\"email\":\"%s\",\"password\":\"e2e password\",\"first_name\":\"Eve\","
                 "\"last_name\":\"Admin\",\"organization_name\":\"E2E calls\"}",
                 email);
        json_object *o = NULL;
        ck_assert_int_eq(call_json("POST", gateway.port, "/api/auth/register", body, NULL, &o),
                         201);
        snprintf(admin_token, sizeof(admin_token), "%s", jstr(o, "access_token"));
        json_object_put(o);
}

static void teardown(void)
{
        ck_assert_int_eq(stop(&gateway, 15000), 0);
        ck_assert_int_eq(stop(&telephony, 15000), 0);
        kill(sim_pid, SIGTERM);
        int status = 0;
        waitpid(sim_pid, &status, 0);
        unlink(sim_ready);
        unlink(gateway.log);
        unlink(telephony.log);
}

/* A phone number no other run uses (numbers are unique across organizations). */
static void unique_number(char out[20])
{
        snprintf(out, 20, "+1555%07lld", (long long)(cc_now_ms() % 10000000));
}

START_TEST(calls_outbound_call_completes_through_the_gateway)
{
        struct cc_kafka_consumer *kc = cc_test_consumer("cc.calls.v1", NULL, NULL);
        json_object *o = NULL;
        long st = call_json("POST", gateway.port, "/api/calls/",
                            "{\"from_number\":\"+15550100000\",\"to_number\":\"+15551234567\","
                            "\"direction\":\"OUTBOUND\"}",
                            admin_token, &o);
        ck_assert_msg(st == 201, "create: %ld %s", st, json_object_to_json_string(o));
        char id[CC_UUID_LEN + 1], path[128];
        snprintf(id, sizeof(id), "%s", jstr(o, "id"));
        json_object_put(o);
        snprintf(path, sizeof(path), "/api/calls/%s", id);

        /* initiated, ringing, in-progress, completed: signed, through the gateway. */
        bool done = false;
        for (int i = 0; i < 150 && !done; i++) {
                ck_assert_int_eq(call_json("GET", gateway.port, path, NULL, admin_token, &o), 200);
                done = strcmp(jstr(o, "status"), "COMPLETED") == 0;
                if (done) {
                        /* talk-ms 2000: the simulator reports a CallDuration of 2 s. */
                        ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "duration")),
                                         2);
                        ck_assert_ptr_nonnull(json_object_object_get(o, "end_time"));
                }
                json_object_put(o);
                if (!done)
                        usleep(100 * 1000);
        }
        ck_assert_msg(done, "the call never completed");

        int ended = 0;
        int64_t deadline = cc_monotonic_us() + 20 * 1000000LL;
        while (cc_monotonic_us() < deadline) {
                struct cc_kafka_message m;
                if (cc_test_consume(kc, deadline, &m) < 0)
                        break;
                Cc__Events__V1__Envelope *env = cc_event_unpack(m.value, m.value_len);
                if (env && strcmp(env->type, "call.ended") == 0 &&
                    env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED &&
                    strcmp(env->call_ended->call_id, id) == 0) {
                        ended++;
                        ck_assert_int_eq(env->call_ended->duration_seconds, 2);
                        /* Once seen, wait a little longer for a duplicate that must not come. */
                        int64_t soon = cc_monotonic_us() + 3 * 1000000LL;
                        if (soon < deadline)
                                deadline = soon;
                }
                cc_event_free(env);
                cc_kafka_message_release(&m);
        }
        cc_kafka_consumer_free(kc);
        ck_assert_int_eq(ended, 1);
}
END_TEST

START_TEST(calls_inbound_call_hears_the_menu_and_joins_the_queue)
{
        char number[20], body[1024];
        unique_number(number);
        snprintf(body, sizeof(body), "{\"number\":\"%s\"}", number);
        json_object *o = NULL;
        ck_assert_int_eq(
            call_json("POST", gateway.port, "/api/telephony/numbers", body, admin_token, NULL),
            201);
        ck_assert_int_eq(
            call_json("POST", gateway.port, "/api/ivr/menus",
                      "{\"name\":\"Main\",\"greeting\":\"Welcome to Acme & Sons\",\"options\":["
                      "{\"digit\":\"1\",\"description\":\"Sales\",\"action\":\"queue\","
                      "\"target\":\"sales\"}]}",
                      admin_token, &o),
            201);
        char menu_id[CC_UUID_LEN + 1];
        snprintf(menu_id, sizeof(menu_id), "%s", jstr(json_object_object_get(o, "menu"), "id"));
        json_object_put(o);
        snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}", menu_id);
        ck_assert_int_eq(call_json("PUT", gateway.port, "/api/ivr/config", body, admin_token, NULL),
                         200);

        snprintf(body, sizeof(body),
                 "{\"to\":\"%s\",\"from\":\"+15557654321\","
                 "\"url\":\"http://127.0.0.1:%d/api/webhooks/twilio/voice\"}",
                 number, gateway.port);
        ck_assert_int_eq(call_json("POST", sim_port, "/sim/inbound-call", body, NULL, &o), 200);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "status")), 200);
        const char *twiml = jstr(o, "twiml");
        ck_assert_msg(strstr(twiml, "<Gather") && strstr(twiml, "Welcome to Acme &amp; Sons"),
                      "voice answered: %s", twiml);
        char sid[64], path[128];
        snprintf(sid, sizeof(sid), "%s", jstr(o, "call_sid"));
        json_object_put(o);

        snprintf(path, sizeof(path), "/sim/calls/%s/digits", sid);
        ck_assert_int_eq(call_json("POST", sim_port, path, "{\"digits\":\"1\"}", NULL, &o), 200);
        twiml = jstr(o, "twiml");
        /* the caller waits for an agent in its call's conference, hearing our hold music */
        ck_assert_msg(strstr(twiml, "<Conference") && strstr(twiml, "/api/webhooks/twilio/hold"),
                      "digit 1 answered: %s", twiml);
        json_object_put(o);

        /* The call is the organization's, visible through the API. */
        ck_assert_int_eq(
            call_json("GET", gateway.port, "/api/calls/?page_size=100", NULL, admin_token, &o),
            200);
        json_object *items = json_object_object_get(o, "items");
        bool found = false;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *c = json_object_array_get_idx(items, i);
                if (strcmp(jstr(c, "from_number"), "+15557654321") == 0 &&
                    strcmp(jstr(c, "direction"), "INBOUND") == 0)
                        found = true;
        }
        json_object_put(o);
        ck_assert(found);
}
END_TEST

/* GETs path until field equals want (or the time runs out); returns whether it did. */
static bool wait_field(const char *path, const char *token, const char *field, const char *want)
{
        for (int i = 0; i < 200; i++) {
                json_object *o = NULL;
                long st = call_json("GET", gateway.port, path, NULL, token, &o);
                bool ok = st == 200 && strcmp(jstr(o, field), want) == 0;
                json_object_put(o);
                if (ok)
                        return true;
                usleep(100 * 1000);
        }
        return false;
}

START_TEST(calls_agent_takes_a_queued_call_end_to_end)
{
        /* an organization of its own, with an agent user the gateway announces to telephony */
        char email[96], body[1024], token[2048];
        snprintf(email, sizeof(email), "e2e-q-%d-%lld@example.com", (int)getpid(),
                 (long long)cc_now_ms());
        snprintf(body, sizeof(body),
                 "{\"email\":\"%s\",\"password\":\"e2e password\",\"first_name\":\"Quinn\","
                 "\"last_name\":\"Admin\",\"organization_name\":\"E2E queues\"}",
                 email);
        json_object *o = NULL;
        ck_assert_int_eq(call_json("POST", gateway.port, "/api/auth/register", body, NULL, &o),
                         201);
        snprintf(token, sizeof(token), "%s", jstr(o, "access_token"));
        json_object_put(o);
        snprintf(body, sizeof(body),
                 "{\"email\":\"agent-%s\",\"password\":\"agent password\",\"first_name\":\"Ada\","
                 "\"last_name\":\"Agent\",\"role\":\"AGENT\"}",
                 email);
        long st = call_json("POST", gateway.port, "/api/users", body, token, &o);
        ck_assert_msg(st == 201, "user: %ld %s", st, json_object_to_json_string(o));
        char user_id[CC_UUID_LEN + 1];
        snprintf(user_id, sizeof(user_id), "%s", jstr(o, "id"));
        json_object_put(o);

        /* telephony knows the user once user.created has travelled through Kafka */
        snprintf(body, sizeof(body),
                 "{\"user_id\":\"%s\",\"metadata\":{\"endpoint\":\"client:ada\"}}", user_id);
        char agent_id[CC_UUID_LEN + 1] = "";
        for (int i = 0; i < 200 && !agent_id[0]; i++) {
                st = call_json("POST", gateway.port, "/api/agents/", body, token, &o);
                if (st == 201)
                        snprintf(agent_id, sizeof(agent_id), "%s", jstr(o, "id"));
                else
                        ck_assert_msg(st == 404, "agent: %ld %s", st,
                                      json_object_to_json_string(o));
                json_object_put(o);
                if (!agent_id[0])
                        usleep(100 * 1000);
        }
        ck_assert_msg(agent_id[0], "telephony never learnt of the user");
        char agent_path[128];
        snprintf(agent_path, sizeof(agent_path), "/api/agents/%s", agent_id);

        /* a caller waits in the default queue: nobody is available */
        char number[20];
        unique_number(number);
        snprintf(body, sizeof(body), "{\"number\":\"%s\"}", number);
        ck_assert_int_eq(
            call_json("POST", gateway.port, "/api/telephony/numbers", body, token, NULL), 201);
        snprintf(body, sizeof(body),
                 "{\"to\":\"%s\",\"from\":\"+15557650000\","
                 "\"url\":\"http://127.0.0.1:%d/api/webhooks/twilio/voice\","
                 "\"status_callback\":\"http://127.0.0.1:%d/api/webhooks/twilio/call-status\"}",
                 number, gateway.port, gateway.port);
        ck_assert_int_eq(call_json("POST", sim_port, "/sim/inbound-call", body, NULL, &o), 200);
        json_object_put(o);
        ck_assert_int_eq(call_json("GET", gateway.port, "/api/calls/?page_size=5", NULL, token, &o),
                         200);
        json_object *items = json_object_object_get(o, "items");
        ck_assert_int_eq(json_object_array_length(items), 1);
        char call_path[128];
        snprintf(call_path, sizeof(call_path), "/api/calls/%s",
                 jstr(json_object_array_get_idx(items, 0), "id"));
        ck_assert_str_eq(jstr(json_object_array_get_idx(items, 0), "queue_state"), "WAITING");
        json_object_put(o);

        /* the agent becomes available and gets the call */
        ck_assert_int_eq(call_json("PATCH", gateway.port,
                                   (snprintf(body, sizeof(body), "%s/status", agent_path), body),
                                   "{\"status\":\"AVAILABLE\"}", token, NULL),
                         200);
        ck_assert_msg(wait_field(call_path, token, "status", "IN_PROGRESS"),
                      "the agent never got the call");
        ck_assert_int_eq(call_json("GET", gateway.port, call_path, NULL, token, &o), 200);
        ck_assert_str_eq(jstr(o, "agent_id"), user_id); /* a call names its agent's user */
        json_object_put(o);
        ck_assert(wait_field(agent_path, token, "status", "BUSY"));

        /* the agent hangs up after the simulator's talk time: the caller goes too, then the
         * agent's wrap-up (30 s by default) ends when it says it is available again */
        ck_assert_msg(wait_field(call_path, token, "status", "COMPLETED"),
                      "the call never completed");
        ck_assert(wait_field(agent_path, token, "status", "WRAP_UP"));
        snprintf(body, sizeof(body), "%s/status", agent_path);
        ck_assert_int_eq(
            call_json("PATCH", gateway.port, body, "{\"status\":\"AVAILABLE\"}", token, NULL), 200);
        ck_assert_int_eq(call_json("GET", gateway.port, call_path, NULL, token, &o), 200);
        /* the call's accounting closed with the wrap-up */
        ck_assert_ptr_nonnull(json_object_object_get(o, "wrap_up_seconds"));
        ck_assert(!json_object_get_boolean(json_object_object_get(o, "abandoned")));
        json_object_put(o);
}
END_TEST

START_TEST(calls_unsigned_callback_is_refused_through_the_gateway)
{
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/webhooks/twilio/call-status",
                 gateway.port);
        const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                              "X-Twilio-Signature: bm90IGEgc2lnbmF0dXJl", NULL};
        const char *form = "CallSid=CA1&CallStatus=completed&From=%2B1555&To=%2B1666";
        struct cc_test_response r;
        cc_test_http("POST", url, form, strlen(form), hdrs, &r);
        ck_assert_int_eq(r.status, 403);
        ck_assert_ptr_nonnull(strstr(r.body, "Invalid webhook signature"));
        cc_test_response_fini(&r);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("calls");
        TCase *tc = tcase_create("calls");
        tcase_set_timeout(tc, 180);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, calls_outbound_call_completes_through_the_gateway);
        tcase_add_test(tc, calls_inbound_call_hears_the_menu_and_joins_the_queue);
        tcase_add_test(tc, calls_unsigned_callback_is_refused_through_the_gateway);
        tcase_add_test(tc, calls_agent_takes_a_queued_call_end_to_end);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
