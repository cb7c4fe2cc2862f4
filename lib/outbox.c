#include "cc/outbox.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_BATCH   500
#define DEFAULT_POLL_MS 1000
/* Rows handed to the producer and not yet marked published, in batches: enough to keep the
 * brokers busy while the previous batches' acknowledgements come back. */
#define WINDOW_BATCHES 4
/* How often rows committed out of id order (a transaction that took its id before, and
 * committed after, one the relay has already passed) are looked for while rows are in flight. */
#define SWEEP_INTERVAL_US 200000
/* The backlog count is refreshed at most this often while rows stream through. */
#define BACKLOG_INTERVAL_US 200000
#define BACKLOG_CAP         "1000000"
#define CLEANUP_INTERVAL_US (60 * 1000000LL)
#define CLEANUP_BATCH       10000
#define RETENTION           "1 hour"
/* Longest an acknowledged row waits for its batch's UPDATE. */
#define MARK_DELAY_US  20000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* The NOTIFY channel "cc_outbox_<schema>" must fit PostgreSQL's 63-byte identifiers. */
#define SCHEMA_MAX 53

const struct cc_migration cc_outbox_migration = {
    .name = "000_outbox",
    .sql = "CREATE TABLE outbox (\n"
           "    id bigserial PRIMARY KEY,\n"
           "    event_id uuid NOT NULL UNIQUE,\n"
           "    topic text NOT NULL,\n"
           "    key text NOT NULL,\n"
           "    type text NOT NULL,\n"
           "    traceparent text,\n"
           "    payload bytea NOT NULL,\n"
           "    created_at timestamptz NOT NULL DEFAULT now(),\n"
           "    published_at timestamptz\n"
           ");\n"
           "CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;\n"
           "CREATE TABLE processed_events (\n"
           "    event_id uuid PRIMARY KEY,\n"
           "    processed_at timestamptz NOT NULL DEFAULT now()\n"
           ");\n",
};

/* processed_at grows with the table's physical order, so a BRIN index finds the old ids the
 * housekeeping forgets (lib/service.c) for almost nothing on the consumer's inserts. */
const struct cc_migration cc_processed_events_age_migration = {
    .name = "000_processed_events_age",
    .sql = "CREATE INDEX processed_events_age ON processed_events USING brin (processed_at);\n",
};

int cc_outbox_add(struct cc_db_conn *conn, const char *topic, const char *key, const char *event_id,
                  const char *type, const char *traceparent, const void *envelope,
                  size_t envelope_len)
{
        /* One round trip: the data-modifying CTE always runs, and the notification is only
         * delivered at commit (several in one transaction fold into one), so a rolled-back
         * event wakes nobody. The channel follows the session's schema, as the table does. */
        static const char sql[] =
            "WITH ins AS (INSERT INTO outbox (event_id, topic, key, type, traceparent, "
            "payload) VALUES ($1::uuid, $2, $3, $4, $5, $6::bytea) RETURNING id) "
            "SELECT pg_notify('cc_outbox_' || current_schema(), '') FROM ins";
        /* Checked here because a failing statement would abort the caller's transaction. */
        if (!conn || !topic || !*topic || !key || !event_id || !cc_uuid_valid(event_id) || !type ||
            !*type || !envelope || envelope_len == 0 || envelope_len > INT_MAX)
                return -EINVAL;
        if (!cc_db_in_transaction(conn))
                return -EINVAL;
        const char *params[] = {
            event_id, topic, key, type, traceparent && *traceparent ? traceparent : NULL, envelope};
        const int lengths[] = {0, 0, 0, 0, 0, (int)envelope_len};
        const int formats[] = {0, 0, 0, 0, 0, 1};
        return cc_db_execv(conn, sql, 6, params, lengths, formats, NULL);
}

