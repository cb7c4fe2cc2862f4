/* SQL for campaigns, the campaign.* events on cc.campaigns.v1 (key: campaign id, written to the
 * outbox in the caller's transaction), and what a campaign call's progress does to its contact.
 *
 * A contact is driven by the one call the dialer placed for it while it is DIALING or CONNECTED;
 * a call's progress touches the contact only then, and only for a call of the contact's own
 * campaign, so a late or unrelated call (one placed by hand with a contact_id) never moves a
 * contact the dialer has already moved on. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaigns_internal.h"
#include "cc/event.h"
#include "cc/json.h"
#include "cc/outbox.h"

#define CAMPAIGNS_TOPIC "cc.campaigns.v1"
#define PRODUCER        "telephony"

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

/* Derived for the API: "draft" is a campaign that is not running and was never dialled. */
#define STATUS_SQL                                                                                 \
        "CASE WHEN c.completed_at IS NOT NULL THEN 'completed' WHEN c.active THEN 'active' "       \
        "WHEN EXISTS (SELECT 1 FROM contacts t WHERE t.org_id = c.org_id "                         \
        "AND t.campaign_id = c.id AND t.attempts > 0) THEN 'paused' ELSE 'draft' END"

/* clang-format off */
/* Columns COL_NAME .. COL_TIME_ZONE follow enum tel_campaign_col's order, so the row's column
 * for input column i is COL_FIRST_INPUT + i. */
#define CAMP_COLS                                                                                  \
        "c.id, c.org_id, c.organization_label, c.name, c.description, c.type, c.language, "        \
        "c.version, c.active, c.instructions::text, c.tools::text, c.voice::text, "                \
        "c.analytics::text, c.metadata_payload::text, c.queue_id, c.pacing_ratio, "                \
        "c.max_attempts, c.retry_delay_seconds, to_char(c.calling_hours_start, 'HH24:MI'), "      \
        "to_char(c.calling_hours_end, 'HH24:MI'), c.time_zone, " MS("c.completed_at") ", "         \
        MS("c.created_at") ", " MS("c.updated_at") ", " STATUS_SQL
/* clang-format on */

enum {
        COL_ID,
        COL_ORG,
        COL_LABEL,
        COL_FIRST_INPUT,
        COL_NAME = COL_FIRST_INPUT,
        COL_DESCRIPTION,
        COL_TYPE,
        COL_LANGUAGE,
        COL_VERSION,
        COL_ACTIVE,
        COL_INSTRUCTIONS,
        COL_TOOLS,
        COL_VOICE,
        COL_ANALYTICS,
        COL_METADATA,
        COL_QUEUE,
        COL_PACING,
        COL_MAX_ATTEMPTS,
        COL_RETRY_DELAY,
        COL_HOURS_START,
        COL_HOURS_END,
        COL_TIME_ZONE,
        COL_COMPLETED,
        COL_CREATED,
        COL_UPDATED,
        COL_STATUS,
};

_Static_assert(COL_TIME_ZONE - COL_FIRST_INPUT == TEL_CAMP_TIME_ZONE, "column order");

/* What each input column is called in SQL, how its text is cast, and its name in the API (and
 * in campaign.updated's changed_fields). */
static const struct {
        const char *column, *cast, *field;
} input_cols[TEL_CAMP_NCOLS] = {
    [TEL_CAMP_NAME] = {"name", "text", "name"},
    [TEL_CAMP_DESCRIPTION] = {"description", "text", "description"},
    [TEL_CAMP_TYPE] = {"type", "text", "type"},
    [TEL_CAMP_LANGUAGE] = {"language", "text", "language"},
    [TEL_CAMP_VERSION] = {"version", "text", "version"},
    [TEL_CAMP_ACTIVE] = {"active", "boolean", "active"},
    [TEL_CAMP_INSTRUCTIONS] = {"instructions", "jsonb", "instructions"},
    [TEL_CAMP_TOOLS] = {"tools", "jsonb", "tools"},
    [TEL_CAMP_VOICE] = {"voice", "jsonb", "voice"},
    [TEL_CAMP_ANALYTICS] = {"analytics", "jsonb", "analytics"},
    [TEL_CAMP_METADATA] = {"metadata_payload", "jsonb", "metadata_payload"},
    [TEL_CAMP_QUEUE] = {"queue_id", "uuid", "queue_id"},
    [TEL_CAMP_PACING] = {"pacing_ratio", "double precision", "pacing_ratio"},
    [TEL_CAMP_MAX_ATTEMPTS] = {"max_attempts", "integer", "max_attempts"},
    [TEL_CAMP_RETRY_DELAY] = {"retry_delay_seconds", "integer", "retry_delay_seconds"},
    [TEL_CAMP_HOURS_START] = {"calling_hours_start", "time", "calling_hours"},
    [TEL_CAMP_HOURS_END] = {"calling_hours_end", "time", "calling_hours"},
    [TEL_CAMP_TIME_ZONE] = {"time_zone", "text", "time_zone"},
};

