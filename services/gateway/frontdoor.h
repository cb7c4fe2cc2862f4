/* The gateway's front door: every /api request that identity does not serve is authenticated,
 * checked against the role the contract names for its route, and forwarded to the service that
 * owns it (proxy.c), without holding an HTTP worker thread while the upstream works. Also GET /,
 * GET /health and GET /openapi.json.
 *
 * Wiring into the gateway's cc_service_def (gateway.c):
 *   - append frontdoor_config[0 .. frontdoor_config_count) to the service's config table;
 *   - append frontdoor_routes[0 .. frontdoor_routes_count) to its routes;
 *   - call frontdoor_init(svc) from the service's init and frontdoor_fini(svc) from its fini
 *     (fini runs after the HTTP server has drained, so no forwarded request is left behind). */
#pragma once

#include "cc/config.h"
#include "cc/httpc.h"
#include "cc/service.h"

/* The origins the frontend is served from in development (contract §1.5); the value for the
 * HTTP server's cors_origins when CC_CORS_ORIGINS is not set. */
#define FRONTDOOR_DEFAULT_CORS_ORIGINS                                                             \
        "http://127.0.0.1:5173,http://localhost:5173,http://127.0.0.1:5174,http://localhost:5174"

/* CC_TELEPHONY_URL, CC_SMS_URL, CC_SENTIMENT_URL, CC_ANALYTICS_URL, CC_UPSTREAM_TIMEOUT_MS,
 * CC_UPSTREAM_CONNECT_TIMEOUT_MS, CC_UPSTREAM_FAILURES, CC_UPSTREAM_OPEN_MS, CC_CORS_ORIGINS. */
extern const struct cc_config_var frontdoor_config[];
extern const size_t frontdoor_config_count;
/* CC_UPLOAD_MAX_BYTES: the gateway service's def.max_upload points here. */
extern long long frontdoor_upload_max_bytes;

/* Forwarded routes (with their roles), GET /, GET /health, GET /openapi.json. */
extern const struct cc_http_route frontdoor_routes[];
extern const size_t frontdoor_routes_count;

/* The configured CORS origins (CC_CORS_ORIGINS, default FRONTDOOR_DEFAULT_CORS_ORIGINS) for the
 * HTTP server's cors_origins; valid between configuration load and service stop. */
const char *frontdoor_cors_origins(void);

/* Starts the forwarding loop; 0 or a negative errno. One front door per process. */
int frontdoor_init(struct cc_service *svc);
void frontdoor_fini(struct cc_service *svc);

/* The embedded OpenAPI document (generated from services/gateway/openapi.json at build time). */
extern const char frontdoor_openapi_json[];
extern const size_t frontdoor_openapi_json_len;

/* ---- proxy.c: forwarding over one libcurl multi handle on a thread of its own ---- */

struct proxy;

struct proxy_upstream_config {
        const char *name;     /* "telephony": in error details and metrics */
        const char *base_url; /* "http://127.0.0.1:8081", no trailing slash needed */
        int connect_timeout_ms;
        int timeout_ms;        /* the whole exchange; past it 504 */
        int failure_threshold; /* breaker */
        int open_ms;
};

/* Starts the loop thread; the configs are copied. Readiness (GET <base>/readyz) of every
 * upstream is probed about once a second. */
struct proxy *proxy_new(const struct proxy_upstream_config *ups, size_t n);
/* Stops the loop; requests still in flight are dropped without a reply (call it after the HTTP
 * server has drained). */
void proxy_free(struct proxy *p);
/* Forwards req to upstream i and replies to it later from the loop thread (503 at once when the
 * breaker is open); timeout_ms 0 is the upstream's own. Call from a handler; req must not be
 * touched afterwards. */
void proxy_forward(struct proxy *p, size_t i, struct cc_http_req *req, int timeout_ms);
size_t proxy_upstream_count(const struct proxy *p);
const char *proxy_upstream_name(const struct proxy *p, size_t i);
/* The last readiness probe's answer (false until the first probe has answered). */
bool proxy_upstream_ready(const struct proxy *p, size_t i);
struct cc_breaker *proxy_upstream_breaker(struct proxy *p, size_t i);
