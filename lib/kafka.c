#include "cc/kafka.h"

#include "cc/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

/* Lag is read on the metrics path: a cluster that does not answer must cost little. */
#define LAG_QUERY_TIMEOUT_MS 500
#define FREE_FLUSH_MS        5000

struct cc_kafka_producer {
        rd_kafka_t *rk;
        cc_kafka_delivery_fn on_delivery;
        void *userdata;
};

struct cc_kafka_consumer {
        rd_kafka_t *rk;
};

struct setting {
        const char *name;
        const char *value;
};

static int errno_from_kafka(rd_kafka_resp_err_t err)
{
        switch (err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
                return 0;
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
                return -ENOBUFS;
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        case RD_KAFKA_RESP_ERR__INVALID_ARG:
                return -EINVAL;
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
                return -EMSGSIZE;
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        case RD_KAFKA_RESP_ERR__TIMED_OUT:
        case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
                return -ETIMEDOUT;
        case RD_KAFKA_RESP_ERR__TRANSPORT:
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        case RD_KAFKA_RESP_ERR__RESOLVE:
                return -ECONNREFUSED;
        case RD_KAFKA_RESP_ERR__DESTROY:
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
        case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
                return -ECANCELED;
        case RD_KAFKA_RESP_ERR__AUTHENTICATION:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
                return -EACCES;
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
                return -EAGAIN;
        case RD_KAFKA_RESP_ERR__FATAL:
                return -ENOTRECOVERABLE;
        default:
                return -EIO;
        }
}

/* librdkafka reports from its own threads; what it says matters to whoever debugs, not to the
 * caller, so it goes to the debug log only. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        cc_log_debug(NULL, "rdkafka %s [%d] %s: %s", rd_kafka_name(rk), level, fac, buf);
}

/* Applies our defaults, then the caller's NULL-terminated name/value pairs, which win. */
static int configure(rd_kafka_conf_t *conf, const struct setting *defaults, size_t ndefaults,
                     const char *const *extra_conf, char *err, size_t err_len)
{
        char errstr[512];
        for (size_t i = 0; i < ndefaults; i++) {
                if (rd_kafka_conf_set(conf, defaults[i].name, defaults[i].value, errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        cc_set_error(err, err_len, "%s: %s", defaults[i].name, errstr);
                        return -EINVAL;
                }
        }
        for (size_t i = 0; extra_conf && extra_conf[i]; i += 2) {
                if (!extra_conf[i + 1]) {
                        cc_set_error(err, err_len, "%s: missing value", extra_conf[i]);
                        return -EINVAL;
                }
                if (rd_kafka_conf_set(conf, extra_conf[i], extra_conf[i + 1], errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        cc_set_error(err, err_len, "%s: %s", extra_conf[i], errstr);
                        return -EINVAL;
                }
        }
        rd_kafka_conf_set_log_cb(conf, on_log);
        return 0;
}

static void on_delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        struct cc_kafka_producer *p = opaque;
        if (p->on_delivery) {
                p->on_delivery(rkm->_private, errno_from_kafka(rkm->err), p->userdata);
        } else if (rkm->_private) {
                struct cc_kafka_sink *sink = rkm->_private;
                sink->done(sink, errno_from_kafka(rkm->err));
        }
}

struct cc_kafka_producer *cc_kafka_producer_new(const char *brokers, const char *client_id,
                                                cc_kafka_delivery_fn on_delivery, void *userdata,
                                                const char *const *extra_conf, char *err,
                                                size_t err_len)
{
        /* message.timeout.ms 0: a message is retried until it is delivered, however long the
         * outage. A timeout would fail an early message while a later one of the same key is
         * still alive and gets through, and re-sending the early one would then invert the
         * key's order; the idempotent producer keeps order only while nothing is given up.
         * Callers that must not wait for ever (the DLQ path) bound their own wait.
         * reconnect.backoff.max.ms: after an outage the producer is back within ~2 s instead of
         * librdkafka's 10 s. murmur2_random: the same key lands on the same partition as with Java
         * clients and Kafka tooling. */
        const struct setting defaults[] = {
            {"bootstrap.servers", brokers ? brokers : ""},
            {"client.id", client_id && *client_id ? client_id : "cc"},
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"linger.ms", "5"},
            {"message.timeout.ms", "0"},
            {"reconnect.backoff.max.ms", "2000"},
            {"partitioner", "murmur2_random"},
        };
        char errstr[512];

        if (!brokers || !*brokers) {
                cc_set_error(err, err_len, "no bootstrap servers");
                return NULL;
        }
        struct cc_kafka_producer *p = cc_xcalloc(1, sizeof(*p));
        p->on_delivery = on_delivery;
        p->userdata = userdata;

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (configure(conf, defaults, CC_ARRAY_SIZE(defaults), extra_conf, err, err_len) != 0)
                goto fail_conf;
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery_report);
        rd_kafka_conf_set_opaque(conf, p);

        /* rd_kafka_new takes ownership of conf only when it succeeds. */
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!p->rk) {
                cc_set_error(err, err_len, "%s", errstr);
                goto fail_conf;
        }
        return p;

