/* Outbox relay throughput: commits N events into a fresh schema's outbox (not timed), then
 * starts the relay and times how long it takes until every row is acknowledged by the broker
 * and marked published. Usage: bench_outbox [events, default 100000] [batch, default 500]
 * with CC_DATABASE_URL and CC_KAFKA_BROKERS set (bench/run_outbox.sh does that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/event.h"
#include "cc/kafka.h"
#include "cc/migrate.h"
#include "cc/outbox.h"

static int fill(struct cc_db_conn *conn, int n)
{
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__CallUpdated upd = CC__EVENTS__V1__CALL_UPDATED__INIT;
        upd.status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS;
        upd.previous_status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_RINGING;
        char event_id[CC_UUID_LEN + 1], call_id[CC_UUID_LEN + 1];
        for (int i = 0; i < n; i += 1000) {
                if (cc_db_begin(conn) < 0)
                        return -1;
                for (int j = i; j < i + 1000 && j < n; j++) {
                        /* About a thousand calls, each with a run of updates, like real traffic. */
                        snprintf(call_id, sizeof(call_id), "00000000-0000-4000-8000-%012d",
                                 j % 997);
                        cc_event_init(&env, "call.updated", "6f1c1f4e-5a55-4c1e-9a53-0c7d2b3c1a10",
                                      0, "bench",
                                      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                      event_id);
                        upd.call_id = call_id;
                        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
                        env.call_updated = &upd;
                        size_t len = 0;
                        uint8_t *buf = cc_event_pack(&env, &len);
                        int r = cc_outbox_add(conn, "cc.calls.v1", call_id, event_id, env.type,
                                              env.traceparent, buf, len);
                        free(buf);
                        if (r < 0) {
                                fprintf(stderr, "outbox add: %s\n", cc_db_error(conn));
                                return -1;
                        }
                }
                if (cc_db_commit(conn) < 0)
                        return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 100000;
        int batch = argc > 2 ? atoi(argv[2]) : 500;
        const char *url = getenv("CC_DATABASE_URL");
        const char *brokers = getenv("CC_KAFKA_BROKERS");
        if (!url || !brokers || n <= 0) {
                fprintf(stderr,
                        "usage: CC_DATABASE_URL=... CC_KAFKA_BROKERS=... %s [events] "
                        "[batch]\n",
                        argv[0]);
                return 2;
        }
        char schema[64], err[512];
        snprintf(schema, sizeof(schema), "outbox_bench_%d", (int)getpid());
        char *conninfo = cc_db_conninfo_with_schema(url, schema);
        struct cc_db_pool *pool = cc_db_pool_new(conninfo, 2, 5000);
        free(conninfo);
        struct cc_db_conn *conn = NULL;
        if (!pool || cc_db_acquire(pool, &conn) < 0) {
                fprintf(stderr, "cannot reach %s\n", url);
                return 1;
        }
        int rc = 1;
        if (cc_migrate_run(conn, schema, &cc_outbox_migration, 1, err, sizeof(err)) < 0) {
                fprintf(stderr, "migration: %s\n", err);
                goto out;
        }
        int64_t t0 = cc_monotonic_us();
        if (fill(conn, n) < 0)
                goto out;
        printf("committed %d events in %.2f s\n", n, (double)(cc_monotonic_us() - t0) / 1e6);

        struct cc_kafka_producer *producer =
            cc_kafka_producer_new(brokers, "bench-outbox", NULL, NULL, NULL, err, sizeof(err));
        if (!producer) {
                fprintf(stderr, "producer: %s\n", err);
                goto out;
        }
        const struct cc_outbox_relay_config cfg = {
            .conninfo = url,
            .schema = schema,
            .producer = producer,
            .batch_size = batch,
            .poll_interval_ms = 1000,
        };
        t0 = cc_monotonic_us();
        struct cc_outbox_relay *relay = cc_outbox_relay_start(&cfg);
        int64_t deadline = t0 + 300 * 1000000LL;
        while (cc_outbox_published(relay) < (uint64_t)n && cc_monotonic_us() < deadline)
                usleep(5000);
        double secs = (double)(cc_monotonic_us() - t0) / 1e6;
        uint64_t published = cc_outbox_published(relay);
        cc_outbox_relay_stop(relay, 10000);
        cc_kafka_producer_free(producer);
        printf("published %llu of %d events in %.2f s: %.0f events/s (batch %d)\n",
               (unsigned long long)published, n, secs, (double)published / secs, batch);
        rc = published == (uint64_t)n ? 0 : 1;
out : {
        char drop[128];
        snprintf(drop, sizeof(drop), "DROP SCHEMA %s CASCADE", schema);
        if (cc_db_exec_script(conn, drop) < 0)
                fprintf(stderr, "cleanup: %s\n", cc_db_error(conn));
}
        cc_db_release(conn);
        cc_db_pool_free(pool);
        return rc;
}
