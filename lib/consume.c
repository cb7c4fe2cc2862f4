#include "cc/consume.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc/outbox.h"

#define CONSUME_WAIT_MS 200
#define RETRY_MIN_MS    100
#define RETRY_MAX_MS    5000
/* A DLQ write not acknowledged by then is retried with the message (a duplicate in the DLQ at
 * worst), so a stuck cluster cannot stall a stop for longer than this. */
#define DLQ_TIMEOUT_US  (5 * 1000000LL)
#define LAG_INTERVAL_US 1000000
#define SCHEMA_MAX      63

enum outcome { APPLIED, DUPLICATE, DEAD_LETTERED };

struct cc_consumer {
        struct cc_consumer_config cfg; /* its strings and arrays are the copies below */
        char *service, *schema, *brokers;
        char **topics;
        char **extra_conf;
        struct cc_kafka_consumer *kc;
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        atomic_bool stop;
        _Atomic uint64_t applied, duplicates, dead_lettered;
        _Atomic int64_t lag;
};

/* Heap so that a waiter giving up (timeout) and a late report cannot race over its storage:
 * whichever of the two lets go last frees it. */
struct dlq_wait {
        struct cc_kafka_sink sink;
        atomic_int refs;
        atomic_bool done;
        atomic_int err;
};

static void dlq_wait_unref(struct dlq_wait *w)
{
        if (atomic_fetch_sub(&w->refs, 1) == 1)
                free(w);
}

static void dlq_done(struct cc_kafka_sink *sink, int err)
{
        struct dlq_wait *w = (struct dlq_wait *)sink;
        atomic_store(&w->err, err);
        atomic_store(&w->done, true);
        dlq_wait_unref(w);
}

/* Writes the message as received to cc.dlq.<service> and waits for the cluster to persist it:
 * only then may the caller treat the original as done. */
static int send_to_dlq(const struct cc_consumer_config *cfg, const void *value, size_t len,
                       const char *key, size_t key_len, const char *reason,
                       const Cc__Events__V1__Envelope *env)
{
        if (!cfg->dlq_producer)
                return -EINVAL;
        struct cc_kafka_header headers[3] = {{"error", reason, strlen(reason)}};
        size_t nheaders = 1;
        if (env) {
                headers[nheaders++] =
                    (struct cc_kafka_header){"event_id", env->event_id, strlen(env->event_id)};
                headers[nheaders++] =
                    (struct cc_kafka_header){"type", env->type, strlen(env->type)};
        }
        char *topic = cc_xasprintf("cc.dlq.%s", cfg->service);
        struct dlq_wait *w = cc_xcalloc(1, sizeof(*w));
        w->sink.done = dlq_done;
        atomic_init(&w->refs, 2);
        atomic_init(&w->done, false);
        atomic_init(&w->err, 0);
        int r = cc_kafka_produce(cfg->dlq_producer, topic, key, key_len, value, len, headers,
                                 nheaders, &w->sink);
        free(topic);
        if (r < 0) {
                free(w);
                return r;
        }
        int64_t deadline = cc_monotonic_us() + DLQ_TIMEOUT_US;
        /* The report may be served here or by another thread polling the same producer (the
         * outbox relay); either way it lands in w. */
        while (!atomic_load(&w->done) && cc_monotonic_us() < deadline)
                cc_kafka_producer_poll(cfg->dlq_producer, 100);
        r = atomic_load(&w->done) ? atomic_load(&w->err) : -ETIMEDOUT;
        dlq_wait_unref(w);
        return r;
}

static int record_processed(struct cc_db_conn *conn, const char *sql, const char *event_id)
{
        const char *params[] = {event_id};
        int r = cc_db_begin(conn);
        if (r < 0)
                return r;
        r = cc_db_exec(conn, sql, 1, params, NULL);
        if (r < 0) {
                cc_db_rollback(conn);
                return r;
        }
        return cc_db_commit(conn);
}

