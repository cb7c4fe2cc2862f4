/* The front door's configuration, its route table (which service owns a path and which role it
 * takes, from the API contract §5-§8) and the gateway's public informational routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/http.h"
#include "cc/json.h"
#include "cc/log.h"
#include "frontdoor.h"
#include "gateway_internal.h"

enum upstream_id { UP_TELEPHONY, UP_SMS, UP_SENTIMENT, UP_ANALYTICS, UP_COUNT };

static char *telephony_url, *sms_url, *sentiment_url, *analytics_url, *cors_origins;
static long long timeout_ms, connect_timeout_ms, failures, open_ms, upload_timeout_ms;
long long frontdoor_upload_max_bytes;

const struct cc_config_var frontdoor_config[] = {
    {"CC_TELEPHONY_URL", CC_CONFIG_STRING, "http://127.0.0.1:8081", 1, 1024, &telephony_url,
     "base URL of the telephony service"},
    {"CC_SMS_URL", CC_CONFIG_STRING, "http://127.0.0.1:8082", 1, 1024, &sms_url,
     "base URL of the sms service"},
    {"CC_SENTIMENT_URL", CC_CONFIG_STRING, "http://127.0.0.1:8083", 1, 1024, &sentiment_url,
     "base URL of the sentiment service"},
    {"CC_ANALYTICS_URL", CC_CONFIG_STRING, "http://127.0.0.1:8084", 1, 1024, &analytics_url,
     "base URL of the analytics service"},
    {"CC_UPSTREAM_TIMEOUT_MS", CC_CONFIG_INT, "8000", 50, 600000, &timeout_ms,
     "longest a forwarded request may take before 504"},
    {"CC_UPLOAD_MAX_BYTES", CC_CONFIG_INT, "20971520", 1024, 1073741824,
     &frontdoor_upload_max_bytes,
     "largest file upload forwarded (the contact CSV import); keep it equal to telephony's"},
    {"CC_UPLOAD_TIMEOUT_MS", CC_CONFIG_INT, "120000", 50, 3600000, &upload_timeout_ms,
     "longest a forwarded file upload may take before 504 (a large import takes seconds)"},
    {"CC_UPSTREAM_CONNECT_TIMEOUT_MS", CC_CONFIG_INT, "1000", 10, 60000, &connect_timeout_ms,
     "longest wait for a connection to a service behind the gateway"},
    {"CC_UPSTREAM_FAILURES", CC_CONFIG_INT, "5", 1, 1000, &failures,
     "consecutive failures that open a service's circuit breaker"},
    {"CC_UPSTREAM_OPEN_MS", CC_CONFIG_INT, "5000", 10, 600000, &open_ms,
     "how long an open breaker answers 503 before letting a trial request through"},
    {"CC_CORS_ORIGINS", CC_CONFIG_STRING, FRONTDOOR_DEFAULT_CORS_ORIGINS, 0, 8192, &cors_origins,
     "comma-separated origins allowed by CORS"},
};
const size_t frontdoor_config_count = CC_ARRAY_SIZE(frontdoor_config);

static const char *const upstream_names[UP_COUNT] = {"telephony", "sms", "sentiment", "analytics"};

/* One front door per process: the handlers have no other way to reach it. */
static struct proxy *proxy;

const char *frontdoor_cors_origins(void)
{
        return cors_origins ? cors_origins : FRONTDOOR_DEFAULT_CORS_ORIGINS;
}

static void forward_with(struct cc_http_req *req, enum upstream_id up, int timeout)
{
        /* A token outlives a deactivation by up to 15 minutes; the user's current state (cached
         * for a few seconds) is what lets a request through. */
        if (cc_http_req_auth(req) && !gw_caller_ok(req, CC_ROLE_AGENT))
                return;
        if (!proxy) {
                cc_http_reply_error(req, 503, "%s unavailable", upstream_names[up]);
                return;
        }
        proxy_forward(proxy, up, req, timeout);
}

static void forward(struct cc_http_req *req, enum upstream_id up)
{
        forward_with(req, up, 0);
}

static void h_telephony(struct cc_http_req *req)
{
        forward(req, UP_TELEPHONY);
}

static void h_telephony_upload(struct cc_http_req *req)
{
        forward_with(req, UP_TELEPHONY, (int)upload_timeout_ms);
}

static void h_sms(struct cc_http_req *req)
{
        forward(req, UP_SMS);
}

