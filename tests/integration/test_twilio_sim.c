/* The Twilio simulator as its users see it: a real twilio-sim process (CC_TEST_TWILIO_SIM)
 * driven through the library's Twilio REST client and its /sim control API, with an in-test
 * HTTP server standing in for our webhooks that records every post and checks its
 * X-Twilio-Signature against the URL the simulator was given. Each test starts its own
 * simulator and ends it with SIGTERM, which must exit 0 (under ASan: without leaks). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "cc/http.h"
#include "cc/json.h"
#include "cc/log.h"
#include "cc/twilio.h"

#define AC1  "AC11111111111111111111111111111111"
#define TOK1 "token-one"
#define AC2  "AC22222222222222222222222222222222"
#define TOK2 "token-two"

#define WAIT_MS 8000

/* ---- the simulator process ---- */

static pid_t sim_pid;
static char sim_base[64];
static char ready_path[128];

static void sim_start(int ring_ms, int talk_ms)
{
        const char *bin = cc_test_env("CC_TEST_TWILIO_SIM");
        snprintf(ready_path, sizeof(ready_path), "/tmp/twsim-test-%d.port", (int)getpid());
        unlink(ready_path);
        char ring[16], talk[16];
        snprintf(ring, sizeof(ring), "%d", ring_ms);
        snprintf(talk, sizeof(talk), "%d", talk_ms);
        char *const argv[] = {(char *)bin,  "--port",      "0",          "--ready-file",
                              ready_path,   "--account",   AC1 ":" TOK1, "--account",
                              AC2 ":" TOK2, "--ring-ms",   ring,         "--talk-ms",
                              talk,         "--log-level", "warn",       NULL};
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* A failed assertion ends this test's process at once: take the simulator
                 * along instead of leaving it behind. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execv(bin, argv);
                _exit(127);
        }
        sim_pid = pid;
        int port = 0;
        bool ready = CC_TEST_WAIT(({
                                          FILE *f = fopen(ready_path, "r");
                                          bool ok = f && fscanf(f, "%d", &port) == 1 && port > 0;
                                          if (f)
                                                  fclose(f);
                                          ok;
                                  }),
                                  10000, 10);
        ck_assert_msg(ready, "twilio-sim did not write %s", ready_path);
        snprintf(sim_base, sizeof(sim_base), "http://127.0.0.1:%d", port);
}

/* SIGTERM, then the exit status must be a clean 0. */
static void sim_stop(void)
{
        ck_assert_int_gt(sim_pid, 0);
        ck_assert_int_eq(kill(sim_pid, SIGTERM), 0);
        int status = 0;
        pid_t got = 0;
        bool exited = CC_TEST_WAIT((got = waitpid(sim_pid, &status, WNOHANG)) != 0, 15000, 10);
        ck_assert_msg(exited, "twilio-sim did not stop on SIGTERM");
        ck_assert_int_eq(got, sim_pid);
        sim_pid = 0;
        unlink(ready_path);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "twilio-sim ended with status %d", status);
}

/* ---- our webhooks: a server that records what it is sent ---- */

struct post {
        char *path;
        struct cc_kv *fields; /* heap copies */
        size_t n;
        bool signature_ok;
        int64_t at_us;
};

static pthread_mutex_t posts_mu = PTHREAD_MUTEX_INITIALIZER;
static struct post **posts;
static size_t nposts, posts_cap;
static struct cc_http_server *hooks;
static char hooks_base[64];

static const char *token_of(const char *account_sid)
{
        if (account_sid && strcmp(account_sid, AC1) == 0)
                return TOK1;
        if (account_sid && strcmp(account_sid, AC2) == 0)
                return TOK2;
        return NULL;
}

/* Records the post and whether its signature is right for the URL we handed out (ours plus the
 * path and query it was called with) and the token of the account it names. */