/* ---- the relay ----
 *
 * Order. Rows are handed to the idempotent producer in id order, and the producer keeps the
 * order of one partition across its own retries, so one key's events reach Kafka in the order
 * they were written. A row is handed over once while it is pending: the next fetch starts above
 * the highest id in flight (the cursor).
 *
 * Failure. The producer retries a message until it is delivered (message.timeout.ms 0), so an
 * outage only delays rows. A delivery can still be reported failed (a producer configured with
 * a timeout, a fatal producer error, a purge at shutdown); its row stays unpublished, the relay
 * stops fetching, waits until everything in flight has reported, and starts over from the
 * lowest unpublished id. With a timeout configured that can reorder one key's events (a later
 * message may have got through meanwhile) and duplicate others; consumers deduplicate on
 * event_id, and ordering holds as long as nothing is given up, which is the default.
 *
 * Late commits. An id is taken at insert and becomes visible at commit, so a row can appear
 * below the cursor after the relay has passed it. Whenever nothing is pending the cursor goes
 * back to 0; while rows stream through, a periodic sweep reads below the cursor, skipping
 * what is pending. A late row can overtake a later event of its own key only if two
 * transactions wrote that key concurrently; services write an aggregate's events while holding
 * its row lock, which rules that out.
 *
 * Replicas. Only the session holding a per-schema advisory lock publishes; the others retry the
 * lock every poll interval and take over when that session ends. */

struct report {
        int64_t id;
        int err;
};

/* Where delivery reports land. Reports are served by whichever thread polls the shared
 * producer, possibly after the relay has stopped, so the hub outlives the relay until the last
 * message it produced has reported: each such message holds a reference. */
struct relay_hub {
        pthread_mutex_t mu;
        atomic_int refs;
        bool closed;
        struct report *reports;
        size_t nreports, cap;
};

struct relay_msg {
        struct cc_kafka_sink sink;
        struct relay_hub *hub;
        int64_t id;
};

/* Row ids (never 0) in an open-addressing table with linear probing. */
struct id_set {
        int64_t *slots;
        size_t cap, len;
};

struct cc_outbox_relay {
        char *conninfo, *schema;
        struct cc_kafka_producer *producer;
        int batch, poll_ms;
        size_t window;
        pthread_t thread;
        int wake_fd;
        atomic_bool stop, kicked;
        _Atomic int64_t stop_deadline_us;
        _Atomic int64_t backlog;
        _Atomic uint64_t published;
        struct relay_hub *hub;

        /* Owned by the relay thread. */
        char *sql_listen, *sql_fetch, *sql_sweep, *sql_mark, *sql_backlog, *sql_cleanup;
        PGconn *pg;
        bool leader;
        /* Rows handed to the producer and not yet marked published: in flight, or acknowledged
         * and waiting for the UPDATE. */
        struct id_set pending;
        int64_t *acked;
        size_t nacked, acked_cap;
        int64_t first_ack_us;
        /* The highest id handed to the producer: the next fetch starts above it, so a row in
         * flight is never produced twice. */
        int64_t cursor;
        bool resetting;  /* a delivery failed: wait for the rest, then start over */
        bool more;       /* the last fetch was full */
        bool queue_full; /* the producer's queue refused a row: let it drain before more */
        bool wake;       /* notified or kicked since the last fetch */
        bool dirty;      /* the backlog may have changed since it was counted */
        int backoff_ms;
        int64_t reconnect_at, next_lock, next_poll, next_sweep, next_backlog, next_cleanup;
};

static void hub_unref(struct relay_hub *hub)
{
        if (atomic_fetch_sub(&hub->refs, 1) != 1)
                return;
        free(hub->reports);
        pthread_mutex_destroy(&hub->mu);
        free(hub);
}

static void relay_msg_done(struct cc_kafka_sink *sink, int err)
{
        struct relay_msg *m = (struct relay_msg *)sink;
        struct relay_hub *hub = m->hub;
        pthread_mutex_lock(&hub->mu);
        if (!hub->closed) {
                if (hub->nreports == hub->cap) {
                        hub->cap = hub->cap ? hub->cap * 2 : 256;
                        hub->reports = cc_xrealloc(hub->reports, hub->cap * sizeof(*hub->reports));
                }
                hub->reports[hub->nreports++] = (struct report){m->id, err};
        }
        pthread_mutex_unlock(&hub->mu);
        free(m);
        hub_unref(hub);
}

