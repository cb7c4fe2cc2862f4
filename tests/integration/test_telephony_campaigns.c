/* Campaigns and the outbound dialer as their users see them: the five /api/campaigns routes with
 * their shapes, validation, roles and organization scoping; the campaign.* events on
 * cc.campaigns.v1; and campaigns dialled through a real twilio-sim process (CC_TEST_TWILIO_SIM)
 * whose signed callbacks reach the in-process service: pacing by available agents, retries with
 * back-off, do-not-call, calling hours in the campaign's time zone, pausing, and completion.
 *
 * The dialer's rounds are driven from the test (tel_dialer_tick), as the service's worker drives
 * them; several at once must be as safe as one. Agents and contacts are written straight into
 * the service's schema. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#define sim_start tt_sim_start
#define sim_stop  tt_sim_stop
#define sim_base  tt_sim_base

#define PLAT_AC  "AC0123456789abcdef0123456789abcdef"
#define PLAT_TOK "platform-token-0123456789"
#define FROM     "+15550009999"

#define FORBID_SUP "Supervisor or admin access required"
#define NOT_FOUND  "Campaign not found"
#define WAIT_MS    30000

/* The campaign the UI's shim creates, plus extras it sends that the API ignores. */
#define UI_BODY                                                                                    \
        "{\"name\":\"Spring outreach\",\"description\":\"Call everyone\",\"type\":\"OUTBOUND\","   \
        "\"language\":\"en\",\"organization_id\":\"demo-org\","                                    \
        "\"instructions\":{\"script\":\"Hello!\"},\"tools\":{},\"voice\":{},\"analytics\":{},"     \
        "\"metadata\":{},\"script\":\"Hello!\",\"priority\":\"high\",\"targetCallsPerDay\":100}"

/* ---- the service and its callers ---- */

struct world {
        struct cc_service *svc;
        struct tt_caller sup, agent, other; /* other: a supervisor of another organization */
        struct cc_db_pool *pool;            /* on the service's schema */
};

static void world_init(struct world *w, struct cc_service *svc)
{
        w->svc = svc;
        tt_caller(&w->sup, NULL, "SUPERVISOR");
        tt_caller(&w->agent, w->sup.org_id, "AGENT");
        tt_caller(&w->other, NULL, "SUPERVISOR");
        w->pool = cc_test_pool(tt_schema, 2, 5000);
}

static void world_fini(struct world *w)
{
        cc_db_pool_free(w->pool);
        tt_caller_fini(&w->sup);
        tt_caller_fini(&w->agent);
        tt_caller_fini(&w->other);
        cc_service_stop(w->svc);
}

/* Starts the service with CC_PUBLIC_BASE_URL at its own address, so the simulator's callbacks
 * reach it; twilio_base NULL: no Twilio at all. */
static struct cc_service *start_reachable(const char *twilio_base, const char *account_sid,
                                          const char *auth_token)
{
        setenv("CC_TWILIO_FROM_NUMBER", FROM, 1);
        return tt_start_reachable_with(twilio_base, account_sid, auth_token);
}

static int64_t jint(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && !json_object_is_type(v, json_type_null), "no %s in %s", key,
                      json_object_to_json_string(o));
        return json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "no boolean %s", key);
        return json_object_get_boolean(v);
}

static bool jnull(json_object *o, const char *key)
{
        json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) && v == NULL;
}

static void expect_422(struct tt_resp *r, const char *field)
{
        ck_assert_msg(r->status == 422, "status %ld: %s", r->status, r->body);
        const char *d = tt_str(r->json, "detail");
        ck_assert_msg(d && strncmp(d, field, strlen(field)) == 0 && d[strlen(field)] == ':',
                      "detail does not name %s: %s", field, r->body);
}

