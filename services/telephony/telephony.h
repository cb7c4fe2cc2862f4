/* Shared inside the telephony service: configuration, per-service state, and what each file
 * offers the others (store_* hold the SQL, h_* the HTTP handlers, webhooks.c Twilio's callbacks,
 * twilio_ops.c the calls we make to Twilio). */
#pragma once

#include <json-c/json.h>

#include "cc/db.h"
#include "cc/http.h"
#include "cc/secretbox.h"
#include "cc/service.h"
#include "cc/twilio.h"
#include "cc/twiml.h"

struct tel_config {
        char *public_base_url;    /* CC_PUBLIC_BASE_URL: what Twilio calls us at */
        char *twilio_api_base;    /* CC_TWILIO_API_BASE */
        char *twilio_account_sid; /* CC_TWILIO_ACCOUNT_SID: the platform's account, optional */
        char *twilio_auth_token;  /* CC_TWILIO_AUTH_TOKEN */
        char *twilio_from_number; /* CC_TWILIO_FROM_NUMBER: caller id when the org has no number */
        char *secrets_key_file;   /* CC_SECRETS_KEY_FILE: 32 bytes in hex (AES-256-GCM key) */
        long long twilio_timeout_ms;
        long long upload_max_bytes;   /* CC_UPLOAD_MAX_BYTES: largest CSV import accepted (413) */
        char *default_country_code;   /* CC_DEFAULT_COUNTRY_CODE: for numbers written without one */
        long long worker_interval_ms; /* CC_WORKER_INTERVAL_MS: the worker's round when idle */
};
extern struct tel_config tel_cfg;

struct tel_ingest;

struct tel {
        struct tel_ingest *ingest; /* applies status callbacks in batches (webhooks.c) */
        struct cc_twilio *twilio;  /* REST client, NULL without CC_TWILIO_API_BASE */
        struct cc_secretbox *box;  /* NULL without CC_SECRETS_KEY_FILE: own credentials refused */
        struct tel_worker *worker; /* routing, wrap-ups, overflow, the dialer (worker.c) */
};
struct tel *tel_of(struct cc_service *svc);
/* The service's state for a request. */
struct tel *tel_req(const struct cc_http_req *req);
const struct cc_service_def *telephony_service_def(void);

/* The status-callback writer (webhooks.c): started before serving, freed after the HTTP server
 * has stopped. NULL when its thread cannot be started. */
struct tel_ingest *tel_ingest_new(struct cc_service *svc);
void tel_ingest_free(struct tel_ingest *in);

/* Route tables, one per file; telephony.c concatenates them. */
extern const struct cc_http_route tel_calls_routes[];
extern const size_t tel_calls_nroutes;
extern const struct cc_http_route tel_ivr_routes[];
extern const size_t tel_ivr_nroutes;
extern const struct cc_http_route tel_admin_routes[]; /* credentials and numbers */
extern const size_t tel_admin_nroutes;
extern const struct cc_http_route tel_ops_routes[]; /* /api/telephony/... */
extern const size_t tel_ops_nroutes;
extern const struct cc_http_route tel_webhook_routes[];
extern const size_t tel_webhook_nroutes;

/* ---- callstate.c: the one state machine of a call ---- */
enum tel_call_status {
        TEL_CALL_QUEUED = 0,
        TEL_CALL_RINGING,
        TEL_CALL_IN_PROGRESS,
        TEL_CALL_ON_HOLD,
        TEL_CALL_COMPLETED,
        TEL_CALL_NO_ANSWER,
        TEL_CALL_BUSY,
        TEL_CALL_FAILED,
        TEL_CALL_CANCELED,
        TEL_CALL_NSTATUS
};
const char *tel_call_status_name(enum tel_call_status s); /* "IN_PROGRESS" */
/* Case-insensitive name ("in_progress"); -EINVAL when unknown. */
int tel_call_status_parse(const char *s, enum tel_call_status *ret) CC_MUSTCHECK;
/* Twilio's CallStatus ("in-progress", "answered", ...) per the contract's mapping; anything
 * unknown is FAILED. */
