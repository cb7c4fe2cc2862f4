/* SQL for calls, their recordings and transcripts. Every statement names the organization it
 * works in, except the lookup by Twilio's CallSid (a webhook learns the organization from it).
 * Times are computed here in ms and written exactly, so the row, the events and the durations
 * derived from them agree to the millisecond. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calls_internal.h"
#include "cc/json.h"

#define MS(col)  "(extract(epoch FROM " col ") * 1000)::bigint AS " col "_ms"
#define TS(p)    "('epoch'::timestamptz + " p "::bigint * interval '1 millisecond')"
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

/* clang-format off */
#define CALL_COLS                                                                                  \
        "id, org_id, status, direction, from_number, to_number, agent_id, campaign_id, "           \
        "twilio_sid, conference, "                                                                 \
        MS("start_time") ", " MS("answered_at") ", " MS("ended_at") ", "                           \
        "supervisor_id, contact_id, queue_id, disposition, "                                       \
        MS("ringing_at") ", " MS("hold_started_at") ", "                                           \
        "hold_seconds, duration_s, talk_s, deleted_at IS NOT NULL AS deleted, provider, notes, "   \
        "metadata::text AS metadata, recording_url, "                                              \
        MS("updated_at") ", queue_state, " MS("queued_at") ", " MS("connected_at") ", "           \
        "abandoned, wrap_up_s, ended_event_sent, " MS("queue_left_at")
/* clang-format on */

/* clang-format off */
static const char insert_call_sql[] =
        "INSERT INTO calls (id, org_id, direction, status, from_number, to_number, twilio_sid, "
        "agent_id, campaign_id, contact_id, metadata, start_time, ringing_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, " TS("$12") ", "
        "CASE WHEN $13::boolean THEN " TS("$12") " END, now()) RETURNING " CALL_COLS;

static const char transition_sql[] =
        "UPDATE calls SET status = $3, ringing_at = " TS("$4") ", answered_at = " TS("$5") ", "
        "hold_started_at = " TS("$6") ", hold_seconds = $7, ended_at = " TS("$8") ", "
        "duration_s = $9, talk_s = $10, ended_event_sent = $11, updated_at = now() "
        "WHERE org_id = $1 AND id = $2";
/* clang-format on */

enum {
        COL_ID,
        COL_ORG,
        COL_STATUS,
        COL_DIRECTION,
        COL_FROM,
        COL_TO,
        COL_AGENT,
        COL_CAMPAIGN,
        COL_SID,
        COL_CONFERENCE,
        COL_START,
        COL_ANSWERED,
        COL_ENDED,
        COL_SUPERVISOR,
        COL_CONTACT,
        COL_QUEUE,
        COL_DISPOSITION,
        COL_RINGING,
        COL_HOLD_STARTED,
        COL_HOLD_SECONDS,
        COL_DURATION,
        COL_TALK,
        COL_DELETED,
        COL_PROVIDER,
        COL_NOTES,
        COL_METADATA,
        COL_RECORDING_URL,
        COL_UPDATED,
        COL_QUEUE_STATE,
        COL_QUEUED,
        COL_CONNECTED,
        COL_ABANDONED,
        COL_WRAP_UP,
        COL_ENDED_SENT,
        COL_QUEUE_LEFT,
};

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static void copy(char *dst, size_t len, PGresult *res, int row, int c)
{
        snprintf(dst, len, "%s", PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c));
}

