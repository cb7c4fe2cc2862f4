/* Calls: the REST resource (create, fetch, update, conference participant), the life an outbound
 * call plays back to its StatusCallback, inbound calls placed on our voice webhook, and digits
 * pressed into a <Gather>. */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc/json.h"
#include "cc/log.h"

/* Timed steps of a call's life. */
enum { STEP_START = 1, STEP_RING_END, STEP_HANGUP };

/* Redirects followed in one go before the simulator gives up on a looping IVR. */
#define MAX_REDIRECTS 5

struct sim_conference {
        struct sim_conference *next;
        char *name;
        char sid[SIM_SID_LEN + 1];
};

/* ---- helpers ---- */

static bool call_ended(const struct sim_call *call)
{
        static const char *const terminal[] = {"completed", "busy", "no-answer", "failed",
                                               "canceled"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(terminal); i++)
                if (strcmp(call->status, terminal[i]) == 0)
                        return true;
        return false;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool http_url(const char *s)
{
        return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
               !strpbrk(s, " \t\r\n");
}

/* A number Twilio would dial: E.164-ish digits (the '+' optional, as Twilio normalises national
 * numbers), or a client: / sip: address. */
static bool address_valid(const char *s)
{
        if (strncmp(s, "client:", 7) == 0 || strncmp(s, "sip:", 4) == 0)
                return s[strlen(s) - 1] != ':';
        const char *p = s[0] == '+' ? s + 1 : s;
        size_t n = 0;
        for (; p[n]; n++)
                if (p[n] < '0' || p[n] > '9')
                        return false;
        return n >= 3 && n <= 15;
}

static char *xstrdup_or_null(const char *s)
{
        return s ? cc_xstrdup(s) : NULL;
}

static void set_string(char **dst, const char *value)
{
        free(*dst);
        *dst = xstrdup_or_null(value);
}

static struct sim_call *call_find(struct sim *sim, const char *sid,
                                  const struct sim_account *account)
{
        for (size_t i = sim->ncalls; i-- > 0;) {
                struct sim_call *c = sim->calls[i];
                if (strcmp(c->sid, sid) == 0 && (!account || c->q.account == account))
                        return c;
        }
        return NULL;
}

static void calls_add(struct sim *sim, struct sim_call *call)
{
        if (sim->ncalls == sim->calls_cap) {
                sim->calls_cap = sim->calls_cap ? sim->calls_cap * 2 : 64;
                sim->calls = cc_xrealloc(sim->calls, sim->calls_cap * sizeof(*sim->calls));
        }
        sim->calls[sim->ncalls++] = call;
}

static struct sim_call *call_new(const struct sim_account *account, const char *to,
                                 const char *from, const char *direction)
{
        struct sim_call *call = cc_xcalloc(1, sizeof(*call));
        call->q.owner = SIM_OWNER_CALL;
        call->q.account = account;
        sim_new_sid("CA", call->sid);
        call->to = cc_xstrdup(to);
        call->from = cc_xstrdup(from);
        call->direction = direction;
        call->status = "queued";
        call->created_ms = call->updated_ms = cc_now_ms();
        return call;
}

void sim_call_free(struct sim_call *call)
{
        if (!call)
                return;
        free(call->to);
        free(call->from);
        free(call->url);
        free(call->twiml_param);
        free(call->status_callback);
        free(call->last_twiml);
        free(call->last_url);
        free(call->conference_sid);
        sim_event_log_fini(&call->callbacks);
        sim_event_log_fini(&call->webhooks);
        free(call);
}

void sim_conferences_free(struct sim *sim)
{
        for (struct sim_conference *c = sim->conferences, *next; c; c = next) {
                next = c->next;
                free(c->name);
                free(c);
        }
        sim->conferences = NULL;
}

/* A conference's sid: as given when it is one, else one made up per friendly name. */
static const char *conference_sid(struct sim *sim, const char *name)
{
        for (struct sim_conference *c = sim->conferences; c; c = c->next)
                if (strcmp(c->name, name) == 0)
                        return c->sid;
        struct sim_conference *c = cc_xcalloc(1, sizeof(*c));
        c->name = cc_xstrdup(name);
        if (strncmp(name, "CF", 2) == 0 && strlen(name) == SIM_SID_LEN)
                snprintf(c->sid, sizeof(c->sid), "%s", name);
        else
                sim_new_sid("CF", c->sid);
        c->next = sim->conferences;
        sim->conferences = c;
        return c->sid;
}

/* ---- the fields Twilio posts about a call ---- */

struct call_fields {
        struct cc_kv kv[24];
        size_t n;
        char seq[16], duration[16], minutes[16], timestamp[40];
};

static void add_field(struct call_fields *f, const char *key, const char *value)
{
        if (f->n < CC_ARRAY_SIZE(f->kv))
                f->kv[f->n++] = (struct cc_kv){key, value};
}

static void call_fields_init(struct call_fields *f, const struct sim_call *call,
                             const char *call_status)
{
        f->n = 0;
        add_field(f, "AccountSid", call->q.account->sid);
        add_field(f, "ApiVersion", SIM_API_VERSION);
        add_field(f, "CallSid", call->sid);
        add_field(f, "CallStatus", call_status);
        add_field(f, "Called", call->to);
        add_field(f, "Caller", call->from);
        add_field(f, "Direction", call->direction);
        add_field(f, "From", call->from);
        add_field(f, "To", call->to);
}

/* Queues the status callback for one event if the call subscribed to it ("completed" always
 * goes out, as with Twilio). */
static void status_callback(struct sim *sim, struct sim_call *call, unsigned event)
{
        if (!call->status_callback || (event != SIM_EV_COMPLETED && !(call->events & event)))
                return;
        struct call_fields f;
        call_fields_init(&f, call, call->status);
        add_field(&f, "CallbackSource", "call-progress-events");
        snprintf(f.seq, sizeof(f.seq), "%d", call->sequence++);
        add_field(&f, "SequenceNumber", f.seq);
        sim_format_date(cc_now_ms(), f.timestamp);
        add_field(&f, "Timestamp", f.timestamp);
        if (event == SIM_EV_COMPLETED) {
                snprintf(f.duration, sizeof(f.duration), "%d", call->duration_s);
                snprintf(f.minutes, sizeof(f.minutes), "%d", (call->duration_s + 59) / 60);
                add_field(&f, "CallDuration", f.duration);
                add_field(&f, "Duration", f.minutes);
        }
        sim_queue_push(
            sim, &call->q,
            sim_job_new(call->status, call->status_callback, call->status_callback_get, f.kv, f.n));
}

/* Queues a fetch of TwiML (the voice Url at answer, a redirect) whose answer the call keeps. */
static void twiml_fetch(struct sim *sim, struct sim_call *call, const char *kind, const char *url,
                        bool use_get)
{
        struct call_fields f;
        call_fields_init(&f, call, call->status);
        struct sim_job *job = sim_job_new(kind, url, use_get, f.kv, f.n);
        job->is_twiml = true;
        sim_queue_push(sim, &call->q, job);
}

static void call_touch(struct sim_call *call)
{
        call->updated_ms = cc_now_ms();
}

/* Ends the call with status now: duration from the answer (whole seconds, at least 1 for an
 * answered call), pending steps dropped, the completed callback queued. */
static void call_end(struct sim *sim, struct sim_call *call, const char *status)
{
        if (call_ended(call))
                return;
        call->status = status;
        call->ended_ms = cc_now_ms();
        call_touch(call);
        sim_queue_timer(sim, &call->q, 0, 0);
        if (call->answered_us) {
                /* Rounded to the nearest second: --talk-ms 2000 must report 2 s even though the
                 * hangup step runs a few milliseconds late. */
                int64_t ms = (cc_monotonic_us() - call->answered_us) / 1000;
                call->duration_s = (int)((ms + 500) / 1000);
                if (call->duration_s < 1)
                        call->duration_s = 1;
        }
        status_callback(sim, call, SIM_EV_COMPLETED);
}

static void call_answer(struct sim_call *call)
{
        call->status = "in-progress";
        call->answered_ms = cc_now_ms();
        call->answered_us = cc_monotonic_us();
        call_touch(call);
}

void sim_call_step(struct sim *sim, struct sim_call *call, int step)
{
        if (call_ended(call))
                return;
        switch (step) {
        case STEP_START:
                call->started_ms = cc_now_ms();
                call->status = "initiated";
                status_callback(sim, call, SIM_EV_INITIATED);
                if (call->outcome == SIM_OUTCOME_FAILED) {
                        call_end(sim, call, "failed");
                        return;
                }
                call->status = "ringing";
                call_touch(call);
                status_callback(sim, call, SIM_EV_RINGING);
                sim_queue_timer(sim, &call->q, cc_monotonic_us() + sim->cfg.ring_ms * 1000LL,
                                STEP_RING_END);
                return;
        case STEP_RING_END:
                if (call->outcome == SIM_OUTCOME_BUSY) {
                        call_end(sim, call, "busy");
                        return;
                }
                if (call->outcome == SIM_OUTCOME_NO_ANSWER) {
                        call_end(sim, call, "no-answer");
                        return;
                }
                call_answer(call);
                status_callback(sim, call, SIM_EV_ANSWERED);
                if (call->url) {
                        twiml_fetch(sim, call, "voice", call->url, false);
                } else {
                        set_string(&call->last_twiml, call->twiml_param);
                        set_string(&call->last_url, NULL);
                }
                sim_queue_timer(sim, &call->q, cc_monotonic_us() + sim->cfg.talk_ms * 1000LL,
                                STEP_HANGUP);
                return;
        case STEP_HANGUP:
                call_end(sim, call, "completed");
                return;
        }
}

void sim_call_delivered(struct sim *sim, struct sim_call *call, const struct sim_job *job,
                        int status, const char *body)
{
        bool ok = status >= 200 && status <= 299;
        if (job->is_twiml) {
                sim_event_log_add(&call->webhooks, job->label, job->url, status, job->attempt, -1);
                if (ok && !call_ended(call)) {
                        set_string(&call->last_twiml, body);
                        set_string(&call->last_url, job->url);
                }
                return;
        }
        const char *seq = cc_kv_get(job->fields, job->nfields, "SequenceNumber");
        sim_event_log_add(&call->callbacks, job->label, job->url, status, job->attempt,
                          seq ? atoi(seq) : -1);
}

/* ---- JSON ---- */

/* The call as Twilio's REST API shows it. Under sim->mu. */
static json_object *call_resource(const struct sim_call *call)
{
        const char *acct = call->q.account->sid;
        char uri[160], sub[200];
        snprintf(uri, sizeof(uri), "/%s/Accounts/%s/Calls/%s.json", SIM_API_VERSION, acct,
                 call->sid);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sid", json_object_new_string(call->sid));
        json_object_object_add(o, "account_sid", json_object_new_string(acct));
        json_object_object_add(o, "annotation", NULL);
        json_object_object_add(o, "answered_by", NULL);
        json_object_object_add(o, "api_version", json_object_new_string(SIM_API_VERSION));
        json_object_object_add(o, "caller_name", NULL);
        sim_json_add_date(o, "date_created", call->created_ms);
        sim_json_add_date(o, "date_updated", call->updated_ms);
        json_object_object_add(o, "direction", json_object_new_string(call->direction));
        if (call_ended(call)) {
                char d[16];
                snprintf(d, sizeof(d), "%d", call->duration_s);
                json_object_object_add(o, "duration", json_object_new_string(d));
        } else {
                json_object_object_add(o, "duration", NULL);
        }
        sim_json_add_date(o, "end_time", call->ended_ms);
        json_object_object_add(o, "forwarded_from", NULL);
        json_object_object_add(o, "from", json_object_new_string(call->from));
        json_object_object_add(o, "from_formatted", json_object_new_string(call->from));
        json_object_object_add(o, "group_sid", NULL);
        json_object_object_add(o, "parent_call_sid", NULL);
        json_object_object_add(o, "phone_number_sid", NULL);
        json_object_object_add(o, "price", NULL);
        json_object_object_add(o, "price_unit", json_object_new_string("USD"));
        json_object_object_add(o, "queue_time", json_object_new_string("0"));
        sim_json_add_date(o, "start_time", call->started_ms);
        /* "initiated" is an event, not a resource status: the resource says queued until it
         * rings. */
        json_object_object_add(o, "status",
                               json_object_new_string(strcmp(call->status, "initiated") == 0
                                                          ? "queued"
                                                          : call->status));
        json_object *subs = json_object_new_object();
        static const char *const names[][2] = {{"notifications", "Notifications"},
                                               {"recordings", "Recordings"},
                                               {"payments", "Payments"},
                                               {"events", "Events"},
                                               {"siprec", "Siprec"},
                                               {"streams", "Streams"}};
        for (size_t i = 0; i < CC_ARRAY_SIZE(names); i++) {
                snprintf(sub, sizeof(sub), "/%s/Accounts/%s/Calls/%s/%s.json", SIM_API_VERSION,
                         acct, call->sid, names[i][1]);
                json_object_object_add(subs, names[i][0], json_object_new_string(sub));
        }
        json_object_object_add(o, "subresource_uris", subs);
        json_object_object_add(o, "to", json_object_new_string(call->to));
        json_object_object_add(o, "to_formatted", json_object_new_string(call->to));
        json_object_object_add(o, "trunk_sid", NULL);
        json_object_object_add(o, "uri", json_object_new_string(uri));
        return o;
}

/* The call as the control API shows it, with what was delivered. Under sim->mu. */
static json_object *call_view(const struct sim_call *call)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sid", json_object_new_string(call->sid));
        json_object_object_add(o, "account_sid", json_object_new_string(call->q.account->sid));
        json_object_object_add(o, "status", json_object_new_string(call->status));
        json_object_object_add(o, "to", json_object_new_string(call->to));
        json_object_object_add(o, "from", json_object_new_string(call->from));
        json_object_object_add(o, "direction", json_object_new_string(call->direction));
        cc_json_add_string(o, "url", call->url);
        cc_json_add_string(o, "status_callback", call->status_callback);
        json_object_object_add(o, "events", sim_event_log_json(&call->callbacks, "status"));
        json_object_object_add(o, "webhooks", sim_event_log_json(&call->webhooks, "kind"));
        cc_json_add_string(o, "last_twiml", call->last_twiml);
        cc_json_add_string(o, "last_url", call->last_url);
        json_object_object_add(o, "hold", json_object_new_boolean(call->hold));
        json_object_object_add(o, "muted", json_object_new_boolean(call->muted));
        cc_json_add_string(o, "conference_sid", call->conference_sid);
        json_object_object_add(o, "duration",
                               call_ended(call) ? json_object_new_int(call->duration_s) : NULL);
        cc_json_add_time(o, "created_at", call->created_ms);
        cc_json_add_time(o, "answered_at", call->answered_ms ? call->answered_ms : -1);
        cc_json_add_time(o, "ended_at", call->ended_ms ? call->ended_ms : -1);
        return o;
}

