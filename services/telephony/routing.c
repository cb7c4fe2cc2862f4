/* Queues and routing: a caller waits in its own conference while an offer rings one agent at a
 * time; the first agent to answer joins the conference and the call is theirs.
 *
 * Decisions are made in the database (route_org, migrations/008_routing.sql) under a lock per
 * organization; everything Twilio must do about them (ring an agent, hang up a leg, redirect an
 * overflowing caller) happens afterwards, outside any transaction, driven by the worker thread
 * from what the rows say. A lost worker round is therefore never lost work: the rows still say
 * it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls_internal.h"
#include "cc/log.h"

#define TS(p) "('epoch'::timestamptz + " p "::bigint * interval '1 millisecond')"

/* How long an agent's phone rings before the offer counts as missed. */
#define OFFER_RING_S 20
/* Rows one worker round takes on at most, so a backlog never makes one round slow. */
#define ROUND_LIMIT "32"
/* An offer DIALING for this long has rung out whatever happened to its callbacks. */
#define STALE_DIALING_S "90"

static const char *base_url(void)
{
        return tel_cfg.public_base_url ? tel_cfg.public_base_url : "";
}

void tel_route_wait_twiml(struct cc_twiml *t, const char *call_id)
{
        char name[48], wait[2200];
        tel_conference_name(call_id, name);
        snprintf(wait, sizeof(wait), "%s/api/webhooks/twilio/hold", base_url());
        const char *attrs[] = {"startConferenceOnEnter",
                               "false",
                               "endConferenceOnExit",
                               "true",
                               "beep",
                               "false",
                               "waitUrl",
                               wait,
                               "waitMethod",
                               "POST",
                               NULL};
        cc_twiml_open(t, "Dial", NULL);
        cc_twiml_leaf(t, "Conference", attrs, name);
        cc_twiml_close(t);
}

/* The agent's side: joining starts the conference (the caller's hold music stops) and the agent
 * leaving ends it. */
static char *agent_twiml(const char *call_id)
{
        char name[48];
        tel_conference_name(call_id, name);
        struct cc_twiml *t = cc_twiml_new();
        const char *attrs[] = {
            "startConferenceOnEnter", "true", "endConferenceOnExit", "true", "beep", "false", NULL};
        cc_twiml_open(t, "Dial", NULL);
        cc_twiml_leaf(t, "Conference", attrs, name);
        cc_twiml_close(t);
        size_t len;
        return cc_twiml_finish(t, &len);
}

static void fmt_ll(char buf[24], long long v)
{
        snprintf(buf, 24, "%lld", v);
}

int tel_route_enqueue(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                      const struct tel_queue *q, const char *traceparent)
{
        struct tel_call_row row;
        int r = tel_call_row_get(conn, org_id, call_id, true, false, &row);
        if (r < 0)
                return r;
        if (tel_call_status_terminal(row.call.status) ||
            strcmp(row.queue_state, "CONNECTED") == 0 || strcmp(row.queue_state, "OFFERED") == 0)
                return 0; /* gone, or already with an agent: a retried webhook */
        if (strcmp(row.queue_state, "WAITING") == 0 && strcmp(row.queue_id, q->id) == 0)
                return 0;
        char prio[24], now[24];
        int64_t at = cc_now_ms();
        fmt_ll(prio, q->priority);
        fmt_ll(now, at);
        /* A call moved to another queue keeps its first queue time: the caller has been
         * waiting since then. */
        const char *p[] = {org_id, call_id, q->id, prio, now};
        r = cc_db_exec(
            conn,
            "UPDATE calls SET queue_id = $3, queue_state = 'WAITING', queue_priority = $4, "
            "queued_at = coalesce(queued_at, " TS("$5") "), entered_queue_at = " TS(
                "$5") ", "
                      "queue_left_at = NULL, updated_at = now() WHERE org_id = $1 AND id = $2",
            5, p, NULL);
        if (r < 0)
                return r;
        snprintf(row.queue_id, sizeof(row.queue_id), "%s", q->id);
        return tel_event_call_updated(conn, &row, row.call.status, at, traceparent);
}

int tel_route_org(struct cc_db_conn *conn, const char *org_id, int *ret_offers)
{
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = cc_db_exec(conn, "SELECT route_org($1)", 1, p, &res);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                PQclear(res);
                cc_db_rollback(conn);
                return r;
        }
        if (ret_offers)
                *ret_offers = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

