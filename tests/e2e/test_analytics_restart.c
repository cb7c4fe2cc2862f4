/* The analytics binary killed (SIGKILL) in the middle of applying a large stream and started
 * again ends with exactly the tables the same events give when each is applied once: every
 * event id recorded once, no call or agent second counted twice or lost.
 *
 * The stream (~20,000 events: users, campaigns, calls with their whole event sequences, agent
 * presence changes, over four organizations, with some events sent twice as the outbox relay
 * may) goes to the real broker before the service starts. The service runs in a database of
 * its own (the binary's schema and group are its name, "analytics"), so its tables hold
 * nothing of other runs; other tests' events it may read from the shared topics belong to
 * other organizations and are left out of every comparison. The reference is built in-process
 * by an_apply on the same events, each once, in a second schema of that database. */
#include <sys/mman.h>

#include "e2e.h"
#include "analytics_test.h"
#include "cc/migrate.h"

#define NORGS         4
#define NAGENTS       6 /* per organization */
#define NQUEUES       2 /* per organization */
#define NCALLS        3000
#define AGENT_CHANGES 200 /* per agent */
#define DUP_EVERY     13  /* one event in DUP_EVERY is sent again DUP_LAG events later */
#define DUP_LAG       40
#define KILL_PERCENT  30
#define APPLY_TIMEOUT 120000          /* ms; the whole run takes a fraction of it */
#define REF_CHUNK     1000            /* reference events per transaction */
#define BASE_MS       1741593600000LL /* 2025-03-10T08:00:00Z */
#define DAY_MS        86400000LL
#define TOTAL_USER    "00000000-0000-0000-0000-000000000000"

#define AS(x) CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_##x
#define CS(x) CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_##x

/* ---- cleanup shared with the runner ---- */

/* Written by the test (a forked child under CK_FORK) and read by the suite teardown in the
 * runner, which kills a service left running by a failed assertion and drops the database. */
struct shared {
        pid_t pid;
        char db[64];
};
static struct shared *shared;

static void drop_database(const char *db)
{
        if (!db[0])
                return;
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *sql = cc_xasprintf("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db);
        cc_test_exec(conn, sql, 0, NULL);
        free(sql);
        cc_db_release(conn);
        cc_db_pool_free(pool);
}

static void suite_setup(void)
{
        shared =
            mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert(shared != MAP_FAILED);
        memset(shared, 0, sizeof(*shared));
}

static void suite_teardown(void)
{
        if (shared->pid > 0) {
                kill(shared->pid, SIGKILL);
                waitpid(shared->pid, NULL, 0); /* ECHILD when the forked test was its parent */
        }
        drop_database(shared->db);
        munmap(shared, sizeof(*shared));
}

/* ---- the database of the run ---- */

/* CC_TEST_DATABASE_URL with another database name, as a keyword/value conninfo. Heap. */
static char *conninfo_for(const char *db)
{
        PQconninfoOption *opts = PQconninfoParse(cc_test_env("CC_TEST_DATABASE_URL"), NULL);
        ck_assert_ptr_nonnull(opts);
        struct cc_strbuf b = {0};
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
                if (!v)
                        continue;
                cc_strbuf_printf(&b, "%s%s='", b.len ? " " : "", o->keyword);
                for (const char *s = v; *s; s++)
                        cc_strbuf_printf(&b, "%s%c", *s == '\'' || *s == '\\' ? "\\" : "", *s);
                cc_strbuf_puts(&b, "'");
        }
        PQconninfoFree(opts);
        return cc_strbuf_take(&b);
}

static struct cc_db_pool *pool_on(const char *conninfo, const char *schema)
{
        char *ci = schema ? cc_db_conninfo_with_schema(conninfo, schema) : cc_xstrdup(conninfo);
        ck_assert_ptr_nonnull(ci);
        struct cc_db_pool *pool = cc_db_pool_new(ci, 2, 10000);
        free(ci);
        ck_assert_ptr_nonnull(pool);
        return pool;
}

