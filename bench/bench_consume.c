/* Idempotent consumer throughput with the analytics handler: produces N mixed analytics events
 * (call.started/answered/updated/ended and agent.status_changed, keyed by call and agent as
 * telephony keys them) to a fresh topic of the development broker (not timed), then starts one
 * consumer (cc/consume.h, handler an_apply) on a fresh, migrated schema and times it until every
 * event is applied. Usage: bench_consume [events, default 50000] [batch_max, default 0 = the
 * library's default; 1 = one event per transaction] with CC_DATABASE_URL, CC_KAFKA_BROKERS and
 * CC_DEVBROKER_CONTROL (host:port of the devbroker's control port, to create the topic) set. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "analytics.h"
#include "cc/consume.h"
#include "cc/kafka.h"
#include "cc/migrate.h"
#include "cc/outbox.h"

#define ORG     "6f1c1f4e-5a55-4c1e-9a53-0c7d2b3c1a10"
#define NAGENTS 200
#define NQUEUES 10

static int devbroker_topic(const char *control, const char *topic)
{
        char host[64], line[256], answer[64] = "";
        int port = 0;
        if (sscanf(control, "%63[^:]:%d", host, &port) != 2)
                return -1;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -1;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        int n = snprintf(line, sizeof(line), "topic %s 3\n", topic);
        ssize_t got = write(fd, line, (size_t)n) == n ? read(fd, answer, sizeof(answer) - 1) : -1;
        close(fd);
        return got > 0 && strncmp(answer, "ok", 2) == 0 ? 0 : -1;
}

static int send_event(struct cc_kafka_producer *p, const char *topic, const char *key,
                      Cc__Events__V1__Envelope *env)
{
        size_t len = 0;
        uint8_t *buf = cc_event_pack(env, &len);
        int r;
        while ((r = cc_kafka_produce(p, topic, key, strlen(key), buf, len, NULL, 0, NULL)) ==
               -ENOBUFS)
                cc_kafka_producer_poll(p, 10);
        free(buf);
        return r;
}

/* One call's life (started, answered, in progress, completed, ended) and its agent going BUSY
 * and back to AVAILABLE: seven events. Returns how many were produced, or -1. */
