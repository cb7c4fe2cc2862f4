/* The telephony service's background thread: rings agents for new offers, hangs up legs no
 * longer needed, ends wrap-ups whose time is up, overflows callers who waited too long, routes
 * as a backstop and runs the outbound dialer. It wakes every CC_WORKER_INTERVAL_MS, or at once
 * when a request kicks it (an offer was made, an agent became free). Every round reads what to
 * do from the database, so replicas can run one each and a crash loses nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc/log.h"
#include "telephony.h"

struct tel_worker {
        struct cc_service *svc;
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        bool stop, kicked;
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

static void *worker_main(void *arg)
{
        struct tel_worker *w = arg;
        pthread_mutex_lock(&w->mu);
        while (!w->stop) {
                if (!w->kicked) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        long long ns =
                            ts.tv_nsec + (long long)tel_cfg.worker_interval_ms * 1000000LL;
                        ts.tv_sec += ns / 1000000000LL;
                        ts.tv_nsec = ns % 1000000000LL;
                        pthread_cond_timedwait(&w->cond, &w->mu, &ts);
                }
                if (w->stop)
                        break;
                w->kicked = false;
                pthread_mutex_unlock(&w->mu);
                run_round(w);
                pthread_mutex_lock(&w->mu);
        }
        pthread_mutex_unlock(&w->mu);
        return NULL;
}

struct tel_worker *tel_worker_new(struct cc_service *svc)
{
        struct tel_worker *w = cc_xcalloc(1, sizeof(*w));
        w->svc = svc;
        pthread_mutex_init(&w->mu, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &attr);
        pthread_condattr_destroy(&attr);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                pthread_cond_destroy(&w->cond);
                pthread_mutex_destroy(&w->mu);
                free(w);
                return NULL;
        }
        return w;
}

void tel_worker_free(struct tel_worker *w)
{
        if (!w)
                return;
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        free(w);
}

void tel_worker_kick(struct tel *tel)
{
        struct tel_worker *w = tel ? tel->worker : NULL;
        if (!w)
                return;
        pthread_mutex_lock(&w->mu);
        w->kicked = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->mu);
}
