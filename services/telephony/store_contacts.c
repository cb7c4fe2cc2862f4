/* Contacts in SQL. Every statement is scoped by the caller's organization twice: the contact's
 * own org_id and its campaign's, which must not be deleted. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contacts_internal.h"
#include "cc/json.h"

const char *const tel_contact_statuses[] = {"PENDING", "DIALING",     "CONNECTED", "COMPLETED",
                                            "FAILED",  "DO_NOT_CALL", NULL};

const char *tel_contact_status_canonical(const char *s)
{
        for (size_t i = 0; s && tel_contact_statuses[i]; i++)
                if (strcasecmp(s, tel_contact_statuses[i]) == 0)
                        return tel_contact_statuses[i];
        return NULL;
}

static bool is_separator(char c)
{
        return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')';
}

const char *tel_phone_e164(const char *in, size_t len, const char *country_code,
                           char out[TEL_E164_MAX])
{
        char digits[24];
        size_t n = 0;
        bool plus = false;
        for (size_t i = 0; i < len; i++) {
                char c = in[i];
                if (c >= '0' && c <= '9') {
                        if (n == sizeof(digits) - 1)
                                return NULL;
                        digits[n++] = c;
                } else if (c == '+' && n == 0 && !plus) {
                        plus = true;
                } else if (!is_separator(c)) {
                        return NULL;
                }
        }
        digits[n] = '\0';
        const char *cc = country_code ? country_code : "";
        size_t cc_len = strlen(cc);
        bool cc_ok = cc_len > 0 && strspn(cc, "0123456789") == cc_len && cc[0] != '0';
        char intl[40];
        if (plus) {
                snprintf(intl, sizeof(intl), "%s", digits);
        } else if (n > 2 && digits[0] == '0' && digits[1] == '0') {
                snprintf(intl, sizeof(intl), "%s", digits + 2);
        } else if (!cc_ok) {
                return NULL;
        } else if (n > 1 && digits[0] == '0') {
                snprintf(intl, sizeof(intl), "%s%s", cc, digits + 1);
        } else if (n > 10 && strncmp(digits, cc, cc_len) == 0) {
                snprintf(intl, sizeof(intl), "%s", digits);
        } else {
                snprintf(intl, sizeof(intl), "%s%s", cc, digits);
        }
        size_t k = strlen(intl);
        if (k < 8 || k > 15 || intl[0] == '0')
                return NULL;
        snprintf(out, TEL_E164_MAX, "+%s", intl);
        return out;
}

bool tel_contact_text_valid(const char *s, size_t len, bool multiline)
{
        return multiline ? cc_text_valid_multiline(s, len) : cc_text_valid(s, len);
}

/* The Contact object's columns, from a row aliased c. */
#define CONTACT_COLS                                                                               \
        "c.id, c.campaign_id, c.phone_number, c.name, c.email, c.status, c.attempts, "             \
        "(extract(epoch FROM c.last_attempt) * 1000)::bigint, "                                    \
        "(extract(epoch FROM c.next_attempt) * 1000)::bigint, c.outcome, c.notes, "                \
        "(extract(epoch FROM c.created_at) * 1000)::bigint, "                                      \
        "(extract(epoch FROM c.updated_at) * 1000)::bigint"
enum {
        COL_ID,
        COL_CAMPAIGN,
        COL_PHONE,
        COL_NAME,
        COL_EMAIL,
        COL_STATUS,
        COL_ATTEMPTS,
        COL_LAST_ATTEMPT,
        COL_NEXT_ATTEMPT,
        COL_OUTCOME,
        COL_NOTES,
        COL_CREATED,
        COL_UPDATED,
};

/* The contact's campaign, visible to the organization. */
#define VISIBLE "k.id = c.campaign_id AND k.org_id = c.org_id AND k.deleted_at IS NULL"

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static void add_ms(json_object *o, const char *field, PGresult *res, int row, int c)
{
        cc_json_add_time(
            o, field, PQgetisnull(res, row, c) ? -1 : strtoll(PQgetvalue(res, row, c), NULL, 10));
}

