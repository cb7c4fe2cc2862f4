/* Between store_agents.c and h_agents.c; the rest of the service uses telephony.h. */
#pragma once

#include "telephony.h"

/* max_capacity of a new profile that does not name one. */
#define TEL_AGENT_DEFAULT_CAPACITY 1

/* An agent profile as a request needs it to decide, read under the row's lock. */
struct tel_agent {
        char id[CC_UUID_LEN + 1];
        char user_id[CC_UUID_LEN + 1];
        enum tel_agent_status status;
        int max_capacity, current_load;
        bool user_active; /* false when its user is known to be INACTIVE or SUSPENDED */
};

/* The fields a client may write; status goes through tel_agent_set_status, current_load never
 * comes from a client. */
struct tel_agent_fields {
        bool set_max_capacity, set_skills, set_language, set_metadata;
        int max_capacity;
        const char *skills_json; /* a JSON array of strings */
        const char *language;
        const char *metadata_json; /* a JSON object; NULL clears */
};

/* Whether user_id is a user of org (its row locked FOR SHARE until the transaction ends, so a
 * deactivation waits and then finds the profile this transaction makes). ret_active: not
 * INACTIVE or SUSPENDED. -ENOENT when org has no such user. */
int tel_agent_user_lock(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                        bool *ret_active) CC_MUSTCHECK;
/* A new OFFLINE profile for user_id with f (every set_* honoured, defaults otherwise).
 * -EEXIST when the user already has one. */
int tel_agent_insert(struct cc_db_conn *conn, const char *org_id, const char *user_id,
                     const struct tel_agent_fields *f, char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* Locks the profile (FOR UPDATE) in the caller's transaction, then reads its user's status in a
 * statement of its own, so a deactivation committed while this waited for the lock is seen.
 * -ENOENT when org has no such agent. */
int tel_agent_lock(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                   struct tel_agent *ret) CC_MUSTCHECK;
/* Whether the agent's skills are, as a set, those of skills_json (a JSON array of strings). */
int tel_agent_skills_equal(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                           const char *skills_json, bool *ret_equal) CC_MUSTCHECK;
/* Writes the fields f sets. */
int tel_agent_update(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                     const struct tel_agent_fields *f) CC_MUSTCHECK;
/* The Agent object (contract fields, status_since, name). -ENOENT when org has no such agent. */
int tel_agent_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         json_object **ret_json) CC_MUSTCHECK;
/* Agent objects, newest first; status -1: any. */
int tel_agent_list_json(struct cc_db_conn *conn, const char *org_id, int status, int64_t skip,
                        int64_t limit, json_object **ret_array) CC_MUSTCHECK;
/* Agents AVAILABLE with spare capacity. */
int tel_agent_available_count(struct cc_db_conn *conn, const char *org_id,
                              int64_t *ret_count) CC_MUSTCHECK;
