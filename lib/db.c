#include "cc/db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An idle connection older than this is pinged before it is handed out: a server restart or an
 * idle-timeout kill is then found here rather than by the caller's first statement. */
#define IDLE_PING_US 1000000

/* Used when the conninfo does not say: while the server is unreachable a request should fail in
 * time to answer 503, not hang in connect(). */
#define DEFAULT_CONNECT_TIMEOUT "2"

/* Parameterised statements a connection has prepared (server-side, by name), so a statement run
 * again skips PostgreSQL's parse and plan: for short OLTP statements that is most of their cost.
 * Keyed by the SQL text; a full cache runs further texts unprepared. Emptied whenever the
 * session is replaced (reconnect), since prepared statements live in the session. */
#define STMT_CACHE_SIZE 128

struct stmt {
        uint64_t hash;
        char *sql;
};

/* A statement sent in pipeline mode whose outcome is still to be read: a preparation (slot >= 0,
 * forgotten if it fails) or an execution (slot -1). */
#define PIPELINE_MAX 64

struct pending {
        int slot;
        bool wanted; /* the caller waits for this result */
};

struct cc_db_conn {
        struct cc_db_pool *pool;
        struct stmt stmts[STMT_CACHE_SIZE];
        int nstmts;
        bool pipeline;
        struct pending pending[PIPELINE_MAX];
        int npending;
        PGconn *pg;         /* NULL until first needed, and after a failed reconnect */
        bool in_use;        /* borrowed, or being opened, by some thread */
        bool broken;        /* a statement failed with a connection error: reset on next acquire */
        int64_t idle_since; /* cc_monotonic_us at release */
        unsigned eio_seen;  /* pool->eio_count when this connection was last known good */
        char sqlstate[6];
        char *error; /* heap; NULL means "" */
};

struct cc_db_pool {
        char *conninfo;
        int size;
        int acquire_timeout_ms;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        int in_use;
        /* Bumped on every connection error: one broken connection suggests the others may be
         * broken too (server restart), so each is checked once before its next use. */
        atomic_uint eio_count;
        atomic_int open_count;    /* slots holding a PGconn; written outside the lock */
        struct cc_db_conn *conns; /* size slots */
};

static void quiet_notice(void *arg, const char *message)
{
        /* Library code does not print; libpq's default processor writes notices (including the
         * server's "terminating connection" on shutdown) to stderr. */
}

struct cc_db_pool *cc_db_pool_new(const char *conninfo, int size, int acquire_timeout_ms)
{
        if (!conninfo || size <= 0)
                return NULL;
        char *perr = NULL;
        PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
        if (!opts) {
                PQfreemem(perr);
                return NULL;
        }
        PQconninfoFree(opts);

        struct cc_db_pool *pool = cc_xcalloc(1, sizeof(*pool));
        pool->conninfo = cc_xstrdup(conninfo);
        pool->size = size;
        pool->acquire_timeout_ms = acquire_timeout_ms < 0 ? 0 : acquire_timeout_ms;
        pthread_mutex_init(&pool->mu, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&pool->cond, &attr);
        pthread_condattr_destroy(&attr);
        atomic_init(&pool->eio_count, 0);
        atomic_init(&pool->open_count, 0);
        pool->conns = cc_xcalloc((size_t)size, sizeof(*pool->conns));
        for (int i = 0; i < size; i++)
                pool->conns[i].pool = pool;
        return pool;
}

void cc_db_pool_free(struct cc_db_pool *pool)
{
        if (!pool)
                return;
        for (int i = 0; i < pool->size; i++) {
                PQfinish(pool->conns[i].pg);
                free(pool->conns[i].error);
                for (int j = 0; j < pool->conns[i].nstmts; j++)
                        free(pool->conns[i].stmts[j].sql);
        }
        free(pool->conns);
        pthread_cond_destroy(&pool->cond);
        pthread_mutex_destroy(&pool->mu);
        free(pool->conninfo);
        free(pool);
}