static void h_sentiment(struct cc_http_req *req)
{
        forward(req, UP_SENTIMENT);
}

static void h_analytics(struct cc_http_req *req)
{
        forward(req, UP_ANALYTICS);
}

static void h_root(struct cc_http_req *req)
{
        static const char body[] = "{\"name\":\"Voice by Kraliki API\",\"version\":\"2.0.0\","
                                   "\"status\":\"running\",\"stack\":\"C\"}";
        cc_http_reply_raw(req, 200, "application/json", body, sizeof(body) - 1);
}

/* Always 200 while the gateway itself runs: "healthy" when the database and every service
 * behind it are ready, "degraded" otherwise, with each part named. Readiness of the services
 * comes from the proxy's background probes (at most about a second old), so this never waits
 * on a slow upstream. */
static void h_health(struct cc_http_req *req)
{
        struct cc_service *svc = cc_service_of(req);
        bool db_ok = svc && cc_service_pool(svc) && cc_db_ping(cc_service_pool(svc)) == 0;
        bool all_ok = db_ok;
        json_object *services = json_object_new_object();
        for (size_t i = 0; i < UP_COUNT; i++) {
                bool ok = proxy && proxy_upstream_ready(proxy, i);
                all_ok = all_ok && ok;
                json_object_object_add(services, upstream_names[i],
                                       json_object_new_string(ok ? "ready" : "unavailable"));
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status",
                               json_object_new_string(all_ok ? "healthy" : "degraded"));
        json_object_object_add(o, "database",
                               json_object_new_string(db_ok ? "connected" : "disconnected"));
        json_object_object_add(o, "services", services);
        cc_http_reply_json(req, 200, o);
}

static void h_openapi(struct cc_http_req *req)
{
        cc_http_reply_raw(req, 200, "application/json", frontdoor_openapi_json,
                          frontdoor_openapi_json_len);
}

#define ANY CC_ROLE_AGENT
#define SUP CC_ROLE_SUPERVISOR
#define ADM CC_ROLE_ADMIN
#define PUB CC_ROLE_NONE
#define RAW CC_HTTP_RAW_BODY
/* Every route of the contract that the gateway forwards, with the role it names ("auth: any" is
 * AGENT, "auth: SUP" is SUPERVISOR, webhooks are public and checked by telephony's signature
 * test). Exact patterns win over the prefix catch-alls at the end, which carry a service's
 * routes that are newer than this table with the default role. */