static int64_t col_ms(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static int col_int(PGresult *res, int row, int c, int dflt)
{
        return PQgetisnull(res, row, c) ? dflt : (int)strtol(PQgetvalue(res, row, c), NULL, 10);
}

static void row_from_result(PGresult *res, int row, int base, struct tel_call_row *r)
{
        memset(r, 0, sizeof(*r));
        struct tel_call *c = &r->call;
        copy(c->id, sizeof(c->id), res, row, base + COL_ID);
        copy(c->org_id, sizeof(c->org_id), res, row, base + COL_ORG);
        if (tel_call_status_parse(PQgetvalue(res, row, base + COL_STATUS), &c->status) < 0)
                c->status = TEL_CALL_FAILED; /* the table's CHECK makes this unreachable */
        c->inbound = strcmp(PQgetvalue(res, row, base + COL_DIRECTION), "INBOUND") == 0;
        copy(c->from_number, sizeof(c->from_number), res, row, base + COL_FROM);
        copy(c->to_number, sizeof(c->to_number), res, row, base + COL_TO);
        copy(c->agent_id, sizeof(c->agent_id), res, row, base + COL_AGENT);
        copy(c->campaign_id, sizeof(c->campaign_id), res, row, base + COL_CAMPAIGN);
        copy(c->twilio_sid, sizeof(c->twilio_sid), res, row, base + COL_SID);
        copy(c->conference, sizeof(c->conference), res, row, base + COL_CONFERENCE);
        c->started_at_ms = col_ms(res, row, base + COL_START);
        c->answered_at_ms = col_ms(res, row, base + COL_ANSWERED);
        c->ended_at_ms = col_ms(res, row, base + COL_ENDED);
        copy(r->supervisor_id, sizeof(r->supervisor_id), res, row, base + COL_SUPERVISOR);
        copy(r->contact_id, sizeof(r->contact_id), res, row, base + COL_CONTACT);
        copy(r->queue_id, sizeof(r->queue_id), res, row, base + COL_QUEUE);
        copy(r->disposition, sizeof(r->disposition), res, row, base + COL_DISPOSITION);
        r->ringing_at_ms = col_ms(res, row, base + COL_RINGING);
        r->hold_started_at_ms = col_ms(res, row, base + COL_HOLD_STARTED);
        r->hold_seconds = col_int(res, row, base + COL_HOLD_SECONDS, 0);
        r->duration_s = col_int(res, row, base + COL_DURATION, -1);
        r->talk_s = col_int(res, row, base + COL_TALK, -1);
        r->deleted = strcmp(PQgetvalue(res, row, base + COL_DELETED), "t") == 0;
        copy(r->queue_state, sizeof(r->queue_state), res, row, base + COL_QUEUE_STATE);
        r->queued_at_ms = col_ms(res, row, base + COL_QUEUED);
        r->connected_at_ms = col_ms(res, row, base + COL_CONNECTED);
        r->abandoned = strcmp(PQgetvalue(res, row, base + COL_ABANDONED), "t") == 0;
        r->wrap_up_s = col_int(res, row, base + COL_WRAP_UP, -1);
        r->ended_event_sent = strcmp(PQgetvalue(res, row, base + COL_ENDED_SENT), "t") == 0;
        r->queue_left_at_ms = col_ms(res, row, base + COL_QUEUE_LEFT);
}

static void add_ms(json_object *o, const char *field, PGresult *res, int row, int c)
{
        cc_json_add_time(o, field, PQgetisnull(res, row, c) ? -1 : col_ms(res, row, c));
}

static void add_int(json_object *o, const char *field, PGresult *res, int row, int c)
{
        json_object_object_add(
            o, field,
            PQgetisnull(res, row, c) ? NULL : json_object_new_int(col_int(res, row, c, 0)));
}

/* The contract's Call object, plus the derived times and durations (answered_at, ringing_at,
 * talk_seconds, hold_seconds, updated_at) that clients may use and the contract's client
 * ignores. */
static json_object *json_from_result(PGresult *res, int row, int base)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, base + COL_ID));
        cc_json_add_string(o, "from_number", val(res, row, base + COL_FROM));
        cc_json_add_string(o, "to_number", val(res, row, base + COL_TO));
        cc_json_add_string(o, "direction", val(res, row, base + COL_DIRECTION));
        cc_json_add_string(o, "status", val(res, row, base + COL_STATUS));
        cc_json_add_string(o, "provider", val(res, row, base + COL_PROVIDER));
        cc_json_add_string(o, "organization_id", val(res, row, base + COL_ORG));
        cc_json_add_string(o, "agent_id", val(res, row, base + COL_AGENT));
        cc_json_add_string(o, "supervisor_id", val(res, row, base + COL_SUPERVISOR));
        cc_json_add_string(o, "campaign_id", val(res, row, base + COL_CAMPAIGN));
        cc_json_add_string(o, "contact_id", val(res, row, base + COL_CONTACT));
        add_ms(o, "start_time", res, row, base + COL_START);
        add_ms(o, "end_time", res, row, base + COL_ENDED);
        add_int(o, "duration", res, row, base + COL_DURATION);
        cc_json_add_string(o, "recording_url", val(res, row, base + COL_RECORDING_URL));
        cc_json_add_string(o, "disposition", val(res, row, base + COL_DISPOSITION));
        cc_json_add_string(o, "notes", val(res, row, base + COL_NOTES));
        const char *meta = val(res, row, base + COL_METADATA);
        json_object_object_add(o, "extra_metadata", meta ? json_tokener_parse(meta) : NULL);
        add_ms(o, "created_at", res, row, base + COL_START);
        add_ms(o, "ringing_at", res, row, base + COL_RINGING);
        add_ms(o, "answered_at", res, row, base + COL_ANSWERED);
        add_int(o, "talk_seconds", res, row, base + COL_TALK);
        add_int(o, "hold_seconds", res, row, base + COL_HOLD_SECONDS);
        add_ms(o, "updated_at", res, row, base + COL_UPDATED);
        cc_json_add_string(o, "queue_id", val(res, row, base + COL_QUEUE));
        cc_json_add_string(o, "queue_state", val(res, row, base + COL_QUEUE_STATE));
        add_ms(o, "queued_at", res, row, base + COL_QUEUED);
        add_ms(o, "connected_at", res, row, base + COL_CONNECTED);
        json_object_object_add(
            o, "abandoned",
            json_object_new_boolean(strcmp(PQgetvalue(res, row, base + COL_ABANDONED), "t") == 0));
        add_int(o, "wrap_up_seconds", res, row, base + COL_WRAP_UP);
        return o;
}

