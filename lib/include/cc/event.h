/* Event envelopes (proto/events.proto): building one with a fresh id and the producer's
 * identity, packing it, and decoding one from the wire. */
#pragma once

#include "cc/util.h"
#include "events.pb-c.h"

/* Fills the envelope header: new UUID event_id, type, org_id, occurred_at_ms (now when 0),
 * producer, traceparent (may be NULL). Strings are borrowed: keep them alive until packed. The
 * payload case and field are set by the caller. */
void cc_event_init(Cc__Events__V1__Envelope *env, const char *type, const char *org_id,
                   int64_t occurred_at_ms, const char *producer, const char *traceparent,
                   char event_id_buf[CC_UUID_LEN + 1]);
/* Packs to a heap buffer (caller frees). */
uint8_t *cc_event_pack(const Cc__Events__V1__Envelope *env, size_t *ret_len);
/* Decodes and validates (event_id is a UUID, type and org_id present, a payload is set).
 * Returns NULL for anything undecodable; free with cc_event_free. */
Cc__Events__V1__Envelope *cc_event_unpack(const void *buf, size_t len);
void cc_event_free(Cc__Events__V1__Envelope *env);
/* The topic an event type belongs to ("call.ended" -> "cc.calls.v1"); NULL when unknown. */
const char *cc_event_topic(const char *type);
/* The name an enum value of events.proto is stored and shown under: its proto name without
 * the enum's prefix (CALL_STATUS_IN_PROGRESS -> "IN_PROGRESS", USER_ROLE_ADMIN -> "ADMIN");
 * "" for the zero value (proto3's "not set") or a value this build does not know. The string is
 * static. */
const char *cc_event_enum_name(const ProtobufCEnumDescriptor *desc, int value);
/* The same by the enum's lower-case name in events.pb-c.h: CC_EVENT_ENUM_NAME(call_status, s). */
#define CC_EVENT_ENUM_NAME(type, v)                                                                \
        cc_event_enum_name(&cc__events__v1__##type##__descriptor, (int)(v))