const char *const tel_campaign_types[] = {"INBOUND", "OUTBOUND", "TRANSFER", "ESCALATION", NULL};

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static int64_t col_ms(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static bool col_bool(PGresult *res, int row, int c)
{
        return !PQgetisnull(res, row, c) && strcmp(PQgetvalue(res, row, c), "t") == 0;
}

/* ---- events ---- */

/* protobuf-c wants char * for strings it only reads. */
static char *s(const char *v)
{
        return (char *)(v ? v : "");
}

static Cc__Events__V1__CampaignType type_pb(const char *type)
{
        for (int i = 0; type && tel_campaign_types[i]; i++)
                if (strcmp(type, tel_campaign_types[i]) == 0)
                        return (Cc__Events__V1__CampaignType)(i + 1);
        return CC__EVENTS__V1__CAMPAIGN_TYPE__CAMPAIGN_TYPE_UNSPECIFIED;
}

/* The campaign as row `row` of res has it (strings borrowed from res). */
static void campaign_pb(PGresult *res, int row, Cc__Events__V1__Campaign *c)
{
        cc__events__v1__campaign__init(c);
        c->campaign_id = s(val(res, row, COL_ID));
        c->name = s(val(res, row, COL_NAME));
        c->type = type_pb(val(res, row, COL_TYPE));
        c->active = col_bool(res, row, COL_ACTIVE);
        c->queue_id = s(val(res, row, COL_QUEUE));
        c->created_at_ms = col_ms(res, row, COL_CREATED);
        c->updated_at_ms = col_ms(res, row, COL_UPDATED);
}

static int add_event(struct cc_db_conn *conn, Cc__Events__V1__Envelope *env,
                     const char *campaign_id, const char *event_id)
{
        size_t len = 0;
        uint8_t *packed = cc_event_pack(env, &len);
        int r = cc_outbox_add(conn, CAMPAIGNS_TOPIC, campaign_id, event_id, env->type,
                              env->traceparent, packed, len);
        free(packed);
        return r;
}

static int event_created(struct cc_db_conn *conn, PGresult *res, const char *traceparent)
{
        Cc__Events__V1__Campaign c;
        campaign_pb(res, 0, &c);
        Cc__Events__V1__CampaignCreated p = CC__EVENTS__V1__CAMPAIGN_CREATED__INIT;
        p.campaign = &c;
        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "campaign.created", val(res, 0, COL_ORG), c.created_at_ms, PRODUCER,
                      traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED;
        env.campaign_created = &p;
        return add_event(conn, &env, c.campaign_id, event_id);
}

static int event_updated(struct cc_db_conn *conn, PGresult *res, const char *const *changed,
                         size_t nchanged, const char *traceparent)
{
        Cc__Events__V1__Campaign c;
        campaign_pb(res, 0, &c);
        Cc__Events__V1__CampaignUpdated p = CC__EVENTS__V1__CAMPAIGN_UPDATED__INIT;
        p.campaign = &c;
        p.changed_fields = (char **)changed;
        p.n_changed_fields = nchanged;
        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "campaign.updated", val(res, 0, COL_ORG), c.updated_at_ms, PRODUCER,
                      traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_UPDATED;
        env.campaign_updated = &p;
        return add_event(conn, &env, c.campaign_id, event_id);
}

static int event_completed(struct cc_db_conn *conn, PGresult *res, int total, int completed,
                           int failed, const char *traceparent)
{
        Cc__Events__V1__CampaignCompleted p = CC__EVENTS__V1__CAMPAIGN_COMPLETED__INIT;
        p.campaign_id = s(val(res, 0, COL_ID));
        p.contacts_total = total;
        p.contacts_completed = completed;
        p.contacts_failed = failed;
        p.completed_at_ms = col_ms(res, 0, COL_COMPLETED);
        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "campaign.completed", val(res, 0, COL_ORG), p.completed_at_ms, PRODUCER,
                      traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_COMPLETED;
        env.campaign_completed = &p;
        return add_event(conn, &env, p.campaign_id, event_id);
}

/* ---- the Campaign object ---- */

static void add_json_text(json_object *o, const char *field, const char *text)
{
        json_object *v = text ? cc_json_parse(text, strlen(text), 0, NULL, 0) : NULL;
        json_object_object_add(o, field, v);
}

static json_object *campaign_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, COL_ID));
        cc_json_add_string(o, "name", val(res, row, COL_NAME));
        cc_json_add_string(o, "description", val(res, row, COL_DESCRIPTION));
        cc_json_add_string(o, "type", val(res, row, COL_TYPE));
        cc_json_add_string(o, "language", val(res, row, COL_LANGUAGE));
        cc_json_add_string(o, "version", val(res, row, COL_VERSION));
        json_object_object_add(o, "active",
                               json_object_new_boolean(col_bool(res, row, COL_ACTIVE)));
        /* The client's own label; scoping never reads it. */
        cc_json_add_string(o, "organization_id", val(res, row, COL_LABEL));
        add_json_text(o, "instructions", val(res, row, COL_INSTRUCTIONS));
        add_json_text(o, "tools", val(res, row, COL_TOOLS));
        add_json_text(o, "voice", val(res, row, COL_VOICE));
        add_json_text(o, "analytics", val(res, row, COL_ANALYTICS));
        add_json_text(o, "metadata_payload", val(res, row, COL_METADATA));
        cc_json_add_time(o, "created_at", col_ms(res, row, COL_CREATED));
        cc_json_add_time(o, "updated_at", col_ms(res, row, COL_UPDATED));
        /* Beyond the contract: the dialer's settings and where the campaign stands. */
        cc_json_add_string(o, "queue_id", val(res, row, COL_QUEUE));
        json_object_object_add(
            o, "pacing_ratio",
            json_object_new_double(strtod(PQgetvalue(res, row, COL_PACING), NULL)));
        json_object_object_add(o, "max_attempts",
                               json_object_new_int(atoi(PQgetvalue(res, row, COL_MAX_ATTEMPTS))));
        json_object_object_add(o, "retry_delay_seconds",
                               json_object_new_int(atoi(PQgetvalue(res, row, COL_RETRY_DELAY))));
        const char *start = val(res, row, COL_HOURS_START), *end = val(res, row, COL_HOURS_END);
        json_object *hours = NULL;
        if (start && end) {
                hours = json_object_new_object();
                cc_json_add_string(hours, "start", start);
                cc_json_add_string(hours, "end", end);
        }
        json_object_object_add(o, "calling_hours", hours);
        cc_json_add_string(o, "time_zone", val(res, row, COL_TIME_ZONE));
        cc_json_add_string(o, "status", val(res, row, COL_STATUS));
        cc_json_add_time(o, "completed_at",
                         PQgetisnull(res, row, COL_COMPLETED) ? -1
                                                              : col_ms(res, row, COL_COMPLETED));
        return o;
}