/* The service's migrations in schema, as cc_service_start runs them. */
static void migrate(struct cc_db_pool *pool, const char *schema)
{
        const struct cc_service_def *def = analytics_service_def();
        size_t n = def->nmigrations + 1;
        struct cc_migration *migs = cc_xcalloc(n, sizeof(*migs));
        migs[0] = cc_outbox_migration;
        memcpy(migs + 1, def->migrations, def->nmigrations * sizeof(*migs));
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char err[512];
        int r = cc_migrate_run(conn, schema, migs, n, err, sizeof(err));
        ck_assert_msg(r == 0, "migrate %s: %s", schema, err);
        cc_db_release(conn);
        free(migs);
}

/* One number from a query with up to one parameter; -1 when it fails (the service has not
 * created its tables yet). */
static long long query_int(struct cc_db_pool *pool, const char *sql, const char *param)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {param};
        PGresult *res = NULL;
        long long v = -1;
        if (cc_db_exec(conn, sql, param ? 1 : 0, p, &res) == 0 && PQntuples(res) == 1 &&
            !PQgetisnull(res, 0, 0))
                v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        cc_db_release(conn);
        return v;
}

/* ---- the stream ---- */

struct msg {
        uint8_t *buf; /* owned by the first copy */
        size_t len;
        const char *topic;
        char key[CC_UUID_LEN + 1];
        bool dup;
};

struct org {
        char id[CC_UUID_LEN + 1];
        char users[NAGENTS][CC_UUID_LEN + 1];
        char agents[NAGENTS][CC_UUID_LEN + 1];
        char queues[NQUEUES][CC_UUID_LEN + 1];
        char campaign[CC_UUID_LEN + 1];
        /* what the events add up to, counted here */
        long long calls, answered, talk, agent_s;
};

struct stream {
        struct msg *m;
        size_t n, cap, nunique;
        char id_prefix[9];
        uint64_t next_id;
        uint64_t rng;
        struct org orgs[NORGS];
        /* agents' presence as the stream has it so far */
        Cc__Events__V1__AgentStatus status[NORGS][NAGENTS];
        int64_t since[NORGS][NAGENTS];
};

/* Deterministic numbers (splitmix64): the same stream shape on every run. */
static uint32_t rnd(struct stream *s, uint32_t below)
{
        uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return (uint32_t)((z ^ (z >> 31)) % below);
}

static void push(struct stream *s, const struct msg *m)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4096;
                s->m = cc_xrealloc(s->m, s->cap * sizeof(*s->m));
        }
        s->m[s->n++] = *m;
}

/* Gives the event an id of the run's range (so the database can count the run's ids with an
 * index range), packs it and appends it; now and then an earlier event is sent again. */
static void add(struct stream *s, struct at_event *ev, const char *key)
{
        snprintf(ev->event_id, sizeof(ev->event_id), "%s-0000-4000-8000-%012llx", s->id_prefix,
                 (unsigned long long)s->next_id++);
        struct msg m = {.topic = cc_event_topic(ev->env.type)};
        ck_assert_ptr_nonnull(m.topic);
        m.buf = cc_event_pack(&ev->env, &m.len);
        snprintf(m.key, sizeof(m.key), "%s", key);
        push(s, &m);
        size_t unique = s->nunique++;
        if (unique % DUP_EVERY == 7 && unique >= DUP_LAG) {
                /* the DUP_LAG-th original before this one */
                size_t back = s->n - 1, seen = 0;
                while (seen < DUP_LAG || s->m[back].dup) {
                        if (!s->m[back].dup)
                                seen++;
                        back--;
                }
                struct msg d = s->m[back];
                d.dup = true;
                push(s, &d);
        }
}