static void set_error(struct cc_db_conn *conn, const char *msg, const char *sqlstate)
{
        free(conn->error);
        conn->error = NULL;
        if (msg && *msg) {
                size_t n = strlen(msg);
                while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                        n--;
                conn->error = cc_xstrndup(msg, n);
        }
        snprintf(conn->sqlstate, sizeof(conn->sqlstate), "%s", sqlstate ? sqlstate : "");
}

static void mark_broken(struct cc_db_conn *conn)
{
        conn->broken = true;
        atomic_fetch_add(&conn->pool->eio_count, 1);
}

static void stmts_forget(struct cc_db_conn *conn)
{
        for (int i = 0; i < conn->nstmts; i++)
                free(conn->stmts[i].sql);
        conn->nstmts = 0;
}

/* Opens the slot's connection, or reopens a broken one. */
static int conn_open(struct cc_db_conn *conn)
{
        bool was_open = conn->pg != NULL;
        stmts_forget(conn);
        if (was_open) {
                PQreset(conn->pg);
        } else {
                /* dbname is expanded as the whole conninfo; keywords are applied in order, so
                 * a connect_timeout inside the conninfo overrides the default placed first. */
                const char *const keys[] = {"connect_timeout", "dbname", NULL};
                const char *const vals[] = {DEFAULT_CONNECT_TIMEOUT, conn->pool->conninfo, NULL};
                conn->pg = PQconnectdbParams(keys, vals, 1);
                if (conn->pg)
                        PQsetNoticeProcessor(conn->pg, quiet_notice, NULL);
        }
        if (!conn->pg || PQstatus(conn->pg) != CONNECTION_OK) {
                set_error(conn, conn->pg ? PQerrorMessage(conn->pg) : "out of memory", "");
                PQfinish(conn->pg);
                conn->pg = NULL;
                if (was_open)
                        atomic_fetch_sub(&conn->pool->open_count, 1);
                return -ECONNREFUSED;
        }
        if (!was_open)
                atomic_fetch_add(&conn->pool->open_count, 1);
        conn->broken = false;
        return 0;
}

/* Data waiting on an idle connection is unexpected (at most a NOTIFY): usually the server's
 * goodbye before it closed the socket. */
static bool socket_readable(PGconn *pg)
{
        struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
        if (pfd.fd < 0)
                return true;
        return poll(&pfd, 1, 0) != 0;
}

static bool ping_ok(PGconn *pg)
{
        PGresult *res = PQexec(pg, "");
        bool ok = res && PQresultStatus(res) == PGRES_EMPTY_QUERY;
        PQclear(res);
        return ok && PQstatus(pg) == CONNECTION_OK;
}

/* Makes a just-reserved slot ready to hand out. Runs without the pool lock. */
static int conn_prepare(struct cc_db_conn *conn, unsigned eio_count)
{
        if (!conn->pg || conn->broken || PQstatus(conn->pg) != CONNECTION_OK)
                return conn_open(conn);
        bool suspect = conn->eio_seen != eio_count ||
                       cc_monotonic_us() - conn->idle_since > IDLE_PING_US ||
                       socket_readable(conn->pg);
        if (suspect && !ping_ok(conn->pg)) {
                /* The others idle since the same moment are likely stale too. */
                atomic_fetch_add(&conn->pool->eio_count, 1);
                return conn_open(conn);
        }
        return 0;
}

static void slot_put(struct cc_db_conn *conn)
{
        struct cc_db_pool *pool = conn->pool;
        pthread_mutex_lock(&pool->mu);
        conn->in_use = false;
        conn->idle_since = cc_monotonic_us();
        pool->in_use--;
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->mu);
}

/* The most recently used open connection, else an unopened slot: keeps the set of connections
 * in use small and warm. */