/* POST that must succeed; the new campaign's id (heap). */
static char *create(struct world *w, const char *body)
{
        struct tt_resp r;
        tt_call(w->svc, "POST", "/api/campaigns/", body, w->sup.token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

/* A PUT that must succeed. */
static void put(struct world *w, const char *id, const char *body)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", id);
        struct tt_resp r;
        tt_call(w->svc, "PUT", path, body, w->sup.token, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
}

static json_object *get(struct world *w, const char *id)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", id);
        struct tt_resp r;
        tt_call(w->svc, "GET", path, NULL, w->sup.token, &r);
        tt_expect(&r, 200, NULL);
        json_object *o = json_object_get(r.json);
        tt_resp_fini(&r);
        return o;
}

static long long sql_int(struct world *w, const char *sql, const char *param)
{
        return cc_test_pool_query_int(w->pool, sql, param);
}

static void sql_exec(struct world *w, const char *sql, int n, const char *const *p)
{
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        cc_test_exec(conn, sql, n, p);
        cc_db_release(conn);
}

/* n AVAILABLE agents of the caller's organization with these skills ("{}" for none). */
static void add_agents(struct world *w, int n, const char *skills)
{
        char count[16];
        snprintf(count, sizeof(count), "%d", n);
        const char *p[] = {w->sup.org_id, count, skills};
        sql_exec(w,
                 "INSERT INTO agents (id, org_id, user_id, status, skills) "
                 "SELECT gen_random_uuid(), $1, gen_random_uuid(), 'AVAILABLE', $3::text[] "
                 "FROM generate_series(1, $2::integer)",
                 3, p);
}

/* A contact of the campaign; status NULL: PENDING. Contacts made later are younger. */
static void add_contact(struct world *w, const char *campaign_id, const char *phone,
                        const char *status)
{
        const char *p[] = {w->sup.org_id, campaign_id, phone, status ? status : "PENDING"};
        sql_exec(w,
                 "INSERT INTO contacts (id, org_id, campaign_id, phone_number, status, created_at) "
                 "VALUES (gen_random_uuid(), $1, $2, $3, $4, clock_timestamp())",
                 4, p);
}

static long long calls_of(struct world *w, const char *campaign_id)
{
        return sql_int(w, "SELECT count(*) FROM calls WHERE campaign_id = $1", campaign_id);
}

/* The dialer's own measure: calls neither ended nor taken by an agent. */
static long long in_flight(struct world *w, const char *campaign_id)
{
        return sql_int(w,
                       "SELECT count(*) FROM calls WHERE campaign_id = $1 AND ended_at IS NULL "
                       "AND connected_at IS NULL",
                       campaign_id);
}

static int tick(struct world *w)
{
        int r = tel_dialer_tick(cc_service_pool(w->svc), tel_of(w->svc));
        ck_assert_msg(r >= 0, "dialer round failed: %s", strerror(-r));
        return r;
}

/* ---- the simulator process ---- */

/* The simulator's calls, oldest first. */
static json_object *sim_calls(void)
{
        char url[128];
        snprintf(url, sizeof(url), "%s/sim/calls", sim_base);
        struct cc_test_response resp;
        cc_test_http("GET", url, NULL, 0, NULL, &resp);
        ck_assert_int_eq(resp.status, 200);
        json_object *doc = cc_json_parse(resp.body, strlen(resp.body), 0, NULL, 0);
        cc_test_response_fini(&resp);
        ck_assert_ptr_nonnull(doc);
        json_object *calls = json_object_get(json_object_object_get(doc, "calls"));
        json_object_put(doc);
        return calls;
}

static int sim_calls_to(json_object *calls, const char *to)
{
        int n = 0;
        for (size_t i = 0; i < json_object_array_length(calls); i++)
                n += strcmp(tt_str(json_object_array_get_idx(calls, i), "to"), to) == 0;
        return n;
}

/* ---- events on cc.campaigns.v1 ---- */

struct tally {
        const char *campaign_id;
        int want_completed, want_updated;
        int created, updated, completed;
        char changed[8][160]; /* each campaign.updated's changed_fields, comma-joined */
        bool active[8];       /* and the campaign's active flag in it */
        char created_name[64];
        int total, reached, failed;
};

static void tally_read(struct tally *t)
{
        struct cc_kafka_consumer *c = cc_test_consumer("cc.campaigns.v1", NULL, NULL);
        int64_t deadline = cc_monotonic_us() + 30 * 1000000LL;
        struct cc_kafka_message msg;
        while (cc_test_consume(c, deadline, &msg) == 0) {
                bool mine = msg.key_len == strlen(t->campaign_id) &&
                            memcmp(msg.key, t->campaign_id, msg.key_len) == 0;
                Cc__Events__V1__Envelope *env =
                    mine ? cc_event_unpack(msg.value, msg.value_len) : NULL;
                cc_kafka_message_release(&msg);
                if (!env)
                        continue;
                switch (env->payload_case) {
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED:
                        t->created++;
                        snprintf(t->created_name, sizeof(t->created_name), "%s",
                                 env->campaign_created->campaign->name);
                        ck_assert_str_eq(env->campaign_created->campaign->campaign_id,
                                         t->campaign_id);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_UPDATED:
                        if (t->updated < 8) {
                                char *out = t->changed[t->updated];
                                size_t pos = 0;
                                out[0] = '\0';
                                for (size_t i = 0; i < env->campaign_updated->n_changed_fields; i++)
                                        pos += (size_t)snprintf(
                                            out + pos, sizeof(t->changed[0]) - pos, "%s%s",
                                            i ? "," : "", env->campaign_updated->changed_fields[i]);
                                t->active[t->updated] = env->campaign_updated->campaign->active;
                        }
                        t->updated++;
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_COMPLETED:
                        t->completed++;
                        t->total = env->campaign_completed->contacts_total;
                        t->reached = env->campaign_completed->contacts_completed;
                        t->failed = env->campaign_completed->contacts_failed;
                        ck_assert_int_gt(env->campaign_completed->completed_at_ms, 0);
                        break;
                default:
                        break;
                }
                cc_event_free(env);
                /* Everything expected is in: linger a little to catch a duplicate. */
                if (t->created >= 1 && t->updated >= t->want_updated &&
                    t->completed >= t->want_completed && deadline > cc_monotonic_us() + 1500000)
                        deadline = cc_monotonic_us() + 1500000;
        }
        cc_kafka_consumer_free(c);
}

/* ---- the API ---- */

START_TEST(telephony_campaigns_crud_and_shapes)
{
        struct world w;
        world_init(&w, start_reachable(NULL, NULL, NULL));
        struct tt_resp r;

        tt_call(w.svc, "POST", "/api/campaigns/", UI_BODY, w.sup.token, &r);
        tt_expect(&r, 201, NULL);
        json_object *c = r.json;
        char *id = strdup(tt_str(c, "id"));
        ck_assert(cc_uuid_valid(id));
        ck_assert_str_eq(tt_str(c, "name"), "Spring outreach");
        ck_assert_str_eq(tt_str(c, "description"), "Call everyone");
        ck_assert_str_eq(tt_str(c, "type"), "OUTBOUND");
        ck_assert_str_eq(tt_str(c, "language"), "en");
        ck_assert_str_eq(tt_str(c, "version"), "1.0.0");
        ck_assert(!jbool(c, "active"));
        ck_assert_str_eq(tt_str(c, "organization_id"), "demo-org");
        ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(c, "instructions"),
                                                        JSON_C_TO_STRING_PLAIN),
                         "{\"script\":\"Hello!\"}");
        ck_assert_str_eq(json_object_to_json_string(json_object_object_get(c, "tools")), "{ }");
        /* "metadata" in, "metadata_payload" out */
        ck_assert(
            json_object_is_type(json_object_object_get(c, "metadata_payload"), json_type_object));
        ck_assert(!json_object_object_get_ex(c, "script", NULL));
        char created[32];
        snprintf(created, sizeof(created), "%s", tt_str(c, "created_at"));
        ck_assert_msg(created[0] && created[strlen(created) - 1] == 'Z', "created_at %s", created);
        ck_assert_str_eq(tt_str(c, "updated_at"), created);
        /* the dialer's settings, defaulted */
        ck_assert(jnull(c, "queue_id"));
        ck_assert_double_eq(json_object_get_double(json_object_object_get(c, "pacing_ratio")), 1.0);
        ck_assert_int_eq(jint(c, "max_attempts"), 3);
        ck_assert_int_eq(jint(c, "retry_delay_seconds"), 300);
        ck_assert(jnull(c, "calling_hours"));
        ck_assert_str_eq(tt_str(c, "time_zone"), "UTC");
        ck_assert_str_eq(tt_str(c, "status"), "draft");
        ck_assert(jnull(c, "completed_at"));
        tt_resp_fini(&r);
        /* stored in the caller's organization whatever the body's organization_id says */
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM campaigns WHERE org_id = $1", w.sup.org_id), 1);

        /* any role of the organization reads it, with its contact counts */
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", id);
        add_contact(&w, id, "+15550101000", NULL);
        add_contact(&w, id, "+15550101001", "DO_NOT_CALL");
        tt_call(w.svc, "GET", path, NULL, w.agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "id"), id);
        json_object *counts = json_object_object_get(r.json, "contact_counts");
        ck_assert_int_eq(jint(counts, "total"), 2);
        ck_assert_int_eq(jint(counts, "pending"), 1);
        ck_assert_int_eq(jint(counts, "do_not_call"), 1);
        tt_resp_fini(&r);

        /* partial update: only what is named changes; "metadata" is accepted too */
        tt_call(w.svc, "PUT", path,
                "{\"name\":\"Summer outreach\",\"metadata\":{\"k\":1},\"pacing_ratio\":2.5,"
                "\"max_attempts\":5,\"retry_delay_seconds\":60,"
                "\"calling_hours\":{\"start\":\"09:00\",\"end\":\"17:30\"},"
                "\"time_zone\":\"Europe/Prague\",\"active\":true}",
                w.sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "name"), "Summer outreach");
        ck_assert_str_eq(tt_str(r.json, "description"), "Call everyone");
        ck_assert_str_eq(
            json_object_to_json_string_ext(json_object_object_get(r.json, "metadata_payload"),
                                           JSON_C_TO_STRING_PLAIN),
            "{\"k\":1}");
        ck_assert_double_eq(json_object_get_double(json_object_object_get(r.json, "pacing_ratio")),
                            2.5);
        ck_assert_int_eq(jint(r.json, "max_attempts"), 5);
        ck_assert_int_eq(jint(r.json, "retry_delay_seconds"), 60);
        json_object *hours = json_object_object_get(r.json, "calling_hours");
        ck_assert_str_eq(tt_str(hours, "start"), "09:00");
        ck_assert_str_eq(tt_str(hours, "end"), "17:30");
        ck_assert_str_eq(tt_str(r.json, "time_zone"), "Europe/Prague");
        ck_assert(jbool(r.json, "active"));
        ck_assert_str_eq(tt_str(r.json, "status"), "active");
        ck_assert_str_ne(tt_str(r.json, "updated_at"), created);
        tt_resp_fini(&r);
        /* null clears what may be empty */
        tt_call(w.svc, "PUT", path,
                "{\"calling_hours\":null,\"description\":null,\"active\":false}", w.sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jnull(r.json, "calling_hours"));
        ck_assert(jnull(r.json, "description"));
        ck_assert_str_eq(tt_str(r.json, "status"), "draft"); /* never dialled */
        tt_resp_fini(&r);

        /* the list: a bare array, newest first, filtered and paged */
        char *inbound =
            create(&w, "{\"name\":\"Hotline\",\"type\":\"INBOUND\",\"organization_id\":\"x\","
                       "\"instructions\":{}}");
        char *running =
            create(&w, "{\"name\":\"Running\",\"type\":\"OUTBOUND\",\"organization_id\":\"x\","
                       "\"instructions\":{},\"active\":true}");
        tt_call(w.svc, "GET", "/api/campaigns/?", NULL, w.agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(json_object_is_type(r.json, json_type_array));
        ck_assert_int_eq(json_object_array_length(r.json), 3);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), running);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 1), "id"), inbound);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 2), "id"), id);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns?active=true", NULL, w.sup.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), running);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns/?type=INBOUND&active=false", NULL, w.sup.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), inbound);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns/?limit=1&skip=1", NULL, w.sup.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), inbound);
        tt_resp_fini(&r);

        /* agents read but do not write */
        tt_call(w.svc, "POST", "/api/campaigns/", UI_BODY, w.agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        tt_call(w.svc, "PUT", path, "{\"name\":\"Mine now\"}", w.agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        tt_call(w.svc, "DELETE", path, NULL, w.agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", path, NULL, NULL, &r);
        tt_expect(&r, 401, NULL);
        tt_resp_fini(&r);
        json_object *now = get(&w, id);
        ck_assert_str_eq(tt_str(now, "name"), "Summer outreach");
        json_object_put(now);

        /* delete: gone from the API, the row stays for the record */
        tt_call(w.svc, "DELETE", path, NULL, w.sup.token, &r);
        tt_expect(&r, 204, NULL);
        ck_assert_str_eq(r.body, "");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", path, NULL, w.sup.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        tt_call(w.svc, "PUT", path, "{\"name\":\"Back\"}", w.sup.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        tt_call(w.svc, "DELETE", path, NULL, w.sup.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns/", NULL, w.sup.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 2);
        tt_resp_fini(&r);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM campaigns WHERE id = $1 AND NOT active "
                                 "AND deleted_at IS NOT NULL",
                                 id),
                         1);

        free(id);
        free(inbound);
        free(running);
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_validation_and_scoping)
{
        struct world w;
        world_init(&w, start_reachable(NULL, NULL, NULL));
        struct tt_resp r;
        static const struct {
                const char *body, *field;
        } bad[] = {
            {"{\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{}}", "name"},
            {"{\"name\":\"\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{}}",
             "name"},
            {"{\"name\":\"n\",\"type\":\"outbound\",\"organization_id\":\"o\",\"instructions\":{}}",
             "type"},
            {"{\"name\":\"n\",\"instructions\":{},\"organization_id\":\"o\"}", "type"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"instructions\":{}}", "organization_id"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\"}", "instructions"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
             "\"instructions\":[]}",
             "instructions"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"active\":\"yes\"}",
             "active"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"tools\":\"x\"}",
             "tools"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"pacing_ratio\":0}",
             "pacing_ratio"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"pacing_ratio\":10.5}",
             "pacing_ratio"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"max_attempts\":0}",
             "max_attempts"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"max_attempts\":21}",
             "max_attempts"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"retry_delay_seconds\":0}",
             "retry_delay_seconds"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"calling_hours\":\"9-5\"}",
             "calling_hours"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"calling_hours\":{\"start\":\"9:00\",\"end\":\"17:00\"}}",
             "calling_hours.start"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"calling_hours\":{\"start\":\"09:00\",\"end\":\"24:00\"}}",
             "calling_hours.end"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"calling_hours\":{\"start\":\"09:00\"}}",
             "calling_hours.end"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"calling_hours\":{\"start\":\"09:00\",\"end\":\"09:00\"}}",
             "calling_hours"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"time_zone\":\"Mars/Olympus_Mons\"}",
             "time_zone"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"time_zone\":\"UTC+3\"}",
             "time_zone"},
            {"{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\",\"instructions\":{},"
             "\"queue_id\":\"queue-1\"}",
             "queue_id"},
            {"[1]", "body"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                tt_call(w.svc, "POST", "/api/campaigns/", bad[i].body, w.sup.token, &r);
                expect_422(&r, bad[i].field);
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM campaigns WHERE org_id = $1", w.sup.org_id), 0);

        /* a queue must be one of the caller's organization */
        char mine[CC_UUID_LEN + 1], theirs[CC_UUID_LEN + 1], body[512];
        cc_uuid_v4(mine);
        cc_uuid_v4(theirs);
        const char *pm[] = {mine, w.sup.org_id, "Sales"};
        sql_exec(&w, "INSERT INTO queues (id, org_id, name) VALUES ($1, $2, $3)", 3, pm);
        const char *pt[] = {theirs, w.other.org_id, "Sales"};
        sql_exec(&w, "INSERT INTO queues (id, org_id, name) VALUES ($1, $2, $3)", 3, pt);
        snprintf(body, sizeof(body),
                 "{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                 "\"instructions\":{},\"queue_id\":\"%s\"}",
                 theirs);
        tt_call(w.svc, "POST", "/api/campaigns/", body, w.sup.token, &r);
        tt_expect(&r, 404, "Queue not found");
        tt_resp_fini(&r);
        snprintf(body, sizeof(body),
                 "{\"name\":\"n\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                 "\"instructions\":{},\"queue_id\":\"%s\"}",
                 mine);
        tt_call(w.svc, "POST", "/api/campaigns/", body, w.sup.token, &r);
        tt_expect(&r, 201, NULL);
        ck_assert_str_eq(tt_str(r.json, "queue_id"), mine);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", id);

        /* updates are checked as strictly, and a refused one changes nothing */
        static const struct {
                const char *body, *field;
        } bad_put[] = {
            {"{\"name\":null}", "name"},
            {"{\"name\":\"ok\",\"type\":\"SURVEY\"}", "type"},
            {"{\"instructions\":null}", "instructions"},
            {"{\"pacing_ratio\":-1}", "pacing_ratio"},
            {"{\"active\":null}", "active"},
            {"{\"time_zone\":\"Nowhere/Land\"}", "time_zone"},
            {"\"text\"", "body"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad_put); i++) {
                tt_call(w.svc, "PUT", path, bad_put[i].body, w.sup.token, &r);
                expect_422(&r, bad_put[i].field);
                tt_resp_fini(&r);
        }
        snprintf(body, sizeof(body), "{\"name\":\"Taken\",\"queue_id\":\"%s\"}", theirs);
        tt_call(w.svc, "PUT", path, body, w.sup.token, &r);
        tt_expect(&r, 404, "Queue not found");
        tt_resp_fini(&r);
        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "name"), "n");
        ck_assert_str_eq(tt_str(c, "queue_id"), mine);
        json_object_put(c);
        /* queue_id null takes the campaign out of its queue */
        put(&w, id, "{\"queue_id\":null}");
        c = get(&w, id);
        ck_assert(jnull(c, "queue_id"));
        json_object_put(c);

        /* another organization's supervisor finds nothing, changes nothing */
        tt_call(w.svc, "GET", path, NULL, w.other.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        tt_call(w.svc, "PUT", path, "{\"name\":\"Hijacked\",\"active\":true}", w.other.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        tt_call(w.svc, "DELETE", path, NULL, w.other.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        /* naming the first organization in the body does not reach it either */
        snprintf(body, sizeof(body),
                 "{\"name\":\"Label\",\"type\":\"OUTBOUND\",\"organization_id\":\"%s\","
                 "\"instructions\":{}}",
                 w.sup.org_id);
        tt_call(w.svc, "POST", "/api/campaigns/", body, w.other.token, &r);
        tt_expect(&r, 201, NULL);
        ck_assert_str_eq(tt_str(r.json, "organization_id"), w.sup.org_id);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns/", NULL, w.other.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "name"), "Label");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/campaigns/", NULL, w.sup.token, &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), id);
        tt_resp_fini(&r);
        c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "name"), "n");
        ck_assert(!jbool(c, "active"));
        json_object_put(c);

        /* ids that are not UUIDs are simply not found; bad list parameters are named */
        tt_call(w.svc, "GET", "/api/campaigns/not-a-uuid", NULL, w.sup.token, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        static const struct {
                const char *query, *field;
        } bad_list[] = {
            {"skip=-1", "skip"}, {"limit=0", "limit"},     {"limit=101", "limit"},
            {"skip=x", "skip"},  {"active=yes", "active"}, {"type=SURVEY", "type"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad_list); i++) {
                char q[128];
                snprintf(q, sizeof(q), "/api/campaigns/?%s", bad_list[i].query);
                tt_call(w.svc, "GET", q, NULL, w.sup.token, &r);
                expect_422(&r, bad_list[i].field);
                tt_resp_fini(&r);
        }
        free(id);
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_events_once_each)
{
        struct world w;
        world_init(&w, start_reachable(NULL, NULL, NULL));
        char *id = create(&w, "{\"name\":\"Evented\",\"type\":\"OUTBOUND\","
                              "\"organization_id\":\"o\",\"instructions\":{}}");
        put(&w, id, "{\"description\":\"first\"}");
        put(&w, id, "{\"description\":\"first\"}"); /* no change, no event */
        put(&w, id,
            "{\"active\":true,\"pacing_ratio\":2,\"calling_hours\":"
            "{\"start\":\"08:00\",\"end\":\"18:00\"}}");
        put(&w, id, "{}");
        char path[128];
        snprintf(path, sizeof(path), "/api/campaigns/%s", id);
        struct tt_resp r;
        tt_call(w.svc, "DELETE", path, NULL, w.sup.token, &r);
        tt_expect(&r, 204, NULL);
        tt_resp_fini(&r);

        struct tally t = {.campaign_id = id, .want_updated = 3};
        tally_read(&t);
        ck_assert_int_eq(t.created, 1);
        ck_assert_str_eq(t.created_name, "Evented");
        ck_assert_int_eq(t.updated, 3);
        ck_assert_str_eq(t.changed[0], "description");
        ck_assert(!t.active[0]);
        ck_assert_str_eq(t.changed[1], "active,pacing_ratio,calling_hours");
        ck_assert(t.active[1]);
        ck_assert_str_eq(t.changed[2], "active"); /* deleted: it stops running */
        ck_assert(!t.active[2]);
        ck_assert_int_eq(t.completed, 0);
        free(id);
        world_fini(&w);
}
END_TEST

/* ---- the dialer ---- */

struct ticker {
        struct world *w;
        atomic_bool stop;
        atomic_int errors;
};

static void *ticker_run(void *arg)
{
        struct ticker *t = arg;
        while (!atomic_load(&t->stop)) {
                if (tel_dialer_tick(cc_service_pool(t->w->svc), tel_of(t->w->svc)) < 0)
                        atomic_fetch_add(&t->errors, 1);
                usleep(15000);
        }
        return NULL;
}

START_TEST(telephony_campaigns_dials_at_pace_retries_and_completes)
{
        sim_start(40, 120);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 3, "{}");
        char *id = create(&w, "{\"name\":\"Fifty\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                              "\"instructions\":{},\"max_attempts\":3,"
                              "\"retry_delay_seconds\":1}");
        /* 40 that answer, 4 busy, 2 that never answer, 1 that fails, 3 not to be called */
        char phone[32];
        for (int i = 0; i < 40; i++) {
                snprintf(phone, sizeof(phone), "+1555300%04d", 1000 + i);
                add_contact(&w, id, phone, NULL);
        }
        for (int i = 0; i < 4; i++) {
                snprintf(phone, sizeof(phone), "+1555%03d0001", 100 + i);
                add_contact(&w, id, phone, NULL);
        }
        for (int i = 0; i < 2; i++) {
                snprintf(phone, sizeof(phone), "+1555%03d0002", 100 + i);
                add_contact(&w, id, phone, NULL);
        }
        add_contact(&w, id, "+15551000003", NULL);
        for (int i = 0; i < 3; i++) {
                snprintf(phone, sizeof(phone), "+1555400%04d", 2000 + i);
                add_contact(&w, id, phone, "DO_NOT_CALL");
        }
        /* nothing is dialled before the campaign runs */
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 0);

        put(&w, id, "{\"active\":true}");
        /* two dialers at once, as two replicas would run */
        struct ticker tk = {.w = &w};
        pthread_t th[2];
        for (size_t i = 0; i < 2; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, ticker_run, &tk), 0);
        long long most = 0;
        bool done = CC_TEST_WAIT(({
                                         long long f = in_flight(&w, id);
                                         most = f > most ? f : most;
                                         sql_int(&w,
                                                 "SELECT count(*) FROM campaigns WHERE id = $1 "
                                                 "AND completed_at IS NOT NULL",
                                                 id) == 1;
                                 }),
                                 60000, 5);
        atomic_store(&tk.stop, true);
        for (size_t i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
        ck_assert_msg(done, "the campaign did not complete");
        ck_assert_int_eq(atomic_load(&tk.errors), 0);
        /* at the pace of 3 agents x 1.0, and at that pace indeed */
        ck_assert_msg(most <= 3, "%lld calls in flight with 3 agents", most);
        ck_assert_msg(most == 3, "never more than %lld calls in flight", most);

        /* every contact as it should be */
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                 "phone_number LIKE '+1555300%' AND status = 'COMPLETED' "
                                 "AND attempts = 1 AND outcome = 'answered'",
                                 id),
                         40);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                 "phone_number LIKE '%0001' AND status = 'FAILED' "
                                 "AND attempts = 3 AND outcome = 'busy' AND next_attempt IS NULL",
                                 id),
                         4);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                 "phone_number LIKE '%0002' AND status = 'FAILED' "
                                 "AND attempts = 3 AND outcome = 'no-answer'",
                                 id),
                         2);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                 "phone_number = '+15551000003' AND status = 'FAILED' "
                                 "AND attempts = 1 AND outcome = 'failed'",
                                 id),
                         1);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                 "status = 'DO_NOT_CALL' AND attempts = 0 AND last_attempt IS NULL",
                                 id),
                         3);
        /* one call per attempt: no contact was ever dialled twice at once */
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts t WHERE t.campaign_id = $1 AND "
                                 "t.attempts <> (SELECT count(*) FROM calls k "
                                 "WHERE k.contact_id = t.id)",
                                 id),
                         0);
        ck_assert_int_eq(calls_of(&w, id), 40 + 4 * 3 + 2 * 3 + 1);
        /* the back-off doubles: 1 s before the second try, 2 s before the third */
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM (SELECT k.start_time, row_number() OVER w "
                                 "AS n, lag(k.ended_at) OVER w AS prev_end FROM calls k "
                                 "JOIN contacts t ON t.id = k.contact_id "
                                 "WHERE t.campaign_id = $1 AND t.phone_number LIKE '%0001' "
                                 "WINDOW w AS (PARTITION BY k.contact_id ORDER BY k.start_time)) x "
                                 "WHERE (n = 2 AND start_time - prev_end >= interval '1 second') "
                                 "OR (n = 3 AND start_time - prev_end >= interval '2 seconds')",
                                 id),
                         8);
        /* Twilio saw the same: nothing for the do-not-call numbers */
        json_object *sc = sim_calls();
        ck_assert_int_eq(json_object_array_length(sc), 40 + 4 * 3 + 2 * 3 + 1);
        ck_assert_int_eq(sim_calls_to(sc, "+15551000001"), 3);
        ck_assert_int_eq(sim_calls_to(sc, "+15554002000"), 0);
        ck_assert_int_eq(sim_calls_to(sc, "+15553001000"), 1);
        json_object_put(sc);

        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "status"), "completed");
        ck_assert(!jbool(c, "active"));
        ck_assert_ptr_nonnull(tt_str(c, "completed_at"));
        json_object *counts = json_object_object_get(c, "contact_counts");
        ck_assert_int_eq(jint(counts, "total"), 50);
        ck_assert_int_eq(jint(counts, "completed"), 40);
        ck_assert_int_eq(jint(counts, "failed"), 7);
        ck_assert_int_eq(jint(counts, "do_not_call"), 3);
        json_object_put(c);
        /* a completed campaign is dialled no more */
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 40 + 4 * 3 + 2 * 3 + 1);

        struct tally t = {.campaign_id = id, .want_updated = 2, .want_completed = 1};
        tally_read(&t);
        ck_assert_int_eq(t.created, 1);
        ck_assert_int_eq(t.updated, 2);
        ck_assert_str_eq(t.changed[0], "active");
        ck_assert(t.active[0]);
        ck_assert_str_eq(t.changed[1], "active"); /* completion stops it */
        ck_assert(!t.active[1]);
        ck_assert_int_eq(t.completed, 1);
        ck_assert_int_eq(t.total, 50);
        ck_assert_int_eq(t.reached, 40);
        ck_assert_int_eq(t.failed, 7);

        free(id);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_pause_stops_new_dials_at_once)
{
        sim_start(40, 150);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 2, "{}");
        char *id =
            create(&w, "{\"name\":\"Paused\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                       "\"instructions\":{}}");
        char phone[32];
        for (int i = 0; i < 10; i++) {
                snprintf(phone, sizeof(phone), "+1555300%04d", 1000 + i);
                add_contact(&w, id, phone, NULL);
        }
        put(&w, id, "{\"active\":true}");
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 2);
        put(&w, id, "{\"active\":false}");
        /* the two calls end and make room; the paused campaign does not use it */
        bool ended = CC_TEST_WAIT(({
                                          tick(&w);
                                          in_flight(&w, id) == 0;
                                  }),
                                  WAIT_MS, 20);
        ck_assert(ended);
        for (int i = 0; i < 5; i++)
                tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 2);
        /* Every contact not actually rung is still PENDING with no attempt spent: a call the
         * worker had claimed but not yet placed when the pause landed was CANCELED and its
         * contact put back as it was. */
        long long placed = sql_int(&w,
                                   "SELECT count(*) FROM calls WHERE campaign_id = $1 AND "
                                   "status <> 'CANCELED'",
                                   id);
        ck_assert_int_ge(placed, 1);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 0",
                                 id),
                         10 - placed);
        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "status"), "paused");
        json_object_put(c);
        /* started again, it goes on where it stopped */
        put(&w, id, "{\"active\":true}");
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 4);
        free(id);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

