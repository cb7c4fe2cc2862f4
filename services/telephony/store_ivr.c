/* SQL for the IVR: configuration, menus with their options, flows with their steps; every
 * statement is scoped by the caller's organization. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "ivr_internal.h"

static const char *const action_names[IVR_NACTIONS + 1] = {
    "transfer", "queue", "menu", "voicemail", "hangup", "repeat", NULL,
};

const char *ivr_action_name(enum ivr_action a)
{
        return a >= 0 && a < IVR_NACTIONS ? action_names[a] : "hangup";
}

int ivr_action_parse(const char *s, enum ivr_action *ret)
{
        for (int i = 0; s && i < IVR_NACTIONS; i++) {
                if (strcmp(s, action_names[i]) == 0) {
                        *ret = (enum ivr_action)i;
                        return 0;
                }
        }
        return -EINVAL;
}

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static int64_t int_val(PGresult *res, int row, int c)
{
        return strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static bool bool_val(PGresult *res, int row, int c)
{
        return PQgetvalue(res, row, c)[0] == 't';
}

/* A JSON value read back from a ::text column (null when SQL NULL). */
static json_object *json_val(PGresult *res, int row, int c)
{
        const char *s = val(res, row, c);
        return s ? json_tokener_parse(s) : NULL;
}

/* PQcmdTuples says how many rows a statement touched. */
static int touched_one(PGresult *res)
{
        int r = strcmp(PQcmdTuples(res), "0") != 0 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

/* ---- menus ---- */

#define MENU_COLS                                                                                  \
        "m.id, m.name, m.greeting, m.timeout, m.max_retries, m.no_input_action, "                  \
        "m.no_input_target, m.invalid_input_action, m.invalid_input_target, m.active, "            \
        "(extract(epoch FROM m.created_at) * 1000)::bigint, "                                      \
        "(extract(epoch FROM m.updated_at) * 1000)::bigint"

/* MENU_COLS and the options as one JSON array, in the order they were given. */
#define MENU_JSON_COLS                                                                             \
        MENU_COLS ", COALESCE((SELECT json_agg(json_build_object('id', o.id, 'digit', o.digit, "   \
                  "'description', o.description, 'action', o.action, 'target', o.target, "         \
                  "'metadata_payload', o.metadata) ORDER BY o.position) FROM ivr_options o "       \
                  "WHERE o.org_id = m.org_id AND o.menu_id = m.id), '[]')::text"

static json_object *menu_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, 0));
        cc_json_add_string(o, "name", val(res, row, 1));
        cc_json_add_string(o, "greeting", val(res, row, 2));
        json_object *opts = json_val(res, row, 12);
        json_object_object_add(o, "options", opts ? opts : json_object_new_array());
        json_object_object_add(o, "timeout", json_object_new_int64(int_val(res, row, 3)));
        json_object_object_add(o, "max_retries", json_object_new_int64(int_val(res, row, 4)));
        cc_json_add_string(o, "no_input_action", val(res, row, 5));
        cc_json_add_string(o, "no_input_target", val(res, row, 6));
        cc_json_add_string(o, "invalid_input_action", val(res, row, 7));
        cc_json_add_string(o, "invalid_input_target", val(res, row, 8));
        json_object_object_add(o, "active", json_object_new_boolean(bool_val(res, row, 9)));
        cc_json_add_time(o, "created_at", int_val(res, row, 10));
        cc_json_add_time(o, "updated_at", int_val(res, row, 11));
        return o;
}

static enum ivr_action action_val(PGresult *res, int row, int c)
{
        enum ivr_action a = IVR_HANGUP;
        /* The table's CHECK constraints admit only known names. */
        if (ivr_action_parse(PQgetvalue(res, row, c), &a) < 0)
                a = IVR_HANGUP;
        return a;
}

static const char *arena_val(struct cc_arena *a, PGresult *res, int row, int c)
{
        const char *s = val(res, row, c);
        return s ? cc_arena_strdup(a, s) : NULL;
}

