#include "cc/multipart.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define CT "multipart/form-data; boundary=XyZ"

static void assert_range(const char *p, size_t n, const char *want)
{
        ck_assert_msg(p != NULL, "missing, want \"%s\"", want);
        ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0, "got \"%.*s\", want \"%s\"",
                      (int)n, p, want);
}

START_TEST(multipart_boundary_from_content_type)
{
        char b[CC_MULTIPART_BOUNDARY_MAX + 1];
        ck_assert_int_eq(cc_multipart_boundary(CT, b), 0);
        ck_assert_str_eq(b, "XyZ");
        /* What browsers send, any case, quoted, with other parameters around it. */
        ck_assert_int_eq(cc_multipart_boundary("Multipart/Form-Data ; charset=utf-8; "
                                               "BOUNDARY=\"----WebKitFormBoundary7MA4YWxk\"",
                                               b),
                         0);
        ck_assert_str_eq(b, "----WebKitFormBoundary7MA4YWxk");
        ck_assert_int_eq(cc_multipart_boundary("multipart/form-data;boundary=\"a b\\\"c\"", b), 0);
        ck_assert_str_eq(b, "a b\"c");
}
END_TEST

START_TEST(multipart_boundary_refused)
{
        char b[CC_MULTIPART_BOUNDARY_MAX + 1];
        char longer[200];
        snprintf(longer, sizeof(longer), "multipart/form-data; boundary=%071d", 7);
        const char *bad[] = {NULL,
                             "",
                             "application/json",
                             "text/csv; boundary=x",
                             "multipart/mixed; boundary=x",
                             "multipart/form-data",
                             "multipart/form-data; boundary=",
                             "multipart/form-data; boundary=\"\"",
                             "multipart/form-data; boundary=\"unterminated",
                             longer};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                ck_assert_msg(cc_multipart_boundary(bad[i], b) == -EINVAL, "accepted %s",
                              bad[i] ? bad[i] : "NULL");
}
END_TEST

START_TEST(multipart_parts_in_order)
{
        static const char body[] =
            "preamble to ignore\r\n"
            "--XyZ\r\n"
            "Content-Disposition: form-data; name=\"campaign\"\r\n"
            "\r\n"
            "42\r\n"
            "--XyZ\r\n"
            "content-disposition: form-data; name=file; filename=\"contacts list.csv\"\r\n"
            "Content-Type: text/csv\r\n"
            "\r\n"
            "phone_number,name\r\n+15550001,\"Ann\"\r\n"
            "--XyZ  \r\n"
            "Content-Disposition: form-data; name=\"empty\"\r\n"
            "\r\n"
            "\r\n"
            "--XyZ--\r\n"
            "epilogue";
        struct cc_multipart mp;
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_init(&mp, CT, body, sizeof(body) - 1), 0);

        ck_assert_int_eq(cc_multipart_next(&mp, &p), 0);
        assert_range(p.name, p.name_len, "campaign");
        ck_assert_ptr_null(p.filename);
        ck_assert_ptr_null(p.content_type);
        assert_range(p.data, p.len, "42");

        ck_assert_int_eq(cc_multipart_next(&mp, &p), 0);
        assert_range(p.name, p.name_len, "file");
        assert_range(p.filename, p.filename_len, "contacts list.csv");
        assert_range(p.content_type, p.content_type_len, "text/csv");
        assert_range(p.data, p.len, "phone_number,name\r\n+15550001,\"Ann\"");
        /* In place: the part points into the body. */
        ck_assert(p.data > body && p.data < body + sizeof(body));

        ck_assert_int_eq(cc_multipart_next(&mp, &p), 0);
        assert_range(p.name, p.name_len, "empty");
        ck_assert_uint_eq(p.len, 0);

        ck_assert_int_eq(cc_multipart_next(&mp, &p), -ENOENT);
        ck_assert_int_eq(cc_multipart_next(&mp, &p), -ENOENT);
}
END_TEST

START_TEST(multipart_content_that_looks_like_a_boundary)
{
        /* Boundary text not followed by CRLF or "--" is content, as is a line break alone. */
        static const char body[] = "--XyZ\r\n"
                                   "Content-Disposition: form-data; name=\"file\"\r\n"
                                   "\r\n"
                                   "a\r\n--XyZabc\r\nb\r\n\r\n"
                                   "--XyZ--";
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_find(CT, body, sizeof(body) - 1, "file", &p), 0);
        assert_range(p.data, p.len, "a\r\n--XyZabc\r\nb\r\n");
}
END_TEST

