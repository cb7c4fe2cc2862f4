/* Twilio's callbacks: an incoming call (voice), its status changes, recordings, transcriptions
 * and IVR key presses. Each POST must carry a valid X-Twilio-Signature for the account that owns
 * the call, computed over CC_PUBLIC_BASE_URL + path + query and the posted fields; anything else
 * is 403 and changes nothing. Twilio retries and reorders callbacks, so every change here is
 * idempotent and the call's state machine ignores stale ones. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "cc/log.h"
#include "telephony.h"

/* Twilio's own hold music, the one its queues play by default. */
#define HOLD_MUSIC_URL "https://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"

/* A verified callback: its fields and the account whose token signed it. */
struct hook {
        struct cc_kv *fields;
        size_t n;
        char account_org[CC_UUID_LEN + 1]; /* "" when signed with the platform's token */
        const char *traceparent;
};

/* Twilio posts forms; the original API took JSON objects of strings, which we still accept. */
static int read_fields(struct cc_http_req *req, struct hook *h)
{
        size_t len = 0;
        const char *body = cc_http_req_body(req, &len);
        const char *type = cc_http_req_header(req, "Content-Type");
        struct cc_arena *arena = cc_http_req_arena(req);
        if (!type || strncasecmp(type, "application/json", 16) != 0)
                return cc_form_parse(arena, body, len, &h->fields, &h->n);
        char err[128];
        json_object *obj = cc_json_parse(body, len, 4, err, sizeof(err));
        if (!obj || !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return -EINVAL;
        }
        size_t n = (size_t)json_object_object_length(obj);
        if (n > CC_FORM_MAX_FIELDS) {
                json_object_put(obj);
                return -E2BIG;
        }
        h->fields = cc_arena_alloc(arena, (n ? n : 1) * sizeof(*h->fields));
        h->n = 0;
        json_object_object_foreach(obj, key, val)
        {
                if (json_object_is_type(val, json_type_object) ||
                    json_object_is_type(val, json_type_array))
                        continue;
                const char *s =
                    json_object_is_type(val, json_type_null) ? "" : json_object_get_string(val);
                h->fields[h->n].key = cc_arena_strdup(arena, key);
                h->fields[h->n].value = cc_arena_strdup(arena, s);
                h->n++;
        }
        json_object_put(obj);
        return 0;
}

/* The URL Twilio requested, as it signed it. */
static char *signed_url(struct cc_http_req *req)
{
        const char *q = cc_http_req_query_string(req);
        return cc_arena_printf(cc_http_req_arena(req), "%s%s%s%s", tel_cfg.public_base_url,
                               cc_http_req_path(req), q[0] ? "?" : "", q);
}

/* Parses and verifies a callback; replies (400/403/503) and returns NULL-equivalent -1 when it
 * must not be acted on. */
static int hook_open(struct cc_http_req *req, struct cc_db_conn *conn, struct hook *h)
{
        memset(h, 0, sizeof(*h));
        int r = read_fields(req, h);
        if (r < 0) {
                cc_http_reply_error(req, r == -E2BIG ? 413 : 400, "Malformed callback body");
                return -1;
        }
        struct tel_account acct;
        const char *sid = cc_kv_get(h->fields, h->n, "AccountSid");
        r = tel_account_by_sid(conn, tel_req(req), sid, &acct, h->account_org);
        if (r < 0 && r != -ENOENT) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return -1;
        }
        if (r == -ENOENT ||
            !cc_twilio_signature_valid(acct.auth_token, signed_url(req), h->fields, h->n,
                                       cc_http_req_header(req, "X-Twilio-Signature"))) {
                cc_log_warn(cc_http_req_id(req), "webhook %s: invalid signature",
                            cc_http_req_path(req));
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                return -1;
        }
        h->traceparent = cc_http_req_header(req, "traceparent");
        return 0;
}

/* A call may be acted on only through the account it belongs to: an organization with its own
 * Twilio account is signed for by that account's token, the others by the platform's. */