/* ---- lookups for validation ---- */

int tel_campaign_time_zone_known(struct cc_db_conn *conn, const char *tz, bool *ret_known)
{
        const char *p[] = {tz};
        PGresult *res = NULL;
        /* pg_timezone_names holds the IANA names only: AT TIME ZONE would also take POSIX specs
         * and abbreviations ("UTC+3", "PST") that say nothing about daylight saving. */
        int r = cc_db_exec(conn, "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)",
                           1, p, &res);
        if (r < 0)
                return r;
        *ret_known = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        return 0;
}

int tel_campaign_queue_known(struct cc_db_conn *conn, const char *org_id, const char *queue_id,
                             bool *ret_known)
{
        if (!cc_uuid_valid(queue_id)) {
                *ret_known = false;
                return 0;
        }
        const char *p[] = {org_id, queue_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "SELECT 1 FROM queues WHERE org_id = $1 AND id = $2", 2, p, &res);
        if (r < 0)
                return r;
        *ret_known = PQntuples(res) == 1;
        PQclear(res);
        return 0;
}

int tel_campaign_queue(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                       char ret_queue_id[CC_UUID_LEN + 1])
{
        if (!cc_uuid_valid(org_id) || !cc_uuid_valid(campaign_id))
                return -ENOENT;
        const char *p[] = {org_id, campaign_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT queue_id FROM campaigns WHERE org_id = $1 AND id = $2 "
                           "AND queue_id IS NOT NULL",
                           2, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                snprintf(ret_queue_id, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
                r = 0;
        }
        PQclear(res);
        return r;
}

/* ---- create, update, delete, read ---- */

/* "$n::cast" for parameter n of input column c. */
static void put_param(struct cc_strbuf *sql, int n, enum tel_campaign_col c)
{
        cc_strbuf_printf(sql, "$%d::%s", n, input_cols[c].cast);
}

/* Runs sql expecting at most one row: -ENOENT for none. */
static int one_row(struct cc_db_conn *conn, const char *sql, int n, const char *const *p,
                   PGresult **ret_res)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_res = res;
        return 0;
}