/* The contract's Contact object (extra_metadata is stored, never returned). */
static json_object *contact_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, COL_ID));
        cc_json_add_string(o, "campaign_id", val(res, row, COL_CAMPAIGN));
        cc_json_add_string(o, "phone_number", val(res, row, COL_PHONE));
        cc_json_add_string(o, "name", val(res, row, COL_NAME));
        cc_json_add_string(o, "email", val(res, row, COL_EMAIL));
        cc_json_add_string(o, "status", val(res, row, COL_STATUS));
        json_object_object_add(o, "attempts",
                               json_object_new_int(atoi(PQgetvalue(res, row, COL_ATTEMPTS))));
        add_ms(o, "last_attempt", res, row, COL_LAST_ATTEMPT);
        add_ms(o, "next_attempt", res, row, COL_NEXT_ATTEMPT);
        cc_json_add_string(o, "outcome", val(res, row, COL_OUTCOME));
        cc_json_add_string(o, "notes", val(res, row, COL_NOTES));
        add_ms(o, "created_at", res, row, COL_CREATED);
        add_ms(o, "updated_at", res, row, COL_UPDATED);
        return o;
}

/* A statement returning at most one contact. */
static int one_contact(struct cc_db_conn *conn, const char *sql, int n, const char *const *params,
                       json_object **ret_json)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_json = contact_json(res, 0);
        PQclear(res);
        return 0;
}

