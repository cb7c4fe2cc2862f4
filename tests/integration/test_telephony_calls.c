/* The calls core of telephony: the six /api/calls routes (shapes, pagination with a maintained
 * total and a cursor, filters, agent visibility, tenant isolation, validation, soft delete), the
 * state machine as the API and the webhooks apply it (409s, stale and repeated callbacks, derived
 * times and durations), recordings and transcripts, and the call.* events read back from the
 * broker. */
#include <errno.h>
#include <inttypes.h>

#include "telephony_test.h"
#include "cc/event.h"

struct world {
        struct cc_service *svc;
        struct tt_caller admin, sup, agent, agent2, other; /* other: another organization */
};

static void world_start(struct world *w, struct cc_service *svc)
{
        w->svc = svc;
        tt_caller(&w->admin, NULL, "ADMIN");
        tt_caller(&w->sup, w->admin.org_id, "SUPERVISOR");
        tt_caller(&w->agent, w->admin.org_id, "AGENT");
        tt_caller(&w->agent2, w->admin.org_id, "AGENT");
        tt_caller(&w->other, NULL, "ADMIN");
}

static void world_stop(struct world *w)
{
        tt_caller_fini(&w->admin);
        tt_caller_fini(&w->sup);
        tt_caller_fini(&w->agent);
        tt_caller_fini(&w->agent2);
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

static bool jnull(json_object *o, const char *key)
{
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "%s missing", key);
        return v == NULL;
}

/* Creates an INBOUND call as token; returns its id (heap). */
static char *create_call(struct world *w, const char *token, const char *extra)
{
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                 "\"direction\":\"INBOUND\"%s}",
                 extra ? extra : "");
        struct tt_resp r;
        tt_call(w->svc, "POST", "/api/calls/", body, token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

static long put(struct world *w, const char *token, const char *id, const char *body,
                struct tt_resp *ret)
{
        char path[128];
        snprintf(path, sizeof(path), "/api/calls/%s", id);
        return tt_call(w->svc, "PUT", path, body, token, ret);
}

static long on_call(struct world *w, const char *method, const char *token, const char *id,
                    const char *suffix, struct tt_resp *ret)
{
        char path[160];
        snprintf(path, sizeof(path), "/api/calls/%s%s", id, suffix ? suffix : "");
        return tt_call(w->svc, method, path, method[0] == 'P' ? "{}" : NULL, token, ret);
}

static void get_call(struct world *w, const char *token, const char *id, struct tt_resp *r)
{
        on_call(w, "GET", token, id, NULL, r);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
}

static void list(struct world *w, const char *token, const char *query, struct tt_resp *r)
{
        char path[512];
        snprintf(path, sizeof(path), "/api/calls/?%s", query);
        tt_call(w->svc, "GET", path, NULL, token, r);
        ck_assert_msg(r->status == 200, "%s: %ld %s", query, r->status, r->body);
}

static int64_t list_total(struct world *w, const char *token, const char *query)
{
        struct tt_resp r;
        list(w, token, query, &r);
        int64_t total = jint(r.json, "total");
        tt_resp_fini(&r);
        return total;
}

static void expect_422(struct tt_resp *r, const char *field)
{
        ck_assert_msg(r->status == 422, "status %ld: %s", r->status, r->body);
        const char *d = tt_str(r->json, "detail");
        ck_assert_msg(d && strncmp(d, field, strlen(field)) == 0 && d[strlen(field)] == ':',
                      "detail does not name %s: %s", field, r->body);
}

/* A connection on the service's schema for the webhook-side store calls. */
static struct cc_db_pool *pool_open(void)
{
        return cc_test_pool(tt_schema, 2, 5000);
}

static int move(struct cc_db_pool *pool, const char *org, const char *id, enum tel_call_status to,
                enum tel_source src, int64_t at_ms, int duration_s)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const struct tel_transition t = {
            .to = to, .source = src, .at_ms = at_ms, .duration_s = duration_s};
        ck_assert_int_eq(cc_db_begin(conn), 0);
        int r = tel_call_transition(conn, org, id, &t, NULL);
        if (r >= 0)
                ck_assert_int_eq(cc_db_commit(conn), 0);
        else
                cc_db_rollback(conn);
        cc_db_release(conn);
        return r;
}

static struct tel_call load(struct cc_db_pool *pool, const char *org, const char *id)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        struct tel_call c;
        ck_assert_int_eq(tel_call_get(conn, org, id, &c), 0);
        cc_db_release(conn);
        return c;
}

static void time_str(int64_t ms, char out[25])
{
        cc_format_time_ms(ms, out);
}

