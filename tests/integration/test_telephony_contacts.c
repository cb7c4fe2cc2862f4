/* Contacts (§5.4): create, read, update and delete scoped through the campaign's organization,
 * the list's filters and totals, roles, and the CSV import with its exact counts and messages:
 * quoted fields, BOM, malformed and short rows, files refused whole (nothing imported), uploads
 * larger than the server's usual body limit, and oversize ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contacts_internal.h"
#include "telephony_test.h"

#define BOUNDARY "----ccContactsTestBoundary7MA4YWxkTrZu0gW"
#define CONTACTS "/api/contacts/"
/* tt_env keeps the server's ordinary body limit at 64 KiB; uploads get their own. */
#define UPLOAD_MAX "300000"

static struct cc_service *start(void)
{
        tt_env(NULL, NULL, NULL);
        setenv("CC_UPLOAD_MAX_BYTES", UPLOAD_MAX, 1);
        setenv("CC_DEFAULT_COUNTRY_CODE", "1", 1);
        struct cc_service *svc = NULL;
        char err[512];
        ck_assert_msg(cc_service_start(&tt_def, &svc, err, sizeof(err)) == 0, "start: %s", err);
        return svc;
}

/* A campaign of org written straight to the table (the campaign routes are not under test). */
static void campaign_new(const char *org_id, char id[CC_UUID_LEN + 1])
{
        cc_uuid_v4(id);
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {id, org_id};
        cc_test_exec(conn,
                     "INSERT INTO campaigns (id, org_id, organization_label, name, type) "
                     "VALUES ($1, $2, 'test-org', 'Contacts test', 'OUTBOUND')",
                     2, p);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

static void campaign_delete(const char *id)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {id};
        cc_test_exec(conn, "UPDATE campaigns SET deleted_at = now() WHERE id = $1", 1, p);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

/* One statement with one parameter, in the test's schema. */
static void sql1(const char *sql, const char *param)
{
        struct cc_db_pool *pool = cc_test_pool(tt_schema, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {param};
        cc_test_exec(conn, sql, 1, p);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

static long long contacts_in(const char *campaign_id)
{
        return tt_sql_int("SELECT count(*) FROM contacts WHERE campaign_id = $1", campaign_id);
}

/* POST body (len bytes, may hold anything) with a content type and a bearer token. */
static long post_raw(struct cc_service *svc, const char *path, const char *content_type,
                     const char *body, size_t len, const char *token, struct tt_resp *ret)
{
        char url[512], ct[256], auth[4096];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", cc_service_port(svc), path);
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        const char *hdrs[] = {ct, auth, NULL};
        struct cc_test_response r;
        cc_test_http("POST", url, body, len, hdrs, &r);
        struct tt_resp out = {.status = r.status, .body = strdup(r.body)};
        out.json = r.body[0] == '{' ? json_tokener_parse(r.body) : NULL;
        cc_test_response_fini(&r);
        *ret = out;
        return out.status;
}

/* The browser's form: one part named `file` holding csv (csv_len bytes). */
static char *form(const char *csv, size_t csv_len, const char *part_name, size_t *ret_len)
{
        struct cc_strbuf b = {0};
        cc_strbuf_printf(
            &b,
            "--" BOUNDARY "\r\n"
            "Content-Disposition: form-data; name=\"%s\"; filename=\"contacts.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n",
            part_name);
        cc_strbuf_append(&b, csv, csv_len);
        cc_strbuf_puts(&b, "\r\n--" BOUNDARY "--\r\n");
        *ret_len = b.len;
        return cc_strbuf_take(&b);
}

static long import_csv(struct cc_service *svc, const char *token, const char *campaign_id,
                       const char *csv, size_t csv_len, struct tt_resp *ret)
{
        char path[256];
        snprintf(path, sizeof(path), "/api/contacts/bulk-import?campaign_id=%s", campaign_id);
        size_t len;
        char *body = form(csv, csv_len, "file", &len);
        long st =
            post_raw(svc, path, "multipart/form-data; boundary=" BOUNDARY, body, len, token, ret);
        free(body);
        return st;
}

static int64_t jint(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        ck_assert_msg(v && json_object_is_type(v, json_type_int), "%s missing", key);
        return json_object_get_int64(v);
}

static void expect_import(struct tt_resp *r, int64_t imported, int64_t failed,
                          const char *const *errors)
{
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
        ck_assert_msg(jint(r->json, "imported") == imported, "%s", r->body);
        ck_assert_msg(jint(r->json, "failed") == failed, "%s", r->body);
        ck_assert_msg(jint(r->json, "total") == imported + failed, "%s", r->body);
        json_object *errs = json_object_object_get(r->json, "errors");
        ck_assert_msg(errs && json_object_is_type(errs, json_type_array), "%s", r->body);
        size_t n = 0;
        while (errors && errors[n])
                n++;
        ck_assert_msg(json_object_array_length(errs) == n, "%s", r->body);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(errs, i)),
                                 errors[i]);
}

static char *create_contact(struct cc_service *svc, const struct tt_caller *c,
                            const char *campaign_id, const char *phone, const char *name)
{
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"campaign_id\":\"%s\",\"phone_number\":\"%s\",\"name\":\"%s\"}", campaign_id,
                 phone, name);
        struct tt_resp r;
        tt_call(svc, "POST", CONTACTS, body, c->token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        return id;
}

/* GET the list; returns the response (caller finis). */
static void list(struct cc_service *svc, const struct tt_caller *c, const char *query,
                 struct tt_resp *r)
{
        char path[512];
        snprintf(path, sizeof(path), CONTACTS "?%s", query);
        tt_call(svc, "GET", path, NULL, c->token, r);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
}

static json_object *list_items(struct tt_resp *r)
{
        json_object *arr = json_object_object_get(r->json, "contacts");
        ck_assert_msg(arr && json_object_is_type(arr, json_type_array), "%s", r->body);
        return arr;
}

START_TEST(telephony_contacts_crud)
{
        struct cc_service *svc = start();
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&agent, sup.org_id, "AGENT");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        struct tt_resp r;

        /* Created by an agent, the number normalised to E.164, extra_metadata kept inside. */
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"campaign_id\":\"%s\",\"phone_number\":\"(555) 010-0001\",\"name\":\"Ann\","
                 "\"email\":\"ann@example.com\",\"extra_metadata\":{\"source\":\"fair\"}}",
                 camp);
        tt_call(svc, "POST", CONTACTS, body, agent.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "phone_number"), "+15550100001");
        ck_assert_str_eq(tt_str(r.json, "campaign_id"), camp);
        ck_assert_str_eq(tt_str(r.json, "name"), "Ann");
        ck_assert_str_eq(tt_str(r.json, "status"), "PENDING");
        ck_assert_int_eq(jint(r.json, "attempts"), 0);
        ck_assert_ptr_null(tt_str(r.json, "notes"));
        ck_assert_ptr_null(tt_str(r.json, "last_attempt"));
        ck_assert_ptr_nonnull(tt_str(r.json, "created_at"));
        ck_assert(!json_object_object_get_ex(r.json, "extra_metadata", NULL));
        char *id = strdup(tt_str(r.json, "id"));
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM contacts WHERE id = $1 AND "
                                    "extra_metadata->>'source' = 'fair'",
                                    id),
                         1);

        /* Numbers in other forms. */
        struct {
                const char *in, *stored;
        } numbers[] = {
            {"+44 20 7946 0958", "+442079460958"},
            {"0044.20.7946.0958", "+442079460958"},
            {"1-555-010-0002", "+15550100002"},
            {"sip:ann@pbx", "sip:ann@pbx"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(numbers); i++) {
                snprintf(body, sizeof(body), "{\"campaign_id\":\"%s\",\"phone_number\":\"%s\"}",
                         camp, numbers[i].in);
                tt_call(svc, "POST", CONTACTS, body, sup.token, &r);
                ck_assert_msg(r.status == 201, "%s: %ld %s", numbers[i].in, r.status, r.body);
                ck_assert_str_eq(tt_str(r.json, "phone_number"), numbers[i].stored);
                tt_resp_fini(&r);
        }

        /* Validation: 422 naming the field, nothing created. */
        long long before = contacts_in(camp);
        const char *bad[] = {
            "{\"phone_number\":\"+15550100009\"}",
            "{\"campaign_id\":\"not-a-uuid\",\"phone_number\":\"+15550100009\"}",
            "{\"campaign_id\":\"%s\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"12345\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+1555010000999999999999\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"notes\":7}",
            "[1]",
            /* 10 to 20 characters once trimmed: blank and padded-out short ones are refused */
            "{\"campaign_id\":\"%s\",\"phone_number\":\"            \"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"      12345      \"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"\"}",
            /* control characters, tab and line breaks only in notes */
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"name\":\"A\\u0001\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"name\":\"A\\nB\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"email\":"
            "\"\\u001b[31m@x\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"name\":\"DEL\\u007f\"}",
            "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\",\"notes\":\"bell\\u0007\"}",
        };
        const char *fields[] = {"campaign_id",  "campaign_id",  "phone_number", "phone_number",
                                "phone_number", "notes",        "body",         "phone_number",
                                "phone_number", "phone_number", "name",         "name",
                                "email",        "name",         "notes"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                snprintf(body, sizeof(body), bad[i], camp);
                tt_call(svc, "POST", CONTACTS, body, sup.token, &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", body, r.status, r.body);
                ck_assert_msg(strncmp(tt_str(r.json, "detail"), fields[i], strlen(fields[i])) == 0,
                              "%s", r.body);
                tt_resp_fini(&r);
        }
        ck_assert_int_eq(contacts_in(camp), before);
        /* Trimmed before it is counted and stored; 20 characters of several bytes each are
         * kept whole. Notes keep tabs and line breaks; "" is no value, as in the import. */
        snprintf(body, sizeof(body),
                 "{\"campaign_id\":\"%s\",\"phone_number\":\"   555 010 0010   \","
                 "\"name\":\"\",\"email\":\"\",\"notes\":\"line one\\n\\tline two\"}",
                 camp);
        tt_call(svc, "POST", CONTACTS, body, sup.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "phone_number"), "+15550100010");
        ck_assert_ptr_null(tt_str(r.json, "name"));
        ck_assert_ptr_null(tt_str(r.json, "email"));
        ck_assert_str_eq(tt_str(r.json, "notes"), "line one\n\tline two");
        tt_resp_fini(&r);
        static const char wide[] = "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                                   "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9";
        snprintf(body, sizeof(body), "{\"campaign_id\":\"%s\",\"phone_number\":\"%s\"}", camp,
                 wide);
        tt_call(svc, "POST", CONTACTS, body, sup.token, &r);
        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
        ck_assert_str_eq(
            tt_str(r.json, "phone_number"),
            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
        tt_resp_fini(&r);
        before = contacts_in(camp);
        /* A campaign that does not exist. */
        char other[CC_UUID_LEN + 1];
        cc_uuid_v4(other);
        snprintf(body, sizeof(body), "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100009\"}",
                 other);
        tt_call(svc, "POST", CONTACTS, body, sup.token, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);

        /* Read and update (an agent may). */
        char path[128];
        snprintf(path, sizeof(path), CONTACTS "%s", id);
        tt_call(svc, "GET", path, NULL, agent.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "email"), "ann@example.com");
        tt_resp_fini(&r);
        tt_call(svc, "PUT", path,
                "{\"status\":\"do_not_call\",\"attempts\":2,\"outcome\":\"asked not to be called\","
                "\"notes\":\"be polite\",\"email\":null,\"phone_number\":\"555 010 0003\"}",
                agent.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "DO_NOT_CALL");
        ck_assert_int_eq(jint(r.json, "attempts"), 2);
        ck_assert_str_eq(tt_str(r.json, "outcome"), "asked not to be called");
        ck_assert_str_eq(tt_str(r.json, "notes"), "be polite");
        ck_assert_ptr_null(tt_str(r.json, "email"));
        ck_assert_str_eq(tt_str(r.json, "phone_number"), "+15550100003");
        ck_assert_str_eq(tt_str(r.json, "name"), "Ann"); /* not named: unchanged */
        tt_resp_fini(&r);
        const char *bad_updates[] = {
            "{\"status\":\"SLEEPING\"}",
            "{\"attempts\":-1}",
            "{\"phone_number\":\"123\"}",
            "{\"outcome\":7}",
            "{\"phone_number\":\"          \"}",
            "{\"outcome\":\"x\\u0001\"}",
            "{\"email\":\"a\\u001b@x\"}",
            "{\"notes\":\"\\u0002\"}",
            "{\"name\":\"a\\rb\"}",
        };
        const char *update_fields[] = {"status",  "attempts",     "phone_number",
                                       "outcome", "phone_number", "outcome",
                                       "email",   "notes",        "name"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad_updates); i++) {
                tt_call(svc, "PUT", path, bad_updates[i], sup.token, &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", bad_updates[i], r.status, r.body);
                ck_assert_msg(strncmp(tt_str(r.json, "detail"), update_fields[i],
                                      strlen(update_fields[i])) == 0,
                              "%s", r.body);
                tt_resp_fini(&r);
        }
        tt_call(svc, "GET", path, NULL, sup.token, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "DO_NOT_CALL");
        ck_assert_int_eq(jint(r.json, "attempts"), 2);
        ck_assert_str_eq(tt_str(r.json, "outcome"), "asked not to be called");
        tt_resp_fini(&r);
        /* "" clears, as null does. */
        tt_call(svc, "PUT", path, "{\"outcome\":\"\",\"notes\":\"\"}", sup.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_ptr_null(tt_str(r.json, "outcome"));
        ck_assert_ptr_null(tt_str(r.json, "notes"));
        tt_resp_fini(&r);

        /* Delete: supervisors only. */
        tt_call(svc, "DELETE", path, NULL, agent.token, &r);
        tt_expect(&r, 403, "Supervisor or admin access required");
        tt_resp_fini(&r);
        tt_call(svc, "DELETE", path, NULL, sup.token, &r);
        ck_assert_msg(r.status == 204 && r.body[0] == '\0', "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        tt_call(svc, "GET", path, NULL, sup.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        tt_call(svc, "DELETE", path, NULL, sup.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        tt_call(svc, "GET", CONTACTS "not-a-uuid", NULL, sup.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);

        free(id);
        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

static void get_contact(struct cc_service *svc, const struct tt_caller *c, const char *id,
                        struct tt_resp *r)
{
        char path[128];
        snprintf(path, sizeof(path), CONTACTS "%s", id);
        tt_call(svc, "GET", path, NULL, c->token, r);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
}

static void put_contact(struct cc_service *svc, const struct tt_caller *c, const char *id,
                        const char *body, struct tt_resp *r)
{
        char path[128];
        snprintf(path, sizeof(path), CONTACTS "%s", id);
        tt_call(svc, "PUT", path, body, c->token, r);
}

/* As the dialer leaves a contact it gave up on: FAILED after 3 tries (the campaign's default
 * max_attempts), a retry time and an outcome. */
static void dialer_gave_up(const char *id)
{
        sql1("UPDATE contacts SET status = 'FAILED', attempts = 3, last_attempt = now(), "
             "next_attempt = now() + interval '1 hour', outcome = 'busy' WHERE id = $1",
             id);
}

START_TEST(telephony_contacts_status_rules)
{
        struct cc_service *svc = start();
        struct tt_caller agent;
        tt_caller(&agent, NULL, "AGENT");
        char camp[CC_UUID_LEN + 1];
        campaign_new(agent.org_id, camp);
        char *id = create_contact(svc, &agent, camp, "+15550100001", "Ann");
        struct tt_resp r;

        /* DIALING and CONNECTED belong to the dialer. */
        const char *dialers[] = {"{\"status\":\"DIALING\"}", "{\"status\":\"connected\"}"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(dialers); i++) {
                put_contact(svc, &agent, id, dialers[i], &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", dialers[i], r.status, r.body);
                ck_assert_msg(strncmp(tt_str(r.json, "detail"), "status:", 7) == 0, "%s", r.body);
                tt_resp_fini(&r);
        }
        get_contact(svc, &agent, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "PENDING");
        tt_resp_fini(&r);

        /* PENDING is a retry: the dialer's count, retry time and outcome start over, so the
         * contact is dialled again. */
        dialer_gave_up(id);
        put_contact(svc, &agent, id, "{\"status\":\"PENDING\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "PENDING");
        ck_assert_int_eq(jint(r.json, "attempts"), 0);
        ck_assert_ptr_null(tt_str(r.json, "next_attempt"));
        ck_assert_ptr_null(tt_str(r.json, "outcome"));
        ck_assert_ptr_nonnull(tt_str(r.json, "last_attempt"));
        tt_resp_fini(&r);
        /* What the body sets itself wins over the reset. */
        dialer_gave_up(id);
        put_contact(svc, &agent, id,
                    "{\"status\":\"pending\",\"attempts\":1,\"outcome\":\"call after 5\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "attempts"), 1);
        ck_assert_str_eq(tt_str(r.json, "outcome"), "call after 5");
        ck_assert_ptr_null(tt_str(r.json, "next_attempt"));
        tt_resp_fini(&r);

        /* attempts stays within the campaign's max_attempts (3), and a PENDING contact below
         * it, or it would never be dialled and hold its campaign open. */
        const char *bad[] = {"{\"attempts\":4}", "{\"attempts\":3}",
                             "{\"status\":\"PENDING\",\"attempts\":3}",
                             "{\"status\":\"FAILED\",\"attempts\":2147483647}"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                put_contact(svc, &agent, id, bad[i], &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", bad[i], r.status, r.body);
                ck_assert_msg(strncmp(tt_str(r.json, "detail"), "attempts:", 9) == 0, "%s", r.body);
                tt_resp_fini(&r);
        }
        put_contact(svc, &agent, id, "{\"status\":\"FAILED\",\"attempts\":3}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "attempts"), 3);
        tt_resp_fini(&r);

        /* No retry while a call placed for the contact is still up; other statuses may be
         * set (the customer asks not to be called again, mid-call). */
        char call[CC_UUID_LEN + 1];
        cc_uuid_v4(call);
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO calls (id, org_id, direction, status, from_number, to_number, "
                 "campaign_id, contact_id) VALUES ('%s', '%s', 'OUTBOUND', 'IN_PROGRESS', "
                 "'+15550000000', '+15550100001', '%s', $1)",
                 call, agent.org_id, camp);
        sql1(sql, id);
        put_contact(svc, &agent, id, "{\"status\":\"PENDING\",\"notes\":\"again\"}", &r);
        tt_expect(&r, 409, "Contact has a call in progress");
        tt_resp_fini(&r);
        get_contact(svc, &agent, id, &r);
        ck_assert_str_eq(tt_str(r.json, "status"), "FAILED");
        ck_assert_int_eq(jint(r.json, "attempts"), 3);
        ck_assert_ptr_null(tt_str(r.json, "notes"));
        tt_resp_fini(&r);
        put_contact(svc, &agent, id, "{\"status\":\"DO_NOT_CALL\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        tt_resp_fini(&r);
        /* Once it has ended, the retry goes through. */
        sql1("UPDATE calls SET status = 'COMPLETED', ended_at = now() WHERE id = $1", call);
        put_contact(svc, &agent, id, "{\"status\":\"PENDING\"}", &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "status"), "PENDING");
        ck_assert_int_eq(jint(r.json, "attempts"), 0);
        tt_resp_fini(&r);

        free(id);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_list_filters_and_totals)
{
        struct cc_service *svc = start();
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char a[CC_UUID_LEN + 1], b[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, a);
        campaign_new(sup.org_id, b);
        char *ids[5];
        for (int i = 0; i < 5; i++) {
                char phone[32], name[16];
                snprintf(phone, sizeof(phone), "+1555010%04d", i);
                snprintf(name, sizeof(name), "a%d", i);
                ids[i] = create_contact(svc, &sup, a, phone, name);
        }
        char *in_b = create_contact(svc, &sup, b, "+15550109999", "b0");
        struct tt_resp r;
        char path[160];
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), CONTACTS "%s", ids[i]);
                tt_call(svc, "PUT", path, "{\"status\":\"COMPLETED\"}", sup.token, &r);
                ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
                tt_resp_fini(&r);
        }

        char q[256];
        /* One campaign, newest first, paged; total counts them all. */
        snprintf(q, sizeof(q), "campaign_id=%s&skip=1&limit=2", a);
        list(svc, &sup, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 5);
        ck_assert_int_eq(jint(r.json, "skip"), 1);
        ck_assert_int_eq(jint(r.json, "limit"), 2);
        json_object *items = list_items(&r);
        ck_assert_uint_eq(json_object_array_length(items), 2);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 0), "name"), "a3");
        ck_assert_str_eq(tt_str(json_object_array_get_idx(items, 1), "name"), "a2");
        tt_resp_fini(&r);
        /* By status, any case. */
        snprintf(q, sizeof(q), "campaign_id=%s&status=completed", a);
        list(svc, &sup, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 2);
        ck_assert_uint_eq(json_object_array_length(list_items(&r)), 2);
        tt_resp_fini(&r);
        /* Every campaign of the organization, the bare "?" the client sends, defaults. */
        list(svc, &sup, "", &r);
        ck_assert_int_eq(jint(r.json, "total"), 6);
        ck_assert_int_eq(jint(r.json, "skip"), 0);
        ck_assert_int_eq(jint(r.json, "limit"), 50);
        ck_assert_uint_eq(json_object_array_length(list_items(&r)), 6);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(list_items(&r), 0), "id"), in_b);
        tt_resp_fini(&r);
        list(svc, &sup, "status=PENDING", &r);
        ck_assert_int_eq(jint(r.json, "total"), 4);
        tt_resp_fini(&r);
        /* A deleted contact leaves the totals. */
        snprintf(path, sizeof(path), CONTACTS "%s", ids[4]);
        tt_call(svc, "DELETE", path, NULL, sup.token, &r);
        tt_resp_fini(&r);
        snprintf(q, sizeof(q), "campaign_id=%s", a);
        list(svc, &sup, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 4);
        ck_assert_uint_eq(json_object_array_length(list_items(&r)), 4);
        tt_resp_fini(&r);
        /* A deleted campaign takes its contacts out of sight. */
        campaign_delete(b);
        list(svc, &sup, "", &r);
        ck_assert_int_eq(jint(r.json, "total"), 4);
        ck_assert_uint_eq(json_object_array_length(list_items(&r)), 4);
        tt_resp_fini(&r);
        snprintf(path, sizeof(path), CONTACTS "%s", in_b);
        tt_call(svc, "GET", path, NULL, sup.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        snprintf(path, sizeof(path), CONTACTS "?campaign_id=%s", b);
        tt_call(svc, "GET", path, NULL, sup.token, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);

        /* Bad filters: 422 naming the parameter. */
        const char *bad[] = {"status=SLEEPING", "skip=-1", "limit=0", "limit=abc",
                             "campaign_id=nope"};
        const char *names[] = {"status", "skip", "limit", "limit", "campaign_id"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                snprintf(path, sizeof(path), CONTACTS "?%s", bad[i]);
                tt_call(svc, "GET", path, NULL, sup.token, &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", bad[i], r.status, r.body);
                ck_assert_msg(strncmp(tt_str(r.json, "detail"), names[i], strlen(names[i])) == 0,
                              "%s", r.body);
                tt_resp_fini(&r);
        }
        /* The totals come from counters that match the rows. */
        ck_assert_int_eq(tt_sql_int("SELECT sum(n) FROM contact_counts WHERE campaign_id = $1", a),
                         contacts_in(a));

        for (int i = 0; i < 5; i++)
                free(ids[i]);
        free(in_b);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_other_organization)
{
        struct cc_service *svc = start();
        struct tt_caller sup, intruder;
        tt_caller(&sup, NULL, "SUPERVISOR");
        tt_caller(&intruder, NULL, "ADMIN");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        char *id = create_contact(svc, &sup, camp, "+15550100001", "Ann");
        struct tt_resp r;
        char path[160], body[256];

        snprintf(path, sizeof(path), CONTACTS "%s", id);
        tt_call(svc, "GET", path, NULL, intruder.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        tt_call(svc, "PUT", path, "{\"name\":\"Mallory\"}", intruder.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        tt_call(svc, "DELETE", path, NULL, intruder.token, &r);
        tt_expect(&r, 404, "Contact not found");
        tt_resp_fini(&r);
        snprintf(body, sizeof(body), "{\"campaign_id\":\"%s\",\"phone_number\":\"+15550100002\"}",
                 camp);
        tt_call(svc, "POST", CONTACTS, body, intruder.token, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);
        snprintf(path, sizeof(path), CONTACTS "?campaign_id=%s", camp);
        tt_call(svc, "GET", path, NULL, intruder.token, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);
        list(svc, &intruder, "", &r);
        ck_assert_int_eq(jint(r.json, "total"), 0);
        ck_assert_uint_eq(json_object_array_length(list_items(&r)), 0);
        tt_resp_fini(&r);
        static const char csv[] = "phone_number\n+15550100003\n";
        import_csv(svc, intruder.token, camp, csv, sizeof(csv) - 1, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);

        /* Nothing changed for the owner. */
        ck_assert_int_eq(contacts_in(camp), 1);
        snprintf(path, sizeof(path), CONTACTS "%s", id);
        tt_call(svc, "GET", path, NULL, sup.token, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_str_eq(tt_str(r.json, "name"), "Ann");
        tt_resp_fini(&r);

        free(id);
        tt_caller_fini(&sup);
        tt_caller_fini(&intruder);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_import_rows)
{
        struct cc_service *svc = start();
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        /* BOM, CRLF, columns in any order by name (any case, padded), an extra column, quoted
         * commas, doubled quotes and line breaks, blank rows, and every kind of bad row. */
        static const char csv[] =
            "\xEF\xBB\xBF"
            " Email ,Phone_Number,name,notes,source\r\n"                   /* 1 */
            "ann@example.com,(555) 010-0001,\"Smith, Ann\",\"Line one\r\n" /* 2 */
            "line \"\"two\"\"\",fair\r\n"
            ", +44 20 7946 0958 ,  Bob  ,,\r\n"             /* 3 */
            "\r\n"                                          /* 4 */
            "carol@example.com,,Carol,,\r\n"                /* 5 */
            "dave@example.com,555-010-0004\r\n"             /* 6 */
            "eve@example.com,\"5550100005\"x,Eve,,\r\n"     /* 7 */
            "frank@example.com,client:frank,Frank,,web\r\n" /* 8 */
            ",,,,\r\n"                                      /* 9 */
            "gina@example.com,O\"Neil,Gina,,\r\n"           /* 10 */
            "hal@example.com,5550100011,Hal,\"has\x01"
            "control\",\r\n"                                 /* 11 */
            "ivy@example.com,5550100012,Ivy,,\r\n"           /* 12 */
            "jo@example.com,5550100013,\"Jo\r\nAnn\",,\r\n"; /* 13: only notes hold lines */
        struct tt_resp r;
        import_csv(svc, sup.token, camp, csv, sizeof(csv) - 1, &r);
        const char *errors[] = {
            "Row missing phone_number: 5",
            "Error importing row 6: expected 5 fields, found 2",
            "Error importing row 7: text after a closing quote",
            "Error importing row 10: quote inside an unquoted field",
            "Error importing row 11: notes: contains a control character",
            "Error importing row 13: name: contains a control character",
            NULL,
        };
        expect_import(&r, 4, 6, errors);
        tt_resp_fini(&r);
        ck_assert_int_eq(contacts_in(camp), 4);

        /* Stored as read: trimmed, normalised, empty values null, file order kept (the list is
         * newest first). */
        char q[128];
        snprintf(q, sizeof(q), "campaign_id=%s", camp);
        list(svc, &sup, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), 4);
        json_object *items = list_items(&r);
        json_object *ivy = json_object_array_get_idx(items, 0);
        json_object *frank = json_object_array_get_idx(items, 1);
        json_object *bob = json_object_array_get_idx(items, 2);
        json_object *ann = json_object_array_get_idx(items, 3);
        ck_assert_str_eq(tt_str(ann, "phone_number"), "+15550100001");
        ck_assert_str_eq(tt_str(ann, "name"), "Smith, Ann");
        ck_assert_str_eq(tt_str(ann, "email"), "ann@example.com");
        ck_assert_str_eq(tt_str(ann, "notes"), "Line one\r\nline \"two\"");
        ck_assert_str_eq(tt_str(ann, "status"), "PENDING");
        ck_assert_int_eq(jint(ann, "attempts"), 0);
        ck_assert_str_eq(tt_str(bob, "phone_number"), "+442079460958");
        ck_assert_str_eq(tt_str(bob, "name"), "Bob");
        ck_assert_ptr_null(tt_str(bob, "email"));
        ck_assert_ptr_null(tt_str(bob, "notes"));
        ck_assert_str_eq(tt_str(frank, "phone_number"), "client:frank"); /* no format check */
        ck_assert_str_eq(tt_str(ivy, "phone_number"), "+15550100012");
        tt_resp_fini(&r);

        /* Only the first 10 errors are listed; every failure is counted. */
        struct cc_strbuf b = {0};
        cc_strbuf_puts(&b, "name,phone_number\n");
        for (int i = 0; i < 15; i++)
                cc_strbuf_printf(&b, "nobody %d,\n", i);
        cc_strbuf_puts(&b, "somebody,+15550100099");
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "imported"), 1);
        ck_assert_int_eq(jint(r.json, "failed"), 15);
        ck_assert_int_eq(jint(r.json, "total"), 16);
        json_object *errs = json_object_object_get(r.json, "errors");
        ck_assert_uint_eq(json_object_array_length(errs), 10);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(errs, 9)),
                         "Row missing phone_number: 11");
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);
        ck_assert_int_eq(contacts_in(camp), 5);

        /* A quote left open swallows the rest of the file: that row fails, what came before
         * it is in. */
        static const char open_quote[] = "phone_number,name\n"
                                         "+15550100201,Kim\n"
                                         "\"+15550100202,Lee\n"
                                         "+15550100203,Max\n";
        import_csv(svc, sup.token, camp, open_quote, sizeof(open_quote) - 1, &r);
        const char *open_errors[] = {
            "Error importing row 3: unterminated quoted field: its quote is never closed, so the "
            "rest of the file (2 lines) was read into this row",
            NULL};
        expect_import(&r, 1, 1, open_errors);
        tt_resp_fini(&r);
        ck_assert_int_eq(contacts_in(camp), 6);

        /* A header alone imports nothing and is no error. */
        import_csv(svc, sup.token, camp, "phone_number,name\r\n", 19, &r);
        expect_import(&r, 0, 0, NULL);
        tt_resp_fini(&r);

        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_import_long_quoted_fields)
{
        struct cc_service *svc = start();
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        struct tt_resp r;

        /* A quoted note past the 64 KiB row limit whose lines look like rows: they are the
         * note's text, never contacts; the row fails whole and the one after it is read. */
        struct cc_strbuf b = {0};
        cc_strbuf_puts(&b, "phone_number,name,notes\n5550000001,a,\"");
        for (int i = 0; i < 5000; i++)
                cc_strbuf_printf(&b, "note line %d\n5559%06d,evil,x\n", i, i);
        cc_strbuf_puts(&b, "end\"\n5550000002,b,c\n");
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        const char *long_errors[] = {
            "Error importing row 2: row too long (the row spans 10001 lines)", NULL};
        expect_import(&r, 1, 1, long_errors);
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);
        ck_assert_int_eq(contacts_in(camp), 1);
        ck_assert_int_eq(tt_sql_int("SELECT count(*) FROM contacts WHERE campaign_id = $1 AND "
                                    "phone_number = '+15550000002' AND name = 'b'",
                                    camp),
                         1);

        /* A quote never closed takes in every later line, however many: one failed row that
         * says how many lines went into it, and nothing imported from inside it. */
        cc_strbuf_puts(&b, "phone_number,name\n5550000001,\"a\n");
        for (int i = 0; i < 10000; i++)
                cc_strbuf_printf(&b, "555100%04d,n%d\n", i, i);
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        const char *open_errors[] = {
            "Error importing row 2: unterminated quoted field: its quote is never closed, so the "
            "rest of the file (10001 lines) was read into this row",
            NULL};
        expect_import(&r, 0, 1, open_errors);
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);
        ck_assert_int_eq(contacts_in(camp), 1);

        /* That message is listed even behind ten others. */
        cc_strbuf_puts(&b, "name,phone_number\n");
        for (int i = 0; i < 12; i++)
                cc_strbuf_printf(&b, "nobody %d,\n", i);
        cc_strbuf_puts(&b, "\"open,+15550100001\nsomebody,+15550100002\n");
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_int_eq(jint(r.json, "imported"), 0);
        ck_assert_int_eq(jint(r.json, "failed"), 13);
        json_object *errs = json_object_object_get(r.json, "errors");
        ck_assert_uint_eq(json_object_array_length(errs), 10);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(errs, 8)),
                         "Row missing phone_number: 10");
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(errs, 9)),
                         "Error importing row 14: unterminated quoted field: its quote is never "
                         "closed, so the rest of the file (2 lines) was read into this row");
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);

        /* CR-only line endings (old Mac exports): a bad row costs that row only. */
        static const char cr_only[] = "phone_number,name\r"
                                      "5550100301,\"Ann\"x\r"
                                      "5550100302,Bob\r"
                                      "5550100303,\"Carol\"\r";
        import_csv(svc, sup.token, camp, cr_only, sizeof(cr_only) - 1, &r);
        const char *cr_errors[] = {"Error importing row 2: text after a closing quote", NULL};
        expect_import(&r, 2, 1, cr_errors);
        tt_resp_fini(&r);
        ck_assert_int_eq(contacts_in(camp), 3);

        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_import_refused)
{
        struct cc_service *svc = start();
        struct tt_caller sup, agent;
        tt_caller(&sup, NULL, "ADMIN");
        tt_caller(&agent, sup.org_id, "AGENT");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        struct tt_resp r;
        static const char good[] = "phone_number\n+15550100001\n";

        /* Agents may not import. */
        import_csv(svc, agent.token, camp, good, sizeof(good) - 1, &r);
        tt_expect(&r, 403, "Supervisor or admin access required");
        tt_resp_fini(&r);
        /* Whole files refused before anything is written. */
        struct {
                const char *what, *csv, *detail;
        } files[] = {
            {"not UTF-8", "phone_number,name\n+15550100001,Ren\xe9\n+15550100002,Bo\n",
             "file: must be UTF-8 text"},
            {"no phone_number column", "phone,name\n+15550100001,Ann\n",
             "file: the first row must be a header naming the columns, phone_number among them"},
            {"empty file", "",
             "file: the first row must be a header naming the columns, "
             "phone_number among them"},
            {"malformed header", "\"phone_number\"x,name\n+15550100001,Ann\n",
             "file: the first row must be a header naming the columns, phone_number among them"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(files); i++) {
                import_csv(svc, sup.token, camp, files[i].csv, strlen(files[i].csv), &r);
                ck_assert_msg(r.status == 422, "%s: %ld %s", files[i].what, r.status, r.body);
                tt_expect(&r, 422, files[i].detail);
                tt_resp_fini(&r);
        }
        /* Not a form, or a form without the file. */
        post_raw(svc, "/api/contacts/bulk-import?campaign_id=", "text/csv", good, sizeof(good) - 1,
                 sup.token, &r);
        tt_expect(&r, 422, "campaign_id: field required");
        tt_resp_fini(&r);
        char path[160];
        snprintf(path, sizeof(path), "/api/contacts/bulk-import?campaign_id=%s", camp);
        post_raw(svc, path, "text/csv", good, sizeof(good) - 1, sup.token, &r);
        tt_expect(&r, 422, "file: must be sent as multipart/form-data");
        tt_resp_fini(&r);
        size_t len;
        char *body = form(good, sizeof(good) - 1, "upload", &len);
        post_raw(svc, path, "multipart/form-data; boundary=" BOUNDARY, body, len, sup.token, &r);
        tt_expect(&r, 422, "file: field required");
        tt_resp_fini(&r);
        free(body);
        body = form(good, sizeof(good) - 1, "file", &len);
        post_raw(svc, path, "multipart/form-data; boundary=" BOUNDARY, body, len - 12, sup.token,
                 &r);
        tt_expect(&r, 422, "file: must be sent as multipart/form-data");
        tt_resp_fini(&r);
        free(body);
        char nowhere[CC_UUID_LEN + 1];
        cc_uuid_v4(nowhere);
        import_csv(svc, sup.token, nowhere, good, sizeof(good) - 1, &r);
        tt_expect(&r, 404, "Campaign not found");
        tt_resp_fini(&r);
        ck_assert_int_eq(contacts_in(camp), 0);

        /* Larger than the server's ordinary 64 KiB body limit but within the upload limit:
         * imported. */
        struct cc_strbuf b = {0};
        cc_strbuf_puts(&b, "phone_number,name,notes\n");
        int rows = 0;
        while (b.len < 200000) {
                cc_strbuf_printf(&b, "+1555%07d,Name %d,%s\n", rows, rows,
                                 "a note long enough to make the file grow quickly");
                rows++;
        }
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        expect_import(&r, rows, 0, NULL);
        tt_resp_fini(&r);
        ck_assert_int_eq(contacts_in(camp), rows);
        /* Beyond the upload limit: 413, nothing imported. */
        int first = rows;
        while (b.len < 320000) {
                cc_strbuf_printf(&b, "+1556%07d,Name %d,%s\n", rows, rows,
                                 "a note long enough to make the file grow quickly");
                rows++;
        }
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        ck_assert_msg(r.status == 413, "%ld %s", r.status, r.body);
        ck_assert_ptr_nonnull(tt_str(r.json, "detail"));
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);
        ck_assert_int_eq(contacts_in(camp), first);

        tt_caller_fini(&sup);
        tt_caller_fini(&agent);
        cc_service_stop(svc);
}
END_TEST

