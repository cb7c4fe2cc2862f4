#include "cc/migrate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Identifiers longer than NAMEDATALEN - 1 would be truncated silently by the server. */
#define SCHEMA_MAX 63

static int by_name(const void *a, const void *b)
{
        const struct cc_migration *const *x = a, *const *y = b;
        return strcmp((*x)->name, (*y)->name);
}

static bool applied(PGresult *done, const char *name)
{
        for (int i = 0; i < PQntuples(done); i++)
                if (strcmp(PQgetvalue(done, i, 0), name) == 0)
                        return true;
        return false;
}

static int apply_one(struct cc_db_conn *conn, const char *table, const char *set_path,
                     const struct cc_migration *mig)
{
        int r = cc_db_begin(conn);
        if (r < 0)
                return r;
        r = cc_db_exec(conn, set_path, 0, NULL, NULL);
        if (r < 0)
                goto fail;
        r = cc_db_exec_script(conn, mig->sql);
        if (r < 0)
                goto fail;
        /* A COMMIT inside the file would have split it from its record. */
        if (PQtransactionStatus(cc_db_conn_pg(conn)) != PQTRANS_INTRANS) {
                r = -EINVAL;
                goto fail;
        }
        char *insert = cc_xasprintf("INSERT INTO %s (name) VALUES ($1)", table);
        const char *params[] = {mig->name};
        r = cc_db_exec(conn, insert, 1, params, NULL);
        free(insert);
        if (r < 0)
                goto fail;
        return cc_db_commit(conn);
fail:
        cc_db_rollback(conn);
        return r;
}

int cc_migrate_run(struct cc_db_conn *conn, const char *schema, const struct cc_migration *migs,
                   size_t n, char *err, size_t err_len)
{
        static const char lock_sql[] = "SELECT pg_advisory_lock(hashtext('cc_migrate:' || $1))";
        static const char unlock_sql[] = "SELECT pg_advisory_unlock(hashtext('cc_migrate:' || $1))";
        const char *lock_params[] = {schema};
        PGconn *pg = cc_db_conn_pg(conn);
        const struct cc_migration **sorted = NULL;
        PGresult *done = NULL;
        char *quoted = NULL, *table = NULL, *set_path = NULL, *sql = NULL;
        int r;

        if (err && err_len)
                err[0] = '\0';
        if (!schema || !cc_sql_identifier_valid(schema, SCHEMA_MAX)) {
                cc_set_error(err, err_len, "invalid schema name \"%s\"",
                             schema ? schema : "(null)");
                return -EINVAL;
        }

        /* Our COMMITs would end the caller's transaction. */
        if (PQtransactionStatus(pg) != PQTRANS_IDLE) {
                cc_set_error(err, err_len, "connection is inside a transaction");
                return -EINVAL;
        }

        sorted = cc_xcalloc(n, sizeof(*sorted));
        for (size_t i = 0; i < n; i++)
                sorted[i] = &migs[i];
        qsort(sorted, n, sizeof(*sorted), by_name);
        for (size_t i = 1; i < n; i++) {
                if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
                        cc_set_error(err, err_len, "migration %s: listed twice", sorted[i]->name);
                        r = -EINVAL;
                        goto out;
                }
        }

        char *q = PQescapeIdentifier(pg, schema, strlen(schema));
        if (!q) {
                cc_set_error(err, err_len, "cannot quote schema name: %s", PQerrorMessage(pg));
                r = -EIO;
                goto out;
        }
        quoted = cc_xstrdup(q);
        PQfreemem(q);
        table = cc_xasprintf("%s.schema_migrations", quoted);
        set_path = cc_xasprintf("SET LOCAL search_path TO %s", quoted);

        /* Locked before CREATE SCHEMA: concurrent IF NOT EXISTS can still fail with a unique
         * violation on the catalog. */
        r = cc_db_exec(conn, lock_sql, 1, lock_params, NULL);
        if (r < 0) {
                cc_set_error(err, err_len, "advisory lock: %s", cc_db_error(conn));
                goto out;
        }

        sql = cc_xasprintf("CREATE SCHEMA IF NOT EXISTS %s", quoted);
        r = cc_db_exec(conn, sql, 0, NULL, NULL);
        free(sql);
        if (r < 0) {
                cc_set_error(err, err_len, "create schema %s: %s", schema, cc_db_error(conn));
                goto unlock;
        }
        sql = cc_xasprintf("CREATE TABLE IF NOT EXISTS %s (name text PRIMARY KEY, "
                           "applied_at timestamptz NOT NULL DEFAULT now())",
                           table);
        r = cc_db_exec(conn, sql, 0, NULL, NULL);
        free(sql);
        if (r < 0) {
                cc_set_error(err, err_len, "create %s.schema_migrations: %s", schema,
                             cc_db_error(conn));
                goto unlock;
        }
        sql = cc_xasprintf("SELECT name FROM %s", table);
        r = cc_db_exec(conn, sql, 0, NULL, &done);
        free(sql);
        if (r < 0) {
                cc_set_error(err, err_len, "read %s.schema_migrations: %s", schema,
                             cc_db_error(conn));
                goto unlock;
        }

        for (size_t i = 0; i < n; i++) {
                if (applied(done, sorted[i]->name))
                        continue;
                r = apply_one(conn, table, set_path, sorted[i]);
                if (r < 0) {
                        cc_set_error(err, err_len, "migration %s: %s", sorted[i]->name,
                                     *cc_db_error(conn) ? cc_db_error(conn)
                                                        : "must not end its transaction");
                        goto unlock;
                }
        }
        r = 0;

unlock:
        /* On a broken connection the server has released the lock with the session. */
        int u = cc_db_exec(conn, unlock_sql, 1, lock_params, NULL);
        if (u < 0 && r == 0) {
                cc_set_error(err, err_len, "advisory unlock: %s", cc_db_error(conn));
                r = u;
        }
out:
        PQclear(done);
        free(set_path);
        free(table);
        free(quoted);
        free(sorted);
        return r;
}
