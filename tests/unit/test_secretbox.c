#include "cc/secretbox.h"

#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* 32 bytes 0x00..0x1f and 32 bytes 0x20..0x3f, base64. */
#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static struct cc_secretbox *box(const char *key)
{
        char err[128] = "";
        struct cc_secretbox *sb = cc_secretbox_new(key, err, sizeof(err));
        ck_assert_msg(sb != NULL, "cc_secretbox_new: %s", err);
        return sb;
}

START_TEST(secretbox_seal_open_roundtrip)
{
        struct cc_secretbox *sb = box(KEY_A);
        const char *texts[] = {"", "x", "0123456789abcdef0123456789abcdef", "caf\xc3\xa9 token"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(texts); i++) {
                char *sealed = cc_secretbox_seal(sb, texts[i], "org-1");
                ck_assert_ptr_nonnull(sealed);
                ck_assert_int_eq(strncmp(sealed, "v1:", 3), 0);
                /* Nothing of the secret shows through. */
                if (strlen(texts[i]) > 3)
                        ck_assert_ptr_null(strstr(sealed, texts[i]));
                /* nonce (12) + text + tag (16), base64 with padding. */
                size_t raw = 12 + strlen(texts[i]) + 16;
                ck_assert_uint_eq(strlen(sealed), 3 + 4 * ((raw + 2) / 3));
                char *opened = cc_secretbox_open(sb, sealed, "org-1");
                ck_assert_ptr_nonnull(opened);
                ck_assert_str_eq(opened, texts[i]);
                free(opened);
                free(sealed);
        }
        cc_secretbox_free(sb);
}
END_TEST

START_TEST(secretbox_opens_with_a_new_box_of_the_same_key)
{
        /* What a restart does: the stored value still opens. */
        struct cc_secretbox *a = box(KEY_A);
        char *sealed = cc_secretbox_seal(a, "auth-token-1", "org-1");
        cc_secretbox_free(a);
        struct cc_secretbox *b = box(KEY_A);
        char *opened = cc_secretbox_open(b, sealed, "org-1");
        ck_assert_ptr_nonnull(opened);
        ck_assert_str_eq(opened, "auth-token-1");
        free(opened);
        free(sealed);
        cc_secretbox_free(b);
}
END_TEST

START_TEST(secretbox_other_aad_fails)
{
        struct cc_secretbox *sb = box(KEY_A);
        char *sealed = cc_secretbox_seal(sb, "auth-token-1", "org-1");
        ck_assert_ptr_null(cc_secretbox_open(sb, sealed, "org-2"));
        ck_assert_ptr_null(cc_secretbox_open(sb, sealed, ""));
        ck_assert_ptr_null(cc_secretbox_open(sb, sealed, NULL));
        ck_assert_ptr_null(cc_secretbox_open(sb, sealed, "org-1 "));
        free(sealed);
        cc_secretbox_free(sb);
}
END_TEST

START_TEST(secretbox_tampered_fails)
{
        struct cc_secretbox *sb = box(KEY_A);
        char *sealed = cc_secretbox_seal(sb, "auth-token-1", "org-1");
        size_t n = strlen(sealed);
        /* Flip every base64 character in turn (nonce, ciphertext and tag alike); padding and the
         * last character's unused bits aside, each must make opening fail. */
        int refused = 0, tried = 0;
        for (size_t i = 3; i < n && sealed[i] != '='; i++) {
                char *copy = cc_xstrdup(sealed);
                copy[i] = copy[i] == 'A' ? 'B' : 'A';
                char *opened = cc_secretbox_open(sb, copy, "org-1");
                tried++;
                if (!opened)
                        refused++;
                else
                        ck_assert_msg(i >= n - 3, "changed byte at %zu still opened", i);
                free(opened);
                free(copy);
        }
        ck_assert_int_ge(refused, tried - 1);

        char *cut = cc_xstrndup(sealed, n - 4);
        ck_assert_ptr_null(cc_secretbox_open(sb, cut, "org-1"));
        free(cut);
        ck_assert_ptr_null(cc_secretbox_open(sb, sealed + 3, "org-1")); /* no "v1:" */
        char *v2 = cc_xstrdup(sealed);
        v2[1] = '2';
        ck_assert_ptr_null(cc_secretbox_open(sb, v2, "org-1"));
        free(v2);
        ck_assert_ptr_null(cc_secretbox_open(sb, "v1:", "org-1"));
        ck_assert_ptr_null(cc_secretbox_open(sb, "v1:AAAA", "org-1"));
        ck_assert_ptr_null(cc_secretbox_open(sb, "v1:not base64!!", "org-1"));
        ck_assert_ptr_null(cc_secretbox_open(sb, NULL, "org-1"));
        free(sealed);
        cc_secretbox_free(sb);
}
END_TEST

