#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/config.h"
#include "cc/log.h"
#include "testlib.h"

/* Check runs each test in its own process, so setenv here never leaks into another test. */

struct settings {
        char *host;
        long long port;
        bool tls;
        int level;
        char *name;
};

static struct settings st;

static const struct cc_config_var table[] = {
    {"CC_T_HOST", CC_CONFIG_STRING, "localhost", 1, 64, &st.host, "listen address"},
    {"CC_T_PORT", CC_CONFIG_INT, "8080", 1, 65535, &st.port, "listen port"},
    {"CC_T_TLS", CC_CONFIG_BOOL, "false", 0, 0, &st.tls, "serve TLS"},
    {"CC_T_LOG_LEVEL", CC_CONFIG_LOGLEVEL, "info", 0, 0, &st.level, "log level"},
    {"CC_T_NAME", CC_CONFIG_STRING, "cc", 2, 5, &st.name, "short name"},
};

static int load(char *err, size_t len)
{
        memset(&st, 0, sizeof(st));
        return cc_config_load(table, CC_ARRAY_SIZE(table), err, len);
}

/* Loads expecting a failure whose message is exactly want. */
static void assert_load_fails(const char *want)
{
        char err[256] = "";
        ck_assert_int_eq(load(err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, want);
        /* Strings loaded before the bad one were released, not left half-loaded. */
        ck_assert_ptr_null(st.host);
        ck_assert_ptr_null(st.name);
}

START_TEST(config_defaults_apply)
{
        char err[256];
        ck_assert_int_eq(load(err, sizeof(err)), 0);
        ck_assert_str_eq(st.host, "localhost");
        ck_assert_int_eq(st.port, 8080);
        ck_assert(!st.tls);
        ck_assert_int_eq(st.level, CC_LOG_INFO);
        ck_assert_str_eq(st.name, "cc");
        cc_config_free(table, CC_ARRAY_SIZE(table));
        ck_assert_ptr_null(st.host);
        ck_assert_ptr_null(st.name);
}
END_TEST

START_TEST(config_environment_overrides)
{
        setenv("CC_T_HOST", "0.0.0.0", 1);
        setenv("CC_T_PORT", "65535", 1);
        setenv("CC_T_TLS", "YES", 1);
        setenv("CC_T_LOG_LEVEL", "debug", 1);
        setenv("CC_T_NAME", "", 1); /* empty reads as unset */
        char err[256];
        ck_assert_int_eq(load(err, sizeof(err)), 0);
        ck_assert_str_eq(st.host, "0.0.0.0");
        ck_assert_int_eq(st.port, 65535);
        ck_assert(st.tls);
        ck_assert_int_eq(st.level, CC_LOG_DEBUG);
        ck_assert_str_eq(st.name, "cc");
        cc_config_free(table, CC_ARRAY_SIZE(table));
}
END_TEST

START_TEST(config_required_missing_names_variable)
{
        static char *secret;
        static const struct cc_config_var vars[] = {
            {"CC_T_HOST", CC_CONFIG_STRING, "localhost", 1, 64, &st.host, "listen address"},
            {"CC_T_SECRET", CC_CONFIG_STRING, NULL, 1, 0, &secret, "signing key"},
            {"CC_T_NOHELP", CC_CONFIG_STRING, NULL, 1, 0, &secret, NULL},
        };
        unsetenv("CC_T_SECRET");
        char err[256];
        ck_assert_int_eq(cc_config_load(vars, CC_ARRAY_SIZE(vars), err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "CC_T_SECRET is required (signing key)");
        ck_assert_ptr_null(st.host);

        setenv("CC_T_SECRET", "s3cret", 1);
        ck_assert_int_eq(cc_config_load(vars, CC_ARRAY_SIZE(vars), err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "CC_T_NOHELP is required");
        ck_assert_ptr_null(secret);

        setenv("CC_T_NOHELP", "x", 1);
        ck_assert_int_eq(cc_config_load(vars, 2, err, sizeof(err)), 0);
        ck_assert_str_eq(secret, "s3cret");
        cc_config_free(vars, 2);
        ck_assert_ptr_null(secret);
}
END_TEST

START_TEST(config_int_rejects_non_numbers)
{
        const char *bad[] = {"abc", "12abc", "1.5", "0x10", "99999999999999999999"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                setenv("CC_T_PORT", bad[i], 1);
                char want[128];
                snprintf(want, sizeof(want), "CC_T_PORT must be an integer, got \"%s\"", bad[i]);
                assert_load_fails(want);
        }
}
END_TEST

START_TEST(config_int_bounds)
{
        setenv("CC_T_PORT", "65536", 1);
        assert_load_fails("CC_T_PORT must be between 1 and 65535, got 65536");
        setenv("CC_T_PORT", "0", 1);
        assert_load_fails("CC_T_PORT must be between 1 and 65535, got 0");
        setenv("CC_T_PORT", "-5", 1);
        assert_load_fails("CC_T_PORT must be between 1 and 65535, got -5");
        setenv("CC_T_PORT", "1", 1);
        char err[256];
        ck_assert_int_eq(load(err, sizeof(err)), 0);
        ck_assert_int_eq(st.port, 1);
        cc_config_free(table, CC_ARRAY_SIZE(table));
}
END_TEST

START_TEST(config_bool_words)
{
        const char *yes[] = {"1", "true", "TRUE", "yes", "On"};
        const char *no[] = {"0", "false", "False", "no", "off"};
        char err[256];
        for (size_t i = 0; i < CC_ARRAY_SIZE(yes); i++) {
                setenv("CC_T_TLS", yes[i], 1);
                ck_assert_int_eq(load(err, sizeof(err)), 0);
                ck_assert_msg(st.tls, "%s read as false", yes[i]);
                cc_config_free(table, CC_ARRAY_SIZE(table));
                setenv("CC_T_TLS", no[i], 1);
                st.tls = true;
                ck_assert_int_eq(load(err, sizeof(err)), 0);
                ck_assert_msg(!st.tls, "%s read as true", no[i]);
                cc_config_free(table, CC_ARRAY_SIZE(table));
        }
        setenv("CC_T_TLS", "maybe", 1);
        assert_load_fails("CC_T_TLS must be true or false, got \"maybe\"");
        setenv("CC_T_TLS", "2", 1);
        assert_load_fails("CC_T_TLS must be true or false, got \"2\"");
}
END_TEST

START_TEST(config_loglevel)
{
        char err[256];
        setenv("CC_T_LOG_LEVEL", "ERROR", 1);
        ck_assert_int_eq(load(err, sizeof(err)), 0);
        ck_assert_int_eq(st.level, CC_LOG_ERROR);
        cc_config_free(table, CC_ARRAY_SIZE(table));
        setenv("CC_T_LOG_LEVEL", "loud", 1);
        assert_load_fails("CC_T_LOG_LEVEL must be one of debug, info, warn, error, got \"loud\"");
}
END_TEST

START_TEST(config_string_length_bounds)
{
        char err[256];
        setenv("CC_T_NAME", "a", 1);
        assert_load_fails("CC_T_NAME must be 2 to 5 characters long");
        setenv("CC_T_NAME", "abcdef", 1);
        assert_load_fails("CC_T_NAME must be 2 to 5 characters long");
        setenv("CC_T_NAME", "abcde", 1);
        ck_assert_int_eq(load(err, sizeof(err)), 0);
        ck_assert_str_eq(st.name, "abcde");
        cc_config_free(table, CC_ARRAY_SIZE(table));

        /* max 0: no upper bound, and the message does not invent one. */
        static char *key;
        static const struct cc_config_var vars[] = {
            {"CC_T_KEY", CC_CONFIG_STRING, NULL, 32, 0, &key, "key"},
        };
        char long_key[1001];
        memset(long_key, 'k', sizeof(long_key) - 1);
        long_key[sizeof(long_key) - 1] = '\0';
        setenv("CC_T_KEY", long_key, 1);
        ck_assert_int_eq(cc_config_load(vars, 1, err, sizeof(err)), 0);
        ck_assert_str_eq(key, long_key);
        cc_config_free(vars, 1);
        setenv("CC_T_KEY", "short", 1);
        ck_assert_int_eq(cc_config_load(vars, 1, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "CC_T_KEY must be at least 32 characters long");
        ck_assert_ptr_null(key);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, config_defaults_apply);
        tcase_add_test(tc, config_environment_overrides);
        tcase_add_test(tc, config_required_missing_names_variable);
        tcase_add_test(tc, config_int_rejects_non_numbers);
        tcase_add_test(tc, config_int_bounds);
        tcase_add_test(tc, config_bool_words);
        tcase_add_test(tc, config_loglevel);
        tcase_add_test(tc, config_string_length_bounds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