static struct cc_db_conn *slot_pick(struct cc_db_pool *pool)
{
        struct cc_db_conn *best = NULL, *empty = NULL;
        for (int i = 0; i < pool->size; i++) {
                struct cc_db_conn *c = &pool->conns[i];
                if (c->in_use)
                        continue;
                if (!c->pg) {
                        if (!empty)
                                empty = c;
                } else if (!best || c->idle_since > best->idle_since) {
                        best = c;
                }
        }
        return best ? best : empty;
}

int cc_db_acquire(struct cc_db_pool *pool, struct cc_db_conn **ret_conn)
{
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += pool->acquire_timeout_ms / 1000;
        deadline.tv_nsec += (long)(pool->acquire_timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }

        pthread_mutex_lock(&pool->mu);
        struct cc_db_conn *conn;
        while (!(conn = slot_pick(pool))) {
                if (pthread_cond_timedwait(&pool->cond, &pool->mu, &deadline) == ETIMEDOUT &&
                    !(conn = slot_pick(pool))) {
                        pthread_mutex_unlock(&pool->mu);
                        return -ETIMEDOUT;
                }
        }
        conn->in_use = true;
        pool->in_use++;
        pthread_mutex_unlock(&pool->mu);

        unsigned eio_count = atomic_load(&pool->eio_count);
        int r = conn_prepare(conn, eio_count);
        if (r < 0) {
                slot_put(conn);
                return r;
        }
        conn->eio_seen = eio_count;
        set_error(conn, NULL, NULL);
        *ret_conn = conn;
        return 0;
}

void cc_db_release(struct cc_db_conn *conn)
{
        if (!conn)
                return;
        if (conn->pipeline)
                (void)!cc_db_pipeline_end(conn);
        if (conn->pg && !conn->broken) {
                switch (PQtransactionStatus(conn->pg)) {
                case PQTRANS_IDLE:
                        break;
                case PQTRANS_INTRANS:
                case PQTRANS_INERROR:
                        cc_db_rollback(conn);
                        if (!conn->broken && PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
                                mark_broken(conn);
                        break;
                default:
                        /* A query still running or an unknown state: only a fresh
                         * connection is safe for the next borrower. */
                        mark_broken(conn);
                        break;
                }
        }
        slot_put(conn);
}

PGconn *cc_db_conn_pg(struct cc_db_conn *conn)
{
        return conn->pg;
}

/* SQLSTATE class 08 (connection exception) and the shutdown codes of class 57 mean the session
 * is gone even if libpq has not noticed yet. */
static bool sqlstate_is_disconnect(const char *s)
{
        return strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0;
}

static int check_result(struct cc_db_conn *conn, PGresult *res, PGresult **ret_res)
{
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
                if (ret_res)
                        *ret_res = res;
                else
                        PQclear(res);
                return 0;
        }

        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *msg = res ? PQresultErrorMessage(res) : "";
        if (!msg || !*msg)
                msg = PQerrorMessage(conn->pg);
        set_error(conn, msg, state);
        PQclear(res);

        int r;
        if (PQstatus(conn->pg) != CONNECTION_OK || sqlstate_is_disconnect(conn->sqlstate)) {
                mark_broken(conn);
                r = -EIO;
        } else if (st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR) {
                /* COPY and friends: the protocol is now in a state this API cannot drive. */
                set_error(conn, "unsupported result (COPY?)", "");
                mark_broken(conn);
                r = -EINVAL;
        } else if (strcmp(conn->sqlstate, "23505") == 0) {
                r = -EEXIST;
        } else {
                r = -EINVAL;
        }
        return r;
}