/* Runs a statement expected to return at most one call row. */
static int one_row(struct cc_db_conn *conn, const char *sql, int n, const char *const *params,
                   struct tel_call_row *ret_row)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        if (ret_row)
                row_from_result(res, 0, 0, ret_row);
        PQclear(res);
        return 0;
}

int tel_call_row_get(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                     bool for_update, bool include_deleted, struct tel_call_row *ret_row)
{
        if (!call_id || !cc_uuid_valid(call_id) || !org_id || !cc_uuid_valid(org_id))
                return -ENOENT;
        static const char *const sql[2][2] = {
            {"SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2 "
             "AND deleted_at IS NULL",
             "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2"},
            {"SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2 "
             "AND deleted_at IS NULL FOR UPDATE",
             "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2 FOR UPDATE"},
        };
        const char *p[] = {org_id, call_id};
        return one_row(conn, sql[for_update][include_deleted], 2, p, ret_row);
}

int tel_call_get(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                 struct tel_call *ret_call)
{
        struct tel_call_row row;
        int r = tel_call_row_get(conn, org_id, call_id, false, false, &row);
        if (r == 0)
                *ret_call = row.call;
        return r;
}

/* Webhooks follow a call even after it was deleted from the API: the row stays for analytics,
 * which still needs to hear how the call ended. */
int tel_call_by_sid(struct cc_db_conn *conn, const char *sid, struct tel_call *ret_call)
{
        if (!sid || !*sid)
                return -ENOENT;
        const char *p[] = {sid};
        struct tel_call_row row;
        int r = one_row(conn, "SELECT " CALL_COLS " FROM calls WHERE twilio_sid = $1", 1, p, &row);
        if (r == 0)
                *ret_call = row.call;
        return r;
}

int tel_call_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                        const char *only_agent, json_object **ret_json)
{
        if (!call_id || !cc_uuid_valid(call_id))
                return -ENOENT;
        const char *p[] = {org_id, call_id, only_agent};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2 "
                           "AND deleted_at IS NULL AND ($3::uuid IS NULL OR agent_id = $3::uuid)",
                           3, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_json = json_from_result(res, 0, 0);
        PQclear(res);
        return 0;
}

json_object *tel_call_json(struct cc_db_conn *conn, const struct tel_call *call)
{
        const char *p[] = {call->org_id, call->id};
        PGresult *res = NULL;
        if (!cc_uuid_valid(call->id) || !cc_uuid_valid(call->org_id) ||
            cc_db_exec(conn, "SELECT " CALL_COLS " FROM calls WHERE org_id = $1 AND id = $2", 2, p,
                       &res) < 0)
                return NULL;
        json_object *o = PQntuples(res) ? json_from_result(res, 0, 0) : NULL;
        PQclear(res);
        return o;
}

static const char *opt_uuid(const char *s)
{
        return s && *s ? s : NULL;
}

int tel_call_create(struct cc_db_conn *conn, const char *org_id, const struct tel_call_new *c,
                    struct tel_call *ret_call)
{
        struct tel_call probe;
        /* The numbers and the sid must fit struct tel_call; handlers refuse longer ones. */
        if (!org_id || !cc_uuid_valid(org_id) || !c->from_number || !c->to_number ||
            strlen(c->from_number) >= sizeof(probe.from_number) ||
            strlen(c->to_number) >= sizeof(probe.to_number) ||
            (c->twilio_sid && strlen(c->twilio_sid) >= sizeof(probe.twilio_sid)))
                return -EINVAL;
        const char *ids[] = {c->agent_id, c->campaign_id, c->contact_id};
        for (size_t i = 0; i < CC_ARRAY_SIZE(ids); i++)
                if (opt_uuid(ids[i]) && !cc_uuid_valid(ids[i]))
                        return -EINVAL;
        if (c->metadata && !json_object_is_type(c->metadata, json_type_object))
                return -EINVAL;

        char id[CC_UUID_LEN + 1], start[24];
        cc_uuid_v4(id);
        snprintf(start, sizeof(start), "%" PRId64, cc_now_ms());
        const char *meta = c->metadata
                               ? json_object_to_json_string_ext(c->metadata, JSON_C_TO_STRING_PLAIN)
                               : NULL;
        const char *p[] = {id,
                           org_id,
                           c->inbound ? "INBOUND" : "OUTBOUND",
                           c->inbound ? "RINGING" : "QUEUED",
                           c->from_number,
                           c->to_number,
                           c->twilio_sid && *c->twilio_sid ? c->twilio_sid : NULL,
                           opt_uuid(c->agent_id),
                           opt_uuid(c->campaign_id),
                           opt_uuid(c->contact_id),
                           meta,
                           start,
                           c->inbound ? "t" : "f"};
        struct tel_call_row row;
        int r = one_row(conn, insert_call_sql, 13, p, &row);
        if (r == 0)
                r = tel_event_call_started(conn, &row, c->traceparent);
        if (r == 0)
                *ret_call = row.call;
        return r;
}

