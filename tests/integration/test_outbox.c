#include "cc/event.h"
#include "cc/kafka.h"
#include "cc/migrate.h"
#include "cc/outbox.h"
#include "cc/util.h"
#include "testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ORG "6f1c1f4e-5a55-4c1e-9a53-0c7d2b3c1a10"

/* Every schema a test makes starts with this prefix (made by the parent process, which drops
 * them all at the end, also after a failed test). */
static char prefix[48];

struct fixture {
        char schema[64], topic[80];
        struct cc_db_pool *pool;
        struct cc_kafka_producer *producer;
};

static void fixture_open(struct fixture *f, const char *const *producer_conf)
{
        char err[256];
        cc_test_unique(prefix, f->schema, sizeof(f->schema));
        snprintf(f->topic, sizeof(f->topic), "cc.test.%s", f->schema);
        cc_test_topic(f->topic, 3);
        /* The pool's sessions use the schema, as a service's do. */
        f->pool = cc_test_pool(f->schema, 4, 10000);
        struct cc_db_conn *conn = cc_test_acquire(f->pool);
        int r = cc_migrate_run(conn, f->schema, &cc_outbox_migration, 1, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate: %s", err);
        cc_db_release(conn);
        f->producer = cc_test_producer("outbox-test", NULL, NULL, producer_conf);
}

static void fixture_close(struct fixture *f)
{
        ck_assert_int_eq(cc_kafka_producer_flush(f->producer, 10000), 0);
        cc_kafka_producer_free(f->producer);
        cc_db_pool_free(f->pool);
        ck_assert_int_eq(cc_test_drop_schemas(f->schema), 1);
}

static struct cc_outbox_relay *relay_start(struct fixture *f, struct cc_kafka_producer *producer,
                                           int batch, int poll_ms)
{
        const struct cc_outbox_relay_config cfg = {
            .conninfo = cc_test_env("CC_TEST_DATABASE_URL"),
            .schema = f->schema,
            .producer = producer,
            .batch_size = batch,
            .poll_interval_ms = poll_ms,
        };
        struct cc_outbox_relay *relay = cc_outbox_relay_start(&cfg);
        ck_assert_ptr_nonnull(relay);
        return relay;
}

/* Adds one user.created event whose occurred_at_ms carries seq (the order it was written in). */
static void add_event(struct cc_db_conn *conn, const char *topic, const char *key, int64_t seq,
                      char ret_id[CC_UUID_LEN + 1])
{
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
        Cc__Events__V1__UserCreated created = CC__EVENTS__V1__USER_CREATED__INIT;
        user.user_id = (char *)key;
        created.user = &user;
        cc_event_init(&env, "user.created", ORG, 1000 + seq, "outbox-test", NULL, ret_id);
        env.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
        env.user_created = &created;
        size_t len;
        uint8_t *buf = cc_event_pack(&env, &len);
        int r = cc_outbox_add(conn, topic, key, ret_id, env.type, env.traceparent, buf, len);
        free(buf);
        ck_assert_msg(r == 0, "outbox add: %s", cc_db_error(conn));
}

/* Writes n events in transactions of per_tx, keys round-robin over nkeys; ids go to ret_ids. */
static void write_events(struct fixture *f, int n, int per_tx, int nkeys,
                         char (*ret_ids)[CC_UUID_LEN + 1])
{
        struct cc_db_conn *conn = cc_test_acquire(f->pool);
        for (int i = 0; i < n; i += per_tx) {
                ck_assert_int_eq(cc_db_begin(conn), 0);
                for (int j = i; j < n && j < i + per_tx; j++) {
                        char key[32];
                        snprintf(key, sizeof(key), "key-%d", j % nkeys);
                        add_event(conn, f->topic, key, j, ret_ids[j]);
                }
                int r = cc_db_commit(conn);
                ck_assert_msg(r == 0, "commit: %s", cc_db_error(conn));
        }
        cc_db_release(conn);
}

struct seen {
        char event_id[CC_UUID_LEN + 1];
        char key[32];
        int64_t seq;
        int64_t at_us;
};

struct collector {
        struct cc_kafka_consumer *kc;
        struct seen *items;
        size_t n, cap, distinct;
};

static void collector_open(struct collector *c, const char *topic)
{
        memset(c, 0, sizeof(*c));
        c->kc = cc_test_consumer(topic, NULL, NULL);
}

static void collector_close(struct collector *c)
{
        cc_kafka_consumer_free(c->kc);
        free(c->items);
}

static bool collector_has(const struct collector *c, const char *event_id)
{
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].event_id, event_id) == 0)
                        return true;
        return false;
}

