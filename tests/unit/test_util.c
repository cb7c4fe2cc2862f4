#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/util.h"
#include "testlib.h"

static bool aligned(const void *p)
{
        return (uintptr_t)p % _Alignof(max_align_t) == 0;
}

START_TEST(util_arena_keeps_every_allocation_intact)
{
        enum { N = 5000 };
        struct cc_arena *arena = cc_arena_new(1024);
        unsigned char *ptrs[N];
        size_t sizes[N];
        for (size_t i = 0; i < N; i++) {
                /* Mostly small, every 97th one far larger than a block. */
                sizes[i] = i % 97 == 0 ? 64 * 1024 + i : 1 + i % 61;
                ptrs[i] = cc_arena_alloc(arena, sizes[i]);
                ck_assert_msg(aligned(ptrs[i]), "allocation %zu of %zu bytes misaligned", i,
                              sizes[i]);
                memset(ptrs[i], (int)(i & 0xff), sizes[i]);
        }
        /* Nothing overlapped: every block still holds its own pattern. */
        for (size_t i = 0; i < N; i++) {
                size_t k = 0;
                while (k < sizes[i] && ptrs[i][k] == (i & 0xff))
                        k++;
                ck_assert_msg(k == sizes[i], "allocation %zu overwritten at byte %zu", i, k);
        }
        cc_arena_free(arena);
}
END_TEST

START_TEST(util_arena_zero_and_odd_sizes_are_aligned)
{
        struct cc_arena *arena = cc_arena_new(0);
        void *a = cc_arena_alloc(arena, 0);
        void *b = cc_arena_alloc(arena, 1);
        void *c = cc_arena_alloc(arena, 3);
        void *d = cc_arena_alloc(arena, 4096);
        void *e = cc_arena_alloc(arena, 5);
        ck_assert(aligned(a) && aligned(b) && aligned(c) && aligned(d) && aligned(e));
        ck_assert_ptr_ne(a, b);
        ck_assert_ptr_ne(b, c);
        cc_arena_free(arena);
        cc_arena_free(NULL);
}
END_TEST

