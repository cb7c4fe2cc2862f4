/* The outbound dialer: every running campaign (active, OUTBOUND, neither completed nor deleted)
 * dials its due PENDING contacts through Twilio, as many at a time as its pacing allows.
 *
 * Pacing: a campaign dials while the organization's campaign calls in flight (all its campaigns
 * together) stay below floor(available agents x pacing_ratio), where an available agent is one of
 * the organization's AVAILABLE agents with spare capacity (with the campaign queue's skills when
 * it has a queue) and a call is in flight from its creation until it ends or an agent takes it.
 * Counting the organization's calls, not the campaign's, keeps two campaigns from each promising
 * the same agents a call. Contacts are claimed and their calls created in one transaction that
 * holds the campaign's row lock, re-checks that the campaign still runs, and holds the
 * organization's dialer lock while it counts and claims: a pause committed before it means no
 * new dial, and two dialers (two replicas, or the worker and a test) never dial one contact twice
 * nor together exceed the pace. Twilio is called after the commit, so a slow Twilio holds no
 * lock; before each call the campaign is read again, and a pause committed meanwhile puts the
 * batch's remaining contacts back untried.
 *
 * A call Twilio refuses as invalid (a bad number) fails its contact; any other failure (Twilio
 * unreachable, credentials refused, no account any more) puts the contact back without counting
 * the attempt, a little later, so an outage does not use up a campaign's contacts. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaigns_internal.h"
#include "cc/log.h"

/* Campaigns looked at per round; more wait for the next round. */
#define MAX_CAMPAIGNS 1000
/* Contacts claimed per campaign and transaction, whatever the pace. */
#define MAX_BATCH 100
/* How long a contact (and its campaign, in this process) waits after a failure that was not its
 * number's fault. */
#define TRANSIENT_RETRY_S 30

/* ---- what this process remembers of a campaign between rounds ---- */

/* A few campaigns at a time: whether the operator was told it cannot be dialled, and until when
 * it rests after Twilio failed it. Forgetting one (more than 64 in trouble at once) costs a
 * repeated warning or an early retry, nothing more. */
struct memo {
        char id[CC_UUID_LEN + 1];
        bool warned;
        int64_t rest_until_us;
};

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct memo memos[64];
static unsigned memo_next;

/* The campaign's memo, made when create (memo_lock held). */
static struct memo *memo_find(const char *campaign_id, bool create)
{
        for (size_t i = 0; i < CC_ARRAY_SIZE(memos); i++)
                if (strcmp(memos[i].id, campaign_id) == 0)
                        return &memos[i];
        if (!create)
                return NULL;
        struct memo *m = &memos[memo_next++ % CC_ARRAY_SIZE(memos)];
        memset(m, 0, sizeof(*m));
        snprintf(m->id, sizeof(m->id), "%s", campaign_id);
        return m;
}

/* True the first time the campaign is warned about since it last dialled. */
static bool warn_first(const char *campaign_id)
{
        pthread_mutex_lock(&memo_lock);
        struct memo *m = memo_find(campaign_id, true);
        bool first = !m->warned;
        m->warned = true;
        pthread_mutex_unlock(&memo_lock);
        return first;
}

static void warn_forget(const char *campaign_id)
{
        pthread_mutex_lock(&memo_lock);
        struct memo *m = memo_find(campaign_id, false);
        if (m)
                m->warned = false;
        pthread_mutex_unlock(&memo_lock);
}

/* After Twilio failed the campaign's calls, it rests: every round would otherwise claim the
 * next contacts only to fail their calls too. */
static void rest(const char *campaign_id, int seconds)
{
        pthread_mutex_lock(&memo_lock);
        memo_find(campaign_id, true)->rest_until_us = cc_monotonic_us() + seconds * 1000000LL;
        pthread_mutex_unlock(&memo_lock);
}

static bool resting(const char *campaign_id)
{
        pthread_mutex_lock(&memo_lock);
        struct memo *m = memo_find(campaign_id, false);
        bool r = m && m->rest_until_us > cc_monotonic_us();
        pthread_mutex_unlock(&memo_lock);
        return r;
}

/* ---- one campaign ---- */

/* clang-format off */
/* The campaign locked if it still runs, with whether its calling hours (a local wall-clock
 * window in its time zone, possibly across midnight) include now. */