enum tel_call_status tel_call_status_from_twilio(const char *twilio_status);
bool tel_call_status_terminal(enum tel_call_status s);
/* Whether a call in `from` may move to `to` (false for anything out of a terminal state, for
 * moving back (IN_PROGRESS -> RINGING), and for a no-op). Used by the API, the webhooks and the
 * supervisor actions alike. */
bool tel_call_transition_allowed(enum tel_call_status from, enum tel_call_status to);

/* ---- store_calls.c: calls ---- */
struct tel_call {
        char id[CC_UUID_LEN + 1];
        char org_id[CC_UUID_LEN + 1];
        enum tel_call_status status;
        bool inbound;
        char from_number[32];
        char to_number[32];
        char agent_id[CC_UUID_LEN + 1];    /* "" when none */
        char campaign_id[CC_UUID_LEN + 1]; /* "" when none */
        char twilio_sid[64];               /* "" until Twilio gave one */
        char conference[80];               /* "" when the call is not in a conference */
        int64_t started_at_ms, answered_at_ms, ended_at_ms; /* 0 when not reached */
};

/* Where a status change comes from: the API refuses a transition with -EPERM (409); a
 * webhook's stale or repeated change is ignored (returns 1, nothing written). */
enum tel_source { TEL_SOURCE_API, TEL_SOURCE_WEBHOOK };

struct tel_transition {
        enum tel_call_status to;
        enum tel_source source;
        int64_t at_ms;  /* 0 = now */
        int duration_s; /* Twilio's CallDuration on completion, -1 when not given */
        const char *traceparent;
};
/* Moves a call (inside the caller's transaction) to t->to: checks the state machine, derives
 * timestamps and durations, writes call.updated / call.answered / call.ended to the outbox.
 * 0 applied, 1 ignored (stale or repeated webhook), -ENOENT no such call in the org, -EPERM
 * refused (API), other negative errno on database errors. ret_call (may be NULL) gets the row
 * after the change. */
int tel_call_transition(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                        const struct tel_transition *t, struct tel_call *ret_call) CC_MUSTCHECK;
/* By Twilio's CallSid, any organization (webhooks). -ENOENT when unknown. */
int tel_call_by_sid(struct cc_db_conn *conn, const char *sid,
                    struct tel_call *ret_call) CC_MUSTCHECK;
/* By sid, or, when no call has that sid, by our call id (call_id NULL: none) for a call whose
 * sid is not stored yet: Twilio may call back before Calls.json has answered us. */
int tel_call_by_ref(struct cc_db_conn *conn, const char *sid, const char *call_id,
                    struct tel_call *ret_call) CC_MUSTCHECK;
/* A status callback, in the caller's transaction, in as few round trips as the database allows:
 * finds and locks the call (as tel_call_by_ref, storing the sid when it was not stored yet),
 * checks that the account that signed the callback speaks for the call (account_org: that
 * account's organization, "" for the platform's, which speaks only for organizations without an
 * account of their own) and applies t. As tel_call_transition, and -EACCES for a call the
 * signing account does not speak for. */
int tel_call_status_callback(struct cc_db_conn *conn, const char *sid, const char *call_id,
                             const char *account_org, const struct tel_transition *t,
                             struct tel_call *ret_call) CC_MUSTCHECK;
/* Status callbacks applied together, in arrival order, in the caller's transaction: every call
 * they name is found and locked by one statement, and each job then goes as in
 * tel_call_status_callback (its result and the call after it in the job). Returns 0 when every
 * job got its result; < 0 (database error) when the transaction must be rolled back, and then
 * -EINVAL also for a sid that cannot be batched (not letters and digits): the caller applies
 * those jobs one by one. */
struct tel_status_job {
        const char *sid;
        const char *call_id; /* from our callback URL, or NULL */
        const char *account_org;
        struct tel_transition t;
        int result;
        struct tel_call call;
};
int tel_call_status_batch(struct cc_db_conn *conn, struct tel_status_job *jobs,
                          size_t n) CC_MUSTCHECK;