static uint64_t sql_hash(const char *s)
{
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

/* The name sql is prepared under on this connection, preparing it first if need be: 1 with
 * name written, 0 when it is not cached (cache full), < 0 when preparing failed (error set). In
 * pipeline mode the preparation is only sent; its outcome is read with the results. */
static int stmt_name(struct cc_db_conn *conn, const char *sql, int nparams, char name[16])
{
        uint64_t h = sql_hash(sql);
        for (int i = 0; i < conn->nstmts; i++) {
                if (conn->stmts[i].hash == h && conn->stmts[i].sql &&
                    strcmp(conn->stmts[i].sql, sql) == 0) {
                        snprintf(name, 16, "cc_s%d", i);
                        return 1;
                }
        }
        if (conn->nstmts == STMT_CACHE_SIZE || (conn->pipeline && conn->npending == PIPELINE_MAX))
                return 0;
        int slot = conn->nstmts;
        snprintf(name, 16, "cc_s%d", slot);
        if (conn->pipeline) {
                if (!PQsendPrepare(conn->pg, name, sql, nparams, NULL))
                        return 0;
                conn->pending[conn->npending++] = (struct pending){.slot = slot};
        } else {
                int r = check_result(conn, PQprepare(conn->pg, name, sql, nparams, NULL), NULL);
                if (r < 0)
                        return r;
        }
        conn->stmts[slot].hash = h;
        conn->stmts[slot].sql = cc_xstrdup(sql);
        conn->nstmts++;
        return 1;
}

/* Reads the outcome of everything sent in pipeline mode up to a sync point. Returns the first
 * error (with its message and SQLSTATE), else 0 with the one wanted result in *ret_res. */
static int pipeline_collect(struct cc_db_conn *conn, PGresult **ret_res)
{
        int first = 0;
        PGresult *wanted = NULL;
        if (!PQpipelineSync(conn->pg)) {
                set_error(conn, PQerrorMessage(conn->pg), "");
                mark_broken(conn);
                conn->npending = 0;
                return -EIO;
        }
        for (int i = 0; i < conn->npending; i++) {
                struct pending *pd = &conn->pending[i];
                PGresult *res = PQgetResult(conn->pg);
                ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
                int r;
                if (st == PGRES_PIPELINE_ABORTED) {
                        /* Skipped after an earlier error, which is the one reported. */
                        PQclear(res);
                        r = -ECANCELED;
                } else if (first < 0) {
                        PQclear(res);
                        r = -ECANCELED;
                } else {
                        r = check_result(conn, res, pd->wanted ? &wanted : NULL);
                        if (r < 0)
                                first = r;
                }
                if (r < 0 && pd->slot >= 0) {
                        free(conn->stmts[pd->slot].sql);
                        conn->stmts[pd->slot].sql = NULL;
                }
                /* Each statement's results end with a NULL. */
                while (res && (res = PQgetResult(conn->pg)) != NULL)
                        PQclear(res);
                if (conn->broken)
                        break;
        }
        conn->npending = 0;
        if (!conn->broken) {
                PGresult *sync = PQgetResult(conn->pg);
                if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
                        set_error(conn, "pipeline out of step", "");
                        mark_broken(conn);
                        first = -EIO;
                }
                PQclear(sync);
        }
        if (first < 0) {
                PQclear(wanted);
                return first;
        }
        if (ret_res)
                *ret_res = wanted;
        else
                PQclear(wanted);
        return 0;
}

