#include "cc/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* Rows as text: fields joined by '|', a malformed row as "#<number> !<error>", one per line;
 * " [<n> lines]" after a record that spans more than one. */
struct collected {
        struct cc_strbuf out;
        size_t rows;
        int stop_after; /* 0: never */
};

static int collect(const struct cc_csv_row *row, void *userdata)
{
        struct collected *c = userdata;
        c->rows++;
        if (row->error) {
                cc_strbuf_printf(&c->out, "#%llu !%s", (unsigned long long)row->number, row->error);
        } else {
                cc_strbuf_printf(&c->out, "#%llu ", (unsigned long long)row->number);
                for (size_t i = 0; i < row->nfields; i++) {
                        ck_assert_uint_eq(strlen(row->fields[i]), row->lens[i]);
                        cc_strbuf_printf(&c->out, "%s%s", i ? "|" : "", row->fields[i]);
                }
        }
        if (row->lines != 1)
                cc_strbuf_printf(&c->out, " [%llu lines]", (unsigned long long)row->lines);
        cc_strbuf_puts(&c->out, "\n");
        return c->stop_after && c->rows == (size_t)c->stop_after ? -ECANCELED : 0;
}

/* Parses text fed in pieces of `piece` bytes (0: all at once). */
static char *parse_pieces(const char *text, size_t len, size_t piece, size_t max_row)
{
        struct collected c = {0};
        struct cc_csv *csv = cc_csv_new(max_row, collect, &c);
        if (!piece)
                piece = len ? len : 1;
        for (size_t at = 0; at < len; at += piece) {
                size_t n = len - at < piece ? len - at : piece;
                ck_assert_int_eq(cc_csv_feed(csv, text + at, n), 0);
        }
        ck_assert_int_eq(cc_csv_finish(csv), 0);
        cc_csv_free(csv);
        return cc_strbuf_take(&c.out);
}

/* Any split of the input gives the same rows. */
static void expect_max(const char *text, size_t max_row, const char *want)
{
        size_t pieces[] = {0, 1, 2, 3, 7};
        for (size_t i = 0; i < CC_ARRAY_SIZE(pieces); i++) {
                char *got = parse_pieces(text, strlen(text), pieces[i], max_row);
                ck_assert_msg(strcmp(got, want) == 0, "pieces of %zu:\n%s\nwant:\n%s", pieces[i],
                              got, want);
                free(got);
        }
}

static void expect(const char *text, const char *want)
{
        expect_max(text, 0, want);
}

START_TEST(csv_plain_rows)
{
        expect("phone_number,name,email\n+15550001,Ann,ann@example.com\n+15550002,Bob,\n",
               "#1 phone_number|name|email\n#2 +15550001|Ann|ann@example.com\n#3 +15550002|Bob|\n");
}
END_TEST

START_TEST(csv_quoted_fields)
{
        /* Commas, doubled quotes and line breaks inside quotes are data. */
        expect("a,b,c\n"
               "\"Smith, Ann\",\"say \"\"hi\"\"\",\"line one\nline two\"\n"
               "\"\",x,\"\"\"\"\n",
               "#1 a|b|c\n#2 Smith, Ann|say \"hi\"|line one\nline two [2 lines]\n#3 |x|\"\n");
}
END_TEST

START_TEST(csv_crlf_and_cr)
{
        expect("a,b\r\n1,2\r\n\"x\r\ny\",3\r\n", "#1 a|b\n#2 1|2\n#3 x\r\ny|3 [2 lines]\n");
        expect("a,b\r1,2\r", "#1 a|b\n#2 1|2\n");
}
END_TEST

START_TEST(csv_bom_stripped)
{
        expect("\xEF\xBB\xBFphone_number,name\n1,2\n", "#1 phone_number|name\n#2 1|2\n");
        /* Only at the start, and a partial BOM is text. */
        expect("a\n\xEF\xBB\xBF\n", "#1 a\n#2 \xEF\xBB\xBF\n");
        expect("\xEF\xBBx\n", "#1 \xEF\xBBx\n");
        expect("\xEF\xBB\xBF", "");
        expect("\xEF\xBB", "#1 \xEF\xBB\n");
}
END_TEST

START_TEST(csv_blank_lines_and_last_line)
{
        /* Blank lines are not reported but keep their number, as a spreadsheet shows them
         * (a CRLF is one line break); the last record needs no line break. */
        expect("\n\na,b\n\n\r\n1,2\n  \n3,4", "#3 a|b\n#6 1|2\n#8 3|4\n");
        expect("a\r\n\r\nb\r\rc\n", "#1 a\n#3 b\n#5 c\n");
        /* A record spanning lines inside quotes is one row. */
        expect("\"1\n2\n3\"\nx\n", "#1 1\n2\n3 [3 lines]\n#2 x\n");
        expect("", "");
        expect("\n\r\n", "");
        /* Empty fields are fields. */
        expect(",,\n", "#1 ||\n");
}
END_TEST

