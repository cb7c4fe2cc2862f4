/* Between h_queues.c and store_queues.c: the SQL side of /api/queues. What the rest of the
 * service needs of queues (tel_queue_resolve) is in telephony.h. */
#pragma once

#include "telephony.h"

/* What a create or an update writes. On update a field left unset keeps its value; on create
 * it takes the column's default. Values are checked by the handler; the table's CHECKs are the
 * last line. */
struct tel_queue_fields {
        const char *name; /* NULL: unset */
        bool set_description;
        const char *description; /* NULL clears */
        const char *skills_json; /* a JSON array of strings; NULL: unset */
        int priority, wrap_up_seconds, service_level_seconds, max_wait_seconds; /* < 0: unset */
        const char *overflow_action;                                            /* NULL: unset */
        bool set_overflow_target;
        const char *overflow_target; /* NULL clears */
        int active;                  /* < 0: unset, else 0 or 1 */
};

/* The organization's queues as the API shows them (with the live waiting_calls and
 * oldest_wait_seconds), newest first, skipping `skip`, at most `limit`. */
int tel_queue_list(struct cc_db_conn *conn, const char *org_id, int64_t skip, int64_t limit,
                   json_object **ret_items) CC_MUSTCHECK;
/* One queue as the API shows it. -ENOENT when the org has no queue with that id. */
int tel_queue_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                         json_object **ret_json) CC_MUSTCHECK;
/* The queue locked (FOR UPDATE) inside the caller's transaction, for an update. -ENOENT. */
int tel_queue_lock(struct cc_db_conn *conn, const char *org_id, const char *id,
                   struct tel_queue *ret) CC_MUSTCHECK;
/* -EEXIST when the org has a queue of that name (case-insensitively). */
int tel_queue_create(struct cc_db_conn *conn, const char *org_id, const struct tel_queue_fields *f,
                     char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* -ENOENT no such queue, -EEXIST the new name is another queue's. */
int tel_queue_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                     const struct tel_queue_fields *f) CC_MUSTCHECK;
/* Deletes a queue inside the caller's transaction: -ENOENT no such queue, -EBUSY calls are
 * waiting in it (WAITING or OFFERED), -EMLINK a campaign that is not deleted dials into it.
 * Deleted campaigns that named it forget it. */
int tel_queue_delete(struct cc_db_conn *conn, const char *org_id, const char *id) CC_MUSTCHECK;
