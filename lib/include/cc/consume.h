/* Idempotent consumer: each Kafka message is decoded as an event envelope and handed to the
 * service's handler inside a database transaction that also records the event id in
 * <schema>.processed_events. A duplicate is skipped; a message that cannot be decoded goes to
 * cc.dlq.<service>; the offset is stored only after the transaction commits.
 *
 * Messages already fetched are applied several to a transaction (batch_max), pipelined: the
 * handler's statements whose results it does not take are only sent (cc_db_pipeline_begin), so
 * their errors may surface at a later statement. Any failure in a batch rolls all of it back and
 * the same messages are applied again one per transaction, unpipelined, where each error is the
 * handler's own: a rejected message is dead-lettered alone and a transient error retried. */
#pragma once

#include "cc/db.h"
#include "cc/event.h"
#include "cc/kafka.h"

/* Applies one event inside the open transaction on conn. Return 0 to commit; -EBADMSG to send
 * the message to the DLQ (a permanent problem with this event: it is recorded as processed);
 * any other negative errno rolls back and the message is retried. */
typedef int (*cc_consume_handler_fn)(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env,
                                     void *userdata);

struct cc_consumer_config {
        const char *service; /* "analytics": group id and DLQ topic cc.dlq.<service> */
        const char *schema;  /* where processed_events lives */
        const char *brokers;
        const char *const *topics;
        size_t ntopics;
        struct cc_db_pool *pool;
        /* borrowed; created with on_delivery = NULL (cc_kafka_sink) */
        struct cc_kafka_producer *dlq_producer;
        cc_consume_handler_fn handler;
        void *userdata;
        const char *const *extra_conf; /* librdkafka overrides, may be NULL */
        /* Most messages applied in one transaction: 0 for CC_CONSUME_BATCH_DEFAULT, 1 for one
         * per transaction. A batch closes early when no message is waiting. */
        int batch_max;
};

#define CC_CONSUME_BATCH_DEFAULT 256
#define CC_CONSUME_BATCH_LIMIT   4096

struct cc_consumer;

/* Starts a thread that consumes until stopped. NULL when the consumer cannot be created. */
struct cc_consumer *cc_consumer_start(const struct cc_consumer_config *cfg, char *err,
                                      size_t err_len);
void cc_consumer_stop(struct cc_consumer *c);
/* Counters for tests and /metrics. */
uint64_t cc_consumer_applied(struct cc_consumer *c);
uint64_t cc_consumer_duplicates(struct cc_consumer *c);
uint64_t cc_consumer_dead_lettered(struct cc_consumer *c);
/* Messages behind the high watermarks of the assigned partitions, as measured by the consumer
 * thread about once a second (cc_kafka_consumer_lag); -1 while unknown. For /metrics. */
int64_t cc_consumer_lag(struct cc_consumer *c);

/* The single-message step the thread runs, exposed for unit tests: decode, dedupe, apply,
 * commit. Returns 0 when the message is done with (applied, duplicate or dead-lettered) and
 * its offset may be stored; negative errno when it must be retried. */
int cc_consume_one(const struct cc_consumer_config *cfg, const void *value, size_t len,
                   const char *key, size_t key_len) CC_MUSTCHECK;
/* The batch step the thread runs on the messages it fetched (only value and key are read; at
 * most CC_CONSUME_BATCH_LIMIT), exposed for tests: applied in one transaction, or one by one
 * after a failure. Stores no offsets. Returns how many leading messages are done with (n when
 * all are): their effects are committed and their offsets may be stored; the rest must be
 * retried. A negative errno when not even the first one is done. */
int cc_consume_batch(const struct cc_consumer_config *cfg, const struct cc_kafka_message *msgs,
                     size_t n) CC_MUSTCHECK;
