#include "cc/service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/jwt.h"
#include "cc/log.h"
#include "cc/metrics.h"
#include "cc/periodic.h"

/* Settings every service reads; a service adds its own through def->config. */
struct service_settings {
        long long port, threads, max_body, conn_timeout_s, pool_size, acquire_timeout_ms;
        long long outbox_poll_ms, shutdown_timeout_s, jwt_cache, housekeeping_ms, dedupe_days;
        char *bind, *database_url, *kafka_brokers, *jwt_public_key_file, *jwt_issuer, *jwt_audience;
        int log_level;
};

struct cc_service {
        const struct cc_service_def *def;
        struct service_settings cfg;
        struct cc_config_var *vars;
        size_t nvars;
        struct cc_db_pool *pool;
        struct cc_kafka_producer *producer;
        struct cc_outbox_relay *relay;
        struct cc_consumer *consumer;
        struct cc_jwt_verifier *verifier;
        struct cc_http_server *http;
        struct cc_periodic *housekeeping;
        void *state;
        bool initialised;
        bool gauges_on;

        /* /readyz answers from a short-lived cache so a probe storm cannot hammer the
         * database and the brokers. */
        pthread_mutex_t ready_lock;
        int64_t ready_checked_us;
        int ready_result;
        char ready_why[128];
};

static char default_port_text[16];

static void build_vars(struct cc_service *svc)
{
        struct service_settings *c = &svc->cfg;
        const struct cc_service_def *def = svc->def;
        snprintf(default_port_text, sizeof(default_port_text), "%d", def->default_port);
        const struct cc_config_var common[] = {
            {"CC_HTTP_PORT", CC_CONFIG_INT, default_port_text, 0, 65535, &c->port,
             "TCP port of the HTTP server (0 picks a free one)"},
            {"CC_HTTP_BIND", CC_CONFIG_STRING, "0.0.0.0", 1, 255, &c->bind,
             "address the HTTP server binds"},
            {"CC_HTTP_THREADS", CC_CONFIG_INT, "0", 0, 256, &c->threads,
             "HTTP worker threads (0 = 2 x cores)"},
            {"CC_HTTP_MAX_BODY", CC_CONFIG_INT, "1048576", 1024, 104857600, &c->max_body,
             "largest request body in bytes (413 beyond)"},
            {"CC_HTTP_CONN_TIMEOUT", CC_CONFIG_INT, "30", 1, 3600, &c->conn_timeout_s,
             "seconds an idle or slow connection may stay open"},
            {"CC_DATABASE_URL", CC_CONFIG_STRING, NULL, 1, 4096, &c->database_url,
             "PostgreSQL connection URL"},
            {"CC_DB_POOL_SIZE", CC_CONFIG_INT, "10", 1, 500, &c->pool_size,
             "database connections per process"},
            {"CC_DB_ACQUIRE_TIMEOUT_MS", CC_CONFIG_INT, "2000", 1, 60000, &c->acquire_timeout_ms,
             "longest wait for a free database connection"},
            {"CC_KAFKA_BROKERS", CC_CONFIG_STRING, NULL, 1, 4096, &c->kafka_brokers,
             "Kafka bootstrap servers (host:port,...)"},
            {"CC_JWT_PUBLIC_KEY_FILE", CC_CONFIG_STRING, NULL, 1, 4096, &c->jwt_public_key_file,
             "PEM file with the gateway's ES256 public key"},
            {"CC_JWT_ISSUER", CC_CONFIG_STRING, "cc-gateway", 1, 255, &c->jwt_issuer,
             "expected iss of access tokens"},
            {"CC_JWT_AUDIENCE", CC_CONFIG_STRING, "cc-api", 1, 255, &c->jwt_audience,
             "expected aud of access tokens"},
            {"CC_JWT_CACHE_SIZE", CC_CONFIG_INT, "65536", 0, 10000000, &c->jwt_cache,
             "verified access tokens kept in memory"},
            {"CC_OUTBOX_POLL_MS", CC_CONFIG_INT, "1000", 10, 600000, &c->outbox_poll_ms,
             "outbox relay backstop poll interval"},
            {"CC_HOUSEKEEPING_INTERVAL_MS", CC_CONFIG_INT, "600000", 100, 86400000,
             &c->housekeeping_ms,
             "how often retention jobs run (old processed event ids, the service's own)"},
            {"CC_DEDUPE_RETENTION_DAYS", CC_CONFIG_INT, "30", 1, 3650, &c->dedupe_days,
             "days a consumed event's id is remembered to skip a redelivery; keep it longer "
             "than the topics' retention"},
            {"CC_SHUTDOWN_TIMEOUT", CC_CONFIG_INT, "10", 1, 600, &c->shutdown_timeout_s,
             "seconds allowed for a clean shutdown"},
            {"CC_LOG_LEVEL", CC_CONFIG_LOGLEVEL, "info", 0, 0, &c->log_level,
             "debug, info, warn or error"},
        };
        svc->nvars = CC_ARRAY_SIZE(common) + def->nconfig;
        svc->vars = cc_xcalloc(svc->nvars, sizeof(*svc->vars));
        memcpy(svc->vars, common, sizeof(common));
        if (def->nconfig)
                memcpy(svc->vars + CC_ARRAY_SIZE(common), def->config,
                       def->nconfig * sizeof(*def->config));
}

