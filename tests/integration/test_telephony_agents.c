/* Agents and presence in telephony: the six /api/agents routes (shapes, defaults, filters and
 * paging, tenant isolation, role rules, validation), presence changes and the
 * agent.status_changed each one writes, the available count, and the users telephony learns from
 * the gateway's user.* events (fed through the real consumer on cc.users.v1: the newest version
 * wins, a duplicate is applied once, a deactivated user's agent goes offline). */
#include <errno.h>
#include <inttypes.h>

#include "telephony_test.h"
#include "cc/event.h"

#define USERS_TOPIC "cc.users.v1"

struct world {
        struct cc_service *svc;
        struct cc_db_pool *pool;
        struct cc_kafka_producer *producer;
        struct tt_caller admin, sup, agent, agent2, other; /* other: another organization */
};

/* A packed user.created / user.updated (the gateway's shape); ret_id gets its event id. */
static uint8_t *user_event(const char *type, const char *org_id, const char *user_id,
                           const char *first, const char *last, Cc__Events__V1__UserStatus status,
                           int64_t version, char ret_id[CC_UUID_LEN + 1], size_t *ret_len)
{
        Cc__Events__V1__User u = CC__EVENTS__V1__USER__INIT;
        char *skills[] = {"sales", "es"};
        u.user_id = (char *)user_id;
        u.email = "someone@example.com";
        u.first_name = (char *)first;
        u.last_name = (char *)last;
        u.role = CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT;
        u.status = status;
        u.skills = skills;
        u.n_skills = 2;
        u.created_at_ms = 1;
        u.updated_at_ms = version;
        Cc__Events__V1__UserCreated created = CC__EVENTS__V1__USER_CREATED__INIT;
        Cc__Events__V1__UserUpdated updated = CC__EVENTS__V1__USER_UPDATED__INIT;
        Cc__Events__V1__Envelope env;
        char id[CC_UUID_LEN + 1];
        cc_event_init(&env, type, org_id, 0, "gateway", NULL, id);
        if (strcmp(type, "user.created") == 0) {
                created.user = &u;
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
                env.user_created = &created;
        } else {
                updated.user = &u;
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_UPDATED;
                env.user_updated = &updated;
        }
        if (ret_id)
                memcpy(ret_id, id, sizeof(id));
        return cc_event_pack(&env, ret_len);
}

static void produce(struct world *w, const char *key, const uint8_t *buf, size_t len)
{
        ck_assert_int_eq(
            cc_kafka_produce(w->producer, USERS_TOPIC, key, strlen(key), buf, len, NULL, 0, NULL),
            0);
}

/* Produces a user event keyed by `key` (the user's id unless a test needs another order). */
static void send_user(struct world *w, const char *key, const char *type, const char *org_id,
                      const char *user_id, const char *first, const char *last,
                      Cc__Events__V1__UserStatus status, int64_t version)
{
        size_t len;
        uint8_t *buf = user_event(type, org_id, user_id, first, last, status, version, NULL, &len);
        produce(w, key, buf, len);
        free(buf);
}

static void flush(struct world *w)
{
        ck_assert_int_eq(cc_kafka_producer_flush(w->producer, 10000), 0);
}

static long long user_version(struct world *w, const char *user_id)
{
        return cc_test_pool_query_int(
            w->pool, "SELECT coalesce(max(version_ms), -1) FROM users WHERE id = $1::uuid",
            user_id);
}

/* Waits until the service's consumer has stored this version of the user. */
static void wait_user(struct world *w, const char *user_id, int64_t version)
{
        ck_assert_msg(CC_TEST_WAIT(user_version(w, user_id) == version, 30000, 20),
                      "user %s never reached version %" PRId64 " (has %lld)", user_id, version,
                      user_version(w, user_id));
}

static const Cc__Events__V1__UserStatus ACTIVE = CC__EVENTS__V1__USER_STATUS__USER_STATUS_ACTIVE;

/* Applies a user event with the consumer's handler in a transaction of its own, as the consumer
 * would, without the ~3 s a new consumer group takes to join (tests of the consumer itself go
 * through Kafka). */
static void apply_user(struct world *w, const char *org_id, const char *user_id, const char *first,
                       const char *last)
{
        size_t len;
        uint8_t *buf =
            user_event("user.created", org_id, user_id, first, last, ACTIVE, 1000, NULL, &len);
        Cc__Events__V1__Envelope *env = cc_event_unpack(buf, len);
        free(buf);
        ck_assert_ptr_nonnull(env);
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_users_apply(conn, env, NULL), 0);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);
        cc_event_free(env);
}

/* kafka: the users reach telephony through cc.users.v1 and its consumer. */
static void world_start(struct world *w, bool kafka)
{
        w->svc = tt_start(NULL, NULL, NULL);
        w->pool = cc_test_pool(tt_schema, 2, 5000);
        w->producer = cc_test_producer("agents-test", NULL, NULL, NULL);
        tt_caller(&w->admin, NULL, "ADMIN");
        tt_caller(&w->sup, w->admin.org_id, "SUPERVISOR");
        tt_caller(&w->agent, w->admin.org_id, "AGENT");
        tt_caller(&w->agent2, w->admin.org_id, "AGENT");
        tt_caller(&w->other, NULL, "ADMIN");
        /* Telephony knows users only from the gateway's events. */
        struct {
                struct tt_caller *c;
                const char *first, *last;
        } users[] = {
            {&w->admin, "Ada", "Admin"}, {&w->sup, "Sam", "Super"},  {&w->agent, "Ann", "Agent"},
            {&w->agent2, "Bob", ""},     {&w->other, "Oz", "Other"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(users) && !kafka; i++)
                apply_user(w, users[i].c->org_id, users[i].c->user_id, users[i].first,
                           users[i].last);
        if (!kafka)
                return;
        for (size_t i = 0; i < CC_ARRAY_SIZE(users); i++)
                send_user(w, users[i].c->user_id, "user.created", users[i].c->org_id,
                          users[i].c->user_id, users[i].first, users[i].last, ACTIVE, 1000);
        flush(w);
        for (size_t i = 0; i < CC_ARRAY_SIZE(users); i++)
                wait_user(w, users[i].c->user_id, 1000);
}

static void world_stop(struct world *w)
{
        tt_caller_fini(&w->admin);
        tt_caller_fini(&w->sup);
        tt_caller_fini(&w->agent);
        tt_caller_fini(&w->agent2);
        tt_caller_fini(&w->other);
        cc_kafka_producer_free(w->producer);
        cc_db_pool_free(w->pool);
        cc_service_stop(w->svc);
}

static long long sql_int(struct world *w, const char *sql, const char *param)
{
        return cc_test_pool_query_int(w->pool, sql, param);
}

static void sql_exec(struct world *w, const char *sql, const char *param)
{
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        const char *params[] = {param};
        cc_test_exec(conn, sql, param ? 1 : 0, params);
        cc_db_release(conn);
}

static int64_t jint(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_int), "%s is not an int in %s", key,
                      json_object_to_json_string(o));
        return json_object_get_int64(v);
}