static struct post *record(struct cc_http_req *req)
{
        struct cc_arena *arena = cc_http_req_arena(req);
        size_t len;
        const char *body = cc_http_req_body(req, &len);
        struct cc_kv *f = NULL;
        size_t n = 0;
        ck_assert_int_eq(cc_form_parse(arena, body, len, &f, &n), 0);
        const char *query = cc_http_req_query_string(req);
        char *url = cc_arena_printf(arena, "%s%s%s%s", hooks_base, cc_http_req_path(req),
                                    *query ? "?" : "", query);
        const char *token = token_of(cc_kv_get(f, n, "AccountSid"));
        struct post *p = cc_xcalloc(1, sizeof(*p));
        p->path = cc_xstrdup(cc_http_req_path(req));
        p->fields = cc_xcalloc(n ? n : 1, sizeof(*p->fields));
        for (size_t i = 0; i < n; i++) {
                p->fields[i].key = cc_xstrdup(f[i].key);
                p->fields[i].value = cc_xstrdup(f[i].value);
        }
        p->n = n;
        p->signature_ok =
            token && cc_twilio_signature_valid(token, url, f, n,
                                               cc_http_req_header(req, "X-Twilio-Signature"));
        p->at_us = cc_monotonic_us();
        pthread_mutex_lock(&posts_mu);
        if (nposts == posts_cap) {
                posts_cap = posts_cap ? posts_cap * 2 : 32;
                posts = cc_xrealloc(posts, posts_cap * sizeof(*posts));
        }
        posts[nposts++] = p;
        pthread_mutex_unlock(&posts_mu);
        return p;
}

static const char *field(const struct post *p, const char *key)
{
        return cc_kv_get(p->fields, p->n, key);
}

static void reply_twiml(struct cc_http_req *req, const char *twiml)
{
        cc_http_reply_raw(req, 200, "text/xml", twiml, strlen(twiml));
}

static void h_status(struct cc_http_req *req)
{
        record(req);
        cc_http_reply_raw(req, 200, "text/plain", "", 0);
}

#define VOICE_TWIML    "<Response><Say>Hello from the test</Say></Response>"
#define REDIRECT_TWIML "<Response><Say>Redirected</Say></Response>"
#define QUEUE_TWIML    "<Response><Enqueue>support</Enqueue></Response>"

static void h_voice(struct cc_http_req *req)
{
        record(req);
        reply_twiml(req, VOICE_TWIML);
}

static void h_redirected(struct cc_http_req *req)
{
        record(req);
        reply_twiml(req, REDIRECT_TWIML);
}

/* The IVR menu: a Gather whose action carries a query with an escaped '&'. */
static void reply_menu(struct cc_http_req *req)
{
        char twiml[512];
        snprintf(twiml, sizeof(twiml),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
                 "<Gather action=\"%s/hooks/gather?menu=1&amp;lang=en\" numDigits=\"1\">"
                 "<Say>Press 1 for support</Say></Gather></Response>",
                 hooks_base);
        reply_twiml(req, twiml);
}

static void h_ivr(struct cc_http_req *req)
{
        record(req);
        reply_menu(req);
}

/* A timeout (no Digits) plays the menu again; a digit joins the queue. */
static void h_gather(struct cc_http_req *req)
{
        struct post *p = record(req);
        if (field(p, "Digits"))
                reply_twiml(req, QUEUE_TWIML);
        else
                reply_menu(req);
}

/* Fails the first delivery of each event and takes its retry. */
static void h_flaky(struct cc_http_req *req)
{
        struct post *p = record(req);
        const char *status = field(p, "CallStatus");
        size_t seen = 0;
        pthread_mutex_lock(&posts_mu);
        for (size_t i = 0; i < nposts; i++)
                if (strcmp(posts[i]->path, p->path) == 0 && status &&
                    strcmp(field(posts[i], "CallSid"), field(p, "CallSid")) == 0 &&
                    strcmp(field(posts[i], "CallStatus"), status) == 0)
                        seen++;
        pthread_mutex_unlock(&posts_mu);
        cc_http_reply_raw(req, seen > 1 ? 200 : 500, "text/plain", "", 0);
}

static void h_fail(struct cc_http_req *req)
{
        record(req);
        cc_http_reply_raw(req, 503, "text/plain", "down", 4);
}

