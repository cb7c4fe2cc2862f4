/* Teams and user management through the gateway: the eight team routes with their WE DO rules,
 * the role matrix over every gateway-owned route, and tenant isolation (another organization's
 * ids are 404 and nothing changes). */
#include "gateway_test.h"

struct world {
        struct cc_service *svc;
        struct gt_session admin, sup, agent, other_admin;
};

static void world_start(struct world *w)
{
        w->svc = gt_start(true);
        gt_signup(w->svc, "admin@a.example", &w->admin);
        gt_add_user(w->svc, &w->admin, "sup@a.example", "SUPERVISOR", &w->sup);
        gt_add_user(w->svc, &w->admin, "agent@a.example", "AGENT", &w->agent);
        gt_signup(w->svc, "admin@b.example", &w->other_admin);
}

static void world_stop(struct world *w)
{
        gt_session_fini(&w->admin);
        gt_session_fini(&w->sup);
        gt_session_fini(&w->agent);
        gt_session_fini(&w->other_admin);
        cc_service_stop(w->svc);
}

/* Creates a team as s; returns its id (heap). */
static char *make_team(struct world *w, const struct gt_session *s, const char *body)
{
        struct gt_resp r;
        gt_call(w->svc, "POST", "/api/teams/", body, s->access, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(gt_str(r.json, "id"));
        gt_resp_fini(&r);
        return id;
}

START_TEST(gateway_teams_crud_and_members)
{
        struct world w;
        world_start(&w);
        struct gt_resp r;
        gt_call(w.svc, "POST", "/api/teams/",
                "{\"name\":\"Tier 1\",\"skills\":[\"billing\"],\"max_members\":2}", w.sup.access,
                &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "name"), "Tier 1");
        ck_assert_str_eq(gt_str(r.json, "supervisor_id"), w.sup.user_id); /* defaults to caller */
        ck_assert_str_eq(gt_str(r.json, "organization_id"), w.admin.org_id);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "current_members")), 0);
        ck_assert_ptr_null(json_object_object_get(r.json, "description"));
        char *team = strdup(gt_str(r.json, "id"));
        gt_resp_fini(&r);

        char path[256], body[256];
        snprintf(path, sizeof(path), "/api/teams/%s/members", team);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"lead\"}", w.agent.user_id);
        gt_call(w.svc, "POST", path, body, w.sup.access, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "role"), "LEAD");
        ck_assert_str_eq(gt_str(r.json, "user_id"), w.agent.user_id);
        ck_assert_ptr_nonnull(gt_str(r.json, "joined_at"));
        gt_resp_fini(&r);
        gt_call(w.svc, "POST", path, body, w.sup.access, &r);
        gt_expect_detail(&r, 400, "User is already a team member");
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.other_admin.user_id);
        gt_call(w.svc, "POST", path, body, w.sup.access, &r);
        gt_expect_detail(&r, 404, "User not found");
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"role\":\"boss\"}", w.sup.user_id);
        gt_call(w.svc, "POST", path, body, w.sup.access, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "role:", 5) == 0, "%s", r.body);
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.sup.user_id);
        gt_call(w.svc, "POST", path, body, w.sup.access, &r);
        ck_assert_int_eq(r.status, 201);
        ck_assert_str_eq(gt_str(r.json, "role"), "MEMBER");
        gt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", w.admin.user_id);
        ck_assert_int_eq(gt_call(w.svc, "POST", path, body, w.sup.access, NULL), 400); /* full */

        /* an agent reads members and the team */
        gt_call(w.svc, "GET", path, NULL, w.agent.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_object_array_length(r.json), 2);
        gt_resp_fini(&r);
        snprintf(path, sizeof(path), "/api/teams/%s", team);
        gt_call(w.svc, "GET", path, NULL, w.agent.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "current_members")), 2);
        gt_resp_fini(&r);

        /* update changes only what is given */
        gt_call(w.svc, "PUT", path, "{\"description\":\"first line\",\"max_members\":5}",
                w.sup.access, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(gt_str(r.json, "name"), "Tier 1");
        ck_assert_str_eq(gt_str(r.json, "description"), "first line");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "max_members")), 5);
        gt_resp_fini(&r);
        gt_call(w.svc, "PUT", path, "{\"max_members\":1}", w.sup.access, &r);
        ck_assert_int_eq(r.status, 422);
        gt_resp_fini(&r);
        gt_call(w.svc, "PUT", path, "{\"name\":\"\"}", w.sup.access, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "name:", 5) == 0, "%s", r.body);
        gt_resp_fini(&r);

        /* remove a member, then a missing one */
        snprintf(path, sizeof(path), "/api/teams/%s/members/%s", team, w.agent.user_id);
        ck_assert_int_eq(gt_call(w.svc, "DELETE", path, NULL, w.sup.access, NULL), 204);
        gt_call(w.svc, "DELETE", path, NULL, w.sup.access, &r);
        gt_expect_detail(&r, 404, "Team member not found");
        gt_resp_fini(&r);

        /* list: newest first, total, paging and its bounds */
        char *t2 = make_team(&w, &w.admin, "{\"name\":\"Tier 2\"}");
        gt_call(w.svc, "GET", "/api/teams/?skip=0&limit=1", NULL, w.agent.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "total")), 2);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "limit")), 1);
        json_object *teams = json_object_object_get(r.json, "teams");
        ck_assert_int_eq(json_object_array_length(teams), 1);
        ck_assert_str_eq(gt_str(json_object_array_get_idx(teams, 0), "id"), t2);
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_call(w.svc, "GET", "/api/teams?", NULL, w.agent.access, NULL), 200);
        gt_call(w.svc, "GET", "/api/teams/?limit=1000", NULL, w.agent.access, &r);
        ck_assert_int_eq(r.status, 422);
        ck_assert_msg(strncmp(gt_str(r.json, "detail"), "limit:", 6) == 0, "%s", r.body);
        gt_resp_fini(&r);

        /* delete */
        snprintf(path, sizeof(path), "/api/teams/%s", team);
        ck_assert_int_eq(gt_call(w.svc, "DELETE", path, NULL, w.sup.access, NULL), 204);
        gt_call(w.svc, "GET", path, NULL, w.sup.access, &r);
        gt_expect_detail(&r, 404, "Team not found");
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_sql_int("SELECT count(*) FROM outbox WHERE type LIKE 'team.%' AND "
                                    "$1 <> ''",
                                    "x"),
                         7); /* created x2, member_added x2, updated, member_removed, deleted */
        free(team);
        free(t2);
        world_stop(&w);
}
END_TEST

