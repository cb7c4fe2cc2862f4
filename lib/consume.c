#include "cc/consume.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cc/outbox.h"

#define CONSUME_WAIT_MS 200
/* A batch takes what arrives within BATCH_WAIT_MS of the previous message, for at most
 * BATCH_SPAN_US; after that only what is already fetched. Latency stays a few ms. */
#define BATCH_WAIT_MS 2
#define BATCH_SPAN_US 10000
#define RETRY_MIN_MS  100
#define RETRY_MAX_MS  5000
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

static bool config_ok(const struct cc_consumer_config *cfg)
{
        return cfg && cfg->service && cfg->pool && cfg->handler &&
               cc_sql_identifier_valid(cfg->schema, SCHEMA_MAX);
}

static int consume(const struct cc_consumer_config *cfg, const void *value, size_t len,
                   const char *key, size_t key_len, enum outcome *ret_outcome)
{
        if (!config_ok(cfg))
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

/* The decoded events in one pipelined transaction: BEGIN and one insert of every id (a round
 * trip), the handler on each fresh one, COMMIT (a round trip). 0 with every outcome written, or
 * a negative errno with nothing done. Any failure fails the whole batch: with statements in
 * flight an error cannot be pinned on the event that caused it. */
static int apply_batch(const struct cc_consumer_config *cfg, Cc__Events__V1__Envelope *const *envs,
                       size_t n, enum outcome *outcomes)
{
        struct cc_db_conn *conn = NULL;
        PGresult *res = NULL;
        bool *fresh = cc_xcalloc(n, sizeof(*fresh));
        /* The ids were checked by cc_event_unpack: plain uuids, safe in an array literal. */
        struct cc_strbuf ids = {0};
        cc_strbuf_puts(&ids, "{");
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        cc_strbuf_puts(&ids, ",");
                cc_strbuf_puts(&ids, envs[i]->event_id);
        }
        cc_strbuf_puts(&ids, "}");
        char *sql = cc_xasprintf("INSERT INTO \"%s\".processed_events (event_id) "
                                 "SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING "
                                 "RETURNING event_id::text",
                                 cfg->schema);
        const char *params[] = {ids.data};
        int r = cc_db_acquire(cfg->pool, &conn);
        if (r < 0)
                goto out;
        r = cc_db_pipeline_begin(conn);
        if (r < 0)
                goto out;
        r = cc_db_begin(conn);
        if (r < 0)
                goto out;
        /* Every id goes in first, as in apply_event: a concurrent delivery waits on the row
         * locks and then sees duplicates. An id twice in the batch comes back once. */
        r = cc_db_exec(conn, sql, 1, params, &res);
        if (r < 0)
                goto out;
        for (int row = 0; row < PQntuples(res); row++) {
                const char *id = PQgetvalue(res, row, 0);
                for (size_t i = 0; i < n; i++) {
                        if (!fresh[i] && strcasecmp(envs[i]->event_id, id) == 0) {
                                fresh[i] = true;
                                break;
                        }
                }
        }
        PQclear(res);
        for (size_t i = 0; i < n; i++) {
                if (!fresh[i]) {
                        outcomes[i] = DUPLICATE;
                        continue;
                }
                r = cfg->handler(conn, envs[i], cfg->userdata);
                if (r != 0) {
                        r = r < 0 ? r : -EIO;
                        goto out;
                }
                outcomes[i] = APPLIED;
        }
        r = cc_db_commit(conn);
        if (r == 0)
                /* Committed: leaving pipeline mode cannot undo that, and release would end it. */
                (void)!cc_db_pipeline_end(conn);
out:
        if (r < 0 && conn)
                cc_db_rollback(conn);
        cc_db_release(conn);
        free(sql);
        cc_strbuf_fini(&ids);
        free(fresh);
        return r;
}

/* One transaction for the batch when every message decodes, else (or when it fails) one per
 * message, in order, up to the first that fails. Returns how many leading messages are done
 * (their outcomes written), or the first one's error when none is. */