START_TEST(secretbox_other_key_fails)
{
        struct cc_secretbox *a = box(KEY_A), *b = box(KEY_B);
        char *sealed = cc_secretbox_seal(a, "auth-token-1", "org-1");
        ck_assert_ptr_null(cc_secretbox_open(b, sealed, "org-1"));
        free(sealed);
        cc_secretbox_free(a);
        cc_secretbox_free(b);
}
END_TEST

START_TEST(secretbox_bad_keys_refused)
{
        const char *bad[] = {
            NULL,
            "",
            "not base64 at all!",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",         /* 30 bytes */
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", /* 34 bytes */
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",   /* trailing newline */
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8-",     /* base64url alphabet */
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                char err[128] = "";
                struct cc_secretbox *sb = cc_secretbox_new(bad[i], err, sizeof(err));
                ck_assert_msg(sb == NULL, "key %zu accepted", i);
                ck_assert_msg(err[0] != '\0', "key %zu refused without a message", i);
        }
        /* Padding is optional: the same 32 bytes without '=' are the same key. */
        struct cc_secretbox *a = box(KEY_A);
        struct cc_secretbox *b = box("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
        char *sealed = cc_secretbox_seal(a, "t", "o");
        char *opened = cc_secretbox_open(b, sealed, "o");
        ck_assert_ptr_nonnull(opened);
        ck_assert_str_eq(opened, "t");
        free(opened);
        free(sealed);
        cc_secretbox_free(a);
        cc_secretbox_free(b);
        /* err is optional. */
        ck_assert_ptr_null(cc_secretbox_new("short", NULL, 0));
        cc_secretbox_free(NULL);
}
END_TEST

START_TEST(secretbox_seals_differ)
{
        struct cc_secretbox *sb = box(KEY_A);
        char *one = cc_secretbox_seal(sb, "same text", "org-1");
        char *two = cc_secretbox_seal(sb, "same text", "org-1");
        ck_assert_str_ne(one, two);
        /* The nonces differ, not just the encoding: the first 16 base64 characters are the
         * 12-byte nonce. */
        ck_assert_int_ne(strncmp(one + 3, two + 3, 16), 0);
        char *a = cc_secretbox_open(sb, one, "org-1"), *b = cc_secretbox_open(sb, two, "org-1");
        ck_assert_str_eq(a, "same text");
        ck_assert_str_eq(b, "same text");
        free(a);
        free(b);
        free(one);
        free(two);
        cc_secretbox_free(sb);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("secretbox");
        TCase *tc = tcase_create("secretbox");
        tcase_add_test(tc, secretbox_seal_open_roundtrip);
        tcase_add_test(tc, secretbox_opens_with_a_new_box_of_the_same_key);
        tcase_add_test(tc, secretbox_other_aad_fails);
        tcase_add_test(tc, secretbox_tampered_fails);
        tcase_add_test(tc, secretbox_other_key_fails);
        tcase_add_test(tc, secretbox_bad_keys_refused);
        tcase_add_test(tc, secretbox_seals_differ);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
