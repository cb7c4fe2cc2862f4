#include "cc/multipart.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char form_data[] = "multipart/form-data";

static bool is_lwsp(char c)
{
        return c == ' ' || c == '\t';
}

static const char *skip_lwsp(const char *p, const char *end)
{
        while (p < end && is_lwsp(*p))
                p++;
        return p;
}

static bool range_eq(const char *s, size_t n, const char *lit)
{
        return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* One `; name=value` parameter of a header value, starting at *p (just after the type or the
 * previous parameter). The value comes without its quotes when it was a quoted string. false
 * when no parameter follows or it is malformed. */
static bool next_param(const char **p, const char *end, const char **ret_name, size_t *ret_nlen,
                       const char **ret_val, size_t *ret_vlen)
{
        const char *s = skip_lwsp(*p, end);
        if (s >= end || *s != ';')
                return false;
        s = skip_lwsp(s + 1, end);
        const char *name = s;
        while (s < end && *s != '=' && *s != ';' && !is_lwsp(*s))
                s++;
        size_t nlen = (size_t)(s - name);
        s = skip_lwsp(s, end);
        if (nlen == 0 || s >= end || *s != '=')
                return false;
        s = skip_lwsp(s + 1, end);
        const char *val;
        size_t vlen;
        if (s < end && *s == '"') {
                val = ++s;
                while (s < end && *s != '"') {
                        if (*s == '\\' && s + 1 < end)
                                s++;
                        s++;
                }
                if (s >= end)
                        return false;
                vlen = (size_t)(s - val);
                s++;
        } else {
                val = s;
                while (s < end && *s != ';' && !is_lwsp(*s))
                        s++;
                vlen = (size_t)(s - val);
        }
        *ret_name = name;
        *ret_nlen = nlen;
        *ret_val = val;
        *ret_vlen = vlen;
        *p = s;
        return true;
}

/* The media type at the start of a header value: its end (before parameters). */
static const char *type_end(const char *p, const char *end)
{
        while (p < end && *p != ';' && !is_lwsp(*p))
                p++;
        return p;
}

int cc_multipart_boundary(const char *content_type,
                          char ret_boundary[CC_MULTIPART_BOUNDARY_MAX + 1])
{
        if (!content_type)
                return -EINVAL;
        const char *end = content_type + strlen(content_type);
        const char *p = skip_lwsp(content_type, end);
        const char *t = p;
        p = type_end(p, end);
        if (!range_eq(t, (size_t)(p - t), form_data))
                return -EINVAL;
        const char *name, *val;
        size_t nlen, vlen;
        while (next_param(&p, end, &name, &nlen, &val, &vlen)) {
                if (!range_eq(name, nlen, "boundary"))
                        continue;
                char b[CC_MULTIPART_BOUNDARY_MAX + 1];
                size_t n = 0;
                for (size_t i = 0; i < vlen; i++) {
                        if (val[i] == '\\' && i + 1 < vlen)
                                i++;
                        if (n == CC_MULTIPART_BOUNDARY_MAX || val[i] == '\r' || val[i] == '\n')
                                return -EINVAL;
                        b[n++] = val[i];
                }
                if (n == 0)
                        return -EINVAL;
                b[n] = '\0';
                memcpy(ret_boundary, b, n + 1);
                return 0;
        }
        return -EINVAL;
}

/* at points at "--boundary" (already matched): past it there must be "--" (the end) or
 * optional white space and CRLF. false when this is not a delimiter line after all (the
 * boundary text followed by something else). */
static bool take_delimiter(struct cc_multipart *mp, const char *at)
{
        const char *end = mp->body + mp->len;
        const char *p = at + mp->delim_len - 2;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
                mp->done = true;
                mp->pos = mp->len;
                return true;
        }
        p = skip_lwsp(p, end);
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
                mp->pos = (size_t)(p + 2 - mp->body);
                return true;
        }
        return false;
}

