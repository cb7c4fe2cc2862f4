#include "cc/periodic.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cc/log.h"

struct cc_periodic {
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        long long interval_ms;
        void (*fn)(void *);
        void *userdata;
        bool stop, kicked;
};

static void *periodic_main(void *arg)
{
        struct cc_periodic *p = arg;
        pthread_mutex_lock(&p->mu);
        while (!p->stop) {
                if (!p->kicked) {
                        /* CLOCK_MONOTONIC: a wall-clock jump must not stall or rush rounds */
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        long long ns = ts.tv_nsec + p->interval_ms * 1000000LL;
                        ts.tv_sec += ns / 1000000000LL;
                        ts.tv_nsec = ns % 1000000000LL;
                        pthread_cond_timedwait(&p->cond, &p->mu, &ts);
                }
                if (p->stop)
                        break;
                p->kicked = false;
                pthread_mutex_unlock(&p->mu);
                p->fn(p->userdata);
                pthread_mutex_lock(&p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        return NULL;
}

struct cc_periodic *cc_periodic_start(const char *name, long long interval_ms,
                                      void (*fn)(void *userdata), void *userdata)
{
        struct cc_periodic *p = cc_xcalloc(1, sizeof(*p));
        p->interval_ms = interval_ms > 0 ? interval_ms : 1;
        p->fn = fn;
        p->userdata = userdata;
        pthread_mutex_init(&p->mu, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cond, &attr);
        pthread_condattr_destroy(&attr);
        if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
                cc_log_error(NULL, "%s: cannot start its thread", name ? name : "periodic");
                pthread_cond_destroy(&p->cond);
                pthread_mutex_destroy(&p->mu);
                free(p);
                return NULL;
        }
        return p;
}

void cc_periodic_kick(struct cc_periodic *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->mu);
        p->kicked = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->mu);
}

void cc_periodic_stop(struct cc_periodic *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->mu);
        free(p);
}
