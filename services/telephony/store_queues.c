/* SQL for queues. Every statement names the organization. A queue's live numbers (calls waiting
 * in it, the oldest wait) are read from the calls themselves, so they are never out of step
 * with routing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "queues_internal.h"

#define MS(col) "(extract(epoch FROM q." col ") * 1000)::bigint"

/* A call is in a queue while it waits for an agent or an agent's phone rings for it. */
#define IN_QUEUE "queue_state IN ('WAITING', 'OFFERED')"

/* clang-format off */
#define QUEUE_COLS                                                                                 \
        "q.id, q.org_id, q.name, q.description, array_to_json(q.skills)::text, q.priority, "       \
        "q.wrap_up_seconds, q.service_level_seconds, q.max_wait_seconds, q.overflow_action, "      \
        "q.overflow_target, q.active, " MS("created_at") ", " MS("updated_at") ", "                \
        "coalesce(w.n, 0), greatest(0, floor(extract(epoch FROM now() - w.oldest)))::bigint"

/* The live numbers of the org's queues (of one queue when $2 is not NULL) in one pass over the
 * calls in queues (a partial index), joined to the queues. */
#define WAITING_CTE                                                                                \
        "WITH w AS (SELECT queue_id, count(*) AS n, min(queued_at) AS oldest FROM calls "          \
        "WHERE org_id = $1 AND " IN_QUEUE " AND ($2::text IS NULL OR queue_id = $2::text) "        \
        "GROUP BY queue_id) "
/* clang-format on */

enum {
        COL_ID,
        COL_ORG,
        COL_NAME,
        COL_DESCRIPTION,
        COL_SKILLS,
        COL_PRIORITY,
        COL_WRAP_UP,
        COL_SERVICE_LEVEL,
        COL_MAX_WAIT,
        COL_OVERFLOW_ACTION,
        COL_OVERFLOW_TARGET,
        COL_ACTIVE,
        COL_CREATED,
        COL_UPDATED,
        COL_WAITING,
        COL_OLDEST,
};

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static void add_int(json_object *o, const char *field, PGresult *res, int row, int c)
{
        json_object_object_add(
            o, field,
            json_object_new_int64(
                PQgetisnull(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10)));
}

static json_object *json_from_result(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, COL_ID));
        cc_json_add_string(o, "organization_id", val(res, row, COL_ORG));
        cc_json_add_string(o, "name", val(res, row, COL_NAME));
        cc_json_add_string(o, "description", val(res, row, COL_DESCRIPTION));
        const char *skills = val(res, row, COL_SKILLS);
        json_object *arr = skills ? json_tokener_parse(skills) : NULL;
        json_object_object_add(o, "skills", arr ? arr : json_object_new_array());
        add_int(o, "priority", res, row, COL_PRIORITY);
        add_int(o, "wrap_up_seconds", res, row, COL_WRAP_UP);
        add_int(o, "service_level_seconds", res, row, COL_SERVICE_LEVEL);
        add_int(o, "max_wait_seconds", res, row, COL_MAX_WAIT);
        cc_json_add_string(o, "overflow_action", val(res, row, COL_OVERFLOW_ACTION));
        cc_json_add_string(o, "overflow_target", val(res, row, COL_OVERFLOW_TARGET));
        json_object_object_add(o, "active",
                               json_object_new_boolean(PQgetvalue(res, row, COL_ACTIVE)[0] == 't'));
        add_int(o, "waiting_calls", res, row, COL_WAITING);
        add_int(o, "oldest_wait_seconds", res, row, COL_OLDEST);
        cc_json_add_time(o, "created_at", strtoll(PQgetvalue(res, row, COL_CREATED), NULL, 10));
        cc_json_add_time(o, "updated_at", strtoll(PQgetvalue(res, row, COL_UPDATED), NULL, 10));
        return o;
}

int tel_queue_list(struct cc_db_conn *conn, const char *org_id, int64_t skip, int64_t limit,
                   json_object **ret_items)
{
        if (!cc_uuid_valid(org_id))
                return -EINVAL;
        char off[24], lim[24];
        snprintf(off, sizeof(off), "%" PRId64, skip);
        snprintf(lim, sizeof(lim), "%" PRId64, limit);
        const char *p[] = {org_id, NULL, off, lim};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           WAITING_CTE "SELECT " QUEUE_COLS " FROM queues q "
                                       "LEFT JOIN w ON w.queue_id = q.id::text WHERE q.org_id = $1 "
                                       "ORDER BY q.created_at DESC, q.id DESC OFFSET $3 LIMIT $4",
                           4, p, &res);
        if (r < 0)
                return r;
        json_object *items = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(items, json_from_result(res, i));
        PQclear(res);
        *ret_items = items;
        return 0;
}