START_TEST(csv_spaces_around_unquoted_fields)
{
        expect(" a ,\t b\t, \" c \" \n", "#1 a|b| c \n");
}
END_TEST

START_TEST(csv_malformed_rows_reported_and_skipped)
{
        /* A quote inside an unquoted field, text after a closing quote: that record is
         * malformed and reading goes on with the next line. */
        expect("a,b\n"
               "O\"Brien,1\n"
               "ok,2\n"
               "\"closed\"x,3\n"
               "ok,4\n",
               "#1 a|b\n#2 !quote inside an unquoted field\n#3 ok|2\n"
               "#4 !text after a closing quote\n#5 ok|4\n");
        /* A record that spans lines before it goes wrong says so. */
        expect("\"a\nb\"x,c\nd\n", "#1 !text after a closing quote [2 lines]\n#2 d\n");
        /* A quote still open at the end: the rest of the stream is that record. */
        expect("a,b\n1,2\n\"open,3\n4,5\n",
               "#1 a|b\n#2 1|2\n#3 !unterminated quoted field [2 lines]\n");
        /* The lines it took in: a line break ending the stream starts no line. */
        expect("a\n\"x\r\ny", "#1 a\n#2 !unterminated quoted field [2 lines]\n");
        expect("a\n\"x\ry\r", "#1 a\n#2 !unterminated quoted field [2 lines]\n");
        expect("a\n\"", "#1 a\n#2 !unterminated quoted field\n");
        expect("a,\"\n", "#1 !unterminated quoted field\n");
        expect("\"x\n\",\"", "#1 !unterminated quoted field [2 lines]\n");
}
END_TEST

START_TEST(csv_malformed_row_skips_to_cr)
{
        /* After a malformed record reading resumes on the next line whatever ends the lines:
         * CR alone (old Mac files) or CRLF, whose LF is no blank line of its own. */
        expect("a,b\r1,\"x\"y\r2,3\r\"q\"z\r4,5", "#1 a|b\n#2 !text after a closing quote\n#3 2|3\n"
                                                  "#4 !text after a closing quote\n#5 4|5\n");
        expect("a\r\n\"x\"y\r\n2\r\nO\"Neil\r\n3\r\n",
               "#1 a\n#2 !text after a closing quote\n#3 2\n"
               "#4 !quote inside an unquoted field\n#5 3\n");
        expect("a\r\"x\"y\r\r2\r", "#1 a\n#2 !text after a closing quote\n#4 2\n");
}
END_TEST

/* text + n copies of rep + tail, NUL-terminated (caller frees). */
static char *repeat(const char *head, const char *rep, size_t n, const char *tail)
{
        struct cc_strbuf b = {0};
        cc_strbuf_puts(&b, head);
        for (size_t i = 0; i < n; i++)
                cc_strbuf_puts(&b, rep);
        cc_strbuf_puts(&b, tail);
        return cc_strbuf_take(&b);
}

START_TEST(csv_long_quoted_field_is_one_record)
{
        /* A quoted field past the row limit still ends where its quote closes: the lines inside
         * it are data, never records of their own, and the record after it is read. */
        char *text = repeat("a,b\n1,\"", "x\n9,evil\n", 20, "end\"\n2,c\n");
        expect_max(text, 64, "#1 a|b\n#2 !row too long [41 lines]\n#3 2|c\n");
        free(text);
        /* A doubled quote inside it is no end; CR and CRLF inside it are data too. */
        text = repeat("a\n\"", "x\"\"\r9,\"\"evil\r\n", 20, "\"\n2\n");
        expect_max(text, 64, "#1 a\n#2 !row too long [41 lines]\n#3 2\n");
        free(text);
        /* Text after its closing quote: one malformed record, then the next line. */
        text = repeat("1,\"", "xxxxxxxx", 20, "\"x,2\n3,4\n");
        expect_max(text, 64, "#1 !row too long\n#2 3|4\n");
        free(text);
}
END_TEST

START_TEST(csv_long_unterminated_quote_is_one_record)
{
        /* A quote never closed takes every later line into its record, however long: one
         * malformed record, not a "row too long" followed by rows read from inside it. */
        char *text = repeat("a,b\n1,\"a\n", "2,ok\n", 100, "");
        expect_max(text, 64, "#1 a|b\n#2 !unterminated quoted field [101 lines]\n");
        free(text);
}
END_TEST

