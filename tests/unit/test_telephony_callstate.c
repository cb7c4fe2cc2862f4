/* The call state machine: the whole transition matrix, status names both ways, and Twilio's
 * CallStatus values mapped per the contract. */
#include <errno.h>

#include "testlib.h"
#include "telephony.h"

#define Q  TEL_CALL_QUEUED
#define R  TEL_CALL_RINGING
#define IP TEL_CALL_IN_PROGRESS
#define H  TEL_CALL_ON_HOLD
#define C  TEL_CALL_COMPLETED
#define NA TEL_CALL_NO_ANSWER
#define B  TEL_CALL_BUSY
#define F  TEL_CALL_FAILED
#define X  TEL_CALL_CANCELED

START_TEST(telephony_callstate_matrix)
{
        /* allowed[from][to], written out so a change to the machine shows up here. */
        static const bool allowed[TEL_CALL_NSTATUS][TEL_CALL_NSTATUS] = {
            /*            Q  R  IP H  C  NA B  F  X */
            [Q] = {0, 1, 1, 0, 1, 1, 1, 1, 1},
            [R] = {0, 0, 1, 0, 1, 1, 1, 1, 1},
            [IP] = {0, 0, 0, 1, 1, 0, 0, 1, 0},
            [H] = {0, 0, 1, 0, 1, 0, 0, 1, 0},
            [C] = {0},
            [NA] = {0},
            [B] = {0},
            [F] = {0},
            [X] = {0},
        };
        for (int from = 0; from < TEL_CALL_NSTATUS; from++)
                for (int to = 0; to < TEL_CALL_NSTATUS; to++)
                        ck_assert_msg(tel_call_transition_allowed(from, to) == allowed[from][to],
                                      "%s -> %s", tel_call_status_name(from),
                                      tel_call_status_name(to));
}
END_TEST

START_TEST(telephony_callstate_important_cells)
{
        /* forward moves a real call makes */
        ck_assert(tel_call_transition_allowed(Q, R));
        ck_assert(tel_call_transition_allowed(R, IP));
        ck_assert(tel_call_transition_allowed(IP, H));
        ck_assert(tel_call_transition_allowed(H, IP));
        ck_assert(tel_call_transition_allowed(IP, C));
        ck_assert(tel_call_transition_allowed(R, NA));
        ck_assert(tel_call_transition_allowed(Q, F));
        /* a late "ringing" after the answer, and any way back */
        ck_assert(!tel_call_transition_allowed(IP, R));
        ck_assert(!tel_call_transition_allowed(R, Q));
        ck_assert(!tel_call_transition_allowed(H, R));
        /* no-ops are not transitions */
        for (int s = 0; s < TEL_CALL_NSTATUS; s++)
                ck_assert(!tel_call_transition_allowed(s, s));
        /* terminal states are final */
        for (int s = 0; s < TEL_CALL_NSTATUS; s++) {
                ck_assert(!tel_call_transition_allowed(C, s));
                ck_assert(!tel_call_transition_allowed(X, s));
        }
        /* an answered call did connect */
        ck_assert(!tel_call_transition_allowed(IP, NA));
        ck_assert(!tel_call_transition_allowed(IP, B));
        ck_assert(!tel_call_transition_allowed(H, X));
        /* hold only from an answered call */
        ck_assert(!tel_call_transition_allowed(R, H));
        ck_assert(!tel_call_transition_allowed(Q, H));
        /* out of range */
        ck_assert(!tel_call_transition_allowed(TEL_CALL_NSTATUS, C));
        ck_assert(!tel_call_transition_allowed(Q, TEL_CALL_NSTATUS));
}
END_TEST

START_TEST(telephony_callstate_terminal)
{
        const bool terminal[TEL_CALL_NSTATUS] = {[C] = 1, [NA] = 1, [B] = 1, [F] = 1, [X] = 1};
        for (int s = 0; s < TEL_CALL_NSTATUS; s++)
                ck_assert_msg(tel_call_status_terminal(s) == terminal[s], "%s",
                              tel_call_status_name(s));
}
END_TEST

