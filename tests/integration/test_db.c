#include "cc/db.h"
#include "cc/util.h"
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One schema for the whole program, made and dropped by the parent process (Check forks each
 * test), so a failing test still leaves nothing behind. */
static char schema[64];

static char *table_name(const char *base)
{
        return cc_xasprintf("%s.%s", schema, base);
}

static long count_rows(struct cc_db_conn *conn, const char *table)
{
        char *sql = cc_xasprintf("SELECT count(*) FROM %s", table);
        long n = (long)cc_test_query_int(conn, sql, NULL);
        free(sql);
        return n;
}

static void make_table(struct cc_db_conn *conn, const char *table, const char *columns)
{
        char *sql = cc_xasprintf("CREATE TABLE %s (%s)", table, columns);
        cc_test_exec(conn, sql, 0, NULL);
        free(sql);
}

static void suite_setup(void)
{
        cc_test_unique("dbt", schema, sizeof(schema));
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *sql = cc_xasprintf("CREATE SCHEMA %s", schema);
        cc_test_exec(conn, sql, 0, NULL);
        free(sql);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(schema);
}

START_TEST(db_params_stored_verbatim)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("verbatim");
        make_table(conn, t, "id int PRIMARY KEY, v text");
        const char *values[] = {"O'Brien said \"hi\" \\ $1 ;", "x'); DROP TABLE verbatim; --",
                                "Robert'; DELETE FROM verbatim;"};
        char *ins = cc_xasprintf("INSERT INTO %s (id, v) VALUES ($1::int, $2)", t);
        char *sel = cc_xasprintf("SELECT v FROM %s WHERE id = $1::int", t);
        for (int i = 0; i < 3; i++) {
                char id[16];
                snprintf(id, sizeof(id), "%d", i);
                const char *p[] = {id, values[i]};
                cc_test_exec(conn, ins, 2, p);
        }
        for (int i = 0; i < 3; i++) {
                char id[16];
                snprintf(id, sizeof(id), "%d", i);
                const char *p[] = {id};
                PGresult *res = cc_test_query(conn, sel, 1, p);
                ck_assert_int_eq(PQntuples(res), 1);
                ck_assert_str_eq(PQgetvalue(res, 0, 0), values[i]);
                PQclear(res);
        }
        ck_assert_int_eq(count_rows(conn, t), 3);
        free(ins);
        free(sel);
        free(t);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_null_param_is_sql_null)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {NULL, "set"};
        PGresult *res =
            cc_test_query(conn, "SELECT $1::text IS NULL, $2::text IS NULL, $1::text", 2, p);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
        ck_assert_str_eq(PQgetvalue(res, 0, 1), "f");
        ck_assert(PQgetisnull(res, 0, 2));
        PQclear(res);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_bytea_roundtrip)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("blobs");
        make_table(conn, t, "id int PRIMARY KEY, b bytea NOT NULL");
        unsigned char blob[300];
        for (size_t i = 0; i < sizeof(blob); i++)
                blob[i] = (unsigned char)(i * 7 + 3);
        blob[0] = 0;
        blob[1] = '\'';
        blob[2] = '\\';

        char *ins = cc_xasprintf("INSERT INTO %s (id, b) VALUES ($1::int, $2)", t);
        const char *p[] = {"1", (const char *)blob};
        const int lengths[] = {0, (int)sizeof(blob)};
        const int formats[] = {0, 1};
        int r = cc_db_execv(conn, ins, 2, p, lengths, formats, NULL);
        ck_assert_msg(r == 0, "insert bytea: %s", cc_db_error(conn));

        char *sel = cc_xasprintf("SELECT b, octet_length(b) FROM %s WHERE b = $1", t);
        PGresult *res = NULL;
        const char *p2[] = {(const char *)blob};
        const int l2[] = {(int)sizeof(blob)};
        const int f2[] = {1};
        r = cc_db_execv(conn, sel, 1, p2, l2, f2, &res);
        ck_assert_msg(r == 0, "select bytea: %s", cc_db_error(conn));
        ck_assert_int_eq(PQntuples(res), 1);
        ck_assert_str_eq(PQgetvalue(res, 0, 1), "300");
        size_t n = 0;
        unsigned char *back = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &n);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(n, sizeof(blob));
        ck_assert(memcmp(back, blob, n) == 0);
        PQfreemem(back);
        PQclear(res);
        free(ins);
        free(sel);
        free(t);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_unique_violation_is_eexist)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("uniq");
        make_table(conn, t, "email text PRIMARY KEY");
        char *ins = cc_xasprintf("INSERT INTO %s (email) VALUES ($1)", t);
        const char *p[] = {"a@example.com"};
        cc_test_exec(conn, ins, 1, p);
        PGresult *res = (PGresult *)1;
        ck_assert_int_eq(cc_db_exec(conn, ins, 1, p, &res), -EEXIST);
        ck_assert_ptr_eq(res, (PGresult *)1); /* untouched on failure */
        ck_assert_str_eq(cc_db_sqlstate(conn), "23505");
        ck_assert_ptr_nonnull(strstr(cc_db_error(conn), "duplicate key"));
        ck_assert_int_eq(count_rows(conn, t), 1);
        free(ins);
        free(t);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_bad_sql_is_einval_with_message)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        ck_assert_int_eq(cc_db_exec(conn, "SELEC 1", 0, NULL, NULL), -EINVAL);
        ck_assert_str_eq(cc_db_sqlstate(conn), "42601");
        ck_assert_ptr_nonnull(strstr(cc_db_error(conn), "syntax error"));
        ck_assert_int_eq(cc_db_exec(conn, "SELECT * FROM no_such_table_here", 0, NULL, NULL),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(cc_db_error(conn), "no_such_table_here"));
        /* The connection stays usable after an SQL error. */
        PGresult *res = cc_test_query(conn, "SELECT 41 + 1", 0, NULL);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "42");
        ck_assert_str_eq(cc_db_sqlstate(conn), "");
        PQclear(res);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_commit_visible_rollback_invisible)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 5000);
        struct cc_db_conn *writer = cc_test_acquire(pool);
        struct cc_db_conn *reader = cc_test_acquire(pool);
        char *t = table_name("tx");
        make_table(writer, t, "id int PRIMARY KEY");
        char *ins = cc_xasprintf("INSERT INTO %s (id) VALUES ($1::int)", t);

        ck_assert_int_eq(cc_db_begin(writer), 0);
        const char *one[] = {"1"};
        cc_test_exec(writer, ins, 1, one);
        ck_assert_int_eq(count_rows(reader, t), 0); /* not yet committed */
        ck_assert_int_eq(cc_db_commit(writer), 0);
        ck_assert_int_eq(count_rows(reader, t), 1);

        ck_assert_int_eq(cc_db_begin(writer), 0);
        const char *two[] = {"2"};
        cc_test_exec(writer, ins, 1, two);
        cc_db_rollback(writer);
        ck_assert_int_eq(count_rows(reader, t), 1);

        /* A transaction broken by an error cannot be committed by mistake. */
        ck_assert_int_eq(cc_db_begin(writer), 0);
        const char *three[] = {"3"};
        cc_test_exec(writer, ins, 1, three);
        ck_assert_int_eq(cc_db_exec(writer, ins, 1, one, NULL), -EEXIST);
        ck_assert_int_eq(cc_db_commit(writer), -EINVAL);
        ck_assert_int_eq(count_rows(reader, t), 1);
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(writer)), PQTRANS_IDLE);

        free(ins);
        free(t);
        cc_db_release(writer);
        cc_db_release(reader);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_pipelined_transaction_commits_and_reports_the_first_error)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 5000);
        struct cc_db_conn *writer = cc_test_acquire(pool);
        struct cc_db_conn *reader = cc_test_acquire(pool);
        char *t = table_name("pipe");
        make_table(writer, t, "id int PRIMARY KEY");
        char *ins = cc_xasprintf("INSERT INTO %s (id) VALUES ($1::int)", t);
        char *cnt = cc_xasprintf("SELECT count(*) FROM %s WHERE id > $1::int", t);
        const char *ids[] = {"1", "2", "3", "4"};

        /* Statements without results go out at once; a SELECT sees them; COMMIT lands them. */
        ck_assert_int_eq(cc_db_pipeline_begin(writer), 0);
        ck_assert_int_eq(cc_db_begin(writer), 0);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(cc_db_exec(writer, ins, 1, &ids[i], NULL), 0);
        ck_assert(cc_db_in_transaction(writer));
        PGresult *res = NULL;
        const char *zero[] = {"0"};
        ck_assert_int_eq(cc_db_exec(writer, cnt, 1, zero, &res), 0);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "3");
        PQclear(res);
        ck_assert_int_eq(count_rows(reader, t), 0);
        ck_assert_int_eq(cc_db_commit(writer), 0);
        ck_assert_int_eq(cc_db_pipeline_end(writer), 0);
        ck_assert_int_eq(count_rows(reader, t), 3);

        /* A failing statement in flight: the next result reports it, the rest is skipped and
         * nothing of the transaction stays. */
        ck_assert_int_eq(cc_db_pipeline_begin(writer), 0);
        ck_assert_int_eq(cc_db_begin(writer), 0);
        ck_assert_int_eq(cc_db_exec(writer, ins, 1, &ids[3], NULL), 0);
        ck_assert_int_eq(cc_db_exec(writer, ins, 1, &ids[0], NULL), 0); /* duplicate */
        res = (PGresult *)1;
        ck_assert_int_eq(cc_db_exec(writer, cnt, 1, zero, &res), -EEXIST);
        ck_assert_ptr_eq(res, (PGresult *)1);
        ck_assert_str_eq(cc_db_sqlstate(writer), "23505");
        cc_db_rollback(writer);
        ck_assert_int_eq(count_rows(reader, t), 3);
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(writer)), PQTRANS_IDLE);

        /* The connection is back to normal execution and usable. */
        ck_assert_int_eq(cc_db_exec(writer, ins, 1, &ids[3], NULL), 0);
        ck_assert_int_eq(count_rows(reader, t), 4);

        /* Released with statements in flight: they are finished, the transaction undone. */
        ck_assert_int_eq(cc_db_pipeline_begin(writer), 0);
        ck_assert_int_eq(cc_db_begin(writer), 0);
        const char *five[] = {"5"};
        ck_assert_int_eq(cc_db_exec(writer, ins, 1, five, NULL), 0);
        cc_db_release(writer);
        ck_assert_int_eq(count_rows(reader, t), 4);

        free(cnt);
        free(ins);
        free(t);
        cc_db_release(reader);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_prepared_statement_survives_table_change)
{
        /* Statements are prepared per connection; a table made again with other columns must
         * not leave a stale plan behind. */
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("shape");
        make_table(conn, t, "id int PRIMARY KEY, name text");
        char *sel = cc_xasprintf("SELECT * FROM %s WHERE id = $1::int", t);
        char *ins = cc_xasprintf("INSERT INTO %s VALUES (1, 'a')", t);
        cc_test_exec(conn, ins, 0, NULL);
        const char *one[] = {"1"};
        PGresult *res = NULL;
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(cc_db_exec(conn, sel, 1, one, &res), 0);
                ck_assert_int_eq(PQnfields(res), 2);
                PQclear(res);
        }
        char *redo = cc_xasprintf("DROP TABLE %s; CREATE TABLE %s (id int, a text, b text); "
                                  "INSERT INTO %s VALUES (1, 'x', 'y')",
                                  t, t, t);
        ck_assert_int_eq(cc_db_exec_script(conn, redo), 0);
        ck_assert_int_eq(cc_db_exec(conn, sel, 1, one, &res), 0);
        ck_assert_int_eq(PQnfields(res), 3);
        ck_assert_str_eq(PQgetvalue(res, 0, 2), "y");
        PQclear(res);
        free(redo);
        free(ins);
        free(sel);
        free(t);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_release_inside_transaction_rolls_back)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("leftover");
        make_table(conn, t, "id int");
        char *ins = cc_xasprintf("INSERT INTO %s (id) VALUES (1)", t);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        cc_test_exec(conn, ins, 0, NULL);
        cc_db_release(conn);

        /* A pool of one hands out the same connection again. */
        conn = cc_test_acquire(pool);
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(conn)), PQTRANS_IDLE);
        ck_assert_int_eq(count_rows(conn, t), 0);
        /* Also when the transaction had failed. */
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(cc_db_exec(conn, "SELEC", 0, NULL, NULL), -EINVAL);
        cc_db_release(conn);
        conn = cc_test_acquire(pool);
        ck_assert_int_eq(count_rows(conn, t), 0);
        free(ins);
        free(t);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_pool_exhausted_times_out)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 300);
        ck_assert_int_eq(cc_db_pool_size(pool), 0); /* opened lazily */
        struct cc_db_conn *a = cc_test_acquire(pool);
        struct cc_db_conn *b = cc_test_acquire(pool);
        ck_assert_int_eq(cc_db_pool_size(pool), 2);
        ck_assert_int_eq(cc_db_pool_in_use(pool), 2);

        struct cc_db_conn *c = (struct cc_db_conn *)1;
        int64_t t0 = cc_monotonic_us();
        ck_assert_int_eq(cc_db_acquire(pool, &c), -ETIMEDOUT);
        int64_t waited_ms = (cc_monotonic_us() - t0) / 1000;
        ck_assert_ptr_eq(c, (struct cc_db_conn *)1);
        ck_assert_msg(waited_ms >= 280 && waited_ms < 1500, "waited %lld ms", (long long)waited_ms);

        cc_db_release(a);
        c = cc_test_acquire(pool);
        ck_assert_ptr_eq(c, a);
        cc_db_release(b);
        cc_db_release(c);
        ck_assert_int_eq(cc_db_pool_in_use(pool), 0);
        ck_assert_int_eq(cc_db_ping(pool), 0);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(db_pool_rejects_bad_arguments)
{
        ck_assert_ptr_null(cc_db_pool_new("not_an_option=1", 2, 100));
        ck_assert_ptr_null(cc_db_pool_new(cc_test_env("CC_TEST_DATABASE_URL"), 0, 100));
        ck_assert_ptr_null(cc_db_pool_new(NULL, 1, 100));
        cc_db_pool_free(NULL);
}
END_TEST

