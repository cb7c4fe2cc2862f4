#include "cc/migrate.h"
#include "cc/util.h"
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every schema a test makes starts with this prefix (made by the parent process, which drops
 * them all at the end, also after a failed test). */
static char prefix[48];

static const char *new_schema(char *buf, size_t len)
{
        return cc_test_unique(prefix, buf, len);
}

/* Applied migration names of a schema, comma-separated in order. */
static const char *applied(struct cc_db_conn *conn, const char *schema, char *buf, size_t len)
{
        char *sql = cc_xasprintf("SELECT coalesce(string_agg(name, ',' ORDER BY name), '') "
                                 "FROM %s.schema_migrations",
                                 schema);
        cc_test_query_value(conn, sql, NULL, buf, len);
        free(sql);
        return buf;
}

static bool relation_exists(struct cc_db_conn *conn, const char *qualified)
{
        char buf[16];
        return strcmp(cc_test_query_value(conn, "SELECT to_regclass($1) IS NOT NULL", qualified,
                                          buf, sizeof(buf)),
                      "t") == 0;
}

static void suite_setup(void)
{
        cc_test_unique("migt", prefix, sizeof(prefix));
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(prefix);
}

START_TEST(migrate_applies_in_name_order_and_records)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char schema[64], buf[256], err[256];
        new_schema(schema, sizeof(schema));
        /* Listed out of order; 002 only works after 001, and both use unqualified names. */
        const struct cc_migration migs[] = {
            {"002_note", "ALTER TABLE items ADD COLUMN note text;\n"
                         "INSERT INTO items (id, note) VALUES (1, 'it''s here');"},
            {"001_items", "CREATE TABLE items (id int PRIMARY KEY);"},
        };
        int r = cc_migrate_run(conn, schema, migs, 2, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate: %d %s", r, err);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "001_items,002_note");
        char *sql = cc_xasprintf("SELECT note FROM %s.items WHERE id = 1", schema);
        ck_assert_str_eq(cc_test_query_value(conn, sql, NULL, buf, sizeof(buf)), "it's here");
        free(sql);
        ck_assert(!relation_exists(conn, "public.items"));
        char *when = cc_xasprintf("SELECT count(*) FROM %s.schema_migrations "
                                  "WHERE applied_at > now() - interval '1 hour'",
                                  schema);
        ck_assert_str_eq(cc_test_query_value(conn, when, NULL, buf, sizeof(buf)), "2");
        free(when);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(migrate_second_run_applies_only_new)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char schema[64], buf[256], err[256];
        new_schema(schema, sizeof(schema));
        const struct cc_migration migs[] = {
            {"001_runs", "CREATE TABLE runs (n int); INSERT INTO runs VALUES (1);"},
            {"002_more", "INSERT INTO runs VALUES (2);"},
        };
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 1, err, sizeof(err)), 0);
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 1, err, sizeof(err)), 0);
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 2, err, sizeof(err)), 0);
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 2, err, sizeof(err)), 0);
        char *sql = cc_xasprintf("SELECT string_agg(n::text, ',' ORDER BY n) FROM %s.runs", schema);
        ck_assert_str_eq(cc_test_query_value(conn, sql, NULL, buf, sizeof(buf)), "1,2");
        free(sql);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "001_runs,002_more");
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(conn)), PQTRANS_IDLE);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(migrate_failure_rolls_back_and_stops)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 2, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char schema[64], buf[256], err[256];
        new_schema(schema, sizeof(schema));
        const struct cc_migration migs[] = {
            {"001_ok", "CREATE TABLE ok (id int);"},
            {"002_broken", "CREATE TABLE half (id int);\nINSERT INTO missing_table VALUES (1);"},
            {"003_later", "CREATE TABLE later (id int);"},
        };
        int r = cc_migrate_run(conn, schema, migs, 3, err, sizeof(err));
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_msg(strstr(err, "002_broken") && strstr(err, "missing_table"), "err: %s", err);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "001_ok");

        char *ok = cc_xasprintf("%s.ok", schema), *half = cc_xasprintf("%s.half", schema),
             *later = cc_xasprintf("%s.later", schema);
        ck_assert(relation_exists(conn, ok));
        ck_assert(!relation_exists(conn, half));
        ck_assert(!relation_exists(conn, later));
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(conn)), PQTRANS_IDLE);

        /* The lock was released: another session can take it at once. */
        struct cc_db_conn *other = cc_test_acquire(pool);
        char *key = cc_xasprintf("cc_migrate:%s", schema);
        ck_assert_str_eq(cc_test_query_value(other, "SELECT pg_try_advisory_lock(hashtext($1))",
                                             key, buf, sizeof(buf)),
                         "t");
        ck_assert_str_eq(cc_test_query_value(other, "SELECT pg_advisory_unlock(hashtext($1))", key,
                                             buf, sizeof(buf)),
                         "t");
        cc_db_release(other);

        /* Fixed, the run continues where it stopped. */
        const struct cc_migration fixed[] = {
            migs[0],
            {"002_broken", "CREATE TABLE half (id int);"},
            migs[2],
        };
        r = cc_migrate_run(conn, schema, fixed, 3, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate: %s", err);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "001_ok,002_broken,003_later");
        ck_assert(relation_exists(conn, later));
        free(key);
        free(ok);
        free(half);
        free(later);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(migrate_rejects_bad_schema_names)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const struct cc_migration migs[] = {{"001", "CREATE TABLE x (id int);"}};
        const char *bad[] = {"",
                             "Upper",
                             "a-b",
                             "x;drop schema public",
                             "a\"b",
                             "9lives",
                             "a234567890123456789012345678901234567890123456789012345678901234"};
        char err[256], buf[16];
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                err[0] = '\0';
                ck_assert_int_eq(cc_migrate_run(conn, bad[i], migs, 1, err, sizeof(err)), -EINVAL);
                ck_assert_msg(strstr(err, "schema"), "err: %s", err);
                ck_assert_str_eq(cc_test_query_value(
                                     conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                                     bad[i], buf, sizeof(buf)),
                                 "0");
        }
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(migrate_rejects_commit_inside_migration)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char schema[64], buf[256], err[256];
        new_schema(schema, sizeof(schema));
        const struct cc_migration migs[] = {{"001_commits", "CREATE TABLE c (id int); COMMIT;"}};
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 1, err, sizeof(err)), -EINVAL);
        ck_assert_msg(strstr(err, "001_commits"), "err: %s", err);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "");
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