static void add_agent_change(struct stream *s, int o, int a)
{
        static const Cc__Events__V1__AgentStatus next[] = {
            AS(AVAILABLE), AS(BUSY), AS(WRAP_UP), AS(AVAILABLE), AS(BREAK), AS(TRAINING),
        };
        struct org *org = &s->orgs[o];
        struct at_event ev;
        Cc__Events__V1__AgentStatus to;
        do
                to = next[rnd(s, CC_ARRAY_SIZE(next))];
        while (to == s->status[o][a]);
        int seconds = 1 + (int)rnd(s, 900);
        int64_t at = s->since[o][a] + seconds * 1000LL;
        at_ev_agent(&ev, org->id, org->agents[a], org->users[a], to, s->status[o][a], seconds, at);
        org->agent_s += seconds;
        s->status[o][a] = to;
        s->since[o][a] = at;
        add(s, &ev, org->agents[a]);
}

static void add_call(struct stream *s, int i)
{
        static const char *const queue_names[NQUEUES] = {"Sales", "Support"};
        struct org *org = &s->orgs[i % NORGS];
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        int q = (int)rnd(s, NQUEUES);
        struct at_call c = {.id = id, .start = BASE_MS + i * 4000LL + (i % 3) * DAY_MS};
        uint32_t kind = rnd(s, 10);
        const char *agent = org->users[rnd(s, NAGENTS)];
        if (kind <= 5) { /* inbound through a queue, answered; some with a hold */
                c.queue = org->queues[q];
                c.queue_name = queue_names[q];
                c.sl = q == 0 ? 20 : 30;
                c.agent = agent;
                c.wait = (int)rnd(s, 90);
                c.answer = c.start + c.wait * 1000LL;
                c.talk = 30 + (int)rnd(s, 570);
                c.hold = kind >= 4 ? 10 + (int)rnd(s, 110) : 0;
                c.wrap = 5 + (int)rnd(s, 55);
                c.duration = c.wait + c.talk + c.hold;
                c.end = c.answer + (c.talk + c.hold) * 1000LL;
                c.status = CS(COMPLETED);
        } else if (kind == 6) { /* abandoned in the queue */
                c.queue = org->queues[q];
                c.queue_name = queue_names[q];
                c.sl = q == 0 ? 20 : 30;
                c.wait = 5 + (int)rnd(s, 115);
                c.duration = c.wait;
                c.end = c.start + c.wait * 1000LL;
                c.abandoned = true;
                c.status = CS(CANCELED);
        } else { /* outbound for the campaign: answered, no answer, busy or failed */
                c.outbound = true;
                c.campaign = org->campaign;
                c.agent = agent;
                if (kind == 7) {
                        int ring = 5 + (int)rnd(s, 20);
                        c.answer = c.start + ring * 1000LL;
                        c.talk = 20 + (int)rnd(s, 300);
                        c.wrap = (int)rnd(s, 30);
                        c.duration = ring + c.talk;
                        c.end = c.answer + c.talk * 1000LL;
                        c.status = CS(COMPLETED);
                } else if (kind == 8) {
                        c.duration = 30;
                        c.end = c.start + 30000;
                        c.status = CS(NO_ANSWER);
                } else {
                        c.end = c.start + 2000;
                        c.status = i % 2 ? CS(BUSY) : CS(FAILED);
                }
        }
        org->calls++;
        org->answered += c.answer > 0;
        org->talk += c.talk;
        struct at_event evs[7];
        int n = at_call_events(evs, org->id, &c);
        for (int k = 0; k < n; k++)
                add(s, &evs[k], id);
}

static struct stream *stream_new(void)
{
        struct stream *s = cc_xcalloc(1, sizeof(*s));
        s->rng = 20250310;
        char run[CC_UUID_LEN + 1];
        cc_uuid_v4(run);
        memcpy(s->id_prefix, run, 8);
        for (int o = 0; o < NORGS; o++) {
                struct org *org = &s->orgs[o];
                cc_uuid_v4(org->id);
                cc_uuid_v4(org->campaign);
                for (int q = 0; q < NQUEUES; q++)
                        cc_uuid_v4(org->queues[q]);
                for (int a = 0; a < NAGENTS; a++) {
                        cc_uuid_v4(org->users[a]);
                        cc_uuid_v4(org->agents[a]);
                        s->status[o][a] = AS(OFFLINE);
                        s->since[o][a] = BASE_MS - 3600000LL + (o * NAGENTS + a) * 1000LL;
                }
        }