static int apply_event(const struct cc_consumer_config *cfg, const Cc__Events__V1__Envelope *env,
                       const void *value, size_t len, const char *key, size_t key_len,
                       enum outcome *ret_outcome)
{
        struct cc_db_conn *conn = NULL;
        PGresult *res = NULL;
        char *sql = cc_xasprintf("INSERT INTO \"%s\".processed_events (event_id) VALUES ($1::uuid) "
                                 "ON CONFLICT DO NOTHING",
                                 cfg->schema);
        const char *params[] = {env->event_id};
        int r = cc_db_acquire(cfg->pool, &conn);
        if (r < 0)
                goto out;
        r = cc_db_begin(conn);
        if (r < 0)
                goto out;
        /* The id goes in first: a concurrent delivery of the same event (a rebalance) waits on
         * this row's lock and then sees it as a duplicate. */
        r = cc_db_exec(conn, sql, 1, params, &res);
        if (r < 0)
                goto out;
        bool fresh = strcmp(PQcmdTuples(res), "1") == 0;
        PQclear(res);
        if (!fresh) {
                cc_db_rollback(conn);
                *ret_outcome = DUPLICATE;
                goto out;
        }
        r = cfg->handler(conn, env, cfg->userdata);
        if (r == 0) {
                r = cc_db_commit(conn);
                if (r == 0)
                        *ret_outcome = APPLIED;
                goto out;
        }
        cc_db_rollback(conn);
        if (r != -EBADMSG) {
                r = r < 0 ? r : -EIO;
                goto out;
        }
        /* DLQ first, then the record: a failure in between sends it to the DLQ twice rather
         * than not at all. */
        char reason[160];
        snprintf(reason, sizeof(reason), "rejected by the %s handler", cfg->service);
        r = send_to_dlq(cfg, value, len, key, key_len, reason, env);
        if (r < 0)
                goto out;
        r = record_processed(conn, sql, env->event_id);
        if (r == 0)
                *ret_outcome = DEAD_LETTERED;
out:
        cc_db_release(conn);
        free(sql);
        return r;
}

static int consume(const struct cc_consumer_config *cfg, const void *value, size_t len,
                   const char *key, size_t key_len, enum outcome *ret_outcome)
{
        if (!cfg || !cfg->service || !cfg->pool || !cfg->handler ||
            !cc_sql_identifier_valid(cfg->schema, SCHEMA_MAX))
                return -EINVAL;
        Cc__Events__V1__Envelope *env = cc_event_unpack(value, len);
        if (!env) {
                int r = send_to_dlq(cfg, value, len, key, key_len,
                                    "undecodable: not a valid event envelope", NULL);
                if (r == 0)
                        *ret_outcome = DEAD_LETTERED;
                return r;
        }
        int r = apply_event(cfg, env, value, len, key, key_len, ret_outcome);
        cc_event_free(env);
        return r;
}

int cc_consume_one(const struct cc_consumer_config *cfg, const void *value, size_t len,
                   const char *key, size_t key_len)
{
        enum outcome outcome;
        return consume(cfg, value, len, key, key_len, &outcome);
}

/* Sleeps ms or until stopped. */
static void consumer_sleep(struct cc_consumer *c, int ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&c->mu);
        while (!atomic_load(&c->stop) && pthread_cond_timedwait(&c->cond, &c->mu, &ts) != ETIMEDOUT)
                ;
        pthread_mutex_unlock(&c->mu);
}

static void count(struct cc_consumer *c, enum outcome outcome)
{
        switch (outcome) {
        case APPLIED:
                atomic_fetch_add(&c->applied, 1);
                break;
        case DUPLICATE:
                atomic_fetch_add(&c->duplicates, 1);
                break;
        case DEAD_LETTERED:
                atomic_fetch_add(&c->dead_lettered, 1);
                break;
        }
}

static void *consumer_main(void *arg)
{
        struct cc_consumer *c = arg;
        int64_t next_lag = 0;
        while (!atomic_load(&c->stop)) {
                if (cc_monotonic_us() >= next_lag) {
                        atomic_store(&c->lag, cc_kafka_consumer_lag(c->kc));
                        next_lag = cc_monotonic_us() + LAG_INTERVAL_US;
                }
                struct cc_kafka_message msg;
                int r = cc_kafka_consume(c->kc, CONSUME_WAIT_MS, &msg);
                if (r == -EAGAIN)
                        continue;
                if (r < 0) {
                        consumer_sleep(c, RETRY_MIN_MS);
                        continue;
                }
                /* A message that fails transiently (database down, a handler's -EIO) is
                 * retried in place: moving on would store a later offset past it. On stop its
                 * offset stays unstored and the group delivers it again. */
                int backoff = RETRY_MIN_MS;
                for (;;) {
                        enum outcome outcome;
                        r = consume(&c->cfg, msg.value, msg.value_len, msg.key, msg.key_len,
                                    &outcome);
                        if (r == 0) {
                                count(c, outcome);
                                cc_kafka_message_store(c->kc, &msg);
                                break;
                        }
                        if (atomic_load(&c->stop))
                                break;
                        consumer_sleep(c, backoff);
                        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
                }
                cc_kafka_message_release(&msg);
        }
        return NULL;
}

