/* The telephony service's background thread: rings agents for new offers, hangs up legs no
 * longer needed, ends wrap-ups whose time is up, overflows callers who waited too long, routes
 * as a backstop and runs the outbound dialer. It wakes every CC_WORKER_INTERVAL_MS, or at once
 * when a request kicks it (an offer was made, an agent became free). Every round reads what to
 * do from the database, so replicas can run one each and a crash loses nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc/log.h"
#include "cc/periodic.h"
#include "telephony.h"

struct tel_worker {
        struct cc_service *svc;
        struct cc_periodic *periodic;
};

static void run_round(struct tel_worker *w)
{
        struct tel *tel = tel_of(w->svc);
        struct cc_db_pool *pool = cc_service_pool(w->svc);
        struct cc_db_conn *conn;
        if (cc_db_acquire(pool, &conn) < 0)
                return;
        /* Each step stands alone: a failing one (Twilio down, a lock timeout) must not stop
         * the others, and the next round retries it. */
        if (tel_route_expire_wrap_ups(conn) < 0)
                cc_log_debug(NULL, "worker: wrap-ups: %s", cc_db_error(conn));
        if (tel_route_backstop(conn) < 0)
                cc_log_debug(NULL, "worker: routing: %s", cc_db_error(conn));
        int dialed;
        /* Offers first and until none is left: an agent's phone should ring at once. */
        while ((dialed = tel_route_dial_offers(conn, tel)) > 0)
                ;
        if (tel_route_expire_offers(conn) < 0)
                cc_log_debug(NULL, "worker: stale offers: %s", cc_db_error(conn));
        if (tel_route_release_legs(conn, tel) < 0)
                cc_log_debug(NULL, "worker: releasing legs: %s", cc_db_error(conn));
        if (tel_route_overflow(conn, tel) < 0)
                cc_log_debug(NULL, "worker: overflow: %s", cc_db_error(conn));
        cc_db_release(conn);
        if (tel_dialer_tick(pool, tel) < 0)
                cc_log_debug(NULL, "worker: dialer round failed");
        /* The dialer's and the backstop's offers are rung without waiting a whole interval. */
        if (cc_db_acquire(pool, &conn) == 0) {
                while (tel_route_dial_offers(conn, tel) > 0)
                        ;
                cc_db_release(conn);
        }
}

static void worker_round(void *userdata)
{
        run_round(userdata);
}

struct tel_worker *tel_worker_new(struct cc_service *svc)
{
        struct tel_worker *w = cc_xcalloc(1, sizeof(*w));
        w->svc = svc;
        w->periodic =
            cc_periodic_start("telephony worker", tel_cfg.worker_interval_ms, worker_round, w);
        if (!w->periodic) {
                free(w);
                return NULL;
        }
        return w;
}

void tel_worker_free(struct tel_worker *w)
{
        if (!w)
                return;
        cc_periodic_stop(w->periodic);
        free(w);
}

void tel_worker_kick(struct tel *tel)
{
        cc_periodic_kick(tel && tel->worker ? tel->worker->periodic : NULL);
}