static void expect_422(struct tt_resp *r, const char *field)
{
        ck_assert_msg(r->status == 422, "status %ld: %s", r->status, r->body);
        const char *d = tt_str(r->json, "detail");
        ck_assert_msg(d && strncmp(d, field, strlen(field)) == 0 && d[strlen(field)] == ':',
                      "detail does not name %s: %s", field, r->body);
}

/* POSTs a profile (body members after user_id in extra, may be NULL); returns its id (heap). */
static char *create_agent(struct world *w, const char *token, const char *user_id,
                          const char *extra)
{
        char body[1024];
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"%s}", user_id, extra ? extra : "");
        struct tt_resp r;
        tt_call(w->svc, "POST", "/api/agents/", body, token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

static long on_agent(struct world *w, const char *method, const char *token, const char *id,
                     const char *suffix, const char *body, struct tt_resp *ret)
{
        char path[160];
        snprintf(path, sizeof(path), "/api/agents/%s%s", id, suffix ? suffix : "");
        return tt_call(w->svc, method, path, body, token, ret);
}

static long set_status(struct world *w, const char *token, const char *id, const char *status,
                       struct tt_resp *ret)
{
        char body[128];
        snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
        return on_agent(w, "PATCH", token, id, "/status", body, ret);
}

static void list(struct world *w, const char *token, const char *query, struct tt_resp *r)
{
        char path[256];
        snprintf(path, sizeof(path), "/api/agents/?%s", query);
        tt_call(w->svc, "GET", path, NULL, token, r);
        ck_assert_msg(r->status == 200, "%s: %ld %s", query, r->status, r->body);
        ck_assert(json_object_is_type(r->json, json_type_array));
}

static size_t list_len(struct world *w, const char *token, const char *query)
{
        struct tt_resp r;
        list(w, token, query, &r);
        size_t n = json_object_array_length(r.json);
        tt_resp_fini(&r);
        return n;
}

static int64_t available(struct world *w, const char *token)
{
        struct tt_resp r;
        tt_call(w->svc, "GET", "/api/agents/available/count", NULL, token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        int64_t n = jint(r.json, "available_agents");
        tt_resp_fini(&r);
        return n;
}

/* The agent.status_changed events of an agent in the outbox, oldest first (at most max; the
 * caller frees them). Each must be on cc.agents.v1 under the agent's id. */
static size_t agent_events(struct world *w, const char *agent_id, Cc__Events__V1__Envelope **out,
                           size_t max)
{
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        const char *params[] = {agent_id};
        PGresult *res = cc_test_query(conn,
                                      "SELECT encode(payload, 'hex'), topic FROM outbox "
                                      "WHERE key = $1 AND type = 'agent.status_changed' "
                                      "ORDER BY id",
                                      1, params);
        size_t n = (size_t)PQntuples(res);
        ck_assert_msg(n <= max, "%zu events", n);
        for (size_t i = 0; i < n; i++) {
                ck_assert_str_eq(PQgetvalue(res, (int)i, 1), "cc.agents.v1");
                const char *hex = PQgetvalue(res, (int)i, 0);
                size_t len = strlen(hex) / 2;
                uint8_t *buf = malloc(len ? len : 1);
                for (size_t j = 0; j < len; j++)
                        buf[j] =
                            (uint8_t)(cc_hex_value(hex[2 * j]) << 4 | cc_hex_value(hex[2 * j + 1]));
                out[i] = cc_event_unpack(buf, len);
                free(buf);
                ck_assert_ptr_nonnull(out[i]);
                ck_assert_int_eq(out[i]->payload_case,
                                 CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED);
                ck_assert_str_eq(out[i]->type, "agent.status_changed");
                ck_assert_str_eq(out[i]->agent_status_changed->agent_id, agent_id);
        }
        PQclear(res);
        cc_db_release(conn);
        return n;
}

static size_t count_events(struct world *w, const char *agent_id)
{
        Cc__Events__V1__Envelope *ev[32];
        size_t n = agent_events(w, agent_id, ev, 32);
        for (size_t i = 0; i < n; i++)
                cc_event_free(ev[i]);
        return n;
}

static void free_events(Cc__Events__V1__Envelope **ev, size_t n)
{
        for (size_t i = 0; i < n; i++)
                cc_event_free(ev[i]);
}

#define PB(s) CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_##s

START_TEST(telephony_agents_crud)
{
        struct world w;
        world_start(&w, false);
        struct tt_resp r;
        tt_call(w.svc, "POST", "/api/agents/", NULL, w.sup.token, &r);
        expect_422(&r, "user_id");
        tt_resp_fini(&r);

        char body[256];
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.agent.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.sup.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        ck_assert(cc_uuid_valid(id));
        ck_assert_str_ne(id, w.agent.user_id); /* the profile's id, not the user's */
        ck_assert_str_eq(tt_str(r.json, "user_id"), w.agent.user_id);
        ck_assert_str_eq(tt_str(r.json, "status"), "OFFLINE");
        ck_assert_str_eq(tt_str(r.json, "name"), "Ann Agent");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 1);
        ck_assert_int_eq(jint(r.json, "current_load"), 0);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "skills")), 0);
        ck_assert_str_eq(tt_str(r.json, "language"), "en");
        json_object *v = NULL;
        ck_assert(json_object_object_get_ex(r.json, "metadata", &v) && v == NULL);
        const char *created = tt_str(r.json, "created_at");
        ck_assert_msg(created && strlen(created) == 24 && created[23] == 'Z', "%s", r.body);
        ck_assert_ptr_nonnull(tt_str(r.json, "updated_at"));
        ck_assert_ptr_nonnull(tt_str(r.json, "status_since"));
        tt_resp_fini(&r);
        /* created OFFLINE: nothing changed, nothing announced */
        ck_assert_int_eq(count_events(&w, id), 0);

        on_agent(&w, "GET", w.agent2.token, id, NULL, NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "id"), id);
        ck_assert_str_eq(tt_str(r.json, "name"), "Ann Agent");
        tt_resp_fini(&r);

        /* PUT writes what it names; current_load is the system's and ignored */
        on_agent(&w, "PUT", w.sup.token, id, NULL,
                 "{\"max_capacity\":3,\"skills\":[\"billing\",\"es\"],\"language\":\"es-MX\","
                 "\"metadata\":{\"endpoint\":\"+15551234567\",\"desk\":4},\"current_load\":2,"
                 "\"status\":null}",
                 &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "max_capacity"), 3);
        ck_assert_int_eq(jint(r.json, "current_load"), 0);
        json_object *skills = json_object_object_get(r.json, "skills");
        ck_assert_int_eq(json_object_array_length(skills), 2);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(skills, 0)), "billing");
        ck_assert_str_eq(tt_str(r.json, "language"), "es-MX");
        json_object *meta = json_object_object_get(r.json, "metadata");
        ck_assert_str_eq(tt_str(meta, "endpoint"), "+15551234567");
        ck_assert_int_eq(jint(meta, "desk"), 4);
        ck_assert_str_eq(tt_str(r.json, "status"), "OFFLINE");
        tt_resp_fini(&r);

        /* routing rings the endpoint the metadata names, else the user's client */
        struct cc_db_conn *conn = cc_test_acquire(w.pool);
        char to[256];
        ck_assert_int_eq(tel_agent_endpoint(conn, w.admin.org_id, id, to), 0);
        ck_assert_str_eq(to, "+15551234567");
        cc_db_release(conn);

        /* a field left out keeps its value; metadata null clears it */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"metadata\":null}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert(json_object_object_get_ex(r.json, "metadata", &v) && v == NULL);
        ck_assert_int_eq(jint(r.json, "max_capacity"), 3);
        ck_assert_str_eq(tt_str(r.json, "language"), "es-MX");
        tt_resp_fini(&r);
        conn = cc_test_acquire(w.pool);
        ck_assert_int_eq(tel_agent_endpoint(conn, w.admin.org_id, id, to), 0);
        char want[64];
        snprintf(want, sizeof(want), "client:%s", w.agent.user_id);
        ck_assert_str_eq(to, want);
        cc_db_release(conn);

        /* the collection without its slash; a first status other than OFFLINE */
        snprintf(body, sizeof(body),
                 "{\"user_id\":\"%s\",\"status\":\"available\",\"skills\":[\"sales\"],"
                 "\"metadata\":{\"endpoint\":\"client:bob_7\"}}",
                 w.agent2.user_id);
        tt_call(w.svc, "POST", "/api/agents", body, w.admin.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id2 = strdup(tt_str(r.json, "id"));
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        ck_assert_str_eq(tt_str(r.json, "name"), "Bob"); /* no last name */
        tt_resp_fini(&r);
        conn = cc_test_acquire(w.pool);
        ck_assert_int_eq(tel_agent_endpoint(conn, w.admin.org_id, id2, to), 0);
        ck_assert_str_eq(to, "client:bob_7");
        cc_db_release(conn);

        /* newest first */
        list(&w, w.agent.token, "", &r);
        ck_assert_int_eq(json_object_array_length(r.json), 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), id2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 1), "id"), id);
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/agents", NULL, w.agent.token, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_object_array_length(r.json), 2);
        tt_resp_fini(&r);

        /* one profile per user */
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"max_capacity\":5}", w.agent.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.admin.token, &r);
        tt_expect(&r, 400, "User already has an agent profile");
        tt_resp_fini(&r);
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM agents WHERE org_id = $1::uuid", w.admin.org_id), 2);

        char unknown[CC_UUID_LEN + 1];
        cc_uuid_v4(unknown);
        on_agent(&w, "GET", w.sup.token, unknown, NULL, NULL, &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        on_agent(&w, "GET", w.sup.token, "not-a-uuid", NULL, NULL, &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.sup.token, unknown, NULL, "{}", &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/agents/", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 401);
        tt_resp_fini(&r);
        free(id);
        free(id2);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_list_filters_and_paging)
{
        struct world w;
        world_start(&w, false);
        char *a = create_agent(&w, w.sup.token, w.agent.user_id, ",\"status\":\"AVAILABLE\"");
        char *b = create_agent(&w, w.sup.token, w.agent2.user_id, ",\"status\":\"BREAK\"");
        char *c = create_agent(&w, w.sup.token, w.sup.user_id, NULL);
        struct tt_resp r;
        list(&w, w.agent.token, "status=AVAILABLE", &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), a);
        tt_resp_fini(&r);
        list(&w, w.agent.token, "status=break", &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), b);
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.agent.token, "status=OFFLINE"), 1);
        ck_assert_int_eq(list_len(&w, w.agent.token, "status=WRAP_UP"), 0);
        ck_assert_int_eq(list_len(&w, w.agent.token, "status="), 3);
        ck_assert_int_eq(list_len(&w, w.agent.token, "unknown_key=1"), 3);

        /* paging: newest first, skip then limit */
        list(&w, w.agent.token, "limit=2", &r);
        ck_assert_int_eq(json_object_array_length(r.json), 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), c);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 1), "id"), b);
        tt_resp_fini(&r);
        list(&w, w.agent.token, "skip=2&limit=2", &r);
        ck_assert_int_eq(json_object_array_length(r.json), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(r.json, 0), "id"), a);
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.agent.token, "skip=3"), 0);
        ck_assert_int_eq(list_len(&w, w.agent.token, "limit=100"), 3);

        static const struct {
                const char *query, *field;
        } bad[] = {
            {"status=SLEEPING", "status"}, {"limit=0", "limit"}, {"limit=101", "limit"},
            {"limit=x", "limit"},          {"skip=-1", "skip"},  {"skip=1.5", "skip"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                char path[128];
                snprintf(path, sizeof(path), "/api/agents/?%s", bad[i].query);
                tt_call(w.svc, "GET", path, NULL, w.agent.token, &r);
                expect_422(&r, bad[i].field);
                tt_resp_fini(&r);
        }
        free(a);
        free(b);
        free(c);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_other_org_is_404)
{
        struct world w;
        world_start(&w, false);
        char *id = create_agent(&w, w.admin.token, w.agent.user_id, ",\"status\":\"AVAILABLE\"");
        struct tt_resp r;
        on_agent(&w, "GET", w.other.token, id, NULL, NULL, &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.other.token, id, NULL, "{\"max_capacity\":7}", &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        set_status(&w, w.other.token, id, "BREAK", &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.other.token, ""), 0);
        ck_assert_int_eq(available(&w, w.other.token), 0);
        ck_assert_int_eq(available(&w, w.admin.token), 1);
        /* nothing moved */
        on_agent(&w, "GET", w.admin.token, id, NULL, NULL, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 1);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 1);

        /* a user of another organization (which telephony knows) is no user here */
        char body[256];
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.other.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.admin.token, &r);
        tt_expect(&r, 404, "User not found");
        tt_resp_fini(&r);
        char unknown[CC_UUID_LEN + 1];
        cc_uuid_v4(unknown);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", unknown);
        tt_call(w.svc, "POST", "/api/agents/", body, w.admin.token, &r);
        tt_expect(&r, 404, "User not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM agents WHERE user_id = $1::uuid", w.other.user_id),
            0);

        /* in its own organization the same user is fine, and invisible to the first */
        char *theirs = create_agent(&w, w.other.token, w.other.user_id, NULL);
        on_agent(&w, "GET", w.admin.token, theirs, NULL, NULL, &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.admin.token, ""), 1);
        ck_assert_int_eq(list_len(&w, w.other.token, ""), 1);
        free(theirs);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_role_rules)
{
        struct world w;
        world_start(&w, false);
        struct tt_resp r;
        char body[256];
        /* an agent makes only its own profile */
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.agent2.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.agent.token, &r);
        tt_expect(&r, 403, "Access denied");
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.sup.token, ""), 0);
        char *mine = create_agent(&w, w.agent.token, w.agent.user_id, NULL);
        char *theirs = create_agent(&w, w.sup.token, w.agent2.user_id, NULL);

        /* and changes only its own */
        on_agent(&w, "PUT", w.agent2.token, mine, NULL, "{\"max_capacity\":4}", &r);
        tt_expect(&r, 403, "Access denied");
        tt_resp_fini(&r);
        set_status(&w, w.agent2.token, mine, "AVAILABLE", &r);
        tt_expect(&r, 403, "Access denied");
        tt_resp_fini(&r);
        on_agent(&w, "GET", w.agent2.token, mine, NULL, NULL, &r); /* reading is open */
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(tt_str(r.json, "status"), "OFFLINE");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 1);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, mine), 0);

        set_status(&w, w.agent.token, mine, "AVAILABLE", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.agent.token, mine, NULL, "{\"language\":\"fr\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);

        /* supervisors and admins change anyone's in their organization */
        set_status(&w, w.sup.token, theirs, "TRAINING", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.admin.token, mine, NULL, "{\"max_capacity\":2,\"status\":\"BUSY\"}",
                 &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "BUSY");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 2);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, mine), 2);
        ck_assert_int_eq(count_events(&w, theirs), 1);
        free(mine);
        free(theirs);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_status_changes_write_events)
{
        struct world w;
        world_start(&w, false);
        char *id = create_agent(&w, w.sup.token, w.agent.user_id, NULL);
        /* the profile has been OFFLINE for 42 s */
        sql_exec(&w,
                 "UPDATE agents SET status_since = now() - interval '42.3 seconds' WHERE id = $1",
                 id);
        struct tt_resp r;
        int64_t before = cc_now_ms();
        const char *const tp[] = {
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL};
        tt_request(w.svc, "PATCH", "/api/agents/x/status", "{\"status\":\"AVAILABLE\"}",
                   w.agent.token, NULL, &r);
        tt_expect(&r, 404, "Agent not found");
        tt_resp_fini(&r);
        char path[128];
        snprintf(path, sizeof(path), "/api/agents/%s/status", id);
        tt_request(w.svc, "PATCH", path, "{\"status\":\"AVAILABLE\"}", w.agent.token, tp, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        tt_resp_fini(&r);

        Cc__Events__V1__Envelope *ev[8];
        ck_assert_int_eq(agent_events(&w, id, ev, 8), 1);
        const Cc__Events__V1__AgentStatusChanged *p = ev[0]->agent_status_changed;
        ck_assert_str_eq(ev[0]->org_id, w.admin.org_id);
        ck_assert_str_eq(ev[0]->producer, "telephony");
        ck_assert_str_eq(ev[0]->traceparent, tp[0] + strlen("traceparent: "));
        ck_assert_str_eq(p->user_id, w.agent.user_id);
        ck_assert_int_eq(p->status, PB(AVAILABLE));
        ck_assert_int_eq(p->previous_status, PB(OFFLINE));
        ck_assert_int_eq(p->previous_duration_seconds, 42);
        ck_assert_int_eq(p->current_load, 0);
        ck_assert_int_eq(p->max_capacity, 1);
        ck_assert(p->changed_at_ms >= before && p->changed_at_ms <= cc_now_ms());
        ck_assert_int_eq(ev[0]->occurred_at_ms, p->changed_at_ms);
        /* the row says the same: in AVAILABLE since then, idle (first in line) since then */
        char at[24];
        snprintf(at, sizeof(at), "%" PRId64, p->changed_at_ms);
        ck_assert_int_eq(
            sql_int(&w,
                    "SELECT count(*) FROM agents WHERE status = 'AVAILABLE' AND "
                    "status_since = 'epoch'::timestamptz + $1::bigint * interval '1 millisecond' "
                    "AND idle_since = status_since",
                    at),
            1);
        free_events(ev, 1);

        /* the same status again is no change */
        set_status(&w, w.agent.token, id, "AVAILABLE", &r);
        ck_assert_int_eq(r.status, 200);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 1);

        /* WRAP_UP is the system's; unknown and missing statuses are refused */
        set_status(&w, w.agent.token, id, "WRAP_UP", &r);
        expect_422(&r, "status");
        tt_resp_fini(&r);
        set_status(&w, w.agent.token, id, "ASLEEP", &r);
        expect_422(&r, "status");
        tt_resp_fini(&r);
        on_agent(&w, "PATCH", w.agent.token, id, "/status", "{}", &r);
        expect_422(&r, "status");
        tt_resp_fini(&r);
        on_agent(&w, "PATCH", w.agent.token, id, "/status", "{\"status\":3}", &r);
        expect_422(&r, "status");
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.agent.token, id, NULL, "{\"status\":\"WRAP_UP\"}", &r);
        expect_422(&r, "status");
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 1);

        /* a PUT with a status is a presence change too; the event shows the fields after it */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"status\":\"BREAK\",\"max_capacity\":2}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        ck_assert_int_eq(agent_events(&w, id, ev, 8), 2);
        p = ev[1]->agent_status_changed;
        ck_assert_int_eq(p->status, PB(BREAK));
        ck_assert_int_eq(p->previous_status, PB(AVAILABLE));
        ck_assert_int_eq(p->previous_duration_seconds, 0);
        ck_assert_int_eq(p->max_capacity, 2);
        free_events(ev, 2);

        /* leaving the wrap-up of a call (set by the call's end) closes it */
        sql_exec(&w,
                 "UPDATE agents SET status = 'WRAP_UP', status_since = now() - interval '5 s', "
                 "wrap_call_id = gen_random_uuid(), wrap_until = now() + interval '1 minute', "
                 "current_load = 0 WHERE id = $1",
                 id);
        set_status(&w, w.agent.token, id, "AVAILABLE", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        ck_assert_int_eq(agent_events(&w, id, ev, 8), 3);
        p = ev[2]->agent_status_changed;
        ck_assert_int_eq(p->previous_status, PB(WRAP_UP));
        ck_assert_int_eq(p->previous_duration_seconds, 5);
        ck_assert_int_eq(p->status, PB(AVAILABLE));
        free_events(ev, 3);
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM agents WHERE id = $1 AND "
                                 "wrap_call_id IS NULL AND wrap_until IS NULL",
                                 id),
                         1);

        /* through the store, as the call state machine moves agents */
        struct cc_db_conn *conn = cc_test_acquire(w.pool);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_agent_set_status(conn, w.admin.org_id, id, TEL_AGENT_BUSY, 0, NULL),
                         0);
        ck_assert_int_eq(tel_agent_set_status(conn, w.admin.org_id, id, TEL_AGENT_BUSY, 0, NULL),
                         1);
        ck_assert_int_eq(tel_agent_set_status(conn, w.other.org_id, id, TEL_AGENT_OFFLINE, 0, NULL),
                         -ENOENT);
        cc_db_rollback(conn);
        cc_db_release(conn);
        ck_assert_int_eq(count_events(&w, id), 3); /* rolled back with its change */

        enum tel_agent_status s;
        ck_assert_int_eq(tel_agent_status_parse("wrap_up", &s), 0);
        ck_assert_int_eq(s, TEL_AGENT_WRAP_UP);
        ck_assert_str_eq(tel_agent_status_name(TEL_AGENT_TRAINING), "TRAINING");
        ck_assert_int_eq(tel_agent_status_parse("LUNCH", &s), -EINVAL);
        free(id);
        world_stop(&w);
}
END_TEST