int tel_queue_fetch_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                         json_object **ret_json)
{
        if (!id || !cc_uuid_valid(id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           WAITING_CTE "SELECT " QUEUE_COLS " FROM queues q "
                                       "LEFT JOIN w ON w.queue_id = q.id::text "
                                       "WHERE q.org_id = $1 AND q.id = $2::uuid",
                           2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_json = json_from_result(res, 0);
        PQclear(res);
        return 0;
}

/* ---- struct tel_queue: what routing and the IVR need of a queue ---- */

#define RESOLVE_COLS                                                                               \
        "id, name, priority, wrap_up_seconds, service_level_seconds, max_wait_seconds, "           \
        "overflow_action, coalesce(overflow_target, ''), active"

static void queue_from_result(PGresult *res, struct tel_queue *q)
{
        memset(q, 0, sizeof(*q));
        snprintf(q->id, sizeof(q->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(q->name, sizeof(q->name), "%s", PQgetvalue(res, 0, 1));
        q->priority = atoi(PQgetvalue(res, 0, 2));
        q->wrap_up_seconds = atoi(PQgetvalue(res, 0, 3));
        q->service_level_seconds = atoi(PQgetvalue(res, 0, 4));
        q->max_wait_seconds = atoi(PQgetvalue(res, 0, 5));
        snprintf(q->overflow_action, sizeof(q->overflow_action), "%s", PQgetvalue(res, 0, 6));
        snprintf(q->overflow_target, sizeof(q->overflow_target), "%s", PQgetvalue(res, 0, 7));
        q->active = PQgetvalue(res, 0, 8)[0] == 't';
}

/* Runs a statement returning RESOLVE_COLS: 0 with ret filled, -ENOENT for no row. */
static int one_queue(struct cc_db_conn *conn, const char *sql, int n, const char *const *p,
                     struct tel_queue *ret)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        if (ret)
                queue_from_result(res, ret);
        PQclear(res);
        return 0;
}

int tel_queue_lock(struct cc_db_conn *conn, const char *org_id, const char *id,
                   struct tel_queue *ret)
{
        if (!id || !cc_uuid_valid(id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        return one_queue(conn,
                         "SELECT " RESOLVE_COLS " FROM queues WHERE org_id = $1 AND id = $2 "
                         "FOR UPDATE",
                         2, p, ret);
}

int tel_queue_resolve(struct cc_db_conn *conn, const char *org_id, const char *ref, bool create,
                      struct tel_queue *ret)
{
        if (!ref || !*ref || !org_id || !cc_uuid_valid(org_id))
                return -ENOENT;
        size_t len = strlen(ref);
        ssize_t chars = cc_utf8_count(ref, len);
        bool is_id = cc_uuid_valid(ref);
        /* Nothing longer than a name can name a queue. */
        if (!is_id && (chars < 1 || chars > 100 || !cc_text_valid(ref, len)))
                return -ENOENT;
        /* KEY SHARE: a delete of the queue (which locks it FOR UPDATE first) waits for the
         * caller's transaction, so a call enqueued in it is seen by the delete's check; updates
         * and other resolves do not wait. An id wins over a name that looks like one. */
        const char *p[] = {org_id, ref, is_id ? ref : NULL};
        static const char find_sql[] =
            "SELECT " RESOLVE_COLS " FROM queues WHERE org_id = $1 AND "
            "(id = $3::uuid OR lower(name) = lower($2)) "
            "ORDER BY (id = $3::uuid) DESC NULLS LAST LIMIT 1 FOR KEY SHARE";
        int r = one_queue(conn, find_sql, 3, p, ret);
        if (r != -ENOENT || !create || is_id)
                return r;
        /* Made on demand (an IVR option naming a queue nobody configured): two callers racing
         * meet on the unique name index; the loser reads the winner's row, which its next
         * statement sees once the winner has committed. */
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *q[] = {id, org_id, ref};
        r = one_queue(conn,
                      "INSERT INTO queues (id, org_id, name) VALUES ($1, $2, $3) "
                      "ON CONFLICT (org_id, lower(name)) DO NOTHING RETURNING " RESOLVE_COLS,
                      3, q, ret);
        if (r != -ENOENT)
                return r;
        return one_queue(conn, find_sql, 3, p, ret);
}

/* ---- writes ---- */

/* The given fields as (column, bound value) pairs; unset ones are not named, so a create takes
 * the table's defaults (kept in one place, the migration) and an update keeps the values. */
struct assign {
        const char *col;
        const char *cast; /* after the parameter: "::integer" */
        const char *value;
};

static size_t assignments(const struct tel_queue_fields *f, char b[4][16], struct assign out[11])
{
        size_t n = 0;
#define ADD(c, e, v)                                                                               \
        out[n++] = (struct assign)                                                                 \
        {                                                                                          \
                c, e, v                                                                            \
        }
        /* The skills come as a JSON array (the handler checked it holds strings). */
        if (f->name)
                ADD("name", "", f->name);
        if (f->set_description)
                ADD("description", "", f->description);
        if (f->skills_json)
                ADD("skills", "::jsonb", f->skills_json);
        const struct {
                const char *col;
                int v;
        } ints[] = {{"priority", f->priority},
                    {"wrap_up_seconds", f->wrap_up_seconds},
                    {"service_level_seconds", f->service_level_seconds},
                    {"max_wait_seconds", f->max_wait_seconds}};
        for (size_t i = 0; i < CC_ARRAY_SIZE(ints); i++) {
                if (ints[i].v < 0)
                        continue;
                snprintf(b[i], 16, "%d", ints[i].v);
                ADD(ints[i].col, "::integer", b[i]);
        }
        if (f->overflow_action)
                ADD("overflow_action", "", f->overflow_action);
        if (f->set_overflow_target)
                ADD("overflow_target", "", f->overflow_target);
        if (f->active >= 0)
                ADD("active", "::boolean", f->active ? "t" : "f");
#undef ADD
        return n;
}

/* Only constant fragments and parameter numbers go into the text; values are bound. */
static void put_value(struct cc_strbuf *b, const char *sep, const struct assign *a, int param)
{
        if (strcmp(a->cast, "::jsonb") == 0)
                cc_strbuf_printf(b, "%sARRAY(SELECT jsonb_array_elements_text($%d::jsonb))", sep,
                                 param);
        else
                cc_strbuf_printf(b, "%s$%d%s", sep, param, a->cast);
}

int tel_queue_create(struct cc_db_conn *conn, const char *org_id, const struct tel_queue_fields *f,
                     char ret_id[CC_UUID_LEN + 1])
{
        if (!cc_uuid_valid(org_id) || !f->name)
                return -EINVAL;
        char id[CC_UUID_LEN + 1], b[4][16];
        cc_uuid_v4(id);
        struct assign a[11];
        size_t n = assignments(f, b, a);
        const char *p[13] = {id, org_id};
        struct cc_strbuf cols = {0}, vals = {0};
        cc_strbuf_puts(&cols, "INSERT INTO queues (id, org_id");
        cc_strbuf_puts(&vals, ") VALUES ($1, $2");
        for (size_t i = 0; i < n; i++) {
                p[2 + i] = a[i].value;
                cc_strbuf_printf(&cols, ", %s", a[i].col);
                put_value(&vals, ", ", &a[i], (int)(3 + i));
        }
        cc_strbuf_puts(&vals, ")");
        cc_strbuf_append(&cols, vals.data, vals.len);
        cc_strbuf_fini(&vals);
        char *sql = cc_strbuf_take(&cols);
        int r = cc_db_exec(conn, sql, (int)(2 + n), p, NULL);
        free(sql);
        if (r == 0)
                memcpy(ret_id, id, sizeof(id));
        return r;
}

int tel_queue_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                     const struct tel_queue_fields *f)
{
        if (!id || !cc_uuid_valid(id) || !cc_uuid_valid(org_id))
                return -ENOENT;
        char b[4][16];
        struct assign a[11];
        size_t n = assignments(f, b, a);
        const char *p[13] = {org_id, id};
        struct cc_strbuf sql = {0};
        cc_strbuf_puts(&sql, "UPDATE queues SET updated_at = now()");
        for (size_t i = 0; i < n; i++) {
                p[2 + i] = a[i].value;
                cc_strbuf_printf(&sql, ", %s = ", a[i].col);
                put_value(&sql, "", &a[i], (int)(3 + i));
        }
        cc_strbuf_puts(&sql, " WHERE org_id = $1 AND id = $2 RETURNING id");
        char *text = cc_strbuf_take(&sql);
        PGresult *res = NULL;
        int r = cc_db_exec(conn, text, (int)(2 + n), p, &res);
        free(text);
        if (r < 0)
                return r;
        r = PQntuples(res) ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int tel_queue_delete(struct cc_db_conn *conn, const char *org_id, const char *id)
{
        /* Locked first: a resolve (FOR KEY SHARE) in a transaction that is putting a call in
         * this queue finishes before the checks below run, so they see that call. */
        int r = tel_queue_lock(conn, org_id, id, NULL);
        if (r < 0)
                return r;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        r = cc_db_exec(conn,
                       "SELECT EXISTS (SELECT 1 FROM calls WHERE org_id = $1 AND " IN_QUEUE
                       " AND queue_id = $2::text), EXISTS (SELECT 1 FROM campaigns "
                       "WHERE org_id = $1 AND queue_id = $2::uuid AND deleted_at IS NULL)",
                       2, p, &res);
        if (r < 0)
                return r;
        bool waiting = PQgetvalue(res, 0, 0)[0] == 't';
        bool campaign = PQgetvalue(res, 0, 1)[0] == 't';
        PQclear(res);
        if (waiting)
                return -EBUSY;
        if (campaign)
                return -EMLINK;
        /* A deleted campaign keeps its row for the record; it no longer needs the queue. */
        r = cc_db_exec(conn,
                       "UPDATE campaigns SET queue_id = NULL WHERE org_id = $1 "
                       "AND queue_id = $2::uuid AND deleted_at IS NOT NULL",
                       2, p, NULL);
        if (r == 0)
                r = cc_db_exec(conn, "DELETE FROM queues WHERE org_id = $1 AND id = $2::uuid", 2, p,
                               NULL);
        return r;
}
