/* The IVR: the eight /api/ivr routes (shapes, messages, roles, validation, tenant isolation, the
 * refusal to delete a menu something points at) and the TwiML an inbound call hears, built from
 * the menus by tel_ivr_voice_twiml / tel_ivr_gather_twiml on the service's own schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony_test.h"

#define BASE     "https://cc.example.com"
#define HOOK     BASE "/api/webhooks/twilio/ivr"
#define XMLHEAD  "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
#define XMLTAIL  "</Response>"
#define SAY_HOLD "<Say>Thank you for calling. Please hold while we connect you to an agent.</Say>"
#define GOODBYE  "<Say>Goodbye.</Say><Hangup/>"
#define FORBID   "Supervisor or admin access required"

/* POSTs a menu that must be created; returns its id (heap). */
static char *make_menu(struct cc_service *svc, const struct tt_caller *c, const char *body)
{
        struct tt_resp r;
        tt_call(svc, "POST", "/api/ivr/menus", body, c->token, &r);
        tt_expect(&r, 201, NULL);
        ck_assert(json_object_get_boolean(json_object_object_get(r.json, "success")));
        ck_assert_str_eq(tt_str(r.json, "message"), "IVR menu created");
        json_object *menu = json_object_object_get(r.json, "menu");
        ck_assert_ptr_nonnull(menu);
        ck_assert_int_eq(json_object_object_length(menu), 2);
        ck_assert_ptr_nonnull(tt_str(menu, "name"));
        ck_assert(cc_uuid_valid(tt_str(menu, "id")));
        char *id = strdup(tt_str(menu, "id"));
        tt_resp_fini(&r);
        return id;
}

static void expect_call(struct cc_service *svc, const char *method, const char *path,
                        const char *body, const char *token, long status, const char *detail)
{
        struct tt_resp r;
        tt_call(svc, method, path, body, token, &r);
        ck_assert_msg(r.status == status, "%s %s %s: status %ld (want %ld): %s", method, path,
                      body ? body : "", r.status, status, r.body);
        if (detail)
                tt_expect(&r, status, detail);
        tt_resp_fini(&r);
}

static void set_main_menu(struct cc_service *svc, const struct tt_caller *c, const char *id)
{
        char body[128];
        if (id)
                snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}", id);
        else
                snprintf(body, sizeof(body), "{\"main_menu_id\":null}");
        expect_call(svc, "PUT", "/api/ivr/config", body, c->token, 200, NULL);
}

/* The menu with id in GET /api/ivr/menus (a new reference; NULL when absent). */
static json_object *listed_menu(struct cc_service *svc, const struct tt_caller *c, const char *id,
                                size_t *ret_count)
{
        struct tt_resp r;
        tt_call(svc, "GET", "/api/ivr/menus", NULL, c->token, &r);
        tt_expect(&r, 200, NULL);
        json_object *menus = json_object_object_get(r.json, "menus");
        ck_assert(json_object_is_type(menus, json_type_array));
        json_object *found = NULL;
        for (size_t i = 0; i < json_object_array_length(menus); i++) {
                json_object *m = json_object_array_get_idx(menus, i);
                if (strcmp(tt_str(m, "id"), id) == 0)
                        found = json_object_get(m);
        }
        if (ret_count)
                *ret_count = json_object_array_length(menus);
        tt_resp_fini(&r);
        return found;
}

static long long count_menus(const char *org_id)
{
        return tt_sql_int("SELECT count(*) FROM ivr_menus WHERE org_id = $1", org_id);
}

/* ---- the routes ---- */