static bool hook_owns(struct cc_db_conn *conn, struct cc_http_req *req, const struct hook *h,
                      const char *org_id)
{
        if (h->account_org[0])
                return strcmp(h->account_org, org_id) == 0;
        struct tel_account acct;
        int r = tel_account_for_org(conn, tel_req(req), org_id, &acct);
        return r == 0 && !acct.own;
}

/* Missing required fields → 422 naming the first; 0 when all are there. */
static int require(struct cc_http_req *req, const struct hook *h, const char *const *names)
{
        for (size_t i = 0; names[i]; i++) {
                const char *v = cc_kv_get(h->fields, h->n, names[i]);
                if (!v || !v[0]) {
                        cc_http_reply_error(req, 422, "%s: field required", names[i]);
                        return -1;
                }
        }
        return 0;
}

static void reply_envelope(struct cc_http_req *req, const char *message, json_object *data)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "success", json_object_new_boolean(1));
        json_object_object_add(o, "message", json_object_new_string(message));
        json_object_object_add(o, "data", data);
        cc_http_reply_json(req, 200, o);
}

static void reply_twiml(struct cc_http_req *req, char *doc, size_t len)
{
        cc_http_reply_raw(req, 200, "text/xml", doc, len);
        free(doc);
}

/* A short spoken answer and the end of the call, for callbacks we cannot place. */
static void reply_goodbye(struct cc_http_req *req, const char *text)
{
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_leaf(t, "Say", NULL, text);
        cc_twiml_leaf(t, "Hangup", NULL, NULL);
        size_t len;
        char *doc = cc_twiml_finish(t, &len);
        reply_twiml(req, doc, len);
}

/* An answered outbound call joins its own conference, where holds, mutes, transfers and
 * supervisors find it. */
static void reply_conference(struct cc_http_req *req, const struct tel_call *call)
{
        char name[48];
        tel_conference_name(call->id, name);
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_open(t, "Dial", NULL);
        const char *attrs[] = {"startConferenceOnEnter", "true", "endConferenceOnExit", "true",
                               NULL};
        cc_twiml_leaf(t, "Conference", attrs, name);
        cc_twiml_close(t);
        size_t len;
        char *doc = cc_twiml_finish(t, &len);
        reply_twiml(req, doc, len);
}

/* A caller the IVR (or a campaign) sends to a queue: the call waits there from now and a routing
 * pass runs at once, so an agent who is free gets it without waiting for the worker's round.
 * Failures are logged, not answered: the caller is already in the conference, and the worker's
 * backstop routes it later. */
static void route_to_queue(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                           const char *call_id, const char *queue_ref, const char *traceparent)
{
        struct tel_queue q;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_queue_resolve(conn, org_id, queue_ref, true, &q);
        /* A queue switched off takes no new callers: they wait in the default queue. */
        if (r == 0 && !q.active && strcasecmp(q.name, TEL_DEFAULT_QUEUE) != 0)
                r = tel_queue_resolve(conn, org_id, TEL_DEFAULT_QUEUE, true, &q);
        if (r == 0)
                r = tel_route_enqueue(conn, org_id, call_id, &q, traceparent);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                cc_log_warn(cc_http_req_id(req), "call %s: cannot enter queue %s: %s", call_id,
                            queue_ref, strerror(-r));
                return;
        }
        (void)!tel_route_org(conn, org_id, NULL);
        tel_worker_kick(tel_req(req));
}

/* The TwiML of an inbound call's IVR, and its queue when that is where it sends the caller. */
static void reply_ivr_voice(struct cc_http_req *req, struct cc_db_conn *conn,
                            const struct tel_call *call, const char *traceparent)
{
        char action[16], target[128];
        size_t len;
        char *doc = tel_ivr_voice_twiml(conn, call->org_id, call->id, &len, action, target);
        if (!doc) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        if (strcmp(action, "queue") == 0)
                route_to_queue(req, conn, call->org_id, call->id, target, traceparent);
        reply_twiml(req, doc, len);
}

/* An answered campaign call waits in the campaign's queue for an agent; a call an agent placed
 * waits (on hold) while the agent's phone rings into it; any other answered outbound call goes
 * straight into its conference. */