int tel_route_offer_to_user(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                            const char *user_id, bool *ret_offered)
{
        *ret_offered = false;
        struct tel_call_row row;
        PGresult *res = NULL;
        /* the call first, then the agent: the order every writer takes them in */
        int r = cc_db_begin(conn);
        if (r == 0)
                r = tel_call_row_get(conn, org_id, call_id, true, false, &row);
        if (r == 0 && (row.queue_state[0] || tel_call_status_terminal(row.call.status)))
                goto done; /* already routed (a retried webhook), or over */
        const char *p[] = {org_id, user_id, call_id};
        if (r == 0)
                r = cc_db_exec(conn,
                               "UPDATE agents SET current_load = current_load + 1, updated_at = "
                               "now() WHERE org_id = $1 AND user_id = $2 AND current_load < "
                               "max_capacity RETURNING id",
                               2, p, &res);
        if (r < 0 || PQntuples(res) == 0)
                goto done;
        const char *q[] = {org_id, call_id, PQgetvalue(res, 0, 0)};
        /* the callee waits for the agent from now: its wait is measured like a queue's */
        r = cc_db_exec(conn,
                       "UPDATE calls SET queue_state = 'OFFERED', queued_at = now(), "
                       "entered_queue_at = now(), updated_at = now() WHERE org_id = $1 AND id = $2",
                       2, q, NULL);
        if (r == 0)
                r = cc_db_exec(conn,
                               "INSERT INTO offers (id, org_id, call_id, agent_id) VALUES "
                               "(gen_random_uuid(), $1, $2, $3)",
                               3, q, NULL);
        if (r == 0)
                *ret_offered = true;
done:
        PQclear(res);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                *ret_offered = false;
        }
        return r;
}

/* The agent's presence after its load changed: BUSY when it is full, AVAILABLE again when a
 * BUSY agent has room (an agent on BREAK or OFFLINE stays there). */
static int agent_follow_load(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                             const char *traceparent)
{
        const char *p[] = {org_id, agent_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT status, current_load >= max_capacity FROM agents "
                           "WHERE org_id = $1 AND id = $2",
                           2, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 0;
        }
        bool full = PQgetvalue(res, 0, 1)[0] == 't';
        enum tel_agent_status st;
        if (tel_agent_status_parse(PQgetvalue(res, 0, 0), &st) < 0)
                st = TEL_AGENT_OFFLINE;
        PQclear(res);
        if (full && st == TEL_AGENT_AVAILABLE)
                r = tel_agent_set_status(conn, org_id, agent_id, TEL_AGENT_BUSY, 0, traceparent);
        else if (!full && st == TEL_AGENT_BUSY)
                r = tel_agent_set_status(conn, org_id, agent_id, TEL_AGENT_AVAILABLE, 0,
                                         traceparent);
        return r < 0 ? r : 0;
}

static int release_load(struct cc_db_conn *conn, const char *org_id, const char *agent_id)
{
        const char *p[] = {org_id, agent_id};
        return cc_db_exec(conn,
                          "UPDATE agents SET current_load = greatest(current_load - 1, 0), "
                          "updated_at = now() WHERE org_id = $1 AND id = $2",
                          2, p, NULL);
}

/* Ends the wrap-up accounting of a call: how long its agent spent after it, in
 * call.wrapped_up. A call that ended before call.ended went out at the hang-up (an older version
 * of this service deferred it to here) gets its call.ended now, wrap-up included. */
static int close_accounting(struct cc_db_conn *conn, struct tel_call_row *row, int wrap_up_s,
                            int64_t at_ms, const char *traceparent)
{
        char w[24];
        fmt_ll(w, wrap_up_s);
        const char *p[] = {row->call.org_id, row->call.id, w};
        int r = cc_db_exec(conn,
                           "UPDATE calls SET wrap_up_s = $3, ended_event_sent = true, "
                           "updated_at = now() WHERE org_id = $1 AND id = $2",
                           3, p, NULL);
        if (r < 0)
                return r;
        row->wrap_up_s = wrap_up_s;
        if (!row->ended_event_sent) {
                row->ended_event_sent = true;
                return tel_event_call_ended(conn, row, traceparent);
        }
        return tel_event_call_wrapped_up(conn, row, at_ms, traceparent);
}

/* Live offers of a call that ended while waiting: canceled, their agents' load released. The
 * agents' legs, if already ringing, are hung up by the worker (released = false). */