/* The test database's URL rewritten as key=value pairs, with extra appended. */
static char *kv_conninfo(const char *extra)
{
        PQconninfoOption *opts = PQconninfoParse(cc_test_env("CC_TEST_DATABASE_URL"), NULL);
        ck_assert_ptr_nonnull(opts);
        char *out = cc_xstrdup(extra);
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (!o->val || !*o->val)
                        continue;
                char *next = cc_xasprintf("%s='%s' %s", o->keyword, o->val, out);
                free(out);
                out = next;
        }
        PQconninfoFree(opts);
        return out;
}

/* Opens a session with cc_db_conninfo_with_schema(conninfo, schema) and checks what an operator
 * put in conninfo took effect beside the search_path. */
static void assert_session_settings(const char *conninfo)
{
        char *with_schema = cc_db_conninfo_with_schema(conninfo, schema);
        ck_assert_msg(with_schema != NULL, "NULL for %s", conninfo);
        struct cc_db_pool *pool = cc_db_pool_new(with_schema, 1, 5000);
        ck_assert_msg(pool != NULL, "no pool for %s", with_schema);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char buf[256];
        ck_assert_str_eq(
            cc_test_query_value(conn, "SHOW statement_timeout", NULL, buf, sizeof(buf)), "1234ms");
        ck_assert_str_eq(cc_test_query_value(conn, "SHOW application_name", NULL, buf, sizeof(buf)),
                         "it's a \\test");
        ck_assert_str_eq(
            cc_test_query_value(conn, "SELECT current_schema()", NULL, buf, sizeof(buf)), schema);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        free(with_schema);
}

