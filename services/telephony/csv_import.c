/* The contact import: a CSV upload read in place, row by row, into batches of multi-row inserts.
 * Memory is the upload (held once by the HTTP layer), one row and one batch; never a second
 * copy of the file. Everything that rejects the whole file (not UTF-8, no header with
 * phone_number) is found before the first batch is written. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cc/csv.h"
#include "contacts_internal.h"

/* Columns by header name; any others are ignored. */
enum { F_PHONE, F_NAME, F_EMAIL, F_NOTES, NCOLUMNS };
static const char *const column_names[NCOLUMNS] = {"phone_number", "name", "email", "notes"};
/* The contract's limits (characters), as create and update enforce them. */
static const size_t column_max[NCOLUMNS] = {20, 255, 255, 2000};

/* A row the size of the largest contact the limits allow, with room for ignored columns; a
 * longer one fails as "row too long" instead of growing the reader without bound. */
#define MAX_ROW_BYTES (64u * 1024)

struct import {
        struct cc_db_conn *conn;
        const char *org_id, *campaign_id;
        bool have_header;
        int idx[NCOLUMNS];
        size_t nheader;
        struct tel_contact_batch batch;
        uint64_t batch_first_row;
        struct tel_import_result *res;
};

/* Adds a message while fewer than TEL_IMPORT_MAX_ERRORS are listed; one that must be seen
 * takes the last place when the list is full. */
static void add_error(struct import *im, bool must_show, const char *fmt, ...) CC_PRINTF(3, 4);

static void add_error(struct import *im, bool must_show, const char *fmt, ...)
{
        json_object *errors = im->res->errors;
        size_t n = json_object_array_length(errors);
        if (n >= TEL_IMPORT_MAX_ERRORS && !must_show)
                return;
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n >= TEL_IMPORT_MAX_ERRORS)
                json_object_array_put_idx(errors, n - 1, json_object_new_string(msg));
        else
                json_object_array_add(errors, json_object_new_string(msg));
}

/* A malformed record. A quote never closed took in every later line of the file, so its
 * message says how many and is always listed: otherwise those rows would vanish from the
 * counts without a word. */
static void add_row_error(struct import *im, const struct cc_csv_row *row)
{
        uint64_t no = row->number, lines = row->lines;
        if (strcmp(row->error, CC_CSV_UNTERMINATED) == 0 && lines > 1)
                add_error(im, true,
                          "Error importing row %" PRIu64 ": %s: its quote is never closed, so "
                          "the rest of the file (%" PRIu64 " lines) was read into this row",
                          no, row->error, lines);
        else if (strcmp(row->error, CC_CSV_UNTERMINATED) == 0)
                add_error(im, true, "Error importing row %" PRIu64 ": %s", no, row->error);
        else if (lines > 1)
                add_error(im, false,
                          "Error importing row %" PRIu64 ": %s (the row spans %" PRIu64 " lines)",
                          no, row->error, lines);
        else
                add_error(im, false, "Error importing row %" PRIu64 ": %s", no, row->error);
}

/* Python's str.strip() for the ASCII white space a spreadsheet leaves around values. */
static void trim(const char **s, size_t *len)
{
        static const char ws[] = " \t\r\n\v\f";
        while (*len && strchr(ws, **s) && **s) {
                (*s)++;
                (*len)--;
        }
        while (*len && strchr(ws, (*s)[*len - 1]) && (*s)[*len - 1])
                (*len)--;
}

static bool blank_row(const struct cc_csv_row *row)
{
        for (size_t i = 0; i < row->nfields; i++) {
                const char *s = row->fields[i];
                size_t n = row->lens[i];
                trim(&s, &n);
                if (n)
                        return false;
        }
        return true;
}

static int flush(struct import *im)
{
        size_t n = im->batch.n;
        if (n == 0)
                return 0;
        int r = tel_contact_batch_insert(im->conn, im->org_id, im->campaign_id, &im->batch);
        if (r == 0) {
                im->res->imported += (int64_t)n;
                return 0;
        }
        if (im->res->imported == 0)
                return r; /* nothing written yet: the request fails as a whole */
        /* Earlier batches are in: say exactly where the import stopped. */
        im->res->failed += (int64_t)n;
        add_error(im, true,
                  "Error importing row %" PRIu64 ": database unavailable; this row and the "
                  "rest of the file were not imported",
                  im->batch_first_row);
        return -ECANCELED;
}