static void reply_outbound_answer(struct cc_http_req *req, struct cc_db_conn *conn,
                                  const struct tel_call *call, const char *traceparent)
{
        char queue_id[CC_UUID_LEN + 1];
        bool offered = false;
        if (call->campaign_id[0] &&
            tel_campaign_queue(conn, call->org_id, call->campaign_id, queue_id) == 0) {
                route_to_queue(req, conn, call->org_id, call->id, queue_id, traceparent);
        } else if (call->agent_id[0] &&
                   tel_route_offer_to_user(conn, call->org_id, call->id, call->agent_id,
                                           &offered) == 0 &&
                   offered) {
                tel_worker_kick(tel_req(req));
        } else {
                reply_conference(req, call);
                return;
        }
        struct cc_twiml *t = cc_twiml_new();
        tel_route_wait_twiml(t, call->id);
        size_t len;
        char *doc = cc_twiml_finish(t, &len);
        reply_twiml(req, doc, len);
}

static void h_voice(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        if (hook_open(req, conn, &h) < 0)
                goto out;
        static const char *const need[] = {"CallSid", "From", "To", NULL};
        if (require(req, &h, need) < 0)
                goto out;
        const char *sid = cc_kv_get(h.fields, h.n, "CallSid");
        const char *from = cc_kv_get(h.fields, h.n, "From");
        const char *to = cc_kv_get(h.fields, h.n, "To");
        struct tel_call call;
        int r = tel_call_by_ref(conn, sid, cc_http_req_query(req, "call"), &call);
        if (r == 0) {
                /* Ours (an outbound call answered) or a retry of an inbound one. */
                if (!hook_owns(conn, req, &h, call.org_id)) {
                        cc_http_reply_error(req, 403, "Invalid webhook signature");
                        goto out;
                }
                if (!call.inbound)
                        reply_outbound_answer(req, conn, &call, h.traceparent);
                else
                        reply_ivr_voice(req, conn, &call, h.traceparent);
                goto out;
        }
        if (r != -ENOENT) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        char org_id[CC_UUID_LEN + 1];
        r = tel_org_for_number(conn, to, org_id);
        if (r == -ENOENT) {
                reply_goodbye(req, "The number you have called is not in service.");
                goto out;
        }
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (!hook_owns(conn, req, &h, org_id)) {
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                goto out;
        }
        const struct tel_call_new nc = {
            .inbound = true,
            .from_number = from,
            .to_number = to,
            .twilio_sid = sid,
            .traceparent = h.traceparent,
        };
        r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_create(conn, org_id, &nc, &call);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                /* A concurrent retry of the same call created it first: answer it alike. */
                if (r != -EEXIST || tel_call_by_sid(conn, sid, &call) < 0) {
                        cc_http_reply_error(req, 503, "Database unavailable");
                        goto out;
                }
        }
        reply_ivr_voice(req, conn, &call, h.traceparent);
out:
        cc_db_release(conn);
}

/* The call a status/recording/transcription callback is about, or a reply already sent
 * (unknown sid: 200 "Call not found", as Twilio must not retry it forever). */
static int hook_call(struct cc_http_req *req, struct cc_db_conn *conn, const struct hook *h,
                     struct tel_call *call)
{
        int r = tel_call_by_sid(conn, cc_kv_get(h->fields, h->n, "CallSid"), call);
        if (r == -ENOENT) {
                reply_envelope(req, "Call not found", NULL);
                return -1;
        }
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return -1;
        }
        if (!hook_owns(conn, req, h, call->org_id)) {
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                return -1;
        }
        return 0;
}

static int parse_int(const char *s, int max, int fallback)
{
        if (!s || !*s)
                return fallback;
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v < 0 || v > max)
                return fallback;
        return (int)v;
}

/* ---- status callbacks: the hottest hook (several per call), applied in batches ----
 * A handler verifies the callback, queues it and moves on; one writer thread per process takes
 * whatever has queued up and applies it in one transaction (one statement finds and locks every
 * call of the batch, the changes and their events follow pipelined, then COMMIT): two round
 * trips to the database per batch instead of several per callback. Each callback is answered
 * only after its change is committed. A batch that fails as a whole (a deadlock, a sid we
 * cannot batch) is retried one callback per transaction. */
