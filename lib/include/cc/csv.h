/* A streaming CSV reader (RFC 4180) on libcsv: feed bytes in pieces of any size, get each record
 * as a row of fields. A UTF-8 byte order mark opening the stream is dropped; fields may be
 * quoted ("a, b", "say ""hi""", line breaks inside quotes); records end in LF, CRLF or CR;
 * blank lines are not reported but keep their place in the numbering (row numbers are those a
 * spreadsheet shows); spaces and tabs around an unquoted field are dropped (libcsv).
 * Parsing is strict: a quote inside an unquoted field, text after a closing quote and a quoted
 * field still open at the end of the stream make that record malformed; it is reported as such
 * and reading resumes on the next line (after its LF, CRLF or CR). A record longer than the
 * limit is malformed as a whole: its quotes are still followed to its true end, so no line
 * inside a quoted field is ever read as a record. Memory stays bounded by the longest row
 * allowed, never by the stream. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cc/util.h"

struct cc_csv;

/* The error of a record whose quoted field is still open at the end of the stream. */
#define CC_CSV_UNTERMINATED "unterminated quoted field"

struct cc_csv_row {
        uint64_t number; /* 1-based: lines outside quotes before it, blank ones included, + 1 */
        size_t nfields;  /* 0 for a malformed record */
        const char *const *fields; /* each NUL-terminated; lens[i] counts a NUL inside a field */
        const size_t *lens;
        /* Physical lines the record spans: 1 + the line breaks inside its quoted fields. For a
         * quote left open at the end, the lines it took in (a final line break starts none). */
        uint64_t lines;
        const char *error; /* NULL, or why the record is malformed ("unterminated quoted field") */
};

/* Called once per record; the row is valid during the call only. A non-zero return stops the
 * reader: later records are not reported and feed/finish return that value. */
typedef int (*cc_csv_row_fn)(const struct cc_csv_row *row, void *userdata);

/* max_row_bytes: the most field bytes one record may hold (0 = 1 MiB); a longer record is
 * malformed ("row too long"). */
struct cc_csv *cc_csv_new(size_t max_row_bytes, cc_csv_row_fn fn, void *userdata);
/* 0, or the callback's non-zero result once it has stopped the reader. */
int cc_csv_feed(struct cc_csv *csv, const void *data, size_t len) CC_MUSTCHECK;
/* The end of the stream: reports the last record if it had no line break. Returns as feed. */
int cc_csv_finish(struct cc_csv *csv) CC_MUSTCHECK;
void cc_csv_free(struct cc_csv *csv);

/* For each of n names, the index of the header field with that name (-1 when none): compared
 * case-insensitively (ASCII) after trimming spaces and tabs; the first of repeated names wins. */
void cc_csv_header_map(const struct cc_csv_row *header, const char *const *names, size_t n,
                       int *ret_index);
