#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cc/log.h"
#include "testlib.h"

/* Captures what the process writes to stderr between capture_begin and capture_end. */
struct capture {
        int saved_fd, file_fd;
};

static void capture_begin(struct capture *c)
{
        c->file_fd = memfd_create("stderr", 0);
        ck_assert_int_ge(c->file_fd, 0);
        c->saved_fd = dup(STDERR_FILENO);
        ck_assert_int_ge(c->saved_fd, 0);
        ck_assert_int_ge(dup2(c->file_fd, STDERR_FILENO), 0);
}

/* Returns the captured text (heap). */
static char *capture_end(struct capture *c)
{
        ck_assert_int_ge(dup2(c->saved_fd, STDERR_FILENO), 0);
        close(c->saved_fd);
        off_t size = lseek(c->file_fd, 0, SEEK_END);
        ck_assert_int_ge(size, 0);
        char *text = cc_xmalloc((size_t)size + 1);
        ck_assert_int_eq(pread(c->file_fd, text, (size_t)size, 0), size);
        text[size] = '\0';
        close(c->file_fd);
        return text;
}

/* The end of a long line, which is where a cut goes wrong; whole lines overflow Check's
 * message buffer. */
static const char *tail(const char *text)
{
        size_t len = strlen(text);
        return len > 300 ? text + len - 300 : text;
}

/* Asserts text is exactly one newline-terminated line holding a JSON object; returns it. */
static json_object *parse_one_line(const char *text)
{
        size_t len = strlen(text);
        ck_assert_msg(len > 0 && text[len - 1] == '\n', "not a newline-terminated line: ...%s",
                      tail(text));
        ck_assert_msg(memchr(text, '\n', len - 1) == NULL, "more than one line: ...%s", tail(text));
        struct json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *obj = json_tokener_parse_ex(tok, text, (int)len - 1);
        ck_assert_msg(obj != NULL, "not JSON (%s): ...%s",
                      json_tokener_error_desc(json_tokener_get_error(tok)), tail(text));
        ck_assert_uint_eq(json_tokener_get_parse_end(tok), len - 1);
        json_tokener_free(tok);
        ck_assert(json_object_is_type(obj, json_type_object));
        return obj;
}

static const char *field(json_object *obj, const char *name)
{
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(obj, name, &v), "no \"%s\" field", name);
        ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is not a string", name);
        return json_object_get_string(v);
}

START_TEST(log_line_is_one_json_object)
{
        cc_log_init("telephony", CC_LOG_INFO);
        struct capture c;
        capture_begin(&c);
        cc_log_warn("req-\"42\"", "caller said \"hi\"\nthen \\left\x01\x1f\ttab %d", 7);
        char *text = capture_end(&c);

        json_object *obj = parse_one_line(text);
        ck_assert_str_eq(field(obj, "level"), "warn");
        ck_assert_str_eq(field(obj, "service"), "telephony");
        ck_assert_str_eq(field(obj, "request_id"), "req-\"42\"");
        ck_assert_str_eq(field(obj, "message"), "caller said \"hi\"\nthen \\left\x01\x1f\ttab 7");
        const char *t = field(obj, "time");
        /* "2025-10-05T14:03:22.123Z" */
        ck_assert_uint_eq(strlen(t), 24);
        ck_assert_int_eq(t[10], 'T');
        ck_assert_int_eq(t[23], 'Z');
        json_object_put(obj);
        free(text);
}
END_TEST

START_TEST(log_without_request_id)
{
        cc_log_init("gateway", CC_LOG_DEBUG);
        struct capture c;
        capture_begin(&c);
        cc_log_error(NULL, "boom");
        char *text = capture_end(&c);
        json_object *obj = parse_one_line(text);
        ck_assert_str_eq(field(obj, "level"), "error");
        ck_assert_str_eq(field(obj, "message"), "boom");
        ck_assert(!json_object_object_get_ex(obj, "request_id", NULL));
        json_object_put(obj);
        free(text);
}
END_TEST

