/* Token buckets: a burst then refusal with a retry time, refill over time, independent keys,
 * reset, the memory bound, and many threads sharing one limiter. */
#include <pthread.h>

#include "testlib.h"
#include "cc/ratelimit.h"

START_TEST(ratelimit_burst_then_refuses_with_retry_time)
{
        struct cc_ratelimit *rl = cc_ratelimit_new(5, 5.0 / 60, 100);
        int64_t t = 1000000, retry = -1;
        for (int i = 0; i < 5; i++)
                ck_assert(cc_ratelimit_take(rl, "a@x", t, NULL));
        ck_assert(!cc_ratelimit_check(rl, "a@x", t, &retry));
        ck_assert(!cc_ratelimit_take(rl, "a@x", t, &retry));
        ck_assert_int_eq(retry, 12000); /* one token every 12 s */
        /* another key is untouched */
        ck_assert(cc_ratelimit_take(rl, "b@x", t, NULL));
        /* after 12 s one more attempt, not two */
        ck_assert(cc_ratelimit_take(rl, "a@x", t + 12000000, NULL));
        ck_assert(!cc_ratelimit_take(rl, "a@x", t + 12000000, &retry));
        cc_ratelimit_reset(rl, "a@x");
        ck_assert(cc_ratelimit_take(rl, "a@x", t + 12000000, NULL));
        cc_ratelimit_free(rl);
}
END_TEST

START_TEST(ratelimit_check_does_not_consume)
{
        struct cc_ratelimit *rl = cc_ratelimit_new(1, 1, 10);
        for (int i = 0; i < 10; i++)
                ck_assert(cc_ratelimit_check(rl, "k", 0, NULL));
        ck_assert_uint_eq(cc_ratelimit_size(rl), 0);
        ck_assert(cc_ratelimit_take(rl, "k", 0, NULL));
        ck_assert(!cc_ratelimit_check(rl, "k", 0, NULL));
        cc_ratelimit_free(rl);
}
END_TEST

START_TEST(ratelimit_memory_is_bounded)
{
        struct cc_ratelimit *rl = cc_ratelimit_new(2, 1, 64);
        char key[32];
        for (int i = 0; i < 10000; i++) {
                snprintf(key, sizeof(key), "addr-%d", i);
                ck_assert(cc_ratelimit_take(rl, key, 0, NULL));
                ck_assert_uint_le(cc_ratelimit_size(rl), 64);
        }
        /* refilled buckets are dropped first: a limited key survives a sweep of full ones */
        ck_assert(cc_ratelimit_take(rl, "victim", 5000000, NULL));
        ck_assert(cc_ratelimit_take(rl, "victim", 5000000, NULL));
        ck_assert(cc_ratelimit_take(rl, "other", 6000000, NULL));
        ck_assert_uint_le(cc_ratelimit_size(rl), 64);
        cc_ratelimit_free(rl);
}
END_TEST

START_TEST(ratelimit_rejects_bad_arguments)
{
        ck_assert_ptr_null(cc_ratelimit_new(0, 1, 1));
        ck_assert_ptr_null(cc_ratelimit_new(1, 0, 1));
        ck_assert_ptr_null(cc_ratelimit_new(1, 1, 0));
        cc_ratelimit_free(NULL);
}
END_TEST

static struct cc_ratelimit *shared;
static int granted[4];

static void *hammer(void *arg)
{
        int *n = arg;
        for (int i = 0; i < 10000; i++)
                if (cc_ratelimit_take(shared, "same", 0, NULL))
                        (*n)++;
        return NULL;
}

START_TEST(ratelimit_threads_share_one_bucket)
{
        shared = cc_ratelimit_new(100, 0.001, 8);
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
                granted[i] = 0;
                pthread_create(&th[i], NULL, hammer, &granted[i]);
        }
        int total = 0;
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                total += granted[i];
        }
        ck_assert_int_eq(total, 100);
        cc_ratelimit_free(shared);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ratelimit");
        TCase *tc = tcase_create("ratelimit");
        tcase_add_test(tc, ratelimit_burst_then_refuses_with_retry_time);
        tcase_add_test(tc, ratelimit_check_does_not_consume);
        tcase_add_test(tc, ratelimit_memory_is_bounded);
        tcase_add_test(tc, ratelimit_rejects_bad_arguments);
        tcase_add_test(tc, ratelimit_threads_share_one_bucket);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