START_TEST(db_conninfo_keeps_operator_options)
{
        const char *url = cc_test_env("CC_TEST_DATABASE_URL");
        char *with_opts =
            cc_xasprintf("%s%soptions=-c%%20statement_timeout%%3D1234&application_name=it%%27s%%20a"
                         "%%20%%5Ctest",
                         url, strchr(url, '?') ? "&" : "?");
        assert_session_settings(with_opts);
        free(with_opts);

        char *kv = kv_conninfo("options='-c statement_timeout=1234' "
                               "application_name='it\\'s a \\\\test'");
        assert_session_settings(kv);
        free(kv);
}
END_TEST

START_TEST(db_conninfo_refuses_bad_schema_and_garbage)
{
        const char *url = cc_test_env("CC_TEST_DATABASE_URL");
        const char *schemas[] = {
            "",
            "Calls",
            "a-b",
            "1calls",
            "a b",
            "x;DROP SCHEMA public",
            "a'b",
            "a\\b",
            "\xc3\xa9t\xc3\xa9",
            "a123456789012345678901234567890123456789012345678901234567890123"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(schemas); i++) {
                char *c = cc_db_conninfo_with_schema(url, schemas[i]);
                ck_assert_msg(c == NULL, "schema '%s' gave %s", schemas[i], c);
        }
        const char *garbage[] = {"this is not a conninfo", "host='unterminated", "nosuchkey=1",
                                 "postgresql://[::1", "postgresql://h/db?nosuchparam=1"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(garbage); i++) {
                char *c = cc_db_conninfo_with_schema(garbage[i], "calls");
                ck_assert_msg(c == NULL, "conninfo '%s' gave %s", garbage[i], c);
        }
        /* A plain lower-case identifier is accepted. */
        char *c = cc_db_conninfo_with_schema(url, "call_notes_2");
        ck_assert_ptr_nonnull(c);
        free(c);
}
END_TEST

