#include <errno.h>
#include <string.h>

#include "cc/router.h"
#include "testlib.h"

static int h_any, h_get_one, h_sup, h_catch_all;

static struct cc_router *table(void)
{
        struct cc_router *r = cc_router_new();
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/{*rest}", &h_any), 0);
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/{id}", &h_get_one), 0);
        ck_assert_int_eq(cc_router_add(r, "POST", "/api/calls/{id}/end", &h_sup), 0);
        ck_assert_int_eq(cc_router_add(r, "OPTIONS", "/{*path}", &h_catch_all), 0);
        return r;
}

static int match(const struct cc_router *r, const char *method, const char *path,
                 struct cc_route_match *m)
{
        static char scratch[512];
        return cc_router_match(r, method, path, scratch, sizeof(scratch), m, NULL, 0);
}

START_TEST(router_prefix_matches_any_depth)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls/a/b/c", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_any);
        ck_assert_uint_eq(m.nparams, 1);
        ck_assert_str_eq(m.params[0].name, "rest");
        ck_assert_str_eq(m.params[0].value, "a/b/c");
        /* Zero remaining segments, with and without the slash. */
        ck_assert_int_eq(match(r, "GET", "/api/calls", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_any);
        ck_assert_str_eq(m.params[0].value, "");
        ck_assert_int_eq(match(r, "GET", "/api/calls/", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_any);
        /* Only the OPTIONS catch-all serves these paths. */
        ck_assert_int_eq(match(r, "GET", "/api/callsx/1", &m), -EPERM);
        ck_assert_int_eq(match(r, "GET", "/api", &m), -EPERM);
        cc_router_free(r);
}
END_TEST

START_TEST(router_prefix_keeps_rest_encoded)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls/a%2Fb/c%20d", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_any);
        ck_assert_str_eq(m.params[0].value, "a%2Fb/c%20d");
        cc_router_free(r);
}
END_TEST

START_TEST(router_prefix_loses_to_exact_pattern)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls/42", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_get_one);
        ck_assert_str_eq(m.params[0].value, "42");
        ck_assert_int_eq(match(r, "POST", "/api/calls/42/end", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_sup);
        /* A method only the catch-all root serves. */
        ck_assert_int_eq(match(r, "OPTIONS", "/api/calls/42/end", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_catch_all);
        ck_assert_str_eq(m.params[0].value, "api/calls/42/end");
        ck_assert_int_eq(match(r, "OPTIONS", "/", &m), 0);
        ck_assert_ptr_eq(m.handler, &h_catch_all);
        cc_router_free(r);
}
END_TEST

START_TEST(router_prefix_405_lists_methods)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        char scratch[256], allow[64];
        ck_assert_int_eq(cc_router_match(r, "DELETE", "/api/calls/1/x", scratch, sizeof(scratch),
                                         &m, allow, sizeof(allow)),
                         -EPERM);
        ck_assert_str_eq(allow, "GET, OPTIONS");
        cc_router_free(r);
}
END_TEST

START_TEST(router_prefix_rejects_bad_patterns)
{
        struct cc_router *r = cc_router_new();
        /* Not last, empty name, duplicate shape. */
        ck_assert_int_eq(cc_router_add(r, "GET", "/a/{*rest}/b", &h_any), -EINVAL);
        ck_assert_int_eq(cc_router_add(r, "GET", "/a/{*}", &h_any), -EINVAL);
        ck_assert_int_eq(cc_router_add(r, "GET", "/a/{*rest}", &h_any), 0);
        ck_assert_int_eq(cc_router_add(r, "GET", "/a/{*other}", &h_any), -EEXIST);
        /* A fixed pattern of the same length is a different shape. */
        ck_assert_int_eq(cc_router_add(r, "GET", "/a/{x}", &h_any), 0);
        cc_router_free(r);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("router_prefix");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, router_prefix_matches_any_depth);
        tcase_add_test(tc, router_prefix_keeps_rest_encoded);
        tcase_add_test(tc, router_prefix_loses_to_exact_pattern);
        tcase_add_test(tc, router_prefix_405_lists_methods);
        tcase_add_test(tc, router_prefix_rejects_bad_patterns);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