static const char lock_sql[] =
        "SELECT CASE WHEN c.calling_hours_start IS NULL OR c.calling_hours_end IS NULL THEN true "
        "WHEN c.calling_hours_start < c.calling_hours_end THEN "
        "(now() AT TIME ZONE c.time_zone)::time >= c.calling_hours_start "
        "AND (now() AT TIME ZONE c.time_zone)::time < c.calling_hours_end "
        "ELSE (now() AT TIME ZONE c.time_zone)::time >= c.calling_hours_start "
        "OR (now() AT TIME ZONE c.time_zone)::time < c.calling_hours_end END "
        "FROM campaigns c WHERE c.org_id = $1 AND c.id = $2 AND c.active "
        "AND c.type = 'OUTBOUND' AND c.completed_at IS NULL AND c.deleted_at IS NULL "
        "FOR UPDATE";

/* Claims of one organization's campaigns wait for each other (two campaigns have their own row
 * locks but share the agents), taken after the campaign's row lock, which nothing holding it
 * waits for. */
static const char org_lock_sql[] =
        "SELECT pg_advisory_xact_lock(hashtextextended('cc-dialer:' || $1::text, 0))";

/* Read after the locks, in a statement of its own, so it counts the calls of every dialer that
 * held them before. In flight: the organization's campaign calls, whatever campaign (paused or
 * deleted ones still ring), found through calls_campaign_live (010). The first column is the
 * campaign's allowance, the second what the organization has in flight, the third what this
 * campaign has (0 and nothing due may mean it is done). */
static const char room_sql[] =
        "SELECT floor((SELECT count(*) FROM agents a WHERE a.org_id = $1 "
        "AND a.status = 'AVAILABLE' AND a.current_load < a.max_capacity "
        "AND a.skills @> coalesce((SELECT q.skills FROM queues q WHERE q.org_id = $1 "
        "AND q.id = c.queue_id), '{}'::text[])) * c.pacing_ratio + 1e-9)::integer, "
        "coalesce(f.org, 0)::integer, coalesce(f.mine, 0)::integer "
        "FROM campaigns c, (SELECT count(*) AS org, count(*) FILTER (WHERE k.campaign_id = $2) "
        "AS mine FROM campaigns o JOIN calls k ON k.campaign_id = o.id "
        "WHERE o.org_id = $1 AND k.org_id = $1 "
        "AND k.status IN ('QUEUED', 'RINGING', 'IN_PROGRESS', 'ON_HOLD') "
        "AND k.ended_at IS NULL AND k.connected_at IS NULL) f "
        "WHERE c.org_id = $1 AND c.id = $2";

/* Due contacts, oldest due first, never one another transaction holds; with their last and next
 * attempt as they were (microseconds since the epoch), for a contact put back untried. */
static const char claim_sql[] =
        "WITH due AS (SELECT t.id, t.last_attempt, t.next_attempt FROM contacts t "
        "JOIN campaigns c ON c.id = t.campaign_id "
        "WHERE t.campaign_id = $2 AND t.org_id = $1 AND c.org_id = $1 AND t.status = 'PENDING' "
        "AND (t.next_attempt IS NULL OR t.next_attempt <= now()) "
        "AND t.attempts < c.max_attempts "
        "ORDER BY t.next_attempt NULLS FIRST, t.created_at, t.id LIMIT $3 "
        "FOR UPDATE OF t SKIP LOCKED) "
        "UPDATE contacts t SET status = 'DIALING', attempts = t.attempts + 1, "
        "last_attempt = now(), next_attempt = NULL, updated_at = now() "
        "FROM due WHERE t.id = due.id RETURNING t.id, t.phone_number, "
        "(extract(epoch FROM due.last_attempt) * 1000000)::bigint, "
        "(extract(epoch FROM due.next_attempt) * 1000000)::bigint";

/* Whether the campaign still runs: read before each call of a batch. */
static const char running_sql[] =
        "SELECT 1 FROM campaigns WHERE org_id = $1 AND id = $2 AND active "
        "AND completed_at IS NULL AND deleted_at IS NULL";

/* The contact as it was before the claim, if the claim still holds. */
static const char unclaim_sql[] =
        "UPDATE contacts SET status = 'PENDING', attempts = greatest(attempts - 1, 0), "
        "last_attempt = 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', "
        "next_attempt = 'epoch'::timestamptz + $4::bigint * interval '1 microsecond', "
        "updated_at = now() WHERE org_id = $1 AND id = $2 AND status = 'DIALING'";