int tel_campaign_create(struct cc_db_conn *conn, const char *org_id,
                        const struct tel_campaign_input *in, const char *traceparent,
                        json_object **ret_json)
{
        if (!cc_uuid_valid(org_id) || !in->organization_label)
                return -EINVAL;
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[3 + TEL_CAMP_NCOLS] = {id, org_id, in->organization_label};
        int n = 3;
        struct cc_strbuf cols = {0}, vals = {0};
        cc_strbuf_puts(&cols, "id, org_id, organization_label");
        cc_strbuf_puts(&vals, "$1, $2, $3");
        for (int c = 0; c < TEL_CAMP_NCOLS; c++) {
                if (!in->set[c])
                        continue;
                p[n++] = in->value[c];
                cc_strbuf_printf(&cols, ", %s", input_cols[c].column);
                cc_strbuf_puts(&vals, ", ");
                put_param(&vals, n, (enum tel_campaign_col)c);
        }
        char *sql = cc_xasprintf("INSERT INTO campaigns AS c (%s) VALUES (%s) RETURNING " CAMP_COLS,
                                 cols.data, vals.data);
        cc_strbuf_fini(&cols);
        cc_strbuf_fini(&vals);
        PGresult *res = NULL;
        int r = one_row(conn, sql, n, p, &res);
        free(sql);
        if (r < 0)
                return r == -ENOENT ? -EIO : r;
        r = event_created(conn, res, traceparent);
        if (r == 0)
                *ret_json = campaign_json(res, 0);
        PQclear(res);
        return r;
}