START_TEST(telephony_ivr_config_and_menus)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&agent, sup.org_id, "AGENT");
        struct tt_resp r;

        /* The first read creates an empty, active configuration. */
        tt_call(svc, "GET", "/api/ivr/config", NULL, agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert(cc_uuid_valid(tt_str(r.json, "id")));
        char config_id[CC_UUID_LEN + 1];
        snprintf(config_id, sizeof(config_id), "%s", tt_str(r.json, "id"));
        ck_assert_str_eq(tt_str(r.json, "organization_id"), sup.org_id);
        json_object *v = NULL;
        ck_assert(json_object_object_get_ex(r.json, "main_menu_id", &v) && !v);
        ck_assert(json_object_object_get_ex(r.json, "main_menu", &v) && !v);
        ck_assert(json_object_object_get_ex(r.json, "settings", &v) && !v);
        ck_assert(json_object_get_boolean(json_object_object_get(r.json, "active")));
        ck_assert_ptr_nonnull(strchr(tt_str(r.json, "created_at"), 'Z'));
        ck_assert_ptr_nonnull(tt_str(r.json, "updated_at"));
        tt_resp_fini(&r);

        char *sub = make_menu(svc, &sup,
                              "{\"name\":\"Billing\",\"greeting\":\"Billing. Press 1.\","
                              "\"options\":[{\"digit\":\"1\",\"description\":\"invoices\","
                              "\"action\":\"queue\",\"target\":\"billing\"}]}");
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"name\":\"Main\",\"greeting\":\"Welcome\",\"timeout\":7,\"max_retries\":2,"
                 "\"no_input_action\":\"transfer\",\"no_input_target\":\"15551230000\","
                 "\"options\":[{\"digit\":\"#\",\"description\":\"billing\",\"action\":\"menu\","
                 "\"target\":\"%s\",\"metadata\":{\"color\":\"blue\"}},"
                 "{\"digit\":\"0\",\"description\":\"operator\",\"action\":\"transfer\","
                 "\"target\":\"sip:desk@example.com\",\"metadata_payload\":{\"k\":1}},"
                 "{\"digit\":\"9\",\"description\":\"bye\",\"action\":\"hangup\"}]}",
                 sub);
        char *main_id = make_menu(svc, &sup, body);

        /* Listed newest first, with every field of IVRMenu. */
        tt_call(svc, "GET", "/api/ivr/menus", NULL, agent.token, &r);
        tt_expect(&r, 200, NULL);
        json_object *menus = json_object_object_get(r.json, "menus");
        ck_assert_int_eq(json_object_array_length(menus), 2);
        json_object *m = json_object_array_get_idx(menus, 0);
        ck_assert_str_eq(tt_str(m, "id"), main_id);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(menus, 1), "id"), sub);
        ck_assert_str_eq(tt_str(m, "name"), "Main");
        ck_assert_str_eq(tt_str(m, "greeting"), "Welcome");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(m, "timeout")), 7);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(m, "max_retries")), 2);
        ck_assert_str_eq(tt_str(m, "no_input_action"), "transfer");
        ck_assert_str_eq(tt_str(m, "no_input_target"), "+15551230000");
        ck_assert_str_eq(tt_str(m, "invalid_input_action"), "repeat");
        ck_assert(json_object_object_get_ex(m, "invalid_input_target", &v) && !v);
        ck_assert(json_object_get_boolean(json_object_object_get(m, "active")));
        ck_assert_ptr_nonnull(tt_str(m, "created_at"));
        ck_assert_ptr_nonnull(tt_str(m, "updated_at"));
        json_object *opts = json_object_object_get(m, "options");
        ck_assert_int_eq(json_object_array_length(opts), 3);
        json_object *o = json_object_array_get_idx(opts, 0); /* in the order given */
        ck_assert(cc_uuid_valid(tt_str(o, "id")));
        ck_assert_str_eq(tt_str(o, "digit"), "#");
        ck_assert_str_eq(tt_str(o, "description"), "billing");
        ck_assert_str_eq(tt_str(o, "action"), "menu");
        ck_assert_str_eq(tt_str(o, "target"), sub);
        ck_assert_str_eq(tt_str(json_object_object_get(o, "metadata_payload"), "color"), "blue");
        o = json_object_array_get_idx(opts, 1);
        ck_assert_str_eq(tt_str(o, "target"), "sip:desk@example.com");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(
                             json_object_object_get(o, "metadata_payload"), "k")),
                         1);
        o = json_object_array_get_idx(opts, 2);
        ck_assert(json_object_object_get_ex(o, "target", &v) && !v);
        ck_assert(json_object_object_get_ex(o, "metadata_payload", &v) && !v);
        tt_resp_fini(&r);

        /* The configuration names its main menu and shows it whole. */
        tt_call(svc, "PUT", "/api/ivr/config", "{\"settings\":{\"language\":\"en-GB\"}}", sup.token,
                &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "message"), "IVR configuration updated");
        ck_assert(json_object_get_boolean(json_object_object_get(r.json, "success")));
        ck_assert_str_eq(tt_str(json_object_object_get(r.json, "config"), "id"), config_id);
        tt_resp_fini(&r);
        set_main_menu(svc, &sup, main_id);
        tt_call(svc, "GET", "/api/ivr/config", NULL, agent.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "id"), config_id);
        ck_assert_str_eq(tt_str(r.json, "main_menu_id"), main_id);
        json_object *mm = json_object_object_get(r.json, "main_menu");
        ck_assert_str_eq(tt_str(mm, "name"), "Main");
        ck_assert_int_eq(json_object_array_length(json_object_object_get(mm, "options")), 3);
        ck_assert_str_eq(tt_str(json_object_object_get(r.json, "settings"), "language"), "en-GB");
        tt_resp_fini(&r);

        /* An update changes only what it names; options, when given, replace the set. A new
         * no-input action without a target clears the old target. */
        char path[128];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", main_id);
        tt_call(svc, "PUT", path,
                "{\"name\":\"Main 2\",\"no_input_action\":\"hangup\",\"options\":["
                "{\"digit\":\"5\",\"description\":\"support\",\"action\":\"queue\","
                "\"target\":\"support\"}]}",
                sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "message"), "IVR menu updated");
        ck_assert_str_eq(tt_str(json_object_object_get(r.json, "menu"), "id"), main_id);
        tt_resp_fini(&r);
        m = listed_menu(svc, &sup, main_id, NULL);
        ck_assert_str_eq(tt_str(m, "name"), "Main 2");
        ck_assert_str_eq(tt_str(m, "greeting"), "Welcome");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(m, "timeout")), 7);
        ck_assert_str_eq(tt_str(m, "no_input_action"), "hangup");
        ck_assert(json_object_object_get_ex(m, "no_input_target", &v) && !v);
        opts = json_object_object_get(m, "options");
        ck_assert_int_eq(json_object_array_length(opts), 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(opts, 0), "digit"), "5");
        json_object_put(m);
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM ivr_options WHERE org_id = $1", sup.org_id), 2);

        /* A menu still in use is not deleted: the configuration's main menu, another menu's
         * option target. */
        expect_call(svc, "DELETE", path, NULL, sup.token, 409,
                    "IVR menu is the main menu of the IVR configuration; set another main menu "
                    "first");
        snprintf(body, sizeof(body),
                 "{\"options\":[{\"digit\":\"2\",\"description\":\"billing\",\"action\":"
                 "\"menu\",\"target\":\"%s\"}]}",
                 sub);
        expect_call(svc, "PUT", path, body, sup.token, 200, NULL);
        char sub_path[128];
        snprintf(sub_path, sizeof(sub_path), "/api/ivr/menus/%s", sub);
        expect_call(svc, "DELETE", sub_path, NULL, sup.token, 409,
                    "IVR menu is the target of option 2 of menu 'Main 2'; change that option "
                    "first");
        /* A menu whose own option points back at itself goes with it. */
        snprintf(body, sizeof(body),
                 "{\"options\":[{\"digit\":\"*\",\"description\":\"again\",\"action\":\"menu\","
                 "\"target\":\"%s\"}]}",
                 sub);
        expect_call(svc, "PUT", sub_path, body, sup.token, 200, NULL);

        set_main_menu(svc, &sup, NULL);
        tt_call(svc, "GET", "/api/ivr/config", NULL, sup.token, &r);
        ck_assert(json_object_object_get_ex(r.json, "main_menu", &v) && !v);
        ck_assert_str_eq(tt_str(json_object_object_get(r.json, "settings"), "language"), "en-GB");
        tt_resp_fini(&r);
        tt_call(svc, "DELETE", path, NULL, sup.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "message"), "IVR menu deleted");
        ck_assert(json_object_get_boolean(json_object_object_get(r.json, "success")));
        tt_resp_fini(&r);
        expect_call(svc, "DELETE", path, NULL, sup.token, 404, "IVR menu not found");
        expect_call(svc, "PUT", path, "{\"name\":\"x\"}", sup.token, 404, "IVR menu not found");
        expect_call(svc, "DELETE", sub_path, NULL, sup.token, 200, NULL);
        ck_assert_int_eq(count_menus(sup.org_id), 0);
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM ivr_options WHERE org_id = $1", sup.org_id), 0);
        expect_call(svc, "DELETE", "/api/ivr/menus/not-a-uuid", NULL, sup.token, 404,
                    "IVR menu not found");

        free(main_id);
        free(sub);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_ivr_flows)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "ADMIN");
        tt_caller(&agent, sup.org_id, "AGENT");
        char *start =
            make_menu(svc, &sup, "{\"name\":\"Start\",\"greeting\":\"Hi\",\"options\":[]}");
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"name\":\"Night\",\"description\":\"after hours\",\"start_menu_id\":\"%s\","
                 "\"steps\":[{\"type\":\"menu\",\"target\":\"%s\",\"conditions\":{\"after\":"
                 "\"18:00\"}},{\"type\":\"voicemail\"},{\"type\":\"transfer\",\"target\":"
                 "\"+441234567890\"}]}",
                 start, start);
        struct tt_resp r;
        tt_call(svc, "POST", "/api/ivr/flows", body, sup.token, &r);
        tt_expect(&r, 201, NULL);
        ck_assert_str_eq(tt_str(r.json, "message"), "IVR flow created");
        ck_assert(json_object_get_boolean(json_object_object_get(r.json, "success")));
        json_object *f = json_object_object_get(r.json, "flow");
        ck_assert_int_eq(json_object_object_length(f), 2);
        ck_assert_str_eq(tt_str(f, "name"), "Night");
        char flow_id[CC_UUID_LEN + 1];
        snprintf(flow_id, sizeof(flow_id), "%s", tt_str(f, "id"));
        tt_resp_fini(&r);
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM ivr_flow_steps WHERE flow_id = $1", flow_id), 3);
        ck_assert_int_eq(tt_sql_int("SELECT position FROM ivr_flow_steps WHERE flow_id = $1 AND "
                                    "type = 'transfer'",
                                    flow_id),
                         2);

        snprintf(body, sizeof(body), "{\"name\":\"Day\",\"start_menu_id\":\"%s\",\"steps\":[]}",
                 start);
        expect_call(svc, "POST", "/api/ivr/flows", body, sup.token, 201, NULL);

        /* Listed newest first; steps are never shown. */
        tt_call(svc, "GET", "/api/ivr/flows", NULL, agent.token, &r);
        tt_expect(&r, 200, NULL);
        json_object *flows = json_object_object_get(r.json, "flows");
        ck_assert_int_eq(json_object_array_length(flows), 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(flows, 0), "name"), "Day");
        f = json_object_array_get_idx(flows, 1);
        ck_assert_str_eq(tt_str(f, "id"), flow_id);
        ck_assert_str_eq(tt_str(f, "organization_id"), sup.org_id);
        ck_assert_str_eq(tt_str(f, "name"), "Night");
        ck_assert_str_eq(tt_str(f, "description"), "after hours");
        ck_assert_str_eq(tt_str(f, "start_menu_id"), start);
        ck_assert(json_object_get_boolean(json_object_object_get(f, "active")));
        ck_assert_ptr_nonnull(tt_str(f, "created_at"));
        ck_assert_ptr_nonnull(tt_str(f, "updated_at"));
        ck_assert(!json_object_object_get_ex(f, "steps", NULL));
        json_object *v = NULL;
        ck_assert(
            json_object_object_get_ex(json_object_array_get_idx(flows, 0), "description", &v) &&
            !v);
        tt_resp_fini(&r);

        /* Errors change nothing. */
        char missing[CC_UUID_LEN + 1];
        cc_uuid_v4(missing);
        snprintf(body, sizeof(body), "{\"name\":\"X\",\"start_menu_id\":\"%s\",\"steps\":[]}",
                 missing);
        expect_call(svc, "POST", "/api/ivr/flows", body, sup.token, 404, "Start menu not found");
        expect_call(svc, "POST", "/api/ivr/flows",
                    "{\"name\":\"X\",\"start_menu_id\":\"nope\",\"steps\":[]}", sup.token, 404,
                    "Start menu not found");
        snprintf(body, sizeof(body),
                 "{\"name\":\"X\",\"start_menu_id\":\"%s\",\"steps\":[{\"type\":\"hangup\"},"
                 "{\"type\":\"menu\",\"target\":\"%s\"}]}",
                 start, missing);
        expect_call(svc, "POST", "/api/ivr/flows", body, sup.token, 422,
                    "steps[1].target: no such menu");
        static const struct {
                const char *body, *detail;
        } bad[] = {
            {"{\"start_menu_id\":\"S\",\"steps\":[]}", "name: field required"},
            {"{\"name\":\"X\",\"steps\":[]}", "start_menu_id: field required"},
            {"{\"name\":\"X\",\"start_menu_id\":\"S\"}", "steps: field required"},
            {"{\"name\":\"X\",\"start_menu_id\":\"S\",\"steps\":[{\"type\":\"dance\"}]}",
             "steps[0].type: must be one of transfer, queue, menu, voicemail, hangup"},
            {"{\"name\":\"X\",\"start_menu_id\":\"S\",\"steps\":[{\"type\":\"hangup\"},"
             "{\"type\":\"queue\"}]}",
             "steps[1].target: required for queue"},
            {"{\"name\":\"X\",\"start_menu_id\":\"S\",\"steps\":[{\"type\":\"hangup\","
             "\"conditions\":[1]}]}",
             "steps[0].conditions: must be an object"},
            {"{\"name\":\"X\",\"start_menu_id\":\"S\",\"steps\":[7]}",
             "steps[0]: must be an object"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                expect_call(svc, "POST", "/api/ivr/flows", bad[i].body, sup.token, 422,
                            bad[i].detail);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_flows WHERE org_id = $1", sup.org_id),
                         2);

        /* A flow's start menu is in use. */
        char path[128];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", start);
        expect_call(svc, "DELETE", path, NULL, sup.token, 409,
                    "IVR menu is the start menu of flow 'Night'");
        ck_assert_int_eq(count_menus(sup.org_id), 1);

        free(start);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_ivr_roles)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&agent, sup.org_id, "AGENT");
        char *menu = make_menu(svc, &sup, "{\"name\":\"M\",\"greeting\":\"G\",\"options\":[]}");
        char path[128], body[256];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", menu);
        snprintf(body, sizeof(body), "{\"name\":\"F\",\"start_menu_id\":\"%s\",\"steps\":[]}",
                 menu);

        /* Agents read; they change nothing. */
        expect_call(svc, "GET", "/api/ivr/config", NULL, agent.token, 200, NULL);
        expect_call(svc, "GET", "/api/ivr/menus", NULL, agent.token, 200, NULL);
        expect_call(svc, "GET", "/api/ivr/flows", NULL, agent.token, 200, NULL);
        expect_call(svc, "PUT", "/api/ivr/config", "{\"settings\":{}}", agent.token, 403, FORBID);
        expect_call(svc, "POST", "/api/ivr/menus",
                    "{\"name\":\"M\",\"greeting\":\"G\",\"options\":[]}", agent.token, 403, FORBID);
        expect_call(svc, "PUT", path, "{\"name\":\"Hacked\"}", agent.token, 403, FORBID);
        expect_call(svc, "DELETE", path, NULL, agent.token, 403, FORBID);
        expect_call(svc, "POST", "/api/ivr/flows", body, agent.token, 403, FORBID);
        expect_call(svc, "GET", "/api/ivr/menus", NULL, NULL, 401, "Not authenticated");
        expect_call(svc, "PUT", path, "{\"name\":\"Hacked\"}", NULL, 401, "Not authenticated");

        ck_assert_int_eq(count_menus(sup.org_id), 1);
        json_object *m = listed_menu(svc, &sup, menu, NULL);
        ck_assert_str_eq(tt_str(m, "name"), "M");
        json_object_put(m);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_flows WHERE org_id = $1", sup.org_id),
                         0);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_configs WHERE org_id = $1 AND "
                                    "settings IS NOT NULL",
                                    sup.org_id),
                         0);

        free(menu);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_ivr_validation)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char missing[CC_UUID_LEN + 1];
        cc_uuid_v4(missing);

        char long_name[160], long_greeting[1100], many[2048];
        memset(long_name, 'n', 101);
        long_name[101] = '\0';
        memset(long_greeting, 'g', 1001);
        long_greeting[1001] = '\0';
        size_t n = (size_t)snprintf(many, sizeof(many),
                                    "{\"name\":\"M\",\"greeting\":\"G\","
                                    "\"options\":[");
        for (int i = 0; i < 13; i++)
                n += (size_t)snprintf(many + n, sizeof(many) - n,
                                      "%s{\"digit\":\"%d\",\"description\":\"d\",\"action\":"
                                      "\"hangup\"}",
                                      i ? "," : "", i % 10);
        snprintf(many + n, sizeof(many) - n, "]}");

