#include <stdlib.h>
#include <string.h>

#include "cc/event.h"
#include "testlib.h"

#define ORG "0b8e3c1a-5d2f-4c7e-9a10-2f3b4c5d6e7f"

START_TEST(event_init_fills_header)
{
        Cc__Events__V1__Envelope env;
        char id[CC_UUID_LEN + 1];
        int64_t before = cc_now_ms();
        cc_event_init(&env, "call.ended", ORG, 0, "telephony", NULL, id);
        int64_t after = cc_now_ms();
        ck_assert(cc_uuid_valid(id));
        ck_assert_int_eq(id[14], '4');
        ck_assert_ptr_eq(env.event_id, id);
        ck_assert_str_eq(env.type, "call.ended");
        ck_assert_str_eq(env.org_id, ORG);
        ck_assert_str_eq(env.producer, "telephony");
        ck_assert_str_eq(env.traceparent, "");
        ck_assert_int_ge(env.occurred_at_ms, before);
        ck_assert_int_le(env.occurred_at_ms, after);
        ck_assert_int_eq(env.payload_case, CC__EVENTS__V1__ENVELOPE__PAYLOAD__NOT_SET);

        /* A given time and trace context are kept; every event gets its own id. */
        Cc__Events__V1__Envelope env2;
        char id2[CC_UUID_LEN + 1];
        const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        cc_event_init(&env2, "user.created", ORG, 1759673002123, "gateway", tp, id2);
        ck_assert_int_eq(env2.occurred_at_ms, 1759673002123);
        ck_assert_str_eq(env2.traceparent, tp);
        ck_assert_str_ne(id, id2);
}
END_TEST

static void fill_call_ended(Cc__Events__V1__CallEnded *ce)
{
        cc__events__v1__call_ended__init(ce);
        ce->call_id = "11111111-2222-4333-8444-555555555555";
        ce->status = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
        ce->direction = CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND;
        ce->agent_id = "a1";
        ce->queue_id = "q1";
        ce->campaign_id = "c1";
        ce->contact_id = "ct1";
        ce->started_at_ms = 1759673000000;
        ce->answered_at_ms = 1759673005000;
        ce->ended_at_ms = 1759673065000;
        ce->duration_seconds = 65;
        ce->talk_seconds = 50;
        ce->hold_seconds = 5;
        ce->wrap_up_seconds = 30;
        ce->queue_wait_seconds = 5;
        ce->abandoned = true;
        ce->disposition = "resolved";
        ce->from_number = "+15551230001";
        ce->to_number = "+15551230002";
}

START_TEST(event_pack_unpack_roundtrip)
{
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__CallEnded ce;
        char id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.ended", ORG, 1759673065000, "telephony",
                      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id);
        fill_call_ended(&ce);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        env.call_ended = &ce;

        size_t len = 0;
        uint8_t *buf = cc_event_pack(&env, &len);
        ck_assert_uint_gt(len, 0);
        Cc__Events__V1__Envelope *got = cc_event_unpack(buf, len);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got->event_id, id);
        ck_assert_str_eq(got->type, "call.ended");
        ck_assert_str_eq(got->org_id, ORG);
        ck_assert_int_eq(got->occurred_at_ms, 1759673065000);
        ck_assert_str_eq(got->producer, "telephony");
        ck_assert_str_eq(got->traceparent, env.traceparent);
        ck_assert_int_eq(got->payload_case, CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED);
        const Cc__Events__V1__CallEnded *g = got->call_ended;
        ck_assert_str_eq(g->call_id, ce.call_id);
        ck_assert_int_eq(g->status, ce.status);
        ck_assert_int_eq(g->direction, ce.direction);
        ck_assert_str_eq(g->agent_id, "a1");
        ck_assert_str_eq(g->queue_id, "q1");
        ck_assert_str_eq(g->campaign_id, "c1");
        ck_assert_str_eq(g->contact_id, "ct1");
        ck_assert_int_eq(g->started_at_ms, ce.started_at_ms);
        ck_assert_int_eq(g->answered_at_ms, ce.answered_at_ms);
        ck_assert_int_eq(g->ended_at_ms, ce.ended_at_ms);
        ck_assert_int_eq(g->duration_seconds, 65);
        ck_assert_int_eq(g->talk_seconds, 50);
        ck_assert_int_eq(g->hold_seconds, 5);
        ck_assert_int_eq(g->wrap_up_seconds, 30);
        ck_assert_int_eq(g->queue_wait_seconds, 5);
        ck_assert(g->abandoned);
        ck_assert_str_eq(g->disposition, "resolved");
        ck_assert_str_eq(g->from_number, "+15551230001");
        ck_assert_str_eq(g->to_number, "+15551230002");
        cc_event_free(got);

        /* Cut short, the same bytes no longer decode. */
        ck_assert_ptr_null(cc_event_unpack(buf, len - 1));
        free(buf);
        cc_event_free(NULL);
}
END_TEST