START_TEST(telephony_callstate_names_round_trip)
{
        static const char *const want[] = {"QUEUED",  "RINGING",   "IN_PROGRESS",
                                           "ON_HOLD", "COMPLETED", "NO_ANSWER",
                                           "BUSY",    "FAILED",    "CANCELED"};
        for (int s = 0; s < TEL_CALL_NSTATUS; s++) {
                ck_assert_str_eq(tel_call_status_name(s), want[s]);
                enum tel_call_status got = TEL_CALL_NSTATUS;
                ck_assert_int_eq(tel_call_status_parse(want[s], &got), 0);
                ck_assert_int_eq(got, s);
        }
        ck_assert_str_eq(tel_call_status_name(TEL_CALL_NSTATUS), "UNKNOWN");
}
END_TEST

START_TEST(telephony_callstate_parse_ignores_case)
{
        enum tel_call_status s = TEL_CALL_QUEUED;
        ck_assert_int_eq(tel_call_status_parse("in_progress", &s), 0);
        ck_assert_int_eq(s, IP);
        ck_assert_int_eq(tel_call_status_parse("Completed", &s), 0);
        ck_assert_int_eq(s, C);
        ck_assert_int_eq(tel_call_status_parse("no_ANSWER", &s), 0);
        ck_assert_int_eq(s, NA);
        /* unknown names, Twilio's spelling and NULL are refused and leave *ret alone */
        s = B;
        ck_assert_int_eq(tel_call_status_parse("in-progress", &s), -EINVAL);
        ck_assert_int_eq(tel_call_status_parse("", &s), -EINVAL);
        ck_assert_int_eq(tel_call_status_parse("DONE", &s), -EINVAL);
        ck_assert_int_eq(tel_call_status_parse("COMPLETED ", &s), -EINVAL);
        ck_assert_int_eq(tel_call_status_parse(NULL, &s), -EINVAL);
        ck_assert_int_eq(s, B);
}
END_TEST

START_TEST(telephony_callstate_twilio_mapping)
{
        ck_assert_int_eq(tel_call_status_from_twilio("initiated"), Q);
        ck_assert_int_eq(tel_call_status_from_twilio("queued"), Q);
        ck_assert_int_eq(tel_call_status_from_twilio("ringing"), R);
        ck_assert_int_eq(tel_call_status_from_twilio("in-progress"), IP);
        ck_assert_int_eq(tel_call_status_from_twilio("answered"), IP);
        ck_assert_int_eq(tel_call_status_from_twilio("completed"), C);
        ck_assert_int_eq(tel_call_status_from_twilio("busy"), B);
        ck_assert_int_eq(tel_call_status_from_twilio("no-answer"), NA);
        ck_assert_int_eq(tel_call_status_from_twilio("failed"), F);
        ck_assert_int_eq(tel_call_status_from_twilio("canceled"), X);
        ck_assert_int_eq(tel_call_status_from_twilio("In-Progress"), IP);
        /* anything else is a failure, per the contract */
        ck_assert_int_eq(tel_call_status_from_twilio("in_progress"), F);
        ck_assert_int_eq(tel_call_status_from_twilio("on-hold"), F);
        ck_assert_int_eq(tel_call_status_from_twilio(""), F);
        ck_assert_int_eq(tel_call_status_from_twilio(NULL), F);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("telephony_callstate");
        TCase *tc = tcase_create("telephony_callstate");
        tcase_add_test(tc, telephony_callstate_matrix);
        tcase_add_test(tc, telephony_callstate_important_cells);
        tcase_add_test(tc, telephony_callstate_terminal);
        tcase_add_test(tc, telephony_callstate_names_round_trip);
        tcase_add_test(tc, telephony_callstate_parse_ignores_case);
        tcase_add_test(tc, telephony_callstate_twilio_mapping);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
