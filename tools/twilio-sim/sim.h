/* twilio-sim's internals shared between its files: the accounts it knows, the calls and
 * messages it holds, and the ordered, retried delivery of their callbacks from worker threads.
 *
 * Locking: one mutex (sim->mu) guards every call, message and queue. HTTP handlers take it for
 * short reads and updates; workers hold it while choosing work and while running a timed step
 * (no I/O), and drop it only around the HTTP request of a delivery. Calls and messages live
 * until the simulator stops, so a pointer found under the lock stays valid after it. */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cc/http.h"
#include "cc/twilio.h"

#define SIM_API_VERSION "2010-04-01"
#define SIM_SID_LEN     34 /* two letters and 32 hex digits */
/* A callback answered with anything but 2xx is tried once more this much later, as Twilio
 * does. */
#define SIM_RETRY_MS 200

struct sim_account {
        char *sid;
        char *token;
};

struct sim_config {
        struct sim_account *accounts; /* the first is the default for inbound calls */
        size_t naccounts;
        int ring_ms;
        int talk_ms;
        int workers;
};

/* One outgoing request: a status callback or a fetch of TwiML. Owns its strings. */
struct sim_job {
        struct sim_job *next;
        int64_t due_us; /* monotonic; retries are delayed */
        int attempt;    /* 1, then 2 for the retry */
        bool is_twiml;  /* a webhook whose answer becomes the call's TwiML */
        char *label;    /* what it reports: CallStatus, MessageStatus or the webhook's kind */
        char *url;
        bool use_get;
        struct cc_kv *fields; /* keys and values heap-owned */
        size_t nfields;
};

/* What a delivery got, kept per call or message in order. */
struct sim_event {
        char *label;
        char *url;
        int http_status; /* 0: no answer (connection refused, timeout) */
        int attempt;
        int sequence; /* SequenceNumber for call status callbacks, else -1 */
        int64_t at_ms;
};

struct sim_event_log {
        struct sim_event *v;
        size_t n, cap;
};

enum sim_owner { SIM_OWNER_CALL, SIM_OWNER_MESSAGE };

/* The ordered callbacks of one call or message plus its one pending timed step. Deliveries go
 * out one at a time in FIFO order; a retry goes back to the front so nothing overtakes it. */
struct sim_queue {
        enum sim_owner owner;
        const struct sim_account *account;
        struct sim_job *head, *tail;
        bool busy;              /* a worker is delivering head-of-line right now */
        int64_t timer_us;       /* monotonic time of the next step; 0: none */
        int timer_step;         /* owner-defined */
        bool active;            /* on sim->active */
        struct sim_queue *next; /* sim->active */
};

struct sim_call {
        struct sim_queue q; /* first: a queue is its call */
        char sid[SIM_SID_LEN + 1];
        char *to, *from;
        const char *direction; /* "outbound-api", "inbound" */
        const char *status;    /* Twilio's call status */
        char *url;             /* voice webhook; NULL when the call came with Twiml */
        char *twiml_param;     /* Twiml given at creation, played at answer */
        char *status_callback;
        bool status_callback_get;
        unsigned events; /* SIM_EV_* the status callback subscribed to */
        int outcome;     /* SIM_OUTCOME_* */
        char *last_twiml;
        char *last_url; /* the URL last_twiml came from, for relative Gather actions */
        bool hold, muted;
        char *conference_sid;
        int64_t created_ms, updated_ms, started_ms, answered_ms, ended_ms; /* wall; 0: not yet */
        int64_t answered_us;                                               /* monotonic */
        int duration_s;
        int sequence; /* next SequenceNumber */
        struct sim_event_log callbacks;
        struct sim_event_log webhooks;
};

#define SIM_EV_INITIATED 1u
#define SIM_EV_RINGING   2u
#define SIM_EV_ANSWERED  4u
#define SIM_EV_COMPLETED 8u

enum { SIM_OUTCOME_ANSWER, SIM_OUTCOME_BUSY, SIM_OUTCOME_NO_ANSWER, SIM_OUTCOME_FAILED };

struct sim_message {
        struct sim_queue q;
        char sid[SIM_SID_LEN + 1];
        char *to, *from, *body, *messaging_service_sid;
        const char *status;
        char *status_callback;
        int error_code; /* 0: none */
        bool fails;
        int64_t created_ms, updated_ms, sent_ms;
        struct sim_event_log callbacks;
};

struct sim {
        struct sim_config cfg;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        bool stopping;
        pthread_t *threads;
        size_t nthreads;
        struct sim_queue *active; /* queues with jobs, a timer or a delivery in flight */
        struct sim_call **calls;  /* creation order */
        size_t ncalls, calls_cap;
        struct sim_message **messages;
        size_t nmessages, messages_cap;
        struct sim_conference *conferences;
};