int ivr_store_menu_get(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                       const char *id, bool for_update, struct ivr_menu *ret)
{
        if (!id || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           for_update ? "SELECT " MENU_COLS " FROM ivr_menus m WHERE m.org_id = $1 "
                                        "AND m.id = $2 FOR UPDATE"
                                      : "SELECT " MENU_COLS " FROM ivr_menus m WHERE m.org_id = $1 "
                                        "AND m.id = $2",
                           2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        struct ivr_menu m = {0};
        snprintf(m.id, sizeof(m.id), "%s", PQgetvalue(res, 0, 0));
        m.name = arena_val(a, res, 0, 1);
        m.greeting = arena_val(a, res, 0, 2);
        m.timeout = (int)int_val(res, 0, 3);
        m.max_retries = (int)int_val(res, 0, 4);
        m.no_input_action = action_val(res, 0, 5);
        m.no_input_target = arena_val(a, res, 0, 6);
        m.invalid_input_action = action_val(res, 0, 7);
        m.invalid_input_target = arena_val(a, res, 0, 8);
        m.active = bool_val(res, 0, 9);
        PQclear(res);
        *ret = m;
        return 0;
}

int ivr_store_menu_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                        json_object **ret_menu)
{
        if (!id || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(
            conn, "SELECT " MENU_JSON_COLS " FROM ivr_menus m WHERE m.org_id = $1 AND m.id = $2", 2,
            p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                *ret_menu = menu_json(res, 0);
                r = 0;
        }
        PQclear(res);
        return r;
}

int ivr_store_menu_list(struct cc_db_conn *conn, const char *org_id, json_object **ret_menus)
{
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " MENU_JSON_COLS " FROM ivr_menus m WHERE m.org_id = $1 "
                           "ORDER BY m.created_at DESC, m.id",
                           1, p, &res);
        if (r < 0)
                return r;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(arr, menu_json(res, i));
        PQclear(res);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "menus", arr);
        *ret_menus = o;
        return 0;
}

