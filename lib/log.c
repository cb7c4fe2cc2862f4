#include "cc/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *log_service = "cc";
static enum cc_log_level log_min = CC_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cc_log_init(const char *service, enum cc_log_level level)
{
        log_service = service;
        log_min = level;
}

int cc_log_level_parse(const char *s, enum cc_log_level *ret_level)
{
        for (size_t i = 0; i < CC_ARRAY_SIZE(level_names); i++) {
                if (s && strcasecmp(s, level_names[i]) == 0) {
                        *ret_level = (enum cc_log_level)i;
                        return 0;
                }
        }
        if (s && strcasecmp(s, "warning") == 0) {
                *ret_level = CC_LOG_WARN;
                return 0;
        }
        return -EINVAL;
}

bool cc_log_enabled(enum cc_log_level level)
{
        return level >= log_min;
}

/* Length of the well-formed UTF-8 sequence at s, 0 when malformed. */
static size_t utf8_seq(const unsigned char *s)
{
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                need = 1;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                need = 2, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                need = 3, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
        else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t k = 2; k <= need; k++)
                if (s[k] < 0x80 || s[k] > 0xbf)
                        return 0;
        return need + 1;
}

/* Appends s as a JSON string body (without quotes), escaping what JSON requires. Bytes that
 * are not UTF-8 (a client's path, a header) become U+FFFD so every line stays valid JSON. */
static size_t append_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        for (; *s && pos + 7 < cap; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        buf[pos++] = '\\';
                        buf[pos++] = (char)c;
                } else if (c == '\n') {
                        buf[pos++] = '\\';
                        buf[pos++] = 'n';
                } else if (c < 0x20) {
                        buf[pos++] = '\\';
                        buf[pos++] = 'u';
                        buf[pos++] = '0';
                        buf[pos++] = '0';
                        buf[pos++] = hex[c >> 4];
                        buf[pos++] = hex[c & 15];
                } else if (c < 0x80) {
                        buf[pos++] = (char)c;
                } else {
                        size_t n = utf8_seq((const unsigned char *)s);
                        if (n == 0) {
                                memcpy(buf + pos, "\\ufffd", 6);
                                pos += 6;
                        } else {
                                memcpy(buf + pos, s, n);
                                pos += n;
                                s += n - 1;
                        }
                }
        }
        return pos;
}

static size_t append_raw(char *buf, size_t pos, size_t cap, const char *s)
{
        size_t n = strlen(s);
        if (pos + n >= cap)
                n = cap - pos - 1;
        memcpy(buf + pos, s, n);
        return pos + n;
}

void cc_log(enum cc_log_level level, const char *request_id, const char *fmt, ...)
{
        if (level < log_min)
                return;
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        char ts[25];
        cc_format_time_ms(cc_now_ms(), ts);
        /* One buffer and one write() so concurrent threads never interleave within a line. */
        char line[4096];
        /* The fields may be cut short, never the closing quote, brace and newline. */
        size_t pos = 0, cap = sizeof(line) - 3;
        pos = append_raw(line, pos, cap, "{\"time\":\"");
        pos = append_raw(line, pos, cap, ts);
        pos = append_raw(line, pos, cap, "\",\"level\":\"");
        pos = append_raw(line, pos, cap, level_names[level]);
        pos = append_raw(line, pos, cap, "\",\"service\":\"");
        /* The service name and the request id get budgets of their own, so the message's key
         * always fits after them and only the message itself is ever cut. */
        pos = append_escaped(line, pos, pos + 256, log_service);
        if (request_id) {
                pos = append_raw(line, pos, cap, "\",\"request_id\":\"");
                pos = append_escaped(line, pos, pos + 1024, request_id);
        }
        pos = append_raw(line, pos, cap, "\",\"message\":\"");
        pos = append_escaped(line, pos, cap, msg);
        memcpy(line + pos, "\"}\n", 3);
        pos += 3;
        ssize_t w = write(STDERR_FILENO, line, pos);
        (void)w;
}