int tel_call_set_sid(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                     const char *sid)
{
        struct tel_call probe;
        if (!sid || !*sid || strlen(sid) >= sizeof(probe.twilio_sid))
                return -EINVAL;
        if (!cc_uuid_valid(call_id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id, call_id, sid};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "UPDATE calls SET twilio_sid = $3, updated_at = now() "
                           "WHERE org_id = $1 AND id = $2 RETURNING id",
                           3, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

/* Top-level merge: the patch's keys replace the stored ones, a null value removes its key. */
#define MERGED(p)                                                                                  \
        "(coalesce(metadata, '{}'::jsonb) || " p "::jsonb) - ARRAY(SELECT key FROM jsonb_each(" p  \
        "::jsonb) WHERE value = 'null'::jsonb)"

/* clang-format off */
static const char merge_metadata_sql[] =
        "UPDATE calls SET metadata = " MERGED("$3") ", updated_at = now() "
        "WHERE org_id = $1 AND id = $2 RETURNING id";

/* Each field changes only when its flag is set (null clears it). */
static const char update_fields_sql[] =
        "UPDATE calls SET "
        "agent_id = CASE WHEN $3::boolean THEN $4::uuid ELSE agent_id END, "
        "supervisor_id = CASE WHEN $5::boolean THEN $6::uuid ELSE supervisor_id END, "
        "disposition = CASE WHEN $7::boolean THEN $8 ELSE disposition END, "
        "notes = CASE WHEN $9::boolean THEN $10 ELSE notes END, "
        "metadata = CASE WHEN NOT $11::boolean THEN metadata "
        "WHEN $12::jsonb IS NULL THEN NULL ELSE " MERGED("$12") " END, "
        "updated_at = now() WHERE org_id = $1 AND id = $2 RETURNING " CALL_COLS;
/* clang-format on */

int tel_call_merge_metadata(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                            json_object *patch)
{
        if (!patch || !json_object_is_type(patch, json_type_object))
                return -EINVAL;
        if (!cc_uuid_valid(call_id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id, call_id,
                           json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN)};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, merge_metadata_sql, 3, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

static int64_t secs(int64_t ms)
{
        return ms > 0 ? ms / 1000 : 0;
}

static void fmt_ms(char buf[24], int64_t ms, const char **ret)
{
        if (ms > 0) {
                snprintf(buf, 24, "%" PRId64, ms);
                *ret = buf;
        } else {
                *ret = NULL;
        }
}

static void fmt_int(char buf[24], int v, const char **ret)
{
        if (v >= 0) {
                snprintf(buf, 24, "%d", v);
                *ret = buf;
        } else {
                *ret = NULL;
        }
}

/* The state machine's step for a locked row: derives the times and durations, writes them and
 * the events. 0 applied, 1 ignored (webhook), -EPERM refused (API). */
static int apply_transition(struct cc_db_conn *conn, struct tel_call_row *row,
                            const struct tel_transition *t)
{
        struct tel_call *c = &row->call;
        enum tel_call_status from = c->status, to = t->to;
        bool ok = tel_call_transition_allowed(from, to);
        /* Twilio knows nothing of our hold (a conference participant's state): its
         * "in-progress" for a held call repeats the answer, it does not resume the call. */
        if (t->source == TEL_SOURCE_WEBHOOK && from == TEL_CALL_ON_HOLD &&
            to == TEL_CALL_IN_PROGRESS)
                ok = false;
        /* An inbound caller waiting in one of our queues hears hold music: Twilio calls that
         * answered, but nobody has answered them yet (an agent taking the call does). A callee
         * of ours who picked up did answer, queue or not. */
        if (t->source == TEL_SOURCE_WEBHOOK && to == TEL_CALL_IN_PROGRESS && c->inbound &&
            (strcmp(row->queue_state, "WAITING") == 0 || strcmp(row->queue_state, "OFFERED") == 0))
                ok = false;
        if (!ok)
                return t->source == TEL_SOURCE_WEBHOOK ? 1 : -EPERM;

        int64_t at = t->at_ms > 0 ? t->at_ms : cc_now_ms();
        if (at < c->started_at_ms)
                at = c->started_at_ms; /* a clock behind ours must not make durations negative */
        bool first_answer = false;
        if (to == TEL_CALL_RINGING && !row->ringing_at_ms)
                row->ringing_at_ms = at;
        if (to == TEL_CALL_IN_PROGRESS && !c->answered_at_ms) {
                c->answered_at_ms = at;
                first_answer = true;
        }
        if (from == TEL_CALL_ON_HOLD && row->hold_started_at_ms) {
                row->hold_seconds += (int)secs(at - row->hold_started_at_ms);
                row->hold_started_at_ms = 0;
        }
        if (to == TEL_CALL_ON_HOLD)
                row->hold_started_at_ms = at;
        if (tel_call_status_terminal(to)) {
                c->ended_at_ms = at;
                bool twilio_says = to == TEL_CALL_COMPLETED && t->duration_s >= 0;
                row->duration_s = twilio_says ? t->duration_s : (int)secs(at - c->started_at_ms);
                int64_t talk = 0;
                if (c->answered_at_ms)
                        talk = secs(at - c->answered_at_ms) - row->hold_seconds;
                else if (twilio_says)
                        talk = t->duration_s - row->hold_seconds; /* answered unseen by us */
                row->talk_s = talk > 0 ? (int)talk : 0;
        }
        c->status = to;

        /* Queues and agents learn of the end in the same transaction, and so does everyone else
         * (call.ended): a call counts as soon as it is over. When its agent goes into wrap-up,
         * the wrap-up's length follows in call.wrapped_up (routing.c). */
        bool wrap_up_follows = false;
        if (tel_call_status_terminal(to)) {
                int r = tel_route_call_ended(conn, row, &wrap_up_follows, t->traceparent);
                if (r < 0)
                        return r;
        }
        bool ended_now = tel_call_status_terminal(to) && !row->ended_event_sent;
        row->wrap_up_pending = wrap_up_follows;

        char b_ring[24], b_ans[24], b_hold[24], b_holds[24], b_end[24], b_dur[24], b_talk[24];
        const char *p[11] = {c->org_id, c->id, tel_call_status_name(to)};
        fmt_ms(b_ring, row->ringing_at_ms, &p[3]);
        fmt_ms(b_ans, c->answered_at_ms, &p[4]);
        fmt_ms(b_hold, row->hold_started_at_ms, &p[5]);
        fmt_int(b_holds, row->hold_seconds, &p[6]);
        fmt_ms(b_end, c->ended_at_ms, &p[7]);
        fmt_int(b_dur, tel_call_status_terminal(to) ? row->duration_s : -1, &p[8]);
        fmt_int(b_talk, tel_call_status_terminal(to) ? row->talk_s : -1, &p[9]);
        if (ended_now)
                row->ended_event_sent = true;
        p[10] = row->ended_event_sent ? "true" : "false";
        int r = cc_db_exec(conn, transition_sql, 11, p, NULL);
        if (r == 0)
                r = tel_event_call_updated(conn, row, from, at, t->traceparent);
        if (r == 0 && first_answer)
                r = tel_event_call_answered(conn, row, t->traceparent);
        if (r == 0 && ended_now)
                r = tel_event_call_ended(conn, row, t->traceparent);
        if (r == 0 && row->contact_id[0])
                r = tel_campaign_call_progress(conn, c, row->contact_id, t->traceparent);
        return r;
}

int tel_call_transition(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                        const struct tel_transition *t, struct tel_call *ret_call)
{
        struct tel_call_row row;
        /* A deleted call left the API, not the world: Twilio may still report its end. */
        int r =
            tel_call_row_get(conn, org_id, call_id, true, t->source == TEL_SOURCE_WEBHOOK, &row);
        if (r == 0)
                r = apply_transition(conn, &row, t);
        if (r >= 0 && ret_call)
                *ret_call = row.call;
        return r;
}

/* By sid, or by our id for a call whose sid is not stored yet: Twilio may call back before
 * Calls.json has answered us, so the URLs we give it carry our id. */
#define BY_REF_WHERE " WHERE twilio_sid = $1 OR (twilio_sid IS NULL AND id = $2::uuid)"

int tel_call_by_ref(struct cc_db_conn *conn, const char *sid, const char *call_id,
                    struct tel_call *ret_call)
{
        if (!sid || !*sid)
                return -ENOENT;
        const char *p[] = {sid, call_id && cc_uuid_valid(call_id) ? call_id : NULL};
        struct tel_call_row row;
        int r =
            one_row(conn, "SELECT " CALL_COLS " FROM calls" BY_REF_WHERE " LIMIT 1", 2, p, &row);
        if (r == 0)
                *ret_call = row.call;
        return r;
}

int tel_call_status_callback(struct cc_db_conn *conn, const char *sid, const char *call_id,
                             const char *account_org, const struct tel_transition *t,
                             struct tel_call *ret_call)
{
        if (!sid || !*sid)
                return -ENOENT;
        /* One round trip finds and locks the call and tells whether its organization has an
         * account of its own (then only that account's callbacks speak for it). */
        static const char sql[] =
            "SELECT " CALL_COLS ", EXISTS (SELECT 1 FROM twilio_credentials cr "
            "WHERE cr.org_id = calls.org_id) FROM calls" BY_REF_WHERE " LIMIT 1 FOR UPDATE";
        const char *p[] = {sid, call_id && cc_uuid_valid(call_id) ? call_id : NULL};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, 2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        struct tel_call_row row;
        row_from_result(res, 0, 0, &row);
        bool own = PQgetvalue(res, 0, PQnfields(res) - 1)[0] == 't';
        PQclear(res);
        bool speaks =
            account_org && account_org[0] ? strcmp(account_org, row.call.org_id) == 0 : !own;
        if (!speaks)
                return -EACCES;
        if (!row.call.twilio_sid[0]) {
                r = tel_call_set_sid(conn, row.call.org_id, row.call.id, sid);
                if (r < 0)
                        return r;
                snprintf(row.call.twilio_sid, sizeof(row.call.twilio_sid), "%s", sid);
        }
        r = apply_transition(conn, &row, t);
        if (r >= 0 && ret_call)
                *ret_call = row.call;
        return r;
}

static bool sid_batchable(const char *sid)
{
        size_t n = 0;
        for (; sid[n]; n++)
                if (!((sid[n] >= '0' && sid[n] <= '9') || (sid[n] >= 'a' && sid[n] <= 'z') ||
                      (sid[n] >= 'A' && sid[n] <= 'Z')))
                        return false;
        return n > 0 && n < sizeof(((struct tel_call *)0)->twilio_sid);
}

int tel_call_status_batch(struct cc_db_conn *conn, struct tel_status_job *jobs, size_t n)
{
        /* Array literals of sids and ids: letters and digits, and UUIDs (checked below). */
        struct cc_strbuf sids = {0}, ids = {0};
        cc_strbuf_puts(&sids, "{");
        cc_strbuf_puts(&ids, "{");
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i].sid || !sid_batchable(jobs[i].sid)) {
                        cc_strbuf_fini(&sids);
                        cc_strbuf_fini(&ids);
                        return -EINVAL;
                }
                /* Quoted: an unquoted element spelled NULL would be an SQL NULL. */
                cc_strbuf_printf(&sids, "%s\"%s\"", i ? "," : "", jobs[i].sid);
                if (jobs[i].call_id && cc_uuid_valid(jobs[i].call_id))
                        cc_strbuf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", jobs[i].call_id);
        }
        cc_strbuf_puts(&sids, "}");
        cc_strbuf_puts(&ids, "}");
        /* Locked in id order, so two batches never wait on each other's calls crosswise. */
        static const char sql[] =
            "SELECT " CALL_COLS ", EXISTS (SELECT 1 FROM twilio_credentials cr "
            "WHERE cr.org_id = calls.org_id) FROM calls WHERE twilio_sid = ANY($1::text[]) "
            "OR (twilio_sid IS NULL AND id = ANY($2::uuid[])) ORDER BY id FOR UPDATE";
        const char *p[] = {sids.data, ids.data};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, 2, p, &res);
        cc_strbuf_fini(&sids);
        cc_strbuf_fini(&ids);
        if (r < 0)
                return r;
        int nrows = PQntuples(res);
        struct tel_call_row *rows = cc_xcalloc(nrows ? (size_t)nrows : 1, sizeof(*rows));
        bool *own = cc_xcalloc(nrows ? (size_t)nrows : 1, sizeof(*own));
        for (int i = 0; i < nrows; i++) {
                row_from_result(res, i, 0, &rows[i]);
                own[i] = PQgetvalue(res, i, PQnfields(res) - 1)[0] == 't';
        }
        PQclear(res);
        for (size_t j = 0; j < n && r == 0; j++) {
                struct tel_status_job *job = &jobs[j];
                struct tel_call_row *row = NULL;
                int k = 0;
                for (; k < nrows && !row; k++)
                        if (strcmp(rows[k].call.twilio_sid, job->sid) == 0)
                                row = &rows[k];
                for (k = 0; k < nrows && !row; k++)
                        if (!rows[k].call.twilio_sid[0] && job->call_id &&
                            strcmp(rows[k].call.id, job->call_id) == 0)
                                row = &rows[k];
                if (!row) {
                        job->result = -ENOENT;
                        continue;
                }
                bool row_own = own[row - rows];
                bool speaks = job->account_org && job->account_org[0]
                                  ? strcmp(job->account_org, row->call.org_id) == 0
                                  : !row_own;
                if (!speaks) {
                        job->result = -EACCES;
                        continue;
                }
                if (!row->call.twilio_sid[0]) {
                        const char *q[] = {row->call.org_id, row->call.id, job->sid};
                        r = cc_db_exec(conn,
                                       "UPDATE calls SET twilio_sid = $3 "
                                       "WHERE org_id = $1 AND id = $2",
                                       3, q, NULL);
                        if (r < 0)
                                break;
                        snprintf(row->call.twilio_sid, sizeof(row->call.twilio_sid), "%s",
                                 job->sid);
                }
                r = apply_transition(conn, row, &job->t);
                if (r >= 0) {
                        job->result = r;
                        job->call = row->call;
                        r = 0;
                }
        }
        free(rows);
        free(own);
        return r;
}