START_TEST(event_unpack_rejects_garbage)
{
        static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        ck_assert_ptr_null(cc_event_unpack(junk, sizeof(junk)));
        ck_assert_ptr_null(cc_event_unpack("hello, kafka", 12));
        ck_assert_ptr_null(cc_event_unpack(junk, 0));
        ck_assert_ptr_null(cc_event_unpack(NULL, 0));
}
END_TEST

/* Packs env and returns what cc_event_unpack makes of it. */
static Cc__Events__V1__Envelope *roundtrip(const Cc__Events__V1__Envelope *env)
{
        size_t len = 0;
        uint8_t *buf = cc_event_pack(env, &len);
        Cc__Events__V1__Envelope *got = cc_event_unpack(buf, len);
        free(buf);
        return got;
}

START_TEST(event_unpack_rejects_incomplete_envelopes)
{
        Cc__Events__V1__Envelope env;
        Cc__Events__V1__CallEnded ce;
        char id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.ended", ORG, 0, "telephony", NULL, id);
        fill_call_ended(&ce);

        /* No payload. */
        ck_assert_ptr_null(roundtrip(&env));

        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        env.call_ended = &ce;
        Cc__Events__V1__Envelope *ok = roundtrip(&env);
        ck_assert_ptr_nonnull(ok);
        cc_event_free(ok);

        env.event_id = "not-a-uuid";
        ck_assert_ptr_null(roundtrip(&env));
        env.event_id = "";
        ck_assert_ptr_null(roundtrip(&env));
        env.event_id = id;

        env.type = "";
        ck_assert_ptr_null(roundtrip(&env));
        env.type = "call.ended";

        env.org_id = "";
        ck_assert_ptr_null(roundtrip(&env));
}
END_TEST

/* The names the tables and the API use for the enums: the proto name without its prefix. */
START_TEST(event_enum_names)
{
        ck_assert_str_eq(
            CC_EVENT_ENUM_NAME(call_status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS),
            "IN_PROGRESS");
        ck_assert_str_eq(
            CC_EVENT_ENUM_NAME(call_status, CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_CANCELED),
            "CANCELED");
        ck_assert_str_eq(
            CC_EVENT_ENUM_NAME(user_role, CC__EVENTS__V1__USER_ROLE__USER_ROLE_SUPERVISOR),
            "SUPERVISOR");
        ck_assert_str_eq(
            CC_EVENT_ENUM_NAME(agent_status, CC__EVENTS__V1__AGENT_STATUS__AGENT_STATUS_WRAP_UP),
            "WRAP_UP");
        ck_assert_str_eq(
            CC_EVENT_ENUM_NAME(call_direction,
                               CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND),
            "OUTBOUND");
        /* not set, and a value from a newer producer this build does not know */
        ck_assert_str_eq(CC_EVENT_ENUM_NAME(call_status, 0), "");
        ck_assert_str_eq(CC_EVENT_ENUM_NAME(user_status, 99), "");
        ck_assert_str_eq(CC_EVENT_ENUM_NAME(agent_status, -1), "");
        ck_assert_str_eq(cc_event_enum_name(NULL, 1), "");
}
END_TEST

START_TEST(event_topic_mapping)
{
        static const struct {
                const char *type, *topic;
        } v[] = {
            {"call.ended", "cc.calls.v1"},
            {"call.started", "cc.calls.v1"},
            {"user.created", "cc.users.v1"},
            {"team.updated", "cc.users.v1"},
            {"agent.status_changed", "cc.agents.v1"},
            {"sms.received", "cc.sms.v1"},
            {"sentiment.alert", "cc.sentiment.v1"},
            {"campaign.completed", "cc.campaigns.v1"},
            {"unknown.thing", NULL},
            {"call.", NULL},
            {"call", NULL},
            {"calls.ended", NULL},
            {"", NULL},
            {NULL, NULL},
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(v); i++) {
                const char *t = cc_event_topic(v[i].type);
                if (v[i].topic)
                        ck_assert_msg(t && strcmp(t, v[i].topic) == 0, "%s -> %s", v[i].type,
                                      t ? t : "NULL");
                else
                        ck_assert_msg(t == NULL, "%s -> %s, want NULL",
                                      v[i].type ? v[i].type : "NULL", t);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("event");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, event_init_fills_header);
        tcase_add_test(tc, event_pack_unpack_roundtrip);
        tcase_add_test(tc, event_unpack_rejects_garbage);
        tcase_add_test(tc, event_unpack_rejects_incomplete_envelopes);
        tcase_add_test(tc, event_topic_mapping);
        tcase_add_test(tc, event_enum_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
