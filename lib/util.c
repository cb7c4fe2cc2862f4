#include "cc/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void oom(size_t size)
{
        fprintf(stderr, "out of memory allocating %zu bytes\n", size);
        abort();
}

void *cc_xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);
        if (!p)
                oom(size);
        return p;
}

void *cc_xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom(n * size);
        return p;
}

void *cc_xrealloc(void *p, size_t size)
{
        void *q = realloc(p, size ? size : 1);
        if (!q)
                oom(size);
        return q;
}

char *cc_xstrdup(const char *s)
{
        return cc_xstrndup(s, strlen(s));
}

char *cc_xstrndup(const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        char *p = cc_xmalloc(len + 1);
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

char *cc_xasprintf(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *p = NULL;
        int n = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (n < 0)
                oom(0);
        return p;
}

/* Arena blocks are chained; a request's small allocations come from the current block and a
 * large one gets a block of its own, so the common case is a pointer bump. */
struct arena_block {
        struct arena_block *next;
        size_t size, used;
        max_align_t data[];
};

struct cc_arena {
        struct arena_block *head;
        size_t block_size;
};

static struct arena_block *block_new(size_t size)
{
        struct arena_block *b = cc_xmalloc(sizeof(*b) + size);
        b->next = NULL;
        b->size = size;
        b->used = 0;
        return b;
}

struct cc_arena *cc_arena_new(size_t first_block)
{
        struct cc_arena *a = cc_xmalloc(sizeof(*a));
        a->block_size = first_block ? first_block : 4096;
        a->head = block_new(a->block_size);
        return a;
}

void cc_arena_free(struct cc_arena *arena)
{
        if (!arena)
                return;
        struct arena_block *b = arena->head;
        while (b) {
                struct arena_block *next = b->next;
                free(b);
                b = next;
        }
        free(arena);
}

void *cc_arena_alloc(struct cc_arena *arena, size_t size)
{
        const size_t align = _Alignof(max_align_t);
        size = (size + align - 1) & ~(align - 1);
        if (size == 0)
                size = align;
        struct arena_block *b = arena->head;
        if (b->size - b->used < size) {
                if (size > arena->block_size / 2) {
                        /* Big allocation: own block, linked behind the current one so the
                         * current block keeps serving small ones. */
                        struct arena_block *big = block_new(size);
                        big->used = size;
                        big->next = b->next;
                        b->next = big;
                        return big->data;
                }
                b = block_new(arena->block_size);
                b->next = arena->head;
                arena->head = b;
        }
        void *p = (char *)b->data + b->used;
        b->used += size;
        return p;
}

char *cc_arena_strdup(struct cc_arena *arena, const char *s)
{
        return cc_arena_strndup(arena, s, strlen(s));
}

char *cc_arena_strndup(struct cc_arena *arena, const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        char *p = cc_arena_alloc(arena, len + 1);
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

char *cc_arena_printf(struct cc_arena *arena, const char *fmt, ...)
{
        /* Most strings fit the stack buffer, which saves formatting twice. */
        char small[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0)
                return cc_arena_strdup(arena, "");
        char *p = cc_arena_alloc(arena, (size_t)n + 1);
        if ((size_t)n < sizeof(small)) {
                memcpy(p, small, (size_t)n + 1);
                return p;
        }
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return p;
}

void cc_random_bytes(void *buf, size_t len)
{
        unsigned char *p = buf;
        while (len > 0) {
                ssize_t n = getrandom(p, len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "getrandom failed: %s\n", strerror(errno));
                        abort();
                }
                p += n;
                len -= (size_t)n;
        }
}

void cc_uuid_v4(char out[CC_UUID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char b[16];
        cc_random_bytes(b, sizeof(b));
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        char *o = out;
        for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *o++ = '-';
                *o++ = hex[b[i] >> 4];
                *o++ = hex[b[i] & 15];
        }
        *o = '\0';
}

bool cc_uuid_valid(const char *s)
{
        if (!s)
                return false;
        for (int i = 0; i < CC_UUID_LEN; i++) {
                char c = s[i];
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (c != '-')
                                return false;
                } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                             (c >= 'A' && c <= 'F'))) {
                        return false;
                }
        }
        return s[CC_UUID_LEN] == '\0';
}