START_TEST(telephony_contacts_import_in_batches)
{
        struct cc_service *svc = start();
        struct tt_caller sup;
        tt_caller(&sup, NULL, "SUPERVISOR");
        char camp[CC_UUID_LEN + 1];
        campaign_new(sup.org_id, camp);
        /* Several batches and a partial one; the file's order survives the batching. */
        int rows = 2 * TEL_IMPORT_BATCH + 345;
        struct cc_strbuf b = {0};
        cc_strbuf_puts(&b, "phone_number,name\n");
        for (int i = 0; i < rows; i++)
                cc_strbuf_printf(&b, "555%07d,n%d\n", i, i);
        struct tt_resp r;
        import_csv(svc, sup.token, camp, b.data, b.len, &r);
        expect_import(&r, rows, 0, NULL);
        tt_resp_fini(&r);
        cc_strbuf_fini(&b);
        char q[160];
        snprintf(q, sizeof(q), "campaign_id=%s&limit=3", camp);
        list(svc, &sup, q, &r);
        ck_assert_int_eq(jint(r.json, "total"), rows);
        char want[32];
        snprintf(want, sizeof(want), "n%d", rows - 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(list_items(&r), 0), "name"), want);
        snprintf(want, sizeof(want), "+1555%07d", rows - 1);
        ck_assert_str_eq(tt_str(json_object_array_get_idx(list_items(&r), 0), "phone_number"),
                         want);
        tt_resp_fini(&r);
        ck_assert_int_eq(tt_sql_int("SELECT count(DISTINCT created_at) FROM contacts WHERE "
                                    "campaign_id = $1",
                                    camp),
                         rows);
        ck_assert_int_eq(tt_sql_int("SELECT sum(n) FROM contact_counts WHERE campaign_id = $1 "
                                    "AND status = 'PENDING'",
                                    camp),
                         rows);
        tt_caller_fini(&sup);
        cc_service_stop(svc);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_contacts");
        TCase *tc = tcase_create("telephony_contacts");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, tt_suite_setup, tt_suite_teardown);
        tcase_add_test(tc, telephony_contacts_crud);
        tcase_add_test(tc, telephony_contacts_status_rules);
        tcase_add_test(tc, telephony_contacts_list_filters_and_totals);
        tcase_add_test(tc, telephony_contacts_other_organization);
        tcase_add_test(tc, telephony_contacts_import_rows);
        tcase_add_test(tc, telephony_contacts_import_long_quoted_fields);
        tcase_add_test(tc, telephony_contacts_import_refused);
        tcase_add_test(tc, telephony_contacts_import_in_batches);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