static bool header_is(const struct cc_kafka_message *msg, const char *name, const char *want)
{
        size_t len = 0;
        const void *v = cc_kafka_message_header(msg, name, &len);
        return v && len == strlen(want) && memcmp(v, want, len) == 0;
}

/* Reads messages until `distinct` different events were seen or timeout_ms passed. Every
 * message must be a valid envelope whose headers repeat its type, id and traceparent. */
static void collect(struct collector *c, size_t distinct, int timeout_ms)
{
        int64_t deadline = cc_monotonic_us() + (int64_t)timeout_ms * 1000;
        struct cc_kafka_message msg;
        while (c->distinct < distinct && cc_test_consume(c->kc, deadline, &msg) == 0) {
                Cc__Events__V1__Envelope *env = cc_event_unpack(msg.value, msg.value_len);
                ck_assert_msg(env != NULL, "undecodable message on %s", msg.topic);
                ck_assert(header_is(&msg, "type", env->type));
                ck_assert(header_is(&msg, "event_id", env->event_id));
                ck_assert(header_is(&msg, "traceparent", env->traceparent));
                ck_assert_uint_eq(msg.key_len, strlen(env->user_created->user->user_id));
                ck_assert(memcmp(msg.key, env->user_created->user->user_id, msg.key_len) == 0);
                if (!collector_has(c, env->event_id))
                        c->distinct++;
                if (c->n == c->cap) {
                        c->cap = c->cap ? c->cap * 2 : 256;
                        c->items = cc_xrealloc(c->items, c->cap * sizeof(*c->items));
                }
                struct seen *s = &c->items[c->n++];
                snprintf(s->event_id, sizeof(s->event_id), "%s", env->event_id);
                snprintf(s->key, sizeof(s->key), "%s", env->user_created->user->user_id);
                s->seq = env->occurred_at_ms - 1000;
                s->at_us = cc_monotonic_us();
                cc_event_free(env);
                cc_kafka_message_release(&msg);
        }
}

/* Kicks the relay (its next poll may be far away) until its backlog is want; false when
 * timeout_ms passed first. */
static bool wait_backlog(struct cc_outbox_relay *relay, int64_t want, int timeout_ms)
{
        return CC_TEST_WAIT(cc_outbox_backlog(relay) == want ||
                                (cc_outbox_relay_kick(relay), false),
                            timeout_ms, 50);
}

/* Waits until every outbox row has published_at and the relay's backlog says 0. */
static void wait_drained(struct fixture *f, struct cc_outbox_relay *relay, int timeout_ms)
{
        char *sql =
            cc_xasprintf("SELECT count(*) FROM %s.outbox WHERE published_at IS NULL", f->schema);
        int64_t t0 = cc_monotonic_us();
        long long unpublished;
        CC_TEST_WAIT((unpublished = cc_test_pool_query_int(f->pool, sql, NULL)) == 0, timeout_ms,
                     50);
        ck_assert_int_eq(unpublished, 0);
        int left_ms = timeout_ms - (int)((cc_monotonic_us() - t0) / 1000);
        wait_backlog(relay, 0, left_ms);
        ck_assert_int_eq(cc_outbox_backlog(relay), 0);
        free(sql);
}

START_TEST(outbox_publishes_each_committed_event_once_in_order)
{
        enum { N = 500, KEYS = 5 };
        struct fixture f;
        fixture_open(&f, NULL);
        struct collector c;
        collector_open(&c, f.topic);
        /* Two replicas on one schema: only the one holding the lock may publish. */
        struct cc_kafka_producer *other = cc_test_producer("outbox-test", NULL, NULL, NULL);
        struct cc_outbox_relay *a = relay_start(&f, f.producer, 100, 1000);
        struct cc_outbox_relay *b = relay_start(&f, other, 100, 1000);

        static char ids[N][CC_UUID_LEN + 1];
        write_events(&f, N, 10, KEYS, ids);
        collect(&c, N, 30000);
        ck_assert_uint_eq(c.distinct, N);
        for (int i = 0; i < N; i++)
                ck_assert_msg(collector_has(&c, ids[i]), "event %d never arrived", i);
        /* Nothing failed, so nothing may arrive twice. */
        ck_assert_uint_eq(c.n, N);
        int64_t last[KEYS];
        for (int k = 0; k < KEYS; k++)
                last[k] = -1;
        for (size_t i = 0; i < c.n; i++) {
                int k = atoi(c.items[i].key + strlen("key-"));
                ck_assert_msg(c.items[i].seq > last[k], "key-%d: %lld after %lld", k,
                              (long long)c.items[i].seq, (long long)last[k]);
                last[k] = c.items[i].seq;
        }

        uint64_t by_a = cc_outbox_published(a), by_b = cc_outbox_published(b);
        wait_drained(&f, by_a ? a : b, 10000);
        by_a = cc_outbox_published(a);
        by_b = cc_outbox_published(b);
        ck_assert_uint_eq(by_a + by_b, N);
        ck_assert_msg(by_a == 0 || by_b == 0, "both replicas published (%llu, %llu)",
                      (unsigned long long)by_a, (unsigned long long)by_b);

        cc_outbox_relay_stop(a, 5000);
        cc_outbox_relay_stop(b, 5000);
        cc_kafka_producer_free(other);
        collector_close(&c);
        fixture_close(&f);
}
END_TEST

