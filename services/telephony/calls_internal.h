/* Between the files of the calls core (store_calls.c, events.c, h_calls.c); the rest of the
 * service uses telephony.h. */
#pragma once

#include "telephony.h"

/* A call as stored, with what the events need beyond struct tel_call. */
struct tel_call_row {
        struct tel_call call;
        char supervisor_id[CC_UUID_LEN + 1];       /* "" when none */
        char contact_id[CC_UUID_LEN + 1];          /* "" when none */
        char queue_id[128];                        /* "" when none */
        char disposition[256];                     /* "" when none (<= 50 characters) */
        int64_t ringing_at_ms, hold_started_at_ms; /* 0 when not reached / not on hold */
        int hold_seconds;
        int duration_s, talk_s; /* -1 until the call ended */
        bool deleted;
        /* its wait in our queues: "" when it never entered one, else WAITING, OFFERED,
         * CONNECTED, ABANDONED or OVERFLOWED */
        char queue_state[16];
        int64_t queued_at_ms, connected_at_ms; /* 0 when not reached */
        int64_t queue_left_at_ms;              /* an overflowed call's leaving the queues */
        bool abandoned;
        int wrap_up_s; /* -1 until the agent's wrap-up for it ended */
        bool ended_event_sent;
        bool wrap_up_pending; /* not stored: the call.ended being sent says wrap-up follows */
};

/* The call locked (SELECT ... FOR UPDATE) inside the caller's transaction, or read without a
 * lock when for_update is false. Deleted calls are -ENOENT unless include_deleted. */
int tel_call_row_get(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                     bool for_update, bool include_deleted,
                     struct tel_call_row *ret_row) CC_MUSTCHECK;

/* The Call object of a visible (not deleted) call; only_agent (NULL: anyone's) restricts it to
 * that agent's calls. -ENOENT when there is no such call for this caller. */
int tel_call_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                        const char *only_agent, json_object **ret_json) CC_MUSTCHECK;

/* ---- the list ---- */
#define TEL_CURSOR_MAX 96

struct tel_call_filter {
        int64_t page, page_size; /* page >= 1; ignored for positioning when has_cursor */
        const char *agent_id;    /* NULL: any */
        int status;              /* enum tel_call_status, -1: any */
        bool has_cursor;         /* start after (cursor_ms, cursor_id) in list order */
        int64_t cursor_ms;
        char cursor_id[CC_UUID_LEN + 1];
};

struct tel_call_page {
        json_object *items; /* array of Call objects (owned) */
        int64_t total;      /* calls matching the filters (from the maintained counters) */
        bool more;          /* a call follows the last one of this page */
        char next_cursor[TEL_CURSOR_MAX]; /* "" when !more */
};

int tel_call_list(struct cc_db_conn *conn, const char *org_id, const struct tel_call_filter *f,
                  struct tel_call_page *ret_page) CC_MUSTCHECK;
/* The opaque cursor text of a list position, and back (-EINVAL for anything malformed). */
void tel_call_cursor_encode(int64_t start_ms, const char *id, char out[TEL_CURSOR_MAX]);
int tel_call_cursor_decode(const char *s, int64_t *ret_ms,
                           char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;

/* ---- updates through the API ---- */
struct tel_call_patch {
        bool set_agent_id, set_supervisor_id, set_disposition, set_notes, set_metadata;
        const char *agent_id, *supervisor_id, *disposition, *notes; /* NULL clears */
        /* A JSON object merged into the stored one key by key (a null value removes the key);
         * NULL clears the metadata. */
        const char *metadata_json;
};

/* Applies patch and then, when t is not NULL, the status change t, to a call the caller has
 * locked in its transaction (tel_call_row_get with for_update). Writes call.updated for an
 * agent or disposition change that comes without a status change (the transition's own
 * call.updated carries them otherwise). Errors as tel_call_transition. */
int tel_call_update(struct cc_db_conn *conn, const struct tel_call_row *locked,
                    const struct tel_call_patch *patch, const struct tel_transition *t,
                    const char *traceparent, struct tel_call_row *ret_row) CC_MUSTCHECK;

/* Soft delete: the row stays (analytics, audit) and leaves the API and the totals. */
int tel_call_soft_delete(struct cc_db_conn *conn, const char *org_id,
                         const char *call_id) CC_MUSTCHECK;

/* ---- events.c: cc.calls.v1, keyed by call id, into the outbox of the caller's transaction ---- */
int tel_event_call_started(struct cc_db_conn *conn, const struct tel_call_row *r,
                           const char *traceparent) CC_MUSTCHECK;
int tel_event_call_updated(struct cc_db_conn *conn, const struct tel_call_row *r,
                           enum tel_call_status previous, int64_t at_ms,
                           const char *traceparent) CC_MUSTCHECK;
int tel_event_call_answered(struct cc_db_conn *conn, const struct tel_call_row *r,
                            const char *traceparent) CC_MUSTCHECK;
int tel_event_call_ended(struct cc_db_conn *conn, const struct tel_call_row *r,
                         const char *traceparent) CC_MUSTCHECK;
/* The agent's wrap-up after r ended (r->wrap_up_s seconds), at at_ms. */
int tel_event_call_wrapped_up(struct cc_db_conn *conn, const struct tel_call_row *r, int64_t at_ms,
                              const char *traceparent) CC_MUSTCHECK;
int tel_event_call_recording(struct cc_db_conn *conn, const struct tel_call *call,
                             const char *recording_sid, const char *url, int duration_s,
                             const char *traceparent) CC_MUSTCHECK;
int tel_event_call_transcribed(struct cc_db_conn *conn, const struct tel_call *call,
                               const char *segment_id, const char *text, int offset_ms,
                               double confidence, const char *traceparent) CC_MUSTCHECK;
/* Seconds the call waited in one of our queues before it was answered (0 outside a queue). */
int tel_call_queue_wait_s(const struct tel_call_row *r);