static const struct cc_http_route hook_routes[] = {
    {"POST", "/hooks/status", h_status, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/voice", h_voice, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/redirected", h_redirected, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/ivr", h_ivr, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/gather", h_gather, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/flaky", h_flaky, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/hooks/fail", h_fail, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
};

/* Posts to path whose field key is value, in arrival order, into out (up to max). */
static size_t find_posts(const char *path, const char *key, const char *value, struct post **out,
                         size_t max)
{
        size_t k = 0;
        pthread_mutex_lock(&posts_mu);
        for (size_t i = 0; i < nposts; i++) {
                const char *v = field(posts[i], key);
                if (strcmp(posts[i]->path, path) == 0 && v && strcmp(v, value) == 0) {
                        if (k < max)
                                out[k] = posts[i];
                        k++;
                }
        }
        pthread_mutex_unlock(&posts_mu);
        return k;
}

static size_t count_posts(const char *path, const char *key, const char *value)
{
        return find_posts(path, key, value, NULL, 0);
}

static void setup(void)
{
        cc_log_init("test_twilio_sim", CC_LOG_WARN);
        struct cc_http_server_config cfg = {
            .service = "hooks",
            .bind_addr = "127.0.0.1",
            .port = 0,
            .threads = 2,
        };
        char err[256];
        hooks = cc_http_server_new(&cfg, hook_routes, CC_ARRAY_SIZE(hook_routes), err, sizeof(err));
        ck_assert_msg(hooks, "hooks server: %s", err);
        ck_assert_int_eq(cc_http_server_start(hooks), 0);
        snprintf(hooks_base, sizeof(hooks_base), "http://127.0.0.1:%d", cc_http_server_port(hooks));
}

static void teardown(void)
{
        if (sim_pid > 0) {
                kill(sim_pid, SIGKILL);
                waitpid(sim_pid, NULL, 0);
                sim_pid = 0;
        }
        cc_http_server_stop(hooks);
        cc_http_server_free(hooks);
        hooks = NULL;
        for (size_t i = 0; i < nposts; i++) {
                for (size_t k = 0; k < posts[i]->n; k++) {
                        free((char *)posts[i]->fields[k].key);
                        free((char *)posts[i]->fields[k].value);
                }
                free(posts[i]->fields);
                free(posts[i]->path);
                free(posts[i]);
        }
        free(posts);
        posts = NULL;
        nposts = posts_cap = 0;
}

/* ---- talking to the simulator ---- */

static struct cc_twilio *client(void)
{
        struct cc_twilio_config cfg = {.api_base = sim_base, .timeout_ms = 5000};
        struct cc_twilio *tw = cc_twilio_new(&cfg);
        ck_assert_ptr_nonnull(tw);
        return tw;
}

/* A hook URL with an optional query ("" for none). */
static char *hook(const char *path, const char *query)
{
        return cc_xasprintf("%s%s%s%s", hooks_base, path, *query ? "?" : "", query);
}

static const char *const all_events[] = {"initiated", "ringing", "answered", "completed"};

/* Places a call with every status event; returns its sid in sid_out. */
static void place_call(struct cc_twilio *tw, const char *to, const char *status_url,
                       char sid_out[64])
{
        char *voice = hook("/hooks/voice", "");
        struct cc_kv f[8] = {
            {"To", to},
            {"From", "+15550001111"},
            {"Url", voice},
            {"StatusCallback", status_url},
        };
        size_t n = 4;
        for (size_t i = 0; i < CC_ARRAY_SIZE(all_events); i++)
                f[n++] = (struct cc_kv){"StatusCallbackEvent", all_events[i]};
        struct cc_twilio_result res;
        int r = cc_twilio_call_create(tw, AC1, TOK1, f, n, &res);
        free(voice);
        ck_assert_msg(r == 0, "call create: %d %s", res.http_status, res.message);
        ck_assert_int_eq(res.http_status, 201);
        ck_assert_str_eq(res.status, "queued");
        snprintf(sid_out, 64, "%s", res.sid);
}

static json_object *sim_json(const char *method, const char *path, const char *body,
                             long *ret_status)
{
        char url[256];
        snprintf(url, sizeof(url), "%s%s", sim_base, path);
        const char *const headers[] = {"Content-Type: application/json", NULL};
        struct cc_test_response resp;
        cc_test_http(method, url, body, body ? strlen(body) : 0, headers, &resp);
        *ret_status = resp.status;
        json_object *doc = cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0);
        ck_assert_msg(doc, "%s %s: not JSON: %s", method, path, resp.body);
        cc_test_response_fini(&resp);
        return doc;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int jint(json_object *o, const char *key)
{
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
}

static json_object *sim_call(const char *sid)
{
        char path[128];
        long status;
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        json_object *doc = sim_json("GET", path, NULL, &status);
        ck_assert_int_eq(status, 200);
        return doc;
}

static bool call_status_is(const char *sid, const char *want)
{
        json_object *doc = sim_call(sid);
        bool same = strcmp(jstr(doc, "status"), want) == 0;
        json_object_put(doc);
        return same;
}

/* The statuses of a call's status callbacks, comma-separated, in arrival order. */
static void statuses_of(const char *path, const char *sid, char *out, size_t len)
{
        struct post *p[32];
        size_t n = find_posts(path, "CallSid", sid, p, 32);
        out[0] = '\0';
        for (size_t i = 0; i < n && i < 32; i++)
                snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
                         field(p[i], "CallStatus"));
}

