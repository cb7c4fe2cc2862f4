#include "cc/consume.h"
#include "cc/event.h"
#include "cc/kafka.h"
#include "cc/migrate.h"
#include "cc/outbox.h"
#include "cc/util.h"
#include "testlib.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORG "6f1c1f4e-5a55-4c1e-9a53-0c7d2b3c1a10"

/* Every schema a test makes starts with this prefix (made by the parent process, which drops
 * them all at the end, also after a failed test). */
static char prefix[48];

/* What the test handler does is chosen by the event: the user's email is a command. */
struct handler_state {
        atomic_int calls;
        atomic_int flaky_calls; /* a "flaky" event fails with -EIO on its first call */
        atomic_int kill_calls;  /* a "kill" event ends its database session on its first call */
        atomic_int successes;
        /* > 0: every event fails with -EIO once this many are applied (committed or in the
         * handler's own transaction), as a database gone for good would. */
        int fail_after;
};

static int test_handler(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env,
                        void *userdata)
{
        struct handler_state *st = userdata;
        atomic_fetch_add(&st->calls, 1);
        const char *cmd = env->user_created->user->email;
        const char *params[] = {env->event_id};
        if (st->fail_after > 0) {
                /* Counted by the database, so rows a rolled-back batch wrote do not count. */
                PGresult *res = NULL;
                int r = cc_db_exec(conn, "SELECT count(*) FROM applied", 0, NULL, &res);
                if (r < 0)
                        return r;
                bool full = atoll(PQgetvalue(res, 0, 0)) >= st->fail_after;
                PQclear(res);
                if (full)
                        return -EIO;
        }
        if (strcmp(cmd, "kill") == 0 && atomic_fetch_add(&st->kill_calls, 1) == 0) {
                /* The connection dies under the handler, as when the database restarts. */
                int r = cc_db_exec(conn, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL,
                                   NULL);
                return r < 0 ? r : -EIO;
        }
        /* Written before deciding, so a rejected event proves its effects were rolled back. */
        int r =
            cc_db_exec(conn, "INSERT INTO applied (event_id) VALUES ($1::uuid)", 1, params, NULL);
        if (r < 0)
                return r;
        if (strcmp(cmd, "reject") == 0)
                return -EBADMSG;
        if (strcmp(cmd, "flaky") == 0 && atomic_fetch_add(&st->flaky_calls, 1) == 0)
                return -EIO;
        atomic_fetch_add(&st->successes, 1);
        return 0;
}

struct fixture {
        char schema[64], topic[80], dlq[80];
        struct cc_db_pool *pool;
        struct cc_kafka_producer *producer;
        struct handler_state state;
        struct cc_consumer_config cfg;
        const char *topics[1];
};