int tel_contact_campaign_visible(struct cc_db_conn *conn, const char *org_id,
                                 const char *campaign_id)
{
        const char *p[] = {campaign_id, org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT 1 FROM campaigns WHERE id = $1 AND org_id = $2 "
                           "AND deleted_at IS NULL",
                           2, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) == 1 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

int tel_contact_create(struct cc_db_conn *conn, const char *org_id, const struct tel_contact_new *c,
                       json_object **ret_json)
{
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {id,      org_id,   c->campaign_id, c->phone_number,
                           c->name, c->email, c->notes,       c->extra_metadata};
        return one_contact(conn,
                           "INSERT INTO contacts AS c (id, org_id, campaign_id, phone_number, "
                           "name, email, notes, extra_metadata) "
                           "SELECT $1, $2, k.id, $4, $5, $6, $7, $8::jsonb FROM campaigns k "
                           "WHERE k.id = $3 AND k.org_id = $2 AND k.deleted_at IS NULL "
                           "RETURNING " CONTACT_COLS,
                           8, p, ret_json);
}

int tel_contact_get(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                    json_object **ret_json)
{
        const char *p[] = {contact_id, org_id};
        return one_contact(conn,
                           "SELECT " CONTACT_COLS " FROM contacts c JOIN campaigns k ON " VISIBLE
                           " WHERE c.id = $1 AND c.org_id = $2",
                           2, p, ret_json);
}

static const char *flag(bool b)
{
        return b ? "t" : "f";
}

/* What the patch is checked against: the contact locked until the transaction ends, so the
 * dialer (which claims contacts FOR UPDATE SKIP LOCKED and creates their calls in the same
 * transaction) has either committed its call before the check below or never sees the
 * contact before the patch is in. */
static int lock_contact(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                        char ret_status[16], int64_t *ret_max)
{
        const char *p[] = {contact_id, org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT c.status, k.max_attempts FROM contacts c "
                           "JOIN campaigns k ON " VISIBLE " WHERE c.id = $1 AND c.org_id = $2 "
                           "FOR UPDATE OF c",
                           2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        snprintf(ret_status, 16, "%s", PQgetvalue(res, 0, 0));
        *ret_max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return 0;
}

/* A call placed for the contact that has not ended, by the dialer or by hand (a call deleted
 * while live still rings). Read after lock_contact, in a statement of its own. The planner
 * reads it off calls_campaign_live (010), which holds the live calls only. */
static int has_live_call(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                         bool *ret_live)
{
        const char *p[] = {org_id, contact_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT 1 FROM calls WHERE org_id = $1 AND contact_id = $2 "
                           "AND ended_at IS NULL LIMIT 1",
                           2, p, &res);
        if (r < 0)
                return r;
        *ret_live = PQntuples(res) > 0;
        PQclear(res);
        return 0;
}

static int check_patch(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                       const struct tel_contact_patch *pt, bool retry, char *err, size_t err_len)
{
        char status[16];
        int64_t max;
        int r = lock_contact(conn, org_id, contact_id, status, &max);
        if (r < 0)
                return r;
        if (pt->set_attempts && pt->attempts > max) {
                cc_set_error(err, err_len,
                             "attempts: must be between 0 and %" PRId64
                             " (the campaign's max_attempts)",
                             max);
                return -EINVAL;
        }
        /* The dialer only takes PENDING contacts below max_attempts, and such a contact would
         * keep its campaign from ever completing. */
        const char *to = pt->set_status ? pt->status : status;
        if (pt->set_attempts && strcmp(to, "PENDING") == 0 && pt->attempts >= max) {
                cc_set_error(err, err_len,
                             "attempts: a PENDING contact must have fewer than %" PRId64
                             " (the campaign's max_attempts), or it is never dialled",
                             max);
                return -EINVAL;
        }
        if (!retry)
                return 0;
        bool live = false;
        r = has_live_call(conn, org_id, contact_id, &live);
        return r < 0 ? r : live ? -EBUSY : 0;
}

int tel_contact_update(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                       const struct tel_contact_patch *pt, json_object **ret_json, char *err,
                       size_t err_len)
{
        bool retry = pt->set_status && strcmp(pt->status, "PENDING") == 0;
        char attempts[24];
        snprintf(attempts, sizeof(attempts), "%" PRId64, pt->attempts);
        const char *p[] = {contact_id,
                           org_id,
                           flag(pt->set_phone),
                           pt->phone_number,
                           flag(pt->set_name),
                           pt->name,
                           flag(pt->set_email),
                           pt->email,
                           flag(pt->set_status),
                           pt->status,
                           flag(pt->set_attempts),
                           pt->set_attempts ? attempts : NULL,
                           flag(pt->set_outcome),
                           pt->outcome,
                           flag(pt->set_notes),
                           pt->notes,
                           flag(pt->set_metadata),
                           pt->metadata,
                           flag(retry)};
        json_object *o = NULL;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = check_patch(conn, org_id, contact_id, pt, retry, err, err_len);
        /* One fixed statement whatever the body names, so it is prepared once. */
        if (r == 0)
                r = one_contact(
                    conn,
                    "UPDATE contacts AS c SET "
                    "phone_number = CASE WHEN $3::boolean THEN $4 ELSE c.phone_number END, "
                    "name = CASE WHEN $5::boolean THEN $6 ELSE c.name END, "
                    "email = CASE WHEN $7::boolean THEN $8 ELSE c.email END, "
                    "status = CASE WHEN $9::boolean THEN $10 ELSE c.status END, "
                    "attempts = CASE WHEN $11::boolean THEN $12::integer "
                    "WHEN $19::boolean THEN 0 ELSE c.attempts END, "
                    "next_attempt = CASE WHEN $19::boolean THEN NULL ELSE c.next_attempt END, "
                    "outcome = CASE WHEN $13::boolean THEN $14 "
                    "WHEN $19::boolean THEN NULL ELSE c.outcome END, "
                    "notes = CASE WHEN $15::boolean THEN $16 ELSE c.notes END, "
                    "extra_metadata = CASE WHEN $17::boolean THEN $18::jsonb "
                    "ELSE c.extra_metadata END, "
                    "updated_at = now() "
                    "FROM campaigns k WHERE c.id = $1 AND c.org_id = $2 AND " VISIBLE
                    " RETURNING " CONTACT_COLS,
                    19, p, &o);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                json_object_put(o);
                return r;
        }
        *ret_json = o;
        return 0;
}

int tel_contact_delete(struct cc_db_conn *conn, const char *org_id, const char *contact_id)
{
        const char *p[] = {contact_id, org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "DELETE FROM contacts c USING campaigns k "
                           "WHERE c.id = $1 AND c.org_id = $2 AND " VISIBLE " RETURNING c.id",
                           2, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) == 1 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}

static int64_t single_int(PGresult *res)
{
        return PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                   ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                   : 0;
}

int tel_contact_list(struct cc_db_conn *conn, const char *org_id,
                     const struct tel_contact_filter *f, json_object **ret_items,
                     int64_t *ret_total)
{
        char skip[24], limit[24];
        snprintf(skip, sizeof(skip), "%" PRId64, f->skip);
        snprintf(limit, sizeof(limit), "%" PRId64, f->limit);
        /* Two statements rather than "$1 IS NULL OR ...": a prepared statement's generic plan
         * could then use neither index. */
        const char *list_sql, *total_sql;
        const char *lp[5], *tp[3];
        if (f->campaign_id) {
                list_sql = "SELECT " CONTACT_COLS " FROM contacts c JOIN campaigns k ON " VISIBLE
                           " WHERE c.campaign_id = $1 AND c.org_id = $2 "
                           "AND ($3::text IS NULL OR c.status = $3) "
                           "ORDER BY c.created_at DESC, c.id DESC OFFSET $4 LIMIT $5";
                total_sql = "SELECT sum(n) FROM contact_counts "
                            "WHERE campaign_id = $1 AND org_id = $2 "
                            "AND ($3::text IS NULL OR status = $3)";
                lp[0] = tp[0] = f->campaign_id;
                lp[1] = tp[1] = org_id;
                lp[2] = tp[2] = f->status;
                lp[3] = skip;
                lp[4] = limit;
        } else {
                list_sql = "SELECT " CONTACT_COLS " FROM contacts c JOIN campaigns k ON " VISIBLE
                           " WHERE c.org_id = $1 AND ($2::text IS NULL OR c.status = $2) "
                           "ORDER BY c.created_at DESC, c.id DESC OFFSET $3 LIMIT $4";
                total_sql = "SELECT sum(n.n) FROM contact_counts n JOIN campaigns k "
                            "ON k.id = n.campaign_id AND k.org_id = n.org_id "
                            "AND k.deleted_at IS NULL "
                            "WHERE n.org_id = $1 AND ($2::text IS NULL OR n.status = $2)";
                lp[0] = tp[0] = org_id;
                lp[1] = tp[1] = f->status;
                lp[2] = skip;
                lp[3] = limit;
        }
        int nl = f->campaign_id ? 5 : 4, nt = f->campaign_id ? 3 : 2;
        PGresult *res = NULL;
        int r = cc_db_exec(conn, total_sql, nt, tp, &res);
        if (r < 0)
                return r;
        int64_t total = single_int(res);
        PQclear(res);
        res = NULL;
        r = cc_db_exec(conn, list_sql, nl, lp, &res);
        if (r < 0)
                return r;
        json_object *items = json_object_new_array_ext(PQntuples(res));
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(items, contact_json(res, i));
        PQclear(res);
        *ret_items = items;
        *ret_total = total;
        return 0;
}

/* An element of a PostgreSQL array literal: quoted, with quotes and backslashes escaped. */
static void array_add(struct cc_strbuf *b, const char *s, size_t len, bool first)
{
        cc_strbuf_append(b, first ? "{" : ",", 1);
        if (!s) {
                cc_strbuf_append(b, "NULL", 4);
                return;
        }
        cc_strbuf_append(b, "\"", 1);
        size_t from = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] != '"' && s[i] != '\\')
                        continue;
                cc_strbuf_append(b, s + from, i - from);
                cc_strbuf_append(b, "\\", 1);
                from = i;
        }
        cc_strbuf_append(b, s + from, len - from);
        cc_strbuf_append(b, "\"", 1);
}