const struct cc_http_route frontdoor_routes[] = {
    {"GET", "/", h_root, PUB, RAW},
    {"GET", "/health", h_health, PUB, RAW},
    {"GET", "/openapi.json", h_openapi, PUB, RAW},

    /* telephony: calls */
    {"GET", "/api/calls/", h_telephony, ANY, RAW},
    {"POST", "/api/calls/", h_telephony, ANY, RAW},
    {"GET", "/api/calls/{call_id}", h_telephony, ANY, RAW},
    {"PUT", "/api/calls/{call_id}", h_telephony, ANY, RAW},
    {"DELETE", "/api/calls/{call_id}", h_telephony, ANY, RAW},
    {"POST", "/api/calls/{call_id}/end", h_telephony, ANY, RAW},
    /* agents */
    {"GET", "/api/agents/", h_telephony, ANY, RAW},
    {"POST", "/api/agents/", h_telephony, ANY, RAW},
    {"GET", "/api/agents/available/count", h_telephony, ANY, RAW},
    {"GET", "/api/agents/{agent_id}", h_telephony, ANY, RAW},
    {"PUT", "/api/agents/{agent_id}", h_telephony, ANY, RAW},
    {"PATCH", "/api/agents/{agent_id}/status", h_telephony, ANY, RAW},
    /* campaigns */
    {"GET", "/api/campaigns/", h_telephony, ANY, RAW},
    {"POST", "/api/campaigns/", h_telephony, SUP, RAW},
    {"GET", "/api/campaigns/{campaign_id}", h_telephony, ANY, RAW},
    {"PUT", "/api/campaigns/{campaign_id}", h_telephony, SUP, RAW},
    {"DELETE", "/api/campaigns/{campaign_id}", h_telephony, SUP, RAW},
    /* contacts */
    {"GET", "/api/contacts/", h_telephony, ANY, RAW},
    {"POST", "/api/contacts/", h_telephony, ANY, RAW},
    {"POST", "/api/contacts/bulk-import", h_telephony_upload, SUP, RAW | CC_HTTP_UPLOAD},
    {"GET", "/api/contacts/{contact_id}", h_telephony, ANY, RAW},
    {"PUT", "/api/contacts/{contact_id}", h_telephony, ANY, RAW},
    {"DELETE", "/api/contacts/{contact_id}", h_telephony, SUP, RAW},
    /* supervisor */
    {"GET", "/api/supervisor/active-calls", h_telephony, SUP, RAW},
    {"GET", "/api/supervisor/calls/{call_id}/summary", h_telephony, SUP, RAW},
    {"POST", "/api/supervisor/calls/{call_id}/monitor", h_telephony, SUP, RAW},
    {"POST", "/api/supervisor/calls/{call_id}/whisper", h_telephony, SUP, RAW},
    {"POST", "/api/supervisor/calls/{call_id}/barge-in", h_telephony, SUP, RAW},
    {"POST", "/api/supervisor/calls/{call_id}/end", h_telephony, SUP, RAW},
    /* webhooks: Twilio signs them; no bearer */
    {"POST", "/api/webhooks/twilio/call-status", h_telephony, PUB, RAW},
    {"POST", "/api/webhooks/twilio/recording", h_telephony, PUB, RAW},
    {"POST", "/api/webhooks/twilio/transcription", h_telephony, PUB, RAW},
    {"POST", "/api/webhooks/twilio/ivr", h_telephony, PUB, RAW},
    {"POST", "/api/webhooks/twilio/voice", h_telephony, PUB, RAW},
    {"GET", "/api/webhooks/health", h_telephony, PUB, RAW},
    /* ivr */
    {"GET", "/api/ivr/config", h_telephony, ANY, RAW},
    {"PUT", "/api/ivr/config", h_telephony, SUP, RAW},
    {"GET", "/api/ivr/menus", h_telephony, ANY, RAW},
    {"POST", "/api/ivr/menus", h_telephony, SUP, RAW},
    {"PUT", "/api/ivr/menus/{menu_id}", h_telephony, SUP, RAW},
    {"DELETE", "/api/ivr/menus/{menu_id}", h_telephony, SUP, RAW},
    {"GET", "/api/ivr/flows", h_telephony, ANY, RAW},
    {"POST", "/api/ivr/flows", h_telephony, SUP, RAW},
    /* telephony */
    {"POST", "/api/telephony/test-call", h_telephony, SUP, RAW},
    {"POST", "/api/telephony/transfer", h_telephony, SUP, RAW},
    {"POST", "/api/telephony/hold/{call_id}", h_telephony, ANY, RAW},
    {"POST", "/api/telephony/unhold/{call_id}", h_telephony, ANY, RAW},
    {"POST", "/api/telephony/mute/{call_id}", h_telephony, ANY, RAW},
    {"POST", "/api/telephony/unmute/{call_id}", h_telephony, ANY, RAW},
    {"GET", "/api/telephony/providers", h_telephony, ANY, RAW},
    /* an organization's own Twilio account and numbers (not in the contract: ours) */
    {"GET", "/api/telephony/credentials", h_telephony, ADM, RAW},
    {"PUT", "/api/telephony/credentials", h_telephony, ADM, RAW},
    {"DELETE", "/api/telephony/credentials", h_telephony, ADM, RAW},
    {"POST", "/api/telephony/credentials/test", h_telephony, ADM, RAW},
    {"GET", "/api/telephony/numbers", h_telephony, ADM, RAW},
    {"POST", "/api/telephony/numbers", h_telephony, ADM, RAW},
    {"DELETE", "/api/telephony/numbers/{number_id}", h_telephony, ADM, RAW},
    /* queues (not in the contract: ours); anyone reads them, supervisors change them */
    {"GET", "/api/queues/", h_telephony, ANY, RAW},
    {"POST", "/api/queues/", h_telephony, SUP, RAW},
    {"GET", "/api/queues/{queue_id}", h_telephony, ANY, RAW},
    {"PUT", "/api/queues/{queue_id}", h_telephony, SUP, RAW},
    {"DELETE", "/api/queues/{queue_id}", h_telephony, SUP, RAW},

    /* sms (and email, which the contract suggests sms owns) */
    {"GET", "/api/sms/inbox", h_sms, ANY, RAW},
    {"POST", "/api/sms/send", h_sms, ANY, RAW},
    {"GET", "/api/sms/conversations", h_sms, ANY, RAW},
    {"POST", "/api/email/send", h_sms, ANY, RAW},
    {"GET", "/api/email/sent", h_sms, ANY, RAW},

    /* sentiment */
    {"POST", "/api/sentiment/analyze", h_sentiment, ANY, RAW},
    {"POST", "/api/sentiment/analyze/batch", h_sentiment, ANY, RAW},
    {"GET", "/api/sentiment/history/{call_id}", h_sentiment, ANY, RAW},
    {"GET", "/api/sentiment/realtime/{session_id}", h_sentiment, ANY, RAW},
    {"GET", "/api/sentiment/analytics", h_sentiment, ANY, RAW},
    {"POST", "/api/sentiment/calls/{call_id}/summary", h_sentiment, ANY, RAW},
    {"GET", "/api/sentiment/alerts", h_sentiment, SUP, RAW},
    {"GET", "/api/sentiment/health", h_sentiment, SUP, RAW},
    {"POST", "/api/sentiment/cleanup", h_sentiment, SUP, RAW},

    /* analytics */
    {"GET", "/api/analytics/dashboard", h_analytics, ANY, RAW},
    {"GET", "/api/analytics/calls", h_analytics, ANY, RAW},
    {"GET", "/api/analytics/agents", h_analytics, ANY, RAW},
    {"GET", "/api/analytics/campaigns", h_analytics, ANY, RAW},
    {"GET", "/api/analytics/kpis", h_analytics, ANY, RAW},
    {"GET", "/api/dashboard/overview", h_analytics, ANY, RAW},
    {"GET", "/api/dashboard/stats", h_analytics, ANY, RAW},
    {"GET", "/api/dashboard/agent-performance", h_analytics, ANY, RAW},

/* Prefix catch-alls: every method a REST client uses, default role. */
#define PREFIX(path, fn, role)                                                                     \
        {"GET", path "/{*rest}", fn, role, RAW}, {"POST", path "/{*rest}", fn, role, RAW},         \
            {"PUT", path "/{*rest}", fn, role, RAW}, {"PATCH", path "/{*rest}", fn, role, RAW},    \
        {                                                                                          \
                "DELETE", path "/{*rest}", fn, role, RAW                                           \
        }
    PREFIX("/api/calls", h_telephony, ANY),
    PREFIX("/api/agents", h_telephony, ANY),
    PREFIX("/api/campaigns", h_telephony, ANY),
    PREFIX("/api/contacts", h_telephony, ANY),
    PREFIX("/api/supervisor", h_telephony, SUP),
    PREFIX("/api/ivr", h_telephony, ANY),
    PREFIX("/api/telephony", h_telephony, ANY),
    PREFIX("/api/queues", h_telephony, ANY),
    PREFIX("/api/webhooks", h_telephony, PUB),
    PREFIX("/api/sms", h_sms, ANY),
    PREFIX("/api/email", h_sms, ANY),
    PREFIX("/api/sentiment", h_sentiment, ANY),
    PREFIX("/api/analytics", h_analytics, ANY),
    PREFIX("/api/dashboard", h_analytics, ANY),
#undef PREFIX
};
const size_t frontdoor_routes_count = CC_ARRAY_SIZE(frontdoor_routes);

int frontdoor_init(struct cc_service *svc)
{
        (void)svc;
        const char *urls[UP_COUNT] = {telephony_url, sms_url, sentiment_url, analytics_url};
        struct proxy_upstream_config ups[UP_COUNT];
        for (size_t i = 0; i < UP_COUNT; i++) {
                if (!urls[i])
                        return -EINVAL;
                ups[i] = (struct proxy_upstream_config){
                    .name = upstream_names[i],
                    .base_url = urls[i],
                    .connect_timeout_ms = (int)connect_timeout_ms,
                    .timeout_ms = (int)timeout_ms,
                    .failure_threshold = (int)failures,
                    .open_ms = (int)open_ms,
                };
        }
        if (proxy)
                return -EALREADY;
        proxy = proxy_new(ups, UP_COUNT);
        return proxy ? 0 : -EAGAIN;
}

void frontdoor_fini(struct cc_service *svc)
{
        (void)svc;
        proxy_free(proxy);
        proxy = NULL;
}
