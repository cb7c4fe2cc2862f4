/* Helpers shared by the test programs: settings from scripts/dev test, HTTP over loopback with
 * libcurl, the devbroker's fault commands, and a PostgreSQL restart. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* The value of a CC_TEST_* variable; fails the test with a clear message when it is unset
 * (integration tests run under scripts/dev test, which sets them). */
const char *cc_test_env(const char *name);

/* A name unique to this process and call ("t_4242_3"), for schemas, groups and topics. */
const char *cc_test_unique(const char *prefix, char *buf, size_t len);

struct cc_test_response {
        long status;
        char *body; /* heap, NUL-terminated */
        char *headers; /* heap, raw header block */
};

/* Performs an HTTP request; headers is a NULL-terminated list of "Name: value" strings. */
void cc_test_http(const char *method, const char *url, const char *body, size_t body_len,
                  const char *const *headers, struct cc_test_response *ret_resp);
void cc_test_response_fini(struct cc_test_response *resp);
/* The value of a response header (case-insensitive), copied into buf; NULL when absent. */
const char *cc_test_response_header(const struct cc_test_response *resp, const char *name,
                                    char *buf, size_t len);

/* Sends one command ("down", "up", "rtt 500") to the devbroker control port
 * (CC_TEST_DEVBROKER_CONTROL) and returns its one-line answer in buf. */
const char *cc_test_devbroker(const char *command, char *buf, size_t len);

/* Stops and restarts the test PostgreSQL server (CC_TEST_PG_CTL); waits down_ms between. */
void cc_test_pg_restart(int down_ms);
void cc_test_pg_stop(void);
void cc_test_pg_start(void);

/* Runs a suite with Check's normal output (the summary line scripts/dev test counts). */
int cc_test_run(Suite *s);

/* Signs an ES256 access token with the test private key (CC_TEST_KEYS_DIR/jwt-private.pem), as
 * the gateway would: iss cc-gateway, aud cc-api, expiring ttl_s seconds from now. role is
 * "ADMIN", "SUPERVISOR" or "AGENT". Returns a heap string. */
char *cc_test_token(const char *role, const char *org_id, const char *user_id, int ttl_s);