        struct at_event ev;
        for (int o = 0; o < NORGS; o++) {
                struct org *org = &s->orgs[o];
                for (int a = 0; a < NAGENTS; a++) {
                        char first[16];
                        snprintf(first, sizeof(first), "Agent%d", a);
                        at_ev_user(&ev, org->id, false, org->users[a], first, "Org",
                                   CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT, 1000);
                        add(s, &ev, org->users[a]);
                }
                at_ev_user(&ev, org->id, true, org->users[0], "Renamed", "Org",
                           CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR, 2000);
                add(s, &ev, org->users[0]);
                at_ev_campaign(&ev, org->id, false, org->campaign, "Spring", true, 1000);
                add(s, &ev, org->campaign);
        }
        /* Presence changes spread among the calls, as they happen. */
        const long long changes = (long long)NORGS * NAGENTS * AGENT_CHANGES;
        long long done = 0;
        for (int i = 0; i < NCALLS; i++) {
                add_call(s, i);
                for (; done * NCALLS < (i + 1) * changes; done++) {
                        int who = (int)(done % (NORGS * NAGENTS));
                        add_agent_change(s, who / NAGENTS, who % NAGENTS);
                }
        }
        for (int o = 0; o < NORGS; o++) {
                struct org *org = &s->orgs[o];
                at_ev_campaign_completed(&ev, org->id, org->campaign, BASE_MS + 3 * DAY_MS);
                add(s, &ev, org->campaign);
        }
        return s;
}

static void stream_free(struct stream *s)
{
        for (size_t i = 0; i < s->n; i++)
                if (!s->m[i].dup)
                        free(s->m[i].buf);
        free(s->m);
        free(s);
}

static void produce_all(const struct stream *s)
{
        struct cc_kafka_producer *p = cc_test_producer("analytics-restart-test", NULL, NULL, NULL);
        for (size_t i = 0; i < s->n; i++) {
                const struct msg *m = &s->m[i];
                int r;
                while ((r = cc_kafka_produce(p, m->topic, m->key, strlen(m->key), m->buf, m->len,
                                             NULL, 0, NULL)) == -ENOBUFS)
                        cc_kafka_producer_poll(p, 10);
                ck_assert_int_eq(r, 0);
        }
        ck_assert_int_eq(cc_kafka_producer_flush(p, 30000), 0);
        cc_kafka_producer_free(p);
}

/* Each event once, in the order sent, through an_apply, a transaction per REF_CHUNK events. */
static void apply_reference(const struct stream *s, struct cc_db_pool *pool)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        size_t in_tx = 0;
        for (size_t i = 0; i < s->n; i++) {
                if (s->m[i].dup)
                        continue;
                if (in_tx == 0)
                        ck_assert_int_eq(cc_db_begin(conn), 0);
                Cc__Events__V1__Envelope *env = cc_event_unpack(s->m[i].buf, s->m[i].len);
                ck_assert_ptr_nonnull(env);
                int r = an_apply(conn, env, NULL);
                ck_assert_msg(r == 0, "reference: %s %s: %d", env->type, env->event_id, r);
                cc_event_free(env);
                if (++in_tx == REF_CHUNK) {
                        ck_assert_int_eq(cc_db_commit(conn), 0);
                        in_tx = 0;
                }
        }
        if (in_tx)
                ck_assert_int_eq(cc_db_commit(conn), 0);
        cc_db_release(conn);
}

/* ---- comparing ---- */

/* The run's organizations as a uuid[] literal. */
static void orgs_literal(const struct stream *s, char *buf, size_t len)
{
        size_t n = (size_t)snprintf(buf, len, "{");
        for (int o = 0; o < NORGS; o++)
                n += (size_t)snprintf(buf + n, len - n, "%s%s", o ? "," : "", s->orgs[o].id);
        snprintf(buf + n, len - n, "}");
}