static bool same_text(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Contacts still waiting for a retry that the campaign's (lowered) max_attempts no longer
 * allows are given up on, so they neither wait forever nor hold the campaign open. */
static int give_up_over_max(struct cc_db_conn *conn, const char *org_id, const char *id)
{
        const char *p[] = {org_id, id};
        return cc_db_exec(conn,
                          "UPDATE contacts t SET status = 'FAILED', next_attempt = NULL, "
                          "outcome = coalesce(t.outcome, 'max-attempts'), updated_at = now() "
                          "FROM campaigns c WHERE c.org_id = $1 AND c.id = $2 "
                          "AND t.org_id = $1 AND t.campaign_id = $2 AND t.status = 'PENDING' "
                          "AND t.attempts >= c.max_attempts",
                          2, p, NULL);
}

int tel_campaign_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                        const struct tel_campaign_input *in, const char *traceparent,
                        json_object **ret_json)
{
        if (!cc_uuid_valid(org_id) || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[2 + TEL_CAMP_NCOLS] = {org_id, id};
        PGresult *old = NULL, *res = NULL;
        int r = one_row(conn,
                        "SELECT " CAMP_COLS " FROM campaigns c WHERE c.org_id = $1 AND c.id = $2 "
                        "AND c.deleted_at IS NULL FOR UPDATE OF c",
                        2, p, &old);
        if (r < 0)
                return r;
        /* Only a real change is written: the row (and updated_at) stays as it was otherwise, and
         * no event says something changed. */
        int n = 2;
        struct cc_strbuf set = {0}, differs = {0};
        for (int c = 0; c < TEL_CAMP_NCOLS; c++) {
                if (!in->set[c])
                        continue;
                p[n++] = in->value[c];
                cc_strbuf_printf(&set, "%s = ", input_cols[c].column);
                put_param(&set, n, (enum tel_campaign_col)c);
                cc_strbuf_puts(&set, ", ");
                cc_strbuf_printf(&differs, "%sc.%s IS DISTINCT FROM ", differs.len ? " OR " : "",
                                 input_cols[c].column);
                put_param(&differs, n, (enum tel_campaign_col)c);
        }
        /* Starting a completed campaign again (contacts were added since) opens it. */
        bool reopen = in->set[TEL_CAMP_ACTIVE] && in->value[TEL_CAMP_ACTIVE] &&
                      strcmp(in->value[TEL_CAMP_ACTIVE], "true") == 0 &&
                      !PQgetisnull(old, 0, COL_COMPLETED);
        if (reopen) {
                cc_strbuf_puts(&set, "completed_at = NULL, ");
                cc_strbuf_printf(&differs, "%sc.completed_at IS NOT NULL",
                                 differs.len ? " OR " : "");
        }
        if (differs.len) {
                char *sql = cc_xasprintf("UPDATE campaigns AS c SET %supdated_at = now() "
                                         "WHERE c.org_id = $1 AND c.id = $2 AND (%s) "
                                         "RETURNING " CAMP_COLS,
                                         set.data, differs.data);
                r = one_row(conn, sql, n, p, &res);
                free(sql);
        } else {
                r = -ENOENT;
        }
        cc_strbuf_fini(&set);
        cc_strbuf_fini(&differs);
        if (r == -ENOENT) { /* nothing to change */
                *ret_json = campaign_json(old, 0);
                PQclear(old);
                return 0;
        }
        if (r < 0)
                goto out;
        const char *changed[TEL_CAMP_NCOLS];
        size_t nchanged = 0;
        for (int c = 0; c < TEL_CAMP_NCOLS; c++) {
                int col = COL_FIRST_INPUT + c;
                if (!in->set[c] || same_text(val(old, 0, col), val(res, 0, col)))
                        continue;
                if (nchanged && strcmp(changed[nchanged - 1], input_cols[c].field) == 0)
                        continue; /* the two halves of calling_hours */
                changed[nchanged++] = input_cols[c].field;
        }
        if (in->set[TEL_CAMP_MAX_ATTEMPTS])
                r = give_up_over_max(conn, org_id, id);
        if (r == 0)
                r = event_updated(conn, res, changed, nchanged, traceparent);
        if (r == 0)
                *ret_json = campaign_json(res, 0);
out:
        PQclear(old);
        PQclear(res);
        return r;
}

int tel_campaign_delete(struct cc_db_conn *conn, const char *org_id, const char *id,
                        const char *traceparent)
{
        if (!cc_uuid_valid(org_id) || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *old = NULL, *res = NULL;
        int r = one_row(conn,
                        "SELECT active FROM campaigns WHERE org_id = $1 AND id = $2 "
                        "AND deleted_at IS NULL FOR UPDATE",
                        2, p, &old);
        if (r < 0)
                return r;
        bool was_active = col_bool(old, 0, 0);
        PQclear(old);
        r = one_row(conn,
                    "UPDATE campaigns AS c SET deleted_at = now(), active = false, "
                    "updated_at = now() WHERE c.org_id = $1 AND c.id = $2 RETURNING " CAMP_COLS,
                    2, p, &res);
        /* Analytics sees a deleted campaign stop running; one that was not running changes
         * nothing it tracks. */
        if (r == 0 && was_active) {
                const char *changed[] = {"active"};
                r = event_updated(conn, res, changed, 1, traceparent);
        }
        PQclear(res);
        return r;
}

static json_object *contact_counts(PGresult *res)
{
        static const char *const names[] = {"total",     "pending", "dialing",    "connected",
                                            "completed", "failed",  "do_not_call"};
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < CC_ARRAY_SIZE(names); i++)
                json_object_object_add(o, names[i],
                                       json_object_new_int64(atoll(PQgetvalue(res, 0, (int)i))));
        return o;
}

int tel_campaign_get_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                          bool with_counts, json_object **ret_json)
{
        if (!cc_uuid_valid(org_id) || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL, *counts = NULL;
        int r = one_row(conn,
                        "SELECT " CAMP_COLS " FROM campaigns c WHERE c.org_id = $1 AND c.id = $2 "
                        "AND c.deleted_at IS NULL",
                        2, p, &res);
        if (r < 0)
                return r;
        /* One campaign's contacts are counted on demand; a list would count every campaign's. */
        if (with_counts)
                r = cc_db_exec(conn,
                               "SELECT count(*), count(*) FILTER (WHERE status = 'PENDING'), "
                               "count(*) FILTER (WHERE status = 'DIALING'), "
                               "count(*) FILTER (WHERE status = 'CONNECTED'), "
                               "count(*) FILTER (WHERE status = 'COMPLETED'), "
                               "count(*) FILTER (WHERE status = 'FAILED'), "
                               "count(*) FILTER (WHERE status = 'DO_NOT_CALL') "
                               "FROM contacts WHERE org_id = $1 AND campaign_id = $2",
                               2, p, &counts);
        if (r == 0) {
                json_object *o = campaign_json(res, 0);
                if (counts)
                        json_object_object_add(o, "contact_counts", contact_counts(counts));
                *ret_json = o;
        }
        PQclear(res);
        PQclear(counts);
        return r;
}

int tel_campaign_list_json(struct cc_db_conn *conn, const char *org_id,
                           const struct tel_campaign_filter *f, json_object **ret_array)
{
        char skip[24], limit[24];
        snprintf(skip, sizeof(skip), "%" PRId64, f->skip);
        snprintf(limit, sizeof(limit), "%" PRId64, f->limit);
        const char *p[] = {org_id,
                           f->active < 0 ? NULL
                           : f->active   ? "true"
                                         : "false",
                           f->type, skip, limit};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " CAMP_COLS " FROM campaigns c WHERE c.org_id = $1 "
                           "AND c.deleted_at IS NULL "
                           "AND ($2::boolean IS NULL OR c.active = $2::boolean) "
                           "AND ($3::text IS NULL OR c.type = $3::text) "
                           "ORDER BY c.created_at DESC, c.id DESC OFFSET $4 LIMIT $5",
                           5, p, &res);
        if (r < 0)
                return r;
        json_object *a = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(a, campaign_json(res, i));
        PQclear(res);
        *ret_array = a;
        return 0;
}