static void fixture_open(struct fixture *f)
{
        static const struct cc_migration applied = {
            "001_applied", "CREATE TABLE applied (event_id uuid PRIMARY KEY);"};
        char err[256];
        memset(f, 0, sizeof(*f));
        cc_test_unique(prefix, f->schema, sizeof(f->schema));
        snprintf(f->topic, sizeof(f->topic), "cc.test.%s", f->schema);
        snprintf(f->dlq, sizeof(f->dlq), "cc.dlq.%s", f->schema);
        cc_test_topic(f->topic, 3);
        cc_test_topic(f->dlq, 3);

        f->pool = cc_test_pool(f->schema, 4, 10000);
        const struct cc_migration migs[] = {cc_outbox_migration, applied};
        struct cc_db_conn *conn = cc_test_acquire(f->pool);
        int r = cc_migrate_run(conn, f->schema, migs, 2, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate: %s", err);
        cc_db_release(conn);

        f->producer = cc_test_producer("consume-test", NULL, NULL, NULL);

        f->topics[0] = f->topic;
        f->cfg = (struct cc_consumer_config){
            .service = f->schema, /* unique: a fresh group and its own DLQ topic */
            .schema = f->schema,
            .brokers = cc_test_env("CC_TEST_KAFKA_BROKERS"),
            .topics = f->topics,
            .ntopics = 1,
            .pool = f->pool,
            .dlq_producer = f->producer,
            .handler = test_handler,
            .userdata = &f->state,
        };
}

static void fixture_close(struct fixture *f)
{
        cc_kafka_producer_free(f->producer);
        cc_db_pool_free(f->pool);
        ck_assert_int_eq(cc_test_drop_schemas(f->schema), 1);
}

static struct cc_consumer *consumer_start(struct fixture *f)
{
        char err[256];
        struct cc_consumer *c = cc_consumer_start(&f->cfg, err, sizeof(err));
        ck_assert_msg(c != NULL, "consumer: %s", err);
        return c;
}

/* A packed user.created event; the email is the handler's command. */
static uint8_t *make_event(const char *cmd, char ret_id[CC_UUID_LEN + 1], size_t *ret_len)
{
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
        Cc__Events__V1__UserCreated created = CC__EVENTS__V1__USER_CREATED__INIT;
        user.user_id = "u-1";
        user.email = (char *)cmd;
        created.user = &user;
        cc_event_init(&env, "user.created", ORG, 0, "consume-test", NULL, ret_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
        env.user_created = &created;
        return cc_event_pack(&env, ret_len);
}

static void produce(struct fixture *f, const void *value, size_t len)
{
        int r = cc_kafka_produce(f->producer, f->topic, "k", 1, value, len, NULL, 0, NULL);
        ck_assert_int_eq(r, 0);
}

static void produce_event(struct fixture *f, const char *cmd, char ret_id[CC_UUID_LEN + 1])
{
        size_t len;
        uint8_t *buf = make_event(cmd, ret_id, &len);
        produce(f, buf, len);
        free(buf);
}

static void flush(struct fixture *f)
{
        ck_assert_int_eq(cc_kafka_producer_flush(f->producer, 10000), 0);
}

/* How many messages the consumer has finished with (applied, duplicate or dead). */
static uint64_t finished(struct cc_consumer *c)
{
        return cc_consumer_applied(c) + cc_consumer_duplicates(c) + cc_consumer_dead_lettered(c);
}

/* Waits until the consumer has finished with n messages. */
static void wait_done(struct cc_consumer *c, uint64_t n, int timeout_ms)
{
        CC_TEST_WAIT(finished(c) >= n, timeout_ms, 20);
        ck_assert_uint_eq(finished(c), n);
}

static long long applied_rows(struct fixture *f, const char *event_id)
{
        if (event_id)
                return cc_test_pool_query_int(
                    f->pool, "SELECT count(*) FROM applied WHERE event_id = $1::uuid", event_id);
        return cc_test_pool_query_int(f->pool, "SELECT count(*) FROM applied", NULL);
}

struct dlq_message {
        void *value;
        size_t len;
        char error[256];
};

/* A reader of the service's DLQ topic in a group of its own; opened early, its group join
 * overlaps the consumer's. */
static struct cc_kafka_consumer *dlq_reader(struct fixture *f)
{
        return cc_test_consumer(f->dlq, NULL, NULL);
}

/* Reads the first message of the DLQ topic and closes the reader. */
static void read_dlq(struct fixture *f, struct cc_kafka_consumer *kc, struct dlq_message *ret)
{
        struct cc_kafka_message msg;
        int r = cc_test_consume(kc, cc_monotonic_us() + 20000000, &msg);
        ck_assert_msg(r == 0, "nothing arrived on %s (%d)", f->dlq, r);
        ret->len = msg.value_len;
        ret->value = cc_xmalloc(msg.value_len);
        memcpy(ret->value, msg.value, msg.value_len);
        size_t len = 0;
        const char *error = cc_kafka_message_header(&msg, "error", &len);
        ck_assert_ptr_nonnull(error);
        snprintf(ret->error, sizeof(ret->error), "%.*s", (int)len, error);
        cc_kafka_message_release(&msg);
        cc_kafka_consumer_free(kc);
}

START_TEST(consume_applies_a_redelivered_event_once)
{
        struct fixture f;
        fixture_open(&f);
        char id[CC_UUID_LEN + 1];
        size_t len;
        uint8_t *buf = make_event("ok", id, &len);
        produce(&f, buf, len);
        produce(&f, buf, len);
        free(buf);
        flush(&f);

        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, 2, 30000);
        ck_assert_uint_eq(cc_consumer_applied(c), 1);
        ck_assert_uint_eq(cc_consumer_duplicates(c), 1);
        ck_assert_uint_eq(cc_consumer_dead_lettered(c), 0);
        ck_assert_int_eq(applied_rows(&f, id), 1);
        ck_assert_int_eq(applied_rows(&f, NULL), 1);
        cc_consumer_stop(c);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_sends_a_poison_message_to_the_dlq_and_goes_on)
{
        struct fixture f;
        fixture_open(&f);
        struct cc_kafka_consumer *dlq = dlq_reader(&f);
        unsigned char poison[64];
        cc_random_bytes(poison, sizeof(poison));
        poison[0] = 0xff; /* field 31, wire type 7: never a valid protobuf */
        produce(&f, poison, sizeof(poison));
        char id[CC_UUID_LEN + 1];
        produce_event(&f, "ok", id);
        flush(&f);

        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, 2, 30000);
        ck_assert_uint_eq(cc_consumer_dead_lettered(c), 1);
        ck_assert_uint_eq(cc_consumer_applied(c), 1);
        ck_assert_int_eq(applied_rows(&f, id), 1);

        struct dlq_message dead;
        read_dlq(&f, dlq, &dead);
        ck_assert_uint_eq(dead.len, sizeof(poison));
        ck_assert(memcmp(dead.value, poison, sizeof(poison)) == 0);
        ck_assert_msg(strstr(dead.error, "undecodable") != NULL, "error header: %s", dead.error);
        free(dead.value);
        cc_consumer_stop(c);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_rejected_event_goes_to_dlq_and_transient_failure_is_retried)
{
        struct fixture f;
        fixture_open(&f);
        struct cc_kafka_consumer *dlq = dlq_reader(&f);
        char rejected[CC_UUID_LEN + 1], flaky[CC_UUID_LEN + 1], after[CC_UUID_LEN + 1];
        produce_event(&f, "reject", rejected);
        produce_event(&f, "flaky", flaky);
        produce_event(&f, "ok", after);
        flush(&f);

        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, 3, 30000);
        ck_assert_uint_eq(cc_consumer_dead_lettered(c), 1);
        ck_assert_uint_eq(cc_consumer_applied(c), 2);
        ck_assert_uint_eq(cc_consumer_duplicates(c), 0);
        /* The rejected event's own write was rolled back, but it counts as processed. */
        ck_assert_int_eq(applied_rows(&f, rejected), 0);
        ck_assert_int_eq(cc_test_pool_query_int(
                             f.pool,
                             "SELECT count(*) FROM processed_events WHERE event_id = $1::uuid",
                             rejected),
                         1);
        /* The flaky one failed once, was retried, and applied once. (How often the handler
         * ran depends on how the messages were batched: a failed batch is redone one by one.) */
        ck_assert_int_eq(atomic_load(&f.state.flaky_calls), 2);
        ck_assert_int_eq(applied_rows(&f, flaky), 1);
        ck_assert_int_eq(applied_rows(&f, after), 1);
        ck_assert_int_eq(applied_rows(&f, NULL), 2);

        struct dlq_message dead;
        read_dlq(&f, dlq, &dead);
        Cc__Events__V1__Envelope *env = cc_event_unpack(dead.value, dead.len);
        ck_assert_ptr_nonnull(env);
        ck_assert_str_eq(env->event_id, rejected);
        ck_assert_msg(strstr(dead.error, "rejected") != NULL, "error header: %s", dead.error);
        cc_event_free(env);
        free(dead.value);
        cc_consumer_stop(c);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_resumes_from_stored_offsets_after_restart)
{
        enum { N = 10, FIRST = 4 };
        struct fixture f;
        fixture_open(&f);
        char ids[N][CC_UUID_LEN + 1];
        for (int i = 0; i < N; i++)
                produce_event(&f, "ok", ids[i]);
        flush(&f);

        /* The first run applies FIRST events, then is stuck retrying the next one. */
        f.state.fail_after = FIRST;
        /* The mock cluster lets the next member join only when the previous one's session has
         * expired, even after a clean close: a shorter session keeps this test short. */
        static const char *const conf[] = {"session.timeout.ms", "6000", NULL};
        f.cfg.extra_conf = conf;
        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, FIRST, 30000);
        CC_TEST_WAIT(atomic_load(&f.state.calls) > FIRST, 10000, 20);
        ck_assert_int_gt(atomic_load(&f.state.calls), FIRST);
        cc_consumer_stop(c);
        ck_assert_int_eq(applied_rows(&f, NULL), FIRST);

        /* Same group: it resumes after what was applied, and nothing comes twice. */
        f.state.fail_after = 0;
        c = consumer_start(&f);
        wait_done(c, N - FIRST, 30000);
        ck_assert_uint_eq(cc_consumer_applied(c), N - FIRST);
        ck_assert_uint_eq(cc_consumer_duplicates(c), 0);
        ck_assert_int_eq(applied_rows(&f, NULL), N);
        for (int i = 0; i < N; i++)
                ck_assert_int_eq(applied_rows(&f, ids[i]), 1);
        cc_consumer_stop(c);
        fixture_close(&f);
}
END_TEST