/* ---- REST: Calls ---- */

static unsigned parse_events(const struct sim_rest *r, bool *ret_bad)
{
        static const char *const names[] = {"initiated", "ringing", "answered", "completed"};
        unsigned mask = 0;
        *ret_bad = false;
        for (size_t i = 0; i < r->nfields; i++) {
                if (strcmp(r->fields[i].key, "StatusCallbackEvent") != 0)
                        continue;
                /* Some clients send one key with the events space-separated. */
                char *copy = cc_xstrdup(r->fields[i].value);
                for (char *save = NULL, *w = strtok_r(copy, " ,", &save); w;
                     w = strtok_r(NULL, " ,", &save)) {
                        size_t k = 0;
                        while (k < CC_ARRAY_SIZE(names) && strcmp(names[k], w) != 0)
                                k++;
                        if (k == CC_ARRAY_SIZE(names))
                                *ret_bad = true;
                        else
                                mask |= 1u << k;
                }
                free(copy);
        }
        return mask;
}

static bool method_is_get(const char *m)
{
        return m && strcasecmp(m, "GET") == 0;
}

static bool nonempty(const char *s)
{
        return s && *s;
}

void sim_calls_create(struct sim_rest *r)
{
        const char *to = cc_kv_get(r->fields, r->nfields, "To");
        const char *from = cc_kv_get(r->fields, r->nfields, "From");
        const char *url = cc_kv_get(r->fields, r->nfields, "Url");
        const char *twiml = cc_kv_get(r->fields, r->nfields, "Twiml");
        const char *cb = cc_kv_get(r->fields, r->nfields, "StatusCallback");
        const char *cb_method = cc_kv_get(r->fields, r->nfields, "StatusCallbackMethod");
        if (!nonempty(to)) {
                sim_reply_twilio_error(r->req, 400, 21201, "No 'To' number is specified");
                return;
        }
        if (!nonempty(from)) {
                sim_reply_twilio_error(r->req, 400, 21213, "No 'From' number is specified");
                return;
        }
        if (!nonempty(url) && !nonempty(twiml)) {
                sim_reply_twilio_error(r->req, 400, 21205, "Url parameter is required");
                return;
        }
        if (!address_valid(to)) {
                sim_reply_twilio_error(r->req, 400, 21211, "Invalid 'To' Phone Number: %s", to);
                return;
        }
        if (!address_valid(from)) {
                sim_reply_twilio_error(r->req, 400, 21212, "Invalid 'From' Phone Number: %s", from);
                return;
        }
        if (nonempty(url) && !http_url(url)) {
                sim_reply_twilio_error(r->req, 400, 21205, "Url is not a valid URL: %s", url);
                return;
        }
        if (nonempty(cb) && !http_url(cb)) {
                sim_reply_twilio_error(r->req, 400, 21609, "StatusCallback is not a valid URL: %s",
                                       cb);
                return;
        }
        bool bad_events;
        unsigned events = parse_events(r, &bad_events);
        if (bad_events) {
                sim_reply_twilio_error(r->req, 400, 21626, "Invalid 'StatusCallbackEvent'");
                return;
        }

        struct sim_call *call = call_new(r->account, to, from, "outbound-api");
        if (nonempty(url))
                call->url = cc_xstrdup(url);
        else
                call->twiml_param = cc_xstrdup(twiml);
        /* The voice Url is always POSTed (Method is not read): our webhooks take POST only. */
        if (nonempty(cb)) {
                call->status_callback = cc_xstrdup(cb);
                call->status_callback_get = method_is_get(cb_method);
        }
        call->events = events | SIM_EV_COMPLETED;
        if (ends_with(to, "0001"))
                call->outcome = SIM_OUTCOME_BUSY;
        else if (ends_with(to, "0002"))
                call->outcome = SIM_OUTCOME_NO_ANSWER;
        else if (ends_with(to, "0003"))
                call->outcome = SIM_OUTCOME_FAILED;
        else
                call->outcome = SIM_OUTCOME_ANSWER;

        struct sim *sim = r->sim;
        pthread_mutex_lock(&sim->mu);
        calls_add(sim, call);
        json_object *doc = call_resource(call);
        sim_queue_timer(sim, &call->q, cc_monotonic_us(), STEP_START);
        pthread_mutex_unlock(&sim->mu);
        cc_log_info(cc_http_req_id(r->req), "call %s to %s created", call->sid, to);
        cc_http_reply_json(r->req, 201, doc);
}