static int cancel_offers(struct cc_db_conn *conn, const char *call_id, const char *traceparent)
{
        const char *p[] = {call_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "UPDATE offers SET state = 'CANCELED', released = (twilio_sid IS NULL), "
                           "updated_at = now() WHERE call_id = $1 AND state IN ('PENDING', "
                           "'DIALING') RETURNING org_id, agent_id",
                           1, p, &res);
        if (r < 0)
                return r;
        for (int i = 0; r == 0 && i < PQntuples(res); i++) {
                r = release_load(conn, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
                if (r == 0)
                        r = agent_follow_load(conn, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                              traceparent);
        }
        PQclear(res);
        return r;
}

int tel_route_call_ended(struct cc_db_conn *conn, struct tel_call_row *row,
                         bool *ret_wrap_up_follows, const char *traceparent)
{
        *ret_wrap_up_follows = false;
        const struct tel_call *c = &row->call;
        bool waiting =
            strcmp(row->queue_state, "WAITING") == 0 || strcmp(row->queue_state, "OFFERED") == 0;
        if (waiting) {
                const char *p[] = {c->org_id, c->id};
                int r = cc_db_exec(conn,
                                   "UPDATE calls SET queue_state = 'ABANDONED', abandoned = true "
                                   "WHERE org_id = $1 AND id = $2",
                                   2, p, NULL);
                if (r == 0)
                        r = cancel_offers(conn, c->id, traceparent);
                if (r < 0)
                        return r;
                snprintf(row->queue_state, sizeof(row->queue_state), "ABANDONED");
                row->abandoned = true;
                return 0;
        }
        if (strcmp(row->queue_state, "CONNECTED") != 0)
                return 0;

        /* The agent who took it: load released, its leg hung up by the worker, then wrap-up.
         * The agent is locked before anything is decided from its status and load: a presence
         * change or another of its calls ending at the same moment must be seen, not
         * overwritten. */
        const char *p[] = {c->id, row->queue_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT a.id, a.status, a.current_load, (SELECT q.wrap_up_seconds FROM "
                           "queues q WHERE q.id::text = $2 AND q.org_id = a.org_id) FROM offers o "
                           "JOIN agents a ON a.id = o.agent_id WHERE o.call_id = $1 AND o.state = "
                           "'ACCEPTED' FOR UPDATE OF a",
                           2, p, &res);
        if (r == 0)
                r = cc_db_exec(conn,
                               "UPDATE offers SET released = released OR twilio_sid IS NULL, "
                               "updated_at = now() WHERE call_id = $1 AND state = 'ACCEPTED'",
                               1, p, NULL);
        if (r < 0) {
                PQclear(res);
                return r;
        }
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 0;
        }
        char agent_id[CC_UUID_LEN + 1];
        snprintf(agent_id, sizeof(agent_id), "%s", PQgetvalue(res, 0, 0));
        enum tel_agent_status st;
        if (tel_agent_status_parse(PQgetvalue(res, 0, 1), &st) < 0)
                st = TEL_AGENT_OFFLINE;
        int load_after = atoi(PQgetvalue(res, 0, 2)) - 1;
        int wrap_s = PQgetisnull(res, 0, 3) ? 0 : atoi(PQgetvalue(res, 0, 3));
        PQclear(res);
        r = release_load(conn, c->org_id, agent_id);
        if (r < 0)
                return r;
        /* After-call work only for an agent who was on the call and has nothing else now; one
         * who went on break meanwhile, or still talks to another caller, has none for it. */
        bool on_call = st == TEL_AGENT_BUSY || st == TEL_AGENT_AVAILABLE;
        if (!on_call || load_after > 0 || wrap_s <= 0) {
                if (on_call)
                        r = agent_follow_load(conn, c->org_id, agent_id, traceparent);
                if (r == 0) {
                        const char *q[] = {c->org_id, c->id};
                        r = cc_db_exec(conn,
                                       "UPDATE calls SET wrap_up_s = 0 WHERE org_id = $1 AND id = "
                                       "$2",
                                       2, q, NULL);
                        row->wrap_up_s = 0;
                }
                return r;
        }
        r = tel_agent_set_status(conn, c->org_id, agent_id, TEL_AGENT_WRAP_UP, c->ended_at_ms,
                                 traceparent);
        if (r < 0)
                return r;
        char until[24];
        fmt_ll(until, (c->ended_at_ms ? c->ended_at_ms : cc_now_ms()) + wrap_s * 1000LL);
        const char *q[] = {agent_id, c->id, until, c->org_id};
        r = cc_db_exec(
            conn,
            "UPDATE agents SET wrap_call_id = $2, wrap_until = " TS("$3") " WHERE "
                                                                          "org_id = $4 AND id = $1",
            4, q, NULL);
        if (r == 0)
                *ret_wrap_up_follows = true;
        return r;
}

int tel_route_wrap_up_done(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           int64_t at_ms, const char *traceparent)
{
        struct tel_call_row row;
        int r = tel_call_row_get(conn, org_id, call_id, true, true, &row);
        if (r == -ENOENT)
                return 0;
        if (r < 0 || !tel_call_status_terminal(row.call.status) || row.wrap_up_s >= 0)
                return r;
        int64_t at = at_ms > 0 ? at_ms : cc_now_ms();
        int64_t w = at > row.call.ended_at_ms ? (at - row.call.ended_at_ms + 500) / 1000 : 0;
        return close_accounting(conn, &row, (int)w, at, traceparent);
}

int tel_route_offer_org(struct cc_db_conn *conn, const char *offer_id,
                        char ret_org_id[CC_UUID_LEN + 1])
{
        if (!offer_id || !cc_uuid_valid(offer_id))
                return -ENOENT;
        const char *p[] = {offer_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "SELECT org_id FROM offers WHERE id = $1", 1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        snprintf(ret_org_id, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

struct offer {
        char id[CC_UUID_LEN + 1], org_id[CC_UUID_LEN + 1], call_id[CC_UUID_LEN + 1];
        char agent_id[CC_UUID_LEN + 1];
        char user_id[CC_UUID_LEN + 1]; /* the agent's user: what a call's agent_id names */
        char state[16];
        char sid[64];
};

/* The offer and its call locked, call first (the order every writer uses). */
static int lock_offer(struct cc_db_conn *conn, const char *offer_id, struct offer *o,
                      struct tel_call_row *call)
{
        const char *p[] = {offer_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "SELECT org_id, call_id FROM offers WHERE id = $1", 1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return -ENOENT;
        }
        memset(o, 0, sizeof(*o));
        snprintf(o->id, sizeof(o->id), "%s", offer_id);
        snprintf(o->org_id, sizeof(o->org_id), "%s", PQgetvalue(res, 0, 0));
        snprintf(o->call_id, sizeof(o->call_id), "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        r = tel_call_row_get(conn, o->org_id, o->call_id, true, true, call);
        if (r < 0)
                return r;
        res = NULL;
        r = cc_db_exec(conn,
                       "SELECT o.agent_id, o.state, coalesce(o.twilio_sid, ''), a.user_id "
                       "FROM offers o JOIN agents a ON a.id = o.agent_id WHERE o.id = $1 "
                       "FOR UPDATE OF o",
                       1, p, &res);
        if (r < 0)
                return r;
        snprintf(o->agent_id, sizeof(o->agent_id), "%s", PQgetvalue(res, 0, 0));
        snprintf(o->state, sizeof(o->state), "%s", PQgetvalue(res, 0, 1));
        snprintf(o->sid, sizeof(o->sid), "%s", PQgetvalue(res, 0, 2));
        snprintf(o->user_id, sizeof(o->user_id), "%s", PQgetvalue(res, 0, 3));
        PQclear(res);
        return 0;
}

static int set_offer(struct cc_db_conn *conn, const struct offer *o, const char *state,
                     const char *sid, bool released)
{
        const char *p[] = {o->id, state, sid && *sid ? sid : NULL, released ? "true" : "false"};
        return cc_db_exec(conn,
                          "UPDATE offers SET state = $2, twilio_sid = coalesce(twilio_sid, $3), "
                          "released = $4, updated_at = now() WHERE id = $1",
                          4, p, NULL);
}

/* The agent answered: the call is theirs. */
static int offer_accepted(struct cc_db_conn *conn, struct offer *o, struct tel_call_row *row,
                          const char *sid, const char *traceparent)
{
        int64_t at = cc_now_ms();
        char now[24];
        fmt_ll(now, at);
        const char *p[] = {o->org_id, o->call_id, now};
        int r = set_offer(conn, o, "ACCEPTED", sid, false);
        if (r == 0)
                r = cc_db_exec(conn,
                               "UPDATE calls SET queue_state = 'CONNECTED', connected_at = " TS(
                                   "$3") " WHERE org_id = $1 AND id = $2",
                               3, p, NULL);
        if (r < 0)
                return r;
        snprintf(row->queue_state, sizeof(row->queue_state), "CONNECTED");
        row->connected_at_ms = at;
        /* The agent is the call's agent now (in call.updated), named by its user id as every
         * call's agent_id is (the contract's Call, an agent's own-calls filter, analytics); an
         * inbound caller is answered only now: speed of answer counts from the queue to here. */
        struct tel_call_patch patch = {.set_agent_id = true, .agent_id = o->user_id};
        const struct tel_transition t = {
            .to = TEL_CALL_IN_PROGRESS,
            .source = TEL_SOURCE_API,
            .at_ms = at,
            .duration_s = -1,
            .traceparent = traceparent,
        };
        bool answer = row->call.status == TEL_CALL_RINGING || row->call.status == TEL_CALL_QUEUED;
        r = tel_call_update(conn, row, &patch, answer ? &t : NULL, traceparent, NULL);
        if (r < 0)
                return r;
        return agent_follow_load(conn, o->org_id, o->agent_id, traceparent);
}

/* The offer ends without the agent: MISSED (no answer, busy, a bad endpoint: the next agent
 * gets the call, this one never again) or CANCELED (Twilio could not be asked: the call waits
 * for the next pass, this agent included). */
static int offer_ended(struct cc_db_conn *conn, struct offer *o, struct tel_call_row *row,
                       const char *state, const char *sid, const char *traceparent)
{
        int r = set_offer(conn, o, state, sid, true);
        if (r == 0)
                r = release_load(conn, o->org_id, o->agent_id);
        if (r == 0)
                r = agent_follow_load(conn, o->org_id, o->agent_id, traceparent);
        if (r == 0 && strcmp(row->queue_state, "OFFERED") == 0 &&
            !tel_call_status_terminal(row->call.status)) {
                const char *p[] = {o->org_id, o->call_id};
                r = cc_db_exec(conn,
                               "UPDATE calls SET queue_state = 'WAITING' WHERE org_id = $1 AND "
                               "id = $2",
                               2, p, NULL);
                /* A call an agent placed, whose agent did not pick up, waits in the default
                 * queue: its max wait and overflow apply rather than hold music for ever. */
                struct tel_queue q;
                if (r == 0 && !row->queue_id[0])
                        r = tel_queue_resolve(conn, o->org_id, TEL_DEFAULT_QUEUE, true, &q);
                if (r == 0 && !row->queue_id[0]) {
                        char prio[16];
                        snprintf(prio, sizeof(prio), "%d", q.priority);
                        const char *u[] = {o->org_id, o->call_id, q.id, prio};
                        r = cc_db_exec(conn,
                                       "UPDATE calls SET queue_id = $3, queue_priority = $4, "
                                       "entered_queue_at = now() WHERE org_id = $1 AND id = $2",
                                       4, u, NULL);
                }
        }
        return r;
}

int tel_route_offer_event(struct cc_db_conn *conn, const char *offer_id, const char *sid,
                          enum tel_leg_event ev, const char *traceparent, bool *ret_hangup,
                          struct tel_call *ret_call)
{
        if (ret_hangup)
                *ret_hangup = false;
        struct offer o;
        struct tel_call_row row;
        bool hangup = false;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = lock_offer(conn, offer_id, &o, &row);
        if (r < 0)
                goto fail;
        bool live = strcmp(o.state, "PENDING") == 0 || strcmp(o.state, "DIALING") == 0;
        if (ev == TEL_LEG_PROGRESS) {
                if (sid && *sid && !o.sid[0])
                        r = set_offer(conn, &o, o.state, sid, false);
        } else if (ev == TEL_LEG_UNPLACED) {
                if (live)
                        r = offer_ended(conn, &o, &row, "CANCELED", NULL, traceparent);
        } else if (ev == TEL_LEG_ANSWERED) {
                if (live && strcmp(row.queue_state, "OFFERED") == 0 &&
                    !tel_call_status_terminal(row.call.status)) {
                        r = offer_accepted(conn, &o, &row, sid, traceparent);
                } else if (live || strcmp(o.state, "CANCELED") == 0) {
                        /* Answered too late (the caller left, or the offer was withdrawn):
                         * the worker hangs the agent up. */
                        r = set_offer(conn, &o, "CANCELED", sid, false);
                        if (r == 0 && live)
                                r = release_load(conn, o.org_id, o.agent_id);
                        if (r == 0 && live)
                                r = agent_follow_load(conn, o.org_id, o.agent_id, traceparent);
                }
        } else { /* ENDED */
                if (live) {
                        r = offer_ended(conn, &o, &row, "MISSED", sid, traceparent);
                } else if (strcmp(o.state, "ACCEPTED") == 0) {
                        r = set_offer(conn, &o, o.state, sid, true);
                        /* The agent hung up on a live call: the caller goes too. */
                        hangup = !tel_call_status_terminal(row.call.status);
                } else {
                        r = set_offer(conn, &o, o.state, sid, true);
                }
        }
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0)
                goto fail;
        if (ret_hangup)
                *ret_hangup = hangup;
        if (ret_call)
                *ret_call = row.call;
        return 0;
fail:
        cc_db_rollback(conn);
        return r;
}

/* ---- the worker's rounds ---- */

int tel_route_dial_offers(struct cc_db_conn *conn, struct tel *tel)
{
        /* Claimed in a short transaction; Twilio is called after it. SKIP LOCKED lets replicas
         * share the work without ever dialing one offer twice. */
        PGresult *res = NULL;
        int r = cc_db_exec(
            conn,
            "UPDATE offers o SET state = 'DIALING', updated_at = now() FROM agents a "
            "WHERE o.id IN (SELECT id FROM offers WHERE state = 'PENDING' ORDER BY created_at "
            "LIMIT " ROUND_LIMIT " FOR UPDATE SKIP LOCKED) AND a.id = o.agent_id "
            "RETURNING o.id, o.org_id, o.call_id, coalesce(NULLIF(a.metadata->>'endpoint', ''), "
            "'client:' || a.user_id::text)",
            0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res), unplaced = 0;
        for (int i = 0; i < n; i++) {
                const char *offer_id = PQgetvalue(res, i, 0), *org_id = PQgetvalue(res, i, 1);
                const char *call_id = PQgetvalue(res, i, 2), *to = PQgetvalue(res, i, 3);
                char status[2300], sid[64] = "", err[512];
                snprintf(status, sizeof(status), "%s/api/webhooks/twilio/agent-status?offer=%s",
                         base_url(), offer_id);
                char *twiml = agent_twiml(call_id);
                int d = tel_twilio_create_leg(conn, tel, org_id, to, twiml, status, OFFER_RING_S,
                                              sid, err, sizeof(err));
                free(twiml);
                /* Only Twilio refusing this endpoint is the agent's missed call. Twilio out of
                 * reach, failing, throttling or refusing our credentials is nobody's: the offer
                 * is withdrawn and the call waits for a later round, this agent included. The
                 * leg's callbacks carry our offer id, so the sid is stored by whichever comes
                 * first: this answer or the first callback (and a leg Twilio did place before a
                 * timeout is hung up when it answers a withdrawn offer). */
                enum tel_leg_event ev = d == 0         ? TEL_LEG_PROGRESS
                                        : d == -EINVAL ? TEL_LEG_ENDED
                                                       : TEL_LEG_UNPLACED;
                if (ev == TEL_LEG_UNPLACED)
                        unplaced++;
                if (d < 0)
                        cc_log_warn(NULL, "routing: cannot ring agent for call %s: %s", call_id,
                                    err);
                int e = tel_route_offer_event(conn, offer_id, d == 0 ? sid : NULL, ev, NULL, NULL,
                                              NULL);
                if (e < 0 && e != -ENOENT)
                        cc_log_warn(NULL, "routing: offer %s: %s", offer_id, strerror(-e));
                if (ev == TEL_LEG_ENDED) {
                        char org[CC_UUID_LEN + 1];
                        snprintf(org, sizeof(org), "%s", org_id);
                        (void)!tel_route_org(conn, org, NULL);
                }
        }
        PQclear(res);
        return unplaced ? 0 : n; /* 0 ends the worker's dialing for this round */
}

int tel_route_expire_offers(struct cc_db_conn *conn)
{
        /* An offer still DIALING long after its leg must have rung out: the process that
         * claimed it died before placing the leg, or its callbacks were lost. It counts as
         * missed, so the call is not held by an agent's phone that will never answer. */
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT id FROM offers WHERE state = 'DIALING' AND updated_at < now() "
                           "- interval '" STALE_DIALING_S " seconds' LIMIT " ROUND_LIMIT,
                           0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++)
                (void)!tel_route_offer_event(conn, PQgetvalue(res, i, 0), NULL, TEL_LEG_ENDED, NULL,
                                             NULL, NULL);
        PQclear(res);
        return n;
}

int tel_route_release_legs(struct cc_db_conn *conn, struct tel *tel)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT o.id, o.org_id, o.twilio_sid FROM offers o JOIN calls c ON "
                           "c.id = o.call_id WHERE NOT o.released AND o.twilio_sid IS NOT NULL "
                           "AND (o.state IN ('CANCELED', 'MISSED') OR (o.state = 'ACCEPTED' AND "
                           "c.ended_at IS NOT NULL)) LIMIT " ROUND_LIMIT,
                           0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res), done = 0;
        for (int i = 0; i < n; i++) {
                char err[512];
                int h = tel_twilio_hangup_sid(conn, tel, PQgetvalue(res, i, 1),
                                              PQgetvalue(res, i, 2), err, sizeof(err));
                /* Hung up, or Twilio says there is nothing to hang up (the leg is over): done.
                 * Anything else is tried again next round. */
                if (h == 0 || h == -EINVAL) {
                        const char *p[] = {PQgetvalue(res, i, 0)};
                        (void)!cc_db_exec(conn, "UPDATE offers SET released = true WHERE id = $1",
                                          1, p, NULL);
                        done++;
                }
        }
        PQclear(res);
        return done;
}

int tel_route_expire_wrap_ups(struct cc_db_conn *conn)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT org_id, id, (extract(epoch FROM wrap_until) * 1000)::bigint "
                           "FROM agents WHERE status = 'WRAP_UP' AND wrap_until <= now() "
                           "ORDER BY wrap_until LIMIT " ROUND_LIMIT,
                           0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res), done = 0;
        for (int i = 0; i < n; i++) {
                const char *org_id = PQgetvalue(res, i, 0), *agent_id = PQgetvalue(res, i, 1);
                int64_t until = strtoll(PQgetvalue(res, i, 2), NULL, 10);
                /* Re-checked under the row lock: the agent may have ended it meanwhile. */
                const char *p[] = {org_id, agent_id};
                PGresult *chk = NULL;
                r = cc_db_begin(conn);
                if (r == 0)
                        r = cc_db_exec(conn,
                                       "SELECT 1 FROM agents WHERE org_id = $1 AND id = $2 AND "
                                       "status = 'WRAP_UP' AND wrap_until <= now() FOR UPDATE",
                                       2, p, &chk);
                if (r == 0 && PQntuples(chk) > 0)
                        r = tel_agent_set_status(conn, org_id, agent_id, TEL_AGENT_AVAILABLE, until,
                                                 NULL);
                PQclear(chk);
                if (r >= 0)
                        r = cc_db_commit(conn);
                if (r < 0) {
                        cc_db_rollback(conn);
                        continue;
                }
                done++;
                (void)!tel_route_org(conn, org_id, NULL);
        }
        PQclear(res);
        return done;
}