/* "Authorization: Basic ..." for sid:token. */
static void basic_auth(const char *sid, const char *token, char out[256])
{
        char plain[128], b64[180];
        snprintf(plain, sizeof(plain), "%s:%s", sid, token);
        cc_base64_encode(plain, strlen(plain), b64);
        snprintf(out, 256, "Authorization: Basic %s", b64);
}

static bool hex_sid(const char *sid, const char *prefix)
{
        if (strlen(sid) != 34 || strncmp(sid, prefix, 2) != 0)
                return false;
        for (size_t i = 2; i < 34; i++)
                if (!strchr("0123456789abcdef", sid[i]))
                        return false;
        return true;
}

/* ---- tests ---- */

START_TEST(twilio_sim_answered_call_plays_its_life_signed)
{
        sim_start(100, 1000);
        struct cc_twilio *tw = client();
        char *status_url = hook("/hooks/status", "call=42&tag=a+b");
        char sid[64];
        place_call(tw, "+15551234567", status_url, sid);
        ck_assert_msg(hex_sid(sid, "CA"), "call sid %s", sid);

        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", sid) >= 4, WAIT_MS, 10));
        char seen[256];
        statuses_of("/hooks/status", sid, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,ringing,in-progress,completed");

        struct post *p[8];
        ck_assert_uint_eq(find_posts("/hooks/status", "CallSid", sid, p, 8), 4);
        for (int i = 0; i < 4; i++) {
                ck_assert_msg(p[i]->signature_ok, "%s callback badly signed",
                              field(p[i], "CallStatus"));
                ck_assert_str_eq(field(p[i], "AccountSid"), AC1);
                ck_assert_str_eq(field(p[i], "To"), "+15551234567");
                ck_assert_str_eq(field(p[i], "From"), "+15550001111");
                ck_assert_str_eq(field(p[i], "Direction"), "outbound-api");
                ck_assert_str_eq(field(p[i], "ApiVersion"), "2010-04-01");
                ck_assert_str_eq(field(p[i], "CallbackSource"), "call-progress-events");
                ck_assert_int_eq(atoi(field(p[i], "SequenceNumber")), i);
                ck_assert_ptr_nonnull(strstr(field(p[i], "Timestamp"), " +0000"));
        }
        ck_assert_ptr_null(field(p[2], "CallDuration"));
        /* --talk-ms 1000: one second, however late the hangup step ran. */
        ck_assert_str_eq(field(p[3], "CallDuration"), "1");
        ck_assert_str_eq(field(p[3], "Duration"), "1");

        /* The voice Url was fetched at answer, signed, and its TwiML kept. */
        struct post *voice[2];
        ck_assert_uint_eq(find_posts("/hooks/voice", "CallSid", sid, voice, 2), 1);
        ck_assert(voice[0]->signature_ok);
        ck_assert_str_eq(field(voice[0], "CallStatus"), "in-progress");

        json_object *doc = sim_call(sid);
        ck_assert_str_eq(jstr(doc, "status"), "completed");
        ck_assert_str_eq(jstr(doc, "last_twiml"), VOICE_TWIML);
        json_object *events = json_object_object_get(doc, "events");
        ck_assert_uint_eq(json_object_array_length(events), 4);
        for (size_t i = 0; i < 4; i++)
                ck_assert_int_eq(jint(json_object_array_get_idx(events, i), "http_status"), 200);
        json_object_put(doc);

        /* The REST resource says the same. */
        char url[256];
        snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls/%s.json", sim_base, AC1, sid);
        char auth[256];
        basic_auth(AC1, TOK1, auth);
        const char *const h[] = {auth, NULL};
        struct cc_test_response resp;
        cc_test_http("GET", url, NULL, 0, h, &resp);
        ck_assert_int_eq(resp.status, 200);
        json_object *call = cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0);
        ck_assert_str_eq(jstr(call, "status"), "completed");
        ck_assert_int_ge(atoi(jstr(call, "duration")), 1);
        ck_assert_ptr_nonnull(jstr(call, "end_time"));
        json_object_put(call);
        cc_test_response_fini(&resp);

        free(status_url);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_outcomes_follow_the_number)
{
        sim_start(100, 300);
        struct cc_twilio *tw = client();
        char *status_url = hook("/hooks/status", "");
        char busy[64], noanswer[64], failed[64];
        place_call(tw, "+15557770001", status_url, busy);
        place_call(tw, "+15557770002", status_url, noanswer);
        place_call(tw, "+15557770003", status_url, failed);

        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", busy) >= 3 &&
                                   count_posts("/hooks/status", "CallSid", noanswer) >= 3 &&
                                   count_posts("/hooks/status", "CallSid", failed) >= 2,
                               WAIT_MS, 10));
        char seen[256];
        statuses_of("/hooks/status", busy, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,ringing,busy");
        statuses_of("/hooks/status", noanswer, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,ringing,no-answer");
        statuses_of("/hooks/status", failed, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,failed");

        struct post *p[4];
        size_t n = find_posts("/hooks/status", "CallSid", busy, p, 4);
        ck_assert(p[n - 1]->signature_ok);
        ck_assert_str_eq(field(p[n - 1], "CallDuration"), "0");
        /* Nobody answered, so no TwiML was asked for. */
        ck_assert_uint_eq(count_posts("/hooks/voice", "CallSid", busy), 0);
        ck_assert_uint_eq(count_posts("/hooks/voice", "CallSid", noanswer), 0);
        ck_assert_uint_eq(count_posts("/hooks/voice", "CallSid", failed), 0);
        ck_assert(call_status_is(busy, "busy"));
        ck_assert(call_status_is(noanswer, "no-answer"));
        ck_assert(call_status_is(failed, "failed"));

        free(status_url);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_refuses_bad_requests_as_twilio_does)
{
        sim_start(100, 300);
        struct cc_twilio *tw = client();
        char *voice = hook("/hooks/voice", "");
        struct cc_twilio_result res;

        struct cc_kv no_to[] = {{"From", "+15550001111"}, {"Url", voice}};
        ck_assert_int_eq(cc_twilio_call_create(tw, AC1, TOK1, no_to, 2, &res), -EPROTO);
        ck_assert_int_eq(res.http_status, 400);
        ck_assert_int_eq(res.code, 21201);

        struct cc_kv no_from[] = {{"To", "+15551234567"}, {"Url", voice}};
        ck_assert_int_eq(cc_twilio_call_create(tw, AC1, TOK1, no_from, 2, &res), -EPROTO);
        ck_assert_int_eq(res.code, 21213);

        struct cc_kv no_url[] = {{"To", "+15551234567"}, {"From", "+15550001111"}};
        ck_assert_int_eq(cc_twilio_call_create(tw, AC1, TOK1, no_url, 2, &res), -EPROTO);
        ck_assert_int_eq(res.code, 21205);

        struct cc_kv ok[] = {{"To", "+15551234567"}, {"From", "+15550001111"}, {"Url", voice}};
        ck_assert_int_eq(cc_twilio_call_create(tw, AC1, "wrong-token", ok, 3, &res), -EPROTO);
        ck_assert_int_eq(res.http_status, 401);
        ck_assert_int_eq(res.code, 20003);
        ck_assert_str_eq(res.message, "Authenticate");

        /* Good credentials, another account's path: still not allowed. */
        char url[256], auth[256];
        snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls.json", sim_base, AC2);
        basic_auth(AC1, TOK1, auth);
        const char *const h[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
        const char *form = "To=%2B15551234567&From=%2B15550001111&Url=http%3A%2F%2Fx%2Fy";
        struct cc_test_response resp;
        cc_test_http("POST", url, form, strlen(form), h, &resp);
        ck_assert_int_eq(resp.status, 401);
        json_object *err = cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0);
        ck_assert_int_eq(jint(err, "code"), 20003);
        ck_assert_int_eq(jint(err, "status"), 401);
        ck_assert_str_eq(jstr(err, "more_info"), "https://www.twilio.com/docs/errors/20003");
        json_object_put(err);
        cc_test_response_fini(&resp);

        /* Unknown call: Twilio's 404. */
        struct cc_kv hang[] = {{"Status", "completed"}};
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, "CA00000000000000000000000000000000",
                                               hang, 1, &res),
                         -EPROTO);
        ck_assert_int_eq(res.http_status, 404);
        ck_assert_int_eq(res.code, 20404);

        /* The account fetch is how credentials are tested. */
        ck_assert_int_eq(cc_twilio_account_fetch(tw, AC2, TOK2, &res), 0);
        ck_assert_str_eq(res.status, "active");
        ck_assert_int_eq(cc_twilio_account_fetch(tw, AC2, TOK1, &res), -EPROTO);
        ck_assert_int_eq(res.code, 20003);

        /* Nothing was created by any of it. */
        long status;
        json_object *calls = sim_json("GET", "/sim/calls", NULL, &status);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(calls, "calls")), 0);
        json_object_put(calls);

        free(voice);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_update_redirects_holds_and_hangs_up)
{
        /* Calls ring for 1.5 s and would talk for a minute: whatever ends them is us. */
        sim_start(1500, 60000);
        struct cc_twilio *tw = client();
        char *status_url = hook("/hooks/status", "");
        char ringing[64], answered[64];
        place_call(tw, "+15551110000", status_url, ringing);
        place_call(tw, "+15552220000", status_url, answered);
        struct cc_twilio_result res;

        /* Canceling a call still ringing. */
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", ringing) >= 2, WAIT_MS, 5));
        struct cc_kv cancel[] = {{"Status", "canceled"}};
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, ringing, cancel, 1, &res), 0);
        ck_assert_str_eq(res.status, "canceled");
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", ringing) >= 3, WAIT_MS, 5));
        char seen[256];
        statuses_of("/hooks/status", ringing, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,ringing,canceled");

        /* The other one answers; redirect it, hold and mute its conference leg, hang up. */
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/voice", "CallSid", answered) >= 1, WAIT_MS, 5));
        char *redirect = hook("/hooks/redirected", "step=2");
        struct cc_kv to_url[] = {{"Url", redirect}};
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, answered, to_url, 1, &res), 0);
        ck_assert_str_eq(res.status, "in-progress");
        struct post *p[4];
        ck_assert(
            CC_TEST_WAIT(count_posts("/hooks/redirected", "CallSid", answered) >= 1, WAIT_MS, 5));
        find_posts("/hooks/redirected", "CallSid", answered, p, 4);
        ck_assert(p[0]->signature_ok);
        ck_assert(CC_TEST_WAIT(({
                                       json_object *d = sim_call(answered);
                                       bool same =
                                           jstr(d, "last_twiml") &&
                                           strcmp(jstr(d, "last_twiml"), REDIRECT_TWIML) == 0;
                                       json_object_put(d);
                                       same;
                               }),
                               WAIT_MS, 10));

        struct cc_kv hold[] = {{"Hold", "true"}, {"Muted", "true"}};
        ck_assert_int_eq(
            cc_twilio_participant_update(tw, AC1, TOK1, "agent room 7", answered, hold, 2, &res),
            0);
        ck_assert_str_eq(res.sid, answered);
        json_object *doc = sim_call(answered);
        ck_assert(json_object_get_boolean(json_object_object_get(doc, "hold")));
        ck_assert(json_object_get_boolean(json_object_object_get(doc, "muted")));
        ck_assert(hex_sid(jstr(doc, "conference_sid"), "CF"));
        json_object_put(doc);
        struct cc_kv unhold[] = {{"Hold", "false"}};
        ck_assert_int_eq(
            cc_twilio_participant_update(tw, AC1, TOK1, "agent room 7", answered, unhold, 1, &res),
            0);
        doc = sim_call(answered);
        ck_assert(!json_object_get_boolean(json_object_object_get(doc, "hold")));
        ck_assert(json_object_get_boolean(json_object_object_get(doc, "muted")));
        json_object_put(doc);

        struct cc_kv hang[] = {{"Status", "completed"}};
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, answered, hang, 1, &res), 0);
        ck_assert_str_eq(res.status, "completed");
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", answered) >= 4, WAIT_MS, 5));
        statuses_of("/hooks/status", answered, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,ringing,in-progress,completed");
        find_posts("/hooks/status", "CallSid", answered, p, 4);
        ck_assert(p[3]->signature_ok);
        ck_assert_int_ge(atoi(field(p[3], "CallDuration")), 1);

        /* Hanging up again changes nothing and sends nothing; redirecting is refused. */
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, answered, hang, 1, &res), 0);
        ck_assert_str_eq(res.status, "completed");
        ck_assert_int_eq(cc_twilio_call_update(tw, AC1, TOK1, answered, to_url, 1, &res), -EPROTO);
        ck_assert_int_eq(res.code, 21220);
        usleep(300 * 1000);
        ck_assert_uint_eq(count_posts("/hooks/status", "CallSid", answered), 4);

        free(redirect);
        free(status_url);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_inbound_call_drives_the_ivr)
{
        sim_start(100, 300);
        char *ivr = hook("/hooks/ivr", "");
        char *status_url = hook("/hooks/status", "");
        char body[512];
        /* The second account: its own token must sign everything about this call. */
        snprintf(body, sizeof(body),
                 "{\"to\": \"+15550009999\", \"from\": \"+15551230000\", \"url\": \"%s\", "
                 "\"account_sid\": \"%s\", \"status_callback\": \"%s\"}",
                 ivr, AC2, status_url);
        long status;
        json_object *in = sim_json("POST", "/sim/inbound-call", body, &status);
        ck_assert_int_eq(status, 200);
        ck_assert_int_eq(jint(in, "status"), 200);
        ck_assert_ptr_nonnull(strstr(jstr(in, "twiml"), "<Gather"));
        char sid[64];
        snprintf(sid, sizeof(sid), "%s", jstr(in, "call_sid"));
        json_object_put(in);
        ck_assert(hex_sid(sid, "CA"));

        struct post *p[4];
        ck_assert_uint_eq(find_posts("/hooks/ivr", "CallSid", sid, p, 4), 1);
        ck_assert(p[0]->signature_ok);
        ck_assert_str_eq(field(p[0], "AccountSid"), AC2);
        ck_assert_str_eq(field(p[0], "Direction"), "inbound");
        ck_assert_str_eq(field(p[0], "CallStatus"), "ringing");
        ck_assert_str_eq(field(p[0], "To"), "+15550009999");

        /* No key pressed: the action is posted without Digits and the menu plays again. */
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s/digits", sid);
        json_object *d = sim_json("POST", path, "{\"digits\": \"\"}", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_ptr_nonnull(strstr(jstr(d, "twiml"), "<Gather"));
        json_object_put(d);

        d = sim_json("POST", path, "{\"digits\": \"1\"}", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_int_eq(jint(d, "status"), 200);
        ck_assert_str_eq(jstr(d, "twiml"), QUEUE_TWIML);
        json_object_put(d);

        /* Both reached the Gather's action (its &amp; unescaped, its query signed). */
        ck_assert_uint_eq(find_posts("/hooks/gather", "CallSid", sid, p, 4), 2);
        ck_assert(p[0]->signature_ok);
        ck_assert(p[1]->signature_ok);
        ck_assert_ptr_null(field(p[0], "Digits"));
        ck_assert_str_eq(field(p[1], "Digits"), "1");
        ck_assert_str_eq(field(p[1], "CallStatus"), "in-progress");
        ck_assert_str_eq(field(p[1], "AccountSid"), AC2);

        /* Queued now: nothing to gather. */
        d = sim_json("POST", path, "{\"digits\": \"2\"}", &status);
        ck_assert_int_eq(status, 409);
        ck_assert_str_eq(jstr(d, "detail"), "call is not gathering");
        json_object_put(d);

        json_object *call = sim_call(sid);
        ck_assert_str_eq(jstr(call, "status"), "in-progress");
        ck_assert_str_eq(jstr(call, "last_twiml"), QUEUE_TWIML);
        json_object_put(call);

        /* The caller hangs up: the completed callback follows. */
        snprintf(path, sizeof(path), "/sim/calls/%s/hangup", sid);
        d = sim_json("POST", path, NULL, &status);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(jstr(d, "status"), "completed");
        json_object_put(d);
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "CallSid", sid) >= 1, WAIT_MS, 5));
        ck_assert_uint_eq(find_posts("/hooks/status", "CallSid", sid, p, 4), 1);
        ck_assert(p[0]->signature_ok);
        ck_assert_str_eq(field(p[0], "CallStatus"), "completed");
        ck_assert_str_eq(field(p[0], "Direction"), "inbound");
        ck_assert_int_ge(atoi(field(p[0], "CallDuration")), 1);

        /* Unknown calls and bad input. */
        d = sim_json("POST", "/sim/calls/CA0000/digits", "{\"digits\": \"1\"}", &status);
        ck_assert_int_eq(status, 404);
        json_object_put(d);
        d = sim_json("POST", "/sim/inbound-call", "{\"to\": \"+15550009999\"}", &status);
        ck_assert_int_eq(status, 422);
        json_object_put(d);

        free(ivr);
        free(status_url);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_messages_report_delivery)
{
        sim_start(100, 300);
        struct cc_twilio *tw = client();
        char *status_url = hook("/hooks/status", "");
        struct cc_twilio_result res;
        struct cc_kv ok[] = {{"To", "+15553334444"},
                             {"From", "+15550001111"},
                             {"Body", "Your agent will call you back"},
                             {"StatusCallback", status_url}};
        ck_assert_int_eq(cc_twilio_message_create(tw, AC1, TOK1, ok, 4, &res), 0);
        ck_assert_int_eq(res.http_status, 201);
        ck_assert_str_eq(res.status, "queued");
        ck_assert(hex_sid(res.sid, "SM"));
        char delivered[64];
        snprintf(delivered, sizeof(delivered), "%s", res.sid);

        struct cc_kv bad[] = {{"To", "+15553330003"},
                              {"From", "+15550001111"},
                              {"Body", "hello"},
                              {"StatusCallback", status_url}};
        ck_assert_int_eq(cc_twilio_message_create(tw, AC1, TOK1, bad, 4, &res), 0);
        char failed[64];
        snprintf(failed, sizeof(failed), "%s", res.sid);

        struct cc_kv no_body[] = {{"To", "+15553334444"}, {"From", "+15550001111"}};
        ck_assert_int_eq(cc_twilio_message_create(tw, AC1, TOK1, no_body, 2, &res), -EPROTO);
        ck_assert_int_eq(res.http_status, 400);
        ck_assert_int_eq(res.code, 21602);

        ck_assert(CC_TEST_WAIT(count_posts("/hooks/status", "MessageSid", delivered) >= 2 &&
                                   count_posts("/hooks/status", "MessageSid", failed) >= 1,
                               WAIT_MS, 10));
        struct post *p[4];
        ck_assert_uint_eq(find_posts("/hooks/status", "MessageSid", delivered, p, 4), 2);
        ck_assert_str_eq(field(p[0], "MessageStatus"), "sent");
        ck_assert_str_eq(field(p[1], "MessageStatus"), "delivered");
        ck_assert(p[0]->signature_ok);
        ck_assert(p[1]->signature_ok);
        ck_assert_str_eq(field(p[1], "To"), "+15553334444");
        ck_assert_ptr_null(field(p[1], "ErrorCode"));

        ck_assert_uint_eq(find_posts("/hooks/status", "MessageSid", failed, p, 4), 1);
        ck_assert_str_eq(field(p[0], "MessageStatus"), "failed");
        ck_assert_str_eq(field(p[0], "ErrorCode"), "30003");
        ck_assert(p[0]->signature_ok);

        long status;
        json_object *msgs = sim_json("GET", "/sim/messages", NULL, &status);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(msgs, "messages")), 2);
        json_object_put(msgs);

        free(status_url);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