int64_t cc_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cc_monotonic_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cc_format_time_ms(int64_t ms, char out[25])
{
        time_t secs = (time_t)(ms / 1000);
        int frac = (int)(ms % 1000);
        if (frac < 0) {
                frac += 1000;
                secs -= 1;
        }
        struct tm tm;
        gmtime_r(&secs, &tm);
        /* The compiler cannot know tm's fields are in range, so format into a roomy buffer. */
        char tmp[96];
        snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, frac);
        memcpy(out, tmp, 24);
        out[24] = '\0';
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The two alphabets differ only in the last two characters; `pad` adds '=' to a multiple of 4. */
static size_t b64_encode(const char *alpha, bool pad, const void *in, size_t n, char *out)
{
        const unsigned char *p = in;
        size_t o = 0, i = 0;
        for (; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
                out[o++] = alpha[v >> 18];
                out[o++] = alpha[(v >> 12) & 63];
                out[o++] = alpha[(v >> 6) & 63];
                out[o++] = alpha[v & 63];
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t)p[i] << 16;
                out[o++] = alpha[v >> 18];
                out[o++] = alpha[(v >> 12) & 63];
                if (pad) {
                        out[o++] = '=';
                        out[o++] = '=';
                }
        } else if (n - i == 2) {
                uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
                out[o++] = alpha[v >> 18];
                out[o++] = alpha[(v >> 12) & 63];
                out[o++] = alpha[(v >> 6) & 63];
                if (pad)
                        out[o++] = '=';
        }
        out[o] = '\0';
        return o;
}

size_t cc_base64url_encode(const void *in, size_t n, char *out)
{
        return b64_encode(b64url, false, in, n, out);
}

size_t cc_base64_encode(const void *in, size_t n, char *out)
{
        return b64_encode(b64std, true, in, n, out);
}

static int b64_value(char c, bool url)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == (url ? '-' : '+'))
                return 62;
        if (c == (url ? '_' : '/'))
                return 63;
        return -1;
}

static int b64_decode(bool url, const char *in, size_t n, void *out, size_t out_cap)
{
        while (n > 0 && in[n - 1] == '=')
                n--;
        if (n % 4 == 1)
                return -EINVAL;
        unsigned char *o = out;
        size_t len = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
                int v = b64_value(in[i], url);
                if (v < 0)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (len >= out_cap)
                                return -EINVAL;
                        o[len++] = (unsigned char)(acc >> bits);
                }
        }
        return (int)len;
}

int cc_base64url_decode(const char *in, size_t n, void *out, size_t out_cap)
{
        return b64_decode(true, in, n, out, out_cap);
}

int cc_base64_decode(const char *in, size_t n, void *out, size_t out_cap)
{
        return b64_decode(false, in, n, out, out_cap);
}

void cc_strbuf_append(struct cc_strbuf *b, const void *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n + 1)
                        cap *= 2;
                b->data = cc_xrealloc(b->data, cap);
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void cc_strbuf_puts(struct cc_strbuf *b, const char *s)
{
        cc_strbuf_append(b, s, strlen(s));
}

void cc_strbuf_printf(struct cc_strbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        cc_strbuf_append(b, "", 0); /* make sure data exists */
        if (b->len + (size_t)n + 1 > b->cap) {
                size_t cap = b->cap;
                while (cap < b->len + (size_t)n + 1)
                        cap *= 2;
                b->data = cc_xrealloc(b->data, cap);
                b->cap = cap;
        }
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

char *cc_strbuf_take(struct cc_strbuf *b)
{
        char *d = b->data ? b->data : cc_xstrdup("");
        b->data = NULL;
        b->len = b->cap = 0;
        return d;
}

void cc_strbuf_fini(struct cc_strbuf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

bool cc_consttime_eq(const void *a, const void *b, size_t n)
{
        const volatile unsigned char *x = a, *y = b;
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
                diff |= x[i] ^ y[i];
        return diff == 0;
}

void cc_set_error(char *err, size_t err_len, const char *fmt, ...)
{
        if (!err || err_len == 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
}

bool cc_sql_identifier_valid(const char *s, size_t max_len)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max_len || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

int cc_hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Counts code points of well-formed UTF-8 (no overlongs, no surrogates, nothing past
 * U+10FFFF); -1 when malformed. */
ssize_t cc_utf8_count(const void *text, size_t len)
{
        const unsigned char *s = text;
        size_t count = 0, i = 0;
        while (i < len) {
                unsigned char c = s[i];
                size_t need;
                unsigned char lo = 0x80, hi = 0xbf;
                if (c < 0x80) {
                        i++;
                        count++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        need = 1;
                } else if (c >= 0xe0 && c <= 0xef) {
                        need = 2;
                        if (c == 0xe0)
                                lo = 0xa0;
                        else if (c == 0xed)
                                hi = 0x9f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        need = 3;
                        if (c == 0xf0)
                                lo = 0x90;
                        else if (c == 0xf4)
                                hi = 0x8f;
                } else {
                        return -1;
                }
                if (len - i - 1 < need)
                        return -1;
                /* Only the first continuation byte has the narrowed range. */
                if (s[i + 1] < lo || s[i + 1] > hi)
                        return -1;
                for (size_t k = 2; k <= need; k++)
                        if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                                return -1;
                i += need + 1;
                count++;
        }
        return (ssize_t)count;
}

bool cc_text_valid(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return cc_utf8_count(s, len) >= 0;
}

bool cc_text_valid_multiline(const char *s, size_t len)
{
        /* Checked between the tabs and line breaks, which are ASCII: a cut there never splits
         * a UTF-8 sequence. */
        size_t from = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                        continue;
                if (!cc_text_valid(s + from, i - from))
                        return false;
                from = i + 1;
        }
        return true;
}