enum { THREADS = 8, QUERIES = 200 };

struct worker {
        pthread_t thread;
        struct cc_db_pool *pool;
        const char *insert;
        int id;
        int failures;
        char first_error[256];
};

static void *worker_run(void *arg)
{
        struct worker *w = arg;
        for (int i = 0; i < QUERIES; i++) {
                struct cc_db_conn *conn;
                int r = cc_db_acquire(w->pool, &conn);
                if (r < 0) {
                        if (!w->failures++)
                                snprintf(w->first_error, sizeof(w->first_error), "acquire %d", r);
                        continue;
                }
                char a[16], b[16], want[16];
                snprintf(a, sizeof(a), "%d", w->id);
                snprintf(b, sizeof(b), "%d", i);
                snprintf(want, sizeof(want), "%d", w->id * 1000 + i);
                const char *p[] = {a, b};
                PGresult *res = NULL;
                r = cc_db_exec(conn, "SELECT $1::int * 1000 + $2::int", 2, p, &res);
                if (r == 0 && strcmp(PQgetvalue(res, 0, 0), want) != 0)
                        r = -EBADMSG;
                PQclear(res);
                if (r == 0 && i % 4 == 0)
                        r = cc_db_exec(conn, w->insert, 2, p, NULL);
                if (r < 0 && !w->failures++)
                        snprintf(w->first_error, sizeof(w->first_error), "%d %s", r,
                                 cc_db_error(conn));
                cc_db_release(conn);
        }
        return NULL;
}