static int insert_options(struct cc_db_conn *conn, const char *org_id, const char *menu_id,
                          const struct ivr_option *opts, size_t nopts)
{
        for (size_t i = 0; i < nopts; i++) {
                char id[CC_UUID_LEN + 1], pos[24];
                cc_uuid_v4(id);
                snprintf(pos, sizeof(pos), "%zu", i);
                const char *p[] = {id,
                                   menu_id,
                                   org_id,
                                   pos,
                                   opts[i].digit,
                                   opts[i].description,
                                   ivr_action_name(opts[i].action),
                                   opts[i].target,
                                   opts[i].metadata_json};
                int r = cc_db_exec(conn,
                                   "INSERT INTO ivr_options (id, menu_id, org_id, position, digit, "
                                   "description, action, target, target_menu_id, metadata) VALUES "
                                   "($1, $2, $3, $4, $5, $6, $7::text, $8::text, CASE WHEN "
                                   "$7::text = 'menu' THEN $8::text::uuid END, $9::jsonb)",
                                   9, p, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void menu_params(const struct ivr_menu *m, char timeout[24], char retries[24],
                        const char *p[9])
{
        snprintf(timeout, 24, "%d", m->timeout);
        snprintf(retries, 24, "%d", m->max_retries);
        p[0] = m->name;
        p[1] = m->greeting;
        p[2] = timeout;
        p[3] = retries;
        p[4] = ivr_action_name(m->no_input_action);
        p[5] = m->no_input_target;
        p[6] = ivr_action_name(m->invalid_input_action);
        p[7] = m->invalid_input_target;
        p[8] = m->active ? "t" : "f";
}

int ivr_store_menu_insert(struct cc_db_conn *conn, const char *org_id, const struct ivr_menu *m,
                          const struct ivr_option *opts, size_t nopts)
{
        char timeout[24], retries[24];
        const char *p[11] = {m->id, org_id};
        menu_params(m, timeout, retries, p + 2);
        int r = cc_db_exec(conn,
                           "INSERT INTO ivr_menus (id, org_id, name, greeting, timeout, "
                           "max_retries, no_input_action, no_input_target, invalid_input_action, "
                           "invalid_input_target, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                           "$9, $10, $11)",
                           11, p, NULL);
        if (r < 0)
                return r;
        return insert_options(conn, org_id, m->id, opts, nopts);
}

int ivr_store_menu_update(struct cc_db_conn *conn, const char *org_id, const struct ivr_menu *m,
                          const struct ivr_option *opts, size_t nopts)
{
        char timeout[24], retries[24];
        const char *p[11] = {org_id, m->id};
        menu_params(m, timeout, retries, p + 2);
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "UPDATE ivr_menus SET name = $3, greeting = $4, timeout = $5, "
                           "max_retries = $6, no_input_action = $7, no_input_target = $8, "
                           "invalid_input_action = $9, invalid_input_target = $10, active = $11, "
                           "updated_at = now() WHERE org_id = $1 AND id = $2",
                           11, p, &res);
        if (r < 0)
                return r;
        r = touched_one(res);
        if (r < 0 || !opts)
                return r;
        r = cc_db_exec(conn, "DELETE FROM ivr_options WHERE org_id = $1 AND menu_id = $2", 2, p,
                       NULL);
        if (r < 0)
                return r;
        return insert_options(conn, org_id, m->id, opts, nopts);
}

int ivr_store_menu_delete(struct cc_db_conn *conn, const char *org_id, const char *id)
{
        if (!id || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "DELETE FROM ivr_menus WHERE org_id = $1 AND id = $2", 2, p, &res);
        if (r < 0)
                return r;
        return touched_one(res);
}

int ivr_store_menu_referenced(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                              const char *id, const char **ret_detail)
{
        /* One row per kind of reference, the most important first; a menu's own options may
         * point back at it (they go with it). */
        static const char sql[] =
            "(SELECT 1, NULL::text, NULL::text FROM ivr_configs WHERE org_id = $1 AND "
            "main_menu_id = $2 LIMIT 1) "
            "UNION ALL (SELECT 2, m.name, o.digit FROM ivr_options o JOIN ivr_menus m ON "
            "m.id = o.menu_id WHERE o.org_id = $1 AND o.target_menu_id = $2 AND o.menu_id <> $2 "
            "ORDER BY m.created_at, o.position LIMIT 1) "
            "UNION ALL (SELECT 3, name, NULL FROM ivr_flows WHERE org_id = $1 AND start_menu_id = "
            "$2 ORDER BY created_at LIMIT 1) "
            "UNION ALL (SELECT 4, f.name, NULL FROM ivr_flow_steps s JOIN ivr_flows f ON f.id = "
            "s.flow_id WHERE s.org_id = $1 AND s.target_menu_id = $2 ORDER BY f.created_at "
            "LIMIT 1) ORDER BY 1 LIMIT 1";
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, 2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 0;
        }
        const char *name = PQgetvalue(res, 0, 1);
        switch (atoi(PQgetvalue(res, 0, 0))) {
        case 1:
                *ret_detail = "IVR menu is the main menu of the IVR configuration; set another "
                              "main menu first";
                break;
        case 2:
                *ret_detail = cc_arena_printf(a,
                                              "IVR menu is the target of option %s of menu '%s'; "
                                              "change that option first",
                                              PQgetvalue(res, 0, 2), name);
                break;
        case 3:
                *ret_detail = cc_arena_printf(a, "IVR menu is the start menu of flow '%s'", name);
                break;
        default:
                *ret_detail = cc_arena_printf(a, "IVR menu is a step of flow '%s'", name);
                break;
        }
        PQclear(res);
        return 1;
}