START_TEST(telephony_calls_crud)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        int64_t before = cc_now_ms();
        /* the collection answers with and without the trailing slash */
        tt_call(w.svc, "POST", "/api/calls",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"INBOUND\",\"metadata\":{\"source\":\"web\",\"keep\":1},"
                "\"campaign_id\":\"7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e01\"}",
                w.sup.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        ck_assert(cc_uuid_valid(id));
        ck_assert_str_eq(tt_str(r.json, "status"), "RINGING"); /* inbound: no provider call */
        ck_assert_str_eq(tt_str(r.json, "direction"), "INBOUND");
        ck_assert_str_eq(tt_str(r.json, "provider"), "TWILIO");
        ck_assert_str_eq(tt_str(r.json, "organization_id"), w.admin.org_id);
        ck_assert_str_eq(tt_str(r.json, "from_number"), "+15550001111");
        ck_assert_str_eq(tt_str(r.json, "campaign_id"), "7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e01");
        ck_assert(jnull(r.json, "agent_id")); /* a supervisor does not become the agent */
        ck_assert(jnull(r.json, "end_time"));
        ck_assert(jnull(r.json, "duration"));
        ck_assert(jnull(r.json, "recording_url"));
        const char *start = tt_str(r.json, "start_time");
        ck_assert_msg(start && strlen(start) == 24 && start[23] == 'Z', "%s", r.body);
        ck_assert_str_eq(start, tt_str(r.json, "created_at"));
        json_object *meta = json_object_object_get(r.json, "extra_metadata");
        ck_assert_str_eq(tt_str(meta, "source"), "web");
        tt_resp_fini(&r);

        get_call(&w, w.sup.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "id"), id);
        ck_assert_str_eq(tt_str(r.json, "status"), "RINGING");
        tt_resp_fini(&r);

        /* fields: metadata is merged key by key (null removes a key) */
        ck_assert_int_eq(put(&w, w.sup.token, id,
                             "{\"notes\":\"called back\",\"disposition\":\"sale\","
                             "\"metadata\":{\"source\":null,\"tier\":\"gold\"},"
                             "\"supervisor_id\":\"7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e02\"}",
                             &r),
                         200);
        ck_assert_str_eq(tt_str(r.json, "notes"), "called back");
        ck_assert_str_eq(tt_str(r.json, "disposition"), "sale");
        ck_assert_str_eq(tt_str(r.json, "supervisor_id"), "7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e02");
        meta = json_object_object_get(r.json, "extra_metadata");
        ck_assert_ptr_null(json_object_object_get(meta, "source"));
        ck_assert_str_eq(tt_str(meta, "tier"), "gold");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(meta, "keep")), 1);
        tt_resp_fini(&r);

        /* answering fills answered_at; the same status again is no change */
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"in_progress\"}", &r), 200);
        ck_assert_str_eq(tt_str(r.json, "status"), "IN_PROGRESS");
        ck_assert_ptr_nonnull(tt_str(r.json, "answered_at"));
        char answered[32];
        snprintf(answered, sizeof(answered), "%s", tt_str(r.json, "answered_at"));
        tt_resp_fini(&r);
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"IN_PROGRESS\"}", &r), 200);
        ck_assert_str_eq(tt_str(r.json, "answered_at"), answered);
        tt_resp_fini(&r);

        /* end forces COMPLETED with the end time and the duration since the start */
        ck_assert_int_eq(on_call(&w, "POST", w.sup.token, id, "/end", &r), 200);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        ck_assert_int_ge(jint(r.json, "duration"), 0);
        ck_assert_int_le(jint(r.json, "duration"), (cc_now_ms() - before) / 1000 + 1);
        tt_resp_fini(&r);
        on_call(&w, "POST", w.sup.token, id, "/end", &r);
        tt_expect(&r, 409, "Call already ended");
        tt_resp_fini(&r);

        /* soft delete: gone from the API and the totals, still in the table */
        ck_assert_int_eq(list_total(&w, w.sup.token, ""), 1);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=COMPLETED"), 1);
        ck_assert_int_eq(on_call(&w, "DELETE", w.sup.token, id, NULL, &r), 204);
        ck_assert_str_eq(r.body, "");
        tt_resp_fini(&r);
        char detail[96];
        snprintf(detail, sizeof(detail), "Call %s not found", id);
        on_call(&w, "GET", w.sup.token, id, NULL, &r);
        tt_expect(&r, 404, detail);
        tt_resp_fini(&r);
        on_call(&w, "DELETE", w.sup.token, id, NULL, &r);
        tt_expect(&r, 404, detail);
        tt_resp_fini(&r);
        ck_assert_int_eq(list_total(&w, w.sup.token, ""), 0);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=COMPLETED"), 0);
        list(&w, w.sup.token, "", &r);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE id = $1 AND deleted_at IS "
                                    "NOT NULL AND status = 'COMPLETED'",
                                    id),
                         1);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_pagination_and_cursor)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        enum { N = 23 };
        char *ids[N];
        for (int i = 0; i < N; i++)
                free(create_call(&w, w.sup.token, NULL));
        /* the order of reference: one page holding them all, newest first (calls started in
         * the same millisecond are ordered by id) */
        struct tt_resp r;
        list(&w, w.sup.token, "page_size=100", &r);
        json_object *all = json_object_object_get(r.json, "items");
        ck_assert_int_eq(json_object_array_length(all), N);
        for (int i = 0; i < N; i++) {
                json_object *c = json_object_array_get_idx(all, i);
                ids[i] = strdup(tt_str(c, "id"));
                if (i > 0)
                        ck_assert_str_ge(
                            tt_str(json_object_array_get_idx(all, i - 1), "start_time"),
                            tt_str(c, "start_time"));
        }
        ck_assert(!json_object_get_boolean(json_object_object_get(r.json, "has_more")));
        ck_assert(jnull(r.json, "next_cursor"));
        tt_resp_fini(&r);
        int seen = 0;
        for (int page = 1; page <= 3; page++) {
                char q[64];
                snprintf(q, sizeof(q), "page=%d&page_size=10", page);
                list(&w, w.sup.token, q, &r);
                ck_assert_int_eq(jint(r.json, "total"), N);
                ck_assert_int_eq(jint(r.json, "page"), page);
                ck_assert_int_eq(jint(r.json, "page_size"), 10);
                ck_assert(json_object_get_boolean(json_object_object_get(r.json, "has_more")) ==
                          (page < 3));
                json_object *items = json_object_object_get(r.json, "items");
                ck_assert_int_eq(json_object_array_length(items), page < 3 ? 10 : 3);
                for (size_t i = 0; i < json_object_array_length(items); i++, seen++)
                        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, i), "id"),
                                         ids[seen]);
                ck_assert(page < 3 ? tt_str(r.json, "next_cursor") != NULL
                                   : jnull(r.json, "next_cursor"));
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(seen, N);
        /* past the end: empty, total still right */
        list(&w, w.sup.token, "page=9&page_size=10", &r);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
        ck_assert_int_eq(jint(r.json, "total"), N);
        ck_assert(!json_object_get_boolean(json_object_object_get(r.json, "has_more")));
        tt_resp_fini(&r);
        /* defaults: page 1 of 20 */
        list(&w, w.sup.token, "", &r);
        ck_assert_int_eq(jint(r.json, "page"), 1);
        ck_assert_int_eq(jint(r.json, "page_size"), 20);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "items")), 20);
        tt_resp_fini(&r);

        /* following next_cursor walks the same order without repeats or gaps */
        char cursor[128] = "";
        seen = 0;
        for (int round = 0; round < 10; round++) {
                char q[200];
                snprintf(q, sizeof(q), "page_size=7%s%s", cursor[0] ? "&cursor=" : "", cursor);
                list(&w, w.sup.token, q, &r);
                ck_assert_int_eq(jint(r.json, "total"), N);
                json_object *items = json_object_object_get(r.json, "items");
                for (size_t i = 0; i < json_object_array_length(items); i++, seen++)
                        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, i), "id"),
                                         ids[seen]);
                bool more = json_object_get_boolean(json_object_object_get(r.json, "has_more"));
                const char *next = tt_str(r.json, "next_cursor");
                ck_assert(more == (next != NULL));
                snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
                tt_resp_fini(&r);
                if (!more)
                        break;
        }
        ck_assert_int_eq(seen, N);
        /* a new call does not shift a cursor walk already under way */
        list(&w, w.sup.token, "page_size=5", &r);
        snprintf(cursor, sizeof(cursor), "%s", tt_str(r.json, "next_cursor"));
        tt_resp_fini(&r);
        char *newer = create_call(&w, w.sup.token, NULL);
        char q[200];
        snprintf(q, sizeof(q), "page_size=5&cursor=%s", cursor);
        list(&w, w.sup.token, q, &r);
        ck_assert_str_eq(
            tt_str(json_object_array_get_idx(json_object_object_get(r.json, "items"), 0), "id"),
            ids[5]);
        ck_assert_int_eq(jint(r.json, "total"), N + 1);
        tt_resp_fini(&r);
        free(newer);

        /* bad paging input names the field */
        const char *bad[][2] = {{"page=0", "page"},
                                {"page=abc", "page"},
                                {"page=-1", "page"},
                                {"page_size=0", "page_size"},
                                {"page_size=101", "page_size"},
                                {"page_size=5x", "page_size"},
                                {"cursor=bm90LWEtY3Vyc29y", "cursor"},
                                {"cursor=%25%25", "cursor"}};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                char path[128];
                snprintf(path, sizeof(path), "/api/calls/?%s", bad[i][0]);
                tt_call(w.svc, "GET", path, NULL, w.sup.token, &r);
                expect_422(&r, bad[i][1]);
                tt_resp_fini(&r);
        }
        for (int i = 0; i < N; i++)
                free(ids[i]);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_status_and_agent_filters)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        char *a = create_call(&w, w.agent.token, NULL);  /* RINGING, agent */
        char *b = create_call(&w, w.agent.token, NULL);  /* -> IN_PROGRESS, agent */
        char *c = create_call(&w, w.agent2.token, NULL); /* -> COMPLETED, agent2 */
        char *d = create_call(&w, w.sup.token, NULL);    /* RINGING, nobody */
        ck_assert_int_eq(put(&w, w.sup.token, b, "{\"status\":\"IN_PROGRESS\"}", NULL), 200);
        ck_assert_int_eq(on_call(&w, "POST", w.sup.token, c, "/end", NULL), 200);

        ck_assert_int_eq(list_total(&w, w.sup.token, ""), 4);
        ck_assert_int_eq(list_total(&w, w.sup.token, "call_status=RINGING"), 2);
        ck_assert_int_eq(list_total(&w, w.sup.token, "call_status=ringing"), 2);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=In_Progress"), 1); /* the alias */
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=COMPLETED"), 1);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=BUSY"), 0);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status="), 4); /* empty: no filter */
        list(&w, w.sup.token, "status=in_progress", &r);
        json_object *items = json_object_object_get(r.json, "items");
        ck_assert_int_eq(json_object_array_length(items), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 0), "id"), b);
        tt_resp_fini(&r);

        tt_call(w.svc, "GET", "/api/calls/?call_status=bogus", NULL, w.sup.token, &r);
        tt_expect(&r, 400, "Invalid call status: bogus");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/calls/?status=in-progress", NULL, w.sup.token, &r);
        tt_expect(&r, 400, "Invalid call status: in-progress");
        tt_resp_fini(&r);
        tt_call(w.svc, "GET", "/api/calls/?agent_id=nobody", NULL, w.sup.token, &r);
        expect_422(&r, "agent_id");
        tt_resp_fini(&r);

        char q[160];
        snprintf(q, sizeof(q), "agent_id=%s", w.agent.user_id);
        ck_assert_int_eq(list_total(&w, w.sup.token, q), 2);
        snprintf(q, sizeof(q), "agent_id=%s&status=RINGING", w.agent.user_id);
        list(&w, w.sup.token, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 1);
        items = json_object_object_get(r.json, "items");
        ck_assert_int_eq(json_object_array_length(items), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 0), "id"), a);
        tt_resp_fini(&r);

        /* reassigning moves the call between the agents' totals */
        char body[128];
        snprintf(body, sizeof(body), "{\"agent_id\":\"%s\"}", w.agent2.user_id);
        ck_assert_int_eq(put(&w, w.sup.token, a, body, NULL), 200);
        snprintf(q, sizeof(q), "agent_id=%s", w.agent.user_id);
        ck_assert_int_eq(list_total(&w, w.sup.token, q), 1);
        snprintf(q, sizeof(q), "agent_id=%s&status=ringing", w.agent2.user_id);
        ck_assert_int_eq(list_total(&w, w.sup.token, q), 1);
        ck_assert_int_eq(put(&w, w.sup.token, d, "{\"agent_id\":null}", NULL), 200);
        free(a);
        free(b);
        free(c);
        free(d);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_agent_sees_only_its_calls)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        tt_call(w.svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"INBOUND\"}",
                w.agent.token, &r);
        ck_assert_int_eq(r.status, 201);
        ck_assert_str_eq(tt_str(r.json, "agent_id"), w.agent.user_id); /* the caller */
        char *mine = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        char *theirs = create_call(&w, w.agent2.token, NULL);
        char *nobodys = create_call(&w, w.admin.token, NULL);

        list(&w, w.agent.token, "", &r);
        ck_assert_int_eq(jint(r.json, "total"), 1);
        json_object *items = json_object_object_get(r.json, "items");
        ck_assert_int_eq(json_object_array_length(items), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 0), "id"), mine);
        tt_resp_fini(&r);
        /* asking for someone else's calls gives nothing, not theirs */
        char q[128];
        snprintf(q, sizeof(q), "agent_id=%s", w.agent2.user_id);
        list(&w, w.agent.token, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 0);
        ck_assert_int_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
        tt_resp_fini(&r);
        ck_assert_int_eq(list_total(&w, w.admin.token, ""), 3);

        const char *others[] = {theirs, nobodys};
        for (size_t i = 0; i < 2; i++) {
                char detail[96];
                snprintf(detail, sizeof(detail), "Call %s not found", others[i]);
                on_call(&w, "GET", w.agent.token, others[i], NULL, &r);
                tt_expect(&r, 404, detail);
                tt_resp_fini(&r);
                put(&w, w.agent.token, others[i], "{\"notes\":\"mine now\"}", &r);
                tt_expect(&r, 404, detail);
                tt_resp_fini(&r);
                on_call(&w, "POST", w.agent.token, others[i], "/end", &r);
                tt_expect(&r, 404, detail);
                tt_resp_fini(&r);
                on_call(&w, "DELETE", w.agent.token, others[i], NULL, &r);
                tt_expect(&r, 404, detail);
                tt_resp_fini(&r);
                get_call(&w, w.admin.token, others[i], &r);
                ck_assert(jnull(r.json, "notes"));
                ck_assert_str_eq(tt_str(r.json, "status"), "RINGING");
                tt_resp_fini(&r);
        }
        /* its own call it may work on */
        ck_assert_int_eq(put(&w, w.agent.token, mine, "{\"notes\":\"ok\"}", NULL), 200);
        ck_assert_int_eq(on_call(&w, "POST", w.agent.token, mine, "/end", NULL), 200);
        free(mine);
        free(theirs);
        free(nobodys);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_other_tenant_is_404)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        char *id = create_call(&w, w.admin.token, ",\"metadata\":{\"a\":1}");
        char detail[96];
        snprintf(detail, sizeof(detail), "Call %s not found", id);
        on_call(&w, "GET", w.other.token, id, NULL, &r);
        tt_expect(&r, 404, detail);
        ck_assert_ptr_null(strstr(r.body, "+1555"));
        tt_resp_fini(&r);
        put(&w, w.other.token, id, "{\"status\":\"COMPLETED\",\"notes\":\"x\"}", &r);
        tt_expect(&r, 404, detail);
        tt_resp_fini(&r);
        on_call(&w, "POST", w.other.token, id, "/end", &r);
        tt_expect(&r, 404, detail);
        tt_resp_fini(&r);
        on_call(&w, "DELETE", w.other.token, id, NULL, &r);
        tt_expect(&r, 404, detail);
        tt_resp_fini(&r);
        ck_assert_int_eq(list_total(&w, w.other.token, ""), 0);
        /* nothing changed */
        get_call(&w, w.admin.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "RINGING");
        ck_assert(jnull(r.json, "notes"));
        tt_resp_fini(&r);
        ck_assert_int_eq(list_total(&w, w.admin.token, ""), 1);
        /* ids that are not UUIDs are simply not found */
        on_call(&w, "GET", w.admin.token, "not-a-uuid", NULL, &r);
        tt_expect(&r, 404, "Call not-a-uuid not found");
        tt_resp_fini(&r);
        /* no token, no calls */
        ck_assert_int_eq(tt_call(w.svc, "GET", "/api/calls/", NULL, NULL, NULL), 401);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_api_refuses_illegal_transitions)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        char *id = create_call(&w, w.sup.token, NULL);
        put(&w, w.sup.token, id, "{\"status\":\"QUEUED\",\"notes\":\"lost\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from RINGING to QUEUED");
        tt_resp_fini(&r);
        put(&w, w.sup.token, id, "{\"status\":\"ON_HOLD\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from RINGING to ON_HOLD");
        tt_resp_fini(&r);
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"IN_PROGRESS\"}", NULL), 200);
        put(&w, w.sup.token, id, "{\"status\":\"RINGING\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from IN_PROGRESS to RINGING");
        tt_resp_fini(&r);
        put(&w, w.sup.token, id, "{\"status\":\"BUSY\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from IN_PROGRESS to BUSY");
        tt_resp_fini(&r);
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"ON_HOLD\"}", NULL), 200);
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"IN_PROGRESS\"}", NULL), 200);
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"status\":\"COMPLETED\"}", &r), 200);
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        ck_assert_int_ge(jint(r.json, "duration"), 0);
        ck_assert_int_eq(jint(r.json, "hold_seconds"), 0);
        tt_resp_fini(&r);
        /* terminal is final, for PUT and /end */
        put(&w, w.sup.token, id, "{\"status\":\"IN_PROGRESS\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from COMPLETED to IN_PROGRESS");
        tt_resp_fini(&r);
        put(&w, w.sup.token, id, "{\"status\":\"FAILED\"}", &r);
        tt_expect(&r, 409, "Cannot change call status from COMPLETED to FAILED");
        tt_resp_fini(&r);
        on_call(&w, "POST", w.sup.token, id, "/end", &r);
        tt_expect(&r, 409, "Call already ended");
        tt_resp_fini(&r);
        /* a refused PUT changed nothing, not even its other fields */
        get_call(&w, w.sup.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert(jnull(r.json, "notes"));
        tt_resp_fini(&r);
        /* ringing straight to a no-answer is fine */
        char *other = create_call(&w, w.sup.token, NULL);
        ck_assert_int_eq(put(&w, w.sup.token, other, "{\"status\":\"no_answer\"}", &r), 200);
        ck_assert_str_eq(tt_str(r.json, "status"), "NO_ANSWER");
        ck_assert_ptr_nonnull(tt_str(r.json, "end_time"));
        ck_assert_int_eq(jint(r.json, "talk_seconds"), 0);
        tt_resp_fini(&r);
        free(other);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_validation)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        const char *bad[][2] = {
            {"{\"to_number\":\"+15550002222\",\"direction\":\"INBOUND\"}", "from_number"},
            {"{\"from_number\":\"+1555\",\"to_number\":\"+15550002222\",\"direction\":\"INBOUND\"}",
             "from_number"},
            {"{\"from_number\":\"+155500011112222333344\",\"to_number\":\"+15550002222\","
             "\"direction\":\"INBOUND\"}",
             "from_number"},
            {"{\"from_number\":\"+1555000111\\n\",\"to_number\":\"+15550002222\","
             "\"direction\":\"INBOUND\"}",
             "from_number"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":5550002222,\"direction\":"
             "\"INBOUND\"}",
             "to_number"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\"}", "direction"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
             "\"direction\":\"SIDEWAYS\"}",
             "direction"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
             "\"direction\":\"INBOUND\",\"campaign_id\":\"12\"}",
             "campaign_id"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
             "\"direction\":\"INBOUND\",\"contact_id\":7}",
             "contact_id"},
            {"{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
             "\"direction\":\"INBOUND\",\"metadata\":[1]}",
             "metadata"},
            {"[1,2]", "body"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                tt_call(w.svc, "POST", "/api/calls/", bad[i][0], w.sup.token, &r);
                expect_422(&r, bad[i][1]);
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE org_id = $1", w.admin.org_id),
                         0);

        char *id = create_call(&w, w.sup.token, NULL);
        char long_disp[64], long_notes[2100], body[2300];
        memset(long_disp, 'd', 51);
        long_disp[51] = '\0';
        memset(long_notes, 'n', 2001);
        long_notes[2001] = '\0';
        char b1[128], b2[2200];
        snprintf(b1, sizeof(b1), "{\"disposition\":\"%s\"}", long_disp);
        snprintf(b2, sizeof(b2), "{\"notes\":\"%s\"}", long_notes);
        const char *bad_put[][2] = {
            {b1, "disposition"},
            {b2, "notes"},
            {"{\"status\":\"DONE\"}", "status"},
            {"{\"status\":3}", "status"},
            {"{\"agent_id\":\"bob\"}", "agent_id"},
            {"{\"supervisor_id\":1}", "supervisor_id"},
            {"{\"metadata\":\"x\"}", "metadata"},
            {"{\"notes\":false}", "notes"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad_put); i++) {
                put(&w, w.sup.token, id, bad_put[i][0], &r);
                expect_422(&r, bad_put[i][1]);
                tt_resp_fini(&r);
        }
        /* the limits themselves are fine */
        long_disp[50] = '\0';
        long_notes[2000] = '\0';
        snprintf(body, sizeof(body), "{\"disposition\":\"%s\",\"notes\":\"%s\"}", long_disp,
                 long_notes);
        ck_assert_int_eq(put(&w, w.sup.token, id, body, &r), 200);
        ck_assert_str_eq(tt_str(r.json, "disposition"), long_disp);
        tt_resp_fini(&r);
        /* null clears */
        ck_assert_int_eq(put(&w, w.sup.token, id, "{\"disposition\":null,\"metadata\":null}", &r),
                         200);
        ck_assert(jnull(r.json, "disposition"));
        ck_assert(jnull(r.json, "extra_metadata"));
        tt_resp_fini(&r);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_outbound_without_provider)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct tt_resp r;
        tt_call(w.svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"OUTBOUND\"}",
                w.sup.token, &r);
        tt_expect(&r, 400, "Telephony service not available");
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM calls WHERE org_id = $1", w.admin.org_id),
                         0);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM outbox WHERE type <> $1", "-"), 0);
        world_stop(&w);
}
END_TEST