int cc_db_execv(struct cc_db_conn *conn, const char *sql, int nparams, const char *const *params,
                const int *lengths, const int *formats, PGresult **ret_res)
{
        if (!conn->pg || conn->broken) {
                set_error(conn, "connection is broken", "");
                return -EIO;
        }
        if (!conn->pipeline)
                set_error(conn, NULL, NULL);
        /* Statements without parameters are mostly BEGIN/COMMIT and one-offs: cheap to parse. */
        char name[16];
        int r = nparams > 0 ? stmt_name(conn, sql, nparams, name) : 0;
        if (r < 0)
                return r;
        if (conn->pipeline) {
                /* Room for the statement and, when it is new, its preparation. */
                if (conn->npending >= PIPELINE_MAX - 1) {
                        int c = pipeline_collect(conn, NULL);
                        if (c < 0)
                                return c;
                }
                int ok = r > 0 ? PQsendQueryPrepared(conn->pg, name, nparams, params, lengths,
                                                     formats, 0)
                               : PQsendQueryParams(conn->pg, sql, nparams, NULL, params, lengths,
                                                   formats, 0);
                if (!ok) {
                        set_error(conn, PQerrorMessage(conn->pg), "");
                        mark_broken(conn);
                        return -EIO;
                }
                conn->pending[conn->npending++] =
                    (struct pending){.slot = -1, .wanted = ret_res != NULL};
                return ret_res ? pipeline_collect(conn, ret_res) : 0;
        }
        if (r > 0) {
                r = check_result(
                    conn, PQexecPrepared(conn->pg, name, nparams, params, lengths, formats, 0),
                    ret_res);
                /* A table under the statement changed shape since it was prepared (a schema
                 * dropped and made again): retire the name and run the text afresh. */
                if (r != -EINVAL || strcmp(conn->sqlstate, "0A000") != 0)
                        return r;
                int slot = atoi(name + 4);
                free(conn->stmts[slot].sql);
                conn->stmts[slot].sql = NULL;
                /* Inside a transaction the error has aborted it: report it as it is. */
                if (PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
                        return r;
                char dealloc[32];
                snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", name);
                PQclear(PQexec(conn->pg, dealloc));
                set_error(conn, NULL, NULL);
        }
        PGresult *res = PQexecParams(conn->pg, sql, nparams, NULL, params, lengths, formats, 0);
        return check_result(conn, res, ret_res);
}

int cc_db_pipeline_begin(struct cc_db_conn *conn)
{
        if (!conn->pg || conn->broken)
                return -EIO;
        if (conn->pipeline || !PQenterPipelineMode(conn->pg))
                return -EINVAL;
        conn->pipeline = true;
        conn->npending = 0;
        return 0;
}

int cc_db_pipeline_end(struct cc_db_conn *conn)
{
        if (!conn->pipeline)
                return 0;
        int r = 0;
        if (conn->npending > 0 && !conn->broken)
                r = pipeline_collect(conn, NULL);
        conn->npending = 0;
        conn->pipeline = false;
        if (conn->pg && !conn->broken && !PQexitPipelineMode(conn->pg)) {
                set_error(conn, PQerrorMessage(conn->pg), "");
                mark_broken(conn);
                r = -EIO;
        }
        return r;
}

bool cc_db_in_transaction(struct cc_db_conn *conn)
{
        if (!conn->pg)
                return false;
        /* With statements in flight libpq cannot know yet (BEGIN may be among them). */
        if (conn->pipeline && conn->npending > 0)
                return true;
        PGTransactionStatusType ts = PQtransactionStatus(conn->pg);
        return ts == PQTRANS_INTRANS || ts == PQTRANS_ACTIVE;
}

int cc_db_exec(struct cc_db_conn *conn, const char *sql, int nparams, const char *const *params,
               PGresult **ret_res)
{
        return cc_db_execv(conn, sql, nparams, params, NULL, NULL, ret_res);
}

int cc_db_exec_script(struct cc_db_conn *conn, const char *sql)
{
        if (!conn->pg || conn->broken) {
                set_error(conn, "connection is broken", "");
                return -EIO;
        }
        set_error(conn, NULL, NULL);
        /* The simple query protocol: several statements, no parameters. */
        return check_result(conn, PQexec(conn->pg, sql), NULL);
}

const char *cc_db_error(struct cc_db_conn *conn)
{
        return conn->error ? conn->error : "";
}

const char *cc_db_sqlstate(struct cc_db_conn *conn)
{
        return conn->sqlstate;
}

int cc_db_begin(struct cc_db_conn *conn)
{
        return cc_db_exec(conn, "BEGIN", 0, NULL, NULL);
}

int cc_db_commit(struct cc_db_conn *conn)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "COMMIT", 0, NULL, &res);
        if (r < 0)
                return r;
        /* COMMIT of a transaction that had already failed succeeds as a ROLLBACK. */
        bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
        PQclear(res);
        if (rolled_back) {
                set_error(conn, "transaction was aborted by an earlier error and rolled back",
                          "25P02");
                return -EINVAL;
        }
        return 0;
}