static size_t id_hash(int64_t id, size_t cap)
{
        return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static void id_set_add(struct id_set *s, int64_t id);

static void id_set_grow(struct id_set *s)
{
        struct id_set old = *s;
        s->cap = old.cap ? old.cap * 2 : 1024;
        s->slots = cc_xcalloc(s->cap, sizeof(*s->slots));
        s->len = 0;
        for (size_t i = 0; i < old.cap; i++)
                if (old.slots[i])
                        id_set_add(s, old.slots[i]);
        free(old.slots);
}

static void id_set_add(struct id_set *s, int64_t id)
{
        if ((s->len + 1) * 2 > s->cap)
                id_set_grow(s);
        size_t i = id_hash(id, s->cap);
        while (s->slots[i] && s->slots[i] != id)
                i = (i + 1) & (s->cap - 1);
        if (!s->slots[i]) {
                s->slots[i] = id;
                s->len++;
        }
}

static void id_set_del(struct id_set *s, int64_t id)
{
        if (!s->len)
                return;
        size_t i = id_hash(id, s->cap);
        while (s->slots[i] != id) {
                if (!s->slots[i])
                        return;
                i = (i + 1) & (s->cap - 1);
        }
        /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
        size_t j = i;
        for (;;) {
                j = (j + 1) & (s->cap - 1);
                if (!s->slots[j])
                        break;
                size_t home = id_hash(s->slots[j], s->cap);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        s->slots[i] = s->slots[j];
                        i = j;
                }
        }
        s->slots[i] = 0;
        s->len--;
}

struct textbuf {
        char *data;
        size_t len, cap;
};

static void textbuf_add_id(struct textbuf *b, int64_t id)
{
        if (b->cap - b->len < 24) {
                b->cap = b->cap ? b->cap * 2 : 4096;
                b->data = cc_xrealloc(b->data, b->cap);
        }
        b->len += (size_t)snprintf(b->data + b->len, b->cap - b->len, "%s%lld",
                                   b->len > 1 ? "," : "", (long long)id);
}

/* A PostgreSQL array literal "{1,2,3}" (heap). */
static char *ids_literal(const int64_t *ids, size_t n, const struct id_set *set)
{
        struct textbuf b = {0};
        b.cap = 4096;
        b.data = cc_xmalloc(b.cap);
        b.data[b.len++] = '{';
        for (size_t i = 0; i < n; i++)
                textbuf_add_id(&b, ids[i]);
        for (size_t i = 0; set && i < set->cap; i++)
                if (set->slots[i])
                        textbuf_add_id(&b, set->slots[i]);
        if (b.cap - b.len < 2)
                b.data = cc_xrealloc(b.data, b.cap += 2);
        b.data[b.len++] = '}';
        b.data[b.len] = '\0';
        return b.data;
}

static void quiet_notice(void *arg, const char *message)
{
        (void)arg;
        (void)message;
}

static int64_t ms_to_us(int64_t ms)
{
        return ms * 1000;
}

/* Any failure drops the session, and with it the advisory lock: the next round starts from a
 * clean connection after a back-off, and another replica may take over meanwhile. */
static void relay_fail(struct cc_outbox_relay *r)
{
        PQfinish(r->pg);
        r->pg = NULL;
        r->leader = false;
        r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (r->backoff_ms > BACKOFF_MAX_MS)
                r->backoff_ms = BACKOFF_MAX_MS;
        r->reconnect_at = cc_monotonic_us() + ms_to_us(r->backoff_ms);
}

static PGresult *relay_exec(struct cc_outbox_relay *r, const char *sql, int nparams,
                            const char *const *params, int binary)
{
        PGresult *res = PQexecParams(r->pg, sql, nparams, NULL, params, NULL, NULL, binary);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                return res;
        PQclear(res);
        relay_fail(r);
        return NULL;
}

static void relay_connect(struct cc_outbox_relay *r)
{
        /* dbname is expanded as the whole conninfo; keywords apply in order, so the conninfo's
         * own connect_timeout wins over the default placed first. */
        const char *const keys[] = {"connect_timeout", "dbname", NULL};
        const char *const vals[] = {"2", r->conninfo, NULL};
        r->pg = PQconnectdbParams(keys, vals, 1);
        if (!r->pg || PQstatus(r->pg) != CONNECTION_OK) {
                relay_fail(r);
                return;
        }
        PQsetNoticeProcessor(r->pg, quiet_notice, NULL);
        /* Every statement of this session wants an ordered walk of an index. Right after a
         * burst of inserts the statistics are stale, and the planner then prefers a bitmap scan
         * that reads and sorts the whole backlog for each batch: quadratic while a backlog
         * drains (measured: 25 ms instead of 0.5 ms per batch of 1000 at a 100k backlog).
         * The marks need no synchronous commit: a lost one only means a row published twice,
         * which consumers absorb. */
        PGresult *res = relay_exec(r,
                                   "SELECT set_config('enable_bitmapscan', 'off', false), "
                                   "set_config('enable_seqscan', 'off', false), "
                                   "set_config('synchronous_commit', 'off', false)",
                                   0, NULL, 0);
        if (!res)
                return;
        PQclear(res);
        r->leader = false;
        r->next_lock = 0;
}