#define MENU(rest)  "{\"name\":\"M\",\"greeting\":\"G\"," rest "}"
#define OPT(fields) MENU("\"options\":[" fields "]")
        char b_name[256], b_greeting[1200], b_target[256];
        snprintf(b_name, sizeof(b_name), "{\"name\":\"%s\",\"greeting\":\"G\",\"options\":[]}",
                 long_name);
        snprintf(b_greeting, sizeof(b_greeting),
                 "{\"name\":\"M\",\"greeting\":\"%s\",\"options\":[]}", long_greeting);
        snprintf(b_target, sizeof(b_target),
                 OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"menu\",\"target\":"
                     "\"%s\"}"),
                 missing);
        const struct {
                const char *body, *detail;
        } bad[] = {
            {"[]", "body: must be a JSON object"},
            {"{}", "name: field required"},
            {"{\"name\":\"\",\"greeting\":\"G\",\"options\":[]}", "name: must not be empty"},
            {b_name, "name: must be at most 100 characters"},
            {"{\"name\":\"M\",\"options\":[]}", "greeting: field required"},
            {b_greeting, "greeting: must be at most 1000 characters"},
            {"{\"name\":\"M\",\"greeting\":\"https:// x\",\"options\":[]}",
             "greeting: not a usable audio URL (http(s)://host/path, no spaces)"},
            {"{\"name\":\"M\",\"greeting\":\"G\"}", "options: field required"},
            {many, "options: must have at most 12 items"},
            {OPT("7"), "options[0]: must be an object"},
            {MENU("\"options\":[],\"active\":\"yes\""), "active: must be a boolean"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"hangup\"},"
                 "{\"digit\":\"2\",\"description\":\"d\",\"action\":\"hangup\"},"
                 "{\"digit\":\"x\",\"description\":\"d\",\"action\":\"hangup\"}"),
             "options[2].digit: must be one of 0-9 * #"},
            {OPT("{\"digit\":\"12\",\"description\":\"d\",\"action\":\"hangup\"}"),
             "options[0].digit: must be one of 0-9 * #"},
            {OPT("{\"digit\":1,\"description\":\"d\",\"action\":\"hangup\"}"),
             "options[0].digit: must be one of 0-9 * #"},
            {OPT("{\"description\":\"d\",\"action\":\"hangup\"}"),
             "options[0].digit: field required"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"hangup\"},"
                 "{\"digit\":\"1\",\"description\":\"e\",\"action\":\"hangup\"}"),
             "options[1].digit: 1 is already used by options[0]"},
            {OPT("{\"digit\":\"1\",\"action\":\"hangup\"}"),
             "options[0].description: field required"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"dance\"}"),
             "options[0].action: must be one of transfer, queue, menu, voicemail, hangup"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"repeat\"}"),
             "options[0].action: must be one of transfer, queue, menu, voicemail, hangup"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"queue\"}"),
             "options[0].target: required for queue"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"queue\",\"target\":\"\"}"),
             "options[0].target: required for queue"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"transfer\","
                 "\"target\":\"12345\"}"),
             "options[0].target: must be a phone number (+ and 8-15 digits), a sip: address or "
             "a client: name"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"transfer\","
                 "\"target\":\"+0123456789\"}"),
             "options[0].target: must be a phone number (+ and 8-15 digits), a sip: address or "
             "a client: name"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"transfer\","
                 "\"target\":\"client:al ice\"}"),
             "options[0].target: must be a phone number (+ and 8-15 digits), a sip: address or "
             "a client: name"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"hangup\","
                 "\"target\":\"x\"}"),
             "options[0].target: not allowed for hangup"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"menu\"}"),
             "options[0].target: required for menu"},
            {b_target, "options[0].target: no such menu"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"menu\",\"target\":\"m\"}"),
             "options[0].target: no such menu"},
            {OPT("{\"digit\":\"1\",\"description\":\"d\",\"action\":\"hangup\","
                 "\"metadata\":\"x\"}"),
             "options[0].metadata: must be an object"},
            {MENU("\"options\":[],\"timeout\":0"), "timeout: must be between 1 and 60"},
            {MENU("\"options\":[],\"timeout\":61"), "timeout: must be between 1 and 60"},
            {MENU("\"options\":[],\"max_retries\":0"), "max_retries: must be between 1 and 10"},
            {MENU("\"options\":[],\"max_retries\":11"), "max_retries: must be between 1 and 10"},
            {MENU("\"options\":[],\"no_input_action\":\"menu\""),
             "no_input_action: must be one of repeat, transfer, voicemail, hangup"},
            {MENU("\"options\":[],\"no_input_action\":\"transfer\""),
             "no_input_target: required for transfer"},
            {MENU("\"options\":[],\"no_input_target\":\"+15551234567\""),
             "no_input_target: not allowed for repeat"},
            {MENU("\"options\":[],\"invalid_input_action\":\"voicemail\","
                  "\"invalid_input_target\":\"x\""),
             "invalid_input_target: not allowed for voicemail"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                expect_call(svc, "POST", "/api/ivr/menus", bad[i].body, sup.token, 422,
                            bad[i].detail);
        ck_assert_int_eq(count_menus(sup.org_id), 0);

        /* A menu may be created inactive (it then never plays). */
        char *inactive = make_menu(svc, &sup, MENU("\"options\":[],\"active\":false"));
        ck_assert_int_eq(
            tt_sql_int("SELECT count(*) FROM ivr_menus WHERE id = $1::uuid AND NOT active",
                       inactive),
            1);
        free(inactive);

        /* The bounds themselves are fine, and an audio URL is a greeting. */
        char *id = make_menu(svc, &sup,
                             MENU("\"greeting\":\"https://cdn.example.com/hi.mp3\",\"timeout\":"
                                  "60,\"max_retries\":10,\"invalid_input_action\":\"transfer\","
                                  "\"invalid_input_target\":\"client:desk_1\",\"options\":[]"));
        char path[128];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", id);

        /* Updates: same checks; a target alone is checked against the stored action; a failed
         * update changes nothing. */
        const struct {
                const char *body, *detail;
        } bad_update[] = {
            {"{\"timeout\":0}", "timeout: must be between 1 and 60"},
            {"{\"name\":\"\"}", "name: must not be empty"},
            {"{\"active\":\"no\"}", "active: must be a boolean"},
            {"{\"no_input_target\":\"+15551234567\"}", "no_input_target: not allowed for repeat"},
            {"{\"invalid_input_target\":\"42\"}",
             "invalid_input_target: must be a phone number (+ and 8-15 digits), a sip: address "
             "or a client: name"},
            {"{\"name\":\"Changed\",\"options\":[{\"digit\":\"1\",\"description\":\"d\","
             "\"action\":\"menu\",\"target\":\"0e5e8f5c-1b0c-4b7e-9f6e-3f1f1f1f1f1f\"}]}",
             "options[0].target: no such menu"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad_update); i++)
                expect_call(svc, "PUT", path, bad_update[i].body, sup.token, 422,
                            bad_update[i].detail);
        json_object *m = listed_menu(svc, &sup, id, NULL);
        ck_assert_str_eq(tt_str(m, "name"), "M");
        ck_assert_str_eq(tt_str(m, "greeting"), "https://cdn.example.com/hi.mp3");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(m, "timeout")), 60);
        ck_assert_str_eq(tt_str(m, "invalid_input_target"), "client:desk_1");
        ck_assert_int_eq(json_object_array_length(json_object_object_get(m, "options")), 0);
        json_object_put(m);
        /* Changing the target alone keeps the stored action. */
        expect_call(svc, "PUT", path, "{\"invalid_input_target\":\"sip:front@example.com\"}",
                    sup.token, 200, NULL);
        m = listed_menu(svc, &sup, id, NULL);
        ck_assert_str_eq(tt_str(m, "invalid_input_action"), "transfer");
        ck_assert_str_eq(tt_str(m, "invalid_input_target"), "sip:front@example.com");
        json_object_put(m);

        /* The configuration. */
        expect_call(svc, "PUT", "/api/ivr/config", "{\"settings\":\"loud\"}", sup.token, 422,
                    "settings: must be an object");
        expect_call(svc, "PUT", "/api/ivr/config", "{\"main_menu_id\":5}", sup.token, 422,
                    "main_menu_id: must be a string");
        expect_call(svc, "PUT", "/api/ivr/config", "{\"active\":1}", sup.token, 422,
                    "active: must be a boolean");
        char body[128];
        snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}", missing);
        expect_call(svc, "PUT", "/api/ivr/config", body, sup.token, 404, "Main menu not found");
        expect_call(svc, "PUT", "/api/ivr/config", "{\"main_menu_id\":\"x\"}", sup.token, 404,
                    "Main menu not found");
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_configs WHERE org_id = $1 AND "
                                    "main_menu_id IS NOT NULL",
                                    sup.org_id),
                         0);

        free(id);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