/* Counts the events of one call on cc.calls.v1 until deadline; a duplicate would show up in the
 * counts. The last envelope of each type is kept (caller frees). */
struct seen {
        int started, updated, answered, ended, recording, transcribed;
        Cc__Events__V1__Envelope *last_ended, *last_answered, *last_recording, *last_transcribed;
};

static void seen_fini(struct seen *s)
{
        cc_event_free(s->last_ended);
        cc_event_free(s->last_answered);
        cc_event_free(s->last_recording);
        cc_event_free(s->last_transcribed);
}

static void keep(Cc__Events__V1__Envelope **slot, Cc__Events__V1__Envelope *env)
{
        cc_event_free(*slot);
        *slot = env;
}

static void collect(const char *call_id, struct seen *s, int want_ended, int want_updated)
{
        struct cc_kafka_consumer *c = cc_test_consumer("cc.calls.v1", NULL, NULL);
        int64_t deadline = cc_monotonic_us() + 30 * 1000000LL;
        struct cc_kafka_message msg;
        while (cc_test_consume(c, deadline, &msg) == 0) {
                bool mine =
                    msg.key_len == strlen(call_id) && memcmp(msg.key, call_id, msg.key_len) == 0;
                Cc__Events__V1__Envelope *env =
                    mine ? cc_event_unpack(msg.value, msg.value_len) : NULL;
                cc_kafka_message_release(&msg);
                if (!env)
                        continue;
                switch (env->payload_case) {
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED:
                        s->started++;
                        cc_event_free(env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED:
                        s->updated++;
                        cc_event_free(env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED:
                        s->answered++;
                        keep(&s->last_answered, env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED:
                        s->ended++;
                        keep(&s->last_ended, env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_RECORDING_READY:
                        s->recording++;
                        keep(&s->last_recording, env);
                        break;
                case CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_TRANSCRIBED:
                        s->transcribed++;
                        keep(&s->last_transcribed, env);
                        break;
                default:
                        cc_event_free(env);
                }
                /* once everything expected is in, linger briefly to catch a duplicate */
                if (s->ended >= want_ended && s->updated >= want_updated &&
                    deadline > cc_monotonic_us() + 1500000)
                        deadline = cc_monotonic_us() + 1500000;
        }
        cc_kafka_consumer_free(c);
}

START_TEST(telephony_calls_webhook_changes_and_events)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct cc_db_pool *pool = pool_open();
        const char *org = w.admin.org_id;
        char *id = create_call(&w, w.agent.token, NULL);
        int64_t s = load(pool, org, id).started_at_ms;
        ck_assert_int_gt(s, 0);

        /* answered at +5 s; Twilio's retry of that and a late "ringing" change nothing */
        ck_assert_int_eq(
            move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_WEBHOOK, s + 5000, -1), 0);
        ck_assert_int_eq(
            move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_WEBHOOK, s + 5500, -1), 1);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_RINGING, TEL_SOURCE_WEBHOOK, s + 6000, -1),
                         1);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_QUEUED, TEL_SOURCE_WEBHOOK, s + 6000, -1), 1);
        struct tel_call c = load(pool, org, id);
        ck_assert_int_eq(c.status, TEL_CALL_IN_PROGRESS);
        ck_assert_int_eq(c.answered_at_ms, s + 5000);
        /* the API is refused the same moves */
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_RINGING, TEL_SOURCE_API, 0, -1), -EPERM);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_API, 0, -1), -EPERM);

        /* held 10..25 s (a supervisor's hold); Twilio's "in-progress" meanwhile does not resume */
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_ON_HOLD, TEL_SOURCE_API, s + 10000, -1), 0);
        ck_assert_int_eq(
            move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_WEBHOOK, s + 12000, -1), 1);
        ck_assert_int_eq(load(pool, org, id).status, TEL_CALL_ON_HOLD);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_API, s + 25000, -1),
                         0);
        /* completed at +65 s with Twilio's CallDuration 58; its retry changes nothing */
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_COMPLETED, TEL_SOURCE_WEBHOOK, s + 65000, 58),
                         0);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_COMPLETED, TEL_SOURCE_WEBHOOK, s + 70000, 61),
                         1);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_FAILED, TEL_SOURCE_WEBHOOK, s + 70000, -1),
                         1);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_FAILED, TEL_SOURCE_API, s + 70000, -1),
                         -EPERM);
        ck_assert_int_eq(move(pool, "7a7c6c8e-8a43-4c3c-9d4e-1f7f0e0e0e09", id, TEL_CALL_FAILED,
                              TEL_SOURCE_WEBHOOK, 0, -1),
                         -ENOENT);

        struct tt_resp r;
        char t[25];
        get_call(&w, w.agent.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "COMPLETED");
        ck_assert_int_eq(jint(r.json, "duration"), 58);
        ck_assert_int_eq(jint(r.json, "hold_seconds"), 15);
        ck_assert_int_eq(jint(r.json, "talk_seconds"), 60 - 15);
        time_str(s + 5000, t);
        ck_assert_str_eq(tt_str(r.json, "answered_at"), t);
        time_str(s + 65000, t);
        ck_assert_str_eq(tt_str(r.json, "end_time"), t);
        time_str(s, t);
        ck_assert_str_eq(tt_str(r.json, "start_time"), t);
        tt_resp_fini(&r);

        /* a recording: in-progress then completed (one event), Twilio's retry ignored */
        struct cc_db_conn *conn = cc_test_acquire(pool);
        c = load(pool, org, id);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(tel_call_recording(conn, &c, "RE0001", NULL, -1, "in-progress", NULL), 0);
        ck_assert_int_eq(tel_call_recording(conn, &c, "RE0001", "https://rec.example/RE0001", 42,
                                            "completed", NULL),
                         0);
        ck_assert_int_eq(tel_call_recording(conn, &c, "RE0001", "https://rec.example/RE0001", 42,
                                            "completed", NULL),
                         1);
        ck_assert_int_eq(
            tel_call_transcript(conn, &c, "TR0001", "RE0001", "I need help & <more>", 0.87, NULL),
            0);
        ck_assert_int_eq(
            tel_call_transcript(conn, &c, "TR0001", "RE0001", "I need help & <more>", 0.87, NULL),
            1);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);
        get_call(&w, w.agent.token, id, &r);
        ck_assert_str_eq(tt_str(r.json, "recording_url"), "https://rec.example/RE0001");
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM transcripts WHERE call_id = $1", id), 1);

        struct seen e = {0};
        /* started, then updated for: answer, hold, resume, completion */
        collect(id, &e, 1, 4);
        ck_assert_int_eq(e.started, 1);
        ck_assert_int_eq(e.updated, 4);
        ck_assert_int_eq(e.answered, 1);
        ck_assert_int_eq(e.ended, 1);
        ck_assert_int_eq(e.recording, 1);
        ck_assert_int_eq(e.transcribed, 1);
        Cc__Events__V1__CallEnded *end = e.last_ended->call_ended;
        ck_assert_str_eq(e.last_ended->type, "call.ended");
        ck_assert_str_eq(e.last_ended->org_id, org);
        ck_assert_str_eq(e.last_ended->producer, "telephony");
        ck_assert_int_eq(end->status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
        ck_assert_int_eq(end->direction, CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND);
        ck_assert_str_eq(end->agent_id, w.agent.user_id);
        ck_assert_int_eq(end->started_at_ms, s);
        ck_assert_int_eq(end->answered_at_ms, s + 5000);
        ck_assert_int_eq(end->ended_at_ms, s + 65000);
        ck_assert_int_eq(end->duration_seconds, 58);
        ck_assert_int_eq(end->talk_seconds, 45);
        ck_assert_int_eq(end->hold_seconds, 15);
        ck_assert_int_eq(end->queue_wait_seconds, 0);
        ck_assert(!end->abandoned);
        ck_assert_str_eq(end->from_number, "+15550001111");
        ck_assert_int_eq(e.last_answered->call_answered->answered_at_ms, s + 5000);
        Cc__Events__V1__CallRecordingReady *rec = e.last_recording->call_recording_ready;
        ck_assert_str_eq(rec->recording_id, "RE0001");
        ck_assert_str_eq(rec->recording_url, "https://rec.example/RE0001");
        ck_assert_int_eq(rec->duration_seconds, 42);
        Cc__Events__V1__CallTranscribed *tr = e.last_transcribed->call_transcribed;
        ck_assert_str_eq(tr->text, "I need help & <more>");
        ck_assert_int_eq(tr->speaker, CC__EVENTS__V1__SPEAKER__SPEAKER_CUSTOMER);
        ck_assert(tr->confidence > 0.86 && tr->confidence < 0.88);
        ck_assert(cc_uuid_valid(tr->segment_id));
        ck_assert_int_ge(tr->offset_ms, 0);
        seen_fini(&e);

        cc_db_pool_free(pool);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_durations_without_twilio)
{
        struct world w;
        world_start(&w, tt_start(NULL, NULL, NULL));
        struct cc_db_pool *pool = pool_open();
        const char *org = w.admin.org_id;
        char *id = create_call(&w, w.sup.token, NULL);
        int64_t s = load(pool, org, id).started_at_ms;
        /* two holds add up; the end derives duration from the clock, talk minus the holds */
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_API, s + 2000, -1),
                         0);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_ON_HOLD, TEL_SOURCE_API, s + 3000, -1), 0);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_IN_PROGRESS, TEL_SOURCE_API, s + 7000, -1),
                         0);
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_ON_HOLD, TEL_SOURCE_API, s + 9000, -1), 0);
        /* ending while on hold closes the hold */
        ck_assert_int_eq(move(pool, org, id, TEL_CALL_COMPLETED, TEL_SOURCE_API, s + 12000, -1), 0);
        struct tt_resp r;
        get_call(&w, w.sup.token, id, &r);
        ck_assert_int_eq(jint(r.json, "duration"), 12);
        ck_assert_int_eq(jint(r.json, "hold_seconds"), 4 + 3);
        ck_assert_int_eq(jint(r.json, "talk_seconds"), 10 - 7);
        tt_resp_fini(&r);
        /* never answered: no talk, duration is the ringing */
        char *missed = create_call(&w, w.sup.token, NULL);
        s = load(pool, org, missed).started_at_ms;
        ck_assert_int_eq(
            move(pool, org, missed, TEL_CALL_NO_ANSWER, TEL_SOURCE_WEBHOOK, s + 30000, -1), 0);
        get_call(&w, w.sup.token, missed, &r);
        ck_assert_int_eq(jint(r.json, "duration"), 30);
        ck_assert_int_eq(jint(r.json, "talk_seconds"), 0);
        ck_assert(jnull(r.json, "answered_at"));
        tt_resp_fini(&r);
        /* a deleted call still hears how it ended (webhooks), the API no longer finds it */
        char *gone = create_call(&w, w.sup.token, NULL);
        ck_assert_int_eq(on_call(&w, "DELETE", w.sup.token, gone, NULL, NULL), 204);
        ck_assert_int_eq(move(pool, org, gone, TEL_CALL_COMPLETED, TEL_SOURCE_API, 0, -1), -ENOENT);
        ck_assert_int_eq(move(pool, org, gone, TEL_CALL_COMPLETED, TEL_SOURCE_WEBHOOK, 0, 3), 0);
        ck_assert_int_eq(tt_sql_int("SELECT duration_s FROM calls WHERE id = $1", gone), 3);
        ck_assert_int_eq(list_total(&w, w.sup.token, ""), 2);
        ck_assert_int_eq(list_total(&w, w.sup.token, "status=completed"), 1);
        free(gone);
        free(missed);
        cc_db_pool_free(pool);
        free(id);
        world_stop(&w);
}
END_TEST