static void relay_try_lock(struct cc_outbox_relay *r)
{
        const char *params[] = {r->schema};
        PGresult *res = relay_exec(r, "SELECT pg_try_advisory_lock(hashtext('cc_outbox:' || $1))",
                                   1, params, 0);
        r->next_lock = cc_monotonic_us() + ms_to_us(r->poll_ms);
        if (!res)
                return;
        bool locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (!locked)
                return;
        /* Only the publishing replica listens: the others would wake on every commit. */
        res = relay_exec(r, r->sql_listen, 0, NULL, 0);
        if (!res)
                return;
        PQclear(res);
        r->leader = true;
        /* Whatever was committed before LISTEN was notified to nobody. */
        r->wake = true;
}

static void relay_drain_notifies(struct cc_outbox_relay *r)
{
        if (!PQconsumeInput(r->pg)) {
                relay_fail(r);
                return;
        }
        PGnotify *n;
        while ((n = PQnotifies(r->pg))) {
                PQfreemem(n);
                r->wake = true;
                r->dirty = true;
        }
}

static void relay_take_reports(struct cc_outbox_relay *r)
{
        struct relay_hub *hub = r->hub;
        pthread_mutex_lock(&hub->mu);
        struct report *reports = hub->reports;
        size_t n = hub->nreports;
        hub->reports = NULL;
        hub->nreports = hub->cap = 0;
        pthread_mutex_unlock(&hub->mu);
        for (size_t i = 0; i < n; i++) {
                if (reports[i].err == 0) {
                        if (r->nacked == r->acked_cap) {
                                r->acked_cap = r->acked_cap ? r->acked_cap * 2 : 1024;
                                r->acked = cc_xrealloc(r->acked, r->acked_cap * sizeof(*r->acked));
                        }
                        if (r->nacked == 0)
                                r->first_ack_us = cc_monotonic_us();
                        r->acked[r->nacked++] = reports[i].id;
                } else {
                        /* Produced again once everything in flight has reported (see the
                         * top of the relay section: duplicates on Kafka are possible there). */
                        id_set_del(&r->pending, reports[i].id);
                        r->resetting = true;
                }
        }
        free(reports);
}

static void relay_mark_published(struct cc_outbox_relay *r)
{
        if (r->nacked == 0)
                return;
        char *ids = ids_literal(r->acked, r->nacked, NULL);
        const char *params[] = {ids};
        PGresult *res = relay_exec(r, r->sql_mark, 1, params, 0);
        free(ids);
        if (!res)
                return;
        PQclear(res);
        for (size_t i = 0; i < r->nacked; i++)
                id_set_del(&r->pending, r->acked[i]);
        atomic_fetch_add(&r->published, r->nacked);
        r->nacked = 0;
        r->dirty = true;
}

static int64_t get_int8(const PGresult *res, int row, int col)
{
        uint64_t v;
        memcpy(&v, PQgetvalue(res, row, col), sizeof(v));
        return (int64_t)be64toh(v);
}

/* Fetches unpublished rows in id order and hands them to the producer. A normal fetch reads
 * above the cursor; a sweep reads below it, skipping the rows already pending. */