#undef OPT
#undef MENU
}
END_TEST

/* ---- the TwiML Twilio hears ---- */

struct heard {
        char *doc;
        char action[16];
        char target[128];
};

static void heard_fini(struct heard *h)
{
        free(h->doc);
        memset(h, 0, sizeof(*h));
}

static void gather(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                   const char *menu_id, const char *digits, int attempt, struct heard *ret)
{
        size_t len = 0;
        memset(ret, 0, sizeof(*ret));
        ret->doc = tel_ivr_gather_twiml(conn, org_id, call_id, menu_id, digits, attempt, &len,
                                        ret->action, ret->target);
        ck_assert_msg(ret->doc, "no TwiML for menu %s digits %s", menu_id ? menu_id : "(null)",
                      digits ? digits : "(null)");
        ck_assert_uint_eq(len, strlen(ret->doc));
}

static char *voice(struct cc_db_conn *conn, const char *org_id, const char *call_id)
{
        size_t len = 0;
        char *doc = tel_ivr_voice_twiml(conn, org_id, call_id, &len, NULL, NULL);
        ck_assert_ptr_nonnull(doc);
        ck_assert_uint_eq(len, strlen(doc));
        return doc;
}

/* The <Gather> of a menu as the ivr webhook expects to be called back. */
static char *gather_xml(const char *menu_id, int attempt, const char *call_id, int timeout,
                        const char *inner)
{
        return cc_xasprintf("<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"%d\" action=\"" HOOK
                            "?menu=%s&amp;attempt=%d&amp;call=%s\" method=\"POST\" "
                            "actionOnEmptyResult=\"true\">%s</Gather>",
                            timeout, menu_id, attempt, call_id, inner);
}

