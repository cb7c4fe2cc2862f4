/* Between the IVR's files: store_ivr.c (SQL), h_ivr.c (the /api/ivr routes) and ivr.c (TwiML).
 * Strings in these structs live in the arena they were read into, or are borrowed from the
 * request body they were parsed from. */
#pragma once

#include <json-c/json.h>
#include <sys/types.h>

#include "cc/db.h"
#include "cc/util.h"

/* IVRActionType and NoInputAction in one list; REPEAT is a no-input/invalid-input action only. */
enum ivr_action {
        IVR_TRANSFER = 0,
        IVR_QUEUE,
        IVR_MENU,
        IVR_VOICEMAIL,
        IVR_HANGUP,
        IVR_REPEAT,
        IVR_NACTIONS
};
const char *ivr_action_name(enum ivr_action a); /* "transfer" */
int ivr_action_parse(const char *s, enum ivr_action *ret) CC_MUSTCHECK;

/* Whether a greeting is an audio URL (http or https) to <Play> rather than text to <Say>. */
bool ivr_greeting_is_url(const char *greeting);

/* A menu row, options aside. */
struct ivr_menu {
        char id[CC_UUID_LEN + 1];
        const char *name;
        const char *greeting;
        int timeout;
        int max_retries;
        enum ivr_action no_input_action;
        const char *no_input_target; /* NULL when none */
        enum ivr_action invalid_input_action;
        const char *invalid_input_target;
        bool active;
};

struct ivr_option {
        char digit[2];
        const char *description;
        enum ivr_action action;
        const char *target;        /* NULL when none; a menu id for IVR_MENU */
        const char *metadata_json; /* NULL when none */
};

struct ivr_step {
        enum ivr_action type;
        const char *target;
        const char *conditions_json;
};

/* ---- menus ---- */
/* The menu row (any active state); for_update locks it for the transaction. -ENOENT when id is
 * not a menu of org_id (or not a UUID). */
int ivr_store_menu_get(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                       const char *id, bool for_update, struct ivr_menu *ret) CC_MUSTCHECK;
/* The menu as the contract's IVRMenu (options included). -ENOENT as above. */
int ivr_store_menu_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                        json_object **ret_menu) CC_MUSTCHECK;
/* {"menus": [...]} newest first. */
int ivr_store_menu_list(struct cc_db_conn *conn, const char *org_id,
                        json_object **ret_menus) CC_MUSTCHECK;
/* Inserts m (m->id set by the caller) and its options. */
int ivr_store_menu_insert(struct cc_db_conn *conn, const char *org_id, const struct ivr_menu *m,
                          const struct ivr_option *opts, size_t nopts) CC_MUSTCHECK;
/* Writes every field of m; with opts non-NULL the option set is replaced by opts. */
int ivr_store_menu_update(struct cc_db_conn *conn, const char *org_id, const struct ivr_menu *m,
                          const struct ivr_option *opts, size_t nopts) CC_MUSTCHECK;
int ivr_store_menu_delete(struct cc_db_conn *conn, const char *org_id, const char *id) CC_MUSTCHECK;
/* What still points at menu id other than its own options: 1 with a sentence for the client in
 * *ret_detail (arena), 0 when nothing does. */
int ivr_store_menu_referenced(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                              const char *id, const char **ret_detail) CC_MUSTCHECK;
/* The index of the first of ids that is not a menu of org_id (or not a UUID), -1 when all
 * are. */
int ivr_store_first_missing_menu(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                                 const char *const *ids, size_t n, ssize_t *ret_index) CC_MUSTCHECK;
/* The option for digits in menu_id: -ENOENT when none. */
int ivr_store_option_find(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                          const char *menu_id, const char *digits,
                          struct ivr_option *ret) CC_MUSTCHECK;

/* ---- configuration ---- */
/* The organization's configuration as the contract's IVRConfig, created (empty, active) when
 * it has none yet. */
int ivr_store_config_ensure(struct cc_db_conn *conn, const char *org_id,
                            json_object **ret_config) CC_MUSTCHECK;
struct ivr_config_patch {
        bool set_main_menu; /* main_menu_id given (NULL clears it) */
        const char *main_menu_id;
        bool set_settings;
        const char *settings_json; /* NULL clears */
        bool set_active;
        bool active;
};
/* Creates the configuration if needed and applies p; ret_id gets its id. */
int ivr_store_config_update(struct cc_db_conn *conn, const char *org_id,
                            const struct ivr_config_patch *p,
                            char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;
/* The main menu of the organization's active configuration: -ENOENT when there is no active
 * configuration or it names no main menu. */
int ivr_store_main_menu_id(struct cc_db_conn *conn, const char *org_id,
                           char ret_id[CC_UUID_LEN + 1]) CC_MUSTCHECK;

/* ---- flows ---- */
struct ivr_flow {
        const char *name;
        const char *description; /* NULL when none */
        const char *start_menu_id;
        const struct ivr_step *steps;
        size_t nsteps;
};
int ivr_store_flow_insert(struct cc_db_conn *conn, const char *org_id, const char *id,
                          const struct ivr_flow *f) CC_MUSTCHECK;
/* {"flows": [...]} newest first. */
int ivr_store_flow_list(struct cc_db_conn *conn, const char *org_id,
                        json_object **ret_flows) CC_MUSTCHECK;