/* Messages as the consumer thread hands them over (only value and key are read). */
struct batch {
        struct cc_kafka_message msgs[8];
        uint8_t *bufs[8];
        char ids[8][CC_UUID_LEN + 1];
        size_t n;
};

static void batch_add(struct batch *b, const char *cmd)
{
        size_t len;
        b->bufs[b->n] = make_event(cmd, b->ids[b->n], &len);
        b->msgs[b->n] = (struct cc_kafka_message){
            .key = "k", .key_len = 1, .value = b->bufs[b->n], .value_len = len};
        b->n++;
}

/* The same message again, as Kafka redelivers it. */
static void batch_repeat(struct batch *b, size_t i)
{
        memcpy(b->ids[b->n], b->ids[i], sizeof(b->ids[i]));
        b->bufs[b->n] = NULL;
        b->msgs[b->n] = b->msgs[i];
        b->n++;
}

static void batch_free(struct batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->bufs[i]);
}

static long long processed_rows(struct fixture *f, const char *event_id)
{
        return cc_test_pool_query_int(
            f->pool, "SELECT count(*) FROM processed_events WHERE event_id = $1::uuid", event_id);
}

START_TEST(consume_batch_applies_in_one_transaction_and_skips_duplicates)
{
        struct fixture f;
        fixture_open(&f);
        struct batch b = {0};
        batch_add(&b, "ok"); /* 0: applied before, by another batch */
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, 1), 1);
        batch_add(&b, "ok"); /* 1 */
        batch_repeat(&b, 0); /* 2: a duplicate of an earlier batch */
        batch_add(&b, "ok"); /* 3 */
        batch_repeat(&b, 1); /* 4: a duplicate within the batch */
        batch_add(&b, "ok"); /* 5 */
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs + 1, b.n - 1), (int)b.n - 1);

        for (size_t i = 0; i < b.n; i++)
                ck_assert_int_eq(applied_rows(&f, b.ids[i]), 1);
        ck_assert_int_eq(applied_rows(&f, NULL), 4);
        /* The duplicates never reached the handler. */
        ck_assert_int_eq(atomic_load(&f.state.calls), 4);
        /* The three new events were recorded (and applied) by a single transaction. */
        ck_assert_int_eq(cc_test_pool_query_int(f.pool,
                                                "SELECT count(DISTINCT xmin::text) FROM "
                                                "processed_events WHERE event_id <> $1::uuid",
                                                b.ids[0]),
                         1);
        batch_free(&b);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_batch_dead_letters_only_the_rejected_event)
{
        struct fixture f;
        fixture_open(&f);
        struct cc_kafka_consumer *dlq = dlq_reader(&f);
        struct batch b = {0};
        batch_add(&b, "ok");
        batch_add(&b, "reject");
        batch_add(&b, "ok");
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, b.n), 3);

        ck_assert_int_eq(applied_rows(&f, b.ids[0]), 1);
        ck_assert_int_eq(applied_rows(&f, b.ids[1]), 0);
        ck_assert_int_eq(applied_rows(&f, b.ids[2]), 1);
        for (size_t i = 0; i < b.n; i++)
                ck_assert_int_eq(processed_rows(&f, b.ids[i]), 1);

        /* Delivered again (no offset stored yet, say): nothing changes, no second dead letter. */
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, b.n), 3);
        ck_assert_int_eq(applied_rows(&f, NULL), 2);

        struct cc_kafka_message msg;
        int r = cc_test_consume(dlq, cc_monotonic_us() + 20000000, &msg);
        ck_assert_msg(r == 0, "nothing arrived on %s (%d)", f.dlq, r);
        Cc__Events__V1__Envelope *env = cc_event_unpack(msg.value, msg.value_len);
        ck_assert_ptr_nonnull(env);
        ck_assert_str_eq(env->event_id, b.ids[1]);
        cc_event_free(env);
        cc_kafka_message_release(&msg);
        r = cc_test_consume(dlq, cc_monotonic_us() + 2000000, &msg);
        ck_assert_msg(r < 0, "a second dead letter arrived");
        cc_kafka_consumer_free(dlq);
        batch_free(&b);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_batch_survives_a_lost_connection_without_applying_twice)
{
        struct fixture f;
        fixture_open(&f);
        struct batch b = {0};
        batch_add(&b, "ok");
        batch_add(&b, "kill"); /* the session dies here, after the first event's writes */
        batch_add(&b, "ok");
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, b.n), 3);
        ck_assert_int_eq(atomic_load(&f.state.kill_calls), 2);
        for (size_t i = 0; i < b.n; i++)
                ck_assert_int_eq(applied_rows(&f, b.ids[i]), 1);

        /* The database refusing everything: nothing is done, and nothing is claimed done. */
        struct batch more = {0};
        batch_add(&more, "ok");
        batch_add(&more, "ok");
        f.state.fail_after = 1;
        ck_assert_int_lt(cc_consume_batch(&f.cfg, more.msgs, more.n), 0);
        ck_assert_int_eq(applied_rows(&f, more.ids[0]), 0);
        ck_assert_int_eq(processed_rows(&f, more.ids[0]), 0);
        /* Back: the retry applies them once; the first batch again is all duplicates. */
        f.state.fail_after = 0;
        ck_assert_int_eq(cc_consume_batch(&f.cfg, more.msgs, more.n), 2);
        int calls = atomic_load(&f.state.calls);
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, b.n), 3);
        ck_assert_int_eq(atomic_load(&f.state.calls), calls);
        ck_assert_int_eq(applied_rows(&f, NULL), 5);
        batch_free(&more);
        batch_free(&b);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_skips_events_committed_before_a_crash_as_duplicates)
{
        enum { N = 6 };
        struct fixture f;
        fixture_open(&f);
        /* A consumer committed these and died before storing their offsets. */
        struct batch b = {0};
        for (int i = 0; i < N; i++)
                batch_add(&b, "ok");
        ck_assert_int_eq(cc_consume_batch(&f.cfg, b.msgs, b.n), N);
        for (int i = 0; i < N; i++)
                produce(&f, b.bufs[i], b.msgs[i].value_len);
        flush(&f);

        /* Its successor gets them all again. */
        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, N, 30000);
        ck_assert_uint_eq(cc_consumer_duplicates(c), N);
        ck_assert_uint_eq(cc_consumer_applied(c), 0);
        ck_assert_int_eq(atomic_load(&f.state.calls), N);
        ck_assert_int_eq(applied_rows(&f, NULL), N);
        cc_consumer_stop(c);
        batch_free(&b);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_applies_waiting_messages_in_few_transactions)
{
        enum { N = 40 };
        struct fixture f;
        fixture_open(&f);
        char ids[N][CC_UUID_LEN + 1];
        for (int i = 0; i < N; i++)
                produce_event(&f, "ok", ids[i]);
        flush(&f);

        struct cc_consumer *c = consumer_start(&f);
        wait_done(c, N, 30000);
        ck_assert_uint_eq(cc_consumer_applied(c), N);
        ck_assert_int_eq(applied_rows(&f, NULL), N);
        /* They were all waiting: batched, not one transaction each. */
        long long txns = cc_test_pool_query_int(
            f.pool, "SELECT count(DISTINCT xmin::text) FROM processed_events", NULL);
        ck_assert_msg(txns <= N / 4, "%lld transactions for %d events", txns, N);
        cc_consumer_stop(c);
        fixture_close(&f);
}
END_TEST