static void expect_doc(const char *doc, const char *body)
{
        char *want = cc_xasprintf(XMLHEAD "%s" XMLTAIL, body);
        ck_assert_str_eq(doc, want);
        free(want);
}

static void expect_heard(struct heard *h, const char *body, const char *action, const char *target)
{
        expect_doc(h->doc, body);
        ck_assert_str_eq(h->action, action);
        ck_assert_str_eq(h->target, target);
        heard_fini(h);
}

/* A caller sent to a queue waits in its call's conference with our hold music. */
static char *waiting_xml(const char *before, const char *call_id)
{
        return cc_xasprintf("%s<Dial><Conference startConferenceOnEnter=\"false\" "
                            "endConferenceOnExit=\"true\" beep=\"false\" "
                            "waitUrl=\"https://cc.example.com/api/webhooks/twilio/hold\" "
                            "waitMethod=\"POST\">cc-%s</Conference></Dial>",
                            before, call_id);
}

static void expect_waiting_doc(const char *doc, const char *before, const char *call_id)
{
        char *want = waiting_xml(before, call_id);
        expect_doc(doc, want);
        free(want);
}

static void expect_waiting(struct heard *h, const char *before, const char *call_id,
                           const char *queue)
{
        char *want = waiting_xml(before, call_id);
        expect_heard(h, want, "queue", queue);
        free(want);
}