static int check_ready(void *userdata, char *why, size_t why_len)
{
        struct cc_service *svc = userdata;
        pthread_mutex_lock(&svc->ready_lock);
        int64_t now = cc_monotonic_us();
        if (svc->ready_checked_us == 0 || now - svc->ready_checked_us > 1000000) {
                svc->ready_result = 0;
                svc->ready_why[0] = '\0';
                int db = cc_db_ping(svc->pool);
                /* A pool busy with requests (-ETIMEDOUT) is a database that answers: taking the
                 * replica out of service for being busy would only move its load elsewhere. */
                if (db < 0 && db != -ETIMEDOUT) {
                        svc->ready_result = -ECONNREFUSED;
                        snprintf(svc->ready_why, sizeof(svc->ready_why), "database unreachable");
                } else if (cc_kafka_producer_ping(svc->producer, 1000) < 0) {
                        svc->ready_result = -ECONNREFUSED;
                        snprintf(svc->ready_why, sizeof(svc->ready_why), "kafka unreachable");
                }
                svc->ready_checked_us = cc_monotonic_us();
        }
        int r = svc->ready_result;
        snprintf(why, why_len, "%s", svc->ready_why);
        pthread_mutex_unlock(&svc->ready_lock);
        return r;
}

static double gauge_pool_in_use(void *userdata)
{
        return cc_db_pool_in_use(((struct cc_service *)userdata)->pool);
}

static double gauge_pool_open(void *userdata)
{
        return cc_db_pool_size(((struct cc_service *)userdata)->pool);
}

static double gauge_pool_max(void *userdata)
{
        return (double)((struct cc_service *)userdata)->cfg.pool_size;
}

static double gauge_outbox_backlog(void *userdata)
{
        return (double)cc_outbox_backlog(((struct cc_service *)userdata)->relay);
}

static double gauge_consumer_applied(void *userdata)
{
        return (double)cc_consumer_applied(((struct cc_service *)userdata)->consumer);
}

static double gauge_consumer_lag(void *userdata)
{
        return (double)cc_consumer_lag(((struct cc_service *)userdata)->consumer);
}

/* Gauges read live objects at render time; the table keeps register and unregister in step. */
struct service_gauge {
        const char *name, *help;
        cc_metric_gauge_fn fn;
};

static const struct service_gauge pool_gauges[] = {
    {"cc_db_pool_connections_in_use", "database connections in use", gauge_pool_in_use},
    {"cc_db_pool_connections_open", "database connections open", gauge_pool_open},
    {"cc_db_pool_connections_max", "database pool size (CC_DB_POOL_SIZE)", gauge_pool_max},
};
static const struct service_gauge relay_gauge = {
    "cc_outbox_backlog", "outbox rows committed and not yet published", gauge_outbox_backlog};