#define BATCH_MAX 64

/* One writer serves every callback of the process: a call row held by someone else (a long API
 * transaction, an operator's psql) must cost its own callback a retry by Twilio (503), not stall
 * all the others, nor a shutdown, indefinitely. */
static const char lock_timeout_sql[] = "SET LOCAL lock_timeout = '2s'";

struct status_item {
        struct cc_http_req *req;
        struct tel_status_job job;
        char account_org[CC_UUID_LEN + 1];
        struct status_item *next;
};

struct tel_ingest {
        struct cc_service *svc;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct status_item *head, *tail;
        bool stop;
        pthread_t thread;
};

static void reply_status(struct status_item *it)
{
        struct cc_http_req *req = it->req;
        int r = it->job.result;
        if (r == -ENOENT) {
                reply_envelope(req, "Call not found", NULL);
                return;
        }
        if (r == -EACCES) {
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                return;
        }
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        char msg[96];
        snprintf(msg, sizeof(msg), "Call status updated to %s", tel_call_status_name(it->job.t.to));
        json_object *data = json_object_new_object();
        json_object_object_add(data, "call_id", json_object_new_string(it->job.call.id));
        json_object_object_add(data, "status",
                               json_object_new_string(tel_call_status_name(it->job.call.status)));
        json_object_object_add(data, "applied", json_object_new_boolean(r == 0));
        reply_envelope(req, msg, data);
}

/* One callback in its own transaction (pipelined: two round trips). */
static int apply_one(struct cc_db_conn *conn, struct tel_status_job *job)
{
        int r = cc_db_pipeline_begin(conn);
        if (r == 0)
                r = cc_db_begin(conn);
        if (r == 0)
                r = cc_db_exec(conn, lock_timeout_sql, 0, NULL, NULL);
        if (r == 0)
                r = tel_call_status_callback(conn, job->sid, job->call_id, job->account_org,
                                             &job->t, &job->call);
        if (r >= 0) {
                int c = cc_db_commit(conn);
                if (c < 0)
                        r = c;
        }
        if (r < 0)
                cc_db_rollback(conn); /* nothing was written for -ENOENT and -EACCES either */
        int e = cc_db_pipeline_end(conn);
        return r >= 0 && e < 0 ? e : r;
}

static void apply_batch(struct cc_service *svc, struct status_item **items, size_t n)
{
        struct cc_db_conn *conn = NULL;
        if (cc_db_acquire(cc_service_pool(svc), &conn) < 0) {
                for (size_t i = 0; i < n; i++)
                        items[i]->job.result = -EIO;
                return;
        }
        struct tel_status_job jobs[BATCH_MAX];
        for (size_t i = 0; i < n; i++)
                jobs[i] = items[i]->job;
        int r = cc_db_pipeline_begin(conn);
        if (r == 0)
                r = cc_db_begin(conn);
        if (r == 0)
                r = cc_db_exec(conn, lock_timeout_sql, 0, NULL, NULL);
        if (r == 0)
                r = tel_call_status_batch(conn, jobs, n);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0)
                cc_db_rollback(conn);
        if (cc_db_pipeline_end(conn) < 0 && r == 0)
                r = -EIO;
        for (size_t i = 0; i < n; i++) {
                if (r == 0) {
                        items[i]->job = jobs[i];
                } else {
                        /* Whatever went wrong, each callback gets its own chance. */
                        items[i]->job.result = apply_one(conn, &items[i]->job);
                }
        }
        cc_db_release(conn);
        /* A call that ended may have freed an agent (or left a queue): routing gets a round
         * now rather than at the worker's next tick. */
        for (size_t i = 0; i < n; i++) {
                if (items[i]->job.result == 0 && tel_call_status_terminal(items[i]->job.t.to)) {
                        tel_worker_kick(tel_of(svc));
                        break;
                }
        }
}