void tel_contact_batch_add(struct tel_contact_batch *b, const char *phone, size_t phone_len,
                           const char *name, size_t name_len, const char *email, size_t email_len,
                           const char *notes, size_t notes_len)
{
        bool first = b->n == 0;
        array_add(&b->phone, phone, phone_len, first);
        array_add(&b->name, name, name_len, first);
        array_add(&b->email, email, email_len, first);
        array_add(&b->notes, notes, notes_len, first);
        b->n++;
}

static void batch_reset(struct tel_contact_batch *b)
{
        b->n = 0;
        b->phone.len = b->name.len = b->email.len = b->notes.len = 0;
}

int tel_contact_batch_insert(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                             struct tel_contact_batch *b)
{
        if (b->n == 0)
                return 0;
        cc_strbuf_append(&b->phone, "}", 1);
        cc_strbuf_append(&b->name, "}", 1);
        cc_strbuf_append(&b->email, "}", 1);
        cc_strbuf_append(&b->notes, "}", 1);
        const char *p[] = {org_id,       campaign_id,   b->phone.data,
                           b->name.data, b->email.data, b->notes.data};
        /* A microsecond apart per row keeps the file's order in created_at, which the list
         * (newest first) and the dialer (oldest first) go by; the next batch's now() is later
         * than this one's last row, as a batch takes longer than a millisecond. */
        int r = cc_db_exec(conn,
                           "INSERT INTO contacts (id, org_id, campaign_id, phone_number, name, "
                           "email, notes, created_at, updated_at) "
                           "SELECT gen_random_uuid(), $1, $2, u.p, u.n, u.e, u.o, "
                           "now() + u.i * interval '1 microsecond', now() "
                           "FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) "
                           "WITH ORDINALITY AS u (p, n, e, o, i)",
                           6, p, NULL);
        batch_reset(b);
        return r;
}

void tel_contact_batch_fini(struct tel_contact_batch *b)
{
        cc_strbuf_fini(&b->phone);
        cc_strbuf_fini(&b->name);
        cc_strbuf_fini(&b->email);
        cc_strbuf_fini(&b->notes);
        b->n = 0;
}