/* What a caller who waited too long hears: per the queue's overflow action. Returns the TwiML
 * (heap), or NULL when the call simply moves to another queue (nothing to tell Twilio). */
static char *overflow_twiml(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                            const char *action, const char *target, int overflows,
                            const char *traceparent)
{
        struct cc_twiml *t = cc_twiml_new();
        size_t len;
        /* Into another queue once only: two queues overflowing into each other must not pass
         * a caller back and forth; the second overflow takes a message instead. */
        if (strcmp(action, "queue") == 0 && target[0] && overflows == 0) {
                struct tel_queue q;
                if (tel_queue_resolve(conn, org_id, target, false, &q) == 0 &&
                    tel_route_enqueue(conn, org_id, call_id, &q, traceparent) == 0) {
                        cc_twiml_free(t);
                        return NULL;
                }
                action = "voicemail";
        }
        if (strcmp(action, "transfer") == 0 && target[0]) {
                cc_twiml_leaf(t, "Say", NULL, "Please hold while we transfer your call.");
                cc_twiml_open(t, "Dial", NULL);
                if (strncmp(target, "client:", 7) == 0)
                        cc_twiml_leaf(t, "Client", NULL, target + 7);
                else if (strncmp(target, "sip:", 4) == 0)
                        cc_twiml_leaf(t, "Sip", NULL, target);
                else
                        cc_twiml_leaf(t, "Number", NULL, target);
                cc_twiml_close(t);
        } else if (strcmp(action, "hangup") == 0) {
                cc_twiml_leaf(t, "Say", NULL,
                              "Sorry, all our agents are busy. Please call again later.");
                cc_twiml_leaf(t, "Hangup", NULL, NULL);
        } else {
                char rec[2200], tr[2200];
                snprintf(rec, sizeof(rec), "%s/api/webhooks/twilio/recording", base_url());
                snprintf(tr, sizeof(tr), "%s/api/webhooks/twilio/transcription", base_url());
                const char *attrs[] = {"maxLength",
                                       "120",
                                       "playBeep",
                                       "true",
                                       "recordingStatusCallback",
                                       rec,
                                       "transcribe",
                                       "true",
                                       "transcribeCallback",
                                       tr,
                                       NULL};
                cc_twiml_leaf(t, "Say", NULL,
                              "Sorry, all our agents are busy. Please leave a message after the "
                              "beep.");
                cc_twiml_leaf(t, "Record", attrs, NULL);
                cc_twiml_leaf(t, "Hangup", NULL, NULL);
        }
        return cc_twiml_finish(t, &len);
}