/* HH:MM in zone, offset by minutes from now (computed by the database, as the dialer does). */
static void local_clock(struct world *w, const char *zone, int minutes, char out[8])
{
        char off[16];
        snprintf(off, sizeof(off), "%d", minutes);
        const char *p[] = {zone, off};
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        PGresult *res = cc_test_query(conn,
                                      "SELECT to_char((now() AT TIME ZONE $1) + $2::integer * "
                                      "interval '1 minute', 'HH24:MI')",
                                      2, p);
        snprintf(out, 8, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        cc_db_release(conn);
}

START_TEST(telephony_campaigns_calling_hours_in_its_time_zone)
{
        sim_start(40, 150);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 1, "{}");
        /* Tokyo is 9 hours from UTC: a two-hour window around Tokyo's now excludes UTC's now */
        char a[8], b[8], body[512];
        local_clock(&w, "Asia/Tokyo", 120, a);
        local_clock(&w, "Asia/Tokyo", 180, b);
        snprintf(body, sizeof(body),
                 "{\"name\":\"Tokyo\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                 "\"instructions\":{},\"active\":true,\"time_zone\":\"Asia/Tokyo\","
                 "\"calling_hours\":{\"start\":\"%s\",\"end\":\"%s\"}}",
                 a, b);
        char *id = create(&w, body);
        add_contact(&w, id, "+15553001000", NULL);
        add_contact(&w, id, "+15553001001", NULL);
        for (int i = 0; i < 3; i++)
                tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 0);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 0",
                                 id),
                         2);
        local_clock(&w, "Asia/Tokyo", -60, a);
        local_clock(&w, "Asia/Tokyo", 60, b);
        snprintf(body, sizeof(body), "{\"calling_hours\":{\"start\":\"%s\",\"end\":\"%s\"}}", a, b);
        put(&w, id, body);
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 1); /* one agent */
        free(id);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_pacing_counts_free_skilled_agents)
{
        /* calls ring long enough to stay in flight for the whole test */
        sim_start(20000, 100);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        char queue[CC_UUID_LEN + 1], body[512];
        cc_uuid_v4(queue);
        const char *pq[] = {queue, w.sup.org_id};
        sql_exec(&w,
                 "INSERT INTO queues (id, org_id, name, skills) VALUES ($1, $2, 'French', "
                 "'{fr}')",
                 2, pq);
        /* none of these can take a French call now */
        add_agents(&w, 2, "{en}");
        const char *po[] = {w.sup.org_id};
        sql_exec(&w,
                 "INSERT INTO agents (id, org_id, user_id, status, skills, max_capacity, "
                 "current_load) VALUES (gen_random_uuid(), $1, gen_random_uuid(), 'BUSY', "
                 "'{fr,en}', 1, 0), (gen_random_uuid(), $1, gen_random_uuid(), 'AVAILABLE', "
                 "'{fr}', 1, 1)",
                 1, po);
        snprintf(body, sizeof(body),
                 "{\"name\":\"French\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                 "\"instructions\":{},\"active\":true,\"queue_id\":\"%s\",\"pacing_ratio\":1.5}",
                 queue);
        char *id = create(&w, body);
        char phone[32];
        for (int i = 0; i < 10; i++) {
                snprintf(phone, sizeof(phone), "+1555300%04d", 1000 + i);
                add_contact(&w, id, phone, NULL);
        }
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 0);
        /* two French speakers free: floor(2 x 1.5) = 3 in flight, and no more */
        add_agents(&w, 2, "{fr,de}");
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 3);
        tick(&w);
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 3);
        ck_assert_int_eq(in_flight(&w, id), 3);
        /* without a queue every free agent counts: 4 x 1.5 = 6 */
        put(&w, id, "{\"queue_id\":null}");
        tick(&w);
        ck_assert_int_eq(calls_of(&w, id), 6);
        free(id);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_not_dialled_without_twilio)
{
        /* no platform account, and the organization brought none */
        struct world w;
        world_init(&w, start_reachable(NULL, NULL, NULL));
        add_agents(&w, 2, "{}");
        char *id =
            create(&w, "{\"name\":\"Silent\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                       "\"instructions\":{},\"active\":true}");
        add_contact(&w, id, "+15553001000", NULL);
        ck_assert_int_eq(tick(&w), 0);
        ck_assert_int_eq(tick(&w), 0);
        ck_assert_int_eq(calls_of(&w, id), 0);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 0",
                                 id),
                         1);
        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "status"), "active");
        json_object_put(c);
        free(id);
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_bad_number_fails_its_contact)
{
        sim_start(40, 150);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 1, "{}");
        char *id = create(&w, "{\"name\":\"Typo\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                              "\"instructions\":{},\"active\":true}");
        /* Twilio refuses a number of 17 digits */
        add_contact(&w, id, "+12345678901234567", NULL);
        /* the service's worker may be the one placing it: wait for the outcome */
        bool failed = CC_TEST_WAIT(({
                                           tick(&w);
                                           sql_int(&w,
                                                   "SELECT count(*) FROM calls WHERE "
                                                   "campaign_id = $1 AND status = 'FAILED'",
                                                   id) == 1;
                                   }),
                                   WAIT_MS, 20);
        ck_assert(failed);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'FAILED' AND attempts = 1 AND outcome = 'failed'",
                                 id),
                         1);
        /* it was the only contact: nothing is left to try */
        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "status"), "completed");
        json_object_put(c);
        free(id);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

