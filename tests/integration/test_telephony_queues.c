/* Queues: the /api/queues routes (defaults, shapes, partial updates, names unique per
 * organization whatever their case, the overflow settings, validation that changes nothing),
 * who may read and write them, tenant isolation, the live count of waiting calls, deletion
 * refused while calls wait or a campaign dials into the queue, and tel_queue_resolve (by id or
 * name, made on demand, once under a race). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony_test.h"

#define FORBID_SUP "Supervisor or admin access required"
#define NOT_FOUND  "Queue not found"

struct world {
        struct cc_service *svc;
        struct tt_caller admin, sup, agent, other; /* other: another organization's admin */
};

static void world_start(struct world *w)
{
        w->svc = tt_start(NULL, NULL, NULL);
        tt_caller(&w->admin, NULL, "ADMIN");
        tt_caller(&w->sup, w->admin.org_id, "SUPERVISOR");
        tt_caller(&w->agent, w->admin.org_id, "AGENT");
        tt_caller(&w->other, NULL, "ADMIN");
}

static void world_stop(struct world *w)
{
        tt_caller_fini(&w->admin);
        tt_caller_fini(&w->sup);
        tt_caller_fini(&w->agent);
        tt_caller_fini(&w->other);
        cc_service_stop(w->svc);
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
        ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "%s is not a bool", key);
        return json_object_get_boolean(v);
}

static bool jnull(json_object *o, const char *key)
{
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "%s missing in %s", key,
                      json_object_to_json_string(o));
        return v == NULL;
}

static void expect_422(struct tt_resp *r, const char *field)
{
        ck_assert_msg(r->status == 422, "status %ld: %s", r->status, r->body);
        const char *d = tt_str(r->json, "detail");
        ck_assert_msg(d && strncmp(d, field, strlen(field)) == 0 && d[strlen(field)] == ':',
                      "detail does not name %s: %s", field, r->body);
}

