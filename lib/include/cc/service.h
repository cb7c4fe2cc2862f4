/* The skeleton every service binary shares: configuration, logging, the database pool and
 * migrations, the Kafka producer and outbox relay, an optional idempotent consumer, the HTTP
 * server with the service's routes, readiness, and a clean shutdown on SIGTERM/SIGINT. A
 * service's main.c fills a cc_service_def and calls cc_service_main. */
#pragma once

#include "cc/config.h"
#include "cc/consume.h"
#include "cc/db.h"
#include "cc/http.h"
#include "cc/kafka.h"
#include "cc/migrate.h"
#include "cc/outbox.h"

struct cc_service;

struct cc_service_def {
        const char *name; /* "telephony": schema, client id, logs */
        int default_port;
        const struct cc_migration *migrations; /* the service's own, in order */
        size_t nmigrations;
        const struct cc_http_route *routes;
        size_t nroutes;
        /* Optional consumer: topics and the handler applied once per event. */
        const char *const *consume_topics;
        size_t nconsume_topics;
        cc_consume_handler_fn consume_handler;
        /* Optional: the largest body of a CC_HTTP_UPLOAD route (a file upload), read after the
         * configuration is loaded (it points into the service's own settings); NULL: uploads
         * are limited like every body, by CC_HTTP_MAX_BODY. */
        const long long *max_upload;
        /* Optional extra configuration the service reads (its own CC_* variables). */
        const struct cc_config_var *config;
        size_t nconfig;
        /* Optional: origins allowed to call the API from a browser (comma-separated), read after
         * the configuration is loaded; NULL or "" answers no CORS at all. */
        const char *(*cors_origins)(void);
        /* Optional: the service's own retention jobs, run with a pooled connection on the
         * housekeeping thread, shortly after start and then every CC_HOUSEKEEPING_INTERVAL_MS
         * (after the library's own: forgetting old consumed event ids). Failures are logged
         * and retried by the next round. */
        void (*housekeeping)(struct cc_service *svc, struct cc_db_conn *conn);
        /* Optional: called after everything is up and before serving; non-zero aborts start. */
        int (*init)(struct cc_service *svc);
        void (*fini)(struct cc_service *svc);
};

/* Parses configuration from the environment, starts everything, serves until SIGTERM/SIGINT,
 * shuts down cleanly. Returns the process exit code. */
int cc_service_main(const struct cc_service_def *def);

/* The same, split for in-process tests: start (port from CC_HTTP_PORT, 0 picks one), then stop. */
int cc_service_start(const struct cc_service_def *def, struct cc_service **ret_svc, char *err,
                     size_t err_len) CC_MUSTCHECK;
void cc_service_stop(struct cc_service *svc);

int cc_service_port(const struct cc_service *svc);
const char *cc_service_name(const struct cc_service *svc);
struct cc_db_pool *cc_service_pool(struct cc_service *svc);
struct cc_outbox_relay *cc_service_outbox(struct cc_service *svc);
struct cc_consumer *cc_service_consumer(struct cc_service *svc);
/* The access-token verifier every route uses, and the iss/aud it expects (CC_JWT_ISSUER,
 * CC_JWT_AUDIENCE), for a service that also issues tokens. Valid from init on. */
struct cc_jwt_verifier *cc_service_jwt_verifier(struct cc_service *svc);
const char *cc_service_jwt_issuer(const struct cc_service *svc);
const char *cc_service_jwt_audience(const struct cc_service *svc);
void *cc_service_state(struct cc_service *svc);
void cc_service_set_state(struct cc_service *svc, void *state);
/* The service owning an HTTP request (from the server's userdata). */
struct cc_service *cc_service_of(const struct cc_http_req *req);
/* A pooled database connection for a request's handler (release with cc_db_release); when none
 * can be had, replies 503 {"detail": "Database unavailable"} and returns NULL. */
struct cc_db_conn *cc_service_req_db(struct cc_http_req *req);