/* Every row of schema.table of the run's organizations in a fixed order, one line each. */
static char *dump(struct cc_db_pool *pool, const char *schema, const char *table, const char *order,
                  const char *orgs, int *ret_rows)
{
        char *sql = cc_xasprintf("SELECT * FROM %s.%s WHERE org_id = ANY($1::uuid[]) ORDER BY %s",
                                 schema, table, order);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        const char *p[] = {orgs};
        PGresult *res = cc_test_query(conn, sql, 1, p);
        struct cc_strbuf b = {0};
        for (int i = 0; i < PQntuples(res); i++) {
                for (int j = 0; j < PQnfields(res); j++)
                        cc_strbuf_printf(&b, "%s%s", j ? "|" : "",
                                         PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j));
                cc_strbuf_puts(&b, "\n");
        }
        *ret_rows = PQntuples(res);
        PQclear(res);
        cc_db_release(conn);
        free(sql);
        char *text = cc_strbuf_take(&b);
        return text ? text : cc_xstrdup("");
}

/* The first line where two dumps part, for the failure message. */
static void first_difference(const char *a, const char *b, char *buf, size_t len)
{
        int line = 1;
        const char *la = a, *lb = b;
        while (*a && *a == *b) {
                if (*a == '\n') {
                        line++;
                        la = a + 1;
                        lb = b + 1;
                }
                a++;
                b++;
        }
        int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
        snprintf(buf, len, "row %d:\n  after the kill: %.*s\n  reference:      %.*s", line, na, la,
                 nb, lb);
}

static void expect_same_table(struct cc_db_pool *pool, const char *table, const char *order,
                              const char *orgs)
{
        int got_rows = 0, want_rows = 0;
        char *got = dump(pool, "analytics", table, order, orgs, &got_rows);
        char *want = dump(pool, "reference", table, order, orgs, &want_rows);
        ck_assert_msg(want_rows > 0, "%s: the reference has no rows", table);
        if (strcmp(got, want) != 0) {
                char diff[2048];
                first_difference(got, want, diff, sizeof(diff));
                ck_abort_msg("%s differs (%d rows after the kill, %d in the reference), %s", table,
                             got_rows, want_rows, diff);
        }
        free(got);
        free(want);
}

/* ---- the process ---- */

static bool alive(struct proc *p)
{
        int status;
        if (waitpid(p->pid, &status, WNOHANG) != p->pid)
                return true;
        shared->pid = 0;
        return false;
}

static void start(struct proc *p, const char *conninfo)
{
        char *db = cc_xasprintf("CC_DATABASE_URL=%s", conninfo);
        const char *level = getenv("CC_TEST_LOG_LEVEL");
        char *log = cc_xasprintf("CC_LOG_LEVEL=%s", level ? level : "warn");
        /* The stream is dated 2025: the default retention would drop its minute rows at start,
         * which the reference (no housekeeping) keeps. */
        const char *const env[] = {db, log, "CC_DB_POOL_SIZE=4",
                                   "CC_ANALYTICS_MINUTE_RETENTION_DAYS=0", NULL};
        p->port = 0;
        spawn("analytics", env, p);
        shared->pid = p->pid;
        free(db);
        free(log);
}

static void fail_with_log(struct proc *p, const char *what)
{
        char *log = slurp(p->log);
        ck_abort_msg("%s; service log:\n%s", what, log);
        free(log);
}