static void reply_call_not_found(struct cc_http_req *req)
{
        sim_reply_twilio_error(req, 404, 20404, "The requested resource %s was not found",
                               cc_http_req_path(req));
}

void sim_calls_fetch(struct sim_rest *r, const char *call_sid)
{
        struct sim *sim = r->sim;
        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = call_find(sim, call_sid, r->account);
        json_object *doc = call ? call_resource(call) : NULL;
        pthread_mutex_unlock(&sim->mu);
        if (!doc)
                reply_call_not_found(r->req);
        else
                cc_http_reply_json(r->req, 200, doc);
}

void sim_calls_update(struct sim_rest *r, const char *call_sid)
{
        const char *status = cc_kv_get(r->fields, r->nfields, "Status");
        const char *url = cc_kv_get(r->fields, r->nfields, "Url");
        const char *twiml = cc_kv_get(r->fields, r->nfields, "Twiml");
        const char *method = cc_kv_get(r->fields, r->nfields, "Method");
        if (nonempty(status) && strcmp(status, "completed") != 0 &&
            strcmp(status, "canceled") != 0) {
                sim_reply_twilio_error(r->req, 400, 20001,
                                       "Status must be 'completed' or 'canceled', not '%s'",
                                       status);
                return;
        }
        if (!nonempty(status) && !nonempty(url) && !nonempty(twiml)) {
                sim_reply_twilio_error(r->req, 400, 20001,
                                       "Nothing to update: give Status, Url or Twiml");
                return;
        }
        if (!nonempty(status) && nonempty(url) && !http_url(url)) {
                sim_reply_twilio_error(r->req, 400, 21205, "Url is not a valid URL: %s", url);
                return;
        }

        struct sim *sim = r->sim;
        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = call_find(sim, call_sid, r->account);
        if (!call) {
                pthread_mutex_unlock(&sim->mu);
                reply_call_not_found(r->req);
                return;
        }
        bool answered = strcmp(call->status, "in-progress") == 0;
        if (nonempty(status)) {
                /* completed hangs up whatever the state; canceled only what has not been
                 * answered. An ended call stays as it ended. */
                if (!answered)
                        call_end(sim, call, "canceled");
                else if (strcmp(status, "completed") == 0)
                        call_end(sim, call, "completed");
        } else if (call_ended(call)) {
                pthread_mutex_unlock(&sim->mu);
                sim_reply_twilio_error(r->req, 400, 21220,
                                       "Call is not in-progress. Cannot redirect.");
                return;
        } else if (answered) {
                if (nonempty(url))
                        twiml_fetch(sim, call, "redirect", url, method_is_get(method));
                else
                        set_string(&call->last_twiml, twiml);
                call_touch(call);
        } else {
                /* Not answered yet: the new instructions are what the answer will play. */
                set_string(&call->url, nonempty(url) ? url : NULL);
                set_string(&call->twiml_param, nonempty(url) ? NULL : twiml);
                call_touch(call);
        }
        json_object *doc = call_resource(call);
        pthread_mutex_unlock(&sim->mu);
        cc_http_reply_json(r->req, 200, doc);
}

