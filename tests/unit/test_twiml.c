#include "cc/twiml.h"

#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"

START_TEST(twiml_empty_response)
{
        size_t len = 0;
        char *doc = cc_twiml_finish(cc_twiml_new(), &len);
        ck_assert_str_eq(doc, HEAD "</Response>");
        ck_assert_uint_eq(len, strlen(doc));
        free(doc);
}
END_TEST

START_TEST(twiml_nesting_and_attributes)
{
        struct cc_twiml *t = cc_twiml_new();
        const char *gather[] = {"input", "dtmf", "numDigits", "1", "action", "/ivr/next", NULL};
        cc_twiml_open(t, "Gather", gather);
        const char *say[] = {"voice", "alice", "language", NULL, NULL};
        cc_twiml_leaf(t, "Say", say, "Press 1 for sales.");
        cc_twiml_close(t);
        const char *dial[] = {"timeout", "20", NULL};
        cc_twiml_open(t, "Dial", dial);
        const char *conf[] = {"startConferenceOnEnter", "true", "endConferenceOnExit", "false",
                              NULL};
        cc_twiml_leaf(t, "Conference", conf, "room-42");
        cc_twiml_close(t);
        cc_twiml_leaf(t, "Hangup", NULL, NULL);
        size_t len = 0;
        char *doc = cc_twiml_finish(t, &len);
        ck_assert_str_eq(doc, HEAD "<Gather input=\"dtmf\" numDigits=\"1\" action=\"/ivr/next\">"
                                   "<Say voice=\"alice\">Press 1 for sales.</Say></Gather>"
                                   "<Dial timeout=\"20\"><Conference startConferenceOnEnter="
                                   "\"true\" endConferenceOnExit=\"false\">room-42</Conference>"
                                   "</Dial><Hangup/></Response>");
        ck_assert_uint_eq(len, strlen(doc));
        free(doc);
}
END_TEST

START_TEST(twiml_escapes_caller_text)
{
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_leaf(t, "Say", NULL, "<script>&\"'");
        char *doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, HEAD "<Say>&lt;script&gt;&amp;&quot;&apos;</Say></Response>");
        free(doc);

        /* A contact name trying to close the element and add a verb of its own. */
        t = cc_twiml_new();
        cc_twiml_open(t, "Say", NULL);
        cc_twiml_text(t, "Bob</Say><Dial>+15550001111</Dial><Say>");
        cc_twiml_close(t);
        doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, HEAD "<Say>Bob&lt;/Say&gt;&lt;Dial&gt;+15550001111&lt;/Dial&gt;"
                                   "&lt;Say&gt;</Say></Response>");
        ck_assert_ptr_null(strstr(doc, "<Dial>"));
        free(doc);
}
END_TEST

START_TEST(twiml_escapes_attribute_values)
{
        struct cc_twiml *t = cc_twiml_new();
        const char *attrs[] = {"action", "/x?a=1&b=\"2\" onload='y'<>", NULL};
        cc_twiml_leaf(t, "Redirect", attrs, "/next");
        char *doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, HEAD "<Redirect action=\"/x?a=1&amp;b=&quot;2&quot; "
                                   "onload=&apos;y&apos;&lt;&gt;\">/next</Redirect></Response>");
        free(doc);
}
END_TEST

START_TEST(twiml_drops_control_characters)
{
        /* XML 1.0 has no way to carry these; one would make the whole document unparseable. */
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_leaf(t, "Say", NULL,
                      "a\x01"
                      "b\tc\nd\x1f"
                      "e caf\xc3\xa9");
        char *doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, HEAD "<Say>ab\tc\nde caf\xc3\xa9</Say></Response>");
        free(doc);
}
END_TEST

START_TEST(twiml_finish_closes_open_elements)
{
        struct cc_twiml *t = cc_twiml_new();
        const char *gather[] = {"numDigits", "4", NULL};
        cc_twiml_open(t, "Gather", gather);
        cc_twiml_open(t, "Say", NULL);
        cc_twiml_text(t, "Enter your PIN");
        size_t len = 0;
        char *doc = cc_twiml_finish(t, &len);
        ck_assert_str_eq(doc, HEAD "<Gather numDigits=\"4\"><Say>Enter your PIN</Say></Gather>"
                                   "</Response>");
        ck_assert_uint_eq(len, strlen(doc));
        free(doc);
}
END_TEST

START_TEST(twiml_close_without_open_keeps_response)
{
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_close(t);
        cc_twiml_leaf(t, "Pause", (const char *[]){"length", "2", NULL}, NULL);
        cc_twiml_close(t);
        char *doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, HEAD "<Pause length=\"2\"/></Response>");
        free(doc);
}
END_TEST

START_TEST(twiml_deep_nesting)
{
        /* Deeper than any initial stack, so growing it is exercised. */
        struct cc_twiml *t = cc_twiml_new();
        struct cc_strbuf want = {0};
        cc_strbuf_puts(&want, HEAD);
        for (int i = 0; i < 40; i++) {
                char verb[16];
                snprintf(verb, sizeof(verb), "E%d", i);
                cc_twiml_open(t, verb, NULL);
                cc_strbuf_printf(&want, "<E%d>", i);
        }
        for (int i = 39; i >= 0; i--)
                cc_strbuf_printf(&want, "</E%d>", i);
        cc_strbuf_puts(&want, "</Response>");
        char *doc = cc_twiml_finish(t, NULL);
        ck_assert_str_eq(doc, want.data);
        free(doc);
        cc_strbuf_fini(&want);
}
END_TEST

START_TEST(twiml_free_unfinished)
{
        struct cc_twiml *t = cc_twiml_new();
        cc_twiml_open(t, "Gather", NULL);
        cc_twiml_free(t);
        cc_twiml_free(NULL);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("twiml");
        TCase *tc = tcase_create("twiml");
        tcase_add_test(tc, twiml_empty_response);
        tcase_add_test(tc, twiml_nesting_and_attributes);
        tcase_add_test(tc, twiml_escapes_caller_text);
        tcase_add_test(tc, twiml_escapes_attribute_values);
        tcase_add_test(tc, twiml_drops_control_characters);
        tcase_add_test(tc, twiml_finish_closes_open_elements);
        tcase_add_test(tc, twiml_close_without_open_keeps_response);
        tcase_add_test(tc, twiml_deep_nesting);
        tcase_add_test(tc, twiml_free_unfinished);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