void cc_db_rollback(struct cc_db_conn *conn)
{
        /* Keep the caller's error: a rollback usually follows the failure worth reporting. */
        char *error = conn->error;
        char sqlstate[sizeof(conn->sqlstate)];
        memcpy(sqlstate, conn->sqlstate, sizeof(sqlstate));
        conn->error = NULL;
        if (conn->pipeline)
                (void)!cc_db_pipeline_end(conn);
        if (!conn->pg || conn->broken || PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
                free(conn->error);
                conn->error = error;
                memcpy(conn->sqlstate, sqlstate, sizeof(sqlstate));
                return;
        }
        int r = check_result(conn, PQexec(conn->pg, "ROLLBACK"), NULL);
        if (r == 0) {
                free(conn->error);
                conn->error = error;
                memcpy(conn->sqlstate, sqlstate, sizeof(sqlstate));
        } else {
                free(error);
        }
}

int cc_db_ping(struct cc_db_pool *pool)
{
        struct cc_db_conn *conn;
        int r = cc_db_acquire(pool, &conn);
        if (r < 0)
                return r;
        r = cc_db_exec(conn, "SELECT 1", 0, NULL, NULL);
        cc_db_release(conn);
        return r;
}

int cc_db_pool_size(struct cc_db_pool *pool)
{
        return atomic_load(&pool->open_count);
}

int cc_db_pool_in_use(struct cc_db_pool *pool)
{
        pthread_mutex_lock(&pool->mu);
        int n = pool->in_use;
        pthread_mutex_unlock(&pool->mu);
        return n;
}

/* Appends value to a key=value conninfo, quoted as libpq expects. */
static void append_kv(char **buf, size_t *len, size_t *cap, const char *key, const char *value)
{
        size_t need = *len + strlen(key) + 2 * strlen(value) + 6;
        if (need > *cap) {
                *cap = need * 2;
                *buf = cc_xrealloc(*buf, *cap);
        }
        char *o = *buf + *len;
        if (*len > 0)
                *o++ = ' ';
        size_t klen = strlen(key);
        memcpy(o, key, klen);
        o += klen;
        *o++ = '=';
        *o++ = '\'';
        for (const char *v = value; *v; v++) {
                if (*v == '\'' || *v == '\\')
                        *o++ = '\\';
                *o++ = *v;
        }
        *o++ = '\'';
        *o = '\0';
        *len = (size_t)(o - *buf);
}

char *cc_db_conninfo_with_schema(const char *conninfo, const char *schema)
{
        if (!cc_sql_identifier_valid(schema, 63))
                return NULL;
        /* Parsed and rebuilt rather than appended to, so options the operator put in the URL
         * (statement_timeout, ...) survive next to our search_path. */
        PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
        if (!opts)
                return NULL;
        char *search_path = cc_xasprintf("-c search_path=%s", schema);
        char *buf = NULL;
        size_t len = 0, cap = 0;
        bool had_options = false;
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (strcmp(o->keyword, "options") == 0) {
                        had_options = true;
                        char *merged = o->val && *o->val
                                           ? cc_xasprintf("%s %s", o->val, search_path)
                                           : cc_xstrdup(search_path);
                        append_kv(&buf, &len, &cap, "options", merged);
                        free(merged);
                } else if (o->val) {
                        append_kv(&buf, &len, &cap, o->keyword, o->val);
                }
        }
        if (!had_options)
                append_kv(&buf, &len, &cap, "options", search_path);
        free(search_path);
        PQconninfoFree(opts);
        return buf;
}