static int parse_bool(const char *s, bool *ret)
{
        if (!s)
                return -ENOENT;
        if (strcasecmp(s, "true") == 0) {
                *ret = true;
                return 0;
        }
        if (strcasecmp(s, "false") == 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

void sim_participant_update(struct sim_rest *r, const char *conference, const char *call_sid)
{
        bool hold = false, muted = false;
        int rh = parse_bool(cc_kv_get(r->fields, r->nfields, "Hold"), &hold);
        int rm = parse_bool(cc_kv_get(r->fields, r->nfields, "Muted"), &muted);
        if (rh == -EINVAL || rm == -EINVAL) {
                sim_reply_twilio_error(r->req, 400, 20001, "Hold and Muted must be true or false");
                return;
        }
        struct sim *sim = r->sim;
        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = call_find(sim, call_sid, r->account);
        /* An ended call has left every conference. */
        if (!call || call_ended(call)) {
                pthread_mutex_unlock(&sim->mu);
                sim_reply_twilio_error(r->req, 404, 20404,
                                       "The requested resource %s was not found",
                                       cc_http_req_path(r->req));
                return;
        }
        if (rh == 0)
                call->hold = hold;
        if (rm == 0)
                call->muted = muted;
        set_string(&call->conference_sid, conference_sid(sim, conference));
        call_touch(call);

        char uri[256];
        snprintf(uri, sizeof(uri), "/%s/Accounts/%s/Conferences/%s/Participants/%s.json",
                 SIM_API_VERSION, r->account->sid, call->conference_sid, call->sid);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "account_sid", json_object_new_string(r->account->sid));
        json_object_object_add(o, "call_sid", json_object_new_string(call->sid));
        json_object_object_add(o, "call_sid_to_coach", NULL);
        json_object_object_add(o, "coaching", json_object_new_boolean(false));
        json_object_object_add(o, "conference_sid", json_object_new_string(call->conference_sid));
        sim_json_add_date(o, "date_created",
                          call->answered_ms ? call->answered_ms : call->created_ms);
        sim_json_add_date(o, "date_updated", call->updated_ms);
        json_object_object_add(o, "end_conference_on_exit", json_object_new_boolean(false));
        json_object_object_add(o, "hold", json_object_new_boolean(call->hold));
        json_object_object_add(o, "label", NULL);
        json_object_object_add(o, "muted", json_object_new_boolean(call->muted));
        json_object_object_add(o, "start_conference_on_enter", json_object_new_boolean(true));
        json_object_object_add(o, "status", json_object_new_string("connected"));
        json_object_object_add(o, "uri", json_object_new_string(uri));
        pthread_mutex_unlock(&sim->mu);
        cc_http_reply_json(r->req, 200, o);
}

/* ---- minimal TwiML reading ---- */

/* Decodes the XML entities of s[0..n) (the five named ones and numeric references). */
static char *xml_unescape(const char *s, size_t n)
{
        static const struct {
                const char *name;
                char c;
        } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
        struct cc_strbuf b = {0};
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '&') {
                        cc_strbuf_append(&b, &s[i], 1);
                        continue;
                }
                const char *p = s + i + 1;
                size_t left = n - i - 1;
                bool done = false;
                for (size_t k = 0; k < CC_ARRAY_SIZE(named) && !done; k++) {
                        size_t len = strlen(named[k].name);
                        if (left >= len && strncmp(p, named[k].name, len) == 0) {
                                cc_strbuf_append(&b, &named[k].c, 1);
                                i += len;
                                done = true;
                        }
                }
                if (!done && left > 1 && p[0] == '#') {
                        bool hex = p[1] == 'x' || p[1] == 'X';
                        size_t j = hex ? 2 : 1;
                        unsigned long cp = 0;
                        while (j < left && j < 10 &&
                               (hex ? cc_hex_value(p[j]) >= 0 : (p[j] >= '0' && p[j] <= '9'))) {
                                cp = cp * (hex ? 16 : 10) +
                                     (unsigned long)(hex ? cc_hex_value(p[j]) : p[j] - '0');
                                j++;
                        }
                        if (j < left && p[j] == ';' && cp > 0 && cp < 0x80) {
                                char c = (char)cp;
                                cc_strbuf_append(&b, &c, 1);
                                i += j + 1;
                                done = true;
                        }
                }
                if (!done)
                        cc_strbuf_append(&b, "&", 1);
        }
        return cc_strbuf_take(&b);
}

