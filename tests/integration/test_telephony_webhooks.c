/* Twilio's callbacks into telephony and the /api/telephony operations, as Twilio and our users
 * see them: signed (and unsigned, forged, replayed, reordered) status, recording, transcription,
 * voice and IVR posts against the in-process service; bring-your-own accounts that only their
 * own token may speak for; and outbound calls, test calls, holds, mutes and transfers through a
 * real twilio-sim process (CC_TEST_TWILIO_SIM) whose signed callbacks reach this service. Events
 * are read back from cc.calls.v1. */
#include <curl/curl.h>
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
#include "cc/event.h"
#include "cc/json.h"

/* The simulator process and its address: the shared helpers of telephony_test.h. */
#define sim_start       tt_sim_start
#define sim_stop        tt_sim_stop
#define sim_base        tt_sim_base
#define start_reachable tt_start_reachable_with

/* The platform's account (config) and the one an organization brings itself. */
#define PLAT_AC  "AC0123456789abcdef0123456789abcdef"
#define PLAT_TOK "platform-token-0123456789"
#define OWN_AC   "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define OWN_TOK  "own-token-abcdefghijklmnop"

#define STATUS_HOOK   "/api/webhooks/twilio/call-status"
#define RECORD_HOOK   "/api/webhooks/twilio/recording"
#define TRANSCR_HOOK  "/api/webhooks/twilio/transcription"
#define VOICE_HOOK    "/api/webhooks/twilio/voice"
#define IVR_HOOK      "/api/webhooks/twilio/ivr"
#define BAD_SIGNATURE "Invalid webhook signature"
/* a caller sent to a queue waits in its conference with our hold music */
#define WAITING    "waitUrl=\"https://cc.example.com/api/webhooks/twilio/hold\""
#define FORBID_SUP "Supervisor or admin access required"

#define WAIT_MS 15000

/* ---- Twilio's posts ---- */

struct form {
        struct cc_kv f[16];
        size_t n;
};

static void form_add(struct form *fm, const char *key, const char *value)
{
        ck_assert_uint_lt(fm->n, CC_ARRAY_SIZE(fm->f));
        fm->f[fm->n].key = key;
        fm->f[fm->n].value = value;
        fm->n++;
}

/* A status callback as Twilio sends it (duration NULL: no CallDuration; account NULL: none). */
static struct form status_form(const char *account, const char *sid, const char *status,
                               const char *duration)
{
        struct form fm = {.n = 0};
        if (account)
                form_add(&fm, "AccountSid", account);
        form_add(&fm, "ApiVersion", "2010-04-01");
        form_add(&fm, "CallSid", sid);
        form_add(&fm, "CallStatus", status);
        form_add(&fm, "Direction", "inbound");
        form_add(&fm, "From", "+15550001111");
        form_add(&fm, "To", "+15550002222");
        if (duration)
                form_add(&fm, "CallDuration", duration);
        return fm;
}

/* Twilio's signature of a post of fm to path (query included) on our public base URL. */
static void sign(const char *token, const char *path, const struct form *fm,
                 char out[CC_TWILIO_SIGNATURE_LEN])
{
        char *url = cc_xasprintf("%s%s", getenv("CC_PUBLIC_BASE_URL"), path);
        cc_twilio_signature(token, url, fm->f, fm->n, out);
        free(url);
}

enum body_kind { FORM, JSON };

/* POSTs fm to path with X-Twilio-Signature sig (NULL: none), form-encoded or as JSON. */
static long post_signed(struct cc_service *svc, const char *path, const struct form *fm,
                        enum body_kind kind, const char *sig, struct tt_resp *ret)
{
        char *body;
        if (kind == FORM) {
                struct cc_strbuf b = {0};
                for (size_t i = 0; i < fm->n; i++)
                        cc_form_append(&b, fm->f[i].key, fm->f[i].value);
                body = cc_strbuf_take(&b);
        } else {
                json_object *o = json_object_new_object();
                for (size_t i = 0; i < fm->n; i++)
                        json_object_object_add(o, fm->f[i].key,
                                               json_object_new_string(fm->f[i].value));
                body = strdup(json_object_to_json_string(o));
                json_object_put(o);
        }
        char sig_header[64];
        const char *hdrs[3];
        size_t n = 0;
        hdrs[n++] = kind == FORM ? "Content-Type: application/x-www-form-urlencoded"
                                 : "Content-Type: application/json";
        if (sig) {
                snprintf(sig_header, sizeof(sig_header), "X-Twilio-Signature: %s", sig);
                hdrs[n++] = sig_header;
        }
        hdrs[n] = NULL;
        long st = tt_request(svc, "POST", path, body, NULL, hdrs, ret);
        free(body);
        return st;
}

/* A form post signed with token, as Twilio would. */
static long post_hook(struct cc_service *svc, const char *path, const struct form *fm,
                      const char *token, struct tt_resp *ret)
{
        char sig[CC_TWILIO_SIGNATURE_LEN];
        sign(token, path, fm, sig);
        return post_signed(svc, path, fm, FORM, sig, ret);
}

static void expect_envelope(struct tt_resp *r, const char *message)
{
        ck_assert_msg(r->status == 200, "status %ld: %s", r->status, r->body);
        ck_assert_msg(r->json, "not JSON: %s", r->body);
        json_object *ok = json_object_object_get(r->json, "success");
        ck_assert_msg(ok && json_object_get_boolean(ok), "%s", r->body);
        ck_assert_str_eq(tt_str(r->json, "message"), message);
}

/* A status callback's answer: applied or ignored, and the call's status after it. */
static void expect_status_reply(struct tt_resp *r, const char *message, bool applied,
                                const char *status)
{
        expect_envelope(r, message);
        json_object *data = json_object_object_get(r->json, "data");
        ck_assert_msg(data, "no data: %s", r->body);
        ck_assert_str_eq(tt_str(data, "status"), status);
        ck_assert_msg(json_object_get_boolean(json_object_object_get(data, "applied")) == applied,
                      "applied should be %d: %s", applied, r->body);
        tt_resp_fini(r);
}

static void expect_forbidden(struct tt_resp *r)
{
        tt_expect(r, 403, BAD_SIGNATURE);
        tt_resp_fini(r);
}

static void expect_422(struct tt_resp *r, const char *field)
{
        ck_assert_msg(r->status == 422, "status %ld: %s", r->status, r->body);
        const char *d = tt_str(r->json, "detail");
        ck_assert_msg(d && strncmp(d, field, strlen(field)) == 0 && d[strlen(field)] == ':',
                      "detail does not name %s: %s", field, r->body);
        tt_resp_fini(r);
}

static void expect_twiml(struct tt_resp *r, const char *contains)
{
        ck_assert_msg(r->status == 200, "status %ld: %s", r->status, r->body);
        ck_assert_msg(strncmp(r->content_type, "text/xml", 8) == 0, "content type %s",
                      r->content_type);
        ck_assert_msg(strncmp(r->body, "<?xml", 5) == 0 && strstr(r->body, "<Response>"),
                      "not TwiML: %s", r->body);
        ck_assert_msg(strstr(r->body, contains), "TwiML lacks %s: %s", contains, r->body);
}

/* ---- the service and its calls ---- */

/* A fresh Twilio call sid ("CA" and 32 hex digits). */
static void new_sid(char out[40])
{
        char u[CC_UUID_LEN + 1];
        cc_uuid_v4(u);
        size_t k = 0;
        out[k++] = 'C';
        out[k++] = 'A';
        for (size_t i = 0; u[i]; i++)
                if (u[i] != '-')
                        out[k++] = u[i];
        out[k] = '\0';
}

/* A call of org that Twilio knows as sid, as the voice webhook or a dial would have made it. */
static char *store_call(const char *org_id, const char *sid, bool inbound, const char *agent_id)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const struct tel_call_new nc = {
            .inbound = inbound,
            .from_number = "+15550001111",
            .to_number = "+15550002222",
            .twilio_sid = sid,
            .agent_id = agent_id,
        };
        struct tel_call c;
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_call_create(conn, org_id, &nc, &c), 0);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        return strdup(c.id);
}

/* Twilio's sid of one of our calls. */
static void sid_of(const char *org_id, const char *call_id, char out[64])
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        struct tel_call c;
        ck_assert_int_eq(tel_call_get(conn, org_id, call_id, &c), 0);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        ck_assert_msg(c.twilio_sid[0], "call %s has no sid", call_id);
        snprintf(out, 64, "%s", c.twilio_sid);
}

static void get_call(struct cc_service *svc, const char *token, const char *id, struct tt_resp *r)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/calls/%s", id);
        tt_call(svc, "GET", path, NULL, token, r);
        ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
}

/* The call as GET /api/calls/{id} shows it (heap JSON text), to see that nothing changed. */
static char *snapshot(struct cc_service *svc, const char *token, const char *id)
{
        struct tt_resp r;
        get_call(svc, token, id, &r);
        char *s = strdup(json_object_to_json_string(r.json));
        tt_resp_fini(&r);
        return s;
}

static void expect_unchanged(struct cc_service *svc, const char *token, const char *id,
                             const char *before)
{
        char *now = snapshot(svc, token, id);
        ck_assert_str_eq(now, before);
        free(now);
}

static char *call_status(struct cc_service *svc, const char *token, const char *id)
{
        struct tt_resp r;
        get_call(svc, token, id, &r);
        char *s = strdup(tt_str(r.json, "status"));
        tt_resp_fini(&r);
        return s;
}

static void expect_call_status(struct cc_service *svc, const char *token, const char *id,
                               const char *want)
{
        char *s = call_status(svc, token, id);
        ck_assert_str_eq(s, want);
        free(s);
}

/* Waits for the call to reach status want; fails with the last status seen. */
static void wait_call_status(struct cc_service *svc, const char *token, const char *id,
                             const char *want)
{
        char *last = NULL;
        bool ok = CC_TEST_WAIT(({
                                       free(last);
                                       last = call_status(svc, token, id);
                                       strcmp(last, want) == 0;
                               }),
                               WAIT_MS, 20);
        ck_assert_msg(ok, "call %s is %s, want %s", id, last, want);
        free(last);
}

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