fail_conf:
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
}

void cc_kafka_producer_free(struct cc_kafka_producer *p)
{
        if (!p)
                return;
        /* Whatever is still undelivered after the flush is purged, and the purge's reports are
         * served (-ECANCELED), so every sink hears about its message and can free it: a caller
         * that tracks deliveries (the outbox) treats those rows as never sent. */
        rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, FREE_FLUSH_MS);
        if (err) {
                cc_log_debug(NULL, "kafka producer: %d message(s) undelivered at close",
                             rd_kafka_outq_len(p->rk));
                rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(p->rk, 1000);
        }
        rd_kafka_destroy(p->rk);
        free(p);
}

int cc_kafka_produce(struct cc_kafka_producer *p, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t value_len,
                     const struct cc_kafka_header *headers, size_t nheaders, void *opaque)
{
        if (!topic || !*topic)
                return -EINVAL;

        rd_kafka_headers_t *hdrs = NULL;
        if (nheaders > 0) {
                hdrs = rd_kafka_headers_new(nheaders);
                for (size_t i = 0; i < nheaders; i++) {
                        rd_kafka_resp_err_t herr = rd_kafka_header_add(
                            hdrs, headers[i].name, -1, headers[i].value, (ssize_t)headers[i].len);
                        if (herr) {
                                rd_kafka_headers_destroy(hdrs);
                                return errno_from_kafka(herr);
                        }
                }
        }

        /* On success the message owns hdrs; on failure they are still ours. */
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key ? key_len : 0),
            RD_KAFKA_V_VALUE((void *)value, value ? value_len : 0), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err) {
                if (hdrs)
                        rd_kafka_headers_destroy(hdrs);
                cc_log_debug(NULL, "kafka produce to %s: %s", topic, rd_kafka_err2str(err));
                return errno_from_kafka(err);
        }
        return 0;
}

int cc_kafka_producer_poll(struct cc_kafka_producer *p, int timeout_ms)
{
        return rd_kafka_poll(p->rk, timeout_ms);
}

int cc_kafka_producer_flush(struct cc_kafka_producer *p, int timeout_ms)
{
        rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
        return err ? errno_from_kafka(err) : 0;
}

int cc_kafka_producer_outq_len(struct cc_kafka_producer *p)
{
        return rd_kafka_outq_len(p->rk);
}