START_TEST(gateway_teams_role_matrix)
{
        struct world w;
        world_start(&w);
        char *team = make_team(&w, &w.sup, "{\"name\":\"Matrix\"}");
        char team_path[128], members[160], member[256], user[128];
        snprintf(team_path, sizeof(team_path), "/api/teams/%s", team);
        snprintf(members, sizeof(members), "/api/teams/%s/members", team);
        snprintf(member, sizeof(member), "/api/teams/%s/members/%s", team, w.agent.user_id);
        snprintf(user, sizeof(user), "/api/users/%s", w.agent.user_id);
        struct {
                const char *method, *path, *body;
                int need; /* 1 agent, 2 supervisor, 3 admin */
        } routes[] = {
            {"GET", "/api/auth/me", NULL, 1},
            {"GET", "/api/teams/", NULL, 1},
            {"GET", team_path, NULL, 1},
            {"GET", members, NULL, 1},
            {"POST", "/api/teams/", "{\"name\":\"x\"}", 2},
            {"PUT", team_path, "{\"name\":\"y\"}", 2},
            {"POST", members, "{\"user_id\":\"00000000-0000-4000-8000-000000000000\"}", 2},
            {"DELETE", member, NULL, 2},
            {"GET", "/api/users", NULL, 3},
            {"POST", "/api/users", "{}", 3},
            {"GET", user, NULL, 3},
            {"PUT", user, "{}", 3},
            {"DELETE", user, NULL, 3},
        };
        const struct gt_session *who[] = {&w.agent, &w.sup};
        for (size_t i = 0; i < CC_ARRAY_SIZE(routes); i++) {
                for (int k = 0; k < 2; k++) {
                        int level = k + 1;
                        struct gt_resp r;
                        gt_call(w.svc, routes[i].method, routes[i].path, routes[i].body,
                                who[k]->access, &r);
                        if (level < routes[i].need)
                                ck_assert_msg(r.status == 403, "%s %s as level %d: %ld %s",
                                              routes[i].method, routes[i].path, level, r.status,
                                              r.body);
                        else
                                ck_assert_msg(r.status != 403 && r.status != 401,
                                              "%s %s as level %d: %ld %s", routes[i].method,
                                              routes[i].path, level, r.status, r.body);
                        gt_resp_fini(&r);
                }
                /* and nobody without a token */
                ck_assert_int_eq(
                    gt_call(w.svc, routes[i].method, routes[i].path, routes[i].body, NULL, NULL),
                    401);
        }
        /* the public routes need no token */
        ck_assert_int_eq(gt_call(w.svc, "GET", "/.well-known/jwks.json", NULL, NULL, NULL), 200);
        ck_assert_int_eq(gt_call(w.svc, "POST", "/api/auth/logout", NULL, NULL, NULL), 200);
        /* a demoted supervisor loses its rights before its token expires */
        gt_call(w.svc, "PUT", user, "{\"role\":\"AGENT\"}", w.admin.access, NULL);
        char sup_user[128];
        snprintf(sup_user, sizeof(sup_user), "/api/users/%s", w.sup.user_id);
        ck_assert_int_eq(
            gt_call(w.svc, "PUT", sup_user, "{\"role\":\"AGENT\"}", w.admin.access, NULL), 200);
        ck_assert_int_eq(
            gt_call(w.svc, "POST", "/api/teams/", "{\"name\":\"z\"}", w.sup.access, NULL), 403);
        free(team);
        world_stop(&w);
}
END_TEST