START_TEST(consume_one_refuses_an_invalid_schema)
{
        struct handler_state st = {0};
        const char *topics[] = {"t"};
        char err[128];
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 1000);
        struct cc_kafka_producer *producer =
            cc_kafka_producer_new("127.0.0.1:1", "x", NULL, NULL, NULL, err, sizeof(err));
        ck_assert_ptr_nonnull(producer);
        /* Everything else is valid: the schema name alone must stop it before any SQL. */
        const struct cc_consumer_config cfg = {
            .service = "x",
            .schema = "x; DROP TABLE y",
            .brokers = "127.0.0.1:1",
            .topics = topics,
            .ntopics = 1,
            .pool = pool,
            .dlq_producer = producer,
            .handler = test_handler,
            .userdata = &st,
        };
        char id[CC_UUID_LEN + 1];
        size_t len;
        uint8_t *buf = make_event("ok", id, &len);
        ck_assert_int_eq(cc_consume_one(&cfg, buf, len, NULL, 0), -EINVAL);
        free(buf);
        ck_assert_ptr_null(cc_consumer_start(&cfg, err, sizeof(err)));
        ck_assert_int_eq(atomic_load(&st.calls), 0);
        cc_kafka_producer_free(producer);
        cc_db_pool_free(pool);
}
END_TEST

static void suite_setup(void)
{
        cc_test_unique("cns", prefix, sizeof(prefix));
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(prefix);
}

static Suite *suite(void)
{
        Suite *s = suite_create("consume");
        TCase *tc = tcase_create("consumer");
        tcase_set_timeout(tc, 90);
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, consume_one_refuses_an_invalid_schema);
        tcase_add_test(tc, consume_applies_a_redelivered_event_once);
        tcase_add_test(tc, consume_sends_a_poison_message_to_the_dlq_and_goes_on);
        tcase_add_test(tc, consume_rejected_event_goes_to_dlq_and_transient_failure_is_retried);
        tcase_add_test(tc, consume_resumes_from_stored_offsets_after_restart);
        tcase_add_test(tc, consume_batch_applies_in_one_transaction_and_skips_duplicates);
        tcase_add_test(tc, consume_batch_dead_letters_only_the_rejected_event);
        tcase_add_test(tc, consume_batch_survives_a_lost_connection_without_applying_twice);
        tcase_add_test(tc, consume_skips_events_committed_before_a_crash_as_duplicates);
        tcase_add_test(tc, consume_applies_waiting_messages_in_few_transactions);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
