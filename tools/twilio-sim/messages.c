/* Messages: the REST resource and its status callbacks (sent, then delivered; a To number
 * ending in 0003 fails with ErrorCode 30003). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "cc/log.h"

enum { STEP_SEND = 1, STEP_DELIVER };

#define MAX_BODY_CHARS 1600
/* Twilio's own test number, standing in for a messaging service's sender. */
#define SERVICE_SENDER "+15005550006"

void sim_message_free(struct sim_message *msg)
{
        if (!msg)
                return;
        free(msg->to);
        free(msg->from);
        free(msg->body);
        free(msg->messaging_service_sid);
        free(msg->status_callback);
        sim_event_log_fini(&msg->callbacks);
        free(msg);
}

static void status_callback(struct sim *sim, struct sim_message *msg)
{
        if (!msg->status_callback)
                return;
        struct cc_kv f[12];
        size_t n = 0;
        char code[16];
        f[n++] = (struct cc_kv){"AccountSid", msg->q.account->sid};
        f[n++] = (struct cc_kv){"ApiVersion", SIM_API_VERSION};
        f[n++] = (struct cc_kv){"From", msg->from};
        f[n++] = (struct cc_kv){"MessageSid", msg->sid};
        f[n++] = (struct cc_kv){"MessageStatus", msg->status};
        if (msg->messaging_service_sid)
                f[n++] = (struct cc_kv){"MessagingServiceSid", msg->messaging_service_sid};
        f[n++] = (struct cc_kv){"SmsSid", msg->sid};
        f[n++] = (struct cc_kv){"SmsStatus", msg->status};
        f[n++] = (struct cc_kv){"To", msg->to};
        if (msg->error_code) {
                snprintf(code, sizeof(code), "%d", msg->error_code);
                f[n++] = (struct cc_kv){"ErrorCode", code};
        }
        sim_queue_push(sim, &msg->q, sim_job_new(msg->status, msg->status_callback, false, f, n));
}

void sim_message_step(struct sim *sim, struct sim_message *msg, int step)
{
        msg->updated_ms = cc_now_ms();
        if (step == STEP_SEND && msg->fails) {
                msg->status = "failed";
                msg->error_code = 30003;
                status_callback(sim, msg);
        } else if (step == STEP_SEND) {
                msg->status = "sent";
                msg->sent_ms = msg->updated_ms;
                status_callback(sim, msg);
                sim_queue_timer(sim, &msg->q, cc_monotonic_us() + sim->cfg.ring_ms * 1000LL,
                                STEP_DELIVER);
        } else {
                msg->status = "delivered";
                status_callback(sim, msg);
        }
}

void sim_message_delivered(struct sim *sim, struct sim_message *msg, const struct sim_job *job,
                           int status)
{
        sim_event_log_add(&msg->callbacks, job->label, job->url, status, job->attempt, -1);
}

/* Under sim->mu. */
static json_object *message_resource(const struct sim_message *msg)
{
        const char *acct = msg->q.account->sid;
        char uri[160], media[200], segments[24];
        snprintf(uri, sizeof(uri), "/%s/Accounts/%s/Messages/%s.json", SIM_API_VERSION, acct,
                 msg->sid);
        snprintf(media, sizeof(media), "/%s/Accounts/%s/Messages/%s/Media.json", SIM_API_VERSION,
                 acct, msg->sid);
        ssize_t chars = cc_utf8_count(msg->body, strlen(msg->body));
        snprintf(segments, sizeof(segments), "%zd", chars <= 160 ? 1 : (chars + 152) / 153);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sid", json_object_new_string(msg->sid));
        json_object_object_add(o, "account_sid", json_object_new_string(acct));
        json_object_object_add(o, "api_version", json_object_new_string(SIM_API_VERSION));
        json_object_object_add(o, "body", json_object_new_string(msg->body));
        sim_json_add_date(o, "date_created", msg->created_ms);
        sim_json_add_date(o, "date_sent", msg->sent_ms);
        sim_json_add_date(o, "date_updated", msg->updated_ms);
        json_object_object_add(o, "direction", json_object_new_string("outbound-api"));
        json_object_object_add(o, "error_code",
                               msg->error_code ? json_object_new_int(msg->error_code) : NULL);
        json_object_object_add(
            o, "error_message",
            msg->error_code ? json_object_new_string("Unreachable destination handset") : NULL);
        json_object_object_add(o, "from", json_object_new_string(msg->from));
        cc_json_add_string(o, "messaging_service_sid", msg->messaging_service_sid);
        json_object_object_add(o, "num_media", json_object_new_string("0"));
        json_object_object_add(o, "num_segments", json_object_new_string(segments));
        json_object_object_add(o, "price", NULL);
        json_object_object_add(o, "price_unit", json_object_new_string("USD"));
        json_object_object_add(o, "status", json_object_new_string(msg->status));
        json_object *subs = json_object_new_object();
        json_object_object_add(subs, "media", json_object_new_string(media));
        json_object_object_add(o, "subresource_uris", subs);
        json_object_object_add(o, "to", json_object_new_string(msg->to));
        json_object_object_add(o, "uri", json_object_new_string(uri));
        return o;
}