/* clang-format on */

struct dial {
        char contact_id[CC_UUID_LEN + 1];
        /* last_attempt and next_attempt before the claim (us since the epoch; "" for NULL) */
        char prev_last[24], prev_next[24];
        struct tel_call call;
};

static int first_int(PGresult *res, int col)
{
        return atoi(PQgetvalue(res, 0, col));
}

/* A contact whose number cannot even be put on a call. */
static int fail_contact(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                        const char *outcome)
{
        const char *p[] = {org_id, contact_id, outcome};
        return cc_db_exec(conn,
                          "UPDATE contacts SET status = 'FAILED', outcome = $3, "
                          "updated_at = now() WHERE org_id = $1 AND id = $2",
                          3, p, NULL);
}

/* Claims and creates the campaign's calls in one transaction. *ret_dials (heap) and *ret_n get
 * the calls to place. */
static int claim(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                 const char *from, struct dial **ret_dials, size_t *ret_n)
{
        const char *p[] = {org_id, campaign_id, NULL};
        PGresult *res = NULL;
        struct dial *dials = NULL;
        size_t n = 0;
        bool claimed_any = false;
        int room = 0, in_flight = 0;
        int r = cc_db_begin(conn);
        if (r == 0)
                r = cc_db_exec(conn, lock_sql, 2, p, &res);
        if (r < 0)
                goto out;
        /* Paused, deleted or completed since the list was read; or outside its hours. */
        if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
                goto out;
        PQclear(res);
        res = NULL;
        r = cc_db_exec(conn, org_lock_sql, 1, p, NULL);
        if (r == 0)
                r = cc_db_exec(conn, room_sql, 2, p, &res);
        if (r < 0)
                goto out;
        if (PQntuples(res) == 1) {
                room = first_int(res, 0) - first_int(res, 1);
                in_flight = first_int(res, 2);
        }
        PQclear(res);
        res = NULL;
        /* Another round of ours that found Twilio down rested the campaign before it failed
         * its calls: a count that saw them end sees the rest too. */
        if (room > 0 && resting(campaign_id))
                room = 0;
        if (room > 0) {
                char limit[16];
                snprintf(limit, sizeof(limit), "%d", room < MAX_BATCH ? room : MAX_BATCH);
                p[2] = limit;
                r = cc_db_exec(conn, claim_sql, 3, p, &res);
                if (r < 0)
                        goto out;
                int rows = PQntuples(res);
                claimed_any = rows > 0;
                dials = cc_xcalloc(rows ? (size_t)rows : 1, sizeof(*dials));
                for (int i = 0; r == 0 && i < rows; i++) {
                        const char *cid = PQgetvalue(res, i, 0), *to = PQgetvalue(res, i, 1);
                        struct tel_call_new c = {
                            .from_number = from,
                            .to_number = to,
                            .campaign_id = campaign_id,
                            .contact_id = cid,
                        };
                        if (strlen(to) >= sizeof(dials[n].call.to_number)) {
                                r = fail_contact(conn, org_id, cid, "invalid-number");
                                continue;
                        }
                        snprintf(dials[n].contact_id, sizeof(dials[n].contact_id), "%s", cid);
                        snprintf(dials[n].prev_last, sizeof(dials[n].prev_last), "%s",
                                 PQgetvalue(res, i, 2));
                        snprintf(dials[n].prev_next, sizeof(dials[n].prev_next), "%s",
                                 PQgetvalue(res, i, 3));
                        r = tel_call_create(conn, org_id, &c, &dials[n].call);
                        if (r == 0)
                                n++;
                }
                if (r < 0)
                        goto out;
        }
        /* Nothing to dial and nothing ringing: maybe nothing is left (contacts given up on, or
         * marked do-not-call, without a call of ours ending). */
        if (!claimed_any && in_flight == 0)
                r = tel_campaign_complete_if_done(conn, org_id, campaign_id, NULL, NULL);
out:
        PQclear(res);
        if (r == 0)
                r = cc_db_commit(conn);
        if (r < 0) {
                cc_db_rollback(conn);
                free(dials);
                return r;
        }
        *ret_dials = dials;
        *ret_n = n;
        return 0;
}

