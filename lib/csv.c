#include "cc/csv.h"

#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_ROW (1u << 20)
/* libcsv grows a field until it ends; feeding it in slices lets the reader notice an endless
 * one (an unterminated quote in a large upload) before it has copied much of the stream. */
#define SLICE (64u * 1024)

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
static const unsigned char parse_options = CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL;

struct cc_csv {
        struct csv_parser p;
        cc_csv_row_fn fn;
        void *userdata;
        size_t max_row;
        /* the current record's fields, each NUL-terminated, one after another */
        char *buf;
        size_t len, cap;
        size_t *offs, *lens;
        const char **ptrs;
        size_t nfields, fcap;
        /* Past max_row: nothing more of the record is kept, but libcsv still reads it, so it
         * ends where its quotes say and not at a line break inside them. */
        bool too_long;
        uint64_t breaks; /* line breaks inside the current record's quoted fields */
        bool prev_cr;    /* the last byte counted was a CR (a CRLF is one break) */
        bool tail_break; /* the current field's bytes so far end in a line break */
        uint64_t number; /* records begun so far */
        int stop;
        bool skipping; /* dropping the rest of a malformed record's line */
        int last_term; /* what ended the last line: '\r', '\n' */
        bool started;  /* past the place a BOM could be */
        size_t bom_have;
        bool finished;
};

static void reset_row(struct cc_csv *csv)
{
        csv->len = 0;
        csv->nfields = 0;
        csv->too_long = false;
        csv->breaks = 0;
        csv->prev_cr = csv->tail_break = false;
}

static void reset_parser(struct cc_csv *csv)
{
        csv_free(&csv->p);
        csv_init(&csv->p, parse_options);
        csv_set_realloc_func(&csv->p, cc_xrealloc);
        csv_set_free_func(&csv->p, free);
        reset_row(csv);
}

static void report(struct cc_csv *csv, const char *error, uint64_t lines)
{
        csv->number++;
        if (csv->stop)
                return;
        struct cc_csv_row row = {.number = csv->number, .lines = lines, .error = error};
        if (!error) {
                for (size_t i = 0; i < csv->nfields; i++)
                        csv->ptrs[i] = csv->buf + csv->offs[i];
                row.nfields = csv->nfields;
                row.fields = csv->ptrs;
                row.lens = csv->lens;
        }
        csv->stop = csv->fn(&row, csv->userdata);
}

/* Counts the line breaks in a field's bytes, which may come in pieces. */
static void count_breaks(struct cc_csv *csv, const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\n' && !csv->prev_cr)
                        csv->breaks++;
                else if (s[i] == '\r')
                        csv->breaks++;
                csv->prev_cr = s[i] == '\r';
        }
        if (n)
                csv->tail_break = s[n - 1] == '\r' || s[n - 1] == '\n';
}

static void on_field(void *data, size_t n, void *userdata)
{
        struct cc_csv *csv = userdata;
        /* Only a quoted field holds line breaks; the scan is as cheap as the copy below. */
        count_breaks(csv, data, n);
        csv->prev_cr = csv->tail_break = false;
        if (csv->stop || csv->too_long)
                return;
        /* buf holds a NUL after each field: those are not the row's bytes. */
        if (csv->len - csv->nfields + n > csv->max_row) {
                csv->too_long = true;
                return;
        }
        if (csv->nfields == csv->fcap) {
                csv->fcap = csv->fcap ? 2 * csv->fcap : 16;
                csv->offs = cc_xrealloc(csv->offs, csv->fcap * sizeof(*csv->offs));
                csv->lens = cc_xrealloc(csv->lens, csv->fcap * sizeof(*csv->lens));
                csv->ptrs = cc_xrealloc(csv->ptrs, csv->fcap * sizeof(*csv->ptrs));
        }
        if (csv->len + n + 1 > csv->cap) {
                size_t cap = csv->cap ? csv->cap : 256;
                while (cap < csv->len + n + 1)
                        cap *= 2;
                csv->buf = cc_xrealloc(csv->buf, cap);
                csv->cap = cap;
        }
        if (n)
                memcpy(csv->buf + csv->len, data, n);
        csv->buf[csv->len + n] = '\0';
        csv->offs[csv->nfields] = csv->len;
        csv->lens[csv->nfields] = n;
        csv->nfields++;
        csv->len += n + 1;
}

static void on_row(int terminator, void *userdata)
{
        struct cc_csv *csv = userdata;
        int last = csv->last_term;
        csv->last_term = terminator;
        if (csv->nfields == 0 && !csv->too_long) {
                /* Every line break outside a record is reported (CSV_REPALL_NL) so blank lines
                 * keep their place in the numbering, as a spreadsheet shows them; the LF of a
                 * CRLF is no line of its own. */
                if (!(terminator == '\n' && last == '\r'))
                        csv->number++;
                return;
        }
        report(csv, csv->too_long ? "row too long" : NULL, csv->breaks + 1);
        reset_row(csv);
}

/* Everything up to and including the next line break (LF or CR; the LF of a CRLF is then
 * taken as the end of that line, see on_row) is dropped: returns how much of data that is (all
 * of it when the line goes on). */
static size_t skip_line(struct cc_csv *csv, const char *data, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (data[i] == '\n' || data[i] == '\r') {
                        csv->skipping = false;
                        csv->last_term = data[i];
                        return i + 1;
                }
        }
        return len;
}

