#include "cc/event.h"

#include <stdlib.h>
#include <string.h>

void cc_event_init(Cc__Events__V1__Envelope *env, const char *type, const char *org_id,
                   int64_t occurred_at_ms, const char *producer, const char *traceparent,
                   char event_id_buf[CC_UUID_LEN + 1])
{
        cc__events__v1__envelope__init(env);
        cc_uuid_v4(event_id_buf);
        /* protobuf-c's generated struct is not const-correct; the strings are only read. */
        env->event_id = event_id_buf;
        env->type = (char *)type;
        env->org_id = (char *)org_id;
        env->occurred_at_ms = occurred_at_ms ? occurred_at_ms : cc_now_ms();
        env->producer = (char *)producer;
        env->traceparent = (char *)(traceparent ? traceparent : "");
}

uint8_t *cc_event_pack(const Cc__Events__V1__Envelope *env, size_t *ret_len)
{
        size_t len = cc__events__v1__envelope__get_packed_size(env);
        uint8_t *buf = cc_xmalloc(len);
        cc__events__v1__envelope__pack(env, buf);
        *ret_len = len;
        return buf;
}

Cc__Events__V1__Envelope *cc_event_unpack(const void *buf, size_t len)
{
        if (!buf || len == 0)
                return NULL;
        Cc__Events__V1__Envelope *env = cc__events__v1__envelope__unpack(NULL, len, buf);
        if (!env)
                return NULL;
        if (!cc_uuid_valid(env->event_id) || !env->type || !*env->type || !env->org_id ||
            !*env->org_id || env->payload_case == CC__EVENTS__V1__ENVELOPE__PAYLOAD__NOT_SET) {
                cc__events__v1__envelope__free_unpacked(env, NULL);
                return NULL;
        }
        return env;
}

void cc_event_free(Cc__Events__V1__Envelope *env)
{
        if (env)
                cc__events__v1__envelope__free_unpacked(env, NULL);
}

const char *cc_event_topic(const char *type)
{
        static const struct {
                const char *prefix;
                const char *topic;
        } map[] = {
            {"user.", "cc.users.v1"},          {"team.", "cc.users.v1"},
            {"call.", "cc.calls.v1"},          {"agent.", "cc.agents.v1"},
            {"campaign.", "cc.campaigns.v1"},  {"sms.", "cc.sms.v1"},
            {"sentiment.", "cc.sentiment.v1"},
        };
        if (!type)
                return NULL;
        for (size_t i = 0; i < CC_ARRAY_SIZE(map); i++) {
                size_t n = strlen(map[i].prefix);
                if (strncmp(type, map[i].prefix, n) == 0 && type[n] != '\0')
                        return map[i].topic;
        }
        return NULL;
}

const char *cc_event_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
        if (!desc || value == 0)
                return "";
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
        const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(desc, 0);
        if (!v || !zero)
                return "";
        /* Every enum of events.proto names its zero value <PREFIX>UNSPECIFIED, and the others
         * <PREFIX><NAME>: the prefix is the zero value's name up to UNSPECIFIED. */
        const char *u = strstr(zero->name, "UNSPECIFIED");
        size_t prefix = u ? (size_t)(u - zero->name) : 0;
        if (strncmp(v->name, zero->name, prefix) != 0)
                return "";
        return v->name + prefix;
}