static bool nonempty(const char *s)
{
        return s && *s;
}

void sim_messages_create(struct sim_rest *r)
{
        const char *to = cc_kv_get(r->fields, r->nfields, "To");
        const char *from = cc_kv_get(r->fields, r->nfields, "From");
        const char *service = cc_kv_get(r->fields, r->nfields, "MessagingServiceSid");
        const char *body = cc_kv_get(r->fields, r->nfields, "Body");
        const char *cb = cc_kv_get(r->fields, r->nfields, "StatusCallback");
        if (!nonempty(to)) {
                sim_reply_twilio_error(r->req, 400, 21604, "A 'To' phone number is required.");
                return;
        }
        if (!nonempty(from) && !nonempty(service)) {
                sim_reply_twilio_error(r->req, 400, 21603, "A 'From' phone number is required.");
                return;
        }
        if (!nonempty(body)) {
                sim_reply_twilio_error(r->req, 400, 21602, "Message body is required.");
                return;
        }
        ssize_t chars = cc_utf8_count(body, strlen(body));
        if (chars < 0 || chars > MAX_BODY_CHARS) {
                sim_reply_twilio_error(
                    r->req, 400, 21617,
                    "The concatenated message body exceeds the 1600 character limit.");
                return;
        }
        if (nonempty(cb) && strncmp(cb, "http://", 7) != 0 && strncmp(cb, "https://", 8) != 0) {
                sim_reply_twilio_error(r->req, 400, 21609, "Invalid StatusCallback url: %s", cb);
                return;
        }

        struct sim_message *msg = cc_xcalloc(1, sizeof(*msg));
        msg->q.owner = SIM_OWNER_MESSAGE;
        msg->q.account = r->account;
        sim_new_sid("SM", msg->sid);
        msg->to = cc_xstrdup(to);
        msg->from = cc_xstrdup(nonempty(from) ? from : SERVICE_SENDER);
        msg->body = cc_xstrdup(body);
        msg->messaging_service_sid = nonempty(service) ? cc_xstrdup(service) : NULL;
        msg->status_callback = nonempty(cb) ? cc_xstrdup(cb) : NULL;
        /* A messaging service first accepts the message, then picks the sender. */
        msg->status = nonempty(from) ? "queued" : "accepted";
        size_t to_len = strlen(to);
        msg->fails = to_len >= 4 && strcmp(to + to_len - 4, "0003") == 0;
        msg->created_ms = msg->updated_ms = cc_now_ms();

        struct sim *sim = r->sim;
        pthread_mutex_lock(&sim->mu);
        if (sim->nmessages == sim->messages_cap) {
                sim->messages_cap = sim->messages_cap ? sim->messages_cap * 2 : 64;
                sim->messages =
                    cc_xrealloc(sim->messages, sim->messages_cap * sizeof(*sim->messages));
        }
        sim->messages[sim->nmessages++] = msg;
        json_object *doc = message_resource(msg);
        sim_queue_timer(sim, &msg->q, cc_monotonic_us(), STEP_SEND);
        pthread_mutex_unlock(&sim->mu);
        cc_log_info(cc_http_req_id(r->req), "message %s to %s created", msg->sid, to);
        cc_http_reply_json(r->req, 201, doc);
}

void sim_messages_fetch(struct sim_rest *r, const char *message_sid)
{
        struct sim *sim = r->sim;
        json_object *doc = NULL;
        pthread_mutex_lock(&sim->mu);
        for (size_t i = 0; i < sim->nmessages && !doc; i++) {
                struct sim_message *m = sim->messages[i];
                if (strcmp(m->sid, message_sid) == 0 && m->q.account == r->account)
                        doc = message_resource(m);
        }
        pthread_mutex_unlock(&sim->mu);
        if (!doc)
                sim_reply_twilio_error(r->req, 404, 20404,
                                       "The requested resource %s was not found",
                                       cc_http_req_path(r->req));
        else
                cc_http_reply_json(r->req, 200, doc);
}

void sim_h_messages_list(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        json_object *a = json_object_new_array();
        pthread_mutex_lock(&sim->mu);
        for (size_t i = 0; i < sim->nmessages; i++) {
                const struct sim_message *m = sim->messages[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "sid", json_object_new_string(m->sid));
                json_object_object_add(o, "account_sid", json_object_new_string(m->q.account->sid));
                json_object_object_add(o, "status", json_object_new_string(m->status));
                json_object_object_add(o, "to", json_object_new_string(m->to));
                json_object_object_add(o, "from", json_object_new_string(m->from));
                json_object_object_add(o, "body", json_object_new_string(m->body));
                cc_json_add_string(o, "status_callback", m->status_callback);
                json_object_object_add(o, "error_code",
                                       m->error_code ? json_object_new_int(m->error_code) : NULL);
                json_object_object_add(o, "events", sim_event_log_json(&m->callbacks, "status"));
                json_object_array_add(a, o);
        }
        pthread_mutex_unlock(&sim->mu);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "messages", a);
        cc_http_reply_json(req, 200, o);
}
