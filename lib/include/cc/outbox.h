/* Transactional outbox. A service writes its domain rows and the outbox row in one transaction
 * (cc_outbox_add); a relay thread publishes committed rows in order with the idempotent producer
 * and marks them published when the cluster acknowledges them. The relay wakes on LISTEN/NOTIFY
 * and polls as a backstop, so Kafka being down never fails a request: the backlog grows and
 * drains when it returns. Table: <schema>.outbox (created by cc_outbox_migration). */
#pragma once

#include "cc/db.h"
#include "cc/kafka.h"
#include "cc/migrate.h"

/* The migration every producing service includes in its list, before its own (name
 * "000_outbox"). It creates outbox and processed_events in the current search_path schema. */
extern const struct cc_migration cc_outbox_migration;
/* An index to find old processed_events rows (after cc_outbox_migration; names sort so). */
extern const struct cc_migration cc_processed_events_age_migration;

/* Inserts the event inside the caller's open transaction on conn (search_path must be the
 * service's schema) and issues NOTIFY so the relay wakes at commit. The envelope is bytes as
 * packed by cc_event_pack; event_id and type go to the table and to Kafka headers. -EINVAL
 * (checked before any SQL, so the transaction survives) for a missing argument, an event_id that
 * is not a UUID, or conn not inside a transaction; -EEXIST when event_id is already there. */
int cc_outbox_add(struct cc_db_conn *conn, const char *topic, const char *key, const char *event_id,
                  const char *type, const char *traceparent, const void *envelope,
                  size_t envelope_len) CC_MUSTCHECK;

struct cc_outbox_relay;

struct cc_outbox_relay_config {
        const char *conninfo; /* its own LISTEN connection and work connection */
        const char *schema;   /* "telephony" */
        /* borrowed; the relay polls it. Created with on_delivery = NULL
         * (reports reach the relay through struct cc_kafka_sink). */
        struct cc_kafka_producer *producer;
        int batch_size;       /* rows fetched per round, default 500 */
        int poll_interval_ms; /* backstop poll, default 1000 */
};

/* Starts the relay thread. NULL for an invalid configuration (schema: [a-z_][a-z0-9_]*, at most
 * 53 characters, so the NOTIFY channel name fits) or when the thread could not start. */
struct cc_outbox_relay *cc_outbox_relay_start(const struct cc_outbox_relay_config *cfg);
/* Stops the thread after its current round (waiting at most timeout_ms for deliveries). Rows
 * not yet published stay in the table for the next start. NULL is a no-op. */
void cc_outbox_relay_stop(struct cc_outbox_relay *relay, int timeout_ms);
/* Rows committed and not yet published (cached, refreshed each round). */
int64_t cc_outbox_backlog(struct cc_outbox_relay *relay);
/* Total rows published since start. */
uint64_t cc_outbox_published(struct cc_outbox_relay *relay);
/* Wakes the relay now (tests, shutdown). */
void cc_outbox_relay_kick(struct cc_outbox_relay *relay);