/* ---- completion ---- */

/* Whether a contact of the campaign still waits for a (first or next) attempt; through the
 * dialer's index, so the common answer (yes) is cheap. */
static int has_pending(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                       bool *ret)
{
        const char *p[] = {org_id, campaign_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = $2 "
                           "AND org_id = $1 AND status = 'PENDING')",
                           2, p, &res);
        if (r < 0)
                return r;
        *ret = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        return 0;
}

int tel_campaign_complete_if_done(struct cc_db_conn *conn, const char *org_id,
                                  const char *campaign_id, const char *traceparent,
                                  bool *ret_completed)
{
        const char *p[] = {org_id, campaign_id};
        PGresult *lock = NULL, *counts = NULL, *res = NULL;
        bool pending = false, done = false;
        /* A contact seen PENDING will be tried, and whoever finishes it checks again; no lock is
         * needed to see that the campaign goes on. */
        int r = has_pending(conn, org_id, campaign_id, &pending);
        if (r < 0 || pending)
                goto out;
        r = one_row(conn,
                    "SELECT active FROM campaigns WHERE org_id = $1 AND id = $2 "
                    "AND completed_at IS NULL AND deleted_at IS NULL FOR UPDATE",
                    2, p, &lock);
        if (r == -ENOENT)
                r = 0;
        if (r < 0 || !lock)
                goto out;
        /* Counted after the lock, in a statement of its own: it sees what every transaction that
         * held the lock before us committed, so of two transactions finishing the last two
         * contacts, the second always sees the first's. */
        r = cc_db_exec(conn,
                       "SELECT count(*), count(*) FILTER (WHERE status IN ('PENDING', 'DIALING', "
                       "'CONNECTED')), count(*) FILTER (WHERE status = 'COMPLETED'), "
                       "count(*) FILTER (WHERE status = 'FAILED') "
                       "FROM contacts WHERE org_id = $1 AND campaign_id = $2",
                       2, p, &counts);
        if (r < 0)
                goto out;
        int total = atoi(PQgetvalue(counts, 0, 0)), live = atoi(PQgetvalue(counts, 0, 1));
        /* A campaign without contacts is waiting for its list, not done with it. */
        if (total == 0 || live > 0)
                goto out;
        r = one_row(conn,
                    "UPDATE campaigns AS c SET completed_at = now(), active = false, "
                    "updated_at = now() WHERE c.org_id = $1 AND c.id = $2 RETURNING " CAMP_COLS,
                    2, p, &res);
        if (r == 0 && col_bool(lock, 0, 0)) {
                const char *changed[] = {"active"};
                r = event_updated(conn, res, changed, 1, traceparent);
        }
        if (r == 0)
                r = event_completed(conn, res, total, atoi(PQgetvalue(counts, 0, 2)),
                                    atoi(PQgetvalue(counts, 0, 3)), traceparent);
        done = r == 0;
out:
        PQclear(lock);
        PQclear(counts);
        PQclear(res);
        if (r == 0 && ret_completed)
                *ret_completed = done;
        return r;
}