static long long count_calls(void)
{
        return tt_sql_int("SELECT count(*) FROM calls", NULL);
}

static void add_number(struct cc_service *svc, const struct tt_caller *admin, const char *number)
{
        char body[128];
        snprintf(body, sizeof(body), "{\"number\":\"%s\",\"friendly_name\":\"Main line\"}", number);
        struct tt_resp r;
        tt_call(svc, "POST", "/api/telephony/numbers", body, admin->token, &r);
        tt_expect(&r, 201, NULL);
        tt_resp_fini(&r);
}

static void put_own_credentials(struct cc_service *svc, const struct tt_caller *admin)
{
        struct tt_resp r;
        tt_call(svc, "PUT", "/api/telephony/credentials",
                "{\"account_sid\":\"" OWN_AC "\",\"auth_token\":\"" OWN_TOK "\"}", admin->token,
                &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
}

/* ---- events on cc.calls.v1 ---- */

/* What one call published; want_* say what must have arrived before reading stops (after a
 * short linger that would catch a duplicate). */
struct tally {
        const char *call_id;
        int want_ended, want_recording, want_transcribed;
        int started, updated, answered, ended, recording, transcribed;
        Cc__Events__V1__Envelope *ended_env, *recording_env, *transcribed_env;
};

static void keep(Cc__Events__V1__Envelope **slot, Cc__Events__V1__Envelope *env)
{
        cc_event_free(*slot);
        *slot = env;
}

static bool tally_complete(const struct tally *t, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (t[i].ended < t[i].want_ended || t[i].recording < t[i].want_recording ||
                    t[i].transcribed < t[i].want_transcribed)
                        return false;
        return true;
}

static void tally_read(struct tally *t, size_t n)
{
        struct cc_kafka_consumer *c = cc_test_consumer("cc.calls.v1", NULL, NULL);
        int64_t deadline = cc_monotonic_us() + 30 * 1000000LL;
        struct cc_kafka_message msg;
        while (cc_test_consume(c, deadline, &msg) == 0) {
                struct tally *mine = NULL;
                for (size_t i = 0; i < n; i++)
                        if (msg.key_len == strlen(t[i].call_id) &&
                            memcmp(msg.key, t[i].call_id, msg.key_len) == 0)
                                mine = &t[i];
                Cc__Events__V1__Envelope *env =
                    mine ? cc_event_unpack(msg.value, msg.value_len) : NULL;
                cc_kafka_message_release(&msg);
                if (!env)
                        continue;
                switch (env->payload_case) {
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED:
                        mine->started++;
                        cc_event_free(env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED:
                        mine->updated++;
                        cc_event_free(env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED:
                        mine->answered++;
                        cc_event_free(env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED:
                        mine->ended++;
                        keep(&mine->ended_env, env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_RECORDING_READY:
                        mine->recording++;
                        keep(&mine->recording_env, env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_TRANSCRIBED:
                        mine->transcribed++;
                        keep(&mine->transcribed_env, env);
                        break;
                default:
                        cc_event_free(env);
                }
                if (tally_complete(t, n) && deadline > cc_monotonic_us() + 1500000)
                        deadline = cc_monotonic_us() + 1500000;
        }
        cc_kafka_consumer_free(c);
}

static void tally_fini(struct tally *t, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                cc_event_free(t[i].ended_env);
                cc_event_free(t[i].recording_env);
                cc_event_free(t[i].transcribed_env);
        }
}

/* ---- the simulator process ---- */

/* A GET of the simulator's control API (NULL unless 200). */
static json_object *sim_get(const char *path)
{
        char url[256];
        snprintf(url, sizeof(url), "%s%s", sim_base, path);
        struct cc_test_response resp;
        cc_test_http("GET", url, NULL, 0, NULL, &resp);
        json_object *doc =
            resp.status == 200 ? cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0) : NULL;
        cc_test_response_fini(&resp);
        return doc;
}

/* The simulator's view of a call (fails the test when it has none). */
static json_object *sim_call(const char *sid)
{
        char path[128];
        snprintf(path, sizeof(path), "/sim/calls/%s", sid);
        json_object *doc = sim_get(path);
        ck_assert_msg(doc, "the simulator has no call %s", sid);
        return doc;
}

/* Waits until the simulator's call's last TwiML contains want. */
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

/* The sid of the simulator's (first) call to `to`, waiting for it; heap. */
static char *sim_call_to(const char *to)
{
        char *sid = NULL;
        CC_TEST_WAIT(({
                             json_object *doc = sim_get("/sim/calls");
                             json_object *calls = json_object_object_get(doc, "calls");
                             for (size_t i = 0; !sid && i < json_object_array_length(calls); i++) {
                                     json_object *c = json_object_array_get_idx(calls, i);
                                     if (strcmp(tt_str(c, "to"), to) == 0)
                                             sid = strdup(tt_str(c, "sid"));
                             }
                             json_object_put(doc);
                             sid != NULL;
                     }),
                     WAIT_MS, 20);
        ck_assert_msg(sid, "the simulator got no call to %s", to);
        return sid;
}

/* POST /api/calls/ OUTBOUND to `to` that must be accepted; the call's id (heap). */
static char *dial(struct cc_service *svc, const struct tt_caller *c, const char *to)
{
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"from_number\":\"+15550001111\",\"to_number\":\"%s\","
                 "\"direction\":\"OUTBOUND\"}",
                 to);
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/", body, c->token, &r);
        ck_assert_msg(r.status == 201, "dial %s: %ld %s", to, r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "direction"), "OUTBOUND");
        ck_assert_str_eq(tt_str(r.json, "to_number"), to);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

/* ---- signatures ---- */

START_TEST(telephony_webhooks_signature_required)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char sid[40], sid2[40];
        new_sid(sid);
        new_sid(sid2);
        char *id = store_call(sup.org_id, sid, true, NULL);
        char *id2 = store_call(sup.org_id, sid2, true, NULL);
        char *before = snapshot(svc, sup.token, id);
        struct form fm = status_form(PLAT_AC, sid, "in-progress", NULL);
        struct tt_resp r;
        char sig[CC_TWILIO_SIGNATURE_LEN];

        /* unsigned */
        post_signed(svc, STATUS_HOOK, &fm, FORM, NULL, &r);
        expect_forbidden(&r);
        /* garbage */
        post_signed(svc, STATUS_HOOK, &fm, FORM, "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==", &r);
        expect_forbidden(&r);
        post_signed(svc, STATUS_HOOK, &fm, FORM, "", &r);
        expect_forbidden(&r);
        /* signed with another account's token */
        sign("some-other-auth-token", STATUS_HOOK, &fm, sig);
        post_signed(svc, STATUS_HOOK, &fm, FORM, sig, &r);
        expect_forbidden(&r);
        /* signed over the address the request reached rather than the public URL Twilio was
         * given */
        char *local = cc_xasprintf("http://127.0.0.1:%d%s", cc_service_port(svc), STATUS_HOOK);
        cc_twilio_signature(PLAT_TOK, local, fm.f, fm.n, sig);
        free(local);
        post_signed(svc, STATUS_HOOK, &fm, FORM, sig, &r);
        expect_forbidden(&r);
        /* signed for another hook */
        sign(PLAT_TOK, RECORD_HOOK, &fm, sig);
        post_signed(svc, STATUS_HOOK, &fm, FORM, sig, &r);
        expect_forbidden(&r);
        /* a correct signature with a field changed on the way: "completed" for "in-progress" */
        sign(PLAT_TOK, STATUS_HOOK, &fm, sig);
        struct form tampered = status_form(PLAT_AC, sid, "completed", NULL);
        post_signed(svc, STATUS_HOOK, &tampered, FORM, sig, &r);
        expect_forbidden(&r);
        /* a field added to a signed post */
        struct form added = fm;
        form_add(&added, "CallDuration", "99");
        post_signed(svc, STATUS_HOOK, &added, FORM, sig, &r);
        expect_forbidden(&r);
        /* the query is part of what is signed */
        post_signed(svc, STATUS_HOOK "?retry=1", &fm, FORM, sig, &r);
        expect_forbidden(&r);
        /* the same signature as JSON with a changed value */
        post_signed(svc, STATUS_HOOK, &tampered, JSON, sig, &r);
        expect_forbidden(&r);
        /* an unknown sid is no excuse to skip the check */
        char unknown[40];
        new_sid(unknown);
        struct form fu = status_form(PLAT_AC, unknown, "completed", "3");
        post_signed(svc, STATUS_HOOK, &fu, FORM, NULL, &r);
        expect_forbidden(&r);
        /* and none of this changed the call */
        expect_unchanged(svc, sup.token, id, before);
        expect_call_status(svc, sup.token, id, "RINGING");

        /* correctly signed: applied */
        post_signed(svc, STATUS_HOOK, &fm, FORM, sig, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");
        expect_call_status(svc, sup.token, id, "IN_PROGRESS");
        /* signed with its query, as Twilio signs the URL it was given */
        struct form done = status_form(PLAT_AC, sid, "completed", "7");
        post_hook(svc, STATUS_HOOK "?retry=1&src=test", &done, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to COMPLETED", true, "COMPLETED");

        /* JSON (the original API's encoding) signed the same way; without AccountSid the
         * platform's token is the one */
        struct form fj = status_form(NULL, sid2, "in-progress", NULL);
        post_signed(svc, STATUS_HOOK, &fj, JSON, NULL, &r);
        expect_forbidden(&r);
        sign(PLAT_TOK, STATUS_HOOK, &fj, sig);
        post_signed(svc, STATUS_HOOK, &fj, JSON, sig, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");
        expect_call_status(svc, sup.token, id2, "IN_PROGRESS");

        /* the health check stays open */
        tt_call(svc, "GET", "/api/webhooks/health", NULL, NULL, &r);
        expect_envelope(&r, "Webhook system operational");
        tt_resp_fini(&r);

        free(before);
        free(id);
        free(id2);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

/* ---- retries and reordering ---- */

START_TEST(telephony_webhooks_status_idempotent_and_ordered)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char sid[40];
        new_sid(sid);
        char *id = store_call(sup.org_id, sid, true, NULL);
        struct tt_resp r;

        struct form answered = status_form(PLAT_AC, sid, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &answered, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");
        char *after_answer = snapshot(svc, sup.token, id);
        /* Twilio's retry of the same callback */
        post_hook(svc, STATUS_HOOK, &answered, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", false, "IN_PROGRESS");
        /* a late "ringing" and "initiated" do not move the call back */
        struct form ringing = status_form(PLAT_AC, sid, "ringing", NULL);
        post_hook(svc, STATUS_HOOK, &ringing, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to RINGING", false, "IN_PROGRESS");
        struct form initiated = status_form(PLAT_AC, sid, "initiated", NULL);
        post_hook(svc, STATUS_HOOK, &initiated, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to QUEUED", false, "IN_PROGRESS");
        expect_unchanged(svc, sup.token, id, after_answer);
        free(after_answer);

        /* completed: end time, and the duration Twilio counted (not our clock's) */
        struct form completed = status_form(PLAT_AC, sid, "completed", "42");
        post_hook(svc, STATUS_HOOK, &completed, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to COMPLETED", true, "COMPLETED");
        get_call(svc, sup.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        ck_assert_ptr_nonnull(tt_str(r.json, "answered_at"));
        ck_assert_int_eq(jint(r.json, "duration"), 42);
        tt_resp_fini(&r);
        char *after_end = snapshot(svc, sup.token, id);
        /* the retry (with another duration), and anything after the end, change nothing */
        struct form again = status_form(PLAT_AC, sid, "completed", "50");
        post_hook(svc, STATUS_HOOK, &again, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to COMPLETED", false, "COMPLETED");
        post_hook(svc, STATUS_HOOK, &completed, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to COMPLETED", false, "COMPLETED");
        post_hook(svc, STATUS_HOOK, &answered, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", false, "COMPLETED");
        struct form failed = status_form(PLAT_AC, sid, "failed", NULL);
        post_hook(svc, STATUS_HOOK, &failed, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to FAILED", false, "COMPLETED");
        expect_unchanged(svc, sup.token, id, after_end);
        free(after_end);

        /* a status Twilio may add one day counts as FAILED */
        char sid2[40];
        new_sid(sid2);
        char *id2 = store_call(sup.org_id, sid2, true, NULL);
        struct form odd = status_form(PLAT_AC, sid2, "exploded", NULL);
        post_hook(svc, STATUS_HOOK, &odd, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to FAILED", true, "FAILED");

        /* one answer and one end on the topic, whatever the retries */
        struct tally t[] = {{.call_id = id, .want_ended = 1}, {.call_id = id2, .want_ended = 1}};
        tally_read(t, 2);
        ck_assert_int_eq(t[0].started, 1);
        ck_assert_int_eq(t[0].answered, 1);
        ck_assert_int_eq(t[0].updated, 2); /* the answer and the end */
        ck_assert_int_eq(t[0].ended, 1);
        Cc__Events__V1__CallEnded *end = t[0].ended_env->call_ended;
        ck_assert_int_eq(end->status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
        ck_assert_int_eq(end->duration_seconds, 42);
        ck_assert_str_eq(t[0].ended_env->org_id, sup.org_id);
        ck_assert_int_eq(t[1].ended, 1);
        ck_assert_int_eq(t[1].ended_env->call_ended->status,
                         CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_FAILED);
        tally_fini(t, 2);

        free(id);
        free(id2);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_webhooks_unknown_call_and_missing_fields)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char sid[40], unknown[40];
        new_sid(sid);
        new_sid(unknown);
        char *id = store_call(sup.org_id, sid, true, NULL);
        char *before = snapshot(svc, sup.token, id);
        struct tt_resp r;

        /* an unknown sid: 200 so that Twilio stops retrying, and nothing is created */
        struct form fu = status_form(PLAT_AC, unknown, "completed", "3");
        post_hook(svc, STATUS_HOOK, &fu, PLAT_TOK, &r);
        expect_envelope(&r, "Call not found");
        json_object *data = NULL;
        ck_assert(json_object_object_get_ex(r.json, "data", &data));
        ck_assert_ptr_null(data);
        tt_resp_fini(&r);
        struct form ru = {.n = 0};
        form_add(&ru, "AccountSid", PLAT_AC);
        form_add(&ru, "CallSid", unknown);
        form_add(&ru, "RecordingSid", "RE00000000000000000000000000000001");
        form_add(&ru, "RecordingUrl", "https://api.twilio.com/rec/RE1");
        form_add(&ru, "RecordingStatus", "completed");
        form_add(&ru, "RecordingDuration", "5");
        post_hook(svc, RECORD_HOOK, &ru, PLAT_TOK, &r);
        expect_envelope(&r, "Call not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(count_calls(), 1);

        /* each required field, missing or empty → 422 naming it */
        static const char *const status_fields[] = {"CallSid", "CallStatus", "From", "To"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(status_fields); i++) {
                struct form full = status_form(PLAT_AC, sid, "completed", "3"), fm = {.n = 0};
                for (size_t k = 0; k < full.n; k++)
                        if (strcmp(full.f[k].key, status_fields[i]) != 0)
                                form_add(&fm, full.f[k].key, full.f[k].value);
                post_hook(svc, STATUS_HOOK, &fm, PLAT_TOK, &r);
                expect_422(&r, status_fields[i]);
                form_add(&fm, status_fields[i], "");
                post_hook(svc, STATUS_HOOK, &fm, PLAT_TOK, &r);
                expect_422(&r, status_fields[i]);
        }
        struct form bad_duration = status_form(PLAT_AC, sid, "completed", "soon");
        post_hook(svc, STATUS_HOOK, &bad_duration, PLAT_TOK, &r);
        expect_422(&r, "CallDuration");
        static const char *const rec_fields[] = {"RecordingSid", "RecordingUrl", "RecordingStatus",
                                                 "RecordingDuration", "CallSid"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(rec_fields); i++) {
                struct form fm = {.n = 0};
                form_add(&fm, "AccountSid", PLAT_AC);
                if (strcmp(rec_fields[i], "CallSid") != 0)
                        form_add(&fm, "CallSid", sid);
                if (strcmp(rec_fields[i], "RecordingSid") != 0)
                        form_add(&fm, "RecordingSid", "RE00000000000000000000000000000002");
                if (strcmp(rec_fields[i], "RecordingUrl") != 0)
                        form_add(&fm, "RecordingUrl", "https://api.twilio.com/rec/RE2");
                if (strcmp(rec_fields[i], "RecordingStatus") != 0)
                        form_add(&fm, "RecordingStatus", "completed");
                if (strcmp(rec_fields[i], "RecordingDuration") != 0)
                        form_add(&fm, "RecordingDuration", "5");
                post_hook(svc, RECORD_HOOK, &fm, PLAT_TOK, &r);
                expect_422(&r, rec_fields[i]);
        }
        struct form tr = {.n = 0};
        form_add(&tr, "AccountSid", PLAT_AC);
        form_add(&tr, "CallSid", sid);
        form_add(&tr, "TranscriptionSid", "TR00000000000000000000000000000002");
        form_add(&tr, "TranscriptionStatus", "completed");
        form_add(&tr, "RecordingSid", "RE00000000000000000000000000000002");
        post_hook(svc, TRANSCR_HOOK, &tr, PLAT_TOK, &r);
        expect_422(&r, "TranscriptionText");
        struct form vo = {.n = 0};
        form_add(&vo, "AccountSid", PLAT_AC);
        form_add(&vo, "CallSid", unknown);
        form_add(&vo, "From", "+15551112222");
        post_hook(svc, VOICE_HOOK, &vo, PLAT_TOK, &r);
        expect_422(&r, "To");
        post_hook(svc, IVR_HOOK, &vo, PLAT_TOK, &r);
        expect_422(&r, "To");
        /* the JSON encoding is validated alike */
        struct form js = status_form(PLAT_AC, sid, "completed", NULL), jm = {.n = 0};
        for (size_t k = 0; k < js.n; k++)
                if (strcmp(js.f[k].key, "CallStatus") != 0)
                        form_add(&jm, js.f[k].key, js.f[k].value);
        char sig[CC_TWILIO_SIGNATURE_LEN];
        sign(PLAT_TOK, STATUS_HOOK, &jm, sig);
        post_signed(svc, STATUS_HOOK, &jm, JSON, sig, &r);
        expect_422(&r, "CallStatus");

        expect_unchanged(svc, sup.token, id, before);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM recordings WHERE call_id = $1", id), 0);
        ck_assert_int_eq(count_calls(), 1);
        free(before);
        free(id);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

/* ---- recordings and transcriptions ---- */

START_TEST(telephony_webhooks_recording_and_transcription)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&agent, sup.org_id, "AGENT");
        char sid[40];
        new_sid(sid);
        char *id = store_call(sup.org_id, sid, true, agent.user_id);
        struct tt_resp r;
        struct form answered = status_form(PLAT_AC, sid, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &answered, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");

        const char *url = "https://api.twilio.com/2010-04-01/Accounts/" PLAT_AC
                          "/Recordings/RE0123456789abcdef0123456789abcdef";
        struct form rec = {.n = 0};
        form_add(&rec, "AccountSid", PLAT_AC);
        form_add(&rec, "ApiVersion", "2010-04-01");
        form_add(&rec, "CallSid", sid);
        form_add(&rec, "RecordingSid", "RE0123456789abcdef0123456789abcdef");
        form_add(&rec, "RecordingUrl", url);
        form_add(&rec, "RecordingStatus", "completed");
        form_add(&rec, "RecordingDuration", "17");
        form_add(&rec, "RecordingChannels", "1");
        /* unsigned: nothing stored */
        post_signed(svc, RECORD_HOOK, &rec, FORM, NULL, &r);
        expect_forbidden(&r);
        get_call(svc, agent.token, id, &r);
        ck_assert_ptr_null(tt_str(r.json, "recording_url"));
        tt_resp_fini(&r);
        /* stored, and Twilio's retry is harmless */
        for (int i = 0; i < 2; i++) {
                post_hook(svc, RECORD_HOOK, &rec, PLAT_TOK, &r);
                expect_envelope(&r, "Recording stored");
                tt_resp_fini(&r);
        }
        get_call(svc, agent.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "recording_url"), url);
        tt_resp_fini(&r);
        /* a URL that is not one */
        struct form bad = rec;
        bad.f[4].value = "javascript:alert(1)";
        post_hook(svc, RECORD_HOOK, &bad, PLAT_TOK, &r);
        expect_422(&r, "RecordingUrl");

        const char *text = "I'd like a refund & <quickly> please";
        struct form tr = {.n = 0};
        form_add(&tr, "AccountSid", PLAT_AC);
        form_add(&tr, "ApiVersion", "2010-04-01");
        form_add(&tr, "CallSid", sid);
        form_add(&tr, "RecordingSid", "RE0123456789abcdef0123456789abcdef");
        form_add(&tr, "TranscriptionSid", "TR0123456789abcdef0123456789abcdef");
        form_add(&tr, "TranscriptionStatus", "completed");
        form_add(&tr, "TranscriptionText", text);
        form_add(&tr, "TranscriptionUrl", "https://api.twilio.com/tr/TR0123");
        char sig[CC_TWILIO_SIGNATURE_LEN];
        sign("not-the-token-at-all", TRANSCR_HOOK, &tr, sig);
        post_signed(svc, TRANSCR_HOOK, &tr, FORM, sig, &r);
        expect_forbidden(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM transcripts WHERE call_id = $1", id), 0);
        for (int i = 0; i < 2; i++) {
                post_hook(svc, TRANSCR_HOOK, &tr, PLAT_TOK, &r);
                expect_envelope(&r, "Transcription stored");
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM transcripts WHERE call_id = $1", id), 1);

        struct tally t = {.call_id = id, .want_recording = 1, .want_transcribed = 1};
        tally_read(&t, 1);
        ck_assert_int_eq(t.recording, 1);
        ck_assert_int_eq(t.transcribed, 1);
        Cc__Events__V1__CallRecordingReady *rr = t.recording_env->call_recording_ready;
        ck_assert_str_eq(t.recording_env->org_id, sup.org_id);
        ck_assert_str_eq(rr->recording_url, url);
        ck_assert_str_eq(rr->recording_id, "RE0123456789abcdef0123456789abcdef");
        ck_assert_int_eq(rr->duration_seconds, 17);
        Cc__Events__V1__CallTranscribed *ct = t.transcribed_env->call_transcribed;
        ck_assert_str_eq(ct->text, text);
        ck_assert_int_eq(ct->speaker, CC__EVENTS__V1__SPEAKER__SPEAKER_CUSTOMER);
        ck_assert(cc_uuid_valid(ct->segment_id));
        tally_fini(&t, 1);

        free(id);
        tt_caller_fini(&agent);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

/* ---- incoming calls and the IVR ---- */

static struct form voice_form(const char *account, const char *sid, const char *from,
                              const char *to)
{
        struct form fm = {.n = 0};
        form_add(&fm, "AccountSid", account);
        form_add(&fm, "ApiVersion", "2010-04-01");
        form_add(&fm, "CallSid", sid);
        form_add(&fm, "CallStatus", "ringing");
        form_add(&fm, "Called", to);
        form_add(&fm, "Caller", from);
        form_add(&fm, "Direction", "inbound");
        form_add(&fm, "From", from);
        form_add(&fm, "To", to);
        return fm;
}

/* The Gather's action in TwiML, entities decoded, with the public base cut off: the path and
 * query the ivr hook is to be called back on (heap). */
static char *gather_action(const char *twiml)
{
        const char *a = strstr(twiml, "action=\"");
        ck_assert_msg(a, "no action in %s", twiml);
        a += 8;
        const char *end = strchr(a, '"');
        ck_assert_ptr_nonnull(end);
        const char *base = getenv("CC_PUBLIC_BASE_URL");
        ck_assert_msg(strncmp(a, base, strlen(base)) == 0, "action is not ours: %s", twiml);
        a += strlen(base);
        char *out = cc_xmalloc((size_t)(end - a) + 1);
        size_t k = 0;
        while (a < end) {
                if (strncmp(a, "&amp;", 5) == 0) {
                        out[k++] = '&';
                        a += 5;
                } else {
                        out[k++] = *a++;
                }
        }
        out[k] = '\0';
        return out;
}

/* The organization's calls as its admin lists them (a new reference). */
static json_object *list_calls(struct cc_service *svc, const struct tt_caller *c, int64_t *total)
{
        struct tt_resp r;
        tt_call(svc, "GET", "/api/calls/?", NULL, c->token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        *total = jint(r.json, "total");
        json_object *items = json_object_get(json_object_object_get(r.json, "items"));
        tt_resp_fini(&r);
        return items;
}

START_TEST(telephony_webhooks_voice_and_ivr)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller admin;
        tt_caller(&admin, NULL, "ADMIN");
        add_number(svc, &admin, "+15557770100");
        struct tt_resp r;
        int64_t total = 0;

        /* no IVR yet: the caller waits in the default queue */
        char sid1[40];
        new_sid(sid1);
        struct form v1 = voice_form(PLAT_AC, sid1, "+15551112222", "+15557770100");
        post_signed(svc, VOICE_HOOK, &v1, FORM, NULL, &r);
        expect_forbidden(&r);
        ck_assert_int_eq(count_calls(), 0);
        post_hook(svc, VOICE_HOOK, &v1, PLAT_TOK, &r);
        expect_twiml(&r, WAITING);
        tt_resp_fini(&r);
        json_object *items = list_calls(svc, &admin, &total);
        ck_assert_int_eq(total, 1);
        json_object *c = json_object_array_get_idx(items, 0);
        ck_assert_str_eq(tt_str(c, "direction"), "INBOUND");
        ck_assert_str_eq(tt_str(c, "status"), "RINGING");
        ck_assert_str_eq(tt_str(c, "from_number"), "+15551112222");
        ck_assert_str_eq(tt_str(c, "to_number"), "+15557770100");
        ck_assert_str_eq(tt_str(c, "organization_id"), admin.org_id);
        json_object_put(items);
        /* Twilio's retry of the same call creates no second one */
        post_hook(svc, VOICE_HOOK, &v1, PLAT_TOK, &r);
        expect_twiml(&r, WAITING);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_calls(), 1);

        /* the organization's IVR: greeting and menu */
        tt_call(svc, "POST", "/api/ivr/menus",
                "{\"name\":\"Main\",\"greeting\":\"Welcome to Smith & <Sons>. Press 1 for sales.\","
                "\"options\":[{\"digit\":\"1\",\"description\":\"sales\",\"action\":\"queue\","
                "\"target\":\"sales\"},{\"digit\":\"9\",\"description\":\"bye\",\"action\":"
                "\"hangup\"}]}",
                admin.token, &r);
        tt_expect(&r, 201, NULL);
        char *menu = strdup(tt_str(json_object_object_get(r.json, "menu"), "id"));
        tt_resp_fini(&r);
        char body[128];
        snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}", menu);
        tt_call(svc, "PUT", "/api/ivr/config", body, admin.token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);

        char sid2[40];
        new_sid(sid2);
        struct form v2 = voice_form(PLAT_AC, sid2, "+15553334444", "+15557770100");
        post_hook(svc, VOICE_HOOK, &v2, PLAT_TOK, &r);
        expect_twiml(&r, "<Say>Welcome to Smith &amp; &lt;Sons&gt;. Press 1 for sales.</Say>");
        ck_assert_msg(strstr(r.body, "<Gather"), "%s", r.body);
        ck_assert_msg(!strstr(r.body, "<Conference"), "%s", r.body);
        char *action = gather_action(r.body);
        tt_resp_fini(&r);
        items = list_calls(svc, &admin, &total);
        ck_assert_int_eq(total, 2);
        c = json_object_array_get_idx(items, 0); /* newest first */
        ck_assert_str_eq(tt_str(c, "from_number"), "+15553334444");
        char *call2 = strdup(tt_str(c, "id"));
        json_object_put(items);
        ck_assert_msg(strncmp(action, IVR_HOOK "?", strlen(IVR_HOOK) + 1) == 0 &&
                          strstr(action, menu) && strstr(action, call2),
                      "gather action %s", action);

        /* the caller presses 1: the option's queue */
        struct form g = v2;
        form_add(&g, "Digits", "1");
        post_hook(svc, action, &g, PLAT_TOK, &r);
        expect_twiml(&r, WAITING);
        tt_resp_fini(&r);
        /* the gather's query is signed too: dropping it is a forgery */
        char sig[CC_TWILIO_SIGNATURE_LEN];
        sign(PLAT_TOK, IVR_HOOK, &g, sig);
        post_signed(svc, action, &g, FORM, sig, &r);
        expect_forbidden(&r);
        /* 9 hangs up; a digit no option has plays the menu again, one attempt further */
        g.f[g.n - 1].value = "9";
        post_hook(svc, action, &g, PLAT_TOK, &r);
        expect_twiml(&r, "<Hangup/>");
        tt_resp_fini(&r);
        g.f[g.n - 1].value = "7";
        post_hook(svc, action, &g, PLAT_TOK, &r);
        expect_twiml(&r, "<Gather");
        ck_assert_msg(strstr(r.body, "attempt=2"), "%s", r.body);
        tt_resp_fini(&r);
        /* the gather of a call Twilio never announced */
        char stray[40];
        new_sid(stray);
        struct form gs = voice_form(PLAT_AC, stray, "+15553334444", "+15557770100");
        form_add(&gs, "Digits", "1");
        post_hook(svc, action, &gs, PLAT_TOK, &r);
        expect_twiml(&r, "<Hangup/>");
        tt_resp_fini(&r);

        /* a number nobody has: not in service, and no call */
        char sid3[40];
        new_sid(sid3);
        struct form v3 = voice_form(PLAT_AC, sid3, "+15551112222", "+15550000000");
        post_hook(svc, VOICE_HOOK, &v3, PLAT_TOK, &r);
        expect_twiml(&r, "not in service");
        ck_assert_msg(strstr(r.body, "<Hangup/>"), "%s", r.body);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_calls(), 2);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE twilio_sid = $1", sid3), 0);

        free(call2);
        free(action);
        free(menu);
        tt_caller_fini(&admin);
        cc_service_stop(svc);
}
END_TEST

/* ---- an organization's own account ---- */

START_TEST(telephony_webhooks_own_account_speaks_for_its_calls)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller a, b; /* a on the platform's account, b on its own */
        tt_caller(&a, NULL, "ADMIN");
        tt_caller(&b, NULL, "ADMIN");
        put_own_credentials(svc, &b);
        char sid_a[40], sid_b[40];
        new_sid(sid_a);
        new_sid(sid_b);
        char *id_a = store_call(a.org_id, sid_a, true, NULL);
        char *id_b = store_call(b.org_id, sid_b, true, NULL);
        char *before_a = snapshot(svc, a.token, id_a);
        char *before_b = snapshot(svc, b.token, id_b);
        struct tt_resp r;

        /* b's call: the platform's token no longer speaks for it, named or not */
        struct form f = status_form(PLAT_AC, sid_b, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &f, PLAT_TOK, &r);
        expect_forbidden(&r);
        f = status_form(NULL, sid_b, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &f, PLAT_TOK, &r);
        expect_forbidden(&r);
        /* naming b's account but signed with the platform's token */
        f = status_form(OWN_AC, sid_b, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &f, PLAT_TOK, &r);
        expect_forbidden(&r);
        expect_unchanged(svc, b.token, id_b, before_b);
        /* b's account signs for b's call */
        post_hook(svc, STATUS_HOOK, &f, OWN_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");
        expect_call_status(svc, b.token, id_b, "IN_PROGRESS");

        /* and for nothing else: a's call, even correctly signed with b's token */
        f = status_form(OWN_AC, sid_a, "completed", "9");
        post_hook(svc, STATUS_HOOK, &f, OWN_TOK, &r);
        expect_forbidden(&r);
        struct form rec = {.n = 0};
        form_add(&rec, "AccountSid", OWN_AC);
        form_add(&rec, "CallSid", sid_a);
        form_add(&rec, "RecordingSid", "RE0000000000000000000000000000000a");
        form_add(&rec, "RecordingUrl", "https://evil.example.com/rec.mp3");
        form_add(&rec, "RecordingStatus", "completed");
        form_add(&rec, "RecordingDuration", "5");
        post_hook(svc, RECORD_HOOK, &rec, OWN_TOK, &r);
        expect_forbidden(&r);
        expect_unchanged(svc, a.token, id_a, before_a);
        /* a's call still answers to the platform's token */
        f = status_form(PLAT_AC, sid_a, "in-progress", NULL);
        post_hook(svc, STATUS_HOOK, &f, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to IN_PROGRESS", true, "IN_PROGRESS");

        /* an incoming call to b's number: only b's account may announce it */
        add_number(svc, &b, "+15558880100");
        char sid_in[40];
        new_sid(sid_in);
        struct form v = voice_form(PLAT_AC, sid_in, "+15551112222", "+15558880100");
        post_hook(svc, VOICE_HOOK, &v, PLAT_TOK, &r);
        expect_forbidden(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE twilio_sid = $1", sid_in), 0);
        v = voice_form(OWN_AC, sid_in, "+15551112222", "+15558880100");
        post_hook(svc, VOICE_HOOK, &v, OWN_TOK, &r);
        expect_twiml(&r, WAITING);
        tt_resp_fini(&r);
        int64_t total = 0;
        json_object *items = list_calls(svc, &b, &total);
        ck_assert_int_eq(total, 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 0), "from_number"),
                         "+15551112222");
        json_object_put(items);
        /* nor may b's account announce a call to a's number */
        add_number(svc, &a, "+15558880200");
        char sid_x[40];
        new_sid(sid_x);
        v = voice_form(OWN_AC, sid_x, "+15551112222", "+15558880200");
        post_hook(svc, VOICE_HOOK, &v, OWN_TOK, &r);
        expect_forbidden(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE twilio_sid = $1", sid_x), 0);

        free(before_a);
        free(before_b);
        free(id_a);
        free(id_b);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        cc_service_stop(svc);
}
END_TEST

/* ---- many callbacks at once ---- */

/* One post of a burst, the answer it must get, and whether it was applied. */
struct burst_post {
        char *body; /* form-encoded, heap */
        char sig_header[64];
        long want_status;         /* 200, or 403 for a callback the platform cannot speak for */
        char want_message[64];    /* the envelope's message (200) */
        const char *want_call_id; /* data.call_id; NULL: data is null (unknown sid) */
        const char *want_after;   /* data.status */
        int want_applied;         /* data.applied; -1: either */
        int call, step;           /* what it is about, for counting; -1: no call of ours */
        int got_applied;          /* data.applied as answered */
};

/* A client thread with its own connection. Assertions stay on the test's thread: a wrong
 * answer is kept in error, and the client goes on meeting the others at each step's end. */
struct burst_client {
        pthread_t thread;
        pthread_barrier_t *step_done;
        char url[128];
        struct burst_post *posts;
        size_t n, cap;
        size_t step_end[8]; /* posts[step_end[s - 1] .. step_end[s]) belong to step s */
        size_t nsteps;
        char error[1024]; /* the first wrong answer; "" while all are right */
};

static void burst_add(struct burst_client *bc, const struct form *fm, long want_status,
                      const char *call_id, const char *after, int applied, int call, int step)
{
        if (bc->n == bc->cap) {
                bc->cap = bc->cap ? 2 * bc->cap : 64;
                bc->posts = cc_xrealloc(bc->posts, bc->cap * sizeof(*bc->posts));
        }
        struct burst_post *p = &bc->posts[bc->n++];
        memset(p, 0, sizeof(*p));
        struct cc_strbuf b = {0};
        for (size_t i = 0; i < fm->n; i++)
                cc_form_append(&b, fm->f[i].key, fm->f[i].value);
        p->body = cc_strbuf_take(&b);
        char sig[CC_TWILIO_SIGNATURE_LEN];
        sign(PLAT_TOK, STATUS_HOOK, fm, sig);
        snprintf(p->sig_header, sizeof(p->sig_header), "X-Twilio-Signature: %s", sig);
        p->want_status = want_status;
        p->want_call_id = call_id;
        p->want_after = after;
        p->want_applied = applied;
        p->call = call;
        p->step = step;
        p->got_applied = -1;
        if (call_id)
                snprintf(p->want_message, sizeof(p->want_message), "Call status updated to %s",
                         tel_call_status_name(
                             tel_call_status_from_twilio(cc_kv_get(fm->f, fm->n, "CallStatus"))));
        else
                snprintf(p->want_message, sizeof(p->want_message), "Call not found");
}

static size_t burst_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        cc_strbuf_append(userdata, ptr, size * nmemb);
        return size * nmemb;
}

/* Whether an answer is the one p wants (recording data.applied); why not in err. */
static bool burst_answer_ok(struct burst_post *p, long status, const char *body, char *err,
                            size_t len)
{
        json_object *o = json_tokener_parse(body);
        bool ok = false;
        if (status != p->want_status || !o) {
                snprintf(err, len, "status %ld (want %ld)", status, p->want_status);
        } else if (status == 403) {
                const char *d = tt_str(o, "detail");
                ok = d && strcmp(d, BAD_SIGNATURE) == 0;
                if (!ok)
                        snprintf(err, len, "want detail %s", BAD_SIGNATURE);
        } else {
                json_object *data = NULL, *success = json_object_object_get(o, "success");
                const char *msg = tt_str(o, "message");
                ok = success && json_object_get_boolean(success) && msg &&
                     strcmp(msg, p->want_message) == 0 &&
                     json_object_object_get_ex(o, "data", &data);
                if (ok && !p->want_call_id) {
                        ok = data == NULL;
                } else if (ok) {
                        const char *id = tt_str(data, "call_id"), *st = tt_str(data, "status");
                        json_object *applied = json_object_object_get(data, "applied");
                        ok = id && strcmp(id, p->want_call_id) == 0 && st &&
                             strcmp(st, p->want_after) == 0 && applied &&
                             json_object_is_type(applied, json_type_boolean);
                        if (ok)
                                p->got_applied = json_object_get_boolean(applied);
                        ok = ok && (p->want_applied < 0 || p->got_applied == p->want_applied);
                }
                if (!ok)
                        snprintf(err, len, "want \"%s\" for %s (status %s, applied %d)",
                                 p->want_message, p->want_call_id ? p->want_call_id : "no call",
                                 p->want_after ? p->want_after : "-", p->want_applied);
        }
        json_object_put(o);
        return ok;
}

static void burst_post_one(struct burst_client *bc, CURL *curl, struct cc_strbuf *resp, size_t i)
{
        struct burst_post *p = &bc->posts[i];
        struct curl_slist *hdrs =
            curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
        hdrs = curl_slist_append(hdrs, p->sig_header);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p->body);
        resp->len = 0;
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(hdrs);
        const char *body = rc == CURLE_OK && resp->data ? resp->data : "";
        char why[256];
        if (rc != CURLE_OK)
                snprintf(bc->error, sizeof(bc->error), "post %zu (%s): %s", i, p->body,
                         curl_easy_strerror(rc));
        else if (!burst_answer_ok(p, status, body, why, sizeof(why)))
                snprintf(bc->error, sizeof(bc->error), "post %zu (%s): %s; got %ld %s", i, p->body,
                         why, status, body);
}

static void *burst_main(void *arg)
{
        struct burst_client *bc = arg;
        CURL *curl = curl_easy_init();
        struct cc_strbuf resp = {0};
        if (!curl) {
                snprintf(bc->error, sizeof(bc->error), "curl_easy_init failed");
        } else {
                curl_easy_setopt(curl, CURLOPT_URL, bc->url);
                curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
                curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, burst_collect);
                curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
        }
        size_t i = 0;
        for (size_t s = 0; s < bc->nsteps; s++) {
                for (; i < bc->step_end[s]; i++)
                        if (!bc->error[0])
                                burst_post_one(bc, curl, &resp, i);
                pthread_barrier_wait(bc->step_done);
        }
        cc_strbuf_fini(&resp);
        curl_easy_cleanup(curl);
        return NULL;
}

static int64_t list_total(struct cc_service *svc, const char *token, const char *query)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/calls/?%s", query);
        struct tt_resp r;
        tt_call(svc, "GET", path, NULL, token, &r);
        ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
        int64_t total = jint(r.json, "total");
        tt_resp_fini(&r);
        return total;
}

#define BURST_CALLS   40
#define BURST_CLIENTS 8 /* even: see the order of posts below */

/* Twilio's callbacks for many calls arriving at once, as the status hook applies them several
 * to a transaction: each post is answered about its own call, a callback and its retry racing
 * each other are applied once, every call ends COMPLETED with Twilio's duration and answers and
 * ends once on the topic; unknown sids and callbacks the platform's account may not sign for,
 * in the same batches, change nothing. */
START_TEST(telephony_webhooks_concurrent_callbacks_batch_correctly)
{
        struct cc_service *svc = tt_start(NULL, PLAT_AC, PLAT_TOK);
        struct tt_caller a, b; /* a on the platform's account, b on its own */
        tt_caller(&a, NULL, "SUPERVISOR");
        tt_caller(&b, NULL, "ADMIN");
        put_own_credentials(svc, &b);
        char sids[BURST_CALLS][40], sid_b[2][40];
        char *ids[BURST_CALLS], *id_b[2], *before_b[2];
        for (int i = 0; i < BURST_CALLS; i++) {
                new_sid(sids[i]);
                ids[i] = store_call(a.org_id, sids[i], false, NULL); /* QUEUED */
        }
        for (int i = 0; i < 2; i++) {
                new_sid(sid_b[i]);
                id_b[i] = store_call(b.org_id, sid_b[i], false, NULL);
                before_b[i] = snapshot(svc, b.token, id_b[i]);
        }

        /* Step by step, every client posts the step's callback for its own calls and Twilio's
         * retry of it for the previous client's calls, each retry in the same place in its
         * client's sequence as the original in its own (even clients lead with their own
         * calls, odd ones with retries), so that a callback and its retry race into the same
         * batches; among them an unknown sid and a callback for one of b's calls signed with
         * the platform's token. Every client finishes a step before any begins the next (the
         * state machine would ignore an "in-progress" behind a "completed", and the call would
         * end unanswered). Two unknown sids cannot go into the batch statement: their batches
         * fall back to one callback at a time. */
        static const struct {
                const char *status, *duration, *after;
                int applied; /* per post; -1: the callback or its retry, exactly one */
        } steps[] = {
            {"initiated", NULL, "QUEUED", 0},         {"ringing", NULL, "RINGING", -1},
            {"in-progress", NULL, "IN_PROGRESS", -1}, {"completed", "7", "COMPLETED", -1},
            {"ringing", NULL, "COMPLETED", 0}, /* stale */
        };
        enum { NSTEPS = CC_ARRAY_SIZE(steps) };
        struct burst_client clients[BURST_CLIENTS];
        memset(clients, 0, sizeof(clients));
        ck_assert_uint_le(NSTEPS, CC_ARRAY_SIZE(clients[0].step_end));
        pthread_barrier_t step_done;
        ck_assert_int_eq(pthread_barrier_init(&step_done, NULL, BURST_CLIENTS), 0);
        char unknown[BURST_CLIENTS][NSTEPS][40];
        for (int c = 0; c < BURST_CLIENTS; c++) {
                struct burst_client *bc = &clients[c];
                bc->step_done = &step_done;
                snprintf(bc->url, sizeof(bc->url), "http://127.0.0.1:%d%s", cc_service_port(svc),
                         STATUS_HOOK);
                bc->nsteps = NSTEPS;
                for (int s = 0; s < NSTEPS; s++) {
                        size_t extra = (size_t)(3 * s) % (2 * BURST_CALLS / BURST_CLIENTS);
                        for (int i = c, k = 0; i < BURST_CALLS; i += BURST_CLIENTS) {
                                int retry = (i + BURST_CALLS - 1) % BURST_CALLS;
                                int calls[] = {c % 2 ? retry : i, c % 2 ? i : retry};
                                for (size_t x = 0; x < 2; x++, k++) {
                                        struct form f =
                                            status_form(PLAT_AC, sids[calls[x]], steps[s].status,
                                                        steps[s].duration);
                                        burst_add(bc, &f, 200, ids[calls[x]], steps[s].after,
                                                  steps[s].applied, calls[x], s);
                                        if ((size_t)k != extra)
                                                continue;
                                        if ((c == 0 && s == 1) || (c == 4 && s == 3))
                                                snprintf(unknown[c][s], 40, "CA-not-batchable-%d",
                                                         c);
                                        else
                                                new_sid(unknown[c][s]);
                                        f = status_form(PLAT_AC, unknown[c][s], steps[s].status,
                                                        steps[s].duration);
                                        burst_add(bc, &f, 200, NULL, NULL, -1, -1, s);
                                        f = status_form((c + s) % 2 ? PLAT_AC : NULL,
                                                        sid_b[(c + s) % 2], steps[s].status,
                                                        steps[s].duration);
                                        burst_add(bc, &f, 403, NULL, NULL, -1, -1, s);
                                }
                        }
                        bc->step_end[s] = bc->n;
                }
        }
        for (int c = 0; c < BURST_CLIENTS; c++)
                ck_assert_int_eq(pthread_create(&clients[c].thread, NULL, burst_main, &clients[c]),
                                 0);
        for (int c = 0; c < BURST_CLIENTS; c++)
                pthread_join(clients[c].thread, NULL);
        pthread_barrier_destroy(&step_done);
        int applied[BURST_CALLS][NSTEPS];
        memset(applied, 0, sizeof(applied));
        for (int c = 0; c < BURST_CLIENTS; c++) {
                ck_assert_msg(!clients[c].error[0], "client %d: %s", c, clients[c].error);
                for (size_t i = 0; i < clients[c].n; i++) {
                        const struct burst_post *p = &clients[c].posts[i];
                        if (p->call >= 0)
                                applied[p->call][p->step] += p->got_applied;
                        free(p->body);
                }
                free(clients[c].posts);
        }
        for (int i = 0; i < BURST_CALLS; i++)
                for (int s = 0; s < NSTEPS; s++)
                        ck_assert_msg(applied[i][s] == (steps[s].applied < 0),
                                      "call %s: \"%s\" applied %d times", ids[i], steps[s].status,
                                      applied[i][s]);

        /* The burst went through shared transactions: each state change wrote one call.updated
         * into the outbox, stamped with its transaction's start (now()). */
        static const char changes_sql[] =
            "SELECT count(*) FROM outbox WHERE type = 'call.updated' "
            "AND key IN (SELECT id::text FROM calls WHERE org_id = $1::uuid)";
        static const char commits_sql[] =
            "SELECT count(DISTINCT created_at) FROM outbox WHERE type = 'call.updated' "
            "AND key IN (SELECT id::text FROM calls WHERE org_id = $1::uuid)";
        long long changes = tt_sql_int(changes_sql, a.org_id);
        long long commits = tt_sql_int(commits_sql, a.org_id);
        ck_assert_int_eq(changes, 3 * BURST_CALLS);
        ck_assert_msg(commits < changes, "%lld state changes in %lld transactions: no batch",
                      changes, commits);

        struct tally t[BURST_CALLS + 2];
        memset(t, 0, sizeof(t));
        for (int i = 0; i < BURST_CALLS; i++) {
                struct tt_resp r;
                get_call(svc, a.token, ids[i], &r);
                ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
                ck_assert_int_eq(jint(r.json, "duration"), 7);
                ck_assert_ptr_nonnull(tt_str(r.json, "answered_at"));
                tt_resp_fini(&r);
                t[i] = (struct tally){.call_id = ids[i], .want_ended = 1};
        }
        for (int i = 0; i < 2; i++) {
                expect_unchanged(svc, b.token, id_b[i], before_b[i]);
                t[BURST_CALLS + i] = (struct tally){.call_id = id_b[i]};
        }
        ck_assert_int_eq(list_total(svc, a.token, "status=COMPLETED"), BURST_CALLS);
        ck_assert_int_eq(list_total(svc, a.token, "status=QUEUED"), 0);
        ck_assert_int_eq(list_total(svc, b.token, "status=QUEUED"), 2);
        ck_assert_int_eq(count_calls(), BURST_CALLS + 2);

        tally_read(t, BURST_CALLS + 2);
        for (int i = 0; i < BURST_CALLS; i++) {
                ck_assert_msg(t[i].answered == 1 && t[i].ended == 1 && t[i].updated == 3,
                              "call %s: %d call.answered, %d call.ended, %d call.updated", ids[i],
                              t[i].answered, t[i].ended, t[i].updated);
                Cc__Events__V1__CallEnded *end = t[i].ended_env->call_ended;
                ck_assert_int_eq(end->status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
                ck_assert_int_eq(end->duration_seconds, 7);
        }
        for (int i = BURST_CALLS; i < BURST_CALLS + 2; i++)
                ck_assert_msg(t[i].started == 1 && t[i].updated + t[i].answered + t[i].ended == 0,
                              "b's call %s: %d updated, %d answered, %d ended", t[i].call_id,
                              t[i].updated, t[i].answered, t[i].ended);
        tally_fini(t, BURST_CALLS + 2);

        for (int i = 0; i < BURST_CALLS; i++)
                free(ids[i]);
        for (int i = 0; i < 2; i++) {
                free(id_b[i]);
                free(before_b[i]);
        }
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        cc_service_stop(svc);
}
END_TEST

/* ---- outbound calls through the simulator ---- */

START_TEST(telephony_webhooks_outbound_through_simulator)
{
        sim_start(50, 300);
        struct cc_service *svc = start_reachable(sim_base, PLAT_AC, PLAT_TOK);
        struct tt_caller agent;
        tt_caller(&agent, NULL, "AGENT");
        char *done = dial(svc, &agent, "+15550109999");
        char *busy = dial(svc, &agent, "+15550100001");
        char *missed = dial(svc, &agent, "+15550100002");
        wait_call_status(svc, agent.token, done, "COMPLETED");
        wait_call_status(svc, agent.token, busy, "BUSY");
        wait_call_status(svc, agent.token, missed, "NO_ANSWER");

        /* the answered call lasted what Twilio says it did */
        char sid[64];
        sid_of(agent.org_id, done, sid);
        json_object *sc = sim_call(sid);
        ck_assert_str_eq(tt_str(sc, "status"), "completed");
        int64_t sim_duration = jint(sc, "duration");
        ck_assert_int_ge(sim_duration, 1);
        /* every signed callback it sent was taken */
        json_object *events = json_object_object_get(sc, "events");
        ck_assert_uint_ge(json_object_array_length(events), 4);
        for (size_t i = 0; i < json_object_array_length(events); i++) {
                json_object *e = json_object_array_get_idx(events, i);
                ck_assert_msg(jint(e, "http_status") == 200, "callback %s answered %d",
                              tt_str(e, "status"), (int)jint(e, "http_status"));
        }
        /* the answered call was put in its own conference by our voice webhook */
        json_object *hooks = json_object_object_get(sc, "webhooks");
        ck_assert_uint_ge(json_object_array_length(hooks), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(hooks, 0), "kind"), "voice");
        ck_assert_int_eq(jint(json_object_array_get_idx(hooks, 0), "http_status"), 200);
        char conf[80];
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", done);
        ck_assert_msg(tt_str(sc, "last_twiml") && strstr(tt_str(sc, "last_twiml"), conf), "%s",
                      json_object_to_json_string(sc));
        json_object_put(sc);
        struct tt_resp r;
        get_call(svc, agent.token, done, &r);
        ck_assert_int_eq(jint(r.json, "duration"), sim_duration);
        ck_assert_ptr_nonnull(tt_str(r.json, "answered_at"));
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        ck_assert_str_eq(tt_str(r.json, "agent_id"), agent.user_id);
        /* Twilio's "ringing" comes right after its answer to Calls.json: it must not be lost */
        ck_assert_msg(tt_str(r.json, "ringing_at"), "ringing not recorded: %s", r.body);
        tt_resp_fini(&r);
        get_call(svc, agent.token, busy, &r);
        ck_assert_msg(tt_str(r.json, "ringing_at"), "ringing not recorded: %s", r.body);
        ck_assert_ptr_null(tt_str(r.json, "answered_at"));
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        tt_resp_fini(&r);

        /* call.ended once each, with what the state machine derived */
        struct tally t[] = {{.call_id = done, .want_ended = 1},
                            {.call_id = busy, .want_ended = 1},
                            {.call_id = missed, .want_ended = 1}};
        tally_read(t, 3);
        ck_assert_int_eq(t[0].started, 1);
        ck_assert_int_eq(t[0].answered, 1);
        ck_assert_int_eq(t[0].ended, 1);
        Cc__Events__V1__CallEnded *end = t[0].ended_env->call_ended;
        ck_assert_int_eq(end->status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
        ck_assert_int_eq(end->direction, CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND);
        ck_assert_int_eq(end->duration_seconds, sim_duration);
        ck_assert_str_eq(end->agent_id, agent.user_id);
        ck_assert_int_eq(t[1].ended, 1);
        ck_assert_int_eq(t[1].answered, 0);
        ck_assert_int_eq(t[1].ended_env->call_ended->status,
                         CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_BUSY);
        ck_assert_int_eq(t[2].ended, 1);
        ck_assert_int_eq(t[2].ended_env->call_ended->status,
                         CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_NO_ANSWER);
        tally_fini(t, 3);

        free(done);
        free(busy);
        free(missed);
        tt_caller_fini(&agent);
        sim_stop();
        cc_service_stop(svc);
}
END_TEST

static void expect_provider(struct cc_service *svc, const struct tt_caller *c, const char *status)
{
        struct tt_resp r;
        tt_call(svc, "GET", "/api/telephony/providers", NULL, c->token, &r);
        tt_expect(&r, 200, NULL);
        json_object *list = json_object_object_get(r.json, "providers");
        ck_assert_uint_eq(json_object_array_length(list), 1);
        json_object *p = json_object_array_get_idx(list, 0);
        ck_assert_str_eq(tt_str(p, "id"), "twilio");
        ck_assert_str_eq(tt_str(p, "name"), "Twilio");
        ck_assert_str_eq(tt_str(p, "status"), status);
        json_object *caps = json_object_object_get(p, "capabilities");
        ck_assert_uint_eq(json_object_array_length(caps), 4);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(caps, 0)), "voice");
        tt_resp_fini(&r);
}

START_TEST(telephony_webhooks_outbound_without_twilio)
{
        /* no provider at all */
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller admin, sup, byo;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&sup, admin.org_id, "SUPERVISOR");
        tt_caller(&byo, NULL, "ADMIN");
        expect_provider(svc, &sup, "not_configured");
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550109999\","
                "\"direction\":\"OUTBOUND\"}",
                sup.token, &r);
        tt_expect(&r, 400, "Telephony service not available");
        tt_resp_fini(&r);
        add_number(svc, &admin, "+15557770300");
        tt_call(svc, "POST", "/api/telephony/test-call", "{\"to\":\"+15550109999\"}", sup.token,
                &r);
        tt_expect(&r, 400, "Telephony service not available");
        tt_resp_fini(&r);
        ck_assert_int_eq(count_calls(), 0);
        /* an organization that brings its own account has a provider; the others still not */
        put_own_credentials(svc, &byo);
        expect_provider(svc, &byo, "active");
        expect_provider(svc, &sup, "not_configured");
        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        tt_caller_fini(&byo);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_webhooks_outbound_simulator_down)
{
        int port = 0;
        int fd = cc_test_bound_socket(&port); /* nothing answers there */
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        struct cc_service *svc = tt_start(base, PLAT_AC, PLAT_TOK);
        struct tt_caller admin, sup;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&sup, admin.org_id, "SUPERVISOR");
        expect_provider(svc, &sup, "active");
        struct tt_resp r;
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550109999\","
                "\"direction\":\"OUTBOUND\"}",
                sup.token, &r);
        ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        add_number(svc, &admin, "+15557770400");
        tt_call(svc, "POST", "/api/telephony/test-call", "{\"to\":\"+15550108888\"}", sup.token,
                &r);
        ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        /* both attempts stay on record, FAILED */
        int64_t total = 0;
        json_object *items = list_calls(svc, &sup, &total);
        ck_assert_int_eq(total, 2);
        for (size_t i = 0; i < 2; i++) {
                json_object *c = json_object_array_get_idx(items, i);
                ck_assert_str_eq(tt_str(c, "status"), "FAILED");
                ck_assert_str_eq(tt_str(c, "direction"), "OUTBOUND");
                ck_assert_ptr_nonnull(tt_str(c, "end_time"));
        }
        json_object_put(items);
        close(fd);
        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

/* ---- /api/telephony ---- */

START_TEST(telephony_webhooks_test_call)
{
        sim_start(50, 300);
        struct cc_service *svc = start_reachable(sim_base, PLAT_AC, PLAT_TOK);
        struct tt_caller admin, sup, agent;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&sup, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        expect_provider(svc, &agent, "active");
        struct tt_resp r;

        tt_call(svc, "POST", "/api/telephony/test-call", "{\"to\":\"+15550104444\"}", agent.token,
                &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        static const char *const bad[] = {"{\"to\":\"12ab5550104444\"}",
                                          "{\"to\":\"0155501044\"}",
                                          "{\"to\":\"+1555\"}",
                                          "{\"to\":\"+1234567890123456\"}",
                                          "{}",
                                          "{\"to\":15550104444}"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                tt_call(svc, "POST", "/api/telephony/test-call", bad[i], sup.token, &r);
                expect_422(&r, "to");
        }
        ck_assert_int_eq(count_calls(), 0);
        /* nothing to call from yet */
        tt_call(svc, "POST", "/api/telephony/test-call", "{\"to\":\"+15550104444\"}", sup.token,
                &r);
        ck_assert_msg(r.status == 400, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        add_number(svc, &admin, "+15557770500");

        /* the '+' is added; the message is said, escaped */
        tt_call(svc, "POST", "/api/telephony/test-call",
                "{\"to\":\"15550104444\",\"message\":\"Hello & <welcome>\"}", sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "message"), "Test call initiated to +15550104444");
        ck_assert_str_eq(tt_str(r.json, "to"), "+15550104444");
        const char *sid = tt_str(r.json, "callSid");
        ck_assert_msg(sid && strncmp(sid, "CA", 2) == 0 && strlen(sid) == 34, "%s", r.body);
        char *call_sid = strdup(sid);
        char *call_id = tt_str(r.json, "call_id") ? strdup(tt_str(r.json, "call_id")) : NULL;
        tt_resp_fini(&r);
        ck_assert_int_eq(count_calls(), 1);
        /* the call on record: outbound, the supervisor as its agent */
        int64_t total = 0;
        json_object *items = list_calls(svc, &sup, &total);
        ck_assert_int_eq(total, 1);
        json_object *c = json_object_array_get_idx(items, 0);
        if (call_id)
                ck_assert_str_eq(tt_str(c, "id"), call_id);
        else
                call_id = strdup(tt_str(c, "id"));
        ck_assert_str_eq(tt_str(c, "direction"), "OUTBOUND");
        ck_assert_str_eq(tt_str(c, "agent_id"), sup.user_id);
        ck_assert_str_eq(tt_str(c, "to_number"), "+15550104444");
        ck_assert_str_eq(tt_str(c, "from_number"), "+15557770500");
        json_object_put(items);
        char stored[64];
        sid_of(admin.org_id, call_id, stored);
        ck_assert_str_eq(stored, call_sid);
        /* Twilio placed it, saying the message, and it went the whole way */
        json_object *sc = sim_call(call_sid);
        ck_assert_str_eq(tt_str(sc, "to"), "+15550104444");
        ck_assert_str_eq(tt_str(sc, "from"), "+15557770500");
        json_object_put(sc);
        wait_sim_twiml(call_sid, "<Say>Hello &amp; &lt;welcome&gt;</Say>");
        wait_call_status(svc, sup.token, call_id, "COMPLETED");

        free(call_sid);
        free(call_id);
        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        sim_stop();
        cc_service_stop(svc);
}
END_TEST

static long op(struct cc_service *svc, const char *verb, const char *call_id,
               const struct tt_caller *c, struct tt_resp *ret)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/telephony/%s/%s", verb, call_id);
        return tt_call(svc, "POST", path, NULL, c->token, ret);
}

static void expect_op(struct cc_service *svc, const char *verb, const char *call_id,
                      const struct tt_caller *c, long status, const char *message_or_detail)
{
        struct tt_resp r;
        op(svc, verb, call_id, c, &r);
        ck_assert_msg(r.status == status, "%s: %ld (want %ld) %s", verb, r.status, status, r.body);
        if (status == 200) {
                ck_assert(jbool(r.json, "success"));
                ck_assert_str_eq(tt_str(r.json, "message"), message_or_detail);
        } else if (message_or_detail) {
                tt_expect(&r, status, message_or_detail);
        }
        tt_resp_fini(&r);
}

static void expect_sim_flags(const char *sid, bool hold, bool muted)
{
        json_object *sc = sim_call(sid);
        ck_assert_msg(jbool(sc, "hold") == hold && jbool(sc, "muted") == muted,
                      "want hold %d muted %d: %s", hold, muted, json_object_to_json_string(sc));
        json_object_put(sc);
}

static long transfer(struct cc_service *svc, const struct tt_caller *c, const char *call_id,
                     const char *to, const char *blind, struct tt_resp *ret)
{
        char body[256];
        snprintf(body, sizeof(body), "{\"call_id\":\"%s\",\"to\":\"%s\"%s%s}", call_id, to,
                 blind ? ",\"blind\":" : "", blind ? blind : "");
        return tt_call(svc, "POST", "/api/telephony/transfer", body, c->token, ret);
}

START_TEST(telephony_webhooks_hold_mute_transfer)
{
        /* one call that stays up for the whole test */
        sim_start(50, 60000);
        struct cc_service *svc = start_reachable(sim_base, PLAT_AC, PLAT_TOK);
        struct tt_caller admin, sup, agent, agent2, other;
        tt_caller(&admin, NULL, "ADMIN");
        tt_caller(&sup, admin.org_id, "SUPERVISOR");
        tt_caller(&agent, admin.org_id, "AGENT");
        tt_caller(&agent2, admin.org_id, "AGENT");
        tt_caller(&other, NULL, "SUPERVISOR");
        add_number(svc, &admin, "+15557770600");
        char *id = dial(svc, &agent, "+15550107777");
        wait_call_status(svc, agent.token, id, "IN_PROGRESS");
        char sid[64], conf[80];
        sid_of(admin.org_id, id, sid);
        snprintf(conf, sizeof(conf), ">cc-%s</Conference>", id);
        wait_sim_twiml(sid, conf);
        expect_sim_flags(sid, false, false);
        struct tt_resp r;

        /* a call that is not up: nothing to hold, mute or transfer */
        tt_call(svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"INBOUND\"}",
                agent.token, &r);
        tt_expect(&r, 201, NULL);
        char *ringing = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        expect_op(svc, "hold", ringing, &agent, 409, NULL);
        expect_op(svc, "unhold", ringing, &agent, 409, "Call is not on hold");
        expect_op(svc, "mute", ringing, &agent, 409, NULL);
        transfer(svc, &sup, ringing, "+15550105555", NULL, &r);
        tt_expect(&r, 400, "Call is not active");
        tt_resp_fini(&r);
        expect_call_status(svc, agent.token, ringing, "RINGING");

        /* not someone else's call */
        expect_op(svc, "hold", id, &agent2, 404, "Call not found");
        expect_op(svc, "mute", id, &agent2, 404, "Call not found");
        expect_op(svc, "hold", id, &other, 404, "Call not found");
        expect_op(svc, "unmute", id, &other, 404, "Call not found");
        expect_op(svc, "hold", "not-a-call", &sup, 404, "Call not found");
        transfer(svc, &other, id, "+15550105555", NULL, &r);
        tt_expect(&r, 404, "Call not found");
        tt_resp_fini(&r);
        transfer(svc, &agent, id, "+15550105555", NULL, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        expect_sim_flags(sid, false, false);
        /* unhold of a call that is not on hold */
        expect_op(svc, "unhold", id, &agent, 409, NULL);
        expect_call_status(svc, agent.token, id, "IN_PROGRESS");

        /* hold: Twilio holds the leg, the call is ON_HOLD; twice is a conflict */
        expect_op(svc, "hold", id, &agent, 200, "Call on hold");
        expect_sim_flags(sid, true, false);
        expect_call_status(svc, agent.token, id, "ON_HOLD");
        expect_op(svc, "hold", id, &agent, 409, NULL);
        expect_op(svc, "unhold", id, &agent, 200, "Call resumed");
        expect_sim_flags(sid, false, false);
        expect_call_status(svc, agent.token, id, "IN_PROGRESS");
        /* a supervisor may too */
        expect_op(svc, "hold", id, &sup, 200, "Call on hold");
        expect_call_status(svc, agent.token, id, "ON_HOLD");
        expect_op(svc, "unhold", id, &sup, 200, "Call resumed");

        /* mute and unmute */
        expect_op(svc, "mute", id, &agent, 200, "Call muted");
        expect_sim_flags(sid, false, true);
        get_call(svc, agent.token, id, &r);
        ck_assert(jbool(json_object_object_get(r.json, "extra_metadata"), "muted"));
        ck_assert_str_eq(tt_str(r.json, "status"), "IN_PROGRESS");
        tt_resp_fini(&r);
        expect_op(svc, "unmute", id, &agent, 200, "Call unmuted");
        expect_sim_flags(sid, false, false);
        get_call(svc, agent.token, id, &r);
        ck_assert(!jbool(json_object_object_get(r.json, "extra_metadata"), "muted"));
        tt_resp_fini(&r);

        /* an attended transfer dials the target into the call's conference */
        transfer(svc, &sup, id, "+15550105555", NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jbool(r.json, "success"));
        ck_assert_str_eq(tt_str(r.json, "message"), "Call transferred to +15550105555");
        ck_assert_str_eq(tt_str(r.json, "transferType"), "attended");
        tt_resp_fini(&r);
        char *leg = sim_call_to("+15550105555");
        wait_sim_twiml(leg, conf);
        get_call(svc, sup.token, id, &r);
        json_object *info =
            json_object_object_get(json_object_object_get(r.json, "extra_metadata"), "transfer");
        ck_assert_str_eq(tt_str(info, "type"), "attended");
        ck_assert_str_eq(tt_str(info, "to"), "+15550105555");
        tt_resp_fini(&r);
        /* a blind one sends the caller to the target */
        transfer(svc, &sup, id, "15550106666", "true", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "message"), "Call transferred to +15550106666");
        ck_assert_str_eq(tt_str(r.json, "transferType"), "blind");
        tt_resp_fini(&r);
        wait_sim_twiml(sid, "<Number>+15550106666</Number>");
        get_call(svc, sup.token, id, &r);
        info = json_object_object_get(json_object_object_get(r.json, "extra_metadata"), "transfer");
        ck_assert_str_eq(tt_str(info, "type"), "blind");
        tt_resp_fini(&r);
        transfer(svc, &sup, id, "not a number", NULL, &r);
        expect_422(&r, "to");
        transfer(svc, &sup, "7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e09", "+15550106666", NULL, &r);
        tt_expect(&r, 404, "Call not found");
        tt_resp_fini(&r);

        /* ending a live call through the API hangs it up at Twilio too */
        char *id2 = dial(svc, &agent, "+15550107778");
        wait_call_status(svc, agent.token, id2, "IN_PROGRESS");
        char sid2[64], path2[128];
        sid_of(admin.org_id, id2, sid2);
        snprintf(path2, sizeof(path2), "/api/calls/%s/end", id2);
        tt_call(svc, "POST", path2, NULL, agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        tt_resp_fini(&r);
        json_object *sc = sim_call(sid2);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(sc, "status")), "completed");
        json_object_put(sc);
        free(id2);

        /* once the call has ended, hold is refused without asking Twilio */
        struct form f = status_form(PLAT_AC, sid, "completed", "30");
        post_hook(svc, STATUS_HOOK, &f, PLAT_TOK, &r);
        expect_status_reply(&r, "Call status updated to COMPLETED", true, "COMPLETED");
        expect_op(svc, "hold", id, &agent, 409, NULL);
        transfer(svc, &sup, id, "+15550105555", NULL, &r);
        tt_expect(&r, 400, "Call is not active");
        tt_resp_fini(&r);

        free(leg);
        free(ringing);
        free(id);
        tt_caller_fini(&admin);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        tt_caller_fini(&agent2);
        tt_caller_fini(&other);
        sim_stop();
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_webhooks");
        TCase *tc = tcase_create("telephony_webhooks");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_webhooks_signature_required);
        tcase_add_test(tc, telephony_webhooks_status_idempotent_and_ordered);
        tcase_add_test(tc, telephony_webhooks_unknown_call_and_missing_fields);
        tcase_add_test(tc, telephony_webhooks_recording_and_transcription);
        tcase_add_test(tc, telephony_webhooks_voice_and_ivr);
        tcase_add_test(tc, telephony_webhooks_own_account_speaks_for_its_calls);
        tcase_add_test(tc, telephony_webhooks_concurrent_callbacks_batch_correctly);
        tcase_add_test(tc, telephony_webhooks_outbound_through_simulator);
        tcase_add_test(tc, telephony_webhooks_outbound_without_twilio);
        tcase_add_test(tc, telephony_webhooks_outbound_simulator_down);
        tcase_add_test(tc, telephony_webhooks_test_call);
        tcase_add_test(tc, telephony_webhooks_hold_mute_transfer);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
