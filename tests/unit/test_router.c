#include <errno.h>
#include <string.h>

#include "cc/router.h"
#include "testlib.h"

static int h_list, h_create, h_get, h_active, h_note, h_root;

static struct cc_router *table(void)
{
        struct cc_router *r = cc_router_new();
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls", &h_list), 0);
        ck_assert_int_eq(cc_router_add(r, "POST", "/api/calls/", &h_create), 0);
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/{id}", &h_get), 0);
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/active", &h_active), 0);
        ck_assert_int_eq(cc_router_add(r, "PUT", "/api/calls/{id}/notes/{note_id}", &h_note), 0);
        ck_assert_int_eq(cc_router_add(r, "GET", "/", &h_root), 0);
        return r;
}

static int match(const struct cc_router *r, const char *method, const char *path,
                 struct cc_route_match *m, char *allow, size_t allow_len)
{
        static char scratch[512];
        return cc_router_match(r, method, path, scratch, sizeof(scratch), m, allow, allow_len);
}

START_TEST(router_matches_literal_and_trailing_slash)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_list);
        ck_assert_str_eq(m.pattern, "/api/calls");
        ck_assert_uint_eq(m.nparams, 0);
        ck_assert_int_eq(match(r, "GET", "/api/calls/", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_list);
        /* Registered with a trailing slash, reached without one. */
        ck_assert_int_eq(match(r, "POST", "/api/calls", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_create);
        ck_assert_int_eq(match(r, "GET", "/", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_root);
        cc_router_free(r);
}
END_TEST

START_TEST(router_extracts_and_decodes_params)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "PUT", "/api/calls/c1/notes/n%2F2%20x", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_note);
        ck_assert_uint_eq(m.nparams, 2);
        ck_assert_str_eq(m.params[0].name, "id");
        ck_assert_str_eq(m.params[0].value, "c1");
        ck_assert_str_eq(m.params[1].name, "note_id");
        ck_assert_str_eq(m.params[1].value, "n/2 x");
        ck_assert_int_eq(match(r, "GET", "/api/calls/abc/", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_get);
        ck_assert_str_eq(m.params[0].value, "abc");
        cc_router_free(r);
}
END_TEST

START_TEST(router_prefers_literal_segment)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls/active", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_active);
        ck_assert_int_eq(match(r, "GET", "/api/calls/activex", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_get);
        cc_router_free(r);
}
END_TEST

START_TEST(router_distinguishes_404_and_405)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        char allow[64];
        ck_assert_int_eq(match(r, "GET", "/api/nope", &m, allow, sizeof(allow)), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "/api/calls/x/notes", &m, allow, sizeof(allow)), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "/api//calls", &m, allow, sizeof(allow)), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "/api/calls//", &m, allow, sizeof(allow)), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "relative", &m, allow, sizeof(allow)), -ENOENT);
        ck_assert_int_eq(match(r, "DELETE", "/api/calls", &m, allow, sizeof(allow)), -EPERM);
        ck_assert_str_eq(allow, "GET, POST");
        ck_assert_int_eq(match(r, "DELETE", "/api/calls/x/notes/y", &m, allow, sizeof(allow)),
                         -EPERM);
        ck_assert_str_eq(allow, "PUT");
        /* "/api/calls/active" matches both the literal and the {id} pattern, each GET only. */
        ck_assert_int_eq(match(r, "POST", "/api/calls/active", &m, allow, sizeof(allow)), -EPERM);
        ck_assert_str_eq(allow, "GET");
        cc_router_free(r);
}
END_TEST

START_TEST(router_rejects_bad_escapes)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        ck_assert_int_eq(match(r, "GET", "/api/calls/a%zz", &m, NULL, 0), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "/api/calls/a%2", &m, NULL, 0), -ENOENT);
        ck_assert_int_eq(match(r, "GET", "/api/calls/a%00b", &m, NULL, 0), -ENOENT);
        /* Literal segments compare decoded. */
        ck_assert_int_eq(match(r, "GET", "/api/%63alls", &m, NULL, 0), 0);
        ck_assert_ptr_eq(m.handler, &h_list);
        cc_router_free(r);
}
END_TEST

START_TEST(router_rejects_malformed_patterns)
{
        struct cc_router *r = cc_router_new();
        static const char *const bad[] = {
            "",          "api/calls",    "/api//calls", "/api/{id", "/api/{}",
            "/api/{1x}", "/a/{id}/{id}", "/a/b{id}",    "/a b",     "/a/%41",
            "/a/{id}x",  "/a?b",         "//",          "/a//",
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                ck_assert_msg(cc_router_add(r, "GET", bad[i], &h_list) == -EINVAL, "accepted %s",
                              bad[i]);
        ck_assert_int_eq(cc_router_add(r, "get", "/a", &h_list), -EINVAL);
        ck_assert_int_eq(cc_router_add(r, "", "/a", &h_list), -EINVAL);
        ck_assert_int_eq(
            cc_router_add(r, "GET", "/a/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}", &h_list), 0);
        ck_assert_int_eq(
            cc_router_add(r, "GET", "/b/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}/{p9}", &h_list),
            -EINVAL);
        cc_router_free(r);
}
END_TEST

START_TEST(router_rejects_duplicates)
{
        struct cc_router *r = table();
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/", &h_list), -EEXIST);
        ck_assert_int_eq(cc_router_add(r, "GET", "/api/calls/{other}", &h_list), -EEXIST);
        ck_assert_int_eq(cc_router_add(r, "DELETE", "/api/calls/{id}", &h_list), 0);
        cc_router_free(r);
}
END_TEST

START_TEST(router_scratch_too_small)
{
        struct cc_router *r = table();
        struct cc_route_match m;
        char scratch[4];
        ck_assert_int_eq(
            cc_router_match(r, "GET", "/api/calls/abcdef", scratch, sizeof(scratch), &m, NULL, 0),
            -ENOBUFS);
        cc_router_free(r);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("router");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, router_matches_literal_and_trailing_slash);
        tcase_add_test(tc, router_extracts_and_decodes_params);
        tcase_add_test(tc, router_prefers_literal_segment);
        tcase_add_test(tc, router_distinguishes_404_and_405);
        tcase_add_test(tc, router_rejects_bad_escapes);
        tcase_add_test(tc, router_rejects_malformed_patterns);
        tcase_add_test(tc, router_rejects_duplicates);
        tcase_add_test(tc, router_scratch_too_small);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
