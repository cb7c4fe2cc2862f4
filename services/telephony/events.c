/* call.* events on cc.calls.v1 (key: call id), written to the outbox inside the caller's
 * transaction so an event exists exactly when the change it reports was committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls_internal.h"
#include "cc/event.h"
#include "cc/outbox.h"

#define CALLS_TOPIC "cc.calls.v1"
#define PRODUCER    "telephony"

static Cc__Events__V1__CallStatus status_pb(enum tel_call_status s)
{
        static const Cc__Events__V1__CallStatus map[TEL_CALL_NSTATUS] = {
            [TEL_CALL_QUEUED] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_QUEUED,
            [TEL_CALL_RINGING] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_RINGING,
            [TEL_CALL_IN_PROGRESS] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS,
            [TEL_CALL_ON_HOLD] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_ON_HOLD,
            [TEL_CALL_COMPLETED] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_COMPLETED,
            [TEL_CALL_NO_ANSWER] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_NO_ANSWER,
            [TEL_CALL_BUSY] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_BUSY,
            [TEL_CALL_FAILED] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_FAILED,
            [TEL_CALL_CANCELED] = CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_CANCELED,
        };
        return (unsigned)s < TEL_CALL_NSTATUS
                   ? map[s]
                   : CC__EVENTS__V1__CALL_STATUS__CALL_STATUS_UNSPECIFIED;
}

static Cc__Events__V1__CallDirection direction_pb(bool inbound)
{
        return inbound ? CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_INBOUND
                       : CC__EVENTS__V1__CALL_DIRECTION__CALL_DIRECTION_OUTBOUND;
}

/* protobuf-c wants char * for strings it only reads. */
static char *s(const char *v)
{
        return (char *)(v ? v : "");
}

static int add(struct cc_db_conn *conn, Cc__Events__V1__Envelope *env, const char *call_id,
               const char *event_id)
{
        size_t len = 0;
        uint8_t *packed = cc_event_pack(env, &len);
        int r = cc_outbox_add(conn, CALLS_TOPIC, call_id, event_id, env->type, env->traceparent,
                              packed, len);
        free(packed);
        return r;
}

int tel_call_queue_wait_s(const struct tel_call_row *r)
{
        if (!r->queued_at_ms)
                return 0;
        /* Until an agent took it, the overflow action took it, or the caller left. */
        int64_t until = r->connected_at_ms    ? r->connected_at_ms
                        : r->queue_left_at_ms ? r->queue_left_at_ms
                                              : r->call.ended_at_ms;
        if (!until)
                until = cc_now_ms();
        return until > r->queued_at_ms ? (int)((until - r->queued_at_ms) / 1000) : 0;
}

int tel_event_call_started(struct cc_db_conn *conn, const struct tel_call_row *r,
                           const char *traceparent)
{
        const struct tel_call *c = &r->call;
        Cc__Events__V1__CallStarted p = CC__EVENTS__V1__CALL_STARTED__INIT;
        p.call_id = s(c->id);
        p.direction = direction_pb(c->inbound);
        p.status = status_pb(c->status);
        p.from_number = s(c->from_number);
        p.to_number = s(c->to_number);
        p.agent_id = s(c->agent_id);
        p.queue_id = s(r->queue_id);
        p.campaign_id = s(c->campaign_id);
        p.contact_id = s(r->contact_id);
        p.provider_call_sid = s(c->twilio_sid);
        p.started_at_ms = c->started_at_ms;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.started", c->org_id, c->started_at_ms, PRODUCER, traceparent,
                      event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_STARTED;
        env.call_started = &p;
        return add(conn, &env, c->id, event_id);
}

int tel_event_call_updated(struct cc_db_conn *conn, const struct tel_call_row *r,
                           enum tel_call_status previous, int64_t at_ms, const char *traceparent)
{
        const struct tel_call *c = &r->call;
        Cc__Events__V1__CallUpdated p = CC__EVENTS__V1__CALL_UPDATED__INIT;
        p.call_id = s(c->id);
        p.status = status_pb(c->status);
        p.previous_status = status_pb(previous);
        p.agent_id = s(c->agent_id);
        p.queue_id = s(r->queue_id);
        p.disposition = s(r->disposition);
        p.on_hold = c->status == TEL_CALL_ON_HOLD;
        p.changed_at_ms = at_ms;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.updated", c->org_id, at_ms, PRODUCER, traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_UPDATED;
        env.call_updated = &p;
        return add(conn, &env, c->id, event_id);
}

int tel_event_call_answered(struct cc_db_conn *conn, const struct tel_call_row *r,
                            const char *traceparent)
{
        const struct tel_call *c = &r->call;
        Cc__Events__V1__CallAnswered p = CC__EVENTS__V1__CALL_ANSWERED__INIT;
        p.call_id = s(c->id);
        p.agent_id = s(c->agent_id);
        p.queue_id = s(r->queue_id);
        p.answered_at_ms = c->answered_at_ms;
        p.queue_wait_seconds = tel_call_queue_wait_s(r);

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.answered", c->org_id, c->answered_at_ms, PRODUCER, traceparent,
                      event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ANSWERED;
        env.call_answered = &p;
        return add(conn, &env, c->id, event_id);
}