/* The call could not be placed: it ends FAILED for the record, and its contact fails with it
 * (invalid) or waits for a later try that does not count as an attempt (transient). */
static int placement_failed(struct cc_db_conn *conn, const struct dial *d, bool transient)
{
        const struct tel_transition t = {
            .to = TEL_CALL_FAILED,
            .source = TEL_SOURCE_WEBHOOK, /* never refused: FAILED is always reachable */
            .duration_s = -1,
        };
        int r = cc_db_begin(conn);
        /* Put back first: the transition's progress then finds the contact no longer DIALING
         * and leaves it alone. */
        if (r == 0 && transient) {
                char delay[16];
                snprintf(delay, sizeof(delay), "%d", TRANSIENT_RETRY_S);
                const char *p[] = {d->call.org_id, d->contact_id, delay};
                r = cc_db_exec(conn,
                               "UPDATE contacts SET status = 'PENDING', "
                               "attempts = greatest(attempts - 1, 0), "
                               "next_attempt = now() + $3::integer * interval '1 second', "
                               "updated_at = now() "
                               "WHERE org_id = $1 AND id = $2 AND status = 'DIALING'",
                               3, p, NULL);
        }
        if (r == 0)
                r = tel_call_transition(conn, d->call.org_id, d->call.id, &t, NULL);
        if (r >= 0)
                r = cc_db_commit(conn);
        if (r < 0)
                cc_db_rollback(conn);
        return r;
}

static int still_running(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                         bool *ret_running)
{
        const char *p[] = {org_id, campaign_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, running_sql, 2, p, &res);
        if (r < 0)
                return r;
        *ret_running = PQntuples(res) == 1;
        PQclear(res);
        return 0;
}

/* The campaign stopped between the claim and this call: the contact goes back as it was, its
 * attempt unspent, and the call that never rang ends CANCELED for the record. */
static int withdraw(struct cc_db_conn *conn, const struct dial *d)
{
        const struct tel_transition t = {
            .to = TEL_CALL_CANCELED,
            .source = TEL_SOURCE_WEBHOOK, /* never refused: the call is still QUEUED */
            .duration_s = -1,
        };
        const char *p[] = {d->call.org_id, d->contact_id, d->prev_last[0] ? d->prev_last : NULL,
                           d->prev_next[0] ? d->prev_next : NULL};
        int r = cc_db_begin(conn);
        /* Put back first: the transition's progress then finds the contact no longer DIALING
         * and leaves it alone. */
        if (r == 0)
                r = cc_db_exec(conn, unclaim_sql, 4, p, NULL);
        if (r == 0)
                r = tel_call_transition(conn, d->call.org_id, d->call.id, &t, NULL);
        if (r >= 0)
                r = cc_db_commit(conn);
        if (r < 0)
                cc_db_rollback(conn);
        return r;
}