static void *ingest_main(void *arg)
{
        struct tel_ingest *in = arg;
        for (;;) {
                struct status_item *items[BATCH_MAX];
                size_t n = 0;
                pthread_mutex_lock(&in->mu);
                while (!in->head && !in->stop)
                        pthread_cond_wait(&in->cv, &in->mu);
                while (in->head && n < BATCH_MAX) {
                        items[n++] = in->head;
                        in->head = in->head->next;
                }
                if (!in->head)
                        in->tail = NULL;
                bool stop = in->stop && n == 0;
                pthread_mutex_unlock(&in->mu);
                if (stop)
                        break;
                apply_batch(in->svc, items, n);
                for (size_t i = 0; i < n; i++)
                        reply_status(items[i]);
        }
        return NULL;
}

struct tel_ingest *tel_ingest_new(struct cc_service *svc)
{
        struct tel_ingest *in = cc_xcalloc(1, sizeof(*in));
        in->svc = svc;
        pthread_mutex_init(&in->mu, NULL);
        pthread_cond_init(&in->cv, NULL);
        if (pthread_create(&in->thread, NULL, ingest_main, in) != 0) {
                pthread_cond_destroy(&in->cv);
                pthread_mutex_destroy(&in->mu);
                free(in);
                return NULL;
        }
        return in;
}

void tel_ingest_free(struct tel_ingest *in)
{
        if (!in)
                return;
        /* The HTTP server has stopped and every deferred callback was answered: the queue is
         * empty, and the thread leaves once it sees stop. */
        pthread_mutex_lock(&in->mu);
        in->stop = true;
        pthread_cond_signal(&in->cv);
        pthread_mutex_unlock(&in->mu);
        pthread_join(in->thread, NULL);
        pthread_cond_destroy(&in->cv);
        pthread_mutex_destroy(&in->mu);
        free(in);
}

static void h_call_status(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        int r = hook_open(req, conn, &h);
        cc_db_release(conn);
        if (r < 0)
                return;
        static const char *const need[] = {"CallSid", "CallStatus", "From", "To", NULL};
        if (require(req, &h, need) < 0)
                return;
        const char *duration = cc_kv_get(h.fields, h.n, "CallDuration");
        if (duration && parse_int(duration, 86400 * 7, -2) == -2) {
                cc_http_reply_error(req, 422, "CallDuration: must be a whole number of seconds");
                return;
        }
        struct status_item *it = cc_arena_alloc(cc_http_req_arena(req), sizeof(*it));
        memset(it, 0, sizeof(*it));
        it->req = req;
        snprintf(it->account_org, sizeof(it->account_org), "%s", h.account_org);
        it->job = (struct tel_status_job){
            .sid = cc_kv_get(h.fields, h.n, "CallSid"),
            .call_id = cc_http_req_query(req, "call"),
            .account_org = it->account_org,
            .t =
                {
                    .to = tel_call_status_from_twilio(cc_kv_get(h.fields, h.n, "CallStatus")),
                    .source = TEL_SOURCE_WEBHOOK,
                    .duration_s = parse_int(duration, 86400 * 7, -1),
                    .traceparent = h.traceparent,
                },
        };
        struct tel_ingest *in = tel_req(req)->ingest;
        cc_http_req_defer(req);
        pthread_mutex_lock(&in->mu);
        if (in->tail)
                in->tail->next = it;
        else
                in->head = it;
        in->tail = it;
        pthread_cond_signal(&in->cv);
        pthread_mutex_unlock(&in->mu);
}

/* Ends a callback's transaction: committed, the envelope with message; otherwise undone and
 * 503, so Twilio tries again. */
static void commit_and_reply(struct cc_http_req *req, struct cc_db_conn *conn, int r,
                             const char *message)
{
        if (r >= 0 && cc_db_commit(conn) < 0)
                r = -EIO;
        if (r < 0) {
                cc_db_rollback(conn);
                cc_http_reply_error(req, 503, "Database unavailable");
                return;
        }
        reply_envelope(req, message, NULL);
}