/* By id within org (deleted calls are not found). */
int tel_call_get(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                 struct tel_call *ret_call) CC_MUSTCHECK;
/* Creates a call (QUEUED for outbound, RINGING for inbound), writes call.started; in the caller's
 * transaction. sid, agent_id, campaign_id, contact_id may be NULL; metadata a JSON object or
 * NULL. */
struct tel_call_new {
        bool inbound;
        const char *from_number, *to_number;
        const char *twilio_sid;
        const char *agent_id, *campaign_id, *contact_id;
        json_object *metadata;
        const char *traceparent;
};
int tel_call_create(struct cc_db_conn *conn, const char *org_id, const struct tel_call_new *c,
                    struct tel_call *ret_call) CC_MUSTCHECK;
/* Stores Twilio's sid on a call we placed. */
int tel_call_set_sid(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                     const char *sid) CC_MUSTCHECK;
/* Merges `patch` (a JSON object) into the call's metadata (transfer info, mute state...). */
int tel_call_merge_metadata(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                            json_object *patch) CC_MUSTCHECK;
/* Recording callback: stores url, duration and status, writes call.recording_ready when the
 * status is "completed". 0, or 1 when this recording sid was already stored. */
int tel_call_recording(struct cc_db_conn *conn, const struct tel_call *call,
                       const char *recording_sid, const char *url, int duration_s,
                       const char *status, const char *traceparent) CC_MUSTCHECK;
/* Transcription callback: appends a transcript segment (role USER) and writes call.transcribed.
 * 0, or 1 when this transcription sid was already stored. */
int tel_call_transcript(struct cc_db_conn *conn, const struct tel_call *call,
                        const char *transcription_sid, const char *recording_sid, const char *text,
                        double confidence, const char *traceparent) CC_MUSTCHECK;
/* The call as the contract's Call object. */
json_object *tel_call_json(struct cc_db_conn *conn, const struct tel_call *call);

/* ---- store_admin.c: per-organization Twilio account and phone numbers ---- */
struct tel_account {
        char account_sid[64];
        char auth_token[129]; /* up to 128 characters, as CC_TWILIO_AUTH_TOKEN and the API allow */
        bool own; /* the organization's own (bring your own) rather than the platform's */
};
/* The account an organization's calls go through: its own credentials if stored (decrypted),
 * else the platform's from configuration. -ENOENT when neither exists. Own credentials that no
 * longer open (another key, a sealed value copied from another organization) count as none and
 * do NOT fall back to the platform's: an organization that brought its own account is never
 * billed to the platform's. Wipe ret (explicit_bzero) after use. */
int tel_account_for_org(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                        struct tel_account *ret) CC_MUSTCHECK;
/* The auth token that signs webhooks for account_sid (the platform's, checked first, or an
 * organization's own, ret_org_id then that organization; "" for the platform's); with
 * account_sid NULL or "" the platform's. -ENOENT when unknown or when the stored token does not
 * open. The caller must still check that the call or number it acts on belongs to ret_org_id
 * (any organization using the platform's account when ret_org_id is ""). */