static const struct service_gauge consumer_gauges[] = {
    {"cc_consumer_events_applied", "events applied by the consumer since start",
     gauge_consumer_applied},
    {"cc_consumer_lag", "messages behind the end of the assigned partitions (-1 unknown)",
     gauge_consumer_lag},
};

static void set_gauges(struct cc_service *svc, bool on)
{
        const char *const labels[][2] = {{"service", svc->def->name}};
        for (size_t i = 0; i < CC_ARRAY_SIZE(pool_gauges); i++)
                cc_metrics_gauge_fn(pool_gauges[i].name, pool_gauges[i].help, labels, 1,
                                    on ? pool_gauges[i].fn : NULL, on ? svc : NULL);
        if (svc->relay)
                cc_metrics_gauge_fn(relay_gauge.name, relay_gauge.help, labels, 1,
                                    on ? relay_gauge.fn : NULL, on ? svc : NULL);
        for (size_t i = 0; svc->consumer && i < CC_ARRAY_SIZE(consumer_gauges); i++)
                cc_metrics_gauge_fn(consumer_gauges[i].name, consumer_gauges[i].help, labels, 1,
                                    on ? consumer_gauges[i].fn : NULL, on ? svc : NULL);
}

/* Forgets consumed event ids older than CC_DEDUPE_RETENTION_DAYS, a bounded batch per statement
 * (the BRIN index on processed_at finds them) so no statement holds its locks for long. Kafka
 * cannot redeliver an event older than the topic's retention, so its id is no longer needed. */
static void prune_processed_events(struct cc_db_conn *conn, long long days)
{
        static const char sql[] =
            "DELETE FROM processed_events WHERE ctid = ANY (ARRAY ("
            "SELECT ctid FROM processed_events "
            "WHERE processed_at < now() - $1::int * interval '1 day' LIMIT 10000))";
        char d[24];
        snprintf(d, sizeof(d), "%lld", days);
        const char *params[] = {d};
        for (int round = 0; round < 100; round++) {
                PGresult *res = NULL;
                if (cc_db_exec(conn, sql, 1, params, &res) < 0) {
                        cc_log_warn(NULL, "housekeeping: processed_events: %s", cc_db_error(conn));
                        return;
                }
                long n = strtol(PQcmdTuples(res), NULL, 10);
                PQclear(res);
                if (n < 10000)
                        return;
        }
}

static void housekeeping_round(void *userdata)
{
        struct cc_service *svc = userdata;
        struct cc_db_conn *conn;
        if (cc_db_acquire(svc->pool, &conn) < 0)
                return; /* the next round tries again */
        if (svc->def->consume_handler)
                prune_processed_events(conn, svc->cfg.dedupe_days);
        if (svc->def->housekeeping)
                svc->def->housekeeping(svc, conn);
        cc_db_release(conn);
}

static int run_migrations(struct cc_service *svc, char *err, size_t err_len)
{
        const struct cc_service_def *def = svc->def;
        size_t n = def->nmigrations + 2;
        struct cc_migration *all = cc_xcalloc(n, sizeof(*all));
        all[0] = cc_outbox_migration;
        all[1] = cc_processed_events_age_migration;
        for (size_t i = 0; i < def->nmigrations; i++)
                all[i + 2] = def->migrations[i];
        struct cc_db_conn *conn = NULL;
        int r = cc_db_acquire(svc->pool, &conn);
        if (r < 0) {
                snprintf(err, err_len, "database unreachable: %s", strerror(-r));
                goto out;
        }
        r = cc_migrate_run(conn, def->name, all, n, err, err_len);
        cc_db_release(conn);
out:
        free(all);
        return r;
}