/* Dials what one campaign may dial now; returns the calls placed or < 0. */
static int dial_campaign(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                         const char *campaign_id)
{
        if (resting(campaign_id))
                return 0;
        /* Without an account or a number to call from, claiming contacts would only fail
         * them. */
        struct tel_account acct;
        int r = tel_account_for_org(conn, tel, org_id, &acct);
        explicit_bzero(&acct, sizeof(acct));
        char from[32] = "";
        if (r == 0)
                r = tel_default_number(conn, org_id, from);
        if (r == -ENOENT || (r == 0 && !from[0])) {
                if (warn_first(campaign_id))
                        cc_log_warn(NULL,
                                    "dialer: campaign %s of organization %s is not dialled: %s",
                                    campaign_id, org_id,
                                    r == -ENOENT ? "no Twilio account is configured"
                                                 : "the organization has no number to call from");
                return 0;
        }
        if (r < 0)
                return r;
        warn_forget(campaign_id);

        struct dial *dials = NULL;
        size_t n = 0;
        r = claim(conn, org_id, campaign_id, from, &dials, &n);
        if (r < 0)
                return r;
        int placed = 0;
        bool down = false, stopped = false;
        for (size_t i = 0; i < n; i++) {
                char err[256] = "";
                /* A pause (or delete) committed since the claim: the rest of the batch is not
                 * dialled. A campaign that cannot be read is not known to run: the same. */
                if (!down && !stopped) {
                        bool running = false;
                        int sr = still_running(conn, org_id, campaign_id, &running);
                        if (sr < 0) {
                                cc_log_error(NULL, "dialer: campaign %s: %s: %s", campaign_id,
                                             strerror(-sr), cc_db_error(conn));
                                running = false;
                        }
                        stopped = !running;
                }
                if (stopped) {
                        int wr = withdraw(conn, &dials[i]);
                        if (wr < 0)
                                cc_log_error(NULL, "dialer: campaign %s: call %s not withdrawn: %s",
                                             campaign_id, dials[i].call.id, strerror(-wr));
                        continue;
                }
                /* After one failure that was Twilio's, the rest of the batch is not tried: they
                 * would wait out the same timeout. */
                int pr =
                    down ? -EHOSTDOWN
                         : tel_twilio_place_call(conn, tel, &dials[i].call, NULL, err, sizeof(err));
                if (pr == 0) {
                        placed++;
                        continue;
                }
                bool transient = pr != -EINVAL;
                /* Rest before the calls are marked failed (which makes room): another round of
                 * this process then cannot claim the next contacts in between. */
                if (transient && !down)
                        rest(campaign_id, TRANSIENT_RETRY_S);
                if (!down)
                        cc_log_warn(NULL, "dialer: campaign %s: call to %s not placed: %s",
                                    campaign_id, dials[i].call.to_number,
                                    err[0] ? err : strerror(-pr));
                down = down || transient;
                int fr = placement_failed(conn, &dials[i], transient);
                if (fr < 0)
                        cc_log_error(NULL, "dialer: campaign %s: call %s not marked failed: %s",
                                     campaign_id, dials[i].call.id, strerror(-fr));
        }
        free(dials);
        return placed;
}

int tel_dialer_tick(struct cc_db_pool *pool, struct tel *tel)
{
        struct cc_db_conn *conn = NULL;
        int r = cc_db_acquire(pool, &conn);
        if (r < 0)
                return r;
        /* Every organization's running campaigns: the worker serves them all. */
        PGresult *res = NULL;
        char limit[16];
        snprintf(limit, sizeof(limit), "%d", MAX_CAMPAIGNS);
        const char *lp[] = {limit};
        /* Those with a contact due now, or with none waiting at all (maybe complete); one
         * whose contacts all wait for a later retry has nothing to do this round. Both through
         * the index of PENDING contacts. */
        r = cc_db_exec(conn,
                       "SELECT c.org_id, c.id FROM campaigns c WHERE c.active "
                       "AND c.type = 'OUTBOUND' AND c.completed_at IS NULL "
                       "AND c.deleted_at IS NULL AND (EXISTS (SELECT 1 FROM contacts t "
                       "WHERE t.campaign_id = c.id AND t.status = 'PENDING' "
                       "AND (t.next_attempt IS NULL OR t.next_attempt <= now())) "
                       "OR NOT EXISTS (SELECT 1 FROM contacts t WHERE t.campaign_id = c.id "
                       "AND t.status = 'PENDING')) "
                       "ORDER BY c.updated_at, c.id LIMIT $1",
                       1, lp, &res);
        if (r < 0) {
                cc_db_release(conn);
                return r;
        }
        int rows = PQntuples(res), total = 0;
        struct {
                char org_id[CC_UUID_LEN + 1], id[CC_UUID_LEN + 1];
        } *list = cc_xcalloc(rows ? (size_t)rows : 1, sizeof(*list));
        for (int i = 0; i < rows; i++) {
                snprintf(list[i].org_id, sizeof(list[i].org_id), "%s", PQgetvalue(res, i, 0));
                snprintf(list[i].id, sizeof(list[i].id), "%s", PQgetvalue(res, i, 1));
        }
        PQclear(res);
        for (int i = 0; i < rows; i++) {
                int d = dial_campaign(conn, tel, list[i].org_id, list[i].id);
                if (d >= 0) {
                        total += d;
                        continue;
                }
                /* One campaign's trouble (a time zone the database no longer knows...) does
                 * not hold up the others; a database that is gone does. */
                cc_log_error(NULL, "dialer: campaign %s: %s: %s", list[i].id, strerror(-d),
                             cc_db_error(conn));
                if (d == -EIO || d == -ECONNREFUSED || d == -ETIMEDOUT) {
                        r = d;
                        break;
                }
        }
        free(list);
        cc_db_release(conn);
        return r < 0 ? r : total;
}