static void expect_agent(struct world *w, const char *id, const char *status, int max_capacity)
{
        struct tt_resp r;
        on_agent(w, "GET", w->sup.token, id, NULL, NULL, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_msg(strcmp(tt_str(r.json, "status"), status) == 0 &&
                          jint(r.json, "max_capacity") == max_capacity,
                      "want %s with max_capacity %d: %s", status, max_capacity, r.body);
        tt_resp_fini(&r);
}

START_TEST(telephony_agents_capacity_and_skills_are_supervisors)
{
        struct world w;
        world_start(&w, false);
        struct tt_resp r;
        char body[256];
        /* an agent makes its own profile, but not with more lines or other skills */
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"max_capacity\":10}", w.agent.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.agent.token, &r);
        tt_expect(&r, 403, "Access denied");
        tt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"skills\":[\"vip\"]}", w.agent.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.agent.token, &r);
        tt_expect(&r, 403, "Access denied");
        tt_resp_fini(&r);
        ck_assert_int_eq(list_len(&w, w.sup.token, ""), 0);
        char *mine = create_agent(&w, w.agent.token, w.agent.user_id,
                                  ",\"max_capacity\":1,\"skills\":[],\"status\":\"AVAILABLE\"");
        on_agent(&w, "PUT", w.sup.token, mine, NULL,
                 "{\"max_capacity\":2,\"skills\":[\"en\",\"sales\"]}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);

        /* nor raise its capacity or change its skills later: routing would favour it */
        static const char *const refused[] = {
            "{\"max_capacity\":10}",
            "{\"max_capacity\":1}",
            "{\"skills\":[\"en\",\"sales\",\"vip\"]}",
            "{\"skills\":[]}",
            "{\"status\":\"BREAK\",\"language\":\"de\",\"max_capacity\":3}",
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(refused); i++) {
                on_agent(&w, "PUT", w.agent.token, mine, NULL, refused[i], &r);
                ck_assert_msg(r.status == 403, "%s: %ld %s", refused[i], r.status, r.body);
                tt_resp_fini(&r);
        }
        on_agent(&w, "GET", w.agent.token, mine, NULL, NULL, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        ck_assert_str_eq(tt_str(r.json, "language"), "en");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 2);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "skills")), 2);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, mine), 1);

        /* status, language and metadata are its own, and the object it read may come back */
        on_agent(&w, "PUT", w.agent.token, mine, NULL,
                 "{\"max_capacity\":2,\"skills\":[\"sales\",\"en\"],\"language\":\"fr\","
                 "\"metadata\":{\"endpoint\":\"client:ann\"},\"status\":\"BREAK\"}",
                 &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "BREAK");
        ck_assert_str_eq(tt_str(r.json, "language"), "fr");
        ck_assert_str_eq(tt_str(json_object_object_get(r.json, "metadata"), "endpoint"),
                         "client:ann");
        ck_assert_int_eq(jint(r.json, "max_capacity"), 2);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, mine), 2);
        free(mine);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_capacity_change_follows_load)
{
        struct world w;
        world_start(&w, false);
        char *id = create_agent(&w, w.sup.token, w.agent.user_id,
                                ",\"status\":\"AVAILABLE\",\"max_capacity\":2");
        /* on one call of two, still AVAILABLE (as routing leaves it) */
        sql_exec(&w, "UPDATE agents SET current_load = 1 WHERE id = $1", id);
        ck_assert_int_eq(available(&w, w.sup.token), 1);
        struct tt_resp r;

        /* lowered to its load, it is full: BUSY, announced with the new capacity */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":1}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "BUSY");
        tt_resp_fini(&r);
        ck_assert_int_eq(available(&w, w.sup.token), 0);
        Cc__Events__V1__Envelope *ev[8];
        ck_assert_int_eq(agent_events(&w, id, ev, 8), 2);
        const Cc__Events__V1__AgentStatusChanged *p = ev[1]->agent_status_changed;
        ck_assert_int_eq(p->previous_status, PB(AVAILABLE));
        ck_assert_int_eq(p->status, PB(BUSY));
        ck_assert_int_eq(p->current_load, 1);
        ck_assert_int_eq(p->max_capacity, 1);
        free_events(ev, 2);

        /* raised, it has room again: AVAILABLE, so routing can offer it the next call */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":3}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "AVAILABLE");
        tt_resp_fini(&r);
        ck_assert_int_eq(available(&w, w.sup.token), 1);
        ck_assert_int_eq(agent_events(&w, id, ev, 8), 3);
        p = ev[2]->agent_status_changed;
        ck_assert_int_eq(p->previous_status, PB(BUSY));
        ck_assert_int_eq(p->status, PB(AVAILABLE));
        ck_assert_int_eq(p->max_capacity, 3);
        free_events(ev, 3);
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":3}", &r);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 3);

        /* asking for AVAILABLE with a capacity that leaves no room gets BUSY, in one change */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"status\":\"AVAILABLE\",\"max_capacity\":1}",
                 &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "BUSY");
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 4);

        /* a BUSY the agent chose stays: asked for with the change, or without any call */
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"status\":\"BUSY\",\"max_capacity\":2}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        expect_agent(&w, id, "BUSY", 2);
        sql_exec(&w, "UPDATE agents SET current_load = 0 WHERE id = $1", id);
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":3}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        expect_agent(&w, id, "BUSY", 3);
        ck_assert_int_eq(count_events(&w, id), 4);

        /* on a break it stays on its break, whatever the capacity */
        set_status(&w, w.agent.token, id, "BREAK", &r);
        tt_resp_fini(&r);
        sql_exec(&w, "UPDATE agents SET current_load = 1 WHERE id = $1", id);
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":1}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        expect_agent(&w, id, "BREAK", 1);
        ck_assert_int_eq(count_events(&w, id), 5);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_available_count)
{
        struct world w;
        world_start(&w, false);
        ck_assert_int_eq(available(&w, w.agent.token), 0);
        char *a = create_agent(&w, w.sup.token, w.agent.user_id, ",\"status\":\"AVAILABLE\"");
        char *b = create_agent(&w, w.sup.token, w.agent2.user_id,
                               ",\"status\":\"AVAILABLE\",\"max_capacity\":2");
        char *c = create_agent(&w, w.sup.token, w.sup.user_id, ",\"status\":\"BREAK\"");
        ck_assert_int_eq(available(&w, w.agent.token), 2);
        /* an agent whose capacity is used up cannot take a call */
        sql_exec(&w, "UPDATE agents SET current_load = 2 WHERE id = $1", b);
        ck_assert_int_eq(available(&w, w.agent.token), 1);

        struct tt_resp r;
        on_agent(&w, "PUT", w.sup.token, b, NULL, "{\"max_capacity\":1}", &r);
        ck_assert_int_eq(r.status, 409);
        ck_assert_msg(strstr(tt_str(r.json, "detail"), "max_capacity") != NULL, "%s", r.body);
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.sup.token, b, NULL, "{\"max_capacity\":3}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "current_load"), 2);
        tt_resp_fini(&r);
        ck_assert_int_eq(available(&w, w.agent.token), 2);
        set_status(&w, w.agent.token, a, "OFFLINE", &r);
        ck_assert_int_eq(r.status, 200);
        tt_resp_fini(&r);
        ck_assert_int_eq(available(&w, w.agent.token), 1);
        ck_assert_int_eq(available(&w, w.other.token), 0);
        free(a);
        free(b);
        free(c);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_agents_bad_input_changes_nothing)
{
        struct world w;
        world_start(&w, false);
        char *id = create_agent(&w, w.sup.token, w.agent.user_id,
                                ",\"skills\":[\"sales\"],\"metadata\":{\"desk\":1}");
        struct tt_resp r;
        on_agent(&w, "GET", w.sup.token, id, NULL, NULL, &r);
        char *before = strdup(r.body);
        tt_resp_fini(&r);

        static const struct {
                const char *body, *field;
        } bad[] = {
            {"[]", "body"},
            {"{\"user_id\":\"nope\"}", "user_id"},
            {"{\"user_id\":null}", "user_id"},
            {"{\"max_capacity\":0}", "max_capacity"},
            {"{\"max_capacity\":11}", "max_capacity"},
            {"{\"max_capacity\":\"2\"}", "max_capacity"},
            {"{\"max_capacity\":1.5}", "max_capacity"},
            {"{\"skills\":\"sales\"}", "skills"},
            {"{\"skills\":[1]}", "skills"},
            {"{\"skills\":[\"\"]}", "skills"},
            {"{\"skills\":[null]}", "skills"},
            {"{\"language\":\"\"}", "language"},
            {"{\"language\":\"e n\"}", "language"},
            {"{\"language\":7}", "language"},
            {"{\"metadata\":[]}", "metadata"},
            {"{\"metadata\":\"x\"}", "metadata"},
            {"{\"metadata\":{\"endpoint\":\"5551234567\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":\"+0551234567\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":\"client:\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":\"client:a b\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":\"sip:\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":\"sip:a b@x\"}}", "metadata.endpoint"},
            {"{\"metadata\":{\"endpoint\":42}}", "metadata.endpoint"},
            {"{\"status\":\"WRAP_UP\"}", "status"},
            {"{\"status\":\"ON_LEAVE\"}", "status"},
        };
        char body[512];
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                /* as a create (for another user; the field under test breaks it) */
                if (strncmp(bad[i].body, "{\"user_id\"", 10) == 0 || bad[i].body[0] == '[')
                        snprintf(body, sizeof(body), "%s", bad[i].body);
                else
                        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",%s", w.agent2.user_id,
                                 bad[i].body + 1);
                tt_call(w.svc, "POST", "/api/agents/", body, w.sup.token, &r);
                expect_422(&r, bad[i].field);
                tt_resp_fini(&r);
                /* and as an update of the existing profile */
                if (strcmp(bad[i].field, "user_id") == 0)
                        continue;
                on_agent(&w, "PUT", w.sup.token, id, NULL, bad[i].body, &r);
                expect_422(&r, bad[i].field);
                tt_resp_fini(&r);
        }
        tt_call(w.svc, "POST", "/api/agents/", "{\"user_id\":", w.sup.token, &r);
        ck_assert_int_eq(r.status, 400);
        tt_resp_fini(&r);
        on_agent(&w, "PUT", w.sup.token, id, NULL, "{\"max_capacity\":", &r);
        ck_assert_int_eq(r.status, 400);
        tt_resp_fini(&r);
        on_agent(&w, "PATCH", w.sup.token, id, "/status", "[\"AVAILABLE\"]", &r);
        expect_422(&r, "body");
        tt_resp_fini(&r);

        on_agent(&w, "GET", w.sup.token, id, NULL, NULL, &r);
        ck_assert_str_eq(r.body, before);
        tt_resp_fini(&r);
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM agents WHERE org_id = $1::uuid", w.admin.org_id), 1);
        ck_assert_int_eq(sql_int(&w, "SELECT count(*) FROM outbox WHERE type <> $1", "-"), 0);

        /* the endpoint forms routing can dial are accepted */
        static const char *const good[] = {"sip:alice@example.com;transport=tls", "+442071838750",
                                           "client:agent_7.desk-2"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(good); i++) {
                snprintf(body, sizeof(body), "{\"metadata\":{\"endpoint\":\"%s\"}}", good[i]);
                on_agent(&w, "PUT", w.sup.token, id, NULL, body, &r);
                ck_assert_msg(r.status == 200, "%s: %ld %s", good[i], r.status, r.body);
                tt_resp_fini(&r);
        }
        free(before);
        free(id);
        world_stop(&w);
}
END_TEST

