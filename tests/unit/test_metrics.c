#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cc/metrics.h"
#include "testlib.h"

static char *rendered;

static void setup(void)
{
        cc_metrics_reset();
}

static void teardown(void)
{
        free(rendered);
        rendered = NULL;
}

static const char *render(void)
{
        free(rendered);
        rendered = cc_metrics_render();
        return rendered;
}

START_TEST(metrics_counter_format)
{
        const char *l1[][2] = {{"route", "/api/calls"}, {"status", "200"}};
        const char *l2[][2] = {{"route", "/api/calls"}, {"status", "404"}};
        struct cc_metric_counter *a = cc_metrics_counter("req_total", "Requests.", l1, 2);
        struct cc_metric_counter *b = cc_metrics_counter("req_total", "Requests.", l2, 2);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_ne(a, b);
        ck_assert_ptr_eq(cc_metrics_counter("req_total", "Requests.", l1, 2), a);
        cc_metric_counter_add(a, 3);
        cc_metric_counter_add(a, 1);
        cc_metric_counter_add(b, 1);
        struct cc_metric_counter *plain = cc_metrics_counter("events_total", "Events.", NULL, 0);
        cc_metric_counter_add(plain, 7);
        ck_assert_str_eq(render(), "# HELP req_total Requests.\n"
                                   "# TYPE req_total counter\n"
                                   "req_total{route=\"/api/calls\",status=\"200\"} 4\n"
                                   "req_total{route=\"/api/calls\",status=\"404\"} 1\n"
                                   "# HELP events_total Events.\n"
                                   "# TYPE events_total counter\n"
                                   "events_total 7\n");
}
END_TEST

START_TEST(metrics_gauge_format)
{
        struct cc_metric_gauge *g = cc_metrics_gauge("temp", "Temperature.", NULL, 0);
        cc_metric_gauge_set(g, 1.5);
        cc_metric_gauge_add(g, -0.25);
        const char *l[][2] = {{"pool", "main"}};
        struct cc_metric_gauge *h = cc_metrics_gauge("temp", "Temperature.", l, 1);
        cc_metric_gauge_set(h, 0.1);
        ck_assert_str_eq(render(), "# HELP temp Temperature.\n"
                                   "# TYPE temp gauge\n"
                                   "temp 1.25\n"
                                   "temp{pool=\"main\"} 0.1\n");
        cc_metric_gauge_set(g, INFINITY);
        cc_metric_gauge_set(h, NAN);
        ck_assert_str_eq(render(), "# HELP temp Temperature.\n"
                                   "# TYPE temp gauge\n"
                                   "temp +Inf\n"
                                   "temp{pool=\"main\"} NaN\n");
}
END_TEST