START_TEST(telephony_campaigns_twilio_down_spends_no_attempt)
{
        int port = 0;
        int fd = cc_test_bound_socket(&port); /* connections to it are refused */
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        struct world w;
        world_init(&w, start_reachable(base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 2, "{}");
        char *id =
            create(&w, "{\"name\":\"Outage\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                       "\"instructions\":{},\"max_attempts\":1}");
        for (int i = 0; i < 5; i++) {
                char phone[32];
                snprintf(phone, sizeof(phone), "+1555300%04d", 1000 + i);
                add_contact(&w, id, phone, NULL);
        }
        put(&w, id, "{\"active\":true}");
        /* the calls stay, FAILED, for the record; their contacts wait, their attempt unspent */
        long long failed = 0;
        CC_TEST_WAIT(({
                             ck_assert_int_eq(tick(&w), 0);
                             failed = sql_int(&w,
                                              "SELECT count(*) FROM calls WHERE "
                                              "campaign_id = $1 AND status = 'FAILED'",
                                              id);
                             failed >= 2;
                     }),
                     WAIT_MS, 20);
        ck_assert_int_eq(failed, 2);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 0",
                                 id),
                         5);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND next_attempt > now() + interval '20 seconds'",
                                 id),
                         2);
        /* and the campaign rests instead of failing the next contacts' calls */
        ck_assert_int_eq(tick(&w), 0);
        ck_assert_int_eq(calls_of(&w, id), 2);
        json_object *c = get(&w, id);
        ck_assert_str_eq(tt_str(c, "status"), "active");
        json_object_put(c);
        free(id);
        world_fini(&w);
        close(fd);
}
END_TEST