static void consumer_free(struct cc_consumer *c)
{
        cc_kafka_consumer_free(c->kc);
        for (size_t i = 0; c->topics && i < c->cfg.ntopics; i++)
                free(c->topics[i]);
        free(c->topics);
        for (size_t i = 0; c->extra_conf && c->extra_conf[i]; i++)
                free(c->extra_conf[i]);
        free(c->extra_conf);
        free(c->service);
        free(c->schema);
        free(c->brokers);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->mu);
        free(c);
}

struct cc_consumer *cc_consumer_start(const struct cc_consumer_config *cfg, char *err,
                                      size_t err_len)
{
        if (err && err_len)
                err[0] = '\0';
        if (!cfg || !cfg->service || !*cfg->service ||
            !cc_sql_identifier_valid(cfg->schema, SCHEMA_MAX) || !cfg->brokers || !cfg->topics ||
            cfg->ntopics == 0 || !cfg->pool || !cfg->handler || !cfg->dlq_producer) {
                if (err && err_len)
                        snprintf(err, err_len, "incomplete consumer configuration");
                return NULL;
        }
        struct cc_consumer *c = cc_xcalloc(1, sizeof(*c));
        pthread_mutex_init(&c->mu, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &attr);
        pthread_condattr_destroy(&attr);
        atomic_init(&c->stop, false);
        atomic_init(&c->applied, 0);
        atomic_init(&c->duplicates, 0);
        atomic_init(&c->dead_lettered, 0);
        atomic_init(&c->lag, -1);

        /* The caller's configuration may live on its stack: the thread works on copies. */
        c->cfg = *cfg;
        c->cfg.service = c->service = cc_xstrdup(cfg->service);
        c->cfg.schema = c->schema = cc_xstrdup(cfg->schema);
        c->cfg.brokers = c->brokers = cc_xstrdup(cfg->brokers);
        c->topics = cc_xcalloc(cfg->ntopics, sizeof(*c->topics));
        for (size_t i = 0; i < cfg->ntopics; i++)
                c->topics[i] = cc_xstrdup(cfg->topics[i]);
        c->cfg.topics = (const char *const *)c->topics;
        c->cfg.extra_conf = NULL;
        if (cfg->extra_conf) {
                size_t n = 0;
                while (cfg->extra_conf[n])
                        n++;
                c->extra_conf = cc_xcalloc(n + 1, sizeof(*c->extra_conf));
                for (size_t i = 0; i < n; i++)
                        c->extra_conf[i] = cc_xstrdup(cfg->extra_conf[i]);
                c->cfg.extra_conf = (const char *const *)c->extra_conf;
        }

        c->kc = cc_kafka_consumer_new(c->brokers, c->service, c->cfg.topics, c->cfg.ntopics,
                                      c->cfg.extra_conf, err, err_len);
        if (!c->kc)
                goto fail;
        if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
                if (err && err_len)
                        snprintf(err, err_len, "cannot start the consumer thread");
                goto fail;
        }
        return c;
fail:
        consumer_free(c);
        return NULL;
}

void cc_consumer_stop(struct cc_consumer *c)
{
        if (!c)
                return;
        pthread_mutex_lock(&c->mu);
        atomic_store(&c->stop, true);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        consumer_free(c);
}

uint64_t cc_consumer_applied(struct cc_consumer *c)
{
        return c ? atomic_load(&c->applied) : 0;
}

uint64_t cc_consumer_duplicates(struct cc_consumer *c)
{
        return c ? atomic_load(&c->duplicates) : 0;
}

uint64_t cc_consumer_dead_lettered(struct cc_consumer *c)
{
        return c ? atomic_load(&c->dead_lettered) : 0;
}

int64_t cc_consumer_lag(struct cc_consumer *c)
{
        return c ? atomic_load(&c->lag) : -1;
}