/* The start tag of the first <name> element: *ret_attrs points after the name, *ret_end at its
 * '>' (or "/>"). NULL when there is none. */
static const char *find_element(const char *xml, const char *name, const char **ret_end)
{
        size_t len = strlen(name);
        for (const char *p = xml ? strchr(xml, '<') : NULL; p; p = strchr(p + 1, '<')) {
                if (strncmp(p + 1, name, len) != 0)
                        continue;
                char c = p[1 + len];
                if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n')
                        continue;
                const char *end = strchr(p, '>');
                if (!end)
                        return NULL;
                *ret_end = end;
                return p + 1 + len;
        }
        return NULL;
}

/* The unescaped value of attribute name within attrs..end, heap; NULL when absent. */
static char *attribute(const char *attrs, const char *end, const char *name)
{
        size_t len = strlen(name);
        for (const char *p = attrs; p < end; p++) {
                if (p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\r' && p[-1] != '\n')
                        continue;
                if ((size_t)(end - p) <= len || strncmp(p, name, len) != 0)
                        continue;
                const char *q = p + len;
                while (q < end && (*q == ' ' || *q == '\t'))
                        q++;
                if (q >= end || *q != '=')
                        continue;
                q++;
                while (q < end && (*q == ' ' || *q == '\t'))
                        q++;
                if (q >= end || (*q != '"' && *q != '\''))
                        continue;
                const char *close = memchr(q + 1, *q, (size_t)(end - q - 1));
                if (!close)
                        return NULL;
                return xml_unescape(q + 1, (size_t)(close - q - 1));
        }
        return NULL;
}

/* The text of the first <name>...</name>, trimmed and unescaped; NULL when there is none. */
static char *element_text(const char *xml, const char *name)
{
        const char *end;
        if (!find_element(xml, name, &end) || end[-1] == '/')
                return NULL;
        const char *text = end + 1, *close = strstr(text, "</");
        if (!close)
                return NULL;
        while (text < close && strchr(" \t\r\n", *text))
                text++;
        while (close > text && strchr(" \t\r\n", close[-1]))
                close--;
        return xml_unescape(text, (size_t)(close - text));
}

/* target resolved against base the way a browser would (absolute, host-relative, relative). */
static char *resolve_url(const char *base, const char *target)
{
        if (!target || !*target)
                return base ? cc_xstrdup(base) : NULL;
        if (http_url(target))
                return cc_xstrdup(target);
        if (!base)
                return NULL;
        const char *host = strstr(base, "://");
        if (!host)
                return NULL;
        host += 3;
        const char *path = strchr(host, '/');
        size_t origin_len = path ? (size_t)(path - base) : strlen(base);
        if (target[0] == '/')
                return cc_xasprintf("%.*s%s", (int)origin_len, base, target);
        size_t dir_len = origin_len;
        if (path) {
                const char *query = strpbrk(path, "?#");
                const char *last = path;
                for (const char *p = path; *p && (!query || p < query); p++)
                        if (*p == '/')
                                last = p;
                dir_len = (size_t)(last - base);
        }
        return cc_xasprintf("%.*s/%s", (int)dir_len, base, target);
}

/* ---- control API ---- */

static struct sim_call *control_call(struct cc_http_req *req)
{
        struct sim_call *call = call_find(sim_of(req), cc_http_req_param(req, "sid"), NULL);
        return call;
}

static bool twiml_hangs_up(const char *twiml)
{
        const char *end;
        return find_element(twiml, "Hangup", &end) || find_element(twiml, "Reject", &end);
}

/* POSTs the call's fields (plus Digits when given) to url, signed, and returns what came back;
 * logged on the call. Call without sim->mu; takes it. */
static void post_to_call_webhook(struct sim *sim, struct sim_call *call, const char *kind,
                                 const char *url, bool use_get, const char *digits, int *ret_status,
                                 char **ret_body)
{
        struct call_fields f;
        pthread_mutex_lock(&sim->mu);
        call_fields_init(&f, call, call->status);
        /* The strings stay valid: a call's fixed fields never change. */
        const struct sim_account *account = call->q.account;
        pthread_mutex_unlock(&sim->mu);
        if (digits) {
                add_field(&f, "Digits", digits);
                add_field(&f, "FinishedOnKey", "");
        }
        sim_deliver(account, url, use_get, f.kv, f.n, ret_status, ret_body);
        cc_log_info(NULL, "%s %s %s -> %d", call->sid, kind, url, *ret_status);
        pthread_mutex_lock(&sim->mu);
        sim_event_log_add(&call->webhooks, kind, url, *ret_status, 1, -1);
        pthread_mutex_unlock(&sim->mu);
}

/* Takes TwiML our webhook answered with: the call keeps it; <Hangup/> ends the call; a
 * <Redirect> without a <Gather> is followed. On return status and body hold the last answer. */
static void play_answer(struct sim *sim, struct sim_call *call, const char *url, int *status,
                        char **body)
{
        char *current = cc_xstrdup(url);
        for (int hops = 0;; hops++) {
                bool ok = *status >= 200 && *status <= 299;
                char *redirect = NULL;
                bool use_get = false;
                pthread_mutex_lock(&sim->mu);
                if (ok && !call_ended(call)) {
                        set_string(&call->last_twiml, *body);
                        set_string(&call->last_url, current);
                        call_touch(call);
                        const char *end;
                        if (twiml_hangs_up(*body) && !find_element(*body, "Gather", &end)) {
                                call_end(sim, call, "completed");
                        } else if (!find_element(*body, "Gather", &end) && hops < MAX_REDIRECTS) {
                                char *target = element_text(*body, "Redirect");
                                const char *attrs = find_element(*body, "Redirect", &end);
                                if (target) {
                                        redirect = resolve_url(current, target);
                                        char *m = attrs ? attribute(attrs, end, "method") : NULL;
                                        use_get = method_is_get(m);
                                        free(m);
                                }
                                free(target);
                        }
                }
                pthread_mutex_unlock(&sim->mu);
                if (!redirect)
                        break;
                free(*body);
                post_to_call_webhook(sim, call, "redirect", redirect, use_get, NULL, status, body);
                free(current);
                current = redirect;
        }
        free(current);
}

void sim_h_inbound_call(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        json_object *in = cc_http_req_json(req);
        struct cc_json_err err;
        const char *to, *from, *url, *account_sid = NULL, *cb = NULL;
        if (cc_json_get_string(in, "to", CC_JSON_REQUIRED, 1, 64, &to, &err) < 0 ||
            cc_json_get_string(in, "from", CC_JSON_REQUIRED, 1, 64, &from, &err) < 0 ||
            cc_json_get_string(in, "url", CC_JSON_REQUIRED, 1, 2048, &url, &err) < 0 ||
            cc_json_get_string(in, "account_sid", 0, 1, 64, &account_sid, &err) == -EINVAL ||
            cc_json_get_string(in, "status_callback", 0, 1, 2048, &cb, &err) == -EINVAL) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        if (!http_url(url)) {
                cc_http_reply_error(req, 422, "url: must be an absolute http(s) URL");
                return;
        }
        if (cb && !http_url(cb)) {
                cc_http_reply_error(req, 422, "status_callback: must be an absolute http(s) URL");
                return;
        }
        const struct sim_account *account =
            account_sid ? sim_account_find(sim, account_sid) : &sim->cfg.accounts[0];
        if (!account) {
                cc_http_reply_error(req, 422, "account_sid: no such account in the simulator");
                return;
        }

        struct sim_call *call = call_new(account, to, from, "inbound");
        call->status = "ringing";
        call->url = cc_xstrdup(url);
        call->status_callback = xstrdup_or_null(cb);
        call->events = SIM_EV_COMPLETED;
        call->started_ms = call->created_ms;
        pthread_mutex_lock(&sim->mu);
        calls_add(sim, call);
        pthread_mutex_unlock(&sim->mu);

        int status;
        char *body;
        post_to_call_webhook(sim, call, "inbound", url, false, NULL, &status, &body);
        pthread_mutex_lock(&sim->mu);
        if (status >= 200 && status <= 299)
                call_answer(call);
        else
                /* Twilio says "an application error has occurred" and hangs up. */
                call_end(sim, call, "failed");
        pthread_mutex_unlock(&sim->mu);
        play_answer(sim, call, url, &status, &body);

        json_object *o = json_object_new_object();
        json_object_object_add(o, "call_sid", json_object_new_string(call->sid));
        json_object_object_add(o, "status", json_object_new_int(status));
        json_object_object_add(o, "twiml", json_object_new_string(body));
        free(body);
        cc_http_reply_json(req, 200, o);
}

void sim_h_call_digits(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        json_object *in = cc_http_req_json(req);
        struct cc_json_err err;
        const char *digits;
        if (cc_json_get_string(in, "digits", CC_JSON_REQUIRED, 0, 64, &digits, &err) < 0) {
                cc_http_reply_error(req, 422, "%s", err.msg);
                return;
        }
        for (const char *p = digits; *p; p++) {
                if (!strchr("0123456789*#w", *p)) {
                        cc_http_reply_error(req, 422, "digits: only 0-9, * and # can be pressed");
                        return;
                }
        }

        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = control_call(req);
        if (!call) {
                pthread_mutex_unlock(&sim->mu);
                cc_http_reply_error(req, 404, "call not found");
                return;
        }
        if (call_ended(call) || strcmp(call->status, "in-progress") != 0) {
                pthread_mutex_unlock(&sim->mu);
                cc_http_reply_error(req, 409, "call is not in progress");
                return;
        }
        const char *end;
        const char *attrs = find_element(call->last_twiml, "Gather", &end);
        if (!attrs) {
                pthread_mutex_unlock(&sim->mu);
                cc_http_reply_error(req, 409, "call is not gathering");
                return;
        }
        char *action = attribute(attrs, end, "action");
        char *method = attribute(attrs, end, "method");
        /* Without an action Twilio posts back to the document's own URL. */
        char *target = resolve_url(call->last_url, action);
        pthread_mutex_unlock(&sim->mu);
        bool use_get = method_is_get(method);
        free(action);
        free(method);
        if (!target) {
                cc_http_reply_error(req, 409, "the Gather has no action and no URL to post to");
                return;
        }

        int status;
        char *body;
        post_to_call_webhook(sim, call, "gather", target, use_get, *digits ? digits : NULL, &status,
                             &body);
        play_answer(sim, call, target, &status, &body);
        free(target);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_int(status));
        json_object_object_add(o, "twiml", json_object_new_string(body));
        free(body);
        cc_http_reply_json(req, 200, o);
}