static void h_recording(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        struct tel_call call;
        if (hook_open(req, conn, &h) < 0)
                goto out;
        static const char *const need[] = {"RecordingSid",      "RecordingUrl", "RecordingStatus",
                                           "RecordingDuration", "CallSid",      NULL};
        if (require(req, &h, need) < 0 || hook_call(req, conn, &h, &call) < 0)
                goto out;
        int duration = parse_int(cc_kv_get(h.fields, h.n, "RecordingDuration"), 86400 * 7, -2);
        if (duration == -2) {
                cc_http_reply_error(req, 422,
                                    "RecordingDuration: must be a whole number of seconds");
                goto out;
        }
        const char *url = cc_kv_get(h.fields, h.n, "RecordingUrl");
        if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
                cc_http_reply_error(req, 422, "RecordingUrl: must be an http(s) URL");
                goto out;
        }
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_recording(conn, &call, cc_kv_get(h.fields, h.n, "RecordingSid"), url,
                                       duration, cc_kv_get(h.fields, h.n, "RecordingStatus"),
                                       h.traceparent);
        commit_and_reply(req, conn, r, "Recording stored");
out:
        cc_db_release(conn);
}

static void h_transcription(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        struct tel_call call;
        if (hook_open(req, conn, &h) < 0)
                goto out;
        static const char *const need[] = {
            "TranscriptionSid", "TranscriptionText", "TranscriptionStatus",
            "RecordingSid",     "CallSid",           NULL};
        if (require(req, &h, need) < 0 || hook_call(req, conn, &h, &call) < 0)
                goto out;
        const char *text = cc_kv_get(h.fields, h.n, "TranscriptionText");
        if (!cc_text_valid(text, strlen(text)) || strlen(text) > 65536) {
                cc_http_reply_error(req, 422, "TranscriptionText: must be text up to 64 KiB");
                goto out;
        }
        /* Twilio's transcriptions carry no confidence: unknown (stored as NULL) unless one
         * (0..1) is posted. */
        double confidence = -1.0;
        const char *c = cc_kv_get(h.fields, h.n, "Confidence");
        if (c && *c) {
                char *end;
                confidence = strtod(c, &end);
                if (*end || !(confidence >= 0.0 && confidence <= 1.0)) {
                        cc_http_reply_error(req, 422, "Confidence: must be between 0 and 1");
                        goto out;
                }
        }
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_transcript(conn, &call, cc_kv_get(h.fields, h.n, "TranscriptionSid"),
                                        cc_kv_get(h.fields, h.n, "RecordingSid"), text, confidence,
                                        h.traceparent);
        commit_and_reply(req, conn, r, "Transcription stored");
out:
        cc_db_release(conn);
}

static void h_ivr(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        struct tel_call call;
        if (hook_open(req, conn, &h) < 0)
                goto out;
        static const char *const need[] = {"CallSid", "From", "To", NULL};
        if (require(req, &h, need) < 0)
                goto out;
        int r = tel_call_by_sid(conn, cc_kv_get(h.fields, h.n, "CallSid"), &call);
        if (r == -ENOENT) {
                reply_goodbye(req, "Sorry, we cannot find your call.");
                goto out;
        }
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (!hook_owns(conn, req, &h, call.org_id)) {
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                goto out;
        }
        /* After a voicemail recording Twilio comes back here: the caller is done. */
        if (cc_http_req_query(req, "done")) {
                reply_goodbye(req, "Thank you. Goodbye.");
                goto out;
        }
        const char *menu = cc_http_req_query(req, "menu");
        int attempt = parse_int(cc_http_req_query(req, "attempt"), 100, 1);
        if (attempt < 1)
                attempt = 1;
        char action[16], target[128];
        size_t len;
        char *doc = tel_ivr_gather_twiml(
            conn, call.org_id, call.id, menu && cc_uuid_valid(menu) ? menu : NULL,
            cc_kv_get(h.fields, h.n, "Digits"), attempt, &len, action, target);
        if (!doc) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (strcmp(action, "queue") == 0)
                route_to_queue(req, conn, call.org_id, call.id, target, h.traceparent);
        reply_twiml(req, doc, len);
out:
        cc_db_release(conn);
}