START_TEST(telephony_ivr_twiml_menus_and_actions)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char call[CC_UUID_LEN + 1];
        cc_uuid_v4(call);
        struct heard h;

        /* No IVR yet: straight to the default queue. */
        char *doc = voice(conn, sup.org_id, call);
        expect_waiting_doc(doc, SAY_HOLD, call);
        free(doc);
        gather(conn, sup.org_id, call, NULL, "1", 1, &h);
        expect_waiting(&h, SAY_HOLD, call, "default");

        char *sub = make_menu(svc, &sup,
                              "{\"name\":\"Sub\",\"greeting\":\"https://cdn.example.com/sub.mp3\","
                              "\"timeout\":3,\"max_retries\":1,\"no_input_action\":\"transfer\","
                              "\"no_input_target\":\"+15550001111\",\"invalid_input_action\":"
                              "\"voicemail\",\"options\":[]}");
        char body[2048];
        snprintf(body, sizeof(body),
                 "{\"name\":\"Main\",\"greeting\":\"Welcome. Press 1 for sales.\",\"max_retries\":"
                 "2,\"options\":["
                 "{\"digit\":\"1\",\"description\":\"sales\",\"action\":\"queue\",\"target\":"
                 "\"sales\"},"
                 "{\"digit\":\"2\",\"description\":\"more\",\"action\":\"menu\",\"target\":"
                 "\"%s\"},"
                 "{\"digit\":\"3\",\"description\":\"desk\",\"action\":\"transfer\",\"target\":"
                 "\"15551234567\"},"
                 "{\"digit\":\"4\",\"description\":\"sip\",\"action\":\"transfer\",\"target\":"
                 "\"sip:desk@example.com\"},"
                 "{\"digit\":\"5\",\"description\":\"client\",\"action\":\"transfer\",\"target\":"
                 "\"client:alice\"},"
                 "{\"digit\":\"6\",\"description\":\"message\",\"action\":\"voicemail\"},"
                 "{\"digit\":\"*\",\"description\":\"bye\",\"action\":\"hangup\"}]}",
                 sub);
        char *main_id = make_menu(svc, &sup, body);
        set_main_menu(svc, &sup, main_id);

        /* A new call hears the main menu, gathering one digit and coming back signed to the
         * ivr hook with its place in the tree. */
        char *g1 = gather_xml(main_id, 1, call, 5, "<Say>Welcome. Press 1 for sales.</Say>");
        doc = voice(conn, sup.org_id, call);
        expect_doc(doc, g1);
        free(doc);

        gather(conn, sup.org_id, call, main_id, "1", 1, &h);
        expect_waiting(&h, "", call, "sales");
        /* A submenu starts at attempt 1; an audio greeting is played. */
        char *gs = gather_xml(sub, 1, call, 3, "<Play>https://cdn.example.com/sub.mp3</Play>");
        gather(conn, sup.org_id, call, main_id, "2", 2, &h);
        expect_heard(&h, gs, "menu", sub);
        gather(conn, sup.org_id, call, main_id, "3", 1, &h);
        expect_heard(&h, "<Dial><Number>+15551234567</Number></Dial>", "transfer", "+15551234567");
        gather(conn, sup.org_id, call, main_id, "4", 1, &h);
        expect_heard(&h, "<Dial><Sip>sip:desk@example.com</Sip></Dial>", "transfer",
                     "sip:desk@example.com");
        gather(conn, sup.org_id, call, main_id, "5", 1, &h);
        expect_heard(&h, "<Dial><Client>alice</Client></Dial>", "transfer", "client:alice");
        gather(conn, sup.org_id, call, main_id, "*", 1, &h);
        expect_heard(&h, "<Hangup/>", "hangup", "");
        char *vm = cc_xasprintf(
            "<Say>Please leave a message after the beep.</Say><Record maxLength=\"120\" "
            "playBeep=\"true\" action=\"" HOOK "?menu=%s&amp;attempt=1&amp;call=%s&amp;done=1\" "
            "recordingStatusCallback=\"" BASE "/api/webhooks/twilio/recording\" "
            "transcribe=\"true\" transcribeCallback=\"" BASE
            "/api/webhooks/twilio/transcription\"/><Hangup/>",
            main_id, call);
        gather(conn, sup.org_id, call, main_id, "6", 1, &h);
        expect_heard(&h, vm, "voicemail", "");
        free(vm);

        /* The submenu's own handling: no input transfers, a wrong digit records a message. */
        gather(conn, sup.org_id, call, sub, NULL, 1, &h);
        expect_heard(&h, "<Dial><Number>+15550001111</Number></Dial>", "transfer", "+15550001111");
        vm = cc_xasprintf("<Say>Please leave a message after the beep.</Say><Record "
                          "maxLength=\"120\" playBeep=\"true\" action=\"" HOOK
                          "?menu=%s&amp;attempt=1&amp;call=%s&amp;done=1\" "
                          "recordingStatusCallback=\"" BASE "/api/webhooks/twilio/recording\" "
                          "transcribe=\"true\" transcribeCallback=\"" BASE
                          "/api/webhooks/twilio/transcription\"/><Hangup/>",
                          sub, call);
        gather(conn, sup.org_id, call, sub, "7", 1, &h);
        expect_heard(&h, vm, "voicemail", "");
        free(vm);

        /* A menu that is not (or no longer) playable replays the main menu. */
        char unknown[CC_UUID_LEN + 1];
        cc_uuid_v4(unknown);
        gather(conn, sup.org_id, call, unknown, "1", 3, &h);
        expect_heard(&h, g1, "menu", main_id);
        gather(conn, sup.org_id, call, NULL, NULL, 1, &h);
        expect_heard(&h, g1, "menu", main_id);
        char path[128];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", sub);
        expect_call(svc, "PUT", path, "{\"active\":false}", sup.token, 200, NULL);
        gather(conn, sup.org_id, call, main_id, "2", 1, &h);
        expect_heard(&h, g1, "menu", main_id);
        gather(conn, sup.org_id, call, sub, "1", 1, &h);
        expect_heard(&h, g1, "menu", main_id);

        /* An inactive configuration is no IVR at all. */
        expect_call(svc, "PUT", "/api/ivr/config", "{\"active\":false}", sup.token, 200, NULL);
        doc = voice(conn, sup.org_id, call);
        expect_waiting_doc(doc, SAY_HOLD, call);
        free(doc);

        free(g1);
        free(gs);
        free(main_id);
        free(sub);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_ivr_twiml_retries_and_escaping)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *call = "call-1";
        struct heard h;

        /* A greeting and a queue name with markup in them stay text. */
        char *id = make_menu(
            svc, &sup,
            "{\"name\":\"Esc\",\"greeting\":\"Tom & Jerry's <\\\"best\\\"> deals\\n\","
            "\"timeout\":9,\"max_retries\":3,\"options\":[{\"digit\":\"#\",\"description\":"
            "\"q\",\"action\":\"queue\",\"target\":\"Sales & <Support>\"}]}");
        set_main_menu(svc, &sup, id);
        const char *say = "<Say>Tom &amp; Jerry&apos;s &lt;&quot;best&quot;&gt; deals\n</Say>";
        char *g1 = gather_xml(id, 1, call, 9, say);
        char *doc = voice(conn, sup.org_id, call);
        expect_doc(doc, g1);
        free(doc);
        gather(conn, sup.org_id, call, id, "#", 1, &h);
        expect_waiting(&h, "", call, "Sales & <Support>");

        /* No input: the menu again, attempt by attempt, then goodbye. */
        char *g2 = gather_xml(id, 2, call, 9, say);
        char *g3 = gather_xml(id, 3, call, 9, say);
        gather(conn, sup.org_id, call, id, NULL, 1, &h);
        expect_heard(&h, g2, "repeat", id);
        gather(conn, sup.org_id, call, id, "", 2, &h);
        expect_heard(&h, g3, "repeat", id);
        gather(conn, sup.org_id, call, id, NULL, 3, &h);
        expect_heard(&h, GOODBYE, "hangup", "");
        gather(conn, sup.org_id, call, id, NULL, 0, &h); /* nonsense attempts count as the first */
        expect_heard(&h, g2, "repeat", id);

        /* A digit no option has: said so, then the menu again; goodbye when attempts run out. */
        char *want = cc_xasprintf("<Say>Sorry, that is not a valid choice.</Say>%s", g2);
        gather(conn, sup.org_id, call, id, "9", 1, &h);
        expect_heard(&h, want, "repeat", id);
        free(want);
        gather(conn, sup.org_id, call, id, "12", 1, &h);
        ck_assert_str_eq(h.action, "repeat");
        heard_fini(&h);
        gather(conn, sup.org_id, call, id, "9", 3, &h);
        expect_heard(&h, GOODBYE, "hangup", "");

        /* Hangup as the configured handling says goodbye at once. */
        char path[128];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", id);
        expect_call(svc, "PUT", path, "{\"no_input_action\":\"hangup\"}", sup.token, 200, NULL);
        gather(conn, sup.org_id, call, id, NULL, 1, &h);
        expect_heard(&h, GOODBYE, "hangup", "");

        free(g1);
        free(g2);
        free(g3);
        free(id);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