START_TEST(log_long_message_stays_valid_json)
{
        /* Every quote doubles in size when escaped, so this overflows the line buffer. */
        char msg[3001];
        memset(msg, '"', sizeof(msg) - 1);
        msg[sizeof(msg) - 1] = '\0';
        cc_log_init("sms", CC_LOG_INFO);
        struct capture c;
        capture_begin(&c);
        cc_log_info("r1", "%s", msg);
        char *text = capture_end(&c);
        json_object *obj = parse_one_line(text);
        const char *m = field(obj, "message");
        ck_assert_uint_gt(strlen(m), 100);
        ck_assert_uint_eq(strspn(m, "\""), strlen(m));
        json_object_put(obj);
        free(text);
}
END_TEST

/* Parses text like parse_one_line, and also requires every byte of it to be UTF-8. */
static json_object *parse_utf8_line(const char *text)
{
        ck_assert_msg(cc_utf8_count(text, strlen(text)) >= 0, "line is not UTF-8: ...%s",
                      tail(text));
        return parse_one_line(text);
}

/* Logs msg (as "%s") with request_id and returns the parsed line. */
static json_object *log_and_parse(const char *request_id, const char *msg)
{
        struct capture c;
        capture_begin(&c);
        cc_log_info(request_id, "%s", msg);
        char *text = capture_end(&c);
        json_object *obj = parse_utf8_line(text);
        free(text);
        return obj;
}

START_TEST(log_control_characters_at_line_limit_stay_valid_json)
{
        cc_log_init("sms", CC_LOG_INFO);
        /* Each \x01 becomes six bytes (\u0001), so a 4 KiB run overflows the line several
         * times over and the cut lands inside an escape. */
        char msg[4097];
        memset(msg, '\x01', 4096);
        msg[4096] = '\0';
        json_object *obj = log_and_parse("r1", msg);
        const char *m = field(obj, "message");
        ck_assert_uint_gt(strlen(m), 100);
        ck_assert_uint_eq(strspn(m, "\x01"), strlen(m));
        json_object_put(obj);

        /* Total lengths 4000 to 4100 with a growing printable prefix: the last escape that
         * fits ends at every offset from the line limit. */
        char *buf = cc_xmalloc(4101 + 1);
        for (size_t len = 4000; len <= 4100; len++) {
                size_t plain = len - 4000;
                memset(buf, 'a', plain);
                memset(buf + plain, '\x1f', len - plain);
                buf[len] = '\0';
                obj = log_and_parse("r2", buf);
                m = field(obj, "message");
                ck_assert_uint_gt(strlen(m), plain);
                ck_assert_uint_eq(strspn(m, "a"), plain);
                ck_assert_uint_eq(strspn(m + plain, "\x1f"), strlen(m) - plain);
                json_object_put(obj);
        }
        /* The same with quotes, two bytes each, after a control character run. */
        for (size_t len = 4000; len <= 4100; len++) {
                size_t ctl = len - 4000;
                memset(buf, '\x02', ctl);
                memset(buf + ctl, '"', len - ctl);
                buf[len] = '\0';
                obj = log_and_parse(NULL, buf);
                json_object_put(obj);
        }
        free(buf);
}
END_TEST

START_TEST(log_huge_request_id_keeps_the_message)
{
        cc_log_init("sms", CC_LOG_INFO);
        /* A request id as long as the line itself (plain or needing escapes) is cut to its own
         * budget: the line stays valid JSON and still carries the message. */
        char *rid = cc_xmalloc(4101 + 1);
        for (size_t len = 4000; len <= 4100; len += 20) {
                memset(rid, len % 40 ? 'r' : '\x01', len);
                rid[len] = '\0';
                json_object *obj = log_and_parse(rid, "the message");
                ck_assert_str_eq(field(obj, "message"), "the message");
                ck_assert_uint_gt(strlen(field(obj, "request_id")), 100);
                json_object_put(obj);
        }
        free(rid);
}
END_TEST