/* A Twilio that holds each Calls.json until told to answer (at most 2 s, within the service's
 * Twilio timeout), as a slow one would, then places it. */
static atomic_int slow_hits;
static atomic_bool slow_open;

static void h_slow_calls(struct cc_http_req *req)
{
        int n = atomic_fetch_add(&slow_hits, 1) + 1;
        int64_t deadline = cc_monotonic_us() + 2000000;
        while (!atomic_load(&slow_open) && cc_monotonic_us() < deadline)
                usleep(2000);
        char body[128];
        snprintf(body, sizeof(body), "{\"sid\":\"CA%032d\",\"status\":\"queued\"}", n);
        cc_http_reply_raw(req, 201, "application/json", body, strlen(body));
}

static const struct cc_http_route slow_routes[] = {
    {"POST", "/2010-04-01/Accounts/{acct}/Calls.json", h_slow_calls, CC_ROLE_NONE,
     CC_HTTP_RAW_BODY},
};

struct tick_once {
        struct world *w;
        int result;
};

static void *tick_once_run(void *arg)
{
        struct tick_once *t = arg;
        t->result = tel_dialer_tick(cc_service_pool(t->w->svc), tel_of(t->w->svc));
        return NULL;
}

START_TEST(telephony_campaigns_pause_stops_a_batch_under_way)
{
        const struct cc_http_server_config cfg = {
            .service = "slow-twilio", .bind_addr = "127.0.0.1", .threads = 1};
        char err[256], base[64];
        struct cc_http_server *slow =
            cc_http_server_new(&cfg, slow_routes, CC_ARRAY_SIZE(slow_routes), err, sizeof(err));
        ck_assert_msg(slow, "slow twilio: %s", err);
        ck_assert_int_eq(cc_http_server_start(slow), 0);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", cc_http_server_port(slow));
        /* the rounds are the test's: the worker dials only when kicked */
        setenv("CC_WORKER_INTERVAL_MS", "60000", 1);
        struct world w;
        world_init(&w, start_reachable(base, PLAT_AC, PLAT_TOK));
        unsetenv("CC_WORKER_INTERVAL_MS");
        add_agents(&w, 4, "{}");
        char *id = create(&w, "{\"name\":\"Slow\",\"type\":\"OUTBOUND\",\"organization_id\":\"o\","
                              "\"instructions\":{}}");
        char phone[32];
        for (int i = 0; i < 4; i++) {
                snprintf(phone, sizeof(phone), "+1555300%04d", 1000 + i);
                add_contact(&w, id, phone, NULL);
        }
        /* the last one is due for its second try */
        const char *pr[] = {"+15553001003"};
        sql_exec(&w,
                 "UPDATE contacts SET attempts = 1, last_attempt = '2020-01-01 00:00:00.123456Z', "
                 "next_attempt = '2020-01-01 01:00:00Z' WHERE phone_number = $1",
                 1, pr);
        const char *pa[] = {id};
        sql_exec(&w, "UPDATE campaigns SET active = true WHERE id = $1", 1, pa);

        /* a round claims all four, and Twilio is slow with the first */
        struct tick_once t = {.w = &w};
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, tick_once_run, &t), 0);
        bool ringing = CC_TEST_WAIT(atomic_load(&slow_hits) >= 1, WAIT_MS, 5);
        put(&w, id, "{\"active\":false}");
        atomic_store(&slow_open, true);
        pthread_join(th, NULL);
        ck_assert(ringing);
        ck_assert_int_eq(t.result, 1);
        /* the paused campaign dialled no one more */
        ck_assert_int_eq(atomic_load(&slow_hits), 1);
        ck_assert_int_eq(in_flight(&w, id), 1);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM calls WHERE campaign_id = $1 "
                                 "AND status = 'CANCELED' AND twilio_sid IS NULL",
                                 id),
                         3);
        /* and the contacts it did not call are as they were, their attempts unspent */
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'DIALING' AND attempts = 1",
                                 id),
                         1);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 0 AND last_attempt IS NULL "
                                 "AND next_attempt IS NULL",
                                 id),
                         2);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'PENDING' AND attempts = 1 "
                                 "AND last_attempt = '2020-01-01 00:00:00.123456Z' "
                                 "AND next_attempt = '2020-01-01 01:00:00Z'",
                                 id),
                         1);

        /* started again, it dials them */
        put(&w, id, "{\"active\":true}");
        bool dialled = CC_TEST_WAIT(({
                                            tick(&w);
                                            atomic_load(&slow_hits) >= 4;
                                    }),
                                    WAIT_MS, 20);
        ck_assert(dialled);
        ck_assert_int_eq(in_flight(&w, id), 4);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM contacts WHERE campaign_id = $1 "
                                 "AND status = 'DIALING' AND attempts = 2",
                                 id),
                         1);
        free(id);
        world_fini(&w);
        cc_http_server_stop(slow);
        cc_http_server_free(slow);
}
END_TEST