int cc_service_start(const struct cc_service_def *def, struct cc_service **ret_svc, char *err,
                     size_t err_len)
{
        struct cc_service *svc = cc_xcalloc(1, sizeof(*svc));
        svc->def = def;
        pthread_mutex_init(&svc->ready_lock, NULL);
        build_vars(svc);
        int r = cc_config_load(svc->vars, svc->nvars, err, err_len);
        if (r < 0) {
                free(svc->vars);
                pthread_mutex_destroy(&svc->ready_lock);
                free(svc);
                return r;
        }
        struct service_settings *c = &svc->cfg;
        cc_log_init(def->name, (enum cc_log_level)c->log_level);

        char *conninfo = cc_db_conninfo_with_schema(c->database_url, def->name);
        svc->pool = conninfo
                        ? cc_db_pool_new(conninfo, (int)c->pool_size, (int)c->acquire_timeout_ms)
                        : NULL;
        free(conninfo);
        if (!svc->pool) {
                snprintf(err, err_len, "CC_DATABASE_URL: not a valid PostgreSQL connection string");
                r = -EINVAL;
                goto fail;
        }
        r = run_migrations(svc, err, err_len);
        if (r < 0)
                goto fail;

        char kerr[256];
        svc->producer = cc_kafka_producer_new(c->kafka_brokers, def->name, NULL, NULL, NULL, kerr,
                                              sizeof(kerr));
        if (!svc->producer) {
                snprintf(err, err_len, "CC_KAFKA_BROKERS: %s", kerr);
                r = -EINVAL;
                goto fail;
        }
        const struct cc_outbox_relay_config relay_cfg = {
            .conninfo = c->database_url,
            .schema = def->name,
            .producer = svc->producer,
            .batch_size = 500,
            .poll_interval_ms = (int)c->outbox_poll_ms,
        };
        svc->relay = cc_outbox_relay_start(&relay_cfg);
        if (!svc->relay) {
                snprintf(err, err_len, "cannot start the outbox relay");
                r = -EIO;
                goto fail;
        }
        if (def->consume_handler) {
                const struct cc_consumer_config ccfg = {
                    .service = def->name,
                    .schema = def->name,
                    .brokers = c->kafka_brokers,
                    .topics = def->consume_topics,
                    .ntopics = def->nconsume_topics,
                    .pool = svc->pool,
                    .dlq_producer = svc->producer,
                    .handler = def->consume_handler,
                    .userdata = svc,
                };
                svc->consumer = cc_consumer_start(&ccfg, kerr, sizeof(kerr));
                if (!svc->consumer) {
                        snprintf(err, err_len, "cannot start the consumer: %s", kerr);
                        r = -EIO;
                        goto fail;
                }
        }

        svc->verifier = cc_jwt_verifier_from_file(c->jwt_public_key_file, c->jwt_issuer,
                                                  c->jwt_audience, (size_t)c->jwt_cache);
        if (!svc->verifier) {
                snprintf(err, err_len,
                         "CC_JWT_PUBLIC_KEY_FILE: %s is not a readable P-256 public key (PEM)",
                         c->jwt_public_key_file);
                r = -EINVAL;
                goto fail;
        }

        if (def->init) {
                r = def->init(svc);
                if (r < 0) {
                        snprintf(err, err_len, "%s: initialisation failed: %s", def->name,
                                 strerror(-r));
                        goto fail;
                }
                svc->initialised = true;
        }

        const struct cc_http_server_config hcfg = {
            .service = def->name,
            .bind_addr = c->bind,
            .port = (int)c->port,
            .threads = (int)c->threads,
            .max_body = (size_t)c->max_body,
            .max_upload = def->max_upload ? (size_t)*def->max_upload : 0,
            .conn_timeout_s = (int)c->conn_timeout_s,
            .verifier = svc->verifier,
            .ready = check_ready,
            .cors_origins = def->cors_origins ? def->cors_origins() : NULL,
            .userdata = svc,
        };
        svc->http = cc_http_server_new(&hcfg, def->routes, def->nroutes, err, err_len);
        if (!svc->http) {
                r = -EINVAL;
                goto fail;
        }
        r = cc_http_server_start(svc->http);
        if (r < 0) {
                snprintf(err, err_len, "CC_HTTP_PORT: cannot listen on %s:%lld: %s", c->bind,
                         c->port, strerror(-r));
                goto fail;
        }
        /* Only where there is something to keep: a thread and a database connection less in
         * the services that neither consume nor keep rollups. */
        if (def->consume_handler || def->housekeeping) {
                svc->housekeeping = cc_periodic_start("housekeeping", svc->cfg.housekeeping_ms,
                                                      housekeeping_round, svc);
                cc_periodic_kick(svc->housekeeping); /* a first round now, not in an interval */
        }
        set_gauges(svc, true);
        svc->gauges_on = true;
        cc_log_info(NULL, "%s listening on %s:%d", def->name, c->bind,
                    cc_http_server_port(svc->http));
        *ret_svc = svc;
        return 0;
fail:
        cc_service_stop(svc);
        return r < 0 ? r : -EINVAL;
}