static int produce_call(struct cc_kafka_producer *p, const char *topic, int i, char **agents,
                        char **queues)
{
        char call_id[CC_UUID_LEN + 1], event_id[CC_UUID_LEN + 1];
        cc_uuid_v4(call_id);
        const char *agent = agents[i % NAGENTS], *queue = queues[i % NQUEUES];
        int64_t start = 1735689600000LL + (int64_t)i * 4000, answer = start + 5000,
                end = answer + 60000;
        Cc__Events__V1__Envelope env;
        int n = 0;

        Cc__Events__V1__CallStarted started = CC__EVENTS__V1__CALL_STARTED__INIT;
        started.call_id = call_id;
        started.direction = CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
        started.status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_QUEUED;
        started.from_number = "+15551230000";
        started.to_number = "+15550000001";
        started.agent_id = started.campaign_id = "";
        started.queue_id = (char *)queue;
        started.started_at_ms = start;
        cc_event_init(&env, "call.started", ORG, start, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED;
        env.call_started = &started;
        n += send_event(p, topic, call_id, &env) == 0;

        Cc__Events__V1__CallAnswered answered = CC__EVENTS__V1__CALL_ANSWERED__INIT;
        answered.call_id = call_id;
        answered.agent_id = (char *)agent;
        answered.queue_id = (char *)queue;
        answered.answered_at_ms = answer;
        answered.queue_wait_seconds = 5;
        cc_event_init(&env, "call.answered", ORG, answer, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED;
        env.call_answered = &answered;
        n += send_event(p, topic, call_id, &env) == 0;

        Cc__Events__V1__CallUpdated updated = CC__EVENTS__V1__CALL_UPDATED__INIT;
        updated.call_id = call_id;
        updated.agent_id = (char *)agent;
        updated.queue_id = (char *)queue;
        updated.status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS;
        updated.changed_at_ms = answer;
        cc_event_init(&env, "call.updated", ORG, answer, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
        env.call_updated = &updated;
        n += send_event(p, topic, call_id, &env) == 0;
        updated.status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
        updated.changed_at_ms = end;
        cc_event_init(&env, "call.updated", ORG, end, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
        env.call_updated = &updated;
        n += send_event(p, topic, call_id, &env) == 0;

        Cc__Events__V1__CallEnded ended = CC__EVENTS__V1__CALL_ENDED__INIT;
        ended.call_id = call_id;
        ended.status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
        ended.direction = CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
        ended.agent_id = (char *)agent;
        ended.queue_id = (char *)queue;
        ended.campaign_id = ended.contact_id = ended.disposition = "";
        ended.started_at_ms = start;
        ended.answered_at_ms = answer;
        ended.ended_at_ms = end;
        ended.duration_seconds = 65;
        ended.talk_seconds = 55;
        ended.hold_seconds = 5;
        ended.wrap_up_seconds = 10;
        ended.queue_wait_seconds = 5;
        ended.from_number = "+15551230000";
        ended.to_number = "+15550000001";
        ended.service_level_seconds = 20;
        ended.queue_name = "bench";
        cc_event_init(&env, "call.ended", ORG, end, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        env.call_ended = &ended;
        n += send_event(p, topic, call_id, &env) == 0;

        Cc__Events__V1__AgentStatusChanged status = CC__EVENTS__V1__AGENT_STATUS_CHANGED__INIT;
        status.agent_id = (char *)agent;
        status.user_id = (char *)agent;
        status.status = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BUSY;
        status.previous_status = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_AVAILABLE;
        status.previous_duration_seconds = 30;
        status.changed_at_ms = answer;
        status.current_load = 1;
        status.max_capacity = 1;
        cc_event_init(&env, "agent.status_changed", ORG, answer, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED;
        env.agent_status_changed = &status;
        n += send_event(p, topic, agent, &env) == 0;
        status.status = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_AVAILABLE;
        status.previous_status = CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_BUSY;
        status.previous_duration_seconds = 70;
        status.changed_at_ms = end + 10000;
        status.current_load = 0;
        cc_event_init(&env, "agent.status_changed", ORG, end + 10000, "bench", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED;
        env.agent_status_changed = &status;
        n += send_event(p, topic, agent, &env) == 0;
        return n == 7 ? n : -1;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 50000;
        int batch_max = argc > 2 ? atoi(argv[2]) : 0;
        const char *url = getenv("CC_DATABASE_URL");
        const char *brokers = getenv("CC_KAFKA_BROKERS");
        const char *control = getenv("CC_DEVBROKER_CONTROL");
        if (!url || !brokers || !control || n <= 0) {
                fprintf(stderr,
                        "usage: CC_DATABASE_URL=... CC_KAFKA_BROKERS=... "
                        "CC_DEVBROKER_CONTROL=host:port %s [events] [batch_max]\n",
                        argv[0]);
                return 2;
        }
        char schema[64], topic[96], err[512];
        snprintf(schema, sizeof(schema), "consume_bench_%d", (int)getpid());
        snprintf(topic, sizeof(topic), "cc.bench.%s", schema);
        if (devbroker_topic(control, topic) < 0) {
                fprintf(stderr, "cannot create %s through %s\n", topic, control);
                return 1;
        }
        char *conninfo = cc_db_conninfo_with_schema(url, schema);
        struct cc_db_pool *pool = cc_db_pool_new(conninfo, 2, 5000);
        free(conninfo);
        struct cc_db_conn *conn = NULL;
        if (!pool || cc_db_acquire(pool, &conn) < 0) {
                fprintf(stderr, "cannot reach %s\n", url);
                return 1;
        }
        int rc = 1;
        struct cc_kafka_producer *producer = NULL;
        struct cc_consumer *consumer = NULL;
        char *agents[NAGENTS] = {0}, *queues[NQUEUES] = {0};
        const struct cc_service_def *def = analytics_service_def();
        struct cc_migration *migs = cc_xcalloc(def->nmigrations + 1, sizeof(*migs));
        migs[0] = cc_outbox_migration;
        memcpy(migs + 1, def->migrations, def->nmigrations * sizeof(*migs));
        int r = cc_migrate_run(conn, schema, migs, def->nmigrations + 1, err, sizeof(err));
        free(migs);
        cc_db_release(conn);
        conn = NULL;
        if (r < 0) {
                fprintf(stderr, "migration: %s\n", err);
                goto out;
        }

        producer =
            cc_kafka_producer_new(brokers, "bench-consume", NULL, NULL, NULL, err, sizeof(err));
        if (!producer) {
                fprintf(stderr, "producer: %s\n", err);
                goto out;
        }
        for (int i = 0; i < NAGENTS; i++)
                cc_uuid_v4(agents[i] = cc_xmalloc(CC_UUID_LEN + 1));
        for (int i = 0; i < NQUEUES; i++)
                cc_uuid_v4(queues[i] = cc_xmalloc(CC_UUID_LEN + 1));
        int produced = 0;
        for (int i = 0; produced < n; i++) {
                if (produce_call(producer, topic, i, agents, queues) < 0) {
                        fprintf(stderr, "produce failed\n");
                        goto out;
                }
                produced += 7;
        }
        if (cc_kafka_producer_flush(producer, 60000) < 0) {
                fprintf(stderr, "flush timed out\n");
                goto out;
        }

        const char *topics[] = {topic};
        const struct cc_consumer_config cfg = {
            .service = schema,
            .schema = schema,
            .brokers = brokers,
            .topics = topics,
            .ntopics = 1,
            .pool = pool,
            .dlq_producer = producer,
            .handler = an_apply,
            .batch_max = batch_max,
        };
        consumer = cc_consumer_start(&cfg, err, sizeof(err));
        if (!consumer) {
                fprintf(stderr, "consumer: %s\n", err);
                goto out;
        }
        /* Timed from the first applied event: the group join before it is not the consumer's
         * speed. */
        while (cc_consumer_applied(consumer) == 0)
                usleep(1000);
        int64_t t0 = cc_monotonic_us();
        uint64_t base = cc_consumer_applied(consumer);
        uint64_t done = 0;
        int64_t deadline = t0 + 600 * 1000000LL;
        while ((done = cc_consumer_applied(consumer) + cc_consumer_duplicates(consumer) +
                       cc_consumer_dead_lettered(consumer)) < (uint64_t)produced &&
               cc_monotonic_us() < deadline)
                usleep(1000);
        double secs = (double)(cc_monotonic_us() - t0) / 1e6;
        printf("%d events (batch_max %d): %.2f s, %.0f events/s; applied %llu, duplicates %llu, "
               "dead-lettered %llu\n",
               produced, batch_max, secs, (double)(done - base) / secs,
               (unsigned long long)cc_consumer_applied(consumer),
               (unsigned long long)cc_consumer_duplicates(consumer),
               (unsigned long long)cc_consumer_dead_lettered(consumer));
        rc = done == (uint64_t)produced && cc_consumer_dead_lettered(consumer) == 0 ? 0 : 1;
out:
        cc_consumer_stop(consumer);
        cc_kafka_producer_free(producer);
        for (int i = 0; i < NAGENTS; i++)
                free(agents[i]);
        for (int i = 0; i < NQUEUES; i++)
                free(queues[i]);
        if (cc_db_acquire(pool, &conn) == 0) {
                char *drop = cc_xasprintf("DROP SCHEMA \"%s\" CASCADE", schema);
                if (cc_db_exec_script(conn, drop) < 0)
                        fprintf(stderr, "drop schema: %s\n", cc_db_error(conn));
                free(drop);
                cc_db_release(conn);
        }
        cc_db_pool_free(pool);
        return rc;
}
