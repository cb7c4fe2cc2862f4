#include "cc/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A path deeper than this cannot match anything we register; it bounds the stack arrays. */
#define MAX_SEGS 32

struct segment {
        char *text; /* literal text, or the parameter name */
        size_t len;
        bool param;
        bool rest; /* "{*name}": the rest of the path, zero or more segments; last only */
};

struct route {
        char *method;
        char *pattern;
        const void *handler;
        struct segment *segs;
        size_t nsegs;
        size_t nparams;
        bool rest; /* the last segment is a catch-all */
        /* One bit per segment, literal segments set, first segment highest: when a path matches
         * several patterns the one with literals furthest to the left wins ("/calls/active"
         * beats "/calls/{id}"). */
        uint64_t specificity;
};

struct cc_router {
        struct route *routes;
        size_t n, cap;
};

struct cc_router *cc_router_new(void)
{
        return cc_xcalloc(1, sizeof(struct cc_router));
}

static void route_fini(struct route *rt)
{
        for (size_t i = 0; i < rt->nsegs; i++)
                free(rt->segs[i].text);
        free(rt->segs);
        free(rt->method);
        free(rt->pattern);
}

void cc_router_free(struct cc_router *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++)
                route_fini(&r->routes[i]);
        free(r->routes);
        free(r);
}

static bool valid_method(const char *m)
{
        if (!m || !*m || strlen(m) > 16)
                return false;
        for (; *m; m++)
                if (*m < 'A' || *m > 'Z')
                        return false;
        return true;
}

static bool is_name_char(char c, bool first)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
                return true;
        return !first && c >= '0' && c <= '9';
}

/* Characters a literal pattern segment may hold: RFC 3986 pchar minus '%' (patterns are written
 * decoded) and minus the characters that would make a pattern ambiguous. */
static bool is_literal_char(char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static int parse_pattern(const char *pattern, struct route *rt)
{
        size_t plen = strlen(pattern);
        if (plen == 0 || pattern[0] != '/')
                return -EINVAL;
        /* "/x/" and "/x" are the same route; "/" alone is the root. */
        if (plen > 1 && pattern[plen - 1] == '/') {
                if (pattern[plen - 2] == '/')
                        return -EINVAL;
                plen--;
        }
        struct segment segs[MAX_SEGS];
        size_t nsegs = 0, nparams = 0;
        int r = -EINVAL;
        const char *p = pattern + 1, *end = pattern + plen;
        while (p < end) {
                const char *e = memchr(p, '/', (size_t)(end - p));
                if (!e)
                        e = end;
                size_t len = (size_t)(e - p);
                if (len == 0 || nsegs == MAX_SEGS)
                        goto fail;
                struct segment *s = &segs[nsegs];
                if (p[0] == '{') {
                        bool rest = len > 1 && p[1] == '*';
                        size_t off = rest ? 2 : 1;
                        if (len < off + 2 || p[len - 1] != '}' || (rest && e != end))
                                goto fail;
                        for (size_t i = off; i < len - 1; i++)
                                if (!is_name_char(p[i], i == off))
                                        goto fail;
                        size_t nlen = len - off - 1;
                        for (size_t i = 0; i < nsegs; i++)
                                if (segs[i].param && segs[i].len == nlen &&
                                    memcmp(segs[i].text, p + off, nlen) == 0)
                                        goto fail;
                        if (++nparams > CC_ROUTER_MAX_PARAMS)
                                goto fail;
                        s->param = true;
                        s->rest = rest;
                        s->text = cc_xstrndup(p + off, nlen);
                        s->len = nlen;
                } else {
                        for (size_t i = 0; i < len; i++)
                                if (!is_literal_char(p[i]))
                                        goto fail;
                        s->param = false;
                        s->rest = false;
                        s->text = cc_xstrndup(p, len);
                        s->len = len;
                }
                nsegs++;
                p = e + 1;
        }
        rt->segs = cc_xmalloc(sizeof(struct segment) * (nsegs ? nsegs : 1));
        memcpy(rt->segs, segs, sizeof(struct segment) * nsegs);
        rt->nsegs = nsegs;
        rt->nparams = nparams;
        rt->rest = nsegs > 0 && segs[nsegs - 1].rest;
        rt->specificity = 0;
        for (size_t i = 0; i < nsegs; i++)
                if (!segs[i].param)
                        rt->specificity |= UINT64_C(1) << (63 - i);
        return 0;
fail:
        for (size_t i = 0; i < nsegs; i++)
                free(segs[i].text);
        return r;
}

static bool same_shape(const struct route *a, const struct route *b)
{
        if (a->nsegs != b->nsegs || a->rest != b->rest)
                return false;
        for (size_t i = 0; i < a->nsegs; i++) {
                const struct segment *x = &a->segs[i], *y = &b->segs[i];
                if (x->param != y->param)
                        return false;
                if (!x->param && (x->len != y->len || memcmp(x->text, y->text, x->len) != 0))
                        return false;
        }
        return true;
}

int cc_router_add(struct cc_router *r, const char *method, const char *pattern, const void *handler)
{
        if (!r || !valid_method(method) || !pattern)
                return -EINVAL;
        struct route rt = {0};
        int ret = parse_pattern(pattern, &rt);
        if (ret < 0)
                return ret;
        for (size_t i = 0; i < r->n; i++) {
                if (strcmp(r->routes[i].method, method) == 0 && same_shape(&r->routes[i], &rt)) {
                        route_fini(&rt);
                        return -EEXIST;
                }
        }
        rt.method = cc_xstrdup(method);
        rt.pattern = cc_xstrdup(pattern);
        rt.handler = handler;
        if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 16;
                r->routes = cc_xrealloc(r->routes, r->cap * sizeof(struct route));
        }
        r->routes[r->n++] = rt;
        return 0;
}

