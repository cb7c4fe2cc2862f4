/* Kafka over librdkafka: an idempotent producer (acks=all) with per-message delivery reports,
 * and a consumer-group consumer whose offsets are stored only after the caller has processed a
 * message. Bootstrap servers come from CC_KAFKA_BROKERS. */
#pragma once

#include "cc/util.h"

struct cc_kafka_producer;
struct cc_kafka_consumer;

struct cc_kafka_header {
        const char *name;
        const void *value;
        size_t len;
};

/* Called from cc_kafka_producer_poll/flush on the polling thread, once per produced message:
 * err 0 = persisted by the cluster (acks=all), negative errno otherwise. opaque is the value
 * given to produce. */
typedef void (*cc_kafka_delivery_fn)(void *opaque, int err, void *userdata);

/* A per-message delivery target. A producer created with on_delivery = NULL treats each
 * message's non-NULL opaque as a struct cc_kafka_sink and calls its done(), so several modules
 * (the outbox relay, the consumer's dead-letter path) can share one producer and each get its
 * own reports, whichever thread polls it. */
struct cc_kafka_sink {
        void (*done)(struct cc_kafka_sink *sink, int err);
};

/* client_id names the service. Returns NULL (and fills err) when librdkafka refuses the config.
 * extra_conf: NULL-terminated name/value pairs applied last (tests: timeouts), may be NULL. */
struct cc_kafka_producer *cc_kafka_producer_new(const char *brokers, const char *client_id,
                                                cc_kafka_delivery_fn on_delivery, void *userdata,
                                                const char *const *extra_conf, char *err,
                                                size_t err_len);
/* Flushes for at most 5 s, then destroys. NULL is a no-op. */
void cc_kafka_producer_free(struct cc_kafka_producer *p);
/* Enqueues one message (copied). Keyed messages of one key keep their order. -ENOBUFS when the
 * local queue is full, -EINVAL on a bad topic. */
int cc_kafka_produce(struct cc_kafka_producer *p, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t value_len,
                     const struct cc_kafka_header *headers, size_t nheaders,
                     void *opaque) CC_MUSTCHECK;
/* Serves delivery reports; returns how many were served. */
int cc_kafka_producer_poll(struct cc_kafka_producer *p, int timeout_ms);
/* Waits until everything enqueued is delivered or failed; -ETIMEDOUT otherwise. */
int cc_kafka_producer_flush(struct cc_kafka_producer *p, int timeout_ms) CC_MUSTCHECK;
/* Number of messages enqueued and not yet reported. */
int cc_kafka_producer_outq_len(struct cc_kafka_producer *p);
/* 0 when the cluster answered a metadata request within timeout_ms (readiness). */
int cc_kafka_producer_ping(struct cc_kafka_producer *p, int timeout_ms) CC_MUSTCHECK;

struct cc_kafka_message {
        const char *topic;
        int32_t partition;
        int64_t offset;
        const void *key;
        size_t key_len;
        const void *value;
        size_t value_len;
        void *handle; /* the rd_kafka_message_t; owned by the consumer */
};

/* A consumer in group group_id subscribed to topics (auto.offset.reset=earliest,
 * enable.auto.offset.store=false). */
struct cc_kafka_consumer *cc_kafka_consumer_new(const char *brokers, const char *group_id,
                                                const char *const *topics, size_t ntopics,
                                                const char *const *extra_conf, char *err,
                                                size_t err_len);
/* Commits stored offsets and leaves the group. NULL is a no-op. */
void cc_kafka_consumer_free(struct cc_kafka_consumer *c);
/* Waits up to timeout_ms for one message: 0 and *ret_msg filled (release with
 * cc_kafka_message_release), -EAGAIN when none arrived. Partition EOF and transient errors
 * are returned as -EAGAIN. */
int cc_kafka_consume(struct cc_kafka_consumer *c, int timeout_ms,
                     struct cc_kafka_message *ret_msg) CC_MUSTCHECK;
/* Reads a header of the message; NULL when absent. */
const void *cc_kafka_message_header(const struct cc_kafka_message *msg, const char *name,
                                    size_t *ret_len);
/* Marks the message processed: its offset+1 will be committed. Call only after the effects of
 * the message are durable. */
void cc_kafka_message_store(struct cc_kafka_consumer *c, const struct cc_kafka_message *msg);
void cc_kafka_message_release(struct cc_kafka_message *msg);
/* Sum over assigned partitions of (high watermark - position), -1 when unknown. */
int64_t cc_kafka_consumer_lag(struct cc_kafka_consumer *c);