void sim_h_call_hangup(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = control_call(req);
        if (!call) {
                pthread_mutex_unlock(&sim->mu);
                cc_http_reply_error(req, 404, "call not found");
                return;
        }
        if (call_ended(call)) {
                pthread_mutex_unlock(&sim->mu);
                cc_http_reply_error(req, 409, "call has already ended");
                return;
        }
        call_end(sim, call, strcmp(call->status, "in-progress") == 0 ? "completed" : "canceled");
        json_object *o = call_view(call);
        pthread_mutex_unlock(&sim->mu);
        cc_http_reply_json(req, 200, o);
}

void sim_h_call_get(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        pthread_mutex_lock(&sim->mu);
        struct sim_call *call = control_call(req);
        json_object *o = call ? call_view(call) : NULL;
        pthread_mutex_unlock(&sim->mu);
        if (!o)
                cc_http_reply_error(req, 404, "call not found");
        else
                cc_http_reply_json(req, 200, o);
}

void sim_h_calls_list(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        json_object *a = json_object_new_array();
        pthread_mutex_lock(&sim->mu);
        for (size_t i = 0; i < sim->ncalls; i++)
                json_object_array_add(a, call_view(sim->calls[i]));
        pthread_mutex_unlock(&sim->mu);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "calls", a);
        cc_http_reply_json(req, 200, o);
}