START_TEST(db_concurrent_threads_share_pool)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 4, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *t = table_name("concurrent");
        make_table(conn, t, "worker int, i int, PRIMARY KEY (worker, i)");
        cc_db_release(conn);
        char *ins = cc_xasprintf("INSERT INTO %s (worker, i) VALUES ($1::int, $2::int)", t);

        struct worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
                w[i] = (struct worker){.pool = pool, .insert = ins, .id = i};
                ck_assert_int_eq(pthread_create(&w[i].thread, NULL, worker_run, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
                pthread_join(w[i].thread, NULL);
                ck_assert_msg(w[i].failures == 0, "worker %d: %d failures, first: %s", i,
                              w[i].failures, w[i].first_error);
        }
        ck_assert_int_le(cc_db_pool_size(pool), 4);
        ck_assert_int_eq(cc_db_pool_in_use(pool), 0);
        conn = cc_test_acquire(pool);
        ck_assert_int_eq(count_rows(conn, t), THREADS * QUERIES / 4);
        cc_db_release(conn);
        free(ins);
        free(t);
        cc_db_pool_free(pool);
}
END_TEST

static bool backend_gone(struct cc_db_conn *conn, const char *pid)
{
        return cc_test_query_int(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                                 pid) == 0;
}

START_TEST(db_killed_idle_connection_is_replaced)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 5000);
        struct cc_db_pool *admin = cc_test_pool(NULL, 1, 5000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", PQbackendPID(cc_db_conn_pg(conn)));
        cc_db_release(conn);

        struct cc_db_conn *killer = cc_test_acquire(admin);
        const char *p[] = {pid};
        PGresult *res = cc_test_query(killer, "SELECT pg_terminate_backend($1::int)", 1, p);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
        PQclear(res);
        ck_assert_msg(CC_TEST_WAIT(backend_gone(killer, pid), 5000, 10), "backend %s did not exit",
                      pid);
        cc_db_release(killer);

        /* Idle for well under a second: the first statement must still work. */
        conn = cc_test_acquire(pool);
        res = cc_test_query(conn, "SELECT pg_backend_pid()", 0, NULL);
        ck_assert_str_ne(PQgetvalue(res, 0, 0), pid);
        PQclear(res);
        cc_db_release(conn);
        cc_db_pool_free(admin);
        cc_db_pool_free(pool);
}
END_TEST