/* Percent-decodes one path segment into out (which holds at least len bytes); returns the
 * decoded length or -1 for a bad escape or an encoded NUL, which no route accepts. */
static ssize_t decode_segment(const char *s, size_t len, char *out)
{
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] != '%') {
                        out[o++] = s[i];
                        continue;
                }
                if (i + 2 >= len)
                        return -1;
                int hi = cc_hex_value(s[i + 1]), lo = cc_hex_value(s[i + 2]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -1;
                out[o++] = (char)(hi << 4 | lo);
                i += 2;
        }
        return (ssize_t)o;
}

static bool literal_matches(const struct segment *seg, const char *s, size_t len)
{
        if (!memchr(s, '%', len))
                return seg->len == len && memcmp(seg->text, s, len) == 0;
        if (len > 256)
                return false;
        char buf[256];
        ssize_t n = decode_segment(s, len, buf);
        return n >= 0 && (size_t)n == seg->len && memcmp(seg->text, buf, seg->len) == 0;
}

struct path_segs {
        const char *start[MAX_SEGS];
        size_t len[MAX_SEGS];
        size_t n;
};

static int split_path(const char *path, struct path_segs *ps)
{
        size_t plen = strlen(path);
        if (plen == 0 || path[0] != '/')
                return -ENOENT;
        if (plen > 1 && path[plen - 1] == '/') {
                if (path[plen - 2] == '/')
                        return -ENOENT;
                plen--;
        }
        ps->n = 0;
        const char *p = path + 1, *end = path + plen;
        while (p < end) {
                const char *e = memchr(p, '/', (size_t)(end - p));
                if (!e)
                        e = end;
                if (ps->n == MAX_SEGS)
                        return -ENOENT;
                ps->start[ps->n] = p;
                ps->len[ps->n] = (size_t)(e - p);
                ps->n++;
                p = e + 1;
        }
        return 0;
}

static bool path_matches(const struct route *rt, const struct path_segs *ps)
{
        size_t fixed = rt->nsegs;
        if (rt->rest) {
                fixed--;
                if (ps->n < fixed)
                        return false;
        } else if (rt->nsegs != ps->n) {
                return false;
        }
        for (size_t i = 0; i < fixed; i++) {
                const struct segment *seg = &rt->segs[i];
                if (ps->len[i] == 0)
                        return false;
                if (seg->param)
                        continue;
                if (!literal_matches(seg, ps->start[i], ps->len[i]))
                        return false;
        }
        return true;
}

static void allow_append(char *allow, size_t allow_len, const char *method)
{
        size_t used = strlen(allow), mlen = strlen(method);
        /* The same method may be registered under two matching patterns; list it once. */
        for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
                if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
                        return;
        snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", method);
}

int cc_router_match(const struct cc_router *r, const char *method, const char *path, char *scratch,
                    size_t scratch_len, struct cc_route_match *ret_match, char *allow,
                    size_t allow_len)
{
        struct path_segs ps;
        if (split_path(path, &ps) < 0)
                return -ENOENT;
        const struct route *best = NULL;
        bool path_found = false;
        if (allow && allow_len)
                allow[0] = '\0';
        for (size_t i = 0; i < r->n; i++) {
                const struct route *rt = &r->routes[i];
                if (!path_matches(rt, &ps))
                        continue;
                path_found = true;
                if (strcmp(rt->method, method) == 0) {
                        /* At equal specificity a fixed-length pattern beats a catch-all. */
                        if (!best || rt->specificity > best->specificity ||
                            (rt->specificity == best->specificity && best->rest && !rt->rest))
                                best = rt;
                } else if (allow && allow_len) {
                        allow_append(allow, allow_len, rt->method);
                }
        }
        if (!best)
                return path_found ? -EPERM : -ENOENT;

        struct cc_route_match m = {.handler = best->handler, .pattern = best->pattern};
        size_t used = 0;
        for (size_t i = 0; i < best->nsegs; i++) {
                if (!best->segs[i].param)
                        continue;
                if (best->segs[i].rest) {
                        /* The remainder as sent, still percent-encoded: decoding would make an
                         * encoded '/' indistinguishable from a separator. */
                        const char *rs = i < ps.n ? ps.start[i] : "";
                        size_t rlen = strlen(rs);
                        if (used + rlen + 1 > scratch_len)
                                return -ENOBUFS;
                        memcpy(scratch + used, rs, rlen + 1);
                        m.params[m.nparams].name = best->segs[i].text;
                        m.params[m.nparams].value = scratch + used;
                        m.nparams++;
                        used += rlen + 1;
                        continue;
                }
                if (used + ps.len[i] + 1 > scratch_len)
                        return -ENOBUFS;
                ssize_t n = decode_segment(ps.start[i], ps.len[i], scratch + used);
                if (n < 0)
                        return -ENOENT;
                scratch[used + (size_t)n] = '\0';
                m.params[m.nparams].name = best->segs[i].text;
                m.params[m.nparams].value = scratch + used;
                m.nparams++;
                used += (size_t)n + 1;
        }
        *ret_match = m;
        return 0;
}
