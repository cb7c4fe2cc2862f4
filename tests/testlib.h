/* Helpers shared by the test programs: settings from scripts/dev test, HTTP over loopback with
 * libcurl, sockets, the devbroker's fault commands, PostgreSQL and Kafka against the test stack,
 * ES256 tokens, and polling with a deadline. Every helper that "must" succeed fails the test with
 * a message saying what did not. */
#pragma once

#include <check.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include "cc/db.h"
#include "cc/kafka.h"
#include "cc/util.h"

/* The value of a CC_TEST_* variable; fails the test with a clear message when it is unset
 * (integration tests run under scripts/dev test, which sets them). */
const char *cc_test_env(const char *name);

/* A name unique to this process and call ("t_4242_3"), for schemas, groups and topics. */
const char *cc_test_unique(const char *prefix, char *buf, size_t len);

/* Evaluates cond every interval_ms until it holds or timeout_ms have passed; yields cond's last
 * value (so the wait can be asserted, or followed by an assertion with a better message). */
#define CC_TEST_WAIT(cond, timeout_ms, interval_ms)                                                \
        ({                                                                                         \
                int64_t cc_test_deadline_ = cc_monotonic_us() + (int64_t)(timeout_ms)*1000;        \
                bool cc_test_ok_;                                                                  \
                while (!(cc_test_ok_ = (cond)) && cc_monotonic_us() < cc_test_deadline_)           \
                        usleep((useconds_t)(interval_ms)*1000);                                    \
                cc_test_ok_;                                                                       \
        })

struct cc_test_response {
        long status;
        char *body;    /* heap, NUL-terminated */
        char *headers; /* heap, raw header block */
};

/* Performs an HTTP request; headers is a NULL-terminated list of "Name: value" strings. */
void cc_test_http(const char *method, const char *url, const char *body, size_t body_len,
                  const char *const *headers, struct cc_test_response *ret_resp);
void cc_test_response_fini(struct cc_test_response *resp);
/* The value of a response header (case-insensitive), copied into buf; NULL when absent. */
const char *cc_test_response_header(const struct cc_test_response *resp, const char *name,
                                    char *buf, size_t len);

/* A TCP connection to host:port (numeric IPv4); the fd, or a negative errno when it cannot be
 * made (refused: nothing listens). */
int cc_test_connect(const char *host, int port);
/* A loopback TCP socket bound to a free port but not listening, so connecting to it is refused
 * at once; returns the fd (the caller closes it) and the port in *ret_port. */
int cc_test_bound_socket(int *ret_port);
/* A loopback port that was free a moment ago, for a process that binds it itself. */
int cc_test_free_port(void);

/* Sends one command ("down", "up", "rtt 500") to the devbroker control port
 * (CC_TEST_DEVBROKER_CONTROL) and returns its one-line answer in buf. */
const char *cc_test_devbroker(const char *command, char *buf, size_t len);
/* The same for a command that must be answered "ok". */
void cc_test_devbroker_ok(const char *command);
/* Creates a topic on the devbroker. */
void cc_test_topic(const char *name, int partitions);

/* Stops and restarts the test PostgreSQL server (CC_TEST_PG_CTL); waits down_ms between. */
void cc_test_pg_restart(int down_ms);
void cc_test_pg_stop(void);
void cc_test_pg_start(void);

/* A pool on the test database (CC_TEST_DATABASE_URL). With a schema, its sessions' search_path
 * is that schema, as a service's are; NULL leaves it alone. */
struct cc_db_pool *cc_test_pool(const char *schema, int size, int timeout_ms);
/* cc_db_acquire that must succeed. */
struct cc_db_conn *cc_test_acquire(struct cc_db_pool *pool);
/* Runs a statement that must succeed (n params, text format). */
void cc_test_exec(struct cc_db_conn *conn, const char *sql, int n, const char *const *params);
/* The same, returning the result; the caller PQclears it. */
PGresult *cc_test_query(struct cc_db_conn *conn, const char *sql, int n, const char *const *params);
/* The single value (one row, first column) of a query that must succeed, copied into buf;
 * "(null)" for SQL NULL. param is $1, or NULL when the query takes none. */
const char *cc_test_query_value(struct cc_db_conn *conn, const char *sql, const char *param,
                                char *buf, size_t len);
/* The same read as a number (count(*) and the like). */
long long cc_test_query_int(struct cc_db_conn *conn, const char *sql, const char *param);
/* The same on a connection of its own, taken from pool and given back. */
long long cc_test_pool_query_int(struct cc_db_pool *pool, const char *sql, const char *param);
/* Drops (CASCADE) the schema named prefix and every schema whose name starts with prefix and
 * "_"; fails the test when a drop fails, after trying them all. Returns how many it dropped. */
int cc_test_drop_schemas(const char *prefix);

/* A producer on the test brokers (CC_TEST_KAFKA_BROKERS); the arguments are
 * cc_kafka_producer_new's. */
struct cc_kafka_producer *cc_test_producer(const char *client_id, cc_kafka_delivery_fn on_delivery,
                                           void *userdata, const char *const *extra_conf);
/* A consumer of one topic on the test brokers; group NULL: a group of its own. */
struct cc_kafka_consumer *cc_test_consumer(const char *topic, const char *group,
                                           const char *const *extra_conf);
/* Waits until deadline_us (cc_monotonic_us) for the next message; the first read of a new group
 * includes its join (~3 s). 0 with *ret_msg filled (the caller releases it), or the last
 * cc_kafka_consume result (-EAGAIN: nothing came). */
int cc_test_consume(struct cc_kafka_consumer *kc, int64_t deadline_us,
                    struct cc_kafka_message *ret_msg);

/* Sets the environment a service reads (CC_DATABASE_URL, CC_KAFKA_BROKERS,
 * CC_JWT_PUBLIC_KEY_FILE, CC_HTTP_PORT, CC_HTTP_BIND, CC_HTTP_THREADS) to run against the test
 * stack on 127.0.0.1:port (0: any free port) with two HTTP threads. */
void cc_test_service_env(int port);

/* Runs a suite with Check's normal output (the summary line scripts/dev test counts). */
int cc_test_run(Suite *s);

/* A JWS compact token: base64url(header_json).base64url(payload_json) signed with key (a P-256
 * key) in ES256's raw r||s form. Both JSON texts are used verbatim. Returns a heap string. */
char *cc_test_sign_es256(EVP_PKEY *key, const char *header_json, const char *payload_json);
/* key's public half as PEM, what a verifier is given. Returns a heap string. */
char *cc_test_public_pem(EVP_PKEY *key);

/* Signs an ES256 access token with the test private key (CC_TEST_KEYS_DIR/jwt-private.pem), as
 * the gateway would: iss cc-gateway, aud cc-api, expiring ttl_s seconds from now. role is
 * "ADMIN", "SUPERVISOR" or "AGENT". Returns a heap string. */
char *cc_test_token(const char *role, const char *org_id, const char *user_id, int ttl_s);