int tel_call_update(struct cc_db_conn *conn, const struct tel_call_row *locked,
                    const struct tel_call_patch *pt, const struct tel_transition *t,
                    const char *traceparent, struct tel_call_row *ret_row)
{
        struct tel_call_row row = *locked;
        const struct tel_call *c = &locked->call;
        int r = 0;
        if (pt->set_agent_id || pt->set_supervisor_id || pt->set_disposition || pt->set_notes ||
            pt->set_metadata) {
                const char *t_ = "t", *f_ = "f";
#define FLAG(x) (pt->set_##x ? t_ : f_)
                const char *p[] = {c->org_id,           c->id,
                                   FLAG(agent_id),      pt->agent_id,
                                   FLAG(supervisor_id), pt->supervisor_id,
                                   FLAG(disposition),   pt->disposition,
                                   FLAG(notes),         pt->notes,
                                   FLAG(metadata),      pt->metadata_json};
#undef FLAG
                r = one_row(conn, update_fields_sql, 12, p, &row);
                if (r < 0)
                        return r;
        }
        if (t) {
                r = apply_transition(conn, &row, t);
        } else if (strcmp(row.call.agent_id, c->agent_id) != 0 ||
                   strcmp(row.disposition, locked->disposition) != 0) {
                r = tel_event_call_updated(conn, &row, row.call.status, cc_now_ms(), traceparent);
        }
        if (r == 0 && ret_row)
                *ret_row = row;
        return r;
}