int ivr_store_first_missing_menu(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                                 const char *const *ids, size_t n, ssize_t *ret_index)
{
        /* Only ids before the first malformed one need asking about: that one is missing. */
        size_t upto = 0;
        while (upto < n && ids[upto] && cc_uuid_valid(ids[upto]))
                upto++;
        ssize_t missing = upto < n ? (ssize_t)upto : -1;
        if (upto > 0) {
                char *list = cc_arena_alloc(a, upto * (CC_UUID_LEN + 1) + 3);
                char *w = list;
                *w++ = '{';
                for (size_t i = 0; i < upto; i++) {
                        if (i)
                                *w++ = ',';
                        memcpy(w, ids[i], CC_UUID_LEN);
                        w += CC_UUID_LEN;
                }
                *w++ = '}';
                *w = '\0';
                const char *p[] = {org_id, list};
                PGresult *res = NULL;
                int r = cc_db_exec(conn,
                                   "SELECT x.i FROM unnest($2::uuid[]) WITH ORDINALITY AS x(id, i) "
                                   "WHERE NOT EXISTS (SELECT 1 FROM ivr_menus m WHERE m.org_id = "
                                   "$1 AND m.id = x.id) ORDER BY x.i LIMIT 1",
                                   2, p, &res);
                if (r < 0)
                        return r;
                if (PQntuples(res) == 1)
                        missing = (ssize_t)int_val(res, 0, 0) - 1;
                PQclear(res);
        }
        *ret_index = missing;
        return 0;
}

int ivr_store_option_find(struct cc_db_conn *conn, struct cc_arena *a, const char *org_id,
                          const char *menu_id, const char *digits, struct ivr_option *ret)
{
        if (!menu_id || !cc_uuid_valid(menu_id) || !digits || strlen(digits) != 1)
                return -ENOENT;
        const char *p[] = {org_id, menu_id, digits};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT digit, description, action, target, metadata::text FROM "
                           "ivr_options WHERE org_id = $1 AND menu_id = $2 AND digit = $3",
                           3, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        struct ivr_option o = {0};
        snprintf(o.digit, sizeof(o.digit), "%s", PQgetvalue(res, 0, 0));
        o.description = arena_val(a, res, 0, 1);
        o.action = action_val(res, 0, 2);
        o.target = arena_val(a, res, 0, 3);
        o.metadata_json = arena_val(a, res, 0, 4);
        PQclear(res);
        *ret = o;
        return 0;
}

/* ---- configuration ---- */

int ivr_store_config_ensure(struct cc_db_conn *conn, const char *org_id, json_object **ret_config)
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {org_id, id};
        int r = cc_db_exec(conn,
                           "INSERT INTO ivr_configs (id, org_id) VALUES ($2, $1) ON CONFLICT "
                           "(org_id) DO NOTHING",
                           2, p, NULL);
        if (r < 0)
                return r;
        PGresult *res = NULL;
        r = cc_db_exec(conn,
                       "SELECT id, org_id, main_menu_id, settings::text, active, "
                       "(extract(epoch FROM created_at) * 1000)::bigint, "
                       "(extract(epoch FROM updated_at) * 1000)::bigint FROM ivr_configs WHERE "
                       "org_id = $1",
                       1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -EIO;
        }
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, 0, 0));
        cc_json_add_string(o, "organization_id", val(res, 0, 1));
        const char *main_id = val(res, 0, 2);
        cc_json_add_string(o, "main_menu_id", main_id);
        json_object *menu = NULL;
        if (main_id) {
                r = ivr_store_menu_json(conn, org_id, main_id, &menu);
                if (r < 0 && r != -ENOENT) {
                        PQclear(res);
                        json_object_put(o);
                        return r;
                }
        }
        json_object_object_add(o, "main_menu", menu);
        json_object_object_add(o, "settings", json_val(res, 0, 3));
        json_object_object_add(o, "active", json_object_new_boolean(bool_val(res, 0, 4)));
        cc_json_add_time(o, "created_at", int_val(res, 0, 5));
        cc_json_add_time(o, "updated_at", int_val(res, 0, 6));
        PQclear(res);
        *ret_config = o;
        return 0;
}