/* The next delimiter line at or after from: where its CRLF starts, or NULL. */
static const char *find_delimiter(struct cc_multipart *mp, const char *from)
{
        const char *end = mp->body + mp->len;
        while (from < end) {
                const char *d = memmem(from, (size_t)(end - from), mp->delim, mp->delim_len);
                if (!d)
                        return NULL;
                if (take_delimiter(mp, d + 2))
                        return d;
                from = d + 1;
        }
        return NULL;
}

int cc_multipart_init(struct cc_multipart *mp, const char *content_type, const void *body,
                      size_t len)
{
        char boundary[CC_MULTIPART_BOUNDARY_MAX + 1];
        int r = cc_multipart_boundary(content_type, boundary);
        if (r < 0)
                return r;
        struct cc_multipart m = {.body = body ? body : "", .len = body ? len : 0};
        m.delim_len = (size_t)snprintf(m.delim, sizeof(m.delim), "\r\n--%s", boundary);
        /* The first delimiter may open the body, without the CRLF that ends a preamble. */
        bool opens = m.len >= m.delim_len - 2 &&
                     memcmp(m.body, m.delim + 2, m.delim_len - 2) == 0 &&
                     take_delimiter(&m, m.body);
        if (!opens && !find_delimiter(&m, m.body))
                return -EINVAL;
        *mp = m;
        return 0;
}

static int parse_disposition(const char *v, const char *end, struct cc_multipart_part *part)
{
        const char *p = skip_lwsp(v, end);
        const char *t = p;
        p = type_end(p, end);
        if (!range_eq(t, (size_t)(p - t), "form-data"))
                return 0; /* another disposition names no form field */
        const char *name, *val;
        size_t nlen, vlen;
        while (next_param(&p, end, &name, &nlen, &val, &vlen)) {
                if (range_eq(name, nlen, "name")) {
                        part->name = val;
                        part->name_len = vlen;
                } else if (range_eq(name, nlen, "filename")) {
                        part->filename = val;
                        part->filename_len = vlen;
                }
        }
        return 0;
}

int cc_multipart_next(struct cc_multipart *mp, struct cc_multipart_part *ret_part)
{
        if (mp->done)
                return -ENOENT;
        const char *end = mp->body + mp->len;
        const char *p = mp->body + mp->pos;
        struct cc_multipart_part part = {0};
        for (;;) {
                const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
                if (!eol)
                        return -EINVAL;
                if (eol == p) {
                        p += 2;
                        break;
                }
                const char *colon = memchr(p, ':', (size_t)(eol - p));
                if (!colon || colon == p)
                        return -EINVAL;
                size_t nlen = (size_t)(colon - p);
                const char *v = skip_lwsp(colon + 1, eol), *ve = eol;
                while (ve > v && is_lwsp(ve[-1]))
                        ve--;
                if (range_eq(p, nlen, "Content-Disposition")) {
                        parse_disposition(v, ve, &part);
                } else if (range_eq(p, nlen, "Content-Type")) {
                        part.content_type = v;
                        part.content_type_len = (size_t)(ve - v);
                }
                p = eol + 2;
        }
        /* The CRLF before a delimiter belongs to the delimiter; an empty part's delimiter
         * line follows its blank line directly, sharing that CRLF. */
        const char *d = find_delimiter(mp, p - 2);
        if (!d)
                return -EINVAL;
        part.data = p;
        part.len = d >= p ? (size_t)(d - p) : 0;
        *ret_part = part;
        return 0;
}

int cc_multipart_find(const char *content_type, const void *body, size_t len, const char *name,
                      struct cc_multipart_part *ret_part)
{
        struct cc_multipart mp;
        int r = cc_multipart_init(&mp, content_type, body, len);
        if (r < 0)
                return r;
        struct cc_multipart_part part;
        while ((r = cc_multipart_next(&mp, &part)) == 0) {
                if (cc_multipart_name_is(&part, name)) {
                        *ret_part = part;
                        return 0;
                }
        }
        return r;
}

bool cc_multipart_name_is(const struct cc_multipart_part *part, const char *name)
{
        size_t n = strlen(name);
        return part->name && part->name_len == n && memcmp(part->name, name, n) == 0;
}