static void relay_fetch(struct cc_outbox_relay *r, bool sweep)
{
        size_t limit = r->window - r->pending.len;
        if (limit > (size_t)r->batch)
                limit = (size_t)r->batch;
        char cursor[24], limit_text[24];
        snprintf(cursor, sizeof(cursor), "%lld", (long long)r->cursor);
        snprintf(limit_text, sizeof(limit_text), "%zu", limit);
        char *pending = NULL;
        PGresult *res;
        if (sweep) {
                pending = ids_literal(NULL, 0, &r->pending);
                const char *params[] = {cursor, pending, limit_text};
                res = relay_exec(r, r->sql_sweep, 3, params, 1);
        } else {
                const char *params[] = {cursor, limit_text};
                res = relay_exec(r, r->sql_fetch, 2, params, 1);
        }
        free(pending);
        if (!res)
                return;
        r->backoff_ms = 0;
        int n = PQntuples(res);
        bool full = false;
        for (int i = 0; i < n; i++) {
                int64_t id = get_int8(res, i, 0);
                struct cc_kafka_header headers[3] = {
                    {"type", PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4)},
                    {"event_id", PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1)},
                    {"traceparent", PQgetvalue(res, i, 5), (size_t)PQgetlength(res, i, 5)},
                };
                size_t nheaders = PQgetisnull(res, i, 5) ? 2 : 3;
                struct relay_msg *m = cc_xmalloc(sizeof(*m));
                m->sink.done = relay_msg_done;
                m->hub = r->hub;
                m->id = id;
                atomic_fetch_add(&r->hub->refs, 1);
                int rc =
                    cc_kafka_produce(r->producer, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                                     (size_t)PQgetlength(res, i, 3), PQgetvalue(res, i, 6),
                                     (size_t)PQgetlength(res, i, 6), headers, nheaders, &m->sink);
                if (rc < 0) {
                        atomic_fetch_sub(&r->hub->refs, 1);
                        free(m);
                        if (rc == -ENOBUFS) {
                                /* The local queue is full: the rest waits for the next round,
                                 * still in id order. */
                                full = true;
                                break;
                        }
                        /* A row that can never be produced (a bad topic name) must not stop
                         * the rows behind it; it stays unpublished and counted in the
                         * backlog, where an operator sees it. */
                        if (!sweep)
                                r->cursor = id;
                        continue;
                }
                id_set_add(&r->pending, id);
                if (!sweep)
                        r->cursor = id;
        }
        PQclear(res);
        if (n > 0)
                r->dirty = true;
        r->queue_full = full;
        if (!sweep)
                r->more = full || (size_t)n == limit;
}