/* ---- sim.c ---- */

/* Takes ownership of cfg's arrays. */
struct sim *sim_new(struct sim_config *cfg);
int sim_start(struct sim *sim) CC_MUSTCHECK;
/* Stops the workers (a delivery in flight finishes or times out) and frees everything. */
void sim_free(struct sim *sim);

/* The simulator of a request (the server's userdata). */
struct sim *sim_of(struct cc_http_req *req);
const struct sim_account *sim_account_find(const struct sim *sim, const char *sid);

/* "CA" + 32 lower-case hex digits. */
void sim_new_sid(const char *prefix, char out[SIM_SID_LEN + 1]);
/* RFC 2822 in GMT as Twilio writes dates: "Tue, 31 Aug 2010 20:36:28 +0000". */
void sim_format_date(int64_t ms, char out[40]);
/* Adds an RFC 2822 date member, or null when ms is 0. */
void sim_json_add_date(json_object *o, const char *field, int64_t ms);

/* A job to POST (or GET) fields to url, signed with the queue's account. Copies everything. */
struct sim_job *sim_job_new(const char *label, const char *url, bool use_get,
                            const struct cc_kv *fields, size_t n);
void sim_job_free(struct sim_job *job);
/* Appends job to q and wakes a worker. Under sim->mu. */
void sim_queue_push(struct sim *sim, struct sim_queue *q, struct sim_job *job);
/* Sets (or with at_us 0 clears) q's timed step. Under sim->mu. */
void sim_queue_timer(struct sim *sim, struct sim_queue *q, int64_t at_us, int step);

/* Sends fields to url as Twilio would, signed with account's token, and waits for the answer:
 * its HTTP status (0 when there was none) and body (heap, NUL-terminated, "" when none). Not
 * under sim->mu. */
void sim_deliver(const struct sim_account *account, const char *url, bool use_get,
                 const struct cc_kv *fields, size_t n, int *ret_status, char **ret_body);

void sim_event_log_add(struct sim_event_log *log, const char *label, const char *url,
                       int http_status, int attempt, int sequence);
void sim_event_log_fini(struct sim_event_log *log);
json_object *sim_event_log_json(const struct sim_event_log *log, const char *label_name);

/* Twilio's error document {"code","message","more_info","status"}. */
void sim_reply_twilio_error(struct cc_http_req *req, int status, int code, const char *fmt, ...)
    CC_PRINTF(4, 5);

/* Handlers of the REST API under /2010-04-01/Accounts/{AccountSid}; rest is what follows the
 * account sid's segment, split into segments (percent-decoded), account authenticated. */
struct sim_rest {
        struct cc_http_req *req;
        struct sim *sim;
        const struct sim_account *account;
        const char *method;
        char **seg;
        size_t nseg;
        struct cc_kv *fields;
        size_t nfields;
};

/* ---- calls.c ---- */

void sim_calls_create(struct sim_rest *r);
void sim_calls_fetch(struct sim_rest *r, const char *call_sid);
void sim_calls_update(struct sim_rest *r, const char *call_sid);
void sim_participant_update(struct sim_rest *r, const char *conference, const char *call_sid);
/* A worker's timed step of a call, and what a delivery of one of its jobs got. Under sim->mu. */
void sim_call_step(struct sim *sim, struct sim_call *call, int step);
void sim_call_delivered(struct sim *sim, struct sim_call *call, const struct sim_job *job,
                        int status, const char *body);
void sim_call_free(struct sim_call *call);
void sim_conferences_free(struct sim *sim);

/* Control API. */
void sim_h_inbound_call(struct cc_http_req *req);
void sim_h_calls_list(struct cc_http_req *req);
void sim_h_call_get(struct cc_http_req *req);
void sim_h_call_digits(struct cc_http_req *req);
void sim_h_call_hangup(struct cc_http_req *req);

/* ---- messages.c ---- */

void sim_messages_create(struct sim_rest *r);
void sim_messages_fetch(struct sim_rest *r, const char *message_sid);
void sim_message_step(struct sim *sim, struct sim_message *msg, int step);
void sim_message_delivered(struct sim *sim, struct sim_message *msg, const struct sim_job *job,
                           int status);
void sim_message_free(struct sim_message *msg);
void sim_h_messages_list(struct cc_http_req *req);

/* ---- main.c wires the routes ---- */
extern const struct cc_http_route sim_routes[];
extern const size_t sim_nroutes;