START_TEST(migrate_refuses_caller_transaction)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char schema[64], buf[16], err[256];
        new_schema(schema, sizeof(schema));
        const struct cc_migration migs[] = {{"001", "CREATE TABLE x (id int);"}};
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(cc_migrate_run(conn, schema, migs, 1, err, sizeof(err)), -EINVAL);
        ck_assert_msg(strstr(err, "transaction"), "err: %s", err);
        /* The caller's transaction is still its own to end. */
        ck_assert_int_eq(PQtransactionStatus(cc_db_conn_pg(conn)), PQTRANS_INTRANS);
        cc_db_rollback(conn);
        ck_assert_str_eq(cc_test_query_value(conn,
                                             "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                                             schema, buf, sizeof(buf)),
                         "0");
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

enum { RUNNERS = 4 };

struct runner {
        pthread_t thread;
        struct cc_db_pool *pool;
        pthread_barrier_t *start;
        const char *schema;
        const struct cc_migration *migs;
        size_t n;
        int result;
        char err[256];
};

static void *runner_run(void *arg)
{
        struct runner *rn = arg;
        struct cc_db_conn *conn;
        rn->result = cc_db_acquire(rn->pool, &conn);
        pthread_barrier_wait(rn->start);
        if (rn->result < 0)
                return NULL;
        rn->result = cc_migrate_run(conn, rn->schema, rn->migs, rn->n, rn->err, sizeof(rn->err));
        cc_db_release(conn);
        return NULL;
}

START_TEST(migrate_concurrent_runners_apply_once)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, RUNNERS, 10000);
        char schema[64], buf[256];
        new_schema(schema, sizeof(schema));
        /* The sleep widens the window in which an unlocked runner would also apply 002. */
        const struct cc_migration migs[] = {
            {"001_counter", "CREATE TABLE counter (n int); SELECT pg_sleep(0.2);"},
            {"002_bump", "INSERT INTO counter VALUES (1);"},
        };
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RUNNERS);
        struct runner rn[RUNNERS];
        for (int i = 0; i < RUNNERS; i++) {
                rn[i] = (struct runner){
                    .pool = pool, .start = &start, .schema = schema, .migs = migs, .n = 2};
                ck_assert_int_eq(pthread_create(&rn[i].thread, NULL, runner_run, &rn[i]), 0);
        }
        for (int i = 0; i < RUNNERS; i++) {
                pthread_join(rn[i].thread, NULL);
                ck_assert_msg(rn[i].result == 0, "runner %d: %d %s", i, rn[i].result, rn[i].err);
        }
        pthread_barrier_destroy(&start);

        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *sql = cc_xasprintf("SELECT count(*) FROM %s.counter", schema);
        ck_assert_str_eq(cc_test_query_value(conn, sql, NULL, buf, sizeof(buf)), "1");
        free(sql);
        ck_assert_str_eq(applied(conn, schema, buf, sizeof(buf)), "001_counter,002_bump");
        cc_db_release(conn);
        cc_db_pool_free(pool);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("migrate");
        TCase *tc = tcase_create("run");
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, migrate_applies_in_name_order_and_records);
        tcase_add_test(tc, migrate_second_run_applies_only_new);
        tcase_add_test(tc, migrate_failure_rolls_back_and_stops);
        tcase_add_test(tc, migrate_rejects_bad_schema_names);
        tcase_add_test(tc, migrate_rejects_commit_inside_migration);
        tcase_add_test(tc, migrate_refuses_caller_transaction);
        tcase_add_test(tc, migrate_concurrent_runners_apply_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