START_TEST(util_arena_strings)
{
        struct cc_arena *arena = cc_arena_new(64);
        char *s = cc_arena_strdup(arena, "hello");
        ck_assert_str_eq(s, "hello");
        ck_assert_str_eq(cc_arena_strndup(arena, "abcdef", 3), "abc");
        ck_assert_str_eq(cc_arena_strndup(arena, "ab", 10), "ab");
        ck_assert_str_eq(cc_arena_printf(arena, "%s-%d-%05.1f", "x", 42, 3.14159), "x-42-003.1");
        /* Longer than the block: the printf result gets a block of its own. */
        char big[300];
        memset(big, 'z', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        char *p = cc_arena_printf(arena, "[%s]", big);
        ck_assert_uint_eq(strlen(p), sizeof(big) + 1);
        ck_assert_int_eq(p[0], '[');
        ck_assert_int_eq(p[sizeof(big)], ']');
        ck_assert_str_eq(s, "hello");
        cc_arena_free(arena);
}
END_TEST

START_TEST(util_x_allocators)
{
        char *s = cc_xstrdup("abc");
        ck_assert_str_eq(s, "abc");
        free(s);
        s = cc_xstrndup("abcdef", 2);
        ck_assert_str_eq(s, "ab");
        free(s);
        s = cc_xasprintf("%d-%s", 7, "x");
        ck_assert_str_eq(s, "7-x");
        free(s);
        int *z = cc_xcalloc(16, sizeof(int));
        for (int i = 0; i < 16; i++)
                ck_assert_int_eq(z[i], 0);
        z = cc_xrealloc(z, 1024 * sizeof(int));
        ck_assert_int_eq(z[15], 0);
        free(z);
        free(cc_xmalloc(0));
}
END_TEST

static void assert_uuid_v4_shape(const char *u)
{
        ck_assert_uint_eq(strlen(u), CC_UUID_LEN);
        for (int i = 0; i < CC_UUID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        ck_assert_msg(u[i] == '-', "%s: no dash at %d", u, i);
                else
                        ck_assert_msg((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'),
                                      "%s: not lower-case hex at %d", u, i);
        }
        ck_assert_msg(u[14] == '4', "%s: version is not 4", u);
        ck_assert_msg(strchr("89ab", u[19]) != NULL, "%s: variant is not RFC 4122", u);
        ck_assert(cc_uuid_valid(u));
}

static int cmp_uuid(const void *a, const void *b)
{
        return memcmp(a, b, CC_UUID_LEN + 1);
}

START_TEST(util_uuid_v4_format_and_uniqueness)
{
        enum { N = 10000 };
        char(*ids)[CC_UUID_LEN + 1] = cc_xmalloc(sizeof(*ids) * N);
        for (int i = 0; i < N; i++) {
                cc_uuid_v4(ids[i]);
                assert_uuid_v4_shape(ids[i]);
        }
        qsort(ids, N, sizeof(*ids), cmp_uuid);
        for (int i = 1; i < N; i++)
                ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate uuid %s", ids[i]);
        free(ids);
}
END_TEST

START_TEST(util_uuid_valid)
{
        const char *good[] = {"3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70",
                              "3F1C9A52-7E4B-4D0A-9C3E-5B2A1F8D6E70",
                              "00000000-0000-0000-0000-000000000000"};
        const char *bad[] = {"",
                             "3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e7",
                             "3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e700",
                             "3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e7g",
                             "3f1c9a527e4b-4d0a-9c3e-5b2a1f8d6e70a",
                             "3f1c9a52-7e4b-4d0a-9c3e_5b2a1f8d6e70",
                             "{3f1c9a52-7e4b-4d0a-9c3e-5b2a1f8d6e70}",
                             "3f1c9a52 7e4b 4d0a 9c3e 5b2a1f8d6e70",
                             NULL};
        for (size_t i = 0; i < CC_ARRAY_SIZE(good); i++)
                ck_assert_msg(cc_uuid_valid(good[i]), "%s rejected", good[i]);
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                ck_assert_msg(!cc_uuid_valid(bad[i]), "%s accepted", bad[i] ? bad[i] : "NULL");
}
END_TEST

START_TEST(util_base64_standard_alphabet_and_padding)
{
        /* Bytes that map to '+' and '/' in the standard alphabet ('-' and '_' in base64url). */
        const unsigned char raw[] = {0xfb, 0xff, 0xbf};
        char out[16];
        ck_assert_uint_eq(cc_base64_encode(raw, 3, out), 4);
        ck_assert_str_eq(out, "+/+/");
        ck_assert_uint_eq(cc_base64_encode("f", 1, out), 4);
        ck_assert_str_eq(out, "Zg==");
        ck_assert_uint_eq(cc_base64_encode("fo", 2, out), 4);
        ck_assert_str_eq(out, "Zm8=");
        unsigned char dec[8];
        ck_assert_int_eq(cc_base64_decode("+/+/", 4, dec, sizeof(dec)), 3);
        ck_assert_mem_eq(dec, raw, 3);
        ck_assert_int_eq(cc_base64_decode("Zm8=", 4, dec, sizeof(dec)), 2);
        /* The url-safe characters are not part of the standard alphabet. */
        ck_assert_int_eq(cc_base64_decode("-_-_", 4, dec, sizeof(dec)), -EINVAL);
        ck_assert_int_eq(cc_base64url_decode("+/+/", 4, dec, sizeof(dec)), -EINVAL);
}
END_TEST

START_TEST(util_strbuf_grows_and_hands_over)
{
        struct cc_strbuf b = {0};
        char *empty = cc_strbuf_take(&b);
        ck_assert_str_eq(empty, "");
        free(empty);
        for (int i = 0; i < 1000; i++)
                cc_strbuf_printf(&b, "%d,", i);
        cc_strbuf_puts(&b, "end");
        ck_assert_uint_eq(b.len, strlen(b.data));
        ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
        ck_assert_str_eq(b.data + b.len - 7, "999,end");
        char *s = cc_strbuf_take(&b);
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.len, 0);
        free(s);
        cc_strbuf_append(&b, "ab", 2);
        ck_assert_str_eq(b.data, "ab");
        cc_strbuf_fini(&b);
        ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(util_base64url_rfc4648_vectors)
{
        /* RFC 4648 section 10, without padding, plus inputs that use the two characters the
         * URL alphabet replaces ('+' -> '-', '/' -> '_'). */
        static const struct {
                const char *plain;
                size_t len;
                const char *encoded;
        } v[] = {
            {"", 0, ""},
            {"f", 1, "Zg"},
            {"fo", 2, "Zm8"},
            {"foo", 3, "Zm9v"},
            {"foob", 4, "Zm9vYg"},
            {"fooba", 5, "Zm9vYmE"},
            {"foobar", 6, "Zm9vYmFy"},
            {"\xfb\xff", 2, "-_8"},
            {"\xfb\xef\xbe", 3, "----"},
            {"\xff\xff\xff", 3, "____"},
            {"\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(v); i++) {
                char out[32];
                size_t n = cc_base64url_encode(v[i].plain, v[i].len, out);
                ck_assert_str_eq(out, v[i].encoded);
                ck_assert_uint_eq(n, strlen(v[i].encoded));
                unsigned char dec[32];
                int r = cc_base64url_decode(v[i].encoded, strlen(v[i].encoded), dec, sizeof(dec));
                ck_assert_int_eq(r, (int)v[i].len);
                ck_assert_mem_eq(dec, v[i].plain, v[i].len);
        }
        /* Padding is optional on input. */
        unsigned char dec[8];
        ck_assert_int_eq(cc_base64url_decode("Zm8=", 4, dec, sizeof(dec)), 2);
        ck_assert_mem_eq(dec, "fo", 2);
        ck_assert_int_eq(cc_base64url_decode("Zg==", 4, dec, sizeof(dec)), 1);
        ck_assert_int_eq(dec[0], 'f');
}
END_TEST

START_TEST(util_base64url_roundtrip)
{
        for (size_t len = 0; len <= 64; len++) {
                unsigned char in[64], back[64];
                char enc[4 * 22 + 1];
                cc_random_bytes(in, len);
                size_t n = cc_base64url_encode(in, len, enc);
                ck_assert_uint_eq(n, (len * 4 + 2) / 3);
                ck_assert_uint_eq(strlen(enc), n);
                ck_assert_msg(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789-_") == n,
                              "%s has characters outside the URL alphabet", enc);
                int r = cc_base64url_decode(enc, n, back, sizeof(back));
                ck_assert_int_eq(r, (int)len);
                ck_assert_mem_eq(back, in, len);
        }
}
END_TEST

START_TEST(util_base64url_decode_rejects)
{
        unsigned char out[16];
        const char *bad[] = {"Zm9v+", "Zm9/", "Zm 9", "Z", "Zm9vY", "Zm=v", "Zm9v\n", "Zm\x80v"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++)
                ck_assert_msg(cc_base64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)) ==
                                  -EINVAL,
                              "\"%s\" decoded", bad[i]);
        /* "foobar" needs 6 bytes. */
        ck_assert_int_eq(cc_base64url_decode("Zm9vYmFy", 8, out, 5), -EINVAL);
        ck_assert_int_eq(cc_base64url_decode("Zm9vYmFy", 8, out, 6), 6);
        ck_assert_int_eq(cc_base64url_decode("", 0, out, 0), 0);
}
END_TEST

START_TEST(util_format_time_ms)
{
        static const struct {
                int64_t ms;
                const char *text;
        } v[] = {
            {0, "1970-01-01T00:00:00.000Z"},
            {1, "1970-01-01T00:00:00.001Z"},
            {1759673002123, "2025-10-05T14:03:22.123Z"},
            {1759673002000, "2025-10-05T14:03:22.000Z"},
            {951782400000, "2000-02-29T00:00:00.000Z"},
            {253402300799999, "9999-12-31T23:59:59.999Z"},
            {-1, "1969-12-31T23:59:59.999Z"},
            {-1000, "1969-12-31T23:59:59.000Z"},
            {-1001, "1969-12-31T23:59:58.999Z"},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(v); i++) {
                char out[25];
                memset(out, 'x', sizeof(out));
                cc_format_time_ms(v[i].ms, out);
                ck_assert_str_eq(out, v[i].text);
        }
}
END_TEST

START_TEST(util_clocks)
{
        int64_t now = cc_now_ms();
        ck_assert_int_gt(now, 1704067200000); /* after 2024-01-01 */
        int64_t a = cc_monotonic_us();
        int64_t b = cc_monotonic_us();
        ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(util_consttime_eq)
{
        unsigned char a[32], b[32];
        cc_random_bytes(a, sizeof(a));
        memcpy(b, a, sizeof(a));
        ck_assert(cc_consttime_eq(a, b, sizeof(a)));
        ck_assert(cc_consttime_eq(a, b, 0));
        b[0] ^= 1;
        ck_assert(!cc_consttime_eq(a, b, sizeof(a)));
        b[0] ^= 1;
        b[31] ^= 0x80;
        ck_assert(!cc_consttime_eq(a, b, sizeof(a)));
        ck_assert(cc_consttime_eq(a, b, 31));
}
END_TEST

START_TEST(util_random_bytes_fill)
{
        unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};
        cc_random_bytes(a, sizeof(a));
        cc_random_bytes(b, sizeof(b));
        ck_assert(memcmp(a, zero, sizeof(a)) != 0);
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(util_text_valid_single_and_multiline)
{
        static const struct {
                const char *s;
                bool single, multi;
        } cases[] = {
            {"plain text", true, true},
            {"caf\xc3\xa9 \xe2\x82\xac", true, true}, /* UTF-8 */
            {"line one\nline two", false, true},      /* line breaks: notes only */
            {"tab\there\r\n", false, true},
            {"bell\x07", false, false}, /* other controls: never */
            {"esc\x1b[31m", false, false},
            {"del\x7f", false, false},
            {"bad \xc3", false, false},         /* truncated sequence */
            {"\n\xc3\xa9\n", false, true},      /* breaks around a sequence */
            {"over\xc0\xaflong", false, false}, /* overlong encoding */
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(cases); i++) {
                size_t n = strlen(cases[i].s);
                ck_assert_msg(cc_text_valid(cases[i].s, n) == cases[i].single, "single %zu", i);
                ck_assert_msg(cc_text_valid_multiline(cases[i].s, n) == cases[i].multi,
                              "multiline %zu", i);
        }
        ck_assert(!cc_text_valid_multiline("a\0b", 3)); /* NUL is never text */
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("util");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, util_arena_keeps_every_allocation_intact);
        tcase_add_test(tc, util_arena_zero_and_odd_sizes_are_aligned);
        tcase_add_test(tc, util_arena_strings);
        tcase_add_test(tc, util_x_allocators);
        tcase_add_test(tc, util_uuid_v4_format_and_uniqueness);
        tcase_add_test(tc, util_uuid_valid);
        tcase_add_test(tc, util_base64url_rfc4648_vectors);
        tcase_add_test(tc, util_base64url_roundtrip);
        tcase_add_test(tc, util_base64url_decode_rejects);
        tcase_add_test(tc, util_format_time_ms);
        tcase_add_test(tc, util_clocks);
        tcase_add_test(tc, util_consttime_eq);
        tcase_add_test(tc, util_base64_standard_alphabet_and_padding);
        tcase_add_test(tc, util_strbuf_grows_and_hands_over);
        tcase_add_test(tc, util_random_bytes_fill);
        tcase_add_test(tc, util_text_valid_single_and_multiline);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