START_TEST(outbox_keeps_events_through_a_broker_outage)
{
        enum { N = 100 };
        /* Deliveries time out during the outage, so the relay must send those rows again. */
        const char *const conf[] = {"message.timeout.ms", "2000", NULL};
        struct fixture f;
        fixture_open(&f, conf);
        struct cc_outbox_relay *relay = relay_start(&f, f.producer, 50, 200);

        cc_test_devbroker_ok("down");
        static char ids[N][CC_UUID_LEN + 1];
        write_events(&f, N, 5, 4, ids); /* every commit succeeds with Kafka down */
        wait_backlog(relay, N, 5000);
        ck_assert_int_eq(cc_outbox_backlog(relay), N);
        ck_assert_uint_eq(cc_outbox_published(relay), 0);
        /* Long enough for the first deliveries to be reported failed. */
        usleep(3000000);
        ck_assert_int_eq(cc_outbox_backlog(relay), N);
        cc_test_devbroker_ok("up");

        struct collector c;
        collector_open(&c, f.topic);
        collect(&c, N, 40000);
        ck_assert_uint_eq(c.distinct, N);
        for (int i = 0; i < N; i++)
                ck_assert_msg(collector_has(&c, ids[i]), "event %d never arrived", i);
        wait_drained(&f, relay, 20000);
        ck_assert_uint_eq(cc_outbox_published(relay), N);

        cc_outbox_relay_stop(relay, 5000);
        collector_close(&c);
        fixture_close(&f);
}
END_TEST

START_TEST(outbox_publishes_only_committed_events)
{
        struct fixture f;
        fixture_open(&f, NULL);
        struct collector c;
        collector_open(&c, f.topic);
        struct cc_outbox_relay *relay = relay_start(&f, f.producer, 100, 1000);

        char lost[CC_UUID_LEN + 1], kept[CC_UUID_LEN + 1];
        struct cc_db_conn *conn = cc_test_acquire(f.pool);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        add_event(conn, f.topic, "same-key", 1, lost);
        cc_db_rollback(conn);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        add_event(conn, f.topic, "same-key", 2, kept);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);

        /* Same key, so the rolled-back event would have come first on the same partition. */
        collect(&c, 1, 20000);
        ck_assert_uint_eq(c.n, 1);
        ck_assert_str_eq(c.items[0].event_id, kept);
        ck_assert(!collector_has(&c, lost));
        char *sql = cc_xasprintf("SELECT count(*) FROM %s.outbox", f.schema);
        ck_assert_int_eq(cc_test_pool_query_int(f.pool, sql, NULL), 1);
        free(sql);
        wait_drained(&f, relay, 10000);

        /* An id taken before the relay passed a higher one, committed after: still published. */
        char early[CC_UUID_LEN + 1], later[CC_UUID_LEN + 1];
        struct cc_db_conn *slow = cc_test_acquire(f.pool);
        ck_assert_int_eq(cc_db_begin(slow), 0);
        add_event(slow, f.topic, "slow-key", 3, early);
        write_events(&f, 1, 1, 1, &later);
        collect(&c, 2, 20000);
        ck_assert(collector_has(&c, later));
        ck_assert_int_eq(cc_db_commit(slow), 0);
        cc_db_release(slow);
        collect(&c, 3, 20000);
        ck_assert_msg(collector_has(&c, early), "the late commit was never published");
        ck_assert_uint_eq(c.n, 3);
        wait_drained(&f, relay, 10000);

        cc_outbox_relay_stop(relay, 5000);
        collector_close(&c);
        fixture_close(&f);
}
END_TEST