int tel_call_soft_delete(struct cc_db_conn *conn, const char *org_id, const char *call_id)
{
        if (!cc_uuid_valid(call_id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id, call_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "UPDATE calls SET deleted_at = now(), updated_at = now() "
                           "WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id",
                           2, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int tel_call_recording(struct cc_db_conn *conn, const struct tel_call *call,
                       const char *recording_sid, const char *url, int duration_s,
                       const char *status, const char *traceparent)
{
        if (!recording_sid || !*recording_sid)
                return -EINVAL;
        /* A recording whose URL Twilio gives without a status is a finished one (<Record>'s
         * action callback). */
        if (!status || !*status)
                status = "completed";
        url = url && *url ? url : NULL;
        char dur[24];
        const char *dur_p = NULL;
        fmt_int(dur, duration_s, &dur_p);
        const char *p[] = {recording_sid, call->id, call->org_id, url, dur_p, status};
        PGresult *res = NULL;
        /* One sid moves through in-progress, completed (or absent/failed): a new status is
         * news, the same status again is Twilio retrying. started_at is estimated once, from
         * the first callback: "now" for one at the recording's start, now - duration for one
         * at its end. */
        int r = cc_db_exec(
            conn,
            "INSERT INTO recordings AS r (sid, call_id, org_id, url, duration_s, status, "
            "started_at) VALUES ($1, $2, $3, $4, $5::integer, $6, now() - "
            "coalesce($5::integer, 0) * interval '1 second') "
            "ON CONFLICT (sid) DO UPDATE SET url = coalesce(EXCLUDED.url, r.url), "
            "duration_s = coalesce(EXCLUDED.duration_s, r.duration_s), status = EXCLUDED.status, "
            "updated_at = now() WHERE r.call_id = EXCLUDED.call_id "
            "AND r.status IS DISTINCT FROM EXCLUDED.status RETURNING r.url, r.duration_s",
            6, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 1;
        }
        const char *stored_url = val(res, 0, 0);
        int stored_dur = col_int(res, 0, 1, 0);
        char *url_copy = stored_url ? cc_xstrdup(stored_url) : NULL;
        PQclear(res);
        if (url_copy) {
                const char *q[] = {call->org_id, call->id, url_copy};
                r = cc_db_exec(conn,
                               "UPDATE calls SET recording_url = $3, updated_at = now() "
                               "WHERE org_id = $1 AND id = $2",
                               3, q, NULL);
        }
        if (r == 0 && strcasecmp(status, "completed") == 0)
                r = tel_event_call_recording(conn, call, recording_sid, url_copy, stored_dur,
                                             traceparent);
        free(url_copy);
        return r;
}

int tel_call_transcript(struct cc_db_conn *conn, const struct tel_call *call,
                        const char *transcription_sid, const char *recording_sid, const char *text,
                        double confidence, const char *traceparent)
{
        if (!transcription_sid || !*transcription_sid)
                return -EINVAL;
        if (!text)
                text = "";
        /* Twilio's transcriptions carry no confidence: unknown is stored as NULL. */
        bool known = !isnan(confidence) && confidence >= 0;
        if (known && confidence > 1)
                confidence = 1;
        char id[CC_UUID_LEN + 1], conf[32];
        cc_uuid_v4(id);
        snprintf(conf, sizeof(conf), "%.6f", confidence);
        const char *p[] = {id,
                           call->id,
                           call->org_id,
                           transcription_sid,
                           recording_sid && *recording_sid ? recording_sid : NULL,
                           text,
                           known ? conf : NULL};
        PGresult *res = NULL;
        /* The segment's offset in the call is where its recording started. */
        int r = cc_db_exec(
            conn,
            "INSERT INTO transcripts (id, call_id, org_id, transcription_sid, recording_sid, "
            "content, confidence, offset_ms) SELECT $1, $2, $3, $4, $5, $6, $7::double precision, "
            "coalesce((SELECT least(greatest(0, (extract(epoch FROM r.started_at - c.start_time) "
            "* 1000)::bigint), 2147483647) FROM recordings r JOIN calls c ON c.id = r.call_id "
            "WHERE r.sid = $5 AND r.call_id = $2), 0) "
            "ON CONFLICT (transcription_sid) DO NOTHING RETURNING offset_ms",
            7, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 1;
        }
        int offset_ms = col_int(res, 0, 0, 0);
        PQclear(res);
        return tel_event_call_transcribed(conn, call, id, text, offset_ms, known ? confidence : 0,
                                          traceparent);
}

/* ---- the list ---- */

void tel_call_cursor_encode(int64_t start_ms, const char *id, char out[TEL_CURSOR_MAX])
{
        char raw[64];
        int n = snprintf(raw, sizeof(raw), "%" PRId64 ":%s", start_ms, id);
        cc_base64url_encode(raw, (size_t)n, out);
}

int tel_call_cursor_decode(const char *s, int64_t *ret_ms, char ret_id[CC_UUID_LEN + 1])
{
        char raw[64];
        size_t len = s ? strlen(s) : 0;
        if (len == 0 || len >= TEL_CURSOR_MAX)
                return -EINVAL;
        int n = cc_base64url_decode(s, len, raw, sizeof(raw) - 1);
        if (n < 0)
                return -EINVAL;
        raw[n] = '\0';
        char *colon = strchr(raw, ':');
        if (!colon || colon == raw)
                return -EINVAL;
        *colon = '\0';
        for (const char *d = raw; *d; d++)
                if (*d < '0' || *d > '9')
                        return -EINVAL;
        if (colon - raw > 15 || !cc_uuid_valid(colon + 1))
                return -EINVAL;
        *ret_ms = strtoll(raw, NULL, 10);
        memcpy(ret_id, colon + 1, CC_UUID_LEN + 1);
        return 0;
}

int tel_call_list(struct cc_db_conn *conn, const char *org_id, const struct tel_call_filter *f,
                  struct tel_call_page *ret_page)
{
        char offset[24], limit[24], cursor_ms[24];
        snprintf(offset, sizeof(offset), "%" PRId64,
                 f->has_cursor ? 0 : (f->page - 1) * f->page_size);
        /* One more than the page, to learn whether another follows. */
        snprintf(limit, sizeof(limit), "%" PRId64, f->page_size + 1);
        snprintf(cursor_ms, sizeof(cursor_ms), "%" PRId64, f->cursor_ms);
        const char *status = f->status >= 0 ? tel_call_status_name(f->status) : NULL;
        const char *p[9] = {org_id, f->agent_id ? f->agent_id : NIL_UUID, status ? status : "*",
                            offset, limit};
        int n = 5;

        /* Only constant fragments and parameter numbers go into the text; values are bound. The
         * page's ids come from an index-only scan of the matching index (offset included), then
         * only those rows are read; the total comes from call_counts. */
        struct cc_strbuf sql = {0};
        cc_strbuf_puts(&sql, "WITH page AS (SELECT id FROM calls WHERE org_id = $1 "
                             "AND deleted_at IS NULL");
        if (f->agent_id) {
                p[n++] = f->agent_id;
                cc_strbuf_printf(&sql, " AND agent_id = $%d::uuid", n);
        }
        if (status) {
                p[n++] = status;
                cc_strbuf_printf(&sql, " AND status = $%d", n);
        }
        if (f->has_cursor) {
                p[n++] = cursor_ms;
                p[n++] = f->cursor_id;
                cc_strbuf_printf(&sql, " AND (start_time, id) < (" TS("$%d") ", $%d::uuid)", n - 1,
                                 n);
        }
        cc_strbuf_puts(&sql, " ORDER BY start_time DESC, id DESC OFFSET $4 LIMIT $5), "
                             "tot AS (SELECT coalesce(sum(n), 0)::bigint AS total FROM call_counts "
                             "WHERE org_id = $1 AND agent_id = $2::uuid AND status = $3) "
                             "SELECT tot.total, c.* FROM tot LEFT JOIN (SELECT " CALL_COLS
                             " FROM calls JOIN page USING (id)) c ON true "
                             "ORDER BY c.start_time_ms DESC, c.id DESC");
        char *text = cc_strbuf_take(&sql);
        PGresult *res = NULL;
        int r = cc_db_exec(conn, text, n, p, &res);
        free(text);
        if (r < 0)
                return r;

        struct tel_call_page out = {.items = json_object_new_array()};
        int rows = PQntuples(res);
        out.total = rows ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        int shown = 0;
        for (int i = 0; i < rows && shown < f->page_size; i++) {
                if (PQgetisnull(res, i, 1 + COL_ID))
                        continue; /* the LEFT JOIN's empty side: no calls on this page */
                json_object_array_add(out.items, json_from_result(res, i, 1));
                shown++;
        }
        out.more = rows > f->page_size && !PQgetisnull(res, rows - 1, 1 + COL_ID);
        if (out.more) {
                int last = shown - 1;
                tel_call_cursor_encode(col_ms(res, last, 1 + COL_START),
                                       PQgetvalue(res, last, 1 + COL_ID), out.next_cursor);
        }
        PQclear(res);
        *ret_page = out;
        return 0;
}