START_TEST(log_bytes_that_are_not_utf8_become_replacement_characters)
{
        cc_log_init("gateway", CC_LOG_INFO);
        /* A stray byte, an overlong '/', a surrogate, a truncated sequence at the end; the
         * request id too (it comes from a client's header). */
        json_object *obj = log_and_parse("id-\xff", "a\xff"
                                                    "b\xc0\xaf"
                                                    "c\xed\xa0\x80"
                                                    "d caf\xc3\xa9 \xe2\x82");
        ck_assert_str_eq(field(obj, "request_id"), "id-\xef\xbf\xbd");
        const char *m = field(obj, "message");
        /* Valid UTF-8 (é) passes unchanged; every other byte is one U+FFFD. */
        ck_assert_str_eq(m, "a\xef\xbf\xbd"
                            "b\xef\xbf\xbd\xef\xbf\xbd"
                            "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                            "d caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
        json_object_put(obj);

        /* A long run of broken bytes cut at the line limit is still one valid line. */
        char msg[2048];
        memset(msg, '\xff', sizeof(msg) - 1);
        msg[sizeof(msg) - 1] = '\0';
        obj = log_and_parse("r", msg);
        ck_assert_uint_gt(strlen(field(obj, "message")), 100);
        json_object_put(obj);
}
END_TEST

START_TEST(log_level_filtering)
{
        cc_log_init("gateway", CC_LOG_INFO);
        ck_assert(!cc_log_enabled(CC_LOG_DEBUG));
        ck_assert(cc_log_enabled(CC_LOG_INFO));
        ck_assert(cc_log_enabled(CC_LOG_ERROR));
        struct capture c;
        capture_begin(&c);
        cc_log_debug("r", "hidden");
        cc_log_info("r", "shown");
        char *text = capture_end(&c);
        json_object *obj = parse_one_line(text);
        ck_assert_str_eq(field(obj, "message"), "shown");
        ck_assert_str_eq(field(obj, "level"), "info");
        json_object_put(obj);
        free(text);

        cc_log_init("gateway", CC_LOG_ERROR);
        capture_begin(&c);
        cc_log_warn("r", "hidden too");
        text = capture_end(&c);
        ck_assert_str_eq(text, "");
        free(text);
}
END_TEST

START_TEST(log_level_parse)
{
        static const struct {
                const char *text;
                enum cc_log_level level;
        } ok[] = {
            {"debug", CC_LOG_DEBUG}, {"info", CC_LOG_INFO},    {"INFO", CC_LOG_INFO},
            {"warn", CC_LOG_WARN},   {"warning", CC_LOG_WARN}, {"error", CC_LOG_ERROR},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(ok); i++) {
                enum cc_log_level level = CC_LOG_ERROR + 1;
                ck_assert_int_eq(cc_log_level_parse(ok[i].text, &level), 0);
                ck_assert_int_eq(level, ok[i].level);
        }
        const char *bad[] = {"", "verbose", "inf", "errors", " info", NULL};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                enum cc_log_level level = CC_LOG_WARN;
                ck_assert_int_eq(cc_log_level_parse(bad[i], &level), -EINVAL);
                ck_assert_int_eq(level, CC_LOG_WARN);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, log_line_is_one_json_object);
        tcase_add_test(tc, log_without_request_id);
        tcase_add_test(tc, log_long_message_stays_valid_json);
        tcase_add_test(tc, log_level_filtering);
        tcase_add_test(tc, log_level_parse);
        tcase_add_test(tc, log_control_characters_at_line_limit_stay_valid_json);
        tcase_add_test(tc, log_bytes_that_are_not_utf8_become_replacement_characters);
        tcase_add_test(tc, log_huge_request_id_keeps_the_message);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
