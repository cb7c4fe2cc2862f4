/* Migrations: SQL files compiled into the service binary, applied in order at start under an
 * advisory lock and recorded in <schema>.schema_migrations. */
#pragma once

#include "cc/db.h"

struct cc_migration {
        const char *name; /* "001_init" (file name without .sql); ordered by name */
        const char *sql;
};

/* Creates the schema if needed, takes an advisory lock derived from the schema name, applies
 * every migration not yet recorded (each in its own transaction, search_path set to the schema),
 * and records it. conn must not be inside a transaction; a migration's SQL must not end the
 * transaction itself. Schema names: lowercase letters, digits and '_', not starting with a digit.
 * Returns 0 or a negative errno; err gets the failing migration and message. */
int cc_migrate_run(struct cc_db_conn *conn, const char *schema, const struct cc_migration *migs,
                   size_t n, char *err, size_t err_len) CC_MUSTCHECK;