/* Forgets what libcsv holds of a field of a record already too long, so memory stays bounded
 * however long the field goes on. libcsv takes back the last `spaces` bytes of an unquoted
 * field and the closing quote plus the spaces after it of a quoted one; only whether spaces
 * is zero changes how it reads on, so one space and the quote are all that must stay. */
static void drop_field_bytes(struct cc_csv *csv)
{
        struct csv_parser *p = &csv->p;
        size_t spaces = p->spaces ? 1 : 0;
        size_t keep = p->entry_pos < spaces + 1 ? p->entry_pos : spaces + 1;
        size_t drop = p->entry_pos - keep;
        count_breaks(csv, p->entry_buf, drop);
        memmove(p->entry_buf, p->entry_buf + drop, keep);
        p->entry_pos = keep;
        p->spaces = spaces;
}

static void parse(struct cc_csv *csv, const char *data, size_t len)
{
        while (len > 0 && !csv->stop) {
                if (csv->skipping) {
                        size_t k = skip_line(csv, data, len);
                        data += k;
                        len -= k;
                        continue;
                }
                size_t slice = len < SLICE ? len : SLICE;
                size_t k = csv_parse(&csv->p, data, slice, on_field, on_row, csv);
                if (k < slice) {
                        /* libcsv stops on the offending byte: a quote in an unquoted field,
                         * anything else right after a closing quote. */
                        count_breaks(csv, csv->p.entry_buf, csv->p.entry_pos);
                        if (csv->p.entry_pos + csv->len - csv->nfields > csv->max_row)
                                csv->too_long = true; /* however the stream was cut */
                        const char *why = csv->too_long    ? "row too long"
                                          : data[k] == '"' ? "quote inside an unquoted field"
                                                           : "text after a closing quote";
                        report(csv, why, csv->breaks + 1);
                        reset_parser(csv);
                        csv->skipping = true;
                        data += k;
                        len -= k;
                        continue;
                }
                data += slice;
                len -= slice;
                if (csv->p.entry_pos + csv->len - csv->nfields > csv->max_row)
                        csv->too_long = true;
                if (csv->too_long)
                        drop_field_bytes(csv);
        }
}

struct cc_csv *cc_csv_new(size_t max_row_bytes, cc_csv_row_fn fn, void *userdata)
{
        struct cc_csv *csv = cc_xcalloc(1, sizeof(*csv));
        csv->fn = fn;
        csv->userdata = userdata;
        csv->max_row = max_row_bytes ? max_row_bytes : DEFAULT_MAX_ROW;
        csv_init(&csv->p, parse_options);
        csv_set_realloc_func(&csv->p, cc_xrealloc);
        csv_set_free_func(&csv->p, free);
        return csv;
}

int cc_csv_feed(struct cc_csv *csv, const void *data, size_t len)
{
        const unsigned char *d = data;
        if (csv->finished)
                return csv->stop ? csv->stop : -EINVAL;
        if (!csv->started) {
                while (len > 0 && csv->bom_have < sizeof(bom) && *d == bom[csv->bom_have]) {
                        csv->bom_have++;
                        d++;
                        len--;
                }
                if (csv->bom_have < sizeof(bom) && len == 0)
                        return 0; /* all of it could still be a BOM */
                csv->started = true;
                /* A partial match was text after all. */
                if (csv->bom_have < sizeof(bom))
                        parse(csv, (const char *)bom, csv->bom_have);
        }
        parse(csv, (const char *)d, len);
        return csv->stop;
}

int cc_csv_finish(struct cc_csv *csv)
{
        if (csv->finished)
                return csv->stop;
        if (!csv->started) {
                csv->started = true;
                if (csv->bom_have < sizeof(bom))
                        parse(csv, (const char *)bom, csv->bom_have);
        }
        csv->finished = true;
        if (csv->stop || csv->skipping)
                return csv->stop;
        if (csv_fini(&csv->p, on_field, on_row, csv) != 0) {
                /* A quote still open: libcsv holds the rest of its field. A line break ending
                 * the stream starts no line of its own. */
                count_breaks(csv, csv->p.entry_buf, csv->p.entry_pos);
                report(csv, csv_error(&csv->p) == CSV_EPARSE ? CC_CSV_UNTERMINATED : "row too long",
                       csv->breaks + (csv->tail_break ? 0 : 1));
        }
        return csv->stop;
}

void cc_csv_free(struct cc_csv *csv)
{
        if (!csv)
                return;
        csv_free(&csv->p);
        free(csv->buf);
        free(csv->offs);
        free(csv->lens);
        free(csv->ptrs);
        free(csv);
}

void cc_csv_header_map(const struct cc_csv_row *header, const char *const *names, size_t n,
                       int *ret_index)
{
        for (size_t k = 0; k < n; k++)
                ret_index[k] = -1;
        for (size_t i = header->nfields; i-- > 0;) {
                const char *s = header->fields[i];
                size_t len = header->lens[i];
                while (len && (*s == ' ' || *s == '\t')) {
                        s++;
                        len--;
                }
                while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                        len--;
                /* Walking backwards, the first occurrence is the last written. */
                for (size_t k = 0; k < n; k++)
                        if (strlen(names[k]) == len && strncasecmp(s, names[k], len) == 0)
                                ret_index[k] = (int)i;
        }
}