START_TEST(outbox_notify_wakes_the_relay)
{
        struct fixture f;
        fixture_open(&f, NULL);
        struct collector c;
        collector_open(&c, f.topic);
        /* The backstop poll is far beyond the deadline below: only NOTIFY can explain it. */
        struct cc_outbox_relay *relay = relay_start(&f, f.producer, 100, 10000);

        /* The first event waits out the consumer's group join. */
        char first[CC_UUID_LEN + 1], second[CC_UUID_LEN + 1];
        write_events(&f, 1, 1, 1, &first);
        collect(&c, 1, 20000);
        ck_assert(collector_has(&c, first));
        wait_drained(&f, relay, 5000);

        struct cc_db_conn *conn = cc_test_acquire(f.pool);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        add_event(conn, f.topic, "key-0", 1, second);
        ck_assert_int_eq(cc_db_commit(conn), 0);
        int64_t committed = cc_monotonic_us();
        cc_db_release(conn);
        collect(&c, 2, 2000);
        ck_assert_msg(collector_has(&c, second), "not published within 2 s of its commit");
        ck_assert_int_lt(c.items[c.n - 1].at_us - committed, 2000000);

        cc_outbox_relay_stop(relay, 5000);
        collector_close(&c);
        fixture_close(&f);
}
END_TEST

START_TEST(outbox_add_refuses_bad_input_and_autocommit)
{
        char schema[64], err[256];
        cc_test_unique(prefix, schema, sizeof(schema));
        struct cc_db_pool *pool = cc_test_pool(schema, 4, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        ck_assert_int_eq(cc_migrate_run(conn, schema, &cc_outbox_migration, 1, err, sizeof(err)),
                         0);
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        /* Outside a transaction the event would be published even if the caller's own write
         * failed afterwards. */
        ck_assert_int_eq(cc_outbox_add(conn, "cc.users.v1", "k", id, "user.created", NULL, "x", 1),
                         -EINVAL);
        ck_assert_int_eq(cc_db_begin(conn), 0);
        ck_assert_int_eq(
            cc_outbox_add(conn, "cc.users.v1", "k", "not-a-uuid", "user.created", NULL, "x", 1),
            -EINVAL);
        ck_assert_int_eq(cc_outbox_add(conn, "cc.users.v1", "k", id, "user.created", NULL, "x", 0),
                         -EINVAL);
        /* The refused calls did not abort the transaction. */
        ck_assert_int_eq(cc_outbox_add(conn, "cc.users.v1", "k", id, "user.created", "", "x", 1),
                         0);
        ck_assert_int_eq(cc_outbox_add(conn, "cc.users.v1", "k", id, "user.created", "", "x", 1),
                         -EEXIST);
        cc_db_rollback(conn);
        const struct cc_outbox_relay_config bad = {.conninfo = "x", .schema = "Bad-Name"};
        ck_assert_ptr_null(cc_outbox_relay_start(&bad));
        cc_db_release(conn);
        cc_db_pool_free(pool);
        ck_assert_int_eq(cc_test_drop_schemas(schema), 1);
}
END_TEST

static void suite_setup(void)
{
        cc_test_unique("obx", prefix, sizeof(prefix));
}

static void suite_teardown(void)
{
        cc_test_drop_schemas(prefix);
}

/* Runs in the parent process, so the brokers come back even when the outage test failed
 * half-way (a failed check ends the forked test at once). */
static void brokers_up(void)
{
        char answer[128];
        cc_test_devbroker("up", answer, sizeof(answer));
}

static Suite *suite(void)
{
        Suite *s = suite_create("outbox");
        TCase *tc = tcase_create("relay");
        tcase_set_timeout(tc, 90);
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, outbox_add_refuses_bad_input_and_autocommit);
        tcase_add_test(tc, outbox_publishes_each_committed_event_once_in_order);
        tcase_add_test(tc, outbox_publishes_only_committed_events);
        tcase_add_test(tc, outbox_notify_wakes_the_relay);
        suite_add_tcase(s, tc);

        TCase *outage = tcase_create("outage");
        tcase_set_timeout(outage, 120);
        tcase_add_unchecked_fixture(outage, suite_setup, suite_teardown);
        tcase_add_unchecked_fixture(outage, NULL, brokers_up);
        tcase_add_test(outage, outbox_keeps_events_through_a_broker_outage);
        suite_add_tcase(s, outage);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