/* ---- organizations ---- */

START_TEST(telephony_ivr_tenant_isolation)
{
        struct cc_service *svc = tt_start(NULL, NULL, NULL);
        struct tt_caller a, b;
        tt_caller(&a, NULL, "SUPERVISOR");
        tt_caller(&b, NULL, "ADMIN");
        char *menu_a = make_menu(svc, &a,
                                 "{\"name\":\"A menu\",\"greeting\":\"Secret A\",\"options\":["
                                 "{\"digit\":\"1\",\"description\":\"d\",\"action\":\"queue\","
                                 "\"target\":\"a-queue\"}]}");
        set_main_menu(svc, &a, menu_a);
        char *menu_b =
            make_menu(svc, &b, "{\"name\":\"B menu\",\"greeting\":\"Hello B\",\"options\":[]}");
        char path[128], body[512];
        snprintf(path, sizeof(path), "/api/ivr/menus/%s", menu_a);

        /* B cannot see, change or delete A's menu. */
        size_t count = 0;
        ck_assert_ptr_null(listed_menu(svc, &b, menu_a, &count));
        ck_assert_uint_eq(count, 1);
        struct tt_resp r;
        tt_call(svc, "GET", "/api/ivr/config", NULL, b.token, &r);
        tt_expect(&r, 200, NULL);
        ck_assert_str_eq(tt_str(r.json, "organization_id"), b.org_id);
        ck_assert_ptr_null(strstr(r.body, menu_a));
        ck_assert_ptr_null(strstr(r.body, "Secret A"));
        tt_resp_fini(&r);
        expect_call(svc, "PUT", path, "{\"name\":\"Mine\"}", b.token, 404, "IVR menu not found");
        expect_call(svc, "DELETE", path, NULL, b.token, 404, "IVR menu not found");

        /* Nor point at it from its own IVR. */
        snprintf(body, sizeof(body), "{\"main_menu_id\":\"%s\"}", menu_a);
        expect_call(svc, "PUT", "/api/ivr/config", body, b.token, 404, "Main menu not found");
        snprintf(body, sizeof(body),
                 "{\"name\":\"Steal\",\"greeting\":\"G\",\"options\":[{\"digit\":\"1\","
                 "\"description\":\"d\",\"action\":\"menu\",\"target\":\"%s\"}]}",
                 menu_a);
        expect_call(svc, "POST", "/api/ivr/menus", body, b.token, 422,
                    "options[0].target: no such menu");
        char path_b[128];
        snprintf(path_b, sizeof(path_b), "/api/ivr/menus/%s", menu_b);
        snprintf(body, sizeof(body),
                 "{\"options\":[{\"digit\":\"1\",\"description\":\"d\",\"action\":\"menu\","
                 "\"target\":\"%s\"}]}",
                 menu_a);
        expect_call(svc, "PUT", path_b, body, b.token, 422, "options[0].target: no such menu");
        snprintf(body, sizeof(body), "{\"name\":\"F\",\"start_menu_id\":\"%s\",\"steps\":[]}",
                 menu_a);
        expect_call(svc, "POST", "/api/ivr/flows", body, b.token, 404, "Start menu not found");
        snprintf(body, sizeof(body),
                 "{\"name\":\"F\",\"start_menu_id\":\"%s\",\"steps\":[{\"type\":\"menu\","
                 "\"target\":\"%s\"}]}",
                 menu_b, menu_a);
        expect_call(svc, "POST", "/api/ivr/flows", body, b.token, 422,
                    "steps[0].target: no such menu");
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_flows", NULL), 0);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM ivr_options WHERE target_menu_id IS "
                                    "NOT NULL",
                                    NULL),
                         0);

        /* A's menu is as it was. */
        json_object *m = listed_menu(svc, &a, menu_a, NULL);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(tt_str(m, "name"), "A menu");
        json_object_put(m);

        /* Twilio for B's call naming A's menu hears B's IVR, never A's. */
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        struct heard h;
        gather(conn, b.org_id, "c", menu_a, "1", 1, &h);
        expect_waiting(&h, SAY_HOLD, "c", "default");
        set_main_menu(svc, &b, menu_b);
        char *gb = gather_xml(menu_b, 1, "c", 5, "<Say>Hello B</Say>");
        gather(conn, b.org_id, "c", menu_a, "1", 1, &h);
        expect_heard(&h, gb, "menu", menu_b);
        gather(conn, b.org_id, "c", menu_a, NULL, 1, &h);
        expect_heard(&h, gb, "menu", menu_b);
        cc_db_release(conn);
        cc_db_pool_free(pool);

        free(gb);
        free(menu_a);
        free(menu_b);
        tt_caller_fini(&a);
        tt_caller_fini(&b);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_ivr");
        TCase *tc = tcase_create("telephony_ivr");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_ivr_config_and_menus);
        tcase_add_test(tc, telephony_ivr_flows);
        tcase_add_test(tc, telephony_ivr_roles);
        tcase_add_test(tc, telephony_ivr_validation);
        tcase_add_test(tc, telephony_ivr_twiml_menus_and_actions);
        tcase_add_test(tc, telephony_ivr_twiml_retries_and_escaping);
        tcase_add_test(tc, telephony_ivr_tenant_isolation);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