/* POST /api/queues/ that must succeed; the queue's id (heap). */
static char *create(struct world *w, const char *body)
{
        struct tt_resp r;
        tt_call(w->svc, "POST", "/api/queues/", body, w->sup.token, &r);
        ck_assert_msg(r.status == 201, "%s: %ld %s", body, r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

static long on_queue(struct world *w, const char *method, const char *token, const char *id,
                     const char *body, struct tt_resp *ret)
{
        char path[160];
        snprintf(path, sizeof(path), "/api/queues/%s", id);
        return tt_call(w->svc, method, path, body, token, ret);
}

static size_t list_len(struct world *w, const char *token)
{
        struct tt_resp r;
        tt_call(w->svc, "GET", "/api/queues/?limit=100", NULL, token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(json_object_is_type(r.json, json_type_array));
        size_t n = json_object_array_length(r.json);
        tt_resp_fini(&r);
        return n;
}

static void exec_sql(const char *sql, int n, const char *const *p)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        cc_test_exec(conn, sql, n, p);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

START_TEST(telephony_queues_crud)
{
        struct world w;
        world_start(&w);
        struct tt_resp r;

        /* only a name: every default */
        tt_call(w.svc, "POST", "/api/queues", "{\"name\":\"Support\"}", w.sup.token, &r);
        tt_expect(&r, 201, NULL);
        char *support = strdup(tt_str(r.json, "id"));
        ck_assert(cc_uuid_valid(support));
        ck_assert_str_eq(tt_str(r.json, "name"), "Support");
        ck_assert_str_eq(tt_str(r.json, "organization_id"), w.admin.org_id);
        ck_assert(jnull(r.json, "description"));
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.json, "skills")), 0);
        ck_assert_int_eq(jint(r.json, "priority"), 0);
        ck_assert_int_eq(jint(r.json, "wrap_up_seconds"), 30);
        ck_assert_int_eq(jint(r.json, "service_level_seconds"), 20);
        ck_assert_int_eq(jint(r.json, "max_wait_seconds"), 600);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "voicemail");
        ck_assert(jnull(r.json, "overflow_target"));
        ck_assert(jbool(r.json, "active"));
        ck_assert_int_eq(jint(r.json, "waiting_calls"), 0);
        ck_assert_int_eq(jint(r.json, "oldest_wait_seconds"), 0);
        const char *created = tt_str(r.json, "created_at");
        ck_assert_msg(created && strlen(created) == 24 && created[23] == 'Z', "%s", r.body);
        tt_resp_fini(&r);

        /* everything given (an admin may too) */
        tt_call(w.svc, "POST", "/api/queues/",
                "{\"name\":\"Billing VIP\",\"description\":\"big accounts\","
                "\"skills\":[\"billing\",\"german\"],\"priority\":90,\"wrap_up_seconds\":0,"
                "\"service_level_seconds\":15,\"max_wait_seconds\":120,"
                "\"overflow_action\":\"TRANSFER\",\"overflow_target\":\"15550109876\","
                "\"active\":false,\"unknown\":1}",
                w.admin.token, &r);
        tt_expect(&r, 201, NULL);
        char *vip = strdup(tt_str(r.json, "id"));
        ck_assert_str_eq(tt_str(r.json, "description"), "big accounts");
        json_object *skills = json_object_object_get(r.json, "skills");
        ck_assert_uint_eq(json_object_array_length(skills), 2);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(skills, 1)), "german");
        ck_assert_int_eq(jint(r.json, "priority"), 90);
        ck_assert_int_eq(jint(r.json, "wrap_up_seconds"), 0);
        ck_assert_int_eq(jint(r.json, "service_level_seconds"), 15);
        ck_assert_int_eq(jint(r.json, "max_wait_seconds"), 120);
        /* the action in lower case, the number in E.164 */
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "transfer");
        ck_assert_str_eq(tt_str(r.json, "overflow_target"), "+15550109876");
        ck_assert(!jbool(r.json, "active"));
        tt_resp_fini(&r);

        /* read back, by anyone of the organization */
        on_queue(&w, "GET", w.agent.token, vip, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "name"), "Billing VIP");
        ck_assert_int_eq(jint(r.json, "priority"), 90);
        tt_resp_fini(&r);

        /* the list: newest first, skip and limit */
        char *third = create(&w, "{\"name\":\"Sales\"}");
        tt_call(w.svc, "GET", "/api/queues/?", NULL, w.agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_uint_eq(json_object_array_length(r.json), 3);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), third);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 2), "id"), support);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/queues?skip=1&limit=1", NULL, w.agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_uint_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), vip);
        tt_resp_fini(&r);

        /* a partial update changes what it names only */
        on_queue(&w, "PUT", w.sup.token, support,
                 "{\"priority\":55,\"skills\":[\"english\"],\"description\":\"first line\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "priority"), 55);
        ck_assert_str_eq(tt_str(r.json, "description"), "first line");
        ck_assert_str_eq(tt_str(r.json, "name"), "Support");
        ck_assert_int_eq(jint(r.json, "wrap_up_seconds"), 30);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "voicemail");
        tt_resp_fini(&r);
        /* tab and line breaks are a description's; "" is none, as null is */
        on_queue(&w, "PUT", w.sup.token, support, "{\"description\":\"one\\r\\n\\ttwo\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "description"), "one\r\n\ttwo");
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.sup.token, support, "{\"description\":\"\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jnull(r.json, "description"));
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.sup.token, support, "{\"description\":\"first line\"}", &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);
        /* null clears the description and the skills; the name may change its own case */
        on_queue(&w, "PUT", w.sup.token, support,
                 "{\"description\":null,\"skills\":null,\"name\":\"SUPPORT\",\"active\":false}",
                 &r);
        tt_expect(&r, 200, NULL);
        ck_assert(jnull(r.json, "description"));
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.json, "skills")), 0);
        ck_assert_str_eq(tt_str(r.json, "name"), "SUPPORT");
        ck_assert(!jbool(r.json, "active"));
        ck_assert_int_eq(jint(r.json, "priority"), 55);
        tt_resp_fini(&r);

        /* names are unique per organization whatever their case */
        tt_call(w.svc, "POST", "/api/queues/", "{\"name\":\"sales\"}", w.sup.token, &r);
        tt_expect(&r, 409, "A queue with this name already exists");
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.sup.token, vip, "{\"name\":\"Support\",\"priority\":1}", &r);
        tt_expect(&r, 409, "A queue with this name already exists");
        tt_resp_fini(&r);
        on_queue(&w, "GET", w.sup.token, vip, NULL, &r);
        ck_assert_str_eq(tt_str(r.json, "name"), "Billing VIP");
        ck_assert_int_eq(jint(r.json, "priority"), 90); /* the refused update changed nothing */
        tt_resp_fini(&r);
        /* ... but another organization may use the same name */
        tt_call(w.svc, "POST", "/api/queues/", "{\"name\":\"Sales\"}", w.other.token, &r);
        tt_expect(&r, 201, NULL);
        tt_resp_fini(&r);

        /* delete */
        on_queue(&w, "DELETE", w.sup.token, third, NULL, &r);
        ck_assert_msg(r.status == 204 && r.body[0] == '\0', "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        on_queue(&w, "GET", w.sup.token, third, NULL, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        on_queue(&w, "DELETE", w.sup.token, third, NULL, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        ck_assert_uint_eq(list_len(&w, w.agent.token), 2);

        free(support);
        free(vip);
        free(third);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_queues_overflow)
{
        struct world w;
        world_start(&w);
        struct tt_resp r;
        char *main_q = create(&w, "{\"name\":\"Main\"}");
        char *spill = create(&w, "{\"name\":\"Spill Over\"}");

        /* another queue, named case-insensitively, is stored by id */
        on_queue(&w, "PUT", w.sup.token, main_q,
                 "{\"overflow_action\":\"queue\",\"overflow_target\":\"spill over\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "queue");
        ck_assert_str_eq(tt_str(r.json, "overflow_target"), spill);
        tt_resp_fini(&r);
        /* an update of something else keeps the pair */
        on_queue(&w, "PUT", w.sup.token, main_q, "{\"priority\":3}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "overflow_target"), spill);
        tt_resp_fini(&r);
        /* not itself, not an unknown queue, not another organization's */
        on_queue(&w, "PUT", w.sup.token, main_q, "{\"overflow_target\":\"MAIN\"}", &r);
        expect_422(&r, "overflow_target");
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.sup.token, main_q, "{\"overflow_target\":\"nowhere\"}", &r);
        expect_422(&r, "overflow_target");
        tt_resp_fini(&r);
        tt_call(w.svc, "POST", "/api/queues/", "{\"name\":\"Theirs\"}", w.other.token, &r);
        tt_expect(&r, 201, NULL);
        char *theirs = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        char body[256];
        snprintf(body, sizeof(body), "{\"overflow_target\":\"%s\"}", theirs);
        on_queue(&w, "PUT", w.sup.token, main_q, body, &r);
        expect_422(&r, "overflow_target");
        tt_resp_fini(&r);
        /* by id */
        snprintf(body, sizeof(body), "{\"overflow_target\":\"%s\"}", spill);
        on_queue(&w, "PUT", w.sup.token, main_q, body, &r);
        tt_expect(&r, 200, NULL);
        tt_resp_fini(&r);

        /* transfer needs a dialable target */
        on_queue(&w, "PUT", w.sup.token, main_q, "{\"overflow_action\":\"transfer\"}", &r);
        expect_422(&r, "overflow_target"); /* the queue id is no number */
        tt_resp_fini(&r);
        static const char *const bad[] = {
            "12345", "+0155501234", "555-0100", "client:", "client:bad name", "sip:", "sip:a b"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                snprintf(body, sizeof(body),
                         "{\"overflow_action\":\"transfer\",\"overflow_target\":\"%s\"}", bad[i]);
                on_queue(&w, "PUT", w.sup.token, main_q, body, &r);
                expect_422(&r, "overflow_target");
                tt_resp_fini(&r);
        }
        on_queue(&w, "PUT", w.sup.token, main_q,
                 "{\"overflow_action\":\"transfer\",\"overflow_target\":\"client:lead_7\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "overflow_target"), "client:lead_7");
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.sup.token, main_q,
                 "{\"overflow_target\":\"sip:desk@pbx.example.com\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "transfer");
        ck_assert_str_eq(tt_str(r.json, "overflow_target"), "sip:desk@pbx.example.com");
        tt_resp_fini(&r);
        /* voicemail and hangup have no target */
        on_queue(&w, "PUT", w.sup.token, main_q, "{\"overflow_action\":\"hangup\"}", &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "hangup");
        ck_assert(jnull(r.json, "overflow_target"));
        tt_resp_fini(&r);
        /* a create that needs a target and has none */
        tt_call(w.svc, "POST", "/api/queues/", "{\"name\":\"Q\",\"overflow_action\":\"queue\"}",
                w.sup.token, &r);
        expect_422(&r, "overflow_target");
        tt_resp_fini(&r);
        ck_assert_uint_eq(list_len(&w, w.sup.token), 2);

        free(theirs);
        free(main_q);
        free(spill);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_queues_validation)
{
        struct world w;
        world_start(&w);
        struct tt_resp r;
        char *q = create(&w, "{\"name\":\"Valid\"}");
        char long_name[160], body[512];
        memset(long_name, 'x', 101);
        long_name[101] = '\0';
        struct {
                const char *body, *field;
        } cases[] = {
            {"{}", "name"},
            {"{\"name\":\"\"}", "name"},
            {"{\"name\":\"   \"}", "name"},
            {"{\"name\":7}", "name"},
            {"{\"name\":\"ok\",\"priority\":101}", "priority"},
            {"{\"name\":\"ok\",\"priority\":\"5\"}", "priority"},
            {"{\"name\":\"ok\",\"wrap_up_seconds\":-1}", "wrap_up_seconds"},
            {"{\"name\":\"ok\",\"wrap_up_seconds\":3601}", "wrap_up_seconds"},
            {"{\"name\":\"ok\",\"service_level_seconds\":0}", "service_level_seconds"},
            {"{\"name\":\"ok\",\"max_wait_seconds\":9}", "max_wait_seconds"},
            {"{\"name\":\"ok\",\"max_wait_seconds\":86401}", "max_wait_seconds"},
            {"{\"name\":\"ok\",\"overflow_action\":\"drop\"}", "overflow_action"},
            {"{\"name\":\"ok\",\"overflow_action\":\"transfer\"}", "overflow_target"},
            {"{\"name\":\"ok\",\"skills\":\"billing\"}", "skills"},
            {"{\"name\":\"ok\",\"skills\":[\"a\",3]}", "skills"},
            {"{\"name\":\"ok\",\"skills\":[\"\"]}", "skills"},
            {"{\"name\":\"ok\",\"active\":\"yes\"}", "active"},
            {"[1]", "body"},
            /* control characters; tab and line breaks only in the description */
            {"{\"name\":\"Sales\\u0001\"}", "name"},
            {"{\"name\":\"\\u001b[2JSales\"}", "name"},
            {"{\"name\":\"Sa\\nles\"}", "name"},
            {"{\"name\":\"Sales\\u007f\"}", "name"},
            {"{\"name\":\"ok\",\"description\":\"a\\u0007b\"}", "description"},
            {"{\"name\":\"ok\",\"description\":\"\\u001b[31mred\"}", "description"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(cases); i++) {
                tt_call(w.svc, "POST", "/api/queues/", cases[i].body, w.sup.token, &r);
                expect_422(&r, cases[i].field);
                tt_resp_fini(&r);
                /* an update names the same field (the name is optional there) */
                if (strcmp(cases[i].field, "name") != 0 || strstr(cases[i].body, "name")) {
                        on_queue(&w, "PUT", w.sup.token, q, cases[i].body, &r);
                        expect_422(&r, cases[i].field);
                        tt_resp_fini(&r);
                }
        }
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", long_name);
        tt_call(w.svc, "POST", "/api/queues/", body, w.sup.token, &r);
        expect_422(&r, "name");
        tt_resp_fini(&r);
        char desc[1100];
        memset(desc, 'd', 1001);
        desc[1001] = '\0';
        char *big = cc_xasprintf("{\"name\":\"ok\",\"description\":\"%s\"}", desc);
        tt_call(w.svc, "POST", "/api/queues/", big, w.sup.token, &r);
        expect_422(&r, "description");
        tt_resp_fini(&r);
        free(big);
        tt_call(w.svc, "GET", "/api/queues/?limit=101", NULL, w.sup.token, &r);
        expect_422(&r, "limit");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/queues/?skip=-1", NULL, w.sup.token, &r);
        expect_422(&r, "skip");
        tt_resp_fini(&r);

        /* nothing was made or changed */
        ck_assert_uint_eq(list_len(&w, w.sup.token), 1);
        on_queue(&w, "GET", w.sup.token, q, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "name"), "Valid");
        ck_assert_int_eq(jint(r.json, "priority"), 0);
        ck_assert_int_eq(jint(r.json, "wrap_up_seconds"), 30);
        ck_assert_str_eq(tt_str(r.json, "overflow_action"), "voicemail");
        tt_resp_fini(&r);
        free(q);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_queues_roles_and_isolation)
{
        struct world w;
        world_start(&w);
        struct tt_resp r;
        char *q = create(&w, "{\"name\":\"Mine\"}");

        /* an agent reads, never writes */
        ck_assert_uint_eq(list_len(&w, w.agent.token), 1);
        tt_call(w.svc, "POST", "/api/queues/", "{\"name\":\"By agent\"}", w.agent.token, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.agent.token, q, "{\"priority\":9}", &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        on_queue(&w, "DELETE", w.agent.token, q, NULL, &r);
        tt_expect(&r, 403, FORBID_SUP);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/queues/", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 401);
        tt_resp_fini(&r);

        /* another organization sees nothing of it and cannot touch it */
        ck_assert_uint_eq(list_len(&w, w.other.token), 0);
        on_queue(&w, "GET", w.other.token, q, NULL, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        on_queue(&w, "PUT", w.other.token, q, "{\"priority\":9}", &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        on_queue(&w, "DELETE", w.other.token, q, NULL, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        on_queue(&w, "GET", w.sup.token, "not-a-uuid", NULL, &r);
        tt_expect(&r, 404, NOT_FOUND);
        tt_resp_fini(&r);
        on_queue(&w, "GET", w.sup.token, q, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "priority"), 0);
        tt_resp_fini(&r);
        free(q);
        world_stop(&w);
}
END_TEST

/* An INBOUND call of the organization made waiting in queue q for `waited_s` seconds. */
static char *waiting_call(struct world *w, const char *q, int waited_s, const char *state)
{
        struct tt_resp r;
        tt_call(w->svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"INBOUND\"}",
                w->sup.token, &r);
        tt_expect(&r, 201, NULL);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", waited_s);
        const char *p[] = {id, q, secs, state};
        exec_sql("UPDATE calls SET queue_id = $2, queue_state = $4, "
                 "queued_at = now() - $3::integer * interval '1 second' WHERE id = $1",
                 4, p);
        return id;
}

START_TEST(telephony_queues_waiting_calls_and_delete)
{
        struct world w;
        world_start(&w);
        struct tt_resp r;
        char *q = create(&w, "{\"name\":\"Busy\"}");
        char *idle = create(&w, "{\"name\":\"Idle\"}");
        char *c1 = waiting_call(&w, q, 95, "WAITING");
        char *c2 = waiting_call(&w, q, 10, "OFFERED");
        char *c3 = waiting_call(&w, q, 300, "CONNECTED"); /* with an agent: not waiting */

        on_queue(&w, "GET", w.agent.token, q, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_int_eq(jint(r.json, "waiting_calls"), 2);
        int64_t oldest = jint(r.json, "oldest_wait_seconds");
        ck_assert_msg(oldest >= 95 && oldest < 120, "oldest wait %lld", (long long)oldest);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/queues/", NULL, w.agent.token, &r);
        tt_expect(&r, 200, NULL);
        for (size_t i = 0; i < json_object_array_length(r.json); i++) {
                json_object *o = json_object_array_get_idx(r.json, i);
                bool busy = strcmp(tt_str(o, "id"), q) == 0;
                ck_assert_int_eq(jint(o, "waiting_calls"), busy ? 2 : 0);
        }
        tt_resp_fini(&r);

        /* not while calls wait in it */
        on_queue(&w, "DELETE", w.sup.token, q, NULL, &r);
        tt_expect(&r, 409, "Calls are waiting in this queue");
        tt_resp_fini(&r);
        const char *p1[] = {c1, c2};
        exec_sql("UPDATE calls SET queue_state = 'ABANDONED' WHERE id IN ($1, $2)", 2, p1);
        on_queue(&w, "GET", w.agent.token, q, NULL, &r);
        ck_assert_int_eq(jint(r.json, "waiting_calls"), 0);
        ck_assert_int_eq(jint(r.json, "oldest_wait_seconds"), 0);
        tt_resp_fini(&r);

        /* nor while a campaign dials into it; a deleted campaign lets go */
        char camp[CC_UUID_LEN + 1];
        cc_uuid_v4(camp);
        const char *p2[] = {camp, w.admin.org_id, q};
        exec_sql("INSERT INTO campaigns (id, org_id, organization_label, name, type, queue_id) "
                 "VALUES ($1, $2, 'demo-org', 'Spring', 'OUTBOUND', $3)",
                 3, p2);
        on_queue(&w, "DELETE", w.sup.token, q, NULL, &r);
        tt_expect(&r, 409, "A campaign uses this queue");
        tt_resp_fini(&r);
        const char *p3[] = {camp};
        exec_sql("UPDATE campaigns SET deleted_at = now() WHERE id = $1", 1, p3);
        on_queue(&w, "DELETE", w.sup.token, q, NULL, &r);
        ck_assert_int_eq(r.status, 204);
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM campaigns WHERE id = $1 AND "
                                    "queue_id IS NULL",
                                    camp),
                         1);
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM queues WHERE org_id = $1", w.admin.org_id), 1);
        on_queue(&w, "DELETE", w.sup.token, idle, NULL, &r);
        ck_assert_int_eq(r.status, 204);
        tt_resp_fini(&r);

        free(c1);
        free(c2);
        free(c3);
        free(q);
        free(idle);
        world_stop(&w);
}
END_TEST

/* ---- tel_queue_resolve ---- */

struct racer {
        struct cc_db_pool *pool;
        const char *org_id;
        pthread_barrier_t *start;
        int result;
        struct tel_queue q;
};

static void *race(void *arg)
{
        struct racer *x = arg;
        struct cc_db_conn *conn = NULL;
        if (cc_db_acquire(x->pool, &conn) < 0) {
                x->result = -EIO;
                return NULL;
        }
        pthread_barrier_wait(x->start);
        /* each in its own transaction, as the IVR does: the losers wait for the winner */
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_queue_resolve(conn, x->org_id, "Overflow Line", true, &x->q);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0)
                cc_db_rollback(conn);
        x->result = r;
        cc_db_release(conn);
        return NULL;
}

START_TEST(telephony_queues_resolve)
{
        struct world w;
        world_start(&w);
        char *q =
            create(&w, "{\"name\":\"Tier Two\",\"priority\":40,\"wrap_up_seconds\":45,"
                       "\"overflow_action\":\"transfer\",\"overflow_target\":\"+15550100077\"}");
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 8, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        struct tel_queue got;

        /* by name whatever its case, and by id */
        ck_assert_int_eq(tel_queue_resolve(conn, w.admin.org_id, "tier TWO", false, &got), 0);
        ck_assert_str_eq(got.id, q);
        ck_assert_str_eq(got.name, "Tier Two");
        ck_assert_int_eq(got.priority, 40);
        ck_assert_int_eq(got.wrap_up_seconds, 45);
        ck_assert_int_eq(got.service_level_seconds, 20);
        ck_assert_int_eq(got.max_wait_seconds, 600);
        ck_assert_str_eq(got.overflow_action, "transfer");
        ck_assert_str_eq(got.overflow_target, "+15550100077");
        memset(&got, 0, sizeof(got));
        ck_assert_int_eq(tel_queue_resolve(conn, w.admin.org_id, q, true, &got), 0);
        ck_assert_str_eq(got.name, "Tier Two");
        /* never another organization's */
        ck_assert_int_eq(tel_queue_resolve(conn, w.other.org_id, q, false, &got), -ENOENT);
        ck_assert_int_eq(tel_queue_resolve(conn, w.other.org_id, "Tier Two", false, &got), -ENOENT);
        /* unknown: not found, or made with the defaults; an unknown id is never a name */
        ck_assert_int_eq(tel_queue_resolve(conn, w.admin.org_id, "nope", false, &got), -ENOENT);
        char ghost[CC_UUID_LEN + 1];
        cc_uuid_v4(ghost);
        ck_assert_int_eq(tel_queue_resolve(conn, w.admin.org_id, ghost, true, &got), -ENOENT);
        ck_assert_int_eq(tel_queue_resolve(conn, w.admin.org_id, "", true, &got), -ENOENT);
        cc_db_release(conn);
        ck_assert_uint_eq(list_len(&w, w.sup.token), 1);

        /* made on demand by many at once: one queue, the same for all */
        enum { N = 6 };
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, N);
        struct racer x[N];
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
                x[i] = (struct racer){.pool = pool, .org_id = w.admin.org_id, .start = &start};
                ck_assert_int_eq(pthread_create(&th[i], NULL, race, &x[i]), 0);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < N; i++) {
                ck_assert_msg(x[i].result == 0, "racer %d: %d", i, x[i].result);
                ck_assert_str_eq(x[i].q.id, x[0].q.id);
                ck_assert_str_eq(x[i].q.name, "Overflow Line");
                ck_assert_int_eq(x[i].q.wrap_up_seconds, 30);
                ck_assert_str_eq(x[i].q.overflow_action, "voicemail");
        }
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM queues WHERE org_id = $1", w.admin.org_id), 2);
        /* and the API shows it */
        struct tt_resp r;
        on_queue(&w, "GET", w.agent.token, x[0].q.id, NULL, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "name"), "Overflow Line");
        ck_assert_int_eq(jint(r.json, "max_wait_seconds"), 600);
        tt_resp_fini(&r);

        cc_db_pool_free(pool);
        free(q);
        world_stop(&w);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_queues");
        TCase *tc = tcase_create("telephony_queues");
        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_queues_crud);
        tcase_add_test(tc, telephony_queues_overflow);
        tcase_add_test(tc, telephony_queues_validation);
        tcase_add_test(tc, telephony_queues_roles_and_isolation);
        tcase_add_test(tc, telephony_queues_waiting_calls_and_delete);
        tcase_add_test(tc, telephony_queues_resolve);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