void cc_service_stop(struct cc_service *svc)
{
        if (!svc)
                return;
        int timeout_ms =
            (int)(svc->cfg.shutdown_timeout_s ? svc->cfg.shutdown_timeout_s : 10) * 1000;
        /* Order matters: stop taking requests and let in-flight ones finish, then stop
         * consuming, then drain the outbox and flush the producer, and only then close the
         * database pool everything else was using. */
        if (svc->gauges_on)
                set_gauges(svc, false);
        if (svc->http) {
                cc_http_server_stop(svc->http);
                cc_http_server_free(svc->http);
        }
        cc_periodic_stop(svc->housekeeping);
        svc->housekeeping = NULL;
        cc_consumer_stop(svc->consumer);
        svc->consumer = NULL;
        if (svc->relay)
                cc_outbox_relay_stop(svc->relay, timeout_ms);
        svc->relay = NULL;
        cc_kafka_producer_free(svc->producer);
        svc->producer = NULL;
        if (svc->initialised && svc->def->fini)
                svc->def->fini(svc);
        cc_jwt_verifier_free(svc->verifier);
        cc_db_pool_free(svc->pool);
        cc_config_free(svc->vars, svc->nvars);
        free(svc->vars);
        pthread_mutex_destroy(&svc->ready_lock);
        free(svc);
}

int cc_service_main(const struct cc_service_def *def)
{
        /* Block the stop signals before any thread exists so every thread inherits the mask
         * and only sigwait below sees them. */
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        signal(SIGPIPE, SIG_IGN);

        cc_log_init(def->name, CC_LOG_INFO);
        struct cc_service *svc = NULL;
        char err[512];
        int r = cc_service_start(def, &svc, err, sizeof(err));
        if (r < 0) {
                cc_log_error(NULL, "cannot start: %s", err);
                return 1;
        }
        int sig = 0;
        sigwait(&stop, &sig);
        cc_log_info(NULL, "received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        cc_service_stop(svc);
        cc_log_info(NULL, "stopped");
        return 0;
}

int cc_service_port(const struct cc_service *svc)
{
        return cc_http_server_port(svc->http);
}

const char *cc_service_name(const struct cc_service *svc)
{
        return svc->def->name;
}

struct cc_db_pool *cc_service_pool(struct cc_service *svc)
{
        return svc->pool;
}

struct cc_outbox_relay *cc_service_outbox(struct cc_service *svc)
{
        return svc->relay;
}

struct cc_consumer *cc_service_consumer(struct cc_service *svc)
{
        return svc->consumer;
}

struct cc_jwt_verifier *cc_service_jwt_verifier(struct cc_service *svc)
{
        return svc->verifier;
}

const char *cc_service_jwt_issuer(const struct cc_service *svc)
{
        return svc->cfg.jwt_issuer;
}

const char *cc_service_jwt_audience(const struct cc_service *svc)
{
        return svc->cfg.jwt_audience;
}

void *cc_service_state(struct cc_service *svc)
{
        return svc->state;
}

void cc_service_set_state(struct cc_service *svc, void *state)
{
        svc->state = state;
}

struct cc_service *cc_service_of(const struct cc_http_req *req)
{
        return cc_http_req_userdata(req);
}

struct cc_db_conn *cc_service_req_db(struct cc_http_req *req)
{
        struct cc_db_conn *conn = NULL;
        if (cc_db_acquire(cc_service_pool(cc_service_of(req)), &conn) < 0) {
                cc_http_reply_error(req, 503, "Database unavailable");
                return NULL;
        }
        return conn;
}