static int take_header(struct import *im, const struct cc_csv_row *row)
{
        if (row->error)
                return -EBADMSG;
        cc_csv_header_map(row, column_names, NCOLUMNS, im->idx);
        if (im->idx[F_PHONE] < 0)
                return -EBADMSG;
        im->nheader = row->nfields;
        im->have_header = true;
        return 0;
}

static int on_row(const struct cc_csv_row *row, void *userdata)
{
        struct import *im = userdata;
        if (!im->have_header)
                return take_header(im, row);
        if (!row->error && blank_row(row))
                return 0;
        uint64_t no = row->number;
        if (row->error) {
                im->res->failed++;
                add_row_error(im, row);
                return 0;
        }
        const char *v[NCOLUMNS] = {NULL};
        size_t vl[NCOLUMNS] = {0};
        for (size_t k = 0; k < NCOLUMNS; k++) {
                int i = im->idx[k];
                if (i < 0 || (size_t)i >= row->nfields)
                        continue;
                v[k] = row->fields[i];
                vl[k] = row->lens[i];
                trim(&v[k], &vl[k]);
                if (vl[k] == 0)
                        v[k] = NULL;
        }
        if (!v[F_PHONE]) {
                im->res->failed++;
                add_error(im, false, "Row missing phone_number: %" PRIu64, no);
                return 0;
        }
        if (row->nfields < im->nheader) {
                im->res->failed++;
                add_error(im, false,
                          "Error importing row %" PRIu64 ": expected %zu fields, found %zu", no,
                          im->nheader, row->nfields);
                return 0;
        }
        for (size_t k = 0; k < NCOLUMNS; k++) {
                if (!v[k])
                        continue;
                /* Only notes may hold tab and line breaks, as through the API. */
                if (!tel_contact_text_valid(v[k], vl[k], k == F_NOTES)) {
                        im->res->failed++;
                        add_error(im, false,
                                  "Error importing row %" PRIu64 ": %s: contains a control "
                                  "character",
                                  no, column_names[k]);
                        return 0;
                }
                if ((size_t)cc_utf8_count(v[k], vl[k]) > column_max[k]) {
                        im->res->failed++;
                        add_error(im, false,
                                  "Error importing row %" PRIu64 ": %s: at most %zu characters", no,
                                  column_names[k], column_max[k]);
                        return 0;
                }
        }
        char e164[TEL_E164_MAX];
        const char *phone =
            tel_phone_e164(v[F_PHONE], vl[F_PHONE], tel_cfg.default_country_code, e164);
        if (phone) {
                v[F_PHONE] = phone;
                vl[F_PHONE] = strlen(phone);
        }
        if (im->batch.n == 0)
                im->batch_first_row = no;
        tel_contact_batch_add(&im->batch, v[F_PHONE], vl[F_PHONE], v[F_NAME], vl[F_NAME],
                              v[F_EMAIL], vl[F_EMAIL], v[F_NOTES], vl[F_NOTES]);
        return im->batch.n >= TEL_IMPORT_BATCH ? flush(im) : 0;
}

int tel_contacts_import(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                        const char *data, size_t len, struct tel_import_result *ret, char *err,
                        size_t err_len)
{
        /* Checked whole before anything is written: a file that is not text imports nothing. */
        if (cc_utf8_count(data, len) < 0) {
                cc_set_error(err, err_len, "file: must be UTF-8 text");
                return -EILSEQ;
        }
        struct tel_import_result res = {.errors = json_object_new_array()};
        struct import im = {
            .conn = conn, .org_id = org_id, .campaign_id = campaign_id, .res = &res};
        struct cc_csv *csv = cc_csv_new(MAX_ROW_BYTES, on_row, &im);
        int r = cc_csv_feed(csv, data, len);
        if (r == 0)
                r = cc_csv_finish(csv);
        cc_csv_free(csv);
        if (r == 0 && !im.have_header)
                r = -EBADMSG;
        if (r == 0)
                r = flush(&im);
        tel_contact_batch_fini(&im.batch);
        if (r == -EBADMSG)
                cc_set_error(err, err_len,
                             "file: the first row must be a header naming the columns, "
                             "phone_number among them");
        if (r == -ECANCELED)
                r = 0;
        if (r < 0) {
                json_object_put(res.errors);
                return r;
        }
        *ret = res;
        return 0;
}
