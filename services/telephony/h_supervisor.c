/* /api/supervisor: the six routes of API-CONTRACT.md §5.5, SUPERVISOR or ADMIN only, scoped to
 * the caller's organization (anyone else's call is 404 "Call not found").
 *
 * Monitor, whisper and barge-in dial the supervisor (the body's "endpoint", else the Twilio
 * Client named after the supervisor's user id) into the call's conference, as a listener, as
 * the agent's coach, or as a third party. Each supervisor's current leg is kept in the call's
 * metadata ("supervisors", by user id), so their change of mode replaces their own leg whoever
 * acted last, and ending the call hangs them all up.
 * Whisper messages are kept there too ("whispers", the last 20), for the agent's screen. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls_internal.h"
#include "cc/json.h"
#include "cc/log.h"

#define MAX_WHISPERS    20
#define LEG_RING_S      30
#define MAX_MESSAGE_LEN 1000

struct segment {
        const char *role, *content;
        int64_t at_ms;
};

/* ---- helpers ---- */

static const char *traceparent(struct cc_http_req *req)
{
        return cc_http_req_header(req, "traceparent");
}

static void reply_db_error(struct cc_http_req *req, int r)
{
        if (r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        cc_log_error(cc_http_req_id(req), "supervisor request failed: %s", strerror(-r));
        cc_http_reply_error(req, 500, "Internal server error");
}

/* The call of the path in the caller's organization (not locked); replies itself on failure. */
static int read_call(struct cc_http_req *req, struct cc_db_conn *conn, struct tel_call_row *row)
{
        int r = tel_call_row_get(conn, cc_http_req_auth(req)->org_id,
                                 cc_http_req_param(req, "call_id"), false, false, row);
        if (r == -ENOENT)
                cc_http_reply_error(req, 404, "Call not found");
        else if (r < 0)
                reply_db_error(req, r);
        return r;
}

/* A held call is still up in its conference: a supervisor may join it (to talk to the agent
 * while the customer hears hold music). */
static bool call_live(const struct tel_call *c)
{
        return c->status == TEL_CALL_IN_PROGRESS || c->status == TEL_CALL_ON_HOLD;
}

static void reply_ok(struct cc_http_req *req, json_object *o, const char *message)
{
        if (!o)
                o = json_object_new_object();
        json_object_object_add(o, "success", json_object_new_boolean(1));
        json_object_object_add(o, "message", json_object_new_string(message));
        cc_http_reply_json(req, 200, o);
}

/* The call's metadata (a new reference, an empty object when it has none). */
static int call_metadata(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                         json_object **ret)
{
        json_object *call = NULL;
        int r = tel_call_fetch_json(conn, org_id, call_id, NULL, &call);
        if (r < 0)
                return r;
        json_object *meta = json_object_object_get(call, "extra_metadata");
        *ret = json_object_is_type(meta, json_type_object) ? json_object_get(meta)
                                                           : json_object_new_object();
        json_object_put(call);
        return 0;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---- GET /active-calls ---- */

static int query_int(struct cc_http_req *req, const char *name, int64_t dflt, int64_t min,
                     int64_t max, int64_t *ret)
{
        const char *v = cc_http_req_query(req, name);
        if (!v || !*v) {
                *ret = dflt;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end || x < min || x > max) {
                cc_http_reply_error(req, 422, "%s: must be an integer from %" PRId64 " to %" PRId64,
                                    name, min, max);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

static void h_active_calls(struct cc_http_req *req)
{
        struct tel_call_filter f = {.status = TEL_CALL_IN_PROGRESS};
        if (query_int(req, "page", 1, 1, 10000000, &f.page) < 0 ||
            query_int(req, "page_size", 100, 1, 1000, &f.page_size) < 0)
                return;
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_page pg = {0};
        int r = tel_call_list(conn, cc_http_req_auth(req)->org_id, &f, &pg);
        cc_db_release(conn);
        if (r < 0) {
                reply_db_error(req, r);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "calls", pg.items);
        json_object_object_add(o, "total", json_object_new_int64(pg.total));
        cc_http_reply_json(req, 200, o);
}

/* ---- GET /calls/{call_id}/summary ---- */

/* Non-overlapping occurrences of word in text (both lower case), as Python's str.count. */
static int count_in(const char *text, const char *word)
{
        int n = 0;
        size_t len = strlen(word);
        for (const char *p = strstr(text, word); p; p = strstr(p + len, word))
                n++;
        return n;
}

struct keyword {
        const char *word;
        int count;
};

static json_object *summary_json(const struct tel_call_row *row, PGresult *segs)
{
        static const char *const keywords[] = {"refund",  "cancel", "order", "issue",  "account",
                                               "payment", "price",  "help",  "support"};
        static const char *const positive[] = {"great", "thanks", "appreciate",
                                               "good",  "happy",  "excellent"};
        static const char *const negative[] = {"angry", "cancel",    "problem",
                                               "issue", "complaint", "frustrated"};
        const struct tel_call *c = &row->call;
        int n = PQntuples(segs);

        /* All the text, lower-cased, one space between segments (no keyword has a space, so
         * none is counted across two segments). */
        struct cc_strbuf all = {0};
        json_object *transcripts = json_object_new_array();
        for (int i = 0; i < n; i++) {
                const char *content = PQgetvalue(segs, i, 1);
                if (i)
                        cc_strbuf_puts(&all, " ");
                cc_strbuf_puts(&all, content);
                json_object *t = json_object_new_object();
                cc_json_add_string(t, "role", PQgetvalue(segs, i, 0));
                cc_json_add_string(t, "content", content);
                cc_json_add_time(t, "timestamp", strtoll(PQgetvalue(segs, i, 2), NULL, 10));
                json_object_array_add(transcripts, t);
        }
        char *text = cc_strbuf_take(&all);
        for (char *p = text; *p; p++)
                *p = (char)tolower((unsigned char)*p);

        struct keyword found[CC_ARRAY_SIZE(keywords)];
        size_t nfound = 0;
        for (size_t i = 0; i < CC_ARRAY_SIZE(keywords); i++) {
                int k = count_in(text, keywords[i]);
                if (k == 0)
                        continue;
                /* Stable insertion by count, most first: ties keep the list's order. */
                size_t at = nfound;
                while (at > 0 && found[at - 1].count < k) {
                        found[at] = found[at - 1];
                        at--;
                }
                found[at] = (struct keyword){keywords[i], k};
                nfound++;
        }
        json_object *kw = json_object_new_array();
        for (size_t i = 0; i < nfound && i < 10; i++) {
                json_object *o = json_object_new_object();
                cc_json_add_string(o, "word", found[i].word);
                json_object_object_add(o, "count", json_object_new_int(found[i].count));
                json_object_array_add(kw, o);
        }
        int pos = 0, neg = 0;
        for (size_t i = 0; i < CC_ARRAY_SIZE(positive); i++)
                pos += count_in(text, positive[i]);
        for (size_t i = 0; i < CC_ARRAY_SIZE(negative); i++)
                neg += count_in(text, negative[i]);
        free(text);
        /* pos > 1.2 x neg, in integers: no rounding decides a tie. */
        const char *sentiment = 5 * pos > 6 * neg   ? "positive"
                                : 5 * neg > 6 * pos ? "negative"
                                                    : "neutral";
        int64_t duration = 0;
        if (c->started_at_ms && c->ended_at_ms)
                duration = (c->ended_at_ms - c->started_at_ms) / 1000;
        else if (row->duration_s >= 0)
                duration = row->duration_s;

        json_object *o = json_object_new_object();
        cc_json_add_string(o, "call_id", c->id);
        cc_json_add_string(o, "agent_id", c->agent_id[0] ? c->agent_id : NULL);
        cc_json_add_string(o, "from_number", c->from_number);
        cc_json_add_string(o, "to_number", c->to_number);
        cc_json_add_string(o, "status", tel_call_status_name(c->status));
        cc_json_add_string(o, "direction", c->inbound ? "INBOUND" : "OUTBOUND");
        json_object_object_add(o, "duration_sec", json_object_new_int64(duration));
        json_object_object_add(o, "total_exchanges", json_object_new_int(n));
        cc_json_add_string(o, "first_utterance", n ? PQgetvalue(segs, 0, 1) : "");
        cc_json_add_string(o, "last_utterance", n ? PQgetvalue(segs, n - 1, 1) : "");
        json_object_object_add(o, "keywords", kw);
        cc_json_add_string(o, "sentiment", sentiment);
        json_object_object_add(o, "transcripts", transcripts);
        return o;
}

static void h_summary(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        PGresult *segs = NULL;
        if (read_call(req, conn, &row) < 0)
                goto out;
        int r = tel_call_transcript_rows(conn, row.call.org_id, row.call.id, &segs);
        if (r < 0) {
                reply_db_error(req, r);
                goto out;
        }
        cc_http_reply_json(req, 200, summary_json(&row, segs));
out:
        PQclear(segs);
        cc_db_release(conn);
}

/* ---- POST /calls/{call_id}/monitor, /whisper, /barge-in ---- */

enum mode { MODE_MONITOR, MODE_WHISPER, MODE_BARGE_IN };

static const char *const mode_names[] = {"monitor", "whisper", "barge-in"};

/* <Dial><Conference ...>cc-<call id></Conference></Dial>: the supervisor never starts or ends
 * the conference and joins without a beep; a monitor is muted, a whisperer coaches the agent's
 * leg (only the agent hears it), a barge-in speaks to everyone. */
static char *supervisor_twiml(const char *call_id, enum mode m, const char *agent_sid)
{
        char name[48];
        tel_conference_name(call_id, name);
        const char *attrs[12];
        size_t n = 0;
        if (m == MODE_MONITOR) {
                attrs[n++] = "muted";
                attrs[n++] = "true";
        } else if (m == MODE_WHISPER) {
                attrs[n++] = "coach";
                attrs[n++] = agent_sid;
        } else {
                attrs[n++] = "muted";
                attrs[n++] = "false";
        }
        attrs[n++] = "startConferenceOnEnter";
        attrs[n++] = "false";
        attrs[n++] = "endConferenceOnExit";
        attrs[n++] = "false";
        attrs[n++] = "beep";
        attrs[n++] = "false";
        attrs[n] = NULL;
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_open(t, "Dial", NULL);
        cc_twiml_leaf(t, "Conference", attrs, name);
        cc_twiml_close(t);
        size_t len;
        return cc_twiml_finish(t, &len);
}

/* One supervisor's session on a call, as the call's metadata records it: "supervisors" holds
 * one entry per supervisor (keyed by user id), so each one's leg can be replaced or hung up
 * whoever acted last; "supervisor" repeats the most recent one with its user_id. */
struct session {
        char user_id[CC_UUID_LEN + 1];
        char mode[16];
        char leg_sid[64];
        char coach_sid[64];
        char endpoint[256];
        char started_at[32];
};

static void session_read(json_object *o, const char *user_id, struct session *s)
{
        memset(s, 0, sizeof(*s));
        if (!json_object_is_type(o, json_type_object))
                return;
        const char *v;
        snprintf(s->user_id, sizeof(s->user_id), "%s", user_id);
        if ((v = jstr(o, "mode")))
                snprintf(s->mode, sizeof(s->mode), "%s", v);
        if ((v = jstr(o, "leg_sid")))
                snprintf(s->leg_sid, sizeof(s->leg_sid), "%s", v);
        if ((v = jstr(o, "coach_sid")))
                snprintf(s->coach_sid, sizeof(s->coach_sid), "%s", v);
        if ((v = jstr(o, "endpoint")))
                snprintf(s->endpoint, sizeof(s->endpoint), "%s", v);
        if ((v = jstr(o, "started_at")))
                snprintf(s->started_at, sizeof(s->started_at), "%s", v);
}

/* The per-supervisor entries, as recorded, or seeded from a metadata written before there were
 * any (only "supervisor"): a new object either way. */
static json_object *sessions_of(json_object *meta)
{
        json_object *all = json_object_object_get(meta, "supervisors");
        if (json_object_is_type(all, json_type_object))
                return json_object_get(all);
        json_object *out = json_object_new_object();
        json_object *last = json_object_object_get(meta, "supervisor");
        const char *user_id = jstr(last, "user_id");
        if (user_id && cc_uuid_valid(user_id))
                json_object_object_add(out, user_id, json_object_get(last));
        return out;
}

/* user_id's session on the call ("" fields when they have none). */
static void session_of(json_object *meta, const char *user_id, struct session *s)
{
        json_object *all = sessions_of(meta);
        session_read(json_object_object_get(all, user_id), user_id, s);
        json_object_put(all);
}

static json_object *session_json(const struct session *s, bool with_user)
{
        json_object *o = json_object_new_object();
        if (with_user)
                cc_json_add_string(o, "user_id", s->user_id);
        cc_json_add_string(o, "mode", s->mode);
        cc_json_add_string(o, "leg_sid", s->leg_sid);
        cc_json_add_string(o, "endpoint", s->endpoint);
        if (s->coach_sid[0])
                cc_json_add_string(o, "coach_sid", s->coach_sid);
        cc_json_add_string(o, "started_at", s->started_at);
        return o;
}

/* Another message while already coaching this agent needs no new leg: the text is what is
 * new. */
static bool reusable(const struct session *s, enum mode m, const char *agent_sid)
{
        return m == MODE_WHISPER && s->leg_sid[0] && strcmp(s->mode, "whisper") == 0 &&
               strcmp(s->coach_sid, agent_sid) == 0;
}

/* The metadata patch: the caller's session `s` (recorded in "supervisors" when `replace`, else
 * it is the one already there) and, for a whisper, the message appended to the last ones (meta
 * is the metadata as it is under the row lock). */
static json_object *metadata_patch(json_object *meta, const struct session *s, bool replace,
                                   enum mode m, const char *message, const char *at)
{
        json_object *patch = json_object_new_object();
        if (replace) {
                /* A copy: the stored object belongs to meta. */
                json_object *old = sessions_of(meta), *all = json_object_new_object();
                json_object_object_foreach(old, key, val)
                {
                        if (strcmp(key, s->user_id) != 0)
                                json_object_object_add(all, key, json_object_get(val));
                }
                json_object_put(old);
                json_object_object_add(all, s->user_id, session_json(s, false));
                json_object_object_add(patch, "supervisors", all);
        }
        json_object_object_add(patch, "supervisor", session_json(s, true));
        if (m != MODE_WHISPER)
                return patch;
        json_object *old = json_object_object_get(meta, "whispers");
        json_object *list = json_object_new_array();
        size_t n = json_object_is_type(old, json_type_array) ? json_object_array_length(old) : 0;
        for (size_t i = n >= MAX_WHISPERS ? n - MAX_WHISPERS + 1 : 0; i < n; i++)
                json_object_array_add(list, json_object_get(json_object_array_get_idx(old, i)));
        json_object *w = json_object_new_object();
        cc_json_add_string(w, "message", message);
        cc_json_add_string(w, "user_id", s->user_id);
        cc_json_add_string(w, "at", at);
        json_object_array_add(list, w);
        json_object_object_add(patch, "whispers", list);
        return patch;
}

/* Best effort: a leg the supervisor may already have left. */
static void hang_up_leg(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                        const char *sid)
{
        char err[512];
        if (sid[0] && tel_twilio_hangup_sid(conn, tel_req(req), org_id, sid, err, sizeof(err)) < 0)
                cc_log_info(cc_http_req_id(req), "supervisor leg %s not hung up: %s", sid, err);
}

static int read_message(struct cc_http_req *req, json_object *body, const char **ret,
                        struct cc_json_err *err)
{
        /* The client sends a JSON body; the original backend read the query string. */
        int r = cc_json_get_string(body, "message", 0, 1, MAX_MESSAGE_LEN, ret, err);
        if (r != -ENOENT)
                return r;
        const char *q = cc_http_req_query(req, "message");
        if (!q) {
                snprintf(err->msg, sizeof(err->msg), "message: field required");
                return -EINVAL;
        }
        ssize_t chars = cc_utf8_count(q, strlen(q));
        if (chars < 1 || chars > MAX_MESSAGE_LEN || !cc_text_valid(q, strlen(q))) {
                snprintf(err->msg, sizeof(err->msg), "message: must be 1 to %d characters of text",
                         MAX_MESSAGE_LEN);
                return -EINVAL;
        }
        *ret = q;
        return 0;
}

static void supervise(struct cc_http_req *req, enum mode m)
{
        const struct cc_auth *auth = cc_http_req_auth(req);
        json_object *body = cc_http_req_json(req);
        struct cc_json_err err;
        const char *endpoint_in = NULL, *message = NULL;
        char endpoint[256];
        if (body && !json_object_is_type(body, json_type_object)) {
                cc_http_reply_error(req, 422, "body: must be a JSON object");
                return;
        }
        if (cc_json_get_string(body, "endpoint", CC_JSON_NULLABLE, 1, 255, &endpoint_in, &err) ==
                -EINVAL ||
            (m == MODE_WHISPER && read_message(req, body, &message, &err) < 0)) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        if (endpoint_in) {
                if (!tel_dial_target_normalize(endpoint_in, endpoint)) {
                        cc_http_reply_error(req, 422,
                                            "endpoint: must be a phone number, client:<identity> "
                                            "or sip:<address>");
                        return;
                }
        } else {
                snprintf(endpoint, sizeof(endpoint), "client:%s", auth->user_id);
        }

        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        json_object *meta = NULL;
        char agent_sid[64] = "", leg_sid[64] = "", twilio_err[512];
        char *twiml = NULL;
        bool created = false, reuse;
        struct session prev;
        int r;
        if (read_call(req, conn, &row) < 0)
                goto out;
        char org_id[CC_UUID_LEN + 1], call_id[CC_UUID_LEN + 1];
        memcpy(org_id, row.call.org_id, sizeof(org_id));
        memcpy(call_id, row.call.id, sizeof(call_id));
        if (!call_live(&row.call)) {
                cc_http_reply_error(req, 400, "Call is not active");
                goto out;
        }
        if (m == MODE_WHISPER) {
                r = tel_call_agent_leg_sid(conn, org_id, call_id, agent_sid);
                if (r == -ENOENT) {
                        cc_http_reply_error(req, 400, "Call has no agent to coach");
                        goto out;
                }
                if (r < 0) {
                        reply_db_error(req, r);
                        goto out;
                }
        }
        if ((r = call_metadata(conn, org_id, call_id, &meta)) < 0) {
                reply_db_error(req, r);
                goto out;
        }
        session_of(meta, auth->user_id, &prev);
        reuse = reusable(&prev, m, agent_sid);

        /* At most twice: a second time when the coach leg it meant to reuse was replaced by
         * another request of the same supervisor meanwhile. */
        for (;;) {
                if (!reuse && !created) {
                        /* Twilio first, outside any transaction: a slow Twilio must hold no row
                         * lock. */
                        twiml = supervisor_twiml(call_id, m, agent_sid);
                        r = tel_twilio_create_leg(conn, tel_req(req), org_id, endpoint, twiml, NULL,
                                                  LEG_RING_S, leg_sid, twilio_err,
                                                  sizeof(twilio_err));
                        if (r < 0) {
                                tel_twilio_reply_error(req, r, mode_names[m], twilio_err);
                                goto out;
                        }
                        created = true;
                }
                r = cc_db_begin(conn);
                if (r == 0)
                        r = tel_call_row_get(conn, org_id, call_id, true, false, &row);
                if (r == 0 && !call_live(&row.call)) {
                        /* It ended while Twilio was dialling the supervisor. */
                        cc_db_rollback(conn);
                        if (created)
                                hang_up_leg(req, conn, org_id, leg_sid);
                        cc_http_reply_error(req, 400, "Call is not active");
                        goto out;
                }
                /* What the commit replaces is the session as it is under the lock: another
                 * request of this supervisor may have recorded a leg since the first read. */
                json_object_put(meta);
                meta = NULL;
                if (r == 0)
                        r = call_metadata(conn, org_id, call_id, &meta);
                if (r == 0) {
                        session_of(meta, auth->user_id, &prev);
                        reuse = reusable(&prev, m, agent_sid);
                        if (!reuse && !created) {
                                cc_db_rollback(conn);
                                continue;
                        }
                        char at[25];
                        cc_format_time_ms(cc_now_ms(), at);
                        struct session s = prev;
                        if (!reuse) {
                                s = (struct session){0};
                                snprintf(s.user_id, sizeof(s.user_id), "%s", auth->user_id);
                                snprintf(s.mode, sizeof(s.mode), "%s", mode_names[m]);
                                snprintf(s.leg_sid, sizeof(s.leg_sid), "%s", leg_sid);
                                snprintf(s.coach_sid, sizeof(s.coach_sid), "%s", agent_sid);
                                snprintf(s.endpoint, sizeof(s.endpoint), "%s", endpoint);
                                snprintf(s.started_at, sizeof(s.started_at), "%s", at);
                        }
                        json_object *patch = metadata_patch(meta, &s, !reuse, m, message, at);
                        const struct tel_call_patch pt = {
                            .set_supervisor_id = true,
                            .supervisor_id = auth->user_id,
                            .set_metadata = true,
                            .metadata_json =
                                json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
                        };
                        r = tel_call_update(conn, &row, &pt, NULL, traceparent(req), NULL);
                        json_object_put(patch);
                }
                if (r == 0)
                        r = cc_db_commit(conn);
                break;
        }
        if (r < 0) {
                cc_db_rollback(conn);
                if (created)
                        hang_up_leg(req, conn, org_id, leg_sid);
                if (r == -ENOENT)
                        cc_http_reply_error(req, 404, "Call not found");
                else
                        reply_db_error(req, r);
                goto out;
        }
        /* One leg per supervisor and call: the one this replaced is hung up; or, when a
         * concurrent whisper of theirs recorded a coach leg first, the one just dialled. */
        if (created && reuse)
                hang_up_leg(req, conn, org_id, leg_sid);
        else if (created && strcmp(prev.leg_sid, leg_sid) != 0)
                hang_up_leg(req, conn, org_id, prev.leg_sid);

        json_object *o = json_object_new_object();
        char url[96];
        if (m == MODE_MONITOR) {
                snprintf(url, sizeof(url), "wss://monitor/%s", call_id);
                cc_json_add_string(o, "call_id", call_id);
                cc_json_add_string(o, "monitor_url", url);
                reply_ok(req, o, "Monitoring started");
        } else if (m == MODE_WHISPER) {
                reply_ok(req, o, "Whisper sent to agent");
        } else {
                snprintf(url, sizeof(url), "wss://conference/%s", call_id);
                cc_json_add_string(o, "conference_url", url);
                reply_ok(req, o, "Barge-in started");
        }
out:
        free(twiml);
        json_object_put(meta);
        cc_db_release(conn);
}

static void h_monitor(struct cc_http_req *req)
{
        supervise(req, MODE_MONITOR);
}

static void h_whisper(struct cc_http_req *req)
{
        supervise(req, MODE_WHISPER);
}

static void h_barge_in(struct cc_http_req *req)
{
        supervise(req, MODE_BARGE_IN);
}

/* ---- POST /calls/{call_id}/end ---- */

/* Every supervisor leg the metadata records (best effort): they would otherwise stay in the
 * emptied conference. */
static void hang_up_sessions(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                             json_object *meta)
{
        /* "supervisor" is always one of these (or, in metadata older than them, seeds them). */
        json_object *all = sessions_of(meta);
        json_object_object_foreach(all, key, val)
        {
                (void)key;
                const char *sid = jstr(val, "leg_sid");
                if (sid)
                        hang_up_leg(req, conn, org_id, sid);
        }
        json_object_put(all);
}

static void h_end(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct tel_call_row row;
        json_object *meta = NULL;
        char err[512];
        if (read_call(req, conn, &row) < 0)
                goto out;
        if (tel_call_status_terminal(row.call.status)) {
                cc_http_reply_error(req, 400, "Call is not active");
                goto out;
        }
        /* Twilio first: if it cannot hang up, the call goes on and the record must say so. */
        int r;
        if (row.call.twilio_sid[0]) {
                const struct cc_kv f[] = {{"Status", "completed"}};
                r = tel_twilio_update_call(conn, tel_req(req), &row.call, f, 1, err, sizeof(err));
                if (r < 0) {
                        tel_twilio_reply_error(req, r, "end", err);
                        goto out;
                }
        }
        const struct tel_transition t = {.to = TEL_CALL_COMPLETED,
                                         .source = TEL_SOURCE_API,
                                         .duration_s = -1,
                                         .traceparent = traceparent(req)};
        r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_transition(conn, row.call.org_id, row.call.id, &t, NULL);
        /* Twilio's own "completed" may have been applied first: ended either way. */
        bool ended_before = r == -EPERM;
        /* Read under the row lock, the call ended: no supervisor leg can be recorded after
         * this, and none recorded before is missed. */
        if (r == 0 || ended_before)
                r = call_metadata(conn, row.call.org_id, row.call.id, &meta);
        if (r == 0 && ended_before)
                cc_db_rollback(conn);
        else if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                if (r == -ENOENT)
                        cc_http_reply_error(req, 404, "Call not found");
                else
                        reply_db_error(req, r);
                goto out;
        }
        hang_up_sessions(req, conn, row.call.org_id, meta);
        reply_ok(req, NULL, "Call ended");
out:
        json_object_put(meta);
        cc_db_release(conn);
}

const struct cc_http_route tel_supervisor_routes[] = {
    {"GET", "/api/supervisor/active-calls", h_active_calls, CC_ROLE_SUPERVISOR, 0},
    {"GET", "/api/supervisor/calls/{call_id}/summary", h_summary, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/supervisor/calls/{call_id}/monitor", h_monitor, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/supervisor/calls/{call_id}/whisper", h_whisper, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/supervisor/calls/{call_id}/barge-in", h_barge_in, CC_ROLE_SUPERVISOR, 0},
    {"POST", "/api/supervisor/calls/{call_id}/end", h_end, CC_ROLE_SUPERVISOR, 0},
};
const size_t tel_supervisor_nroutes = CC_ARRAY_SIZE(tel_supervisor_routes);