/* Calls of an organization's campaigns that wait for an agent (the dialer's measure). */
static long long org_in_flight(struct world *w, const char *org_id)
{
        return sql_int(w,
                       "SELECT count(*) FROM calls WHERE org_id = $1 AND campaign_id IS NOT NULL "
                       "AND ended_at IS NULL AND connected_at IS NULL",
                       org_id);
}

START_TEST(telephony_campaigns_pace_is_shared_by_the_organizations_campaigns)
{
        /* calls ring long enough to stay in flight for the whole test */
        sim_start(20000, 100);
        struct world w;
        world_init(&w, start_reachable(sim_base, PLAT_AC, PLAT_TOK));
        add_agents(&w, 2, "{}");
        char *ids[2];
        char phone[32];
        for (int c = 0; c < 2; c++) {
                ids[c] = create(&w, "{\"name\":\"Shared\",\"type\":\"OUTBOUND\","
                                    "\"organization_id\":\"o\",\"instructions\":{}}");
                for (int i = 0; i < 5; i++) {
                        snprintf(phone, sizeof(phone), "+1555%d00%04d", 3 + c, 1000 + i);
                        add_contact(&w, ids[c], phone, NULL);
                }
        }
        /* another organization's campaign and agent take nothing from these */
        char other_campaign[CC_UUID_LEN + 1];
        cc_uuid_v4(other_campaign);
        const char *po[] = {w.other.org_id, other_campaign};
        sql_exec(&w,
                 "INSERT INTO agents (id, org_id, user_id, status) "
                 "VALUES (gen_random_uuid(), $1, gen_random_uuid(), 'AVAILABLE')",
                 1, po);
        sql_exec(&w,
                 "INSERT INTO campaigns (id, org_id, name, type, organization_label, instructions, "
                 "active) VALUES ($2, $1, 'Theirs', 'OUTBOUND', 'o', '{}', true)",
                 2, po);
        sql_exec(&w,
                 "INSERT INTO contacts (id, org_id, campaign_id, phone_number) "
                 "VALUES (gen_random_uuid(), $1, $2, '+15555001000'), "
                 "(gen_random_uuid(), $1, $2, '+15555001001')",
                 2, po);
        const char *pa[] = {ids[0], ids[1]};
        sql_exec(&w, "UPDATE campaigns SET active = true WHERE id IN ($1, $2)", 2, pa);

        /* two dialers at once: 2 agents x 1.0 is 2 calls for both campaigns together */
        struct ticker tk = {.w = &w};
        pthread_t th[2];
        for (size_t i = 0; i < 2; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, ticker_run, &tk), 0);
        long long most = 0;
        int64_t settle = 0;
        CC_TEST_WAIT(({
                             long long f = org_in_flight(&w, w.sup.org_id);
                             most = f > most ? f : most;
                             if (f >= 2 && !settle)
                                     settle = cc_monotonic_us() + 300000;
                             settle &&cc_monotonic_us() > settle;
                     }),
                     WAIT_MS, 5);
        atomic_store(&tk.stop, true);
        for (size_t i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_eq(atomic_load(&tk.errors), 0);
        ck_assert_msg(most <= 2, "%lld calls in flight with 2 agents", most);
        ck_assert_int_eq(org_in_flight(&w, w.sup.org_id), 2);
        ck_assert_int_eq(in_flight(&w, other_campaign), 1);

        /* a third agent: one more call, for whichever campaign */
        add_agents(&w, 1, "{}");
        for (int i = 0; i < 3; i++)
                tick(&w);
        ck_assert_int_eq(org_in_flight(&w, w.sup.org_id), 3);
        ck_assert_int_eq(in_flight(&w, other_campaign), 1);
        free(ids[0]);
        free(ids[1]);
        /* The simulator first: no callback arrives while the service stops. */
        sim_stop();
        world_fini(&w);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_campaigns");
        TCase *tc = tcase_create("telephony_campaigns");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_campaigns_crud_and_shapes);
        tcase_add_test(tc, telephony_campaigns_validation_and_scoping);
        tcase_add_test(tc, telephony_campaigns_events_once_each);
        tcase_add_test(tc, telephony_campaigns_dials_at_pace_retries_and_completes);
        tcase_add_test(tc, telephony_campaigns_pause_stops_new_dials_at_once);
        tcase_add_test(tc, telephony_campaigns_calling_hours_in_its_time_zone);
        tcase_add_test(tc, telephony_campaigns_pacing_counts_free_skilled_agents);
        tcase_add_test(tc, telephony_campaigns_not_dialled_without_twilio);
        tcase_add_test(tc, telephony_campaigns_bad_number_fails_its_contact);
        tcase_add_test(tc, telephony_campaigns_twilio_down_spends_no_attempt);
        tcase_add_test(tc, telephony_campaigns_pause_stops_a_batch_under_way);
        tcase_add_test(tc, telephony_campaigns_pace_is_shared_by_the_organizations_campaigns);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