int tel_event_call_ended(struct cc_db_conn *conn, const struct tel_call_row *r,
                         const char *traceparent)
{
        const struct tel_call *c = &r->call;
        Cc__Events__V1__CallEnded p = CC__EVENTS__V1__CALL_ENDED__INIT;
        p.call_id = s(c->id);
        p.status = status_pb(c->status);
        p.direction = direction_pb(c->inbound);
        p.agent_id = s(c->agent_id);
        p.queue_id = s(r->queue_id);
        p.campaign_id = s(c->campaign_id);
        p.contact_id = s(r->contact_id);
        p.started_at_ms = c->started_at_ms;
        p.answered_at_ms = c->answered_at_ms;
        p.ended_at_ms = c->ended_at_ms;
        p.duration_seconds = r->duration_s > 0 ? r->duration_s : 0;
        p.talk_seconds = r->talk_s > 0 ? r->talk_s : 0;
        p.hold_seconds = r->hold_seconds;
        p.wrap_up_seconds = r->wrap_up_s > 0 ? r->wrap_up_s : 0;
        p.queue_wait_seconds = tel_call_queue_wait_s(r);
        p.abandoned = r->abandoned;
        p.disposition = s(r->disposition);
        p.from_number = s(c->from_number);
        p.to_number = s(c->to_number);
        p.wrap_up_pending = r->wrap_up_pending;
        /* The queue's service-level threshold and name travel with the call: analytics has no
         * other source for them (queues publish no events). */
        char queue_name[101] = "";
        PGresult *res = NULL;
        if (r->queue_id[0]) {
                const char *qp[] = {c->org_id, r->queue_id};
                int q = cc_db_exec(conn,
                                   "SELECT service_level_seconds, name FROM queues WHERE org_id = "
                                   "$1 AND id::text = $2",
                                   2, qp, &res);
                if (q < 0)
                        return q;
                if (PQntuples(res) > 0) {
                        p.service_level_seconds = atoi(PQgetvalue(res, 0, 0));
                        snprintf(queue_name, sizeof(queue_name), "%s", PQgetvalue(res, 0, 1));
                }
                PQclear(res);
        }
        p.queue_name = queue_name;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.ended", c->org_id, c->ended_at_ms, PRODUCER, traceparent,
                      event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_ENDED;
        env.call_ended = &p;
        return add(conn, &env, c->id, event_id);
}

int tel_event_call_wrapped_up(struct cc_db_conn *conn, const struct tel_call_row *r, int64_t at_ms,
                              const char *traceparent)
{
        const struct tel_call *c = &r->call;
        Cc__Events__V1__CallWrappedUp p = CC__EVENTS__V1__CALL_WRAPPED_UP__INIT;
        p.call_id = s(c->id);
        p.agent_id = s(c->agent_id);
        p.queue_id = s(r->queue_id);
        p.campaign_id = s(c->campaign_id);
        p.started_at_ms = c->started_at_ms;
        p.ended_at_ms = c->ended_at_ms;
        p.wrap_up_seconds = r->wrap_up_s > 0 ? r->wrap_up_s : 0;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.wrapped_up", c->org_id, at_ms, PRODUCER, traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_WRAPPED_UP;
        env.call_wrapped_up = &p;
        return add(conn, &env, c->id, event_id);
}

int tel_event_call_recording(struct cc_db_conn *conn, const struct tel_call *call,
                             const char *recording_sid, const char *url, int duration_s,
                             const char *traceparent)
{
        Cc__Events__V1__CallRecordingReady p = CC__EVENTS__V1__CALL_RECORDING_READY__INIT;
        p.call_id = s(call->id);
        p.recording_id = s(recording_sid);
        p.recording_url = s(url);
        p.duration_seconds = duration_s > 0 ? duration_s : 0;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.recording_ready", call->org_id, 0, PRODUCER, traceparent,
                      event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_RECORDING_READY;
        env.call_recording_ready = &p;
        return add(conn, &env, call->id, event_id);
}

int tel_event_call_transcribed(struct cc_db_conn *conn, const struct tel_call *call,
                               const char *segment_id, const char *text, int offset_ms,
                               double confidence, const char *traceparent)
{
        Cc__Events__V1__CallTranscribed p = CC__EVENTS__V1__CALL_TRANSCRIBED__INIT;
        p.call_id = s(call->id);
        p.segment_id = s(segment_id);
        p.text = s(text);
        /* Twilio transcribes what the caller left on a <Record>: the customer speaking. */
        p.speaker = CC__EVENTS__V1__SPEAKER__SPEAKER_CUSTOMER;
        p.offset_ms = offset_ms;
        p.confidence = confidence;
        p.is_final = true;

        Cc__Events__V1__Envelope env;
        char event_id[CC_UUID_LEN + 1];
        cc_event_init(&env, "call.transcribed", call->org_id, 0, PRODUCER, traceparent, event_id);
        env.payload_case = CC__EVENTS__V1__ENVELOPE__PAYLOAD_CALL_TRANSCRIBED;
        env.call_transcribed = &p;
        return add(conn, &env, call->id, event_id);
}