/* What a caller waiting for an agent hears (the conference's waitUrl); Twilio plays it again
 * when it ends. */
static void h_hold(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        if (hook_open(req, conn, &h) == 0) {
                struct cc_twiml *t = cc_twiml_new();
                cc_twiml_leaf(t, "Say", NULL,
                              "All our agents are busy. Please stay on the line; your call will "
                              "be answered in the order it was received.");
                const char *attrs[] = {"loop", "2", NULL};
                cc_twiml_leaf(t, "Play", attrs, HOLD_MUSIC_URL);
                size_t len;
                char *doc = cc_twiml_finish(t, &len);
                reply_twiml(req, doc, len);
        }
        cc_db_release(conn);
}

/* Status callbacks of an agent's leg (an offer ringing the agent): answered, the call is the
 * agent's; ended before that, the next agent gets it; ended after, the agent hung up and the
 * caller is hung up too. */
static void h_agent_status(struct cc_http_req *req)
{
        struct cc_db_conn *conn = cc_service_req_db(req);
        if (!conn)
                return;
        struct hook h;
        char org_id[CC_UUID_LEN + 1];
        if (hook_open(req, conn, &h) < 0)
                goto out;
        static const char *const need[] = {"CallSid", "CallStatus", NULL};
        if (require(req, &h, need) < 0)
                goto out;
        const char *offer = cc_http_req_query(req, "offer");
        int r = tel_route_offer_org(conn, offer, org_id);
        if (r == -ENOENT) {
                reply_envelope(req, "Offer not found", NULL);
                goto out;
        }
        if (r < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (!hook_owns(conn, req, &h, org_id)) {
                cc_http_reply_error(req, 403, "Invalid webhook signature");
                goto out;
        }
        const char *status = cc_kv_get(h.fields, h.n, "CallStatus");
        enum tel_call_status st = tel_call_status_from_twilio(status);
        enum tel_leg_event ev = tel_call_status_terminal(st) ? TEL_LEG_ENDED
                                : st == TEL_CALL_IN_PROGRESS ? TEL_LEG_ANSWERED
                                                             : TEL_LEG_PROGRESS;
        bool hangup = false;
        struct tel_call call;
        r = tel_route_offer_event(conn, offer, cc_kv_get(h.fields, h.n, "CallSid"), ev,
                                  h.traceparent, &hangup, &call);
        if (r < 0 && r != -ENOENT) {
                cc_log_warn(cc_http_req_id(req), "offer %s: %s (%s)", offer, strerror(-r),
                            cc_db_error(conn));
                cc_http_reply_error(req, 503, "Database unavailable");
                goto out;
        }
        if (hangup && call.twilio_sid[0]) {
                const struct cc_kv fields[] = {{"Status", "completed"}};
                char err[512];
                if (tel_twilio_update_call(conn, tel_req(req), &call, fields, 1, err, sizeof(err)) <
                    0)
                        cc_log_warn(cc_http_req_id(req), "call %s: cannot hang up: %s", call.id,
                                    err);
        }
        if (ev == TEL_LEG_ENDED) {
                (void)!tel_route_org(conn, org_id, NULL);
                tel_worker_kick(tel_req(req));
        }
        reply_envelope(req, "Agent leg updated", NULL);
out:
        cc_db_release(conn);
}

static void h_health(struct cc_http_req *req)
{
        reply_envelope(req, "Webhook system operational", NULL);
}

const struct cc_http_route tel_webhook_routes[] = {
    {"POST", "/api/webhooks/twilio/voice", h_voice, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/call-status", h_call_status, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/recording", h_recording, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/transcription", h_transcription, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/ivr", h_ivr, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/hold", h_hold, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/api/webhooks/twilio/agent-status", h_agent_status, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"GET", "/api/webhooks/health", h_health, CC_ROLE_NONE, 0},
};
const size_t tel_webhook_nroutes = CC_ARRAY_SIZE(tel_webhook_routes);
