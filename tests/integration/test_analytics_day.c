/* A scripted day of a contact center, end to end: a seeded script of a few hundred calls in two
 * organizations (three queues each with their service-level thresholds, agents on shifts, two
 * campaigns), inbound and outbound, completed, failed, unanswered and busy, abandoned in queue,
 * held, wrapped up, with queue waits around the thresholds and every agent's presence changes
 * (AVAILABLE, BUSY, WRAP_UP, BREAK). It is published as telephony and the gateway publish it
 * (user.created, campaign.created/completed, call.started/updated/answered/ended,
 * agent.status_changed, on their topics under their keys), through the real broker, to the
 * service's own consumer. Every number the /api/analytics routes answer is then compared with the
 * one the test works out from its own script (docs/kpis.md's definitions and rounding), never from
 * the service's tables. The same day delivered twice, each aggregate's events shuffled, must
 * give the same answers; and an organization never sees a number or an id of the other.
 *
 * Each organization's script is drawn from a fixed seed, so it is the same day in every
 * universe (a set of ids unique to this run), whatever order it is delivered in. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_test.h"
#include "cc/event.h"
#include "cc/kafka.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* 2026-10-14T00:00:00Z, a Wednesday: the scripted day. Late shifts run into the 15th. */
#define DAY0 1791936000000LL
/* Billing's threshold is tightened at 13:00: a call counts against the one its call.ended
 * carries. */
#define SL_CHANGE (DAY0 + 13 * HOUR)
/* The window every windowed request asks for: the day and the next (late shifts). */
#define WINDOW        "start_date=2026-10-14&end_date=2026-10-15"
#define WINDOW_LO     DAY0
#define WINDOW_HI     (DAY0 + 2 * DAY)
#define WAIT_MS       150000
#define NIL_UUID_TEXT "00000000-0000-0000-0000-000000000000"

#define ST(x) CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_##x
#define AS(x) CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_##x

typedef Cc__Events__V1__CallStatus call_status;
typedef Cc__Events__V1__AgentStatus agent_status;

/* ---- a seeded generator (splitmix64): the same day on every run ---- */