static void relay_count_backlog(struct cc_outbox_relay *r)
{
        int64_t start = cc_monotonic_us();
        PGresult *res = relay_exec(r, r->sql_backlog, 0, NULL, 0);
        if (!res)
                return;
        atomic_store(&r->backlog, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
        PQclear(res);
        r->dirty = false;
        /* A large backlog makes the count slow: counting then waits longer, so it never takes
         * more than a tenth of the relay's time. */
        int64_t took = cc_monotonic_us() - start;
        r->next_backlog =
            start + took + (took * 10 > BACKLOG_INTERVAL_US ? took * 10 : BACKLOG_INTERVAL_US);
}

static void relay_cleanup(struct cc_outbox_relay *r)
{
        PGresult *res = relay_exec(r, r->sql_cleanup, 0, NULL, 0);
        if (!res)
                return;
        long deleted = strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        /* A full batch means more is due: go again next round rather than hold the table. */
        r->next_cleanup = cc_monotonic_us() + (deleted >= CLEANUP_BATCH ? 0 : CLEANUP_INTERVAL_US);
}

/* Sleeps until kicked, notified (the socket is readable) or timeout_ms. */
static void relay_wait(struct cc_outbox_relay *r, int64_t timeout_us)
{
        if (timeout_us <= 0)
                return;
        int timeout_ms = timeout_us / 1000 + 1;
        struct pollfd fds[2] = {{.fd = r->wake_fd, .events = POLLIN}, {.fd = -1}};
        if (r->pg) {
                fds[1].fd = PQsocket(r->pg);
                fds[1].events = POLLIN;
        }
        if (poll(fds, 2, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
                uint64_t v;
                if (read(r->wake_fd, &v, sizeof(v)) < 0)
                        v = 0; /* nonblocking: already drained by an earlier round */
        }
}

static int64_t min64(int64_t a, int64_t b)
{
        return a < b ? a : b;
}

/* Acknowledged rows are marked in batches: one UPDATE per batch, not per row. */
static bool mark_due(const struct cc_outbox_relay *r, int64_t now, bool stopping)
{
        if (r->nacked == 0)
                return false;
        return r->nacked >= (size_t)r->batch || r->nacked == r->pending.len || stopping ||
               now - r->first_ack_us >= MARK_DELAY_US;
}

/* Room for another fetch: a whole batch while a backlog streams through, any room when caught
 * up (a few new rows should not wait for a batch to drain). */
static bool fetch_room(const struct cc_outbox_relay *r)
{
        size_t room = r->window - r->pending.len;
        return room >= (size_t)r->batch || (room > 0 && !r->more);
}

static void *relay_main(void *arg)
{
        struct cc_outbox_relay *r = arg;
        r->next_cleanup = cc_monotonic_us() + CLEANUP_INTERVAL_US;
        for (;;) {
                relay_take_reports(r);
                if (atomic_exchange(&r->kicked, false)) {
                        r->wake = true;
                        r->dirty = true;
                        r->next_lock = 0;
                }
                int64_t now = cc_monotonic_us();
                bool stopping = atomic_load(&r->stop);
                if (!r->pg && now >= r->reconnect_at)
                        relay_connect(r);
                if (r->pg)
                        relay_drain_notifies(r);
                if (r->pg && mark_due(r, now, stopping))
                        relay_mark_published(r);
                if (stopping && (r->pending.len == 0 || now >= atomic_load(&r->stop_deadline_us)))
                        break;
                if (r->pg && !r->leader && !stopping && now >= r->next_lock)
                        relay_try_lock(r);

                /* Nothing in flight: start over from the lowest unpublished id, which also
                 * picks up rows that committed after the cursor had passed their id. */
                if (r->pending.len == 0) {
                        r->cursor = 0;
                        if (r->resetting) {
                                r->resetting = false;
                                r->wake = true;
                        }
                }
                bool publishing = r->pg && r->leader && !stopping && !r->resetting;
                if (publishing && fetch_room(r) && (r->wake || r->more || now >= r->next_poll)) {
                        r->wake = false;
                        r->next_poll = now + ms_to_us(r->poll_ms);
                        relay_fetch(r, false);
                }
                publishing = r->pg && r->leader && !stopping && !r->resetting;
                if (publishing && r->cursor > 0 && r->pending.len > 0 &&
                    r->pending.len < r->window && now >= r->next_sweep) {
                        r->next_sweep = now + SWEEP_INTERVAL_US;
                        relay_fetch(r, true);
                }
                if (r->pg && r->leader && !stopping && now >= r->next_cleanup)
                        relay_cleanup(r);
                if (r->pg && now >= r->next_backlog && (r->dirty || now >= r->next_poll))
                        relay_count_backlog(r);

                size_t inflight = r->pending.len - r->nacked;
                publishing = r->pg && r->leader && !stopping && !r->resetting;
                bool fetch_now = publishing && r->more && fetch_room(r);
                if (inflight > 0 || (fetch_now && r->queue_full)) {
                        cc_kafka_producer_poll(r->producer, fetch_now && !r->queue_full ? 0 : 10);
                        continue;
                }
                if (fetch_now)
                        continue;
                now = cc_monotonic_us();
                int64_t until;
                if (stopping || r->nacked > 0)
                        until = now + 10000;
                else if (!r->pg)
                        until = r->reconnect_at;
                else if (!r->leader)
                        until = r->next_lock;
                else
                        until = min64(r->next_poll, r->next_cleanup);
                if (r->pg && r->dirty)
                        until = min64(until, r->next_backlog);
                relay_wait(r, until - now);
        }
        PQfinish(r->pg);
        r->pg = NULL;
        return NULL;
}

struct cc_outbox_relay *cc_outbox_relay_start(const struct cc_outbox_relay_config *cfg)
{
        if (!cfg || !cfg->conninfo || !cfg->producer ||
            !cc_sql_identifier_valid(cfg->schema, SCHEMA_MAX))
                return NULL;
        struct cc_outbox_relay *r = cc_xcalloc(1, sizeof(*r));
        r->conninfo = cc_xstrdup(cfg->conninfo);
        r->schema = cc_xstrdup(cfg->schema);
        r->producer = cfg->producer;
        r->batch = cfg->batch_size > 0 ? cfg->batch_size : DEFAULT_BATCH;
        r->poll_ms = cfg->poll_interval_ms > 0 ? cfg->poll_interval_ms : DEFAULT_POLL_MS;
        r->window = (size_t)r->batch * WINDOW_BATCHES;
        atomic_init(&r->stop, false);
        atomic_init(&r->kicked, false);
        atomic_init(&r->stop_deadline_us, 0);
        atomic_init(&r->backlog, 0);
        atomic_init(&r->published, 0);
        r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->wake_fd < 0)
                goto fail;
        r->hub = cc_xcalloc(1, sizeof(*r->hub));
        pthread_mutex_init(&r->hub->mu, NULL);
        atomic_init(&r->hub->refs, 1);

        const char *s = r->schema;
        r->sql_listen = cc_xasprintf("LISTEN \"cc_outbox_%s\"", s);
        r->sql_fetch =
            cc_xasprintf("SELECT id, event_id::text, topic, key, type, traceparent, payload "
                         "FROM \"%s\".outbox WHERE published_at IS NULL AND id > $1::bigint "
                         "ORDER BY id LIMIT $2::int",
                         s);
        r->sql_sweep =
            cc_xasprintf("SELECT id, event_id::text, topic, key, type, traceparent, payload "
                         "FROM \"%s\".outbox WHERE published_at IS NULL AND id <= $1::bigint "
                         "AND NOT (id = ANY ($2::bigint[])) ORDER BY id LIMIT $3::int",
                         s);
        r->sql_mark = cc_xasprintf(
            "UPDATE \"%s\".outbox SET published_at = now() WHERE id = ANY ($1::bigint[])", s);
        /* Bounded so a huge backlog (a long outage) costs a bounded scan per count. */
        r->sql_backlog = cc_xasprintf("SELECT count(*) FROM (SELECT 1 FROM \"%s\".outbox WHERE "
                                      "published_at IS NULL LIMIT " BACKLOG_CAP ") b",
                                      s);
        /* Reads at most one batch from the oldest end of the primary key, so the cost stays
         * bounded however large the table is. */
        r->sql_cleanup = cc_xasprintf(
            "DELETE FROM \"%s\".outbox WHERE id IN (SELECT id FROM \"%s\".outbox ORDER BY id "
            "LIMIT %d) AND published_at < now() - interval '" RETENTION "'",
            s, s, CLEANUP_BATCH);

        if (pthread_create(&r->thread, NULL, relay_main, r) != 0)
                goto fail;
        return r;
fail:
        if (r->wake_fd >= 0)
                close(r->wake_fd);
        if (r->hub)
                hub_unref(r->hub);
        free(r->sql_listen);
        free(r->sql_fetch);
        free(r->sql_sweep);
        free(r->sql_mark);
        free(r->sql_backlog);
        free(r->sql_cleanup);
        free(r->conninfo);
        free(r->schema);
        free(r);
        return NULL;
}

void cc_outbox_relay_kick(struct cc_outbox_relay *relay)
{
        if (!relay)
                return;
        atomic_store(&relay->kicked, true);
        uint64_t one = 1;
        if (write(relay->wake_fd, &one, sizeof(one)) < 0) {
                /* The counter is saturated: a wake-up is pending anyway. */
        }
}

void cc_outbox_relay_stop(struct cc_outbox_relay *relay, int timeout_ms)
{
        if (!relay)
                return;
        atomic_store(&relay->stop_deadline_us,
                     cc_monotonic_us() + ms_to_us(timeout_ms > 0 ? timeout_ms : 0));
        atomic_store(&relay->stop, true);
        cc_outbox_relay_kick(relay);
        pthread_join(relay->thread, NULL);

        /* Messages still in flight keep the hub alive; their reports are dropped. */
        pthread_mutex_lock(&relay->hub->mu);
        relay->hub->closed = true;
        pthread_mutex_unlock(&relay->hub->mu);
        hub_unref(relay->hub);
        close(relay->wake_fd);
        free(relay->pending.slots);
        free(relay->acked);
        free(relay->sql_listen);
        free(relay->sql_fetch);
        free(relay->sql_sweep);
        free(relay->sql_mark);
        free(relay->sql_backlog);
        free(relay->sql_cleanup);
        free(relay->conninfo);
        free(relay->schema);
        free(relay);
}

int64_t cc_outbox_backlog(struct cc_outbox_relay *relay)
{
        return relay ? atomic_load(&relay->backlog) : 0;
}

uint64_t cc_outbox_published(struct cc_outbox_relay *relay)
{
        return relay ? atomic_load(&relay->published) : 0;
}