START_TEST(gateway_teams_tenant_isolation)
{
        struct world w;
        world_start(&w);
        char *team = make_team(&w, &w.admin, "{\"name\":\"Private\"}");
        const struct gt_session *b = &w.other_admin;
        char path[256], body[256];
        struct gt_resp r;

        snprintf(path, sizeof(path), "/api/teams/%s", team);
        gt_call(w.svc, "GET", path, NULL, b->access, &r);
        gt_expect_detail(&r, 404, "Team not found");
        gt_resp_fini(&r);
        gt_call(w.svc, "PUT", path, "{\"name\":\"stolen\"}", b->access, &r);
        gt_expect_detail(&r, 404, "Team not found");
        gt_resp_fini(&r);
        ck_assert_int_eq(gt_call(w.svc, "DELETE", path, NULL, b->access, NULL), 404);
        snprintf(path, sizeof(path), "/api/teams/%s/members", team);
        ck_assert_int_eq(gt_call(w.svc, "GET", path, NULL, b->access, NULL), 404);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", b->user_id);
        ck_assert_int_eq(gt_call(w.svc, "POST", path, body, b->access, NULL), 404);
        gt_call(w.svc, "GET", "/api/teams/", NULL, b->access, &r);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "total")), 0);
        gt_resp_fini(&r);

        snprintf(path, sizeof(path), "/api/users/%s", w.agent.user_id);
        gt_call(w.svc, "GET", path, NULL, b->access, &r);
        gt_expect_detail(&r, 404, "User not found");
        gt_resp_fini(&r);
        ck_assert_int_eq(
            gt_call(w.svc, "PUT", path, "{\"first_name\":\"Mallory\"}", b->access, NULL), 404);
        ck_assert_int_eq(gt_call(w.svc, "DELETE", path, NULL, b->access, NULL), 404);
        gt_call(w.svc, "GET", "/api/users", NULL, b->access, &r);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(r.json, "total")), 1);
        gt_resp_fini(&r);

        /* nothing changed in org A */
        gt_call(w.svc, "GET", path, NULL, w.admin.access, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(gt_str(r.json, "first_name"), "Al");
        ck_assert_str_eq(gt_str(r.json, "status"), "ACTIVE");
        gt_resp_fini(&r);
        snprintf(path, sizeof(path), "/api/teams/%s", team);
        gt_call(w.svc, "GET", path, NULL, w.admin.access, &r);
        ck_assert_str_eq(gt_str(r.json, "name"), "Private");
        gt_resp_fini(&r);
        /* ids that are not UUIDs are simply not found */
        ck_assert_int_eq(gt_call(w.svc, "GET", "/api/teams/not-a-uuid", NULL, b->access, NULL),
                         404);
        free(team);
        world_stop(&w);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("gateway_teams");
        TCase *tc = tcase_create("gateway_teams");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, gt_suite_setup, gt_suite_teardown);
        tcase_add_test(tc, gateway_teams_crud_and_members);
        tcase_add_test(tc, gateway_teams_role_matrix);
        tcase_add_test(tc, gateway_teams_tenant_isolation);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
