/* Token buckets in a chained hash table under one mutex: a take is a hash, a short chain walk
 * and a few arithmetic operations, so one lock is not the bottleneck of a login path that runs
 * argon2 right after it. */
#include "cc/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
        struct bucket *next;
        double tokens;
        int64_t updated_us;
        char key[];
};

struct cc_ratelimit {
        pthread_mutex_t lock;
        double burst, per_us;
        size_t max_keys, nkeys, nslots;
        struct bucket **slots;
};

static uint64_t hash_key(const char *s)
{
        /* FNV-1a: keys are short and chosen by callers, but the table never degrades beyond
         * max_keys entries, so a keyed hash would buy little. */
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

struct cc_ratelimit *cc_ratelimit_new(double burst, double per_second, size_t max_keys)
{
        if (!(burst >= 1) || !(per_second > 0) || max_keys == 0)
                return NULL;
        struct cc_ratelimit *rl = cc_xcalloc(1, sizeof(*rl));
        pthread_mutex_init(&rl->lock, NULL);
        rl->burst = burst;
        rl->per_us = per_second / 1e6;
        rl->max_keys = max_keys;
        rl->nslots = 16;
        while (rl->nslots < max_keys && rl->nslots < ((size_t)1 << 24))
                rl->nslots <<= 1;
        rl->slots = cc_xcalloc(rl->nslots, sizeof(*rl->slots));
        return rl;
}

void cc_ratelimit_free(struct cc_ratelimit *rl)
{
        if (!rl)
                return;
        for (size_t i = 0; i < rl->nslots; i++) {
                struct bucket *b = rl->slots[i];
                while (b) {
                        struct bucket *next = b->next;
                        free(b);
                        b = next;
                }
        }
        free(rl->slots);
        pthread_mutex_destroy(&rl->lock);
        free(rl);
}

static void refill(struct cc_ratelimit *rl, struct bucket *b, int64_t now_us)
{
        if (now_us > b->updated_us) {
                b->tokens =
                    fmin(rl->burst, b->tokens + (double)(now_us - b->updated_us) * rl->per_us);
                b->updated_us = now_us;
        }
}

/* Drops every bucket that has refilled completely; returns how many went. */
static size_t sweep(struct cc_ratelimit *rl, int64_t now_us)
{
        size_t dropped = 0;
        for (size_t i = 0; i < rl->nslots; i++) {
                struct bucket **pp = &rl->slots[i];
                while (*pp) {
                        struct bucket *b = *pp;
                        refill(rl, b, now_us);
                        if (b->tokens >= rl->burst) {
                                *pp = b->next;
                                free(b);
                                dropped++;
                        } else {
                                pp = &b->next;
                        }
                }
        }
        rl->nkeys -= dropped;
        return dropped;
}

/* Makes room for one more bucket: full buckets first; when every bucket is still draining, the
 * head of the next non-empty chain goes (an attacker filling the table can then at worst reset
 * some counters, never lock out a key that was not limited). */
static void make_room(struct cc_ratelimit *rl, size_t slot, int64_t now_us)
{
        if (rl->nkeys < rl->max_keys || sweep(rl, now_us) > 0)
                return;
        for (size_t i = 0; i < rl->nslots; i++) {
                size_t s = (slot + 1 + i) & (rl->nslots - 1);
                struct bucket *b = rl->slots[s];
                if (b) {
                        rl->slots[s] = b->next;
                        free(b);
                        rl->nkeys--;
                        return;
                }
        }
}

static bool take_locked(struct cc_ratelimit *rl, const char *key, int64_t now_us, bool consume,
                        int64_t *ret_retry_ms)
{
        size_t slot = (size_t)hash_key(key) & (rl->nslots - 1);
        struct bucket *b = rl->slots[slot];
        while (b && strcmp(b->key, key) != 0)
                b = b->next;
        if (!b) {
                if (!consume)
                        return true;
                make_room(rl, slot, now_us);
                size_t klen = strlen(key);
                b = cc_xmalloc(sizeof(*b) + klen + 1);
                memcpy(b->key, key, klen + 1);
                b->tokens = rl->burst;
                b->updated_us = now_us;
                b->next = rl->slots[slot];
                rl->slots[slot] = b;
                rl->nkeys++;
        }
        refill(rl, b, now_us);
        /* float refill of an exact period can land a hair under one token */
        if (b->tokens >= 1 - 1e-9) {
                if (consume)
                        b->tokens -= 1;
                return true;
        }
        if (ret_retry_ms)
                /* the epsilon keeps float noise from adding a millisecond to exact answers */
                *ret_retry_ms = (int64_t)ceil((1 - b->tokens) / rl->per_us / 1000.0 - 1e-6);
        return false;
}

bool cc_ratelimit_take(struct cc_ratelimit *rl, const char *key, int64_t now_us,
                       int64_t *ret_retry_ms)
{
        pthread_mutex_lock(&rl->lock);
        bool ok = take_locked(rl, key, now_us, true, ret_retry_ms);
        pthread_mutex_unlock(&rl->lock);
        return ok;
}

bool cc_ratelimit_check(struct cc_ratelimit *rl, const char *key, int64_t now_us,
                        int64_t *ret_retry_ms)
{
        pthread_mutex_lock(&rl->lock);
        bool ok = take_locked(rl, key, now_us, false, ret_retry_ms);
        pthread_mutex_unlock(&rl->lock);
        return ok;
}

void cc_ratelimit_reset(struct cc_ratelimit *rl, const char *key)
{
        pthread_mutex_lock(&rl->lock);
        size_t slot = (size_t)hash_key(key) & (rl->nslots - 1);
        for (struct bucket **pp = &rl->slots[slot]; *pp; pp = &(*pp)->next) {
                if (strcmp((*pp)->key, key) == 0) {
                        struct bucket *b = *pp;
                        *pp = b->next;
                        free(b);
                        rl->nkeys--;
                        break;
                }
        }
        pthread_mutex_unlock(&rl->lock);
}

size_t cc_ratelimit_size(struct cc_ratelimit *rl)
{
        pthread_mutex_lock(&rl->lock);
        size_t n = rl->nkeys;
        pthread_mutex_unlock(&rl->lock);
        return n;
}
