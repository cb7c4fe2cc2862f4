/* Small generic helpers every module uses: allocation that cannot fail, a per-request arena,
 * UUIDs, clocks and encodings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CC_MUSTCHECK     __attribute__((warn_unused_result))
#define CC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CC_PRINTF(f, a)  __attribute__((format(printf, f, a)))

/* Allocation failure aborts the process: a NULL from a constructor never means "out of memory". */
void *cc_xmalloc(size_t size);
void *cc_xcalloc(size_t n, size_t size);
void *cc_xrealloc(void *p, size_t size);
char *cc_xstrdup(const char *s);
char *cc_xstrndup(const char *s, size_t n);
char *cc_xasprintf(const char *fmt, ...) CC_PRINTF(1, 2);

/* A bump allocator whose memory is released all at once (one per HTTP request). */
struct cc_arena;
struct cc_arena *cc_arena_new(size_t first_block);
void cc_arena_free(struct cc_arena *arena);
void *cc_arena_alloc(struct cc_arena *arena, size_t size);
char *cc_arena_strdup(struct cc_arena *arena, const char *s);
char *cc_arena_strndup(struct cc_arena *arena, const char *s, size_t n);
char *cc_arena_printf(struct cc_arena *arena, const char *fmt, ...) CC_PRINTF(2, 3);

/* Random (v4) UUID in canonical lower-case form; out must hold CC_UUID_LEN + 1 bytes. */
#define CC_UUID_LEN 36
void cc_uuid_v4(char out[CC_UUID_LEN + 1]);
bool cc_uuid_valid(const char *s);

/* Fills buf with cryptographically strong random bytes (getrandom). */
void cc_random_bytes(void *buf, size_t len);

int64_t cc_now_ms(void);       /* wall clock, ms since the epoch */
int64_t cc_monotonic_us(void); /* monotonic clock, µs */
/* RFC 3339 UTC with milliseconds and a Z: "2025-10-05T14:03:22.123Z"; out holds 25 bytes. */
void cc_format_time_ms(int64_t ms, char out[25]);

/* base64url without padding. Returns the length written (out needs 4*ceil(n/3)+1 bytes). */
size_t cc_base64url_encode(const void *in, size_t n, char *out);
/* Decodes base64url (padding optional). Returns the decoded length or -EINVAL. */
int cc_base64url_decode(const char *in, size_t n, void *out, size_t out_cap) CC_MUSTCHECK;

/* Standard base64 (RFC 4648 section 4, '+' '/', with padding), as HTTP Basic auth, Twilio's
 * signatures and stored secrets use it. Same sizes and results as the base64url pair. */
size_t cc_base64_encode(const void *in, size_t n, char *out);
int cc_base64_decode(const char *in, size_t n, void *out, size_t out_cap) CC_MUSTCHECK;

/* A growing NUL-terminated string; zero-initialise, append, then take or fini. */
struct cc_strbuf {
        char *data; /* NULL until the first append */
        size_t len;
        size_t cap;
};
void cc_strbuf_append(struct cc_strbuf *b, const void *s, size_t n);
void cc_strbuf_puts(struct cc_strbuf *b, const char *s);
void cc_strbuf_printf(struct cc_strbuf *b, const char *fmt, ...) CC_PRINTF(2, 3);
/* The string (heap, caller frees; "" when nothing was appended); b is empty again. */
char *cc_strbuf_take(struct cc_strbuf *b);
void cc_strbuf_fini(struct cc_strbuf *b);

/* Formats an error message into a caller's buffer (err may be NULL or err_len 0: nothing). */
void cc_set_error(char *err, size_t err_len, const char *fmt, ...) CC_PRINTF(3, 4);

/* true for a lower-case SQL identifier we can splice into SQL unquoted: [a-z_][a-z0-9_]*, at
 * most max_len bytes (schemas and the names derived from them). */
bool cc_sql_identifier_valid(const char *s, size_t max_len);

/* Code points in well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF), or -1. */
ssize_t cc_utf8_count(const void *s, size_t len);
/* true for well-formed UTF-8 without control characters (NUL, C0, DEL): text that can be put in
 * JSON, logs and SQL as it is. */
bool cc_text_valid(const char *s, size_t len);
/* The same, with tab, CR and LF also allowed: text that may span lines (notes, a
 * description). */
bool cc_text_valid_multiline(const char *s, size_t len);

/* The value of a hexadecimal digit, or -1. */
int cc_hex_value(char c);

/* Constant-time comparison of two equal-length buffers. */
bool cc_consttime_eq(const void *a, const void *b, size_t n);