/* ---- a campaign call's progress ---- */

int tel_campaign_call_progress(struct cc_db_conn *conn, const struct tel_call *call,
                               const char *contact_id, const char *traceparent)
{
        if (!call || call->inbound || !call->campaign_id[0] || !cc_uuid_valid(call->campaign_id) ||
            !contact_id || !cc_uuid_valid(contact_id) || !cc_uuid_valid(call->org_id))
                return 0;
        /* next: the contact's status, or RETRY (PENDING with a back-off while attempts remain,
         * else FAILED); from: the statuses it may leave. */
        const char *next, *outcome = NULL, *from = "{DIALING,CONNECTED}";
        switch (call->status) {
        case TEL_CALL_IN_PROGRESS:
        case TEL_CALL_ON_HOLD:
                next = "CONNECTED";
                from = "{DIALING}";
                break;
        case TEL_CALL_COMPLETED:
                next = "COMPLETED";
                outcome = "answered";
                break;
        case TEL_CALL_BUSY:
                next = "RETRY";
                outcome = "busy";
                break;
        case TEL_CALL_NO_ANSWER:
                next = "RETRY";
                outcome = "no-answer";
                break;
        case TEL_CALL_CANCELED:
                next = "RETRY";
                outcome = "canceled";
                break;
        case TEL_CALL_FAILED:
                next = "FAILED";
                outcome = "failed";
                break;
        default:
                return 0; /* still queued or ringing: the contact is DIALING already */
        }
        /* The back-off, counted from the end of the call, doubles with each attempt:
         * retry_delay, 2 x, 4 x ... */
        static const char sql[] =
            "UPDATE contacts t SET status = CASE WHEN $4 <> 'RETRY' THEN $4 "
            "WHEN t.attempts < c.max_attempts THEN 'PENDING' ELSE 'FAILED' END, "
            "next_attempt = CASE WHEN $4 = 'RETRY' AND t.attempts < c.max_attempts "
            "THEN coalesce('epoch'::timestamptz + $7::bigint * interval '1 millisecond', now()) "
            "+ make_interval(secs => c.retry_delay_seconds::double precision * "
            "power(2, greatest(t.attempts, 1) - 1)) END, "
            "outcome = coalesce($5, t.outcome), updated_at = now() "
            "FROM campaigns c WHERE t.org_id = $1 AND t.id = $2 AND t.campaign_id = $3 "
            "AND c.org_id = $1 AND c.id = t.campaign_id AND t.status = ANY ($6::text[]) "
            "RETURNING t.status";
        char ended[24];
        snprintf(ended, sizeof(ended), "%" PRId64, call->ended_at_ms);
        const char *p[] = {call->org_id,
                           contact_id,
                           call->campaign_id,
                           next,
                           outcome,
                           from,
                           call->ended_at_ms > 0 ? ended : NULL};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, 7, p, &res);
        if (r < 0)
                return r;
        bool final = PQntuples(res) == 1 && (strcmp(PQgetvalue(res, 0, 0), "COMPLETED") == 0 ||
                                             strcmp(PQgetvalue(res, 0, 0), "FAILED") == 0);
        PQclear(res);
        if (!final)
                return 0;
        return tel_campaign_complete_if_done(conn, call->org_id, call->campaign_id, traceparent,
                                             NULL);
}