/* Acquire and run one statement, as a request handler would. */
static int request(struct cc_db_pool *pool)
{
        struct cc_db_conn *conn;
        int r = cc_db_acquire(pool, &conn);
        if (r < 0)
                return r;
        PGresult *res = NULL;
        r = cc_db_exec(conn, "SELECT 7", 0, NULL, &res);
        if (r == 0 && strcmp(PQgetvalue(res, 0, 0), "7") != 0)
                r = -EBADMSG;
        PQclear(res);
        cc_db_release(conn);
        return r;
}

START_TEST(db_survives_server_restart)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 5000);
        /* Two open idle connections, both of which go stale with the restart. */
        struct cc_db_conn *a = cc_test_acquire(pool), *b = cc_test_acquire(pool);
        cc_db_release(a);
        cc_db_release(b);
        ck_assert_int_eq(request(pool), 0);

        /* Nothing may fail between stop and start: the server is shared. */
        int down_r[3];
        int64_t down_ms[3];
        cc_test_pg_stop();
        for (int i = 0; i < 3; i++) {
                int64_t t0 = cc_monotonic_us();
                down_r[i] = request(pool);
                down_ms[i] = (cc_monotonic_us() - t0) / 1000;
        }
        int down_in_use = cc_db_pool_in_use(pool);
        cc_test_pg_start();

        for (int i = 0; i < 3; i++) {
                ck_assert_msg(down_r[i] == -ECONNREFUSED || down_r[i] == -EIO,
                              "request %d while down: %d", i, down_r[i]);
                ck_assert_msg(down_ms[i] < 3000, "failing took %lld ms", (long long)down_ms[i]);
        }
        /* Once a connection was found broken, later requests are refused without a try. */
        ck_assert_int_eq(down_r[2], -ECONNREFUSED);
        ck_assert_int_eq(down_in_use, 0);

        ck_assert_int_eq(request(pool), 0);
        /* Both slots work again, including one that was not used during the outage. */
        a = cc_test_acquire(pool);
        b = cc_test_acquire(pool);
        cc_test_exec(a, "SELECT 1", 0, NULL);
        cc_test_exec(b, "SELECT 1", 0, NULL);
        cc_db_release(a);
        cc_db_release(b);

        /* A restart the pool did not see: its idle connections are stale, yet the first
         * request after it must not fail. */
        cc_test_pg_restart(0);
        ck_assert_int_eq(request(pool), 0);
        a = cc_test_acquire(pool);
        b = cc_test_acquire(pool);
        cc_test_exec(a, "SELECT 1", 0, NULL);
        cc_test_exec(b, "SELECT 1", 0, NULL);
        cc_db_release(a);
        cc_db_release(b);
        cc_db_pool_free(pool);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("db");
        TCase *tc = tcase_create("pool");
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, db_params_stored_verbatim);
        tcase_add_test(tc, db_pipelined_transaction_commits_and_reports_the_first_error);
        tcase_add_test(tc, db_prepared_statement_survives_table_change);
        tcase_add_test(tc, db_null_param_is_sql_null);
        tcase_add_test(tc, db_bytea_roundtrip);
        tcase_add_test(tc, db_unique_violation_is_eexist);
        tcase_add_test(tc, db_bad_sql_is_einval_with_message);
        tcase_add_test(tc, db_commit_visible_rollback_invisible);
        tcase_add_test(tc, db_release_inside_transaction_rolls_back);
        tcase_add_test(tc, db_pool_exhausted_times_out);
        tcase_add_test(tc, db_pool_rejects_bad_arguments);
        tcase_add_test(tc, db_conninfo_keeps_operator_options);
        tcase_add_test(tc, db_conninfo_refuses_bad_schema_and_garbage);
        tcase_add_test(tc, db_concurrent_threads_share_pool);
        tcase_add_test(tc, db_killed_idle_connection_is_replaced);
        tcase_add_test(tc, db_survives_server_restart);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