/* The users consumer through Kafka: events of one key arrive in order, so an event for another
 * user under the same key marks the point where everything produced before it was applied. */
static void mark(struct world *w, const char *key, char ret_user[CC_UUID_LEN + 1])
{
        cc_uuid_v4(ret_user);
        send_user(w, key, "user.created", w->admin.org_id, ret_user, "Mark", "Er", ACTIVE, 1);
        flush(w);
        wait_user(w, ret_user, 1);
}

static void user_name(struct world *w, const char *user_id, char out[64])
{
        struct cc_db_conn *conn = cc_test_acquire(w->pool);
        cc_test_query_value(conn, "SELECT first_name FROM users WHERE id = $1::uuid", user_id, out,
                            64);
        cc_db_release(conn);
}

START_TEST(telephony_agents_users_from_events)
{
        struct world w;
        world_start(&w, true);
        struct tt_resp r;
        char body[256];
        /* users are known with their organization: another organization's user is refused */
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.other.user_id);
        tt_call(w.svc, "POST", "/api/agents/", body, w.admin.token, &r);
        tt_expect(&r, 404, "User not found");
        tt_resp_fini(&r);
        tt_call(w.svc, "POST", "/api/agents/", body, w.other.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "name"), "Oz Other");
        tt_resp_fini(&r);

        char u[CC_UUID_LEN + 1], marker[CC_UUID_LEN + 1], name[64];
        cc_uuid_v4(u);
        /* a newer version, then an older and an equal one: the newer stays */
        send_user(&w, u, "user.updated", w.admin.org_id, u, "Newer", "Person", ACTIVE, 3000);
        send_user(&w, u, "user.created", w.admin.org_id, u, "Oldest", "Person", ACTIVE, 1000);
        send_user(&w, u, "user.updated", w.admin.org_id, u, "Older", "Person", ACTIVE, 2000);
        send_user(&w, u, "user.updated", w.admin.org_id, u, "Same", "Person", ACTIVE, 3000);
        mark(&w, u, marker);
        ck_assert_int_eq(user_version(&w, u), 3000);
        user_name(&w, u, name);
        ck_assert_str_eq(name, "Newer");
        ck_assert_int_eq(sql_int(&w,
                                 "SELECT count(*) FROM users WHERE id = $1::uuid AND "
                                 "skills = ARRAY['sales', 'es'] AND role = 'AGENT' AND "
                                 "status = 'ACTIVE'",
                                 u),
                         1);

        /* a duplicate (same event id) is applied once: after the row was changed here, the
         * redelivered event does not put its version back */
        size_t len;
        char eid[CC_UUID_LEN + 1];
        uint8_t *buf = user_event("user.updated", w.admin.org_id, u, "Again", "Person", ACTIVE,
                                  4000, eid, &len);
        produce(&w, u, buf, len);
        flush(&w);
        wait_user(&w, u, 4000);
        sql_exec(&w, "UPDATE users SET version_ms = 0, first_name = 'Local' WHERE id = $1", u);
        produce(&w, u, buf, len);
        free(buf);
        mark(&w, u, marker);
        user_name(&w, u, name);
        ck_assert_str_eq(name, "Local");
        ck_assert_int_eq(
            sql_int(&w, "SELECT count(*) FROM processed_events WHERE event_id = $1", eid), 1);
        sql_exec(&w, "UPDATE users SET version_ms = 4000 WHERE id = $1", u);

        /* the agent's name follows the user; a deactivated user's agent goes offline */
        char *id = create_agent(&w, w.sup.token, u, ",\"status\":\"AVAILABLE\"");
        send_user(&w, u, "user.updated", w.admin.org_id, u, "Renamed", "Person",
                  CC__EVENTS__V1__USER_STATUS__USER_STATUS_SUSPENDED, 5000);
        flush(&w);
        wait_user(&w, u, 5000);
        on_agent(&w, "GET", w.sup.token, id, NULL, NULL, &r);
        ck_assert_str_eq(tt_str(r.json, "name"), "Renamed Person");
        ck_assert_str_eq(tt_str(r.json, "status"), "OFFLINE");
        tt_resp_fini(&r);
        Cc__Events__V1__Envelope *ev[4];
        ck_assert_int_eq(agent_events(&w, id, ev, 4), 2);
        ck_assert_int_eq(ev[1]->agent_status_changed->previous_status, PB(AVAILABLE));
        ck_assert_int_eq(ev[1]->agent_status_changed->status, PB(OFFLINE));
        free_events(ev, 2);
        ck_assert_int_eq(available(&w, w.sup.token), 0);
        /* and stays there while the user is not active */
        set_status(&w, w.sup.token, id, "AVAILABLE", &r);
        tt_expect(&r, 409, "User account is not active");
        tt_resp_fini(&r);
        set_status(&w, w.sup.token, id, "OFFLINE", &r);
        ck_assert_int_eq(r.status, 200);
        tt_resp_fini(&r);
        send_user(&w, u, "user.updated", w.admin.org_id, u, "Renamed", "Person", ACTIVE, 6000);
        flush(&w);
        wait_user(&w, u, 6000);
        set_status(&w, w.sup.token, id, "AVAILABLE", &r);
        ck_assert_int_eq(r.status, 200);
        tt_resp_fini(&r);
        ck_assert_int_eq(count_events(&w, id), 3);
        free(id);
        world_stop(&w);
}
END_TEST