START_TEST(multipart_find_by_name)
{
        static const char body[] = "--XyZ\r\n"
                                   "Content-Disposition: form-data; name=\"filex\"\r\n\r\n"
                                   "no\r\n"
                                   "--XyZ\r\n"
                                   "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
                                   "yes\r\n"
                                   "--XyZ--\r\n";
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_find(CT, body, sizeof(body) - 1, "file", &p), 0);
        assert_range(p.data, p.len, "yes");
        ck_assert(cc_multipart_name_is(&p, "file"));
        ck_assert(!cc_multipart_name_is(&p, "fil"));
        ck_assert_int_eq(cc_multipart_find(CT, body, sizeof(body) - 1, "other", &p), -ENOENT);
}
END_TEST

START_TEST(multipart_binary_content)
{
        char body[256];
        size_t n = 0;
        const char head[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n";
        memcpy(body, head, sizeof(head) - 1);
        n += sizeof(head) - 1;
        const char data[] = {'a', '\0', '\r', 'b', '\n', '\xff', '-', '-'};
        memcpy(body + n, data, sizeof(data));
        n += sizeof(data);
        memcpy(body + n, "\r\n--XyZ--", 9);
        n += 9;
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_find(CT, body, n, "file", &p), 0);
        ck_assert_uint_eq(p.len, sizeof(data));
        ck_assert(memcmp(p.data, data, sizeof(data)) == 0);
}
END_TEST

START_TEST(multipart_malformed)
{
        struct {
                const char *what, *body;
                int init, next;
        } cases[] = {
            {"no delimiter", "just text", -EINVAL, 0},
            {"empty body", "", -EINVAL, 0},
            {"other boundary", "--Other\r\n\r\nx\r\n--Other--", -EINVAL, 0},
            {"unterminated part", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx", 0,
             -EINVAL},
            {"headers never end", "--XyZ\r\nContent-Disposition: form-data; name=a", 0, -EINVAL},
            {"header without colon", "--XyZ\r\nnot a header\r\n\r\nx\r\n--XyZ--", 0, -EINVAL},
            {"bare LF lines", "--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--",
             -EINVAL, 0},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(cases); i++) {
                struct cc_multipart mp;
                struct cc_multipart_part p;
                int r = cc_multipart_init(&mp, CT, cases[i].body, strlen(cases[i].body));
                ck_assert_msg(r == cases[i].init, "%s: init %d", cases[i].what, r);
                if (r == 0) {
                        r = cc_multipart_next(&mp, &p);
                        ck_assert_msg(r == cases[i].next, "%s: next %d", cases[i].what, r);
                }
        }
        /* Only a closing delimiter: a form with no fields. */
        struct cc_multipart mp;
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_init(&mp, CT, "--XyZ--\r\n", 9), 0);
        ck_assert_int_eq(cc_multipart_next(&mp, &p), -ENOENT);
        ck_assert_int_eq(cc_multipart_find("application/json", "{}", 2, "file", &p), -EINVAL);
}
END_TEST

START_TEST(multipart_large_body_in_place)
{
        /* A large upload is walked without copies: the part is the body's own bytes. */
        size_t data_len = 8u << 20;
        const char head[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                            "filename=\"big.csv\"\r\n\r\n";
        const char tail[] = "\r\n--XyZ--\r\n";
        size_t n = sizeof(head) - 1 + data_len + sizeof(tail) - 1;
        char *body = malloc(n);
        memcpy(body, head, sizeof(head) - 1);
        memset(body + sizeof(head) - 1, 'x', data_len);
        memcpy(body + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
        struct cc_multipart_part p;
        ck_assert_int_eq(cc_multipart_find(CT, body, n, "file", &p), 0);
        ck_assert_ptr_eq(p.data, body + sizeof(head) - 1);
        ck_assert_uint_eq(p.len, data_len);
        free(body);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("multipart");
        TCase *tc = tcase_create("multipart");
        tcase_add_test(tc, multipart_boundary_from_content_type);
        tcase_add_test(tc, multipart_boundary_refused);
        tcase_add_test(tc, multipart_parts_in_order);
        tcase_add_test(tc, multipart_content_that_looks_like_a_boundary);
        tcase_add_test(tc, multipart_find_by_name);
        tcase_add_test(tc, multipart_binary_content);
        tcase_add_test(tc, multipart_malformed);
        tcase_add_test(tc, multipart_large_body_in_place);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