struct rng {
        uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
        uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* lo..hi, both included */
static int rng_int(struct rng *r, int lo, int hi)
{
        return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(struct rng *r, int percent)
{
        return rng_int(r, 0, 99) < percent;
}

/* ---- ids: <run>-<universe><kind>-4<org>-8000-<index> ---- */

/* Random per process, so a broker that still holds an earlier run's events never mixes them
 * into this run's aggregates. */
static char run_tag[9];

enum { K_ORG = 1, K_USER, K_AGENT, K_QUEUE, K_CAMPAIGN, K_CALL, K_CONTACT };

static void make_id(char out[CC_UUID_LEN + 1], int universe, int kind, int org, int index)
{
        snprintf(out, CC_UUID_LEN + 1, "%s-%02x%02x-4%03x-8000-%012x", run_tag, universe, kind, org,
                 index);
}

/* ---- the script ---- */

enum { NORGS = 2, NQUEUES = 3, NCAMPAIGNS = 2, MAXAGENTS = 5, MAXCALLS = 512, MAXCHANGES = 2048 };

struct s_agent {
        char user[CC_UUID_LEN + 1], id[CC_UUID_LEN + 1]; /* gateway user, telephony agent */
        const char *first;
};

struct s_queue {
        char id[CC_UUID_LEN + 1];
        const char *name;
        int sl, sl_late; /* threshold before and from SL_CHANGE */
};

struct s_campaign {
        char id[CC_UUID_LEN + 1];
        const char *name;
        Cc__Events__V1__CampaignType type;
        int queue;
        int64_t created, completed; /* completed 0: still running */
};

struct s_call {
        char id[CC_UUID_LEN + 1], contact[CC_UUID_LEN + 1];
        int agent, queue, campaign; /* -1: none */
        bool outbound, abandoned;
        call_status status; /* terminal */
        /* ms; answer 0: never answered; accounted: when call.wrapped_up is published (after the
         * agent's wrap-up for a call an agent took) */
        int64_t start, answer, end, hold_at, accounted;
        int duration, talk, hold, wrap, wait, sl;
        const char *disposition;
};

struct s_change {
        int agent;
        agent_status status, previous;
        int previous_s;
        int64_t at;
};

struct s_org {
        char id[CC_UUID_LEN + 1], sup[CC_UUID_LEN + 1];
        const struct plan *plan;
        int nagents, ncalls, nchanges;
        struct s_agent agents[MAXAGENTS];
        struct s_queue queues[NQUEUES];
        struct s_campaign campaigns[NCAMPAIGNS];
        struct s_call calls[MAXCALLS];
        struct s_change changes[MAXCHANGES];
};

struct universe {
        int index;
        struct s_org orgs[NORGS];
};

/* Each organization's day. First names sort as listed (/api/analytics/agents is by name). */
static const struct plan {
        uint64_t seed;
        int nagents;
        const char *first[MAXAGENTS];
        const char *last, *sup_first, *sup_last;
        const char *queue[NQUEUES];
        int sl[NQUEUES], sl_late[NQUEUES];
        const char *campaign[NCAMPAIGNS];
        int shift_start_min[MAXAGENTS], shift_min[MAXAGENTS];
        int extra_calls; /* calls no agent took */
} plans[NORGS] = {
    {.seed = 20261014,
     .nagents = 5,
     .first = {"Ava", "Ben", "Cleo", "Dev", "Eli"},
     .last = "Stone",
     .sup_first = "Sam",
     .sup_last = "Lead",
     .queue = {"Support", "Billing", "Sales"},
     .sl = {20, 30, 10},
     .sl_late = {20, 15, 10},
     .campaign = {"Autumn Renewals", "Callback Week"},
     /* the last agent works the late shift, from 21:40 into the next day */
     .shift_start_min = {360, 430, 500, 570, 1300},
     .shift_min = {260, 250, 240, 260, 240},
     .extra_calls = 45},
    {.seed = 4242,
     .nagents = 4,
     .first = {"Finn", "Gus", "Hana", "Ivy"},
     .last = "Brook",
     .sup_first = "Sol",
     .sup_last = "Head",
     .queue = {"Help", "Claims", "Orders"},
     .sl = {15, 60, 25},
     .sl_late = {15, 60, 25},
     .campaign = {"Winback", "Survey"},
     .shift_start_min = {420, 510, 600, 1350},
     .shift_min = {210, 200, 180, 180},
     .extra_calls = 30},
};

static const char *const dispositions[] = {"resolved", "sale", "no-sale", "callback", ""};

static int sl_at(const struct s_queue *q, int64_t at)
{
        return at >= SL_CHANGE ? q->sl_late : q->sl;
}

static int64_t jitter(struct rng *r, int max_ms)
{
        return rng_int(r, 0, max_ms);
}

static struct s_call *new_call(struct s_org *o, int universe, int org)
{
        ck_assert_int_lt(o->ncalls, MAXCALLS);
        struct s_call *c = &o->calls[o->ncalls];
        memset(c, 0, sizeof(*c));
        make_id(c->id, universe, K_CALL, org, o->ncalls);
        make_id(c->contact, universe, K_CONTACT, org, o->ncalls);
        c->agent = c->queue = c->campaign = -1;
        o->ncalls++;
        return c;
}

/* A queue wait: often right at the threshold, sometimes well under or over it. */
static int pick_wait(struct rng *r, int sl)
{
        switch (rng_int(r, 0, 9)) {
        case 0:
                return 0;
        case 1:
                return rng_int(r, 1, 5);
        case 2:
                return sl - 2;
        case 3:
                return sl - 1;
        case 4:
                return sl;
        case 5:
                return sl + 1;
        case 6:
                return sl + 2;
        case 7:
                return 2 * sl;
        case 8:
                return rng_int(r, 1, 3 * sl);
        default:
                return rng_int(r, 30, 240);
        }
}

struct presence {
        agent_status status;
        int64_t since;
};

/* agent.status_changed as telephony reports it: the status left and how long it lasted. */
static void go(struct s_org *o, int agent, struct presence *p, agent_status to, int64_t at)
{
        ck_assert_int_lt(o->nchanges, MAXCHANGES);
        struct s_change *c = &o->changes[o->nchanges++];
        c->agent = agent;
        c->status = to;
        c->previous = p->status;
        c->previous_s = (int)((at - p->since + 500) / 1000);
        c->at = at;
        p->status = to;
        p->since = at;
}

/* The agent takes a call from a queue at t; returns when the agent is free again. */
static int64_t inbound_call(struct s_org *o, int u, int org, int a, struct presence *p, int64_t t,
                            struct rng *r)
{
        struct s_call *c = new_call(o, u, org);
        c->agent = a;
        c->queue = rng_int(r, 0, NQUEUES - 1);
        c->campaign = rng_chance(r, 15) ? 1 : -1;
        const struct s_queue *q = &o->queues[c->queue];
        c->wait = pick_wait(r, sl_at(q, t));
        c->answer = t;
        c->start = t - c->wait * SEC - jitter(r, 499);
        c->talk = rng_int(r, 20, 600);
        c->hold = rng_chance(r, 30) ? rng_int(r, 5, 120) : 0;
        c->hold_at = c->hold ? c->answer + rng_int(r, 1, c->talk) * SEC : 0;
        c->end = c->answer + (c->talk + c->hold) * SEC + jitter(r, 499);
        c->wrap = rng_chance(r, 20) ? 0 : rng_int(r, 5, 90);
        c->status = ST(COMPLETED);
        c->duration = (int)((c->end - c->start + 500) / 1000);
        c->sl = sl_at(q, c->end);
        c->disposition = dispositions[rng_int(r, 0, 4)];
        go(o, a, p, AS(BUSY), c->answer);
        int64_t free_at = c->end;
        if (c->wrap) {
                go(o, a, p, AS(WRAP_UP), c->end);
                free_at = c->end + c->wrap * SEC;
        }
        go(o, a, p, AS(AVAILABLE), free_at);
        c->accounted = free_at;
        return free_at;
}

/* The agent dials out at t (busy while it rings). */
static int64_t outbound_call(struct s_org *o, int u, int org, int a, struct presence *p, int64_t t,
                             struct rng *r)
{
        struct s_call *c = new_call(o, u, org);
        c->agent = a;
        c->outbound = true;
        c->campaign = rng_chance(r, 60) ? 0 : -1;
        c->start = t;
        go(o, a, p, AS(BUSY), t);
        int outcome = rng_int(r, 0, 99);
        if (outcome < 65) {
                c->status = ST(COMPLETED);
                c->answer = t + rng_int(r, 3, 25) * SEC + jitter(r, 999);
                c->talk = rng_int(r, 15, 420);
                c->hold = rng_chance(r, 10) ? rng_int(r, 5, 60) : 0;
                c->hold_at = c->hold ? c->answer + rng_int(r, 1, c->talk) * SEC : 0;
                c->end = c->answer + (c->talk + c->hold) * SEC + jitter(r, 499);
                c->duration = c->talk + c->hold; /* Twilio's CallDuration: answer to hang-up */
                c->wrap = rng_chance(r, 25) ? 0 : rng_int(r, 5, 40);
                c->disposition = dispositions[rng_int(r, 0, 4)];
        } else if (outcome < 80) {
                c->status = ST(NO_ANSWER);
                c->end = t + 30 * SEC + jitter(r, 999);
                c->duration = 30;
        } else if (outcome < 92) {
                c->status = ST(BUSY);
                c->end = t + rng_int(r, 2, 6) * SEC;
                c->duration = (int)((c->end - t) / 1000);
        } else {
                c->status = ST(FAILED);
                c->end = t + jitter(r, 999);
        }
        int64_t free_at = c->end;
        if (c->wrap) {
                go(o, a, p, AS(WRAP_UP), c->end);
                free_at = c->end + c->wrap * SEC;
        }
        go(o, a, p, AS(AVAILABLE), free_at);
        c->accounted = free_at;
        return free_at;
}

static void agent_day(struct s_org *o, int u, int org, int a, struct rng *r)
{
        const struct plan *pl = o->plan;
        int64_t t = DAY0 + pl->shift_start_min[a] * MIN + rng_int(r, 0, 600) * SEC + jitter(r, 999);
        int64_t shift_end = t + pl->shift_min[a] * MIN;
        /* logged off since the evening before */
        struct presence p = {AS(OFFLINE), t - rng_int(r, 8 * 3600, 14 * 3600) * SEC};
        go(o, a, &p, AS(AVAILABLE), t);
        while (t < shift_end) {
                t += rng_int(r, 5, 300) * SEC + jitter(r, 999);
                if (rng_chance(r, 8)) {
                        go(o, a, &p, AS(BREAK), t);
                        t += rng_int(r, 300, 900) * SEC + jitter(r, 999);
                        go(o, a, &p, AS(AVAILABLE), t);
                        continue;
                }
                t = rng_chance(r, 70) ? inbound_call(o, u, org, a, &p, t, r)
                                      : outbound_call(o, u, org, a, &p, t, r);
        }
        go(o, a, &p, AS(OFFLINE), t + rng_int(r, 1, 120) * SEC);
}

enum extra_kind {
        X_ABANDONED, /* gave up waiting in a queue */
        X_IVR,       /* answered by the IVR's voicemail: answered, no agent */
        X_FAILED,    /* inbound, failed before reaching a queue */
        X_DIALER_NO_ANSWER,
        X_DIALER_BUSY,
        X_DIALER_DROPPED, /* callee answered, no agent was free: answered, not handled */
};

/* A call no agent took. wait < 0: drawn around the queue's threshold. */
static void extra_call(struct s_org *o, int u, int org, struct rng *r, enum extra_kind kind,
                       int64_t start, int wait)
{
        struct s_call *c = new_call(o, u, org);
        c->start = start;
        switch (kind) {
        case X_ABANDONED: {
                c->queue = rng_int(r, 0, NQUEUES - 1);
                c->campaign = rng_chance(r, 10) ? 1 : -1;
                const struct s_queue *q = &o->queues[c->queue];
                c->wait = wait >= 0 ? wait : pick_wait(r, sl_at(q, start));
                c->end = start + c->wait * SEC + (wait >= 0 ? 0 : jitter(r, 499));
                c->abandoned = true;
                /* the caller hung up: Twilio says completed; sometimes it was canceled */
                c->status = rng_chance(r, 70) ? ST(COMPLETED) : ST(CANCELED);
                c->duration = c->wait;
                c->sl = sl_at(q, c->end);
                break;
        }
        case X_IVR:
                c->status = ST(COMPLETED);
                c->answer = start + rng_int(r, 1, 3) * SEC;
                c->talk = rng_int(r, 20, 90);
                c->end = c->answer + c->talk * SEC + jitter(r, 499);
                c->duration = (int)((c->end - start + 500) / 1000);
                c->disposition = "voicemail";
                break;
        case X_FAILED:
                c->status = ST(FAILED);
                c->end = start + rng_int(r, 0, 2) * SEC;
                break;
        case X_DIALER_NO_ANSWER:
                c->outbound = true;
                c->campaign = 0;
                c->status = ST(NO_ANSWER);
                c->end = start + 30 * SEC;
                c->duration = 30;
                break;
        case X_DIALER_BUSY:
                c->outbound = true;
                c->campaign = 0;
                c->status = ST(BUSY);
                c->end = start + 5 * SEC;
                c->duration = 5;
                break;
        case X_DIALER_DROPPED:
                c->outbound = true;
                c->campaign = 0;
                c->status = ST(COMPLETED);
                c->answer = start + 8 * SEC + jitter(r, 999);
                c->talk = rng_int(r, 3, 10);
                c->end = c->answer + c->talk * SEC;
                c->duration = c->talk;
                c->disposition = "dropped";
                break;
        }
        c->accounted = c->end;
}

static void script_org(struct s_org *o, int u, int org)
{
        const struct plan *pl = &plans[org];
        struct rng r = {pl->seed};
        o->plan = pl;
        make_id(o->id, u, K_ORG, org, 0);
        make_id(o->sup, u, K_USER, org, 99);
        o->nagents = pl->nagents;
        for (int a = 0; a < pl->nagents; a++) {
                make_id(o->agents[a].user, u, K_USER, org, a);
                make_id(o->agents[a].id, u, K_AGENT, org, a);
                o->agents[a].first = pl->first[a];
        }
        for (int q = 0; q < NQUEUES; q++) {
                make_id(o->queues[q].id, u, K_QUEUE, org, q);
                o->queues[q].name = pl->queue[q];
                o->queues[q].sl = pl->sl[q];
                o->queues[q].sl_late = pl->sl_late[q];
        }
        for (int c = 0; c < NCAMPAIGNS; c++) {
                struct s_campaign *k = &o->campaigns[c];
                make_id(k->id, u, K_CAMPAIGN, org, c);
                k->name = pl->campaign[c];
                /* the outbound campaign runs on; the inbound callbacks one (on the first queue,
                 * newer, so listed first) completes the next morning */
                k->type = c == 0 ? CC__EVENTS__V1__CAMPAIGN_TYPE__CAMPAIGN_TYPE_OUTBOUND
                                 : CC__EVENTS__V1__CAMPAIGN_TYPE__CAMPAIGN_TYPE_INBOUND;
                k->queue = c == 0 ? -1 : 0;
                k->created = DAY0 - (c == 0 ? 20 : 3) * DAY + org * HOUR;
                k->completed = c == 0 ? 0 : DAY0 + DAY + 2 * HOUR;
        }
        for (int a = 0; a < pl->nagents; a++)
                agent_day(o, u, org, a, &r);
        for (int i = 0; i < pl->extra_calls; i++) {
                int roll = rng_int(&r, 0, 99);
                enum extra_kind kind = roll < 45   ? X_ABANDONED
                                       : roll < 55 ? X_IVR
                                       : roll < 65 ? X_FAILED
                                       : roll < 80 ? X_DIALER_NO_ANSWER
                                       : roll < 90 ? X_DIALER_BUSY
                                                   : X_DIALER_DROPPED;
                int64_t start = DAY0 + rng_int(&r, 7 * 3600, 23 * 3600 - 1) * SEC + jitter(&r, 999);
                extra_call(o, u, org, &r, kind, start, -1);
        }
        /* at the edges: an abandon across Billing's change of threshold, one with no wait, one
         * that starts on the hour, a voicemail across midnight, a dial at midnight */
        extra_call(o, u, org, &r, X_ABANDONED, DAY0 + 13 * HOUR - 10 * SEC, 10);
        extra_call(o, u, org, &r, X_ABANDONED, DAY0 + 9 * HOUR + 123, 0);
        extra_call(o, u, org, &r, X_ABANDONED, DAY0 + 17 * HOUR, -1);
        extra_call(o, u, org, &r, X_IVR, DAY0 + DAY - SEC, -1);
        extra_call(o, u, org, &r, X_DIALER_NO_ANSWER, DAY0 + DAY, -1);
}

static struct universe *universe_new(int index)
{
        if (!run_tag[0]) {
                char id[CC_UUID_LEN + 1];
                cc_uuid_v4(id);
                snprintf(run_tag, sizeof(run_tag), "%.8s", id);
        }
        struct universe *u = cc_xcalloc(1, sizeof(*u));
        u->index = index;
        for (int org = 0; org < NORGS; org++)
                script_org(&u->orgs[org], index, org);
        return u;
}

/* ---- the events, as telephony and the gateway publish them ---- */

struct msg {
        const char *topic, *type;
        char key[CC_UUID_LEN + 1], event_id[CC_UUID_LEN + 1];
        uint8_t *buf;
        size_t len;
        int64_t at;
        size_t seq;
};

struct stream {
        struct msg *v;
        size_t n, cap;
};

static void emit_to(struct stream *s, Cc__Events__V1__Envelope *env, const char *topic,
                    const char *key)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 1024;
                s->v = cc_xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        struct msg *m = &s->v[s->n];
        m->topic = topic;
        m->type = env->type;
        snprintf(m->key, sizeof(m->key), "%s", key);
        snprintf(m->event_id, sizeof(m->event_id), "%s", env->event_id);
        m->buf = cc_event_pack(env, &m->len);
        m->at = env->occurred_at_ms;
        m->seq = s->n;
        s->n++;
}

static void emit(struct stream *s, Cc__Events__V1__Envelope *env, const char *key)
{
        emit_to(s, env, cc_event_topic(env->type), key);
}

static void stream_free(struct stream *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i].buf);
        free(s->v);
}