START_TEST(telephony_calls_outbound_twilio_unreachable)
{
        int port = 0;
        int fd = cc_test_bound_socket(&port); /* refuses connections */
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        struct world w;
        world_start(&w, tt_start(base, "AC00000000000000000000000000000001", "token-1"));
        struct tt_resp r;
        tt_call(w.svc, "POST", "/api/calls/",
                "{\"from_number\":\"+15550001111\",\"to_number\":\"+15550002222\","
                "\"direction\":\"OUTBOUND\"}",
                w.agent.token, &r);
        ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
        ck_assert_msg(strncmp(tt_str(r.json, "detail"), "Twilio unavailable", 18) == 0, "%s",
                      r.body);
        tt_resp_fini(&r);
        /* the attempt stays on record, FAILED */
        list(&w, w.agent.token, "", &r);
        ck_assert_int_eq(jint(r.json, "total"), 1);
        json_object *call = json_object_array_get_idx(json_object_object_get(r.json, "items"), 0);
        ck_assert_str_eq(tt_str(call, "status"), "FAILED");
        ck_assert_str_eq(tt_str(call, "direction"), "OUTBOUND");
        ck_assert_ptr_nonnull(tt_str(call, "end_time"));
        char *id = strdup(tt_str(call, "id"));
        tt_resp_fini(&r);
        struct seen e = {0};
        collect(id, &e, 1, 1);
        ck_assert_int_eq(e.started, 1);
        ck_assert_int_eq(e.ended, 1);
        ck_assert_int_eq(e.answered, 0);
        ck_assert_int_eq(e.last_ended->call_ended->status,
                         CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_FAILED);
        ck_assert_int_eq(e.last_ended->call_ended->direction,
                         CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND);
        ck_assert_str_eq(e.last_ended->call_ended->agent_id, w.agent.user_id);
        ck_assert_int_eq(e.last_ended->call_ended->talk_seconds, 0);
        seen_fini(&e);
        free(id);
        close(fd);
        world_stop(&w);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_calls");
        TCase *tc = tcase_create("telephony_calls");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_calls_crud);
        tcase_add_test(tc, telephony_calls_pagination_and_cursor);
        tcase_add_test(tc, telephony_calls_status_and_agent_filters);
        tcase_add_test(tc, telephony_calls_agent_sees_only_its_calls);
        tcase_add_test(tc, telephony_calls_other_tenant_is_404);
        tcase_add_test(tc, telephony_calls_api_refuses_illegal_transitions);
        tcase_add_test(tc, telephony_calls_validation);
        tcase_add_test(tc, telephony_calls_outbound_without_provider);
        tcase_add_test(tc, telephony_calls_webhook_changes_and_events);
        tcase_add_test(tc, telephony_calls_durations_without_twilio);
        tcase_add_test(tc, telephony_calls_outbound_twilio_unreachable);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
