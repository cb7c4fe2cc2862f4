#include "cc/twiml.h"

#include <stdlib.h>
#include <string.h>

struct cc_twiml {
        struct cc_strbuf b;
        char **open; /* names of the open elements, innermost last */
        size_t depth;
        size_t cap;
};

struct cc_twiml *cc_twiml_new(void)
{
        struct cc_twiml *t = cc_xcalloc(1, sizeof(*t));
        cc_strbuf_puts(&t->b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
        return t;
}

void cc_twiml_free(struct cc_twiml *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->depth; i++)
                free(t->open[i]);
        free(t->open);
        cc_strbuf_fini(&t->b);
        free(t);
}

static void escape(struct cc_strbuf *b, const char *s)
{
        const char *run = s;
        for (; *s; s++) {
                const char *rep;
                unsigned char c = (unsigned char)*s;
                switch (c) {
                case '&':
                        rep = "&amp;";
                        break;
                case '<':
                        rep = "&lt;";
                        break;
                case '>':
                        rep = "&gt;";
                        break;
                case '"':
                        rep = "&quot;";
                        break;
                case '\'':
                        rep = "&apos;";
                        break;
                case '\t':
                case '\n':
                case '\r':
                        continue;
                default:
                        /* XML 1.0 forbids other control characters even as references; one
                         * would make Twilio reject the whole document, so it is dropped. */
                        if (c < 0x20)
                                rep = "";
                        else
                                continue;
                }
                cc_strbuf_append(b, run, (size_t)(s - run));
                cc_strbuf_puts(b, rep);
                run = s + 1;
        }
        cc_strbuf_append(b, run, (size_t)(s - run));
}

static void start_tag(struct cc_twiml *t, const char *verb, const char *const *attrs)
{
        cc_strbuf_append(&t->b, "<", 1);
        cc_strbuf_puts(&t->b, verb);
        for (size_t i = 0; attrs && attrs[i]; i += 2) {
                if (!attrs[i + 1])
                        continue;
                cc_strbuf_append(&t->b, " ", 1);
                cc_strbuf_puts(&t->b, attrs[i]);
                cc_strbuf_append(&t->b, "=\"", 2);
                escape(&t->b, attrs[i + 1]);
                cc_strbuf_append(&t->b, "\"", 1);
        }
}

void cc_twiml_open(struct cc_twiml *t, const char *verb, const char *const *attrs)
{
        start_tag(t, verb, attrs);
        cc_strbuf_append(&t->b, ">", 1);
        if (t->depth == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 8;
                t->open = cc_xrealloc(t->open, t->cap * sizeof(*t->open));
        }
        t->open[t->depth++] = cc_xstrdup(verb);
}

void cc_twiml_text(struct cc_twiml *t, const char *text)
{
        if (text)
                escape(&t->b, text);
}

void cc_twiml_close(struct cc_twiml *t)
{
        if (t->depth == 0)
                return;
        char *verb = t->open[--t->depth];
        cc_strbuf_append(&t->b, "</", 2);
        cc_strbuf_puts(&t->b, verb);
        cc_strbuf_append(&t->b, ">", 1);
        free(verb);
}

void cc_twiml_leaf(struct cc_twiml *t, const char *verb, const char *const *attrs, const char *text)
{
        if (!text) {
                start_tag(t, verb, attrs);
                cc_strbuf_append(&t->b, "/>", 2);
                return;
        }
        cc_twiml_open(t, verb, attrs);
        cc_twiml_text(t, text);
        cc_twiml_close(t);
}

char *cc_twiml_finish(struct cc_twiml *t, size_t *ret_len)
{
        while (t->depth > 0)
                cc_twiml_close(t);
        cc_strbuf_puts(&t->b, "</Response>");
        if (ret_len)
                *ret_len = t->b.len;
        char *doc = cc_strbuf_take(&t->b);
        cc_twiml_free(t);
        return doc;
}