START_TEST(metrics_histogram_format)
{
        static const double buckets[] = {0.25, 0.5, 1};
        const char *l[][2] = {{"route", "/x"}};
        struct cc_metric_histogram *h =
            cc_metrics_histogram("lat_seconds", "Latency.", l, 1, buckets, 3);
        ck_assert_ptr_nonnull(h);
        cc_metric_histogram_observe(h, 0.125);
        cc_metric_histogram_observe(h, 0.25); /* le is inclusive */
        cc_metric_histogram_observe(h, 0.75);
        cc_metric_histogram_observe(h, 3);
        ck_assert_str_eq(render(), "# HELP lat_seconds Latency.\n"
                                   "# TYPE lat_seconds histogram\n"
                                   "lat_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"
                                   "lat_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"
                                   "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
                                   "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                                   "lat_seconds_sum{route=\"/x\"} 4.125\n"
                                   "lat_seconds_count{route=\"/x\"} 4\n");
}
END_TEST

START_TEST(metrics_histogram_default_buckets)
{
        struct cc_metric_histogram *h = cc_metrics_histogram("d_seconds", "D.", NULL, 0, NULL, 0);
        cc_metric_histogram_observe(h, 0.002);
        const char *t = render();
        ck_assert_ptr_nonnull(strstr(t, "d_seconds_bucket{le=\"0.001\"} 0\n"
                                        "d_seconds_bucket{le=\"0.0025\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(t, "d_seconds_bucket{le=\"10\"} 1\n"
                                        "d_seconds_bucket{le=\"+Inf\"} 1\n"
                                        "d_seconds_sum 0.002\n"
                                        "d_seconds_count 1\n"));
}
END_TEST

START_TEST(metrics_escapes_label_values_and_help)
{
        const char *l[][2] = {{"path", "a\"b\\c\nd"}};
        struct cc_metric_counter *c =
            cc_metrics_counter("esc_total", "Line one\nback\\slash", l, 1);
        cc_metric_counter_add(c, 1);
        ck_assert_str_eq(render(), "# HELP esc_total Line one\\nback\\\\slash\n"
                                   "# TYPE esc_total counter\n"
                                   "esc_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

static double answer(void *userdata)
{
        return *(double *)userdata;
}

START_TEST(metrics_gauge_fn_evaluated_at_render)
{
        double v = 3;
        const char *l[][2] = {{"topic", "cc.calls.v1"}};
        cc_metrics_gauge_fn("backlog", "Outbox rows waiting.", l, 1, answer, &v);
        ck_assert_str_eq(render(), "# HELP backlog Outbox rows waiting.\n"
                                   "# TYPE backlog gauge\n"
                                   "backlog{topic=\"cc.calls.v1\"} 3\n");
        v = 42;
        ck_assert_ptr_nonnull(strstr(render(), "backlog{topic=\"cc.calls.v1\"} 42\n"));
        /* A NULL callback removes the gauge (its owner is going away). */
        cc_metrics_gauge_fn("backlog", "Outbox rows waiting.", l, 1, NULL, NULL);
        ck_assert_str_eq(render(), "");
}
END_TEST

START_TEST(metrics_rejects_bad_names_and_type_clash)
{
        ck_assert_ptr_null(cc_metrics_counter("1bad", "x", NULL, 0));
        ck_assert_ptr_null(cc_metrics_counter("bad-name", "x", NULL, 0));
        const char *bad_label[][2] = {{"le", "1"}};
        ck_assert_ptr_null(cc_metrics_counter("ok_total", "x", bad_label, 1));
        const char *dup[][2] = {{"a", "1"}, {"a", "2"}};
        ck_assert_ptr_null(cc_metrics_counter("ok_total", "x", dup, 2));
        ck_assert_ptr_nonnull(cc_metrics_counter("clash", "x", NULL, 0));
        ck_assert_ptr_null(cc_metrics_gauge("clash", "x", NULL, 0));
        static const double unsorted[] = {1, 0.5};
        ck_assert_ptr_null(cc_metrics_histogram("h_seconds", "x", NULL, 0, unsorted, 2));
        /* Updates on a NULL series are harmless. */
        cc_metric_counter_add(NULL, 1);
        cc_metric_gauge_set(NULL, 1);
        cc_metric_histogram_observe(NULL, 1);
}
END_TEST

START_TEST(metrics_reset_hides_and_revives)
{
        struct cc_metric_counter *c = cc_metrics_counter("r_total", "R.", NULL, 0);
        cc_metric_counter_add(c, 5);
        cc_metrics_reset();
        ck_assert_str_eq(render(), "");
        /* A cached pointer stays valid and the same series comes back, from zero. */
        ck_assert_ptr_eq(cc_metrics_counter("r_total", "R.", NULL, 0), c);
        cc_metric_counter_add(c, 1);
        ck_assert_str_eq(render(), "# HELP r_total R.\n# TYPE r_total counter\nr_total 1\n");
}
END_TEST

struct hammer {
        struct cc_metric_counter *c;
        struct cc_metric_histogram *h;
};

static void *hammer_thread(void *arg)
{
        struct hammer *hm = arg;
        for (int i = 0; i < 100000; i++) {
                cc_metric_counter_add(hm->c, 1);
                cc_metric_histogram_observe(hm->h, 0.5);
        }
        return NULL;
}

START_TEST(metrics_concurrent_updates_are_not_lost)
{
        struct hammer hm = {cc_metrics_counter("par_total", "P.", NULL, 0),
                            cc_metrics_histogram("par_seconds", "P.", NULL, 0, NULL, 0)};
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_thread, &hm), 0);
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        const char *text = render();
        ck_assert_ptr_nonnull(strstr(text, "\npar_total 400000\n"));
        ck_assert_ptr_nonnull(strstr(text, "\npar_seconds_count 400000\n"));
        ck_assert_ptr_nonnull(strstr(text, "\npar_seconds_sum 200000\n"));
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, metrics_counter_format);
        tcase_add_test(tc, metrics_gauge_format);
        tcase_add_test(tc, metrics_histogram_format);
        tcase_add_test(tc, metrics_histogram_default_buckets);
        tcase_add_test(tc, metrics_escapes_label_values_and_help);
        tcase_add_test(tc, metrics_gauge_fn_evaluated_at_render);
        tcase_add_test(tc, metrics_rejects_bad_names_and_type_clash);
        tcase_add_test(tc, metrics_reset_hides_and_revives);
        tcase_add_test(tc, metrics_concurrent_updates_are_not_lost);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