START_TEST(twilio_sim_retries_a_refused_callback_once)
{
        sim_start(50, 100);
        struct cc_twilio *tw = client();
        char *flaky = hook("/hooks/flaky", "");
        char *fail = hook("/hooks/fail", "");
        char retried[64], dropped[64];
        place_call(tw, "+15554440000", flaky, retried);
        place_call(tw, "+15555550000", fail, dropped);

        /* Each event fails once and is taken on its retry, still in order. */
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/flaky", "CallSid", retried) >= 8, WAIT_MS, 10));
        char seen[256];
        statuses_of("/hooks/flaky", retried, seen, sizeof(seen));
        ck_assert_str_eq(seen, "initiated,initiated,ringing,ringing,in-progress,in-progress,"
                               "completed,completed");
        struct post *p[8];
        find_posts("/hooks/flaky", "CallSid", retried, p, 8);
        ck_assert_int_ge(p[1]->at_us - p[0]->at_us, 150 * 1000);
        ck_assert_str_eq(field(p[0], "SequenceNumber"), field(p[1], "SequenceNumber"));
        json_object *doc = sim_call(retried);
        json_object *events = json_object_object_get(doc, "events");
        ck_assert_uint_eq(json_object_array_length(events), 8);
        ck_assert_int_eq(jint(json_object_array_get_idx(events, 0), "http_status"), 500);
        ck_assert_int_eq(jint(json_object_array_get_idx(events, 1), "http_status"), 200);
        ck_assert_int_eq(jint(json_object_array_get_idx(events, 1), "attempt"), 2);
        json_object_put(doc);

        /* A callback that keeps failing is tried twice, no more. */
        ck_assert(CC_TEST_WAIT(call_status_is(dropped, "completed"), WAIT_MS, 10));
        ck_assert(CC_TEST_WAIT(count_posts("/hooks/fail", "CallSid", dropped) >= 8, WAIT_MS, 10));
        usleep(500 * 1000);
        ck_assert_uint_eq(count_posts("/hooks/fail", "CallSid", dropped), 8);

        free(flaky);
        free(fail);
        cc_twilio_free(tw);
        sim_stop();
}
END_TEST

static Suite *twilio_sim_suite(void)
{
        Suite *s = suite_create("twilio_sim");
        TCase *tc = tcase_create("sim");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, twilio_sim_answered_call_plays_its_life_signed);
        tcase_add_test(tc, twilio_sim_outcomes_follow_the_number);
        tcase_add_test(tc, twilio_sim_refuses_bad_requests_as_twilio_does);
        tcase_add_test(tc, twilio_sim_update_redirects_holds_and_hangs_up);
        tcase_add_test(tc, twilio_sim_inbound_call_drives_the_ivr);
        tcase_add_test(tc, twilio_sim_messages_report_delivery);
        tcase_add_test(tc, twilio_sim_retries_a_refused_callback_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(twilio_sim_suite());
}