int tel_route_overflow(struct cc_db_conn *conn, struct tel *tel)
{
        /* Only calls nobody is ringing for: an offer in flight gets its chance first. */
        PGresult *res = NULL;
        int r = cc_db_exec(
            conn,
            "SELECT c.org_id, c.id, q.overflow_action, coalesce(q.overflow_target, ''), "
            "c.overflow_count FROM calls c JOIN queues q ON q.org_id = c.org_id AND "
            "q.id::text = c.queue_id WHERE c.queue_state = 'WAITING' AND c.entered_queue_at + "
            "q.max_wait_seconds * interval '1 second' <= now() ORDER BY c.entered_queue_at "
            "LIMIT " ROUND_LIMIT,
            0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res), done = 0;
        for (int i = 0; i < n; i++) {
                const char *org_id = PQgetvalue(res, i, 0), *call_id = PQgetvalue(res, i, 1);
                struct tel_call_row row;
                char *twiml = NULL;
                r = cc_db_begin(conn);
                if (r == 0)
                        r = tel_call_row_get(conn, org_id, call_id, true, false, &row);
                if (r == 0 && strcmp(row.queue_state, "WAITING") != 0)
                        r = -EAGAIN; /* taken meanwhile */
                if (r == 0) {
                        const char *p[] = {org_id, call_id};
                        r = cc_db_exec(conn,
                                       "UPDATE calls SET queue_state = 'OVERFLOWED', "
                                       "overflow_count = overflow_count + 1, queue_left_at = "
                                       "now() WHERE org_id = $1 AND id = $2",
                                       2, p, NULL);
                }
                if (r == 0)
                        twiml = overflow_twiml(conn, org_id, call_id, PQgetvalue(res, i, 2),
                                               PQgetvalue(res, i, 3), atoi(PQgetvalue(res, i, 4)),
                                               NULL);
                if (r == 0)
                        r = cc_db_commit(conn);
                if (r < 0) {
                        cc_db_rollback(conn);
                        free(twiml);
                        continue;
                }
                done++;
                if (!twiml) {
                        (void)!tel_route_org(conn, org_id, NULL);
                        continue;
                }
                const struct cc_kv fields[] = {{"Twiml", twiml}};
                char err[512];
                int u = tel_twilio_update_call(conn, tel, &row.call, fields, 1, err, sizeof(err));
                free(twiml);
                if (u < 0 && u != -EINVAL) {
                        /* Twilio could not be told: the caller is still on hold, so it waits
                         * again and the next round retries (a refusal means the call is gone). */
                        cc_log_warn(NULL, "routing: cannot redirect overflowing call %s: %s",
                                    call_id, err);
                        const char *p[] = {org_id, call_id};
                        (void)!cc_db_exec(conn,
                                          "UPDATE calls SET queue_state = 'WAITING', "
                                          "queue_left_at = NULL, overflow_count = overflow_count "
                                          "- 1 WHERE org_id = $1 AND id = $2 AND queue_state = "
                                          "'OVERFLOWED'",
                                          2, p, NULL);
                }
        }
        PQclear(res);
        return done;
}

/* At most ROUND_LIMIT organizations a round, picked at random: organizations whose waiting
 * calls no free agent qualifies for must not starve the others. */
int tel_route_backstop(struct cc_db_conn *conn)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT org_id FROM (SELECT DISTINCT c.org_id FROM calls c WHERE "
                           "c.queue_state = 'WAITING' AND EXISTS (SELECT 1 FROM agents a WHERE "
                           "a.org_id = c.org_id AND a.status = 'AVAILABLE' AND a.current_load < "
                           "a.max_capacity)) o ORDER BY random() LIMIT " ROUND_LIMIT,
                           0, NULL, &res);
        if (r < 0)
                return r;
        int n = PQntuples(res), made = 0;
        for (int i = 0; i < n; i++) {
                int k = 0;
                if (tel_route_org(conn, PQgetvalue(res, i, 0), &k) == 0)
                        made += k;
        }
        PQclear(res);
        return made;
}