START_TEST(csv_row_too_long)
{
        char text[512];
        memset(text, 'x', sizeof(text));
        memcpy(text, "a,b\n", 4);
        text[200] = '\n';
        memcpy(text + 201, "1,2\n", 4);
        size_t len = 205;
        char *got = parse_pieces(text, len, 0, 64);
        ck_assert_str_eq(got, "#1 a|b\n#2 !row too long\n#3 1|2\n");
        free(got);
        /* Many short fields count too. */
        got = parse_pieces("a,b,c,d,e,f\n1,2\n", 16, 0, 5);
        ck_assert_str_eq(got, "#1 !row too long\n#2 1|2\n");
        free(got);
}
END_TEST

START_TEST(csv_unterminated_quote_does_not_copy_the_stream)
{
        /* An endless quoted field in a large stream is cut off at the row limit. */
        size_t n = 4u << 20;
        char *text = malloc(n);
        memset(text, 'y', n);
        memcpy(text, "a\n\"", 3);
        for (size_t i = 100; i < n; i += 100)
                text[i] = '\n';
        char *got = parse_pieces(text, n, 1u << 20, 4096);
        /* The record is reported once, and it is all the rest of the stream. */
        ck_assert_str_eq(got, "#1 a\n#2 !unterminated quoted field [41944 lines]\n");
        free(got);
        free(text);
}
END_TEST

static int check_nul(const struct cc_csv_row *row, void *userdata)
{
        ck_assert_uint_eq(row->nfields, 2);
        ck_assert_uint_eq(row->lens[0], 3);
        ck_assert(memcmp(row->fields[0], "a\0b", 3) == 0);
        *(int *)userdata += 1;
        return 0;
}

START_TEST(csv_nul_length_reported)
{
        int n = 0;
        struct cc_csv *csv = cc_csv_new(0, check_nul, &n);
        ck_assert_int_eq(cc_csv_feed(csv, "a\0b,c\n", 6), 0);
        ck_assert_int_eq(cc_csv_finish(csv), 0);
        cc_csv_free(csv);
        ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(csv_callback_stops_reader)
{
        struct collected c = {.stop_after = 2};
        struct cc_csv *csv = cc_csv_new(0, collect, &c);
        ck_assert_int_eq(cc_csv_feed(csv, "1\n2\n3\n4\n", 8), -ECANCELED);
        ck_assert_int_eq(cc_csv_feed(csv, "5\n", 2), -ECANCELED);
        ck_assert_int_eq(cc_csv_finish(csv), -ECANCELED);
        cc_csv_free(csv);
        ck_assert_uint_eq(c.rows, 2);
        cc_strbuf_fini(&c.out);
        cc_csv_free(NULL);
}
END_TEST

static int map_header(const struct cc_csv_row *row, void *userdata)
{
        static const char *const names[] = {"phone_number", "name", "email", "notes"};
        cc_csv_header_map(row, names, 4, userdata);
        return 1;
}

START_TEST(csv_header_map_by_name)
{
        int idx[4];
        struct cc_csv *csv = cc_csv_new(0, map_header, idx);
        static const char text[] = "Email, Phone_Number ,other,phone_number,name\n";
        ck_assert_int_eq(cc_csv_feed(csv, text, sizeof(text) - 1), 1);
        cc_csv_free(csv);
        ck_assert_int_eq(idx[0], 1); /* the first of a repeated name */
        ck_assert_int_eq(idx[1], 4);
        ck_assert_int_eq(idx[2], 0);
        ck_assert_int_eq(idx[3], -1);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("csv");
        TCase *tc = tcase_create("csv");
        tcase_add_test(tc, csv_plain_rows);
        tcase_add_test(tc, csv_quoted_fields);
        tcase_add_test(tc, csv_crlf_and_cr);
        tcase_add_test(tc, csv_bom_stripped);
        tcase_add_test(tc, csv_blank_lines_and_last_line);
        tcase_add_test(tc, csv_spaces_around_unquoted_fields);
        tcase_add_test(tc, csv_malformed_rows_reported_and_skipped);
        tcase_add_test(tc, csv_malformed_row_skips_to_cr);
        tcase_add_test(tc, csv_long_quoted_field_is_one_record);
        tcase_add_test(tc, csv_long_unterminated_quote_is_one_record);
        tcase_add_test(tc, csv_row_too_long);
        tcase_add_test(tc, csv_unterminated_quote_does_not_copy_the_stream);
        tcase_add_test(tc, csv_nul_length_reported);
        tcase_add_test(tc, csv_callback_stops_reader);
        tcase_add_test(tc, csv_header_map_by_name);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