int ivr_store_config_update(struct cc_db_conn *conn, const char *org_id,
                            const struct ivr_config_patch *patch, char ret_id[CC_UUID_LEN + 1])
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *t = "t", *f = "f";
        const char *p[] = {id,
                           org_id,
                           patch->set_main_menu ? t : f,
                           patch->main_menu_id,
                           patch->set_settings ? t : f,
                           patch->settings_json,
                           patch->set_active ? t : f,
                           patch->active ? t : f};
        PGresult *res = NULL;
        int r = cc_db_exec(
            conn,
            "INSERT INTO ivr_configs AS c (id, org_id, main_menu_id, settings, active) VALUES ($1, "
            "$2, CASE WHEN $3::boolean THEN $4::uuid END, CASE WHEN $5::boolean THEN $6::jsonb "
            "END, CASE WHEN $7::boolean THEN $8::boolean ELSE true END) ON CONFLICT (org_id) DO "
            "UPDATE SET main_menu_id = CASE WHEN $3::boolean THEN EXCLUDED.main_menu_id ELSE "
            "c.main_menu_id END, settings = CASE WHEN $5::boolean THEN EXCLUDED.settings ELSE "
            "c.settings END, active = CASE WHEN $7::boolean THEN EXCLUDED.active ELSE c.active "
            "END, updated_at = now() RETURNING c.id",
            8, p, &res);
        if (r < 0)
                return r;
        snprintf(ret_id, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

int ivr_store_main_menu_id(struct cc_db_conn *conn, const char *org_id,
                           char ret_id[CC_UUID_LEN + 1])
{
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT main_menu_id FROM ivr_configs WHERE org_id = $1 AND active AND "
                           "main_menu_id IS NOT NULL",
                           1, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                snprintf(ret_id, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
                r = 0;
        }
        PQclear(res);
        return r;
}

/* ---- flows ---- */

int ivr_store_flow_insert(struct cc_db_conn *conn, const char *org_id, const char *id,
                          const struct ivr_flow *f)
{
        const char *p[] = {id, org_id, f->name, f->description, f->start_menu_id};
        int r = cc_db_exec(conn,
                           "INSERT INTO ivr_flows (id, org_id, name, description, start_menu_id) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           5, p, NULL);
        for (size_t i = 0; r == 0 && i < f->nsteps; i++) {
                char step_id[CC_UUID_LEN + 1], pos[24];
                cc_uuid_v4(step_id);
                snprintf(pos, sizeof(pos), "%zu", i);
                const struct ivr_step *s = &f->steps[i];
                const char *sp[] = {
                    step_id,           id, org_id, pos, ivr_action_name(s->type), s->target,
                    s->conditions_json};
                r = cc_db_exec(conn,
                               "INSERT INTO ivr_flow_steps (id, flow_id, org_id, position, type, "
                               "target, target_menu_id, conditions) VALUES ($1, $2, $3, $4, "
                               "$5::text, $6::text, CASE WHEN $5::text = 'menu' THEN "
                               "$6::text::uuid END, $7::jsonb)",
                               7, sp, NULL);
        }
        return r;
}

int ivr_store_flow_list(struct cc_db_conn *conn, const char *org_id, json_object **ret_flows)
{
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT id, org_id, name, description, start_menu_id, active, "
                           "(extract(epoch FROM created_at) * 1000)::bigint, "
                           "(extract(epoch FROM updated_at) * 1000)::bigint FROM ivr_flows WHERE "
                           "org_id = $1 ORDER BY created_at DESC, id",
                           1, p, &res);
        if (r < 0)
                return r;
        json_object *arr = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++) {
                json_object *o = json_object_new_object();
                cc_json_add_string(o, "id", val(res, i, 0));
                cc_json_add_string(o, "organization_id", val(res, i, 1));
                cc_json_add_string(o, "name", val(res, i, 2));
                cc_json_add_string(o, "description", val(res, i, 3));
                cc_json_add_string(o, "start_menu_id", val(res, i, 4));
                json_object_object_add(o, "active", json_object_new_boolean(bool_val(res, i, 5)));
                cc_json_add_time(o, "created_at", int_val(res, i, 6));
                cc_json_add_time(o, "updated_at", int_val(res, i, 7));
                json_object_array_add(arr, o);
        }
        PQclear(res);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "flows", arr);
        *ret_flows = o;
        return 0;
}