static int consume_batch(const struct cc_consumer_config *cfg, const struct cc_kafka_message *msgs,
                         size_t n, enum outcome *outcomes)
{
        if (!config_ok(cfg))
                return -EINVAL;
        if (n > CC_CONSUME_BATCH_LIMIT)
                n = CC_CONSUME_BATCH_LIMIT;
        if (n > 1) {
                Cc__Events__V1__Envelope **envs = cc_xcalloc(n, sizeof(*envs));
                bool decoded = true;
                for (size_t i = 0; i < n; i++) {
                        envs[i] = cc_event_unpack(msgs[i].value, msgs[i].value_len);
                        decoded = decoded && envs[i];
                }
                /* An undecodable message goes to the DLQ on the single path below. */
                int r = decoded ? apply_batch(cfg, envs, n, outcomes) : -EBADMSG;
                for (size_t i = 0; i < n; i++)
                        cc_event_free(envs[i]);
                free(envs);
                if (r == 0)
                        return (int)n;
        }
        for (size_t i = 0; i < n; i++) {
                int r = consume(cfg, msgs[i].value, msgs[i].value_len, msgs[i].key, msgs[i].key_len,
                                &outcomes[i]);
                if (r < 0)
                        return i > 0 ? (int)i : r;
        }
        return (int)n;
}

int cc_consume_batch(const struct cc_consumer_config *cfg, const struct cc_kafka_message *msgs,
                     size_t n)
{
        if (n == 0)
                return 0;
        if (!msgs)
                return -EINVAL;
        enum outcome *outcomes =
            cc_xcalloc(n < CC_CONSUME_BATCH_LIMIT ? n : CC_CONSUME_BATCH_LIMIT, sizeof(*outcomes));
        int r = consume_batch(cfg, msgs, n, outcomes);
        free(outcomes);
        return r;
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

/* Fills msgs[1..max) with what arrives soon after msgs[0]; returns the batch's size. */
static size_t collect_batch(struct cc_consumer *c, struct cc_kafka_message *msgs, size_t max)
{
        int64_t until = cc_monotonic_us() + BATCH_SPAN_US;
        size_t n = 1;
        while (n < max) {
                int wait = cc_monotonic_us() < until ? BATCH_WAIT_MS : 0;
                if (cc_kafka_consume(c->kc, wait, &msgs[n]) < 0)
                        break;
                n++;
        }
        return n;
}

static void *consumer_main(void *arg)
{
        struct cc_consumer *c = arg;
        size_t max = c->cfg.batch_max <= 0                       ? CC_CONSUME_BATCH_DEFAULT
                     : c->cfg.batch_max > CC_CONSUME_BATCH_LIMIT ? CC_CONSUME_BATCH_LIMIT
                                                                 : (size_t)c->cfg.batch_max;
        struct cc_kafka_message *msgs = cc_xcalloc(max, sizeof(*msgs));
        enum outcome *outcomes = cc_xcalloc(max, sizeof(*outcomes));
        int64_t next_lag = 0;
        while (!atomic_load(&c->stop)) {
                if (cc_monotonic_us() >= next_lag) {
                        atomic_store(&c->lag, cc_kafka_consumer_lag(c->kc));
                        next_lag = cc_monotonic_us() + LAG_INTERVAL_US;
                }
                int r = cc_kafka_consume(c->kc, CONSUME_WAIT_MS, &msgs[0]);
                if (r == -EAGAIN)
                        continue;
                if (r < 0) {
                        consumer_sleep(c, RETRY_MIN_MS);
                        continue;
                }
                size_t n = collect_batch(c, msgs, max);
                /* A message that fails transiently (database down, a handler's -EIO) is
                 * retried alone, in place: moving on would store a later offset past it. On
                 * stop the offsets not stored yet stay so and the group delivers them again. */
                size_t done = 0;
                bool retrying = false;
                int backoff = RETRY_MIN_MS;
                while (done < n) {
                        size_t want = retrying ? 1 : n - done;
                        r = consume_batch(&c->cfg, msgs + done, want, outcomes + done);
                        size_t k = r > 0 ? (size_t)r : 0;
                        /* Only now, after the commit, and in the order they came. */
                        for (size_t i = done; i < done + k; i++) {
                                count(c, outcomes[i]);
                                cc_kafka_message_store(c->kc, &msgs[i]);
                        }
                        done += k;
                        if (k == want) {
                                retrying = false;
                                backoff = RETRY_MIN_MS;
                                continue;
                        }
                        if (atomic_load(&c->stop))
                                break;
                        if (k > 0)
                                backoff = RETRY_MIN_MS;
                        retrying = true;
                        consumer_sleep(c, backoff);
                        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
                }
                for (size_t i = 0; i < n; i++)
                        cc_kafka_message_release(&msgs[i]);
        }
        free(outcomes);
        free(msgs);
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