START_TEST(analytics_restart_after_kill_mid_batch_gives_identical_results)
{
        int64_t t0 = cc_monotonic_us();
        struct stream *s = stream_new();
        size_t unique = 0;
        for (size_t i = 0; i < s->n; i++)
                unique += !s->m[i].dup;
        ck_assert_uint_gt(s->n, unique);

        cc_test_unique("ankill", shared->db, sizeof(shared->db));
        {
                struct cc_db_pool *admin = cc_test_pool(NULL, 1, 10000);
                struct cc_db_conn *conn = cc_test_acquire(admin);
                char *sql = cc_xasprintf("CREATE DATABASE \"%s\"", shared->db);
                cc_test_exec(conn, sql, 0, NULL);
                free(sql);
                cc_db_release(conn);
                cc_db_pool_free(admin);
        }
        char *conninfo = conninfo_for(shared->db);
        struct cc_db_pool *pool = pool_on(conninfo, NULL);
        struct cc_db_pool *ref = pool_on(conninfo, "reference");
        migrate(ref, "reference");

        produce_all(s);
        int64_t t_produced = cc_monotonic_us();

        char lo[CC_UUID_LEN + 1], hi[CC_UUID_LEN + 1], count_sql[256];
        snprintf(lo, sizeof(lo), "%s-0000-4000-8000-000000000000", s->id_prefix);
        snprintf(hi, sizeof(hi), "%s-0000-4000-8000-ffffffffffff", s->id_prefix);
        snprintf(count_sql, sizeof(count_sql),
                 "SELECT count(*) FROM analytics.processed_events "
                 "WHERE event_id BETWEEN '%s' AND '%s'",
                 lo, hi);

        /* First run: killed once KILL_PERCENT of the events are applied, with batches still
         * being applied. */
        struct proc p = {0};
        start(&p, conninfo);
        long long kill_at = (long long)unique * KILL_PERCENT / 100, before_kill = -1;
        bool reached =
            CC_TEST_WAIT(!alive(&p) || (before_kill = query_int(pool, count_sql, NULL)) >= kill_at,
                         APPLY_TIMEOUT, 2);
        if (!reached || before_kill < kill_at) {
                char what[128];
                snprintf(what, sizeof(what), "%s; %lld of %zu events applied",
                         reached ? "the service died" : "the service applied too little",
                         before_kill, unique);
                fail_with_log(&p, what);
        }
        ck_assert_int_eq(kill(p.pid, SIGKILL), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(p.pid, &status, 0), p.pid);
        shared->pid = 0;
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        int64_t t_killed = cc_monotonic_us();
        /* The kill cut the stream short: whatever it had committed, not everything. */
        long long after_kill = query_int(pool, count_sql, NULL);
        ck_assert_int_lt(after_kill, (long long)unique);
        unlink(p.log);

        /* Second run, and meanwhile the reference: the group's rebalance after a dead member
         * takes a few seconds anyway. */
        start(&p, conninfo);
        apply_reference(s, ref);
        int64_t t_reference = cc_monotonic_us();
        long long applied = -1;
        bool all = CC_TEST_WAIT(!alive(&p) || (applied = query_int(pool, count_sql, NULL)) ==
                                                  (long long)unique,
                                APPLY_TIMEOUT, 50);
        if (!all || applied != (long long)unique) {
                char what[128];
                snprintf(what, sizeof(what), "%s; %lld of %zu events applied after the restart",
                         all ? "the restarted service died" : "the restarted service stalled",
                         applied, unique);
                fail_with_log(&p, what);
        }
        int64_t t_applied = cc_monotonic_us();

        /* Each event id once: every id sent is there, and nothing else of the run's range. */
        struct cc_strbuf ids = {0};
        cc_strbuf_puts(&ids, "{");
        for (size_t i = 0, k = 0; i < s->n; i++) {
                if (s->m[i].dup)
                        continue;
                Cc__Events__V1__Envelope *env = cc_event_unpack(s->m[i].buf, s->m[i].len);
                ck_assert_ptr_nonnull(env);
                cc_strbuf_printf(&ids, "%s%s", k++ ? "," : "", env->event_id);
                cc_event_free(env);
        }
        cc_strbuf_puts(&ids, "}");
        ck_assert_int_eq(query_int(pool,
                                   "SELECT count(*) FROM unnest($1::uuid[]) AS sent(id) WHERE NOT "
                                   "EXISTS (SELECT 1 FROM analytics.processed_events p "
                                   "WHERE p.event_id = sent.id)",
                                   ids.data),
                         0);
        ck_assert_int_eq(
            query_int(pool, "SELECT count(DISTINCT id) FROM unnest($1::uuid[]) id", ids.data),
            (long long)unique);
        cc_strbuf_fini(&ids);
        char dup_sql[256];
        snprintf(dup_sql, sizeof(dup_sql),
                 "SELECT count(*) FROM (SELECT event_id FROM analytics.processed_events WHERE "
                 "event_id BETWEEN '%s' AND '%s' GROUP BY event_id HAVING count(*) > 1) d",
                 lo, hi);
        ck_assert_int_eq(query_int(pool, dup_sql, NULL), 0);

        /* The same tables as the events applied once each. */
        char orgs[NORGS * (CC_UUID_LEN + 1) + 8];
        orgs_literal(s, orgs, sizeof(orgs));
        expect_same_table(pool, "call_rollups", "org_id, dim, dim_id, grain, bucket", orgs);
        expect_same_table(pool, "agent_rollups", "org_id, user_id, grain, bucket", orgs);
        expect_same_table(pool, "calls", "id", orgs);
        expect_same_table(pool, "agents", "id", orgs);
        expect_same_table(pool, "users", "id", orgs);
        expect_same_table(pool, "campaigns", "id", orgs);
        expect_same_table(pool, "queues", "id", orgs);

        /* And the totals are the stream's own, so the reference is not wrong the same way. */
        for (int o = 0; o < NORGS; o++) {
                const struct org *org = &s->orgs[o];
                char got[256], want[256];
                at_value(pool,
                         "SELECT concat_ws(' ', sum(calls), sum(answered), sum(talk_sum)) FROM "
                         "analytics.call_rollups WHERE org_id = $1 AND dim = 'o' AND grain = 'd'",
                         org->id, got, sizeof(got));
                snprintf(want, sizeof(want), "%lld %lld %lld", org->calls, org->answered,
                         org->talk);
                ck_assert_str_eq(got, want);
                at_value(pool,
                         "SELECT sum(available_s + busy_s + wrap_up_s + break_s + training_s + "
                         "offline_s) FROM analytics.agent_rollups WHERE org_id = $1 AND grain = "
                         "'d' AND user_id <> '" TOTAL_USER "'",
                         org->id, got, sizeof(got));
                snprintf(want, sizeof(want), "%lld", org->agent_s);
                ck_assert_str_eq(got, want);
                at_value(pool, "SELECT count(*) FROM analytics.calls WHERE org_id = $1 AND ended",
                         org->id, got, sizeof(got));
                snprintf(want, sizeof(want), "%lld", org->calls);
                ck_assert_str_eq(got, want);
        }

        int code = stop(&p, 15000);
        shared->pid = 0;
        if (code != 0) {
                char what[64];
                snprintf(what, sizeof(what), "exit status %d on SIGTERM", code);
                fail_with_log(&p, what);
        }
        unlink(p.log);
        if (getenv("CC_TEST_VERBOSE"))
                fprintf(stderr,
                        "analytics_restart: %zu messages (%zu events), killed at %lld "
                        "(%lld committed); produce %.1f s, to the kill %.1f s, reference %.1f s, "
                        "restart to all applied %.1f s, total %.1f s\n",
                        s->n, unique, before_kill, after_kill, (t_produced - t0) / 1e6,
                        (t_killed - t_produced) / 1e6, (t_reference - t_killed) / 1e6,
                        (t_applied - t_killed) / 1e6, (cc_monotonic_us() - t0) / 1e6);
        cc_db_pool_free(ref);
        cc_db_pool_free(pool);
        free(conninfo);
        stream_free(s);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("analytics_restart");
        TCase *tc = tcase_create("analytics_restart");
        tcase_set_timeout(tc, 300);
        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_add_test(tc, analytics_restart_after_kill_mid_batch_gives_identical_results);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