int cc_kafka_producer_ping(struct cc_kafka_producer *p, int timeout_ms)
{
        const struct rd_kafka_metadata *md = NULL;
        /* No topics: the answer only proves a broker is there and talking. */
        rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
        if (err) {
                cc_log_debug(NULL, "kafka ping: %s", rd_kafka_err2str(err));
                /* A metadata request that found no broker in time is a timeout, whatever the
                 * transport said last. */
                return err == RD_KAFKA_RESP_ERR__TRANSPORT ? -ETIMEDOUT : errno_from_kafka(err);
        }
        rd_kafka_metadata_destroy(md);
        return 0;
}

struct cc_kafka_consumer *cc_kafka_consumer_new(const char *brokers, const char *group_id,
                                                const char *const *topics, size_t ntopics,
                                                const char *const *extra_conf, char *err,
                                                size_t err_len)
{
        /* enable.auto.offset.store=false with enable.auto.commit=true: librdkafka commits, every
         * second and at close, only what the caller stored after processing, so a crash
         * redelivers at most the unstored tail (at-least-once) and never skips a message.
         * session.timeout.ms=10000: a dead replica's partitions move within ~10 s.
         * fetch.wait.max.ms=100: a broker answers a fetch as soon as data arrives, but the
         * development broker (librdkafka's mock cluster) only when this wait is over, which at
         * the default 500 ms made every event up to half a second late there (freshness p99 510
         * -> 115 ms, docs/benchmarks.md). On Kafka it costs an idle consumer ten empty fetches a
         * second per broker. */
        const struct setting defaults[] = {
            {"bootstrap.servers", brokers ? brokers : ""},
            {"group.id", group_id ? group_id : ""},
            {"client.id", group_id ? group_id : "cc"},
            {"auto.offset.reset", "earliest"},
            {"enable.auto.offset.store", "false"},
            {"enable.auto.commit", "true"},
            {"auto.commit.interval.ms", "1000"},
            {"enable.partition.eof", "false"},
            {"session.timeout.ms", "10000"},
            {"fetch.wait.max.ms", "100"},
            {"reconnect.backoff.max.ms", "2000"},
        };
        char errstr[512];
        rd_kafka_topic_partition_list_t *subscription = NULL;

        if (!brokers || !*brokers || !group_id || !*group_id || ntopics == 0) {
                cc_set_error(err, err_len, "bootstrap servers, group id and topics are required");
                return NULL;
        }
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (configure(conf, defaults, CC_ARRAY_SIZE(defaults), extra_conf, err, err_len) != 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!rk) {
                cc_set_error(err, err_len, "%s", errstr);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        /* One queue for messages, errors and rebalances, all served by cc_kafka_consume. */
        rd_kafka_poll_set_consumer(rk);

        subscription = rd_kafka_topic_partition_list_new((int)ntopics);
        for (size_t i = 0; i < ntopics; i++)
                rd_kafka_topic_partition_list_add(subscription, topics[i], RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t kerr = rd_kafka_subscribe(rk, subscription);
        rd_kafka_topic_partition_list_destroy(subscription);
        if (kerr) {
                cc_set_error(err, err_len, "subscribe: %s", rd_kafka_err2str(kerr));
                rd_kafka_destroy(rk);
                return NULL;
        }

        struct cc_kafka_consumer *c = cc_xcalloc(1, sizeof(*c));
        c->rk = rk;
        return c;
}

void cc_kafka_consumer_free(struct cc_kafka_consumer *c)
{
        if (!c)
                return;
        /* With enable.auto.commit, close commits what was stored before it leaves the group. */
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err)
                cc_log_debug(NULL, "kafka consumer close: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(c->rk);
        free(c);
}

int cc_kafka_consume(struct cc_kafka_consumer *c, int timeout_ms, struct cc_kafka_message *ret_msg)
{
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, timeout_ms);
        if (!rkm)
                return -EAGAIN;
        if (rkm->err) {
                int r = rkm->err == RD_KAFKA_RESP_ERR__FATAL ? -ENOTRECOVERABLE : -EAGAIN;
                if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        cc_log_debug(NULL, "kafka consume: %s", rd_kafka_message_errstr(rkm));
                rd_kafka_message_destroy(rkm);
                return r;
        }
        *ret_msg = (struct cc_kafka_message){
            .topic = rd_kafka_topic_name(rkm->rkt),
            .partition = rkm->partition,
            .offset = rkm->offset,
            .key = rkm->key,
            .key_len = rkm->key_len,
            .value = rkm->payload,
            .value_len = rkm->len,
            .handle = rkm,
        };
        return 0;
}

const void *cc_kafka_message_header(const struct cc_kafka_message *msg, const char *name,
                                    size_t *ret_len)
{
        rd_kafka_headers_t *hdrs = NULL;
        const void *value = NULL;
        size_t len = 0;
        if (!msg->handle || rd_kafka_message_headers(msg->handle, &hdrs) != 0)
                return NULL;
        if (rd_kafka_header_get_last(hdrs, name, &value, &len) != 0)
                return NULL;
        if (ret_len)
                *ret_len = len;
        /* librdkafka gives NULL for a zero-length value; present-but-empty must differ from
         * absent. */
        return value ? value : "";
}

void cc_kafka_message_store(struct cc_kafka_consumer *c, const struct cc_kafka_message *msg)
{
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, msg->topic, msg->partition)->offset =
            msg->offset + 1;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
        if (!err)
                err = list->elems[0].err;
        /* Refused when the partition was revoked meanwhile: its new owner will see the message
         * again, which the idempotent consumer absorbs. */
        if (err)
                cc_log_debug(NULL, "kafka store %s[%d]@%lld: %s", msg->topic, (int)msg->partition,
                             (long long)msg->offset, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(list);
}

void cc_kafka_message_release(struct cc_kafka_message *msg)
{
        if (!msg || !msg->handle)
                return;
        rd_kafka_message_destroy(msg->handle);
        *msg = (struct cc_kafka_message){0};
}

/* The next offset the group will read on each partition: the position when the consumer has
 * one, else the committed offset, else (auto.offset.reset=earliest) the log start. */
static int fill_positions(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
        bool unknown = false;
        if (rd_kafka_position(rk, parts) != 0)
                return -EIO;
        for (int i = 0; i < parts->cnt; i++)
                unknown |= parts->elems[i].offset < 0;
        if (!unknown)
                return 0;

        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, committed, LAG_QUERY_TIMEOUT_MS);
        for (int i = 0; !err && i < parts->cnt; i++) {
                if (parts->elems[i].offset < 0)
                        parts->elems[i].offset = committed->elems[i].offset;
        }
        rd_kafka_topic_partition_list_destroy(committed);
        return err ? errno_from_kafka(err) : 0;
}

int64_t cc_kafka_consumer_lag(struct cc_kafka_consumer *c)
{
        rd_kafka_topic_partition_list_t *parts = NULL;
        int64_t lag = 0;

        if (rd_kafka_assignment(c->rk, &parts) != 0)
                return -1;
        if (fill_positions(c->rk, parts) != 0) {
                lag = -1;
                goto out;
        }
        for (int i = 0; i < parts->cnt; i++) {
                const rd_kafka_topic_partition_t *tp = &parts->elems[i];
                int64_t lo = -1, hi = -1;
                /* Cached from fetch responses; a network query only before the first fetch. */
                rd_kafka_resp_err_t err =
                    rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi);
                if (err || hi < 0 || (tp->offset < 0 && lo < 0)) {
                        if (rd_kafka_query_watermark_offsets(c->rk, tp->topic, tp->partition, &lo,
                                                             &hi, LAG_QUERY_TIMEOUT_MS) != 0) {
                                lag = -1;
                                goto out;
                        }
                }
                int64_t pos = tp->offset >= 0 ? tp->offset : lo;
                if (hi > pos)
                        lag += hi - pos;
        }
out:
        rd_kafka_topic_partition_list_destroy(parts);
        return lag;
}