static void emit_user(struct stream *s, const struct s_org *o, const char *id, const char *first,
                      const char *last, Cc__Events__V1__UserRole role, const char *department)
{
        char event_id[CC_UUID_LEN + 1], email[96];
        snprintf(email, sizeof(email), "%s.%s@example.com", first, last);
        Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
        user.user_id = (char *)id;
        user.email = email;
        user.first_name = (char *)first;
        user.last_name = (char *)last;
        user.role = role;
        user.status = CC__EVENTS__V1__USER_STATUS__USER_STATUS_ACTIVE;
        user.department = (char *)department;
        user.created_at_ms = DAY0 - 60 * DAY;
        user.updated_at_ms = DAY0 - 30 * DAY;
        Cc__Events__V1__UserCreated p = CC__EVENTS__V1__USER_CREATED__INIT;
        p.user = &user;
        Cc__Events__V1__Envelope env;
        cc_event_init(&env, "user.created", o->id, user.updated_at_ms, "gateway", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
        env.user_created = &p;
        emit(s, &env, id);
}

static void emit_campaign(struct stream *s, const struct s_org *o, const struct s_campaign *k)
{
        char event_id[CC_UUID_LEN + 1];
        Cc__Events__V1__Campaign c = CC__EVENTS__V1__CAMPAIGN__INIT;
        c.campaign_id = (char *)k->id;
        c.name = (char *)k->name;
        c.type = k->type;
        c.active = true;
        c.queue_id = k->queue >= 0 ? (char *)o->queues[k->queue].id : "";
        c.created_at_ms = k->created;
        c.updated_at_ms = k->created;
        Cc__Events__V1__CampaignCreated p = CC__EVENTS__V1__CAMPAIGN_CREATED__INIT;
        p.campaign = &c;
        Cc__Events__V1__Envelope env;
        cc_event_init(&env, "campaign.created", o->id, k->created, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_CREATED;
        env.campaign_created = &p;
        emit(s, &env, k->id);
        if (!k->completed)
                return;
        Cc__Events__V1__CampaignCompleted done = CC__EVENTS__V1__CAMPAIGN_COMPLETED__INIT;
        done.campaign_id = (char *)k->id;
        done.contacts_total = 40;
        done.contacts_completed = 31;
        done.contacts_failed = 9;
        done.completed_at_ms = k->completed;
        cc_event_init(&env, "campaign.completed", o->id, k->completed, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CAMPAIGN_COMPLETED;
        env.campaign_completed = &done;
        emit(s, &env, k->id);
}

static void emit_call_updated(struct stream *s, const struct s_org *o, const struct s_call *c,
                              call_status status, call_status previous, const char *agent,
                              const char *queue, const char *disposition, int64_t at)
{
        char event_id[CC_UUID_LEN + 1];
        Cc__Events__V1__CallUpdated p = CC__EVENTS__V1__CALL_UPDATED__INIT;
        p.call_id = (char *)c->id;
        p.status = status;
        p.previous_status = previous;
        p.agent_id = (char *)agent;
        p.queue_id = (char *)queue;
        p.disposition = (char *)disposition;
        p.on_hold = status == ST(ON_HOLD);
        p.changed_at_ms = at;
        Cc__Events__V1__Envelope env;
        cc_event_init(&env, "call.updated", o->id, at, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
        env.call_updated = &p;
        emit(s, &env, c->id);
}

/* A call's life: started, answered (with the agent IN_PROGRESS), held and taken back, the
 * terminal update and call.ended at the hang-up, and call.wrapped_up once the agent's wrap-up
 * is over. */
static void emit_call(struct stream *s, const struct s_org *o, int org, const struct s_call *c)
{
        const char *agent = c->agent >= 0 ? o->agents[c->agent].user : "";
        const char *queue = c->queue >= 0 ? o->queues[c->queue].id : "";
        const char *campaign = c->campaign >= 0 ? o->campaigns[c->campaign].id : "";
        const char *contact = c->campaign >= 0 ? c->contact : "";
        char customer[24], ours[24], sid[40], event_id[CC_UUID_LEN + 1];
        snprintf(customer, sizeof(customer), "+1555%07d", (int)(c - o->calls));
        snprintf(ours, sizeof(ours), "+1800555%04d", org);
        snprintf(sid, sizeof(sid), "CA%032x", (unsigned)(c - o->calls));
        Cc__Events__V1__CallDirection dir =
            c->outbound ? CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND
                        : CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
        char *from = c->outbound ? ours : customer, *to = c->outbound ? customer : ours;
        Cc__Events__V1__Envelope env;

        Cc__Events__V1__CallStarted st = CC__EVENTS__V1__CALL_STARTED__INIT;
        st.call_id = (char *)c->id;
        st.direction = dir;
        st.status = c->queue >= 0 ? ST(QUEUED) : ST(RINGING);
        st.from_number = from;
        st.to_number = to;
        st.agent_id = c->outbound ? (char *)agent : "";
        st.queue_id = (char *)queue;
        st.campaign_id = (char *)campaign;
        st.contact_id = (char *)contact;
        st.provider_call_sid = c->outbound ? "" : sid;
        st.started_at_ms = c->start;
        cc_event_init(&env, "call.started", o->id, c->start, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED;
        env.call_started = &st;
        emit(s, &env, c->id);

        call_status live = st.status;
        if (c->answer) {
                Cc__Events__V1__CallAnswered an = CC__EVENTS__V1__CALL_ANSWERED__INIT;
                an.call_id = (char *)c->id;
                an.agent_id = (char *)agent;
                an.queue_id = (char *)queue;
                an.answered_at_ms = c->answer;
                an.queue_wait_seconds = c->wait;
                cc_event_init(&env, "call.answered", o->id, c->answer, "telephony", NULL, event_id);
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED;
                env.call_answered = &an;
                emit(s, &env, c->id);
                emit_call_updated(s, o, c, ST(IN_PROGRESS), live, agent, queue, "", c->answer);
                live = ST(IN_PROGRESS);
                if (c->hold) {
                        emit_call_updated(s, o, c, ST(ON_HOLD), live, agent, queue, "", c->hold_at);
                        emit_call_updated(s, o, c, ST(IN_PROGRESS), ST(ON_HOLD), agent, queue, "",
                                          c->hold_at + c->hold * SEC);
                }
        }
        emit_call_updated(s, o, c, c->status, live, agent, queue,
                          c->disposition ? c->disposition : "", c->end);

        Cc__Events__V1__CallEnded en = CC__EVENTS__V1__CALL_ENDED__INIT;
        en.call_id = (char *)c->id;
        en.status = c->status;
        en.direction = dir;
        en.agent_id = (char *)agent;
        en.queue_id = (char *)queue;
        en.campaign_id = (char *)campaign;
        en.contact_id = (char *)contact;
        en.started_at_ms = c->start;
        en.answered_at_ms = c->answer;
        en.ended_at_ms = c->end;
        en.duration_seconds = c->duration;
        en.talk_seconds = c->talk;
        en.hold_seconds = c->hold;
        /* As telephony does: call.ended at the hang-up, and an agent's wrap-up after it in
         * call.wrapped_up when it is over. */
        bool wrap_up_follows = c->agent >= 0 && c->answer && c->wrap > 0;
        en.wrap_up_pending = wrap_up_follows;
        en.queue_wait_seconds = c->wait;
        en.abandoned = c->abandoned;
        en.disposition = c->disposition ? (char *)c->disposition : "";
        en.from_number = from;
        en.to_number = to;
        en.service_level_seconds = c->queue >= 0 ? c->sl : 0;
        en.queue_name = c->queue >= 0 ? (char *)o->queues[c->queue].name : "";
        cc_event_init(&env, "call.ended", o->id, c->end, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        env.call_ended = &en;
        emit(s, &env, c->id);
        if (!wrap_up_follows)
                return;
        Cc__Events__V1__CallWrappedUp wu = CC__EVENTS__V1__CALL_WRAPPED_UP__INIT;
        wu.call_id = (char *)c->id;
        wu.agent_id = (char *)agent;
        wu.queue_id = (char *)queue;
        wu.campaign_id = (char *)campaign;
        wu.started_at_ms = c->start;
        wu.ended_at_ms = c->end;
        wu.wrap_up_seconds = c->wrap;
        cc_event_init(&env, "call.wrapped_up", o->id, c->accounted, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_WRAPPED_UP;
        env.call_wrapped_up = &wu;
        emit(s, &env, c->id);
}

static void emit_change(struct stream *s, const struct s_org *o, const struct s_change *ch)
{
        char event_id[CC_UUID_LEN + 1];
        const struct s_agent *a = &o->agents[ch->agent];
        Cc__Events__V1__AgentStatusChanged p = CC__EVENTS__V1__AGENT_STATUS_CHANGED__INIT;
        p.agent_id = (char *)a->id;
        p.user_id = (char *)a->user;
        p.status = ch->status;
        p.previous_status = ch->previous;
        p.previous_duration_seconds = ch->previous_s;
        p.changed_at_ms = ch->at;
        p.current_load = ch->status == AS(BUSY);
        p.max_capacity = 1;
        Cc__Events__V1__Envelope env;
        cc_event_init(&env, "agent.status_changed", o->id, ch->at, "telephony", NULL, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_AGENT_STATUS_CHANGED;
        env.agent_status_changed = &p;
        emit(s, &env, a->id);
}

static void emit_universe(struct stream *s, const struct universe *u)
{
        for (int org = 0; org < NORGS; org++) {
                const struct s_org *o = &u->orgs[org];
                const struct plan *pl = o->plan;
                emit_user(s, o, o->sup, pl->sup_first, pl->sup_last,
                          CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR, "Operations");
                for (int a = 0; a < o->nagents; a++)
                        emit_user(s, o, o->agents[a].user, o->agents[a].first, pl->last,
                                  CC__EVENTS__V1__USER_ROLE__USER_ROLE_AGENT,
                                  a % 2 ? "Sales" : "Support");
                for (int c = 0; c < NCAMPAIGNS; c++)
                        emit_campaign(s, o, &o->campaigns[c]);
                for (int c = 0; c < o->ncalls; c++)
                        emit_call(s, o, org, &o->calls[c]);
                for (int c = 0; c < o->nchanges; c++)
                        emit_change(s, o, &o->changes[c]);
        }
}

/* ---- delivery ---- */

struct plan_order {
        size_t *v;
        size_t n, cap;
};

static void order_push(struct plan_order *p, size_t i)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? 2 * p->cap : 1024;
                p->v = cc_xrealloc(p->v, p->cap * sizeof(*p->v));
        }
        p->v[p->n++] = i;
}

static const struct msg *sort_msgs;

static int by_time(const void *a, const void *b)
{
        const struct msg *x = &sort_msgs[*(const size_t *)a], *y = &sort_msgs[*(const size_t *)b];
        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_key(const void *a, const void *b)
{
        const struct msg *x = &sort_msgs[*(const size_t *)a], *y = &sort_msgs[*(const size_t *)b];
        int k = strcmp(x->key, y->key);
        if (k)
                return k;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Messages [from, to) of s as telephony publishes them: in the order they happened. */
static void deliver_in_order(const struct stream *s, size_t from, size_t to, struct plan_order *out)
{
        size_t n = to - from, *idx = cc_xcalloc(n ? n : 1, sizeof(*idx));
        for (size_t i = 0; i < n; i++)
                idx[i] = from + i;
        sort_msgs = s->v;
        qsort(idx, n, sizeof(*idx), by_time);
        for (size_t i = 0; i < n; i++)
                order_push(out, idx[i]);
        free(idx);
}

/* Messages [from, to) of s each sent twice (the relay's at-least-once and a replay), every
 * aggregate's copies in a random order, the aggregates interleaved at random. */
static void deliver_twice_shuffled(const struct stream *s, size_t from, size_t to, struct rng *r,
                                   struct plan_order *out)
{
        size_t n = to - from, *idx = cc_xcalloc(n ? n : 1, sizeof(*idx));
        for (size_t i = 0; i < n; i++)
                idx[i] = from + i;
        sort_msgs = s->v;
        qsort(idx, n, sizeof(*idx), by_key);
        /* one group per key: its messages twice, shuffled */
        size_t ngroups = 0;
        size_t *gstart = cc_xcalloc(n + 1, sizeof(*gstart)),
               *glen = cc_xcalloc(n + 1, sizeof(*glen));
        size_t *pool = cc_xcalloc(2 * n + 1, sizeof(*pool));
        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && strcmp(s->v[idx[j]].key, s->v[idx[i]].key) == 0)
                        j++;
                size_t k = j - i, base = 2 * i;
                for (size_t x = 0; x < k; x++)
                        pool[base + x] = pool[base + k + x] = idx[i + x];
                for (size_t x = 2 * k - 1; x > 0; x--) {
                        size_t y = (size_t)rng_int(r, 0, (int)x);
                        size_t t = pool[base + x];
                        pool[base + x] = pool[base + y];
                        pool[base + y] = t;
                }
                gstart[ngroups] = base;
                glen[ngroups] = 2 * k;
                ngroups++;
                i = j;
        }
        /* interleave: repeatedly the next message of a random group that has one left */
        size_t *active = cc_xcalloc(ngroups + 1, sizeof(*active)), nactive = ngroups;
        for (size_t g = 0; g < ngroups; g++)
                active[g] = g;
        while (nactive > 0) {
                size_t pick = (size_t)rng_int(r, 0, (int)nactive - 1), g = active[pick];
                order_push(out, pool[gstart[g]++]);
                if (--glen[g] == 0)
                        active[pick] = active[--nactive];
        }
        free(active);
        free(pool);
        free(glen);
        free(gstart);
        free(idx);
}

/* After everything, on every aggregate's key, an event analytics does not apply but records
 * as processed: once all of them are in processed_events, everything sent before them on
 * their partitions has been through the consumer, duplicates included (a partition is
 * consumed in order). Returns their ids as a PostgreSQL array literal (heap). */
static char *add_markers(struct stream *s, size_t from, struct plan_order *out, size_t *ret_n)
{
        size_t to = s->n, n = to - from, *idx = cc_xcalloc(n ? n : 1, sizeof(*idx));
        for (size_t i = 0; i < n; i++)
                idx[i] = from + i;
        sort_msgs = s->v;
        qsort(idx, n, sizeof(*idx), by_key);
        struct cc_strbuf ids = {0};
        cc_strbuf_puts(&ids, "{");
        size_t nmarks = 0;
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && strcmp(s->v[idx[i]].key, s->v[idx[i - 1]].key) == 0)
                        continue;
                /* copied: emit_to may move s->v */
                char key[CC_UUID_LEN + 1], org[CC_UUID_LEN + 1], event_id[CC_UUID_LEN + 1];
                const char *topic = s->v[idx[i]].topic;
                snprintf(key, sizeof(key), "%s", s->v[idx[i]].key);
                Cc__Events__V1__Envelope *orig =
                    cc_event_unpack(s->v[idx[i]].buf, s->v[idx[i]].len);
                ck_assert_ptr_nonnull(orig);
                snprintf(org, sizeof(org), "%s", orig->org_id);
                cc_event_free(orig);
                Cc__Events__V1__User user = CC__EVENTS__V1__USER__INIT;
                user.user_id = key;
                Cc__Events__V1__UserCreated p = CC__EVENTS__V1__USER_CREATED__INIT;
                p.user = &user;
                Cc__Events__V1__Envelope env;
                cc_event_init(&env, "test.day_marker", org, WINDOW_HI, "test", NULL, event_id);
                env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_USER_CREATED;
                env.user_created = &p;
                emit_to(s, &env, topic, key);
                order_push(out, s->n - 1);
                cc_strbuf_printf(&ids, "%s%s", nmarks ? "," : "", event_id);
                nmarks++;
        }
        cc_strbuf_puts(&ids, "}");
        free(idx);
        *ret_n = nmarks;
        return cc_strbuf_take(&ids);
}

static void produce_all(const struct stream *s, const struct plan_order *order)
{
        struct cc_kafka_producer *p = cc_test_producer("analytics-day-test", NULL, NULL, NULL);
        for (size_t i = 0; i < order->n; i++) {
                const struct msg *m = &s->v[order->v[i]];
                const struct cc_kafka_header headers[] = {
                    {"type", m->type, strlen(m->type)},
                    {"event_id", m->event_id, strlen(m->event_id)},
                };
                int r;
                while ((r = cc_kafka_produce(p, m->topic, m->key, strlen(m->key), m->buf, m->len,
                                             headers, CC_ARRAY_SIZE(headers), NULL)) == -ENOBUFS)
                        cc_kafka_producer_poll(p, 50);
                ck_assert_msg(r == 0, "produce %s: %d", m->type, r);
        }
        ck_assert_int_eq(cc_kafka_producer_flush(p, 30000), 0);
        cc_kafka_producer_free(p);
}

/* Starts the service (its consumer in a group of its own reads the topics from the start) and
 * waits until every marker has been applied. */
static struct cc_service *start_and_wait(const char *marker_ids, size_t nmarkers)
{
        struct cc_service *svc = at_start();
        struct cc_db_pool *pool = cc_test_pool(at_schema, 1, 10000);
        struct cc_consumer *consumer = cc_service_consumer(svc);
        ck_assert_ptr_nonnull(consumer);
        const char *sql = "SELECT count(*) FROM processed_events WHERE event_id = ANY($1::uuid[])";
        bool done = CC_TEST_WAIT(
            cc_test_pool_query_int(pool, sql, marker_ids) == (long long)nmarkers, WAIT_MS, 100);
        ck_assert_msg(done,
                      "markers applied: %lld of %zu (applied %llu, duplicates %llu, "
                      "dead-lettered %llu)",
                      cc_test_pool_query_int(pool, sql, marker_ids), nmarkers,
                      (unsigned long long)cc_consumer_applied(consumer),
                      (unsigned long long)cc_consumer_duplicates(consumer),
                      (unsigned long long)cc_consumer_dead_lettered(consumer));
        cc_db_pool_free(pool);
        return svc;
}

/* ---- what the API must answer, worked out from the script ---- */

struct sums {
        int64_t calls, inbound, outbound, completed, failed, no_answer, busy, canceled, answered,
            handled, queued, queued_answered, within_sl, abandoned, duration, completed_duration,
            talk, hold, wrap, answered_wait, available;
};

/* Whose numbers: the organization's, or one agent's, queue's or campaign's (-1: any). */
struct filter {
        int agent, queue, campaign;
};

static const struct filter ORG_WIDE = {-1, -1, -1};

/* The calls of the filter that started in [lo, hi), by docs/kpis.md's definitions. */
static void add_calls(const struct s_org *o, struct filter f, int64_t lo, int64_t hi,
                      struct sums *s)
{
        for (int i = 0; i < o->ncalls; i++) {
                const struct s_call *c = &o->calls[i];
                if (c->start < lo || c->start >= hi || (f.agent >= 0 && c->agent != f.agent) ||
                    (f.queue >= 0 && c->queue != f.queue) ||
                    (f.campaign >= 0 && c->campaign != f.campaign))
                        continue;
                bool answered = c->answer > 0, handled = answered && c->agent >= 0;
                bool queued = c->queue >= 0, queued_answered = queued && handled && !c->abandoned;
                s->calls++;
                s->inbound += !c->outbound;
                s->outbound += c->outbound;
                s->completed += c->status == ST(COMPLETED);
                s->failed += c->status == ST(FAILED);
                s->no_answer += c->status == ST(NO_ANSWER);
                s->busy += c->status == ST(BUSY);
                s->canceled += c->status == ST(CANCELED);
                s->answered += answered;
                s->handled += handled;
                s->queued += queued;
                s->queued_answered += queued_answered;
                s->within_sl += queued_answered && c->wait <= c->sl;
                s->abandoned += c->abandoned;
                s->duration += c->duration;
                if (c->status == ST(COMPLETED))
                        s->completed_duration += c->duration;
                if (handled) {
                        s->talk += c->talk;
                        s->hold += c->hold;
                        s->wrap += c->wrap;
                }
                if (queued_answered)
                        s->answered_wait += c->wait;
        }
}

/* The nearest whole second of the epoch, halves up (docs/analytics.md's rounding of agent
 * time). */
static int64_t round_s(int64_t ms)
{
        return (ms + 500) / 1000;
}

/* AVAILABLE time of one agent (or all) within [lo, hi): each change credits the status it
 * left with [at - previous_s, at). */
static void add_available(const struct s_org *o, int agent, int64_t lo, int64_t hi, struct sums *s)
{
        for (int i = 0; i < o->nchanges; i++) {
                const struct s_change *c = &o->changes[i];
                if (c->previous != AS(AVAILABLE) || c->previous_s <= 0 ||
                    (agent >= 0 && c->agent != agent))
                        continue;
                int64_t a = c->at - c->previous_s * SEC, b = c->at;
                if (a < lo)
                        a = lo;
                if (b > hi)
                        b = hi;
                if (a < b)
                        s->available += round_s(b) - round_s(a);
        }
}

static bool with_agent_time(struct filter f)
{
        return f.queue < 0 && f.campaign < 0;
}

static struct sums sums_of(const struct s_org *o, struct filter f, int64_t lo, int64_t hi)
{
        struct sums s = {0};
        add_calls(o, f, lo, hi, &s);
        if (with_agent_time(f))
                add_available(o, f.agent, lo, hi, &s);
        return s;
}

/* The contract's rounding: two decimals, half up, from integers; "50.0", "66.67"; 0.0 over
 * nothing. */
static json_object *ratio(int64_t num, int64_t den, int64_t scale)
{
        int64_t h = den > 0 && num > 0 ? (num * scale * 200 + den) / (2 * den) : 0;
        char text[48];
        if (h % 100 % 10 == 0)
                snprintf(text, sizeof(text), "%lld.%lld", (long long)(h / 100),
                         (long long)(h % 100 / 10));
        else
                snprintf(text, sizeof(text), "%lld.%02lld", (long long)(h / 100),
                         (long long)(h % 100));
        return json_object_new_double_s((double)h / 100.0, text);
}

static void put_int(json_object *o, const char *key, int64_t v)
{
        json_object_object_add(o, key, json_object_new_int64(v));
}

static void put_str(json_object *o, const char *key, const char *v)
{
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void put_kpis(json_object *o, const struct sums *s, bool agent_time)
{
        int64_t on_calls = s->talk + s->hold + s->wrap;
        put_int(o, "total", s->calls);
        put_int(o, "inbound", s->inbound);
        put_int(o, "outbound", s->outbound);
        put_int(o, "completed", s->completed);
        put_int(o, "failed", s->failed);
        put_int(o, "no_answer", s->no_answer);
        put_int(o, "busy", s->busy);
        put_int(o, "canceled", s->canceled);
        put_int(o, "answered", s->answered);
        put_int(o, "handled", s->handled);
        put_int(o, "queued", s->queued);
        put_int(o, "queued_answered", s->queued_answered);
        put_int(o, "answered_within_sl", s->within_sl);
        put_int(o, "abandoned", s->abandoned);
        put_int(o, "total_duration", s->completed_duration);
        json_object_object_add(o, "avg_duration", ratio(s->completed_duration, s->completed, 1));
        json_object_object_add(o, "completion_rate", ratio(s->completed, s->calls, 100));
        put_int(o, "talk_seconds", s->talk);
        put_int(o, "hold_seconds", s->hold);
        put_int(o, "wrap_seconds", s->wrap);
        json_object_object_add(o, "aht", ratio(on_calls, s->handled, 1));
        put_int(o, "queue_wait_seconds", s->answered_wait);
        json_object_object_add(o, "asa", ratio(s->answered_wait, s->queued_answered, 1));
        json_object_object_add(o, "service_level", ratio(s->within_sl, s->queued, 100));
        json_object_object_add(o, "abandonment_rate", ratio(s->abandoned, s->queued, 100));
        if (agent_time) {
                put_int(o, "available_seconds", s->available);
                json_object_object_add(o, "occupancy",
                                       ratio(on_calls, on_calls + s->available, 100));
        } else {
                json_object_object_add(o, "available_seconds", NULL);
                json_object_object_add(o, "occupancy", NULL);
        }
}

struct period {
        char key[24], start[25], end[25];
        int64_t lo, hi;
};

/* The window's UTC days or hours. */
static size_t periods(bool hourly, struct period *out)
{
        int64_t step = hourly ? HOUR : DAY;
        size_t n = 0;
        for (int64_t t = WINDOW_LO; t < WINDOW_HI; t += step, n++) {
                struct period *p = &out[n];
                p->lo = t;
                p->hi = t + step;
                cc_format_time_ms(p->lo, p->start);
                cc_format_time_ms(p->hi, p->end);
                if (hourly)
                        snprintf(p->key, sizeof(p->key), "%.10s %.2s:00", p->start, p->start + 11);
                else
                        snprintf(p->key, sizeof(p->key), "%.10s", p->start);
        }
        return n;
}

enum { MAXPERIODS = 48 };

/* GET /api/analytics/kpis?WINDOW&group_by=…[&queue_id|agent_id|campaign_id] */
static json_object *expected_kpis(const struct s_org *o, struct filter f, bool hourly)
{
        struct period ps[MAXPERIODS];
        size_t n = periods(hourly, ps);
        json_object *doc = json_object_new_object();
        char lo[25], hi[25];
        cc_format_time_ms(WINDOW_LO, lo);
        cc_format_time_ms(WINDOW_HI, hi);
        put_str(doc, "start_date", lo);
        put_str(doc, "end_date", hi);
        put_str(doc, "group_by", hourly ? "hour" : "day");
        put_str(doc, "tz", "UTC");
        put_str(doc, "queue_id", f.queue >= 0 ? o->queues[f.queue].id : NULL);
        put_str(doc, "agent_id", f.agent >= 0 ? o->agents[f.agent].user : NULL);
        put_str(doc, "campaign_id", f.campaign >= 0 ? o->campaigns[f.campaign].id : NULL);
        struct sums all = sums_of(o, f, WINDOW_LO, WINDOW_HI);
        json_object *summary = json_object_new_object();
        put_kpis(summary, &all, with_agent_time(f));
        json_object_object_add(doc, "summary", summary);
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct sums s = sums_of(o, f, ps[i].lo, ps[i].hi);
                json_object *p = json_object_new_object();
                put_str(p, "period", ps[i].key);
                put_str(p, "start", ps[i].start);
                put_str(p, "end", ps[i].end);
                put_kpis(p, &s, with_agent_time(f));
                json_object_array_add(arr, p);
        }
        json_object_object_add(doc, "periods", arr);
        return doc;
}

/* GET /api/analytics/calls?WINDOW&group_by=… for the organization, or an AGENT's own. */
static json_object *expected_calls(const struct s_org *o, int agent, bool hourly)
{
        struct period ps[MAXPERIODS];
        size_t n = periods(hourly, ps);
        struct filter f = {agent, -1, -1};
        json_object *metrics = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct sums s = {0};
                add_calls(o, f, ps[i].lo, ps[i].hi, &s);
                if (s.calls == 0)
                        continue;
                json_object *p = json_object_new_object();
                put_str(p, "period", ps[i].key);
                put_int(p, "total", s.calls);
                put_int(p, "inbound", s.inbound);
                put_int(p, "outbound", s.outbound);
                put_int(p, "completed", s.completed);
                put_int(p, "failed", s.failed);
                put_int(p, "total_duration", s.completed_duration);
                json_object_object_add(p, "avg_duration",
                                       ratio(s.completed_duration, s.completed, 1));
                json_object_object_add(p, "completion_rate", ratio(s.completed, s.calls, 100));
                json_object_array_add(metrics, p);
        }
        struct sums all = {0};
        add_calls(o, f, WINDOW_LO, WINDOW_HI, &all);
        json_object *summary = json_object_new_object();
        put_int(summary, "total_calls", all.calls);
        put_int(summary, "completed_calls", all.completed);
        /* the contract's summary average: every call's duration over the completed ones */
        json_object_object_add(summary, "avg_duration", ratio(all.duration, all.completed, 1));
        json_object_object_add(summary, "completion_rate", ratio(all.completed, all.calls, 100));
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "summary", summary);
        json_object_object_add(doc, "metrics", metrics);
        return doc;
}

static json_object *expected_agent_row(const struct s_org *o, int a)
{
        struct sums s = {0};
        add_calls(o, (struct filter){a, -1, -1}, WINDOW_LO, WINDOW_HI, &s);
        char name[64];
        snprintf(name, sizeof(name), "%s %s", o->agents[a].first, o->plan->last);
        json_object *row = json_object_new_object();
        put_str(row, "agent_id", o->agents[a].user);
        put_str(row, "agent_name", name);
        put_int(row, "total_calls", s.calls);
        put_int(row, "completed_calls", s.completed);
        json_object_object_add(row, "avg_duration", ratio(s.completed_duration, s.completed, 1));
        json_object_object_add(row, "completion_rate", ratio(s.completed, s.calls, 100));
        return row;
}

/* GET /api/analytics/agents?WINDOW: every AGENT by name (the plan lists them in that order). */
static json_object *expected_agents(const struct s_org *o)
{
        json_object *arr = json_object_new_array();
        for (int a = 0; a < o->nagents; a++) {
                if (a > 0)
                        ck_assert_int_lt(strcmp(o->agents[a - 1].first, o->agents[a].first), 0);
                json_object_array_add(arr, expected_agent_row(o, a));
        }
        return arr;
}

/* GET /api/analytics/campaigns: newest first, calls of all time. */
static json_object *expected_campaigns(const struct s_org *o)
{
        int order[NCAMPAIGNS];
        for (int c = 0; c < NCAMPAIGNS; c++)
                order[c] = c;
        for (int i = 1; i < NCAMPAIGNS; i++)
                for (int j = i;
                     j > 0 && o->campaigns[order[j]].created > o->campaigns[order[j - 1]].created;
                     j--) {
                        int t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        json_object *arr = json_object_new_array();
        for (int i = 0; i < NCAMPAIGNS; i++) {
                const struct s_campaign *k = &o->campaigns[order[i]];
                struct sums s = {0};
                add_calls(o, (struct filter){-1, -1, order[i]}, INT64_MIN, INT64_MAX, &s);
                json_object *row = json_object_new_object();
                put_str(row, "campaign_id", k->id);
                put_str(row, "campaign_name", k->name);
                put_int(row, "total_calls", s.calls);
                put_int(row, "completed_calls", s.completed);
                json_object_object_add(row, "active", json_object_new_boolean(!k->completed));
                json_object_object_add(row, "completion_rate", ratio(s.completed, s.calls, 100));
                json_object_array_add(arr, row);
        }
        return arr;
}

/* ---- requests and comparisons ---- */

/* GET path with a bearer token; asserts the status; the body (heap). */
static char *get_body(struct cc_service *svc, const char *tok, long want, const char *fmt, ...)
    CC_PRINTF(4, 5);
static char *get_body(struct cc_service *svc, const char *tok, long want, const char *fmt, ...)
{
        char path[1024], url[1200], auth[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", cc_service_port(svc), path);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        const char *hdrs[] = {auth, NULL};
        struct cc_test_response r;
        cc_test_http("GET", url, NULL, 0, hdrs, &r);
        ck_assert_msg(r.status == want, "GET %s: %ld (want %ld): %s", path, r.status, want, r.body);
        char *body = cc_xstrdup(r.body ? r.body : "");
        cc_test_response_fini(&r);
        return body;
}

static const char *plain(json_object *v)
{
        return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

/* got must be want: the same members (no more, no fewer), the same items in the same order, the
 * same scalars as written (66.67, 50.0, "…", null). */
static void same(const char *where, json_object *want, json_object *got)
{
        char sub[512];
        if (!want || !got) {
                ck_assert_msg(!want && !got, "%s: %s, want %s", where, plain(got), plain(want));
                return;
        }
        json_type t = json_object_get_type(want);
        ck_assert_msg(json_object_get_type(got) == t, "%s: %s, want %s", where, plain(got),
                      plain(want));
        if (t == json_type_object) {
                ck_assert_msg(json_object_object_length(got) == json_object_object_length(want),
                              "%s: members of %s, want those of %s", where, plain(got),
                              plain(want));
                json_object_object_foreach(want, key, wv)
                {
                        json_object *gv = NULL;
                        snprintf(sub, sizeof(sub), "%s.%s", where, key);
                        ck_assert_msg(json_object_object_get_ex(got, key, &gv), "%s: missing", sub);
                        same(sub, wv, gv);
                }
        } else if (t == json_type_array) {
                size_t n = json_object_array_length(want);
                ck_assert_msg(json_object_array_length(got) == n, "%s: %zu items, want %zu: %s",
                              where, json_object_array_length(got), n, plain(got));
                for (size_t i = 0; i < n; i++) {
                        snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
                        same(sub, json_object_array_get_idx(want, i),
                             json_object_array_get_idx(got, i));
                }
        } else {
                char w[256];
                snprintf(w, sizeof(w), "%s", plain(want));
                ck_assert_msg(strcmp(plain(got), w) == 0, "%s = %s, want %s", where, plain(got), w);
        }
}

/* The answer to path must be want (which is put). */
static void expect_answer(struct cc_service *svc, const char *tok, json_object *want,
                          const char *what, const char *fmt, ...) CC_PRINTF(5, 6);
static void expect_answer(struct cc_service *svc, const char *tok, json_object *want,
                          const char *what, const char *fmt, ...)
{
        char path[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        char *body = get_body(svc, tok, 200, "%s", path);
        json_object *got = json_tokener_parse(body);
        ck_assert_msg(got, "GET %s: not JSON: %s", path, body);
        char where[1400];
        snprintf(where, sizeof(where), "%s %s", what, path);
        same(where, want, got);
        json_object_put(got);
        json_object_put(want);
        free(body);
}

static char *sup_token(const struct s_org *o)
{
        return cc_test_token("SUPERVISOR", o->id, o->sup, 900);
}

/* Every answer of the organization's supervisor against the script. */
static void check_org(struct cc_service *svc, const struct s_org *o, const char *name)
{
        char *tok = sup_token(o);
        expect_answer(svc, tok, expected_kpis(o, ORG_WIDE, false), name,
                      "/api/analytics/kpis?" WINDOW "&group_by=day");
        expect_answer(svc, tok, expected_kpis(o, ORG_WIDE, true), name,
                      "/api/analytics/kpis?" WINDOW "&group_by=hour");
        for (int q = 0; q < NQUEUES; q++)
                expect_answer(svc, tok, expected_kpis(o, (struct filter){-1, q, -1}, false), name,
                              "/api/analytics/kpis?" WINDOW "&queue_id=%s", o->queues[q].id);
        expect_answer(svc, tok, expected_kpis(o, (struct filter){-1, 1, -1}, true), name,
                      "/api/analytics/kpis?" WINDOW "&group_by=hour&queue_id=%s", o->queues[1].id);
        for (int a = 0; a < o->nagents; a++)
                expect_answer(svc, tok, expected_kpis(o, (struct filter){a, -1, -1}, false), name,
                              "/api/analytics/kpis?" WINDOW "&group_by=day&agent_id=%s",
                              o->agents[a].user);
        /* the late shift, whose time and calls straddle midnight */
        int late = o->nagents - 1;
        expect_answer(svc, tok, expected_kpis(o, (struct filter){late, -1, -1}, true), name,
                      "/api/analytics/kpis?" WINDOW "&group_by=hour&agent_id=%s",
                      o->agents[late].user);
        for (int c = 0; c < NCAMPAIGNS; c++)
                expect_answer(svc, tok, expected_kpis(o, (struct filter){-1, -1, c}, false), name,
                              "/api/analytics/kpis?" WINDOW "&campaign_id=%s", o->campaigns[c].id);
        expect_answer(svc, tok, expected_calls(o, -1, false), name, "/api/analytics/calls?" WINDOW);
        expect_answer(svc, tok, expected_calls(o, -1, true), name,
                      "/api/analytics/calls?" WINDOW "&group_by=hour");
        expect_answer(svc, tok, expected_agents(o), name, "/api/analytics/agents?" WINDOW);
        expect_answer(svc, tok, expected_campaigns(o), name, "/api/analytics/campaigns");
        free(tok);
}

/* The script really has what the checks are about, so no check passes for want of data. */
static void check_script_covers(const struct s_org *o)
{
        struct sums s = sums_of(o, ORG_WIDE, WINDOW_LO, WINDOW_HI);
        ck_assert_int_ge(s.calls, 100);
        ck_assert_int_eq(s.calls, o->ncalls);
        ck_assert_int_gt(s.inbound, 0);
        ck_assert_int_gt(s.outbound, 0);
        ck_assert_int_gt(s.failed, 0);
        ck_assert_int_gt(s.no_answer, 0);
        ck_assert_int_gt(s.busy, 0);
        ck_assert_int_gt(s.canceled, 0);
        ck_assert_int_gt(s.abandoned, 0);
        ck_assert_int_gt(s.hold, 0);
        ck_assert_int_gt(s.wrap, 0);
        ck_assert_int_gt(s.answered, s.handled);          /* voicemail, dropped dials */
        ck_assert_int_gt(s.queued_answered, s.within_sl); /* some waited past T */
        ck_assert_int_gt(s.within_sl, 0);
        ck_assert_int_gt(s.available, 0);
        struct sums late = sums_of(o, ORG_WIDE, DAY0 + DAY, WINDOW_HI);
        ck_assert_int_gt(late.calls, 0);
        ck_assert_int_gt(late.available, 0);
}

/* ---- the tests ---- */

struct fed {
        struct universe *u[4];
        int nu;
        struct stream s;
        struct cc_service *svc;
};

/* Publishes the universes (twice[i]: false in order once, true twice and shuffled), starts
 * the service and waits until it has applied all of it. */
static void feed(struct fed *f, const bool *twice)
{
        struct plan_order order = {0};
        struct rng r = {99};
        for (int i = 0; i < f->nu; i++) {
                size_t from = f->s.n;
                emit_universe(&f->s, f->u[i]);
                if (twice[i])
                        deliver_twice_shuffled(&f->s, from, f->s.n, &r, &order);
                else
                        deliver_in_order(&f->s, from, f->s.n, &order);
        }
        size_t nmarkers = 0;
        char *markers = add_markers(&f->s, 0, &order, &nmarkers);
        produce_all(&f->s, &order);
        free(order.v);
        f->svc = start_and_wait(markers, nmarkers);
        free(markers);
}

static void unfeed(struct fed *f)
{
        cc_service_stop(f->svc);
        stream_free(&f->s);
        for (int i = 0; i < f->nu; i++)
                free(f->u[i]);
}

START_TEST(analytics_day_kpis_match_the_script)
{
        struct fed f = {.u = {universe_new(0)}, .nu = 1};
        for (int org = 0; org < NORGS; org++)
                check_script_covers(&f.u[0]->orgs[org]);
        feed(&f, (const bool[]){false});
        check_org(f.svc, &f.u[0]->orgs[0], "org A");
        check_org(f.svc, &f.u[0]->orgs[1], "org B");
        unfeed(&f);
}
END_TEST

/* Universe 2's answers with its ids written as universe 1's. */
static void map_ids(char *body, int from, int to)
{
        char a[16], b[16];
        snprintf(a, sizeof(a), "%s-%02x", run_tag, from);
        snprintf(b, sizeof(b), "%s-%02x", run_tag, to);
        for (char *p = body; (p = strstr(p, a)) != NULL; p += strlen(b))
                memcpy(p, b, strlen(b));
}

START_TEST(analytics_day_redelivered_shuffled_same_answers)
{
        /* the same day twice: universe 1 as published, universe 2 twice over, shuffled */
        struct fed f = {.u = {universe_new(1), universe_new(2)}, .nu = 2};
        feed(&f, (const bool[]){false, true});
        for (int org = 0; org < NORGS; org++) {
                const struct s_org *o1 = &f.u[0]->orgs[org], *o2 = &f.u[1]->orgs[org];
                char *t1 = sup_token(o1), *t2 = sup_token(o2);
                /* the same paths in both, with each universe's ids */
                struct cc_strbuf paths[2] = {{0}, {0}};
                for (int k = 0; k < 2; k++) {
                        const struct s_org *o = k ? o2 : o1;
                        struct cc_strbuf *b = &paths[k];
                        cc_strbuf_puts(b, "/api/analytics/kpis?" WINDOW "&group_by=day\n");
                        cc_strbuf_puts(b, "/api/analytics/kpis?" WINDOW "&group_by=hour\n");
                        for (int q = 0; q < NQUEUES; q++)
                                cc_strbuf_printf(
                                    b, "/api/analytics/kpis?" WINDOW "&group_by=hour&queue_id=%s\n",
                                    o->queues[q].id);
                        for (int a = 0; a < o->nagents; a++)
                                cc_strbuf_printf(
                                    b, "/api/analytics/kpis?" WINDOW "&group_by=hour&agent_id=%s\n",
                                    o->agents[a].user);
                        for (int c = 0; c < NCAMPAIGNS; c++)
                                cc_strbuf_printf(b,
                                                 "/api/analytics/kpis?" WINDOW "&campaign_id=%s\n",
                                                 o->campaigns[c].id);
                        cc_strbuf_puts(b, "/api/analytics/calls?" WINDOW "&group_by=hour\n");
                        cc_strbuf_puts(b, "/api/analytics/calls?" WINDOW "\n");
                        cc_strbuf_puts(b, "/api/analytics/agents?" WINDOW "\n");
                        cc_strbuf_puts(b, "/api/analytics/campaigns\n");
                        /* the read model too: newest calls, members, all-time stats */
                        cc_strbuf_puts(b, "/api/dashboard/overview\n");
                }
                char *p1 = cc_strbuf_take(&paths[0]), *p2 = cc_strbuf_take(&paths[1]);
                char *s1 = NULL, *s2 = NULL;
                int n = 0;
                for (char *a = strtok_r(p1, "\n", &s1), *b = strtok_r(p2, "\n", &s2); a && b;
                     a = strtok_r(NULL, "\n", &s1), b = strtok_r(NULL, "\n", &s2), n++) {
                        char *once = get_body(f.svc, t1, 200, "%s", a);
                        char *shuffled = get_body(f.svc, t2, 200, "%s", b);
                        map_ids(shuffled, f.u[1]->index, f.u[0]->index);
                        ck_assert_msg(strcmp(once, shuffled) == 0,
                                      "org %d %s:\nonce:     %s\nshuffled: %s", org, a, once,
                                      shuffled);
                        free(once);
                        free(shuffled);
                }
                ck_assert_int_eq(n, 2 + NQUEUES + o1->nagents + NCAMPAIGNS + 5);
                free(p1);
                free(p2);
                free(t1);
                free(t2);
                /* and both are the script's day, not two equal wrong answers */
                check_org(f.svc, o2, org ? "org B twice shuffled" : "org A twice shuffled");
        }
        unfeed(&f);
}
END_TEST

START_TEST(analytics_day_cross_tenant)
{
        struct fed f = {.u = {universe_new(3)}, .nu = 1};
        feed(&f, (const bool[]){false});
        for (int org = 0; org < NORGS; org++) {
                const struct s_org *o = &f.u[0]->orgs[org], *other = &f.u[0]->orgs[1 - org];
                char *tok = sup_token(o);
                /* the other organization's ids: not found, never its numbers */
                for (int q = 0; q < NQUEUES; q++) {
                        char *b =
                            get_body(f.svc, tok, 404, "/api/analytics/kpis?" WINDOW "&queue_id=%s",
                                     other->queues[q].id);
                        ck_assert_msg(strstr(b, "\"detail\"") && !strstr(b, "\"total\""), "%s", b);
                        free(b);
                }
                for (int a = 0; a < other->nagents; a++) {
                        char *b =
                            get_body(f.svc, tok, 404, "/api/analytics/kpis?" WINDOW "&agent_id=%s",
                                     other->agents[a].user);
                        ck_assert_msg(strstr(b, "\"detail\"") && !strstr(b, "\"total\""), "%s", b);
                        free(b);
                }
                for (int c = 0; c < NCAMPAIGNS; c++) {
                        char *b = get_body(f.svc, tok, 404,
                                           "/api/analytics/kpis?" WINDOW "&campaign_id=%s",
                                           other->campaigns[c].id);
                        free(b);
                }
                /* the organization's answers hold its own day and none of the other's ids */
                char other_org[16];
                snprintf(other_org, sizeof(other_org), "-4%03x-", 1 - org);
                static const char *const paths[] = {
                    "/api/analytics/kpis?" WINDOW "&group_by=hour",
                    "/api/analytics/calls?" WINDOW "&group_by=hour",
                    "/api/analytics/agents?" WINDOW,
                    "/api/analytics/campaigns",
                    "/api/dashboard/overview",
                    "/api/dashboard/agent-performance?days=365",
                };
                for (size_t i = 0; i < CC_ARRAY_SIZE(paths); i++) {
                        char *b = get_body(f.svc, tok, 200, "%s", paths[i]);
                        ck_assert_msg(!strstr(b, other_org), "%s shows the other's ids: %s",
                                      paths[i], b);
                        free(b);
                }
                const char *name = org ? "org B" : "org A";
                expect_answer(f.svc, tok, expected_kpis(o, ORG_WIDE, true), name,
                              "/api/analytics/kpis?" WINDOW "&group_by=hour");
                expect_answer(f.svc, tok, expected_calls(o, -1, false), name,
                              "/api/analytics/calls?" WINDOW);
                expect_answer(f.svc, tok, expected_agents(o), name,
                              "/api/analytics/agents?" WINDOW);
                expect_answer(f.svc, tok, expected_campaigns(o), name, "/api/analytics/campaigns");
                free(tok);

                /* an AGENT sees its own numbers only, and not the other organization's agent */
                char *agent = cc_test_token("AGENT", o->id, o->agents[1].user, 900);
                expect_answer(f.svc, agent, expected_kpis(o, (struct filter){1, -1, -1}, false),
                              name, "/api/analytics/kpis?" WINDOW);
                expect_answer(f.svc, agent, expected_calls(o, 1, true), name,
                              "/api/analytics/calls?" WINDOW "&group_by=hour");
                json_object *own = json_object_new_array();
                json_object_array_add(own, expected_agent_row(o, 1));
                expect_answer(f.svc, agent, own, name, "/api/analytics/agents?" WINDOW);
                free(get_body(f.svc, agent, 404, "/api/analytics/kpis?agent_id=%s",
                              other->agents[1].user));
                free(get_body(f.svc, agent, 404, "/api/analytics/kpis?agent_id=%s",
                              o->agents[0].user));
                free(agent);
        }
        unfeed(&f);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("analytics_day");
        TCase *tc = tcase_create("analytics_day");
        tcase_set_timeout(tc, 300);
        tcase_add_unchecked_fixture(tc, at_suite_setup, at_suite_teardown);
        tcase_add_test(tc, analytics_day_kpis_match_the_script);
        tcase_add_test(tc, analytics_day_redelivered_shuffled_same_answers);
        tcase_add_test(tc, analytics_day_cross_tenant);
        suite_add_tcase(s, tc);
        return cc_test_run(s);
}