int tel_account_by_sid(struct cc_db_conn *conn, struct tel *tel, const char *account_sid,
                       struct tel_account *ret, char ret_org_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* The organization that owns a phone number (E.164, "+15551230000"). -ENOENT when none. */
int tel_org_for_number(struct cc_db_conn *conn, const char *number,
                       char ret_org_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* A number of the organization to call from: its oldest, else CC_TWILIO_FROM_NUMBER, else "". */
int tel_default_number(struct cc_db_conn *conn, const char *org_id,
                       char ret_number[32]) CC_MUSTCHECK;

enum tel_cred_source { TEL_CRED_NONE = 0, TEL_CRED_PLATFORM, TEL_CRED_ORGANIZATION };
/* What the organization's credentials look like from outside (never the token). */
struct tel_credentials_info {
        enum tel_cred_source source;
        bool token_usable;     /* the effective account's token is there (and opens, if own) */
        char account_sid[64];  /* the organization's own; "" otherwise */
        int64_t updated_at_ms; /* when the own credentials were last set; -1 otherwise */
};
int tel_credentials_info(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                         struct tel_credentials_info *ret) CC_MUSTCHECK;
/* Stores (or replaces) the organization's own account with the token sealed under org_id.
 * account_sid in Twilio's lower-case form. -ENOKEY when the service has no credentials key,
 * -EEXIST when another organization already stores this account. */
int tel_credentials_put(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                        const char *user_id, const char *account_sid,
                        const char *auth_token) CC_MUSTCHECK;
/* Forgets the organization's own account (0 also when it had none). */
int tel_credentials_delete(struct cc_db_conn *conn, const char *org_id) CC_MUSTCHECK;
/* The organization's numbers, oldest first, as [{"id","number","friendly_name","created_at"}]. */
int tel_numbers_list(struct cc_db_conn *conn, const char *org_id,
                     json_object **ret_numbers) CC_MUSTCHECK;
/* Adds a number (friendly_name may be NULL); ret_number is the new row's JSON. -EEXIST when any
 * organization already has it. */
int tel_number_add(struct cc_db_conn *conn, const char *org_id, const char *number,
                   const char *friendly_name, json_object **ret_number) CC_MUSTCHECK;
/* -ENOENT when id is not one of the organization's numbers. */
int tel_number_delete(struct cc_db_conn *conn, const char *org_id, const char *id) CC_MUSTCHECK;

/* ---- ivr.c / store_ivr.c: the IVR as Twilio hears it ---- */
/* TwiML (heap) for a new inbound call of org: the active configuration's main menu as a
 * <Gather> whose action is the ivr webhook, or straight to the default queue when the org has no
 * IVR. ret_action/ret_target (may be NULL) say what was chosen, as for a gather. */
char *tel_ivr_voice_twiml(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                          size_t *ret_len, char ret_action[16], char ret_target[128]);
/* TwiML (heap) answering a gather: digits (NULL/"" = no input) pressed in menu_id at attempt
 * (1-based): the option's action (submenu, queue, transfer, voicemail with <Record>, hangup),
 * or the no-input / invalid-input handling with repeat up to max_retries. ret_action/ret_target
 * (may be NULL) say what was chosen ("queue", "support"). */
char *tel_ivr_gather_twiml(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           const char *menu_id, const char *digits, int attempt, size_t *ret_len,
                           char ret_action[16], char ret_target[128]);

/* ---- twilio_ops.c: what we ask Twilio to do ---- */
/* Every answered call of ours sits in a conference named after it, so holds, mutes, transfers
 * and (later) supervisors act on its participants. out holds 48 bytes. */
void tel_conference_name(const char *call_id, char out[48]);
/* Places the outbound call `call` through the org's account: Calls.json with To, From, the TwiML
 * `twiml` (or, when NULL, Url = our voice webhook, which puts the answered call in its
 * conference) and StatusCallback = our call-status webhook with every event; stores the sid on
 * the call. 0; -ENOENT no provider configured; -EINVAL Twilio refused the request as invalid
 * (a bad number...), -EPROTO Twilio failed or refused our credentials (detail in err);
 * -EAGAIN Twilio throttled us (429); -EHOSTDOWN / -ETIMEDOUT / -ECONNREFUSED / -EIO Twilio
 * unreachable. */
int tel_twilio_place_call(struct cc_db_conn *conn, struct tel *tel, const struct tel_call *call,
                          const char *twiml, char *err, size_t err_len) CC_MUSTCHECK;
/* Updates a live call at Twilio (Status=completed, Twiml=...). Returns as above. */
int tel_twilio_update_call(struct cc_db_conn *conn, struct tel *tel, const struct tel_call *call,
                           const struct cc_kv *fields, size_t n, char *err,
                           size_t err_len) CC_MUSTCHECK;
/* Updates the call's leg in its conference (Hold=true, Muted=false...). Returns as above. */
int tel_twilio_update_participant(struct cc_db_conn *conn, struct tel *tel,
                                  const struct tel_call *call, const struct cc_kv *fields, size_t n,
                                  char *err, size_t err_len) CC_MUSTCHECK;
/* Creates the outbound call `c` in org (QUEUED, call.started) and places it through Twilio
 * (twiml NULL: our voice webhook puts it in its conference when answered). On failure replies
 * to req itself (400 "Telephony service not available" before anything is created; Twilio's
 * refusal or absence after: the call stays, FAILED, for the record) and returns < 0; 0 with
 * ret_call (sid set) on success. */
int tel_call_dial(struct cc_http_req *req, struct cc_db_conn *conn, const char *org_id,
                  const struct tel_call_new *c, const char *twiml,
                  struct tel_call *ret_call) CC_MUSTCHECK;
/* The status to answer a client with for one of the errors above (400, 502, 503, 504). */
int tel_twilio_http_status(int r);
/* Replies {"detail": "Failed to <verb> call: <err>"} (or "Telephony service not available",
 * "Twilio unavailable") with tel_twilio_http_status(r). */
void tel_twilio_reply_error(struct cc_http_req *req, int r, const char *verb, const char *err);

/* ======== part 2: agents, queues and routing, supervisors, contacts, campaigns ======== */

/* A leg we add to a call's conference (an agent taking it, a supervisor joining): Calls.json
 * through the org's account to `to` (a number, client:<identity> or sip:), From the org's
 * number, with the TwiML `twiml` and, when status_url is not NULL, every status event posted
 * there (timeout_s: ring time before Twilio gives up, 0 = Twilio's default). ret_sid (64 bytes)
 * gets the new leg's CallSid. Returns as tel_twilio_place_call. */
int tel_twilio_create_leg(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                          const char *to, const char *twiml, const char *status_url, int timeout_s,
                          char ret_sid[64], char *err, size_t err_len) CC_MUSTCHECK;
/* Hangs up any Twilio call of the org by sid (an agent's or supervisor's leg). As above. */
int tel_twilio_hangup_sid(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                          const char *sid, char *err, size_t err_len) CC_MUSTCHECK;

/* ---- users.c: the gateway's users (cc.users.v1), for agent profiles ---- */
/* The consumer handler: user.created / user.updated upsert the user (an older version never
 * overwrites a newer one); other types are skipped. */
int tel_users_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env,
                    void *userdata) CC_MUSTCHECK;

/* ---- store_agents.c / h_agents.c: agents and presence ---- */
enum tel_agent_status {
        TEL_AGENT_OFFLINE = 0,
        TEL_AGENT_AVAILABLE,
        TEL_AGENT_BUSY,
        TEL_AGENT_WRAP_UP,
        TEL_AGENT_BREAK,
        TEL_AGENT_TRAINING,
        TEL_AGENT_NSTATUS
};
const char *tel_agent_status_name(enum tel_agent_status s); /* "WRAP_UP" */
/* Case-insensitive; -EINVAL when unknown. */
int tel_agent_status_parse(const char *s, enum tel_agent_status *ret) CC_MUSTCHECK;

/* Moves an agent (row locked inside the caller's transaction) to `to` at at_ms (0 = now):
 * writes agent.status_changed with the previous status and how long it lasted, and sets
 * idle_since when the agent becomes free. Leaving WRAP_UP closes the wrap-up of its call
 * (tel_route_wrap_up_done). 0 applied, 1 already in that status (nothing written), -ENOENT no
 * such agent in the org. */
int tel_agent_set_status(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         enum tel_agent_status to, int64_t at_ms,
                         const char *traceparent) CC_MUSTCHECK;
/* agent.status_changed for the agent as it is now in the database (after the change). */
int tel_event_agent_status(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                           enum tel_agent_status previous, int previous_duration_s, int64_t at_ms,
                           const char *traceparent) CC_MUSTCHECK;
/* Where an offer to the agent rings (the `to` of its leg): its metadata.endpoint
 * ("client:<identity>", "sip:..." or an E.164 number, checked when written), else
 * "client:<user_id>". -ENOENT when org has no such agent. */
int tel_agent_endpoint(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                       char ret_to[256]) CC_MUSTCHECK;
extern const struct cc_http_route tel_agents_routes[];
extern const size_t tel_agents_nroutes;

/* ---- store_queues.c / h_queues.c: queues ---- */
struct tel_queue {
        char id[CC_UUID_LEN + 1];
        char name[101];
        int priority, wrap_up_seconds, service_level_seconds, max_wait_seconds;
        char overflow_action[16]; /* voicemail, hangup, queue, transfer */
        char overflow_target[256];
        bool active; /* an inactive queue takes no new callers (they go to "default") */
};
/* Where callers go when nothing names a queue, or the named one is switched off. */
#define TEL_DEFAULT_QUEUE "default"
/* The org's queue named `ref` (case-insensitive) or with id `ref`; with create, a queue of
 * that name with the defaults is made when none exists (an IVR option naming a queue works
 * before anyone configured it). -ENOENT otherwise (a ref shaped like an id is never made into
 * a name). Inside a transaction the queue stays locked against deletion (FOR KEY SHARE) until
 * it ends: resolve in the transaction that puts the call in the queue. */
int tel_queue_resolve(struct cc_db_conn *conn, const char *org_id, const char *ref, bool create,
                      struct tel_queue *ret) CC_MUSTCHECK;
/* Where a leg can be dialled: a phone number (an optional '+' and 8 to 15 digits, written back
 * with the '+'), client:<identity> or sip:<address>. false when `in` is none of them. */
bool tel_dial_target_normalize(const char *in, char out[256]);
extern const struct cc_http_route tel_queues_routes[];
extern const size_t tel_queues_nroutes;

/* ---- routing.c: waiting calls to agents ---- */
/* Puts a live call in a queue (inside the caller's transaction): WAITING from now, with the
 * queue's priority; writes call.updated. */
int tel_route_enqueue(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                      const struct tel_queue *q, const char *traceparent) CC_MUSTCHECK;
/* One routing pass for an organization in its own transaction: every waiting call that an
 * eligible agent can take is offered (PENDING offers, the agents' load reserved). Serialized per
 * organization, so two passes never hand out the same agent. ret_offers (may be NULL) gets how
 * many offers were made. */
int tel_route_org(struct cc_db_conn *conn, const char *org_id, int *ret_offers) CC_MUSTCHECK;
/* Called by the call state machine inside its transaction when a call reaches a terminal
 * status: a waiting call is abandoned, live offers are canceled, the handling agent's load is
 * released and its wrap-up begins. Sets *ret_wrap_up_follows when the agent went into wrap-up:
 * its length follows in call.wrapped_up. */
struct tel_call_row;
int tel_route_call_ended(struct cc_db_conn *conn, struct tel_call_row *row,
                         bool *ret_wrap_up_follows, const char *traceparent) CC_MUSTCHECK;
/* The agent left WRAP_UP (its own choice or the timer): the call's wrap-up time is fixed and
 * its call.wrapped_up written. Inside the caller's transaction. */
int tel_route_wrap_up_done(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           int64_t at_ms, const char *traceparent) CC_MUSTCHECK;

/* The caller's side of a call waiting for an agent: its conference, not started until an agent
 * joins, with hold music from our hold webhook; the caller leaving ends it. */
void tel_route_wait_twiml(struct cc_twiml *t, const char *call_id);
/* What the status callbacks of an agent's leg (the offer's call to the agent) say. */
/* UNPLACED: Twilio could not be asked to place the leg (unreachable, failing, throttling). */
enum tel_leg_event { TEL_LEG_PROGRESS, TEL_LEG_ANSWERED, TEL_LEG_ENDED, TEL_LEG_UNPLACED };
/* An outbound call an agent placed, answered by the callee: the agent (by user id) is rung
 * into the call's conference as an offer, in its own transaction. *ret_offered is false when
 * the user has no agent profile in the org or no room for another call (the callee then simply
 * joins the conference). */
int tel_route_offer_to_user(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                            const char *user_id, bool *ret_offered) CC_MUSTCHECK;
/* The organization of an offer (to check the callback's signature against). -ENOENT. */
int tel_route_offer_org(struct cc_db_conn *conn, const char *offer_id,
                        char ret_org_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* Applies an agent leg's callback in its own transaction: ANSWERED connects the agent to the
 * call (call IN_PROGRESS with its agent, queue wait fixed, agent BUSY when at capacity);
 * ENDED before that is a missed offer (load released, the call waits for the next agent);
 * ENDED after it means the agent hung up: *ret_hangup (may be NULL) is set and ret_call gets
 * the customer's call to hang up. 0, or -ENOENT for an unknown offer. */
int tel_route_offer_event(struct cc_db_conn *conn, const char *offer_id, const char *sid,
                          enum tel_leg_event ev, const char *traceparent, bool *ret_hangup,
                          struct tel_call *ret_call) CC_MUSTCHECK;
/* The worker's rounds, each in its own transactions; each returns how much it did (>= 0) or a
 * negative errno. Dial PENDING offers through Twilio; hang up agents' legs no longer needed
 * (retried until Twilio confirms); count offers DIALING far past their ring time as missed;
 * end wrap-ups whose time is up; move calls that waited longer than their queue allows to the
 * overflow action; route every organization that has calls waiting (a backstop for kicks). */
int tel_route_dial_offers(struct cc_db_conn *conn, struct tel *tel) CC_MUSTCHECK;
int tel_route_release_legs(struct cc_db_conn *conn, struct tel *tel) CC_MUSTCHECK;
int tel_route_expire_offers(struct cc_db_conn *conn) CC_MUSTCHECK;
int tel_route_expire_wrap_ups(struct cc_db_conn *conn) CC_MUSTCHECK;
int tel_route_overflow(struct cc_db_conn *conn, struct tel *tel) CC_MUSTCHECK;
int tel_route_backstop(struct cc_db_conn *conn) CC_MUSTCHECK;

/* ---- worker.c: the service's background work ---- */
struct tel_worker;
struct tel_worker *tel_worker_new(struct cc_service *svc);
void tel_worker_free(struct tel_worker *w);
/* Wakes the worker at once: offers to dial, routing, the dialer. Safe from any thread. */
void tel_worker_kick(struct tel *tel);

/* ---- store_campaigns.c / h_campaigns.c / dialer.c: campaigns and the outbound dialer ---- */
extern const struct cc_http_route tel_campaigns_routes[];
extern const size_t tel_campaigns_nroutes;
/* The campaign's queue (its answered calls wait there for an agent): 0 and ret_queue_id, or
 * -ENOENT when the campaign has none. */
int tel_campaign_queue(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                       char ret_queue_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* Called by the call state machine inside its transaction for a call with a contact: the
 * contact is CONNECTED when the call is answered; at the end COMPLETED (answered), or back to
 * PENDING with next_attempt after the campaign's back-off (busy, no answer) until max_attempts,
 * then FAILED; campaign.completed once no contact is left to try. */
int tel_campaign_call_progress(struct cc_db_conn *conn, const struct tel_call *call,
                               const char *contact_id, const char *traceparent) CC_MUSTCHECK;
/* One round of the dialer over every running outbound campaign (own transactions): dials due
 * contacts within the pacing limit and calling hours. Called by the worker about once a
 * second and on a kick. */
int tel_dialer_tick(struct cc_db_pool *pool, struct tel *tel) CC_MUSTCHECK;

/* ---- store_contacts.c / h_contacts.c: contacts and the CSV import ---- */
extern const struct cc_http_route tel_contacts_routes[];
extern const size_t tel_contacts_nroutes;

/* ---- h_supervisor.c / store_supervisor.c ---- */
/* The CallSid of the agent's leg of a call (its accepted offer's, while not released); -ENOENT
 * when it has none. */
int tel_call_agent_leg_sid(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           char ret_sid[64]) CC_MUSTCHECK;
/* The call's transcript segments (role, content, ms since the epoch) in the order they were
 * spoken; *ret_res owns them. */
int tel_call_transcript_rows(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                             PGresult **ret_res) CC_MUSTCHECK;
extern const struct cc_http_route tel_supervisor_routes[];
extern const size_t tel_supervisor_nroutes;