/* What the consumer does with events that are not a user's, called as the consumer calls it. */
START_TEST(telephony_agents_users_handler_rules)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char org[CC_UUID_LEN + 1], user_id[CC_UUID_LEN + 1];
        cc_uuid_v4(org);
        cc_uuid_v4(user_id);
        Cc__Events__V1__Envelope env;
        char eid[CC_UUID_LEN + 1];
        Cc__Events__V1__TeamChanged team = CC__EVENTS__V1__TEAM_CHANGED__INIT;
        team.team_id = "7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e09";
        cc_event_init(&env, "team.created", org, 0, "gateway", NULL, eid);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_TEAM_CHANGED;
        env.team_changed = &team;
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), 0); /* skipped */
        env.type = "user.future_type";
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), 0);
        /* a user event without a user, or with the wrong payload, is dead-lettered */
        env.type = "user.created";
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), -EBADMSG);
        Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
        Cc__Events__V1__UserCreated created = CC__EVENTS__V1__USER_CREATED__INIT;
        created.user = &user;
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
        env.user_created = &created;
        user.user_id = "not-a-uuid";
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), -EBADMSG);
        env.type = "user.updated";
        user.user_id = user_id;
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), -EBADMSG);
        env.type = "user.created";
        env.org_id = "org-1";
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), -EBADMSG);
        env.org_id = org;
        ck_assert_int_eq(tel_users_apply(conn, &env, NULL), 0); /* and the right one is not */
        cc_db_rollback(conn);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_agents");
        TCase *tc = tcase_create("telephony_agents");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_agents_crud);
        tcase_add_test(tc, telephony_agents_list_filters_and_paging);
        tcase_add_test(tc, telephony_agents_other_org_is_404);
        tcase_add_test(tc, telephony_agents_role_rules);
        tcase_add_test(tc, telephony_agents_status_changes_write_events);
        tcase_add_test(tc, telephony_agents_capacity_and_skills_are_supervisors);
        tcase_add_test(tc, telephony_agents_capacity_change_follows_load);
        tcase_add_test(tc, telephony_agents_available_count);
        tcase_add_test(tc, telephony_agents_bad_input_changes_nothing);
        tcase_add_test(tc, telephony_agents_users_from_events);
        tcase_add_test(tc, telephony_agents_users_handler_rules);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
