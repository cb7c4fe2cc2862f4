/* PostgreSQL: a bounded connection pool over libpq with parameterised queries and transactions.
 * A connection found broken (server restarted) is reset on its next acquire; while the server
 * is down acquire fails with -ECONNREFUSED so a request can answer 503, and the first acquire
 * after it is back succeeds. */
#pragma once

#include <libpq-fe.h>
#include "cc/util.h"

struct cc_db_pool;
struct cc_db_conn; /* a pooled connection; borrowed between acquire and release */

/* conninfo: a libpq URL or key=value string. size: max connections (opened lazily). */
struct cc_db_pool *cc_db_pool_new(const char *conninfo, int size, int acquire_timeout_ms);
void cc_db_pool_free(struct cc_db_pool *pool);

/* conninfo (a libpq URL or key=value string) rebuilt as key=value with the session's search_path
 * set to schema, so a service's SQL never names its schema; options already in conninfo are
 * kept. Returns a heap string, or NULL when conninfo does not parse or schema is not a plain
 * lower-case identifier. */
char *cc_db_conninfo_with_schema(const char *conninfo, const char *schema);

/* Waits at most the pool's acquire timeout. -ETIMEDOUT when all are busy, -ECONNREFUSED when
 * the server cannot be reached. */
int cc_db_acquire(struct cc_db_pool *pool, struct cc_db_conn **ret_conn) CC_MUSTCHECK;
/* Returns the connection to the pool; a connection left inside a transaction is rolled back. */
void cc_db_release(struct cc_db_conn *conn);

PGconn *cc_db_conn_pg(struct cc_db_conn *conn);

/* Runs a parameterised statement (text parameters, NULL = SQL NULL). On success *ret_res (if
 * not NULL) owns the PGresult (free with PQclear); with ret_res NULL the result is dropped.
 * Errors: -EIO when the connection broke (it is marked for reset), -EEXIST for a unique
 * violation, -EINVAL for any other SQL error (message through cc_db_error). */
int cc_db_exec(struct cc_db_conn *conn, const char *sql, int nparams, const char *const *params,
               PGresult **ret_res) CC_MUSTCHECK;
/* As cc_db_exec, with per-parameter lengths and formats (1 = binary, for bytea); lengths and
 * formats may be NULL for all-text. */
int cc_db_execv(struct cc_db_conn *conn, const char *sql, int nparams, const char *const *params,
                const int *lengths, const int *formats, PGresult **ret_res) CC_MUSTCHECK;
/* Runs a constant SQL script of one or more statements (no parameters: never build it from
 * values) with the simple query protocol, for migrations. Errors as cc_db_exec. */
int cc_db_exec_script(struct cc_db_conn *conn, const char *sql) CC_MUSTCHECK;
/* The last error text of this connection (valid until the next call on it). */
const char *cc_db_error(struct cc_db_conn *conn);
/* The SQLSTATE of the last failed statement or "" */
const char *cc_db_sqlstate(struct cc_db_conn *conn);

int cc_db_begin(struct cc_db_conn *conn) CC_MUSTCHECK;
/* Pipelining (libpq's pipeline mode): between _begin and _end, a statement whose result the
 * caller does not take (ret_res NULL: BEGIN, an UPDATE, an outbox row) is only sent and returns
 * 0 at once; the next statement that returns a result (a SELECT, cc_db_commit) sends it along
 * and waits for them all, and reports the first error among them (later ones are skipped, as in
 * a failed transaction). A transaction of N such statements then costs one round trip instead
 * of N. _end waits for what is still in flight and returns to normal execution; releasing or
 * rolling back a connection ends it too. */
int cc_db_pipeline_begin(struct cc_db_conn *conn) CC_MUSTCHECK;
int cc_db_pipeline_end(struct cc_db_conn *conn) CC_MUSTCHECK;
/* Inside a transaction block (also while pipelined statements are in flight). */
bool cc_db_in_transaction(struct cc_db_conn *conn);
int cc_db_commit(struct cc_db_conn *conn) CC_MUSTCHECK;
void cc_db_rollback(struct cc_db_conn *conn);

/* Runs SELECT 1 on a pooled connection: 0 when the database answers. */
int cc_db_ping(struct cc_db_pool *pool) CC_MUSTCHECK;

/* Pool statistics for /metrics: connections open now (at most the configured size), and
 * connections borrowed now. */
int cc_db_pool_size(struct cc_db_pool *pool);
int cc_db_pool_in_use(struct cc_db_pool *pool);
