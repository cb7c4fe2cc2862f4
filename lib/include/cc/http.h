/* HTTP server on libmicrohttpd: an internal thread pool with epoll, a route table, a per-request
 * arena, JSON replies and errors as {"detail": "..."}, request ids (X-Request-Id taken or
 * generated, echoed and logged), a body size limit (413), 404/405 for unknown paths and
 * methods, 400 for malformed JSON, bearer-token authentication and role checks per route, a
 * connection timeout against slow clients, and GET /healthz, /readyz and /metrics built in. */
#pragma once

#include <json-c/json.h>
#include "cc/jwt.h"
#include "cc/util.h"

struct cc_http_req;
struct cc_http_server;

typedef void (*cc_http_handler_fn)(struct cc_http_req *req);

/* Route flags. */
#define CC_HTTP_RAW_BODY 1u /* do not parse the body as JSON (form posts, CSV uploads) */
/* A file upload: its body may be as large as the server's max_upload rather than max_body.
 * Whatever the limit, a body announced with a Content-Length is read into one allocation of
 * that size. */
#define CC_HTTP_UPLOAD 2u

struct cc_http_route {
        const char *method;
        const char *pattern; /* "/api/calls/{id}" */
        cc_http_handler_fn fn;
        enum cc_role min_role; /* CC_ROLE_NONE: public; otherwise a valid bearer token whose role
                                * is at least this (AGENT < SUPERVISOR < ADMIN) */
        unsigned flags;
};

/* 0 when the service can take traffic (database and Kafka reachable). */
typedef int (*cc_http_ready_fn)(void *userdata, char *why, size_t why_len);

struct cc_http_server_config {
        const char *service;              /* metrics and logs */
        const char *bind_addr;            /* "127.0.0.1", "0.0.0.0"; NULL = any */
        int port;                         /* 0 = pick a free port (tests) */
        int threads;                      /* 0 = 2 x cores */
        size_t max_body;                  /* bytes; larger bodies get 413; 0 = 1 MiB */
        size_t max_upload;                /* the same for CC_HTTP_UPLOAD routes; 0 = max_body */
        int conn_timeout_s;               /* idle/slow connection timeout; 0 = 30 s */
        int max_json_depth;               /* default 32 */
        struct cc_jwt_verifier *verifier; /* borrowed; NULL = every authenticated route is 401 */
        cc_http_ready_fn ready;           /* NULL = always ready */
        /* CORS: comma-separated allowed origins ("http://localhost:5173, ..."); NULL or "" = no
         * CORS headers at all. Allowed origins get Access-Control-Allow-Origin (the request's
         * Origin) and -Allow-Credentials on every reply; OPTIONS preflights on any path are
         * answered 204 with every method and the requested headers allowed (400 for an origin
         * not in the list). Every reply then carries Vary: Origin. Copied. */
        const char *cors_origins;
        void *userdata; /* returned by cc_http_req_userdata */
};

/* Routes are copied. NULL (and err) when a route pattern is invalid. */
struct cc_http_server *cc_http_server_new(const struct cc_http_server_config *cfg,
                                          const struct cc_http_route *routes, size_t nroutes,
                                          char *err, size_t err_len);
int cc_http_server_start(struct cc_http_server *srv) CC_MUSTCHECK;
/* The port actually bound (useful with port 0). */
int cc_http_server_port(const struct cc_http_server *srv);
/* Stops accepting, lets in-flight requests finish (up to 10 s; their replies carry
 * "Connection: close"), then stops the threads. */
void cc_http_server_stop(struct cc_http_server *srv);
void cc_http_server_free(struct cc_http_server *srv);

/* Request accessors: strings are valid until the reply is queued. */
const char *cc_http_req_method(const struct cc_http_req *req);
/* The path as sent, still percent-encoded (parameters and query values come decoded). */
const char *cc_http_req_path(const struct cc_http_req *req);
const char *cc_http_req_id(const struct cc_http_req *req);
const char *cc_http_req_param(const struct cc_http_req *req, const char *name);
/* First value of a query key, NULL when absent. */
const char *cc_http_req_query(const struct cc_http_req *req, const char *name);
/* Every value of a repeated key (?call_ids=a&call_ids=b); returns how many were written. */
size_t cc_http_req_query_all(const struct cc_http_req *req, const char *name,
                             const char **ret_values, size_t max);
const char *cc_http_req_header(const struct cc_http_req *req, const char *name);
/* The query string as the client sent it (without '?'; "" when none), for forwarding. In the
 * arena; call it from the handler before deferring. */
const char *cc_http_req_query_string(struct cc_http_req *req);
/* The raw body, NUL-terminated after ret_len bytes ("" when there was none). */
const void *cc_http_req_body(const struct cc_http_req *req, size_t *ret_len);
/* The parsed JSON body (borrowed), NULL when the body was empty or the route is RAW_BODY. */
json_object *cc_http_req_json(const struct cc_http_req *req);
/* The verified caller on authenticated routes, NULL on public ones. */
const struct cc_auth *cc_http_req_auth(const struct cc_http_req *req);
/* Memory released when the request completes (created on first use). */
struct cc_arena *cc_http_req_arena(struct cc_http_req *req);
void *cc_http_req_userdata(const struct cc_http_req *req);
const char *cc_http_req_client_addr(const struct cc_http_req *req);

/* Reply later, from any thread: the handler calls this, hands req to someone else and returns;
 * the worker thread moves on to other connections. Exactly one cc_http_reply_* must follow
 * (from any thread, at most one thread at a time); until then the connection waits (no
 * connection timeout applies) and req with everything it points to stays valid. After the
 * handler returns, only the thread that will reply may touch req. */
void cc_http_req_defer(struct cc_http_req *req);

/* Replies: exactly one per request. Headers added before the reply go out with it. */
void cc_http_reply_header(struct cc_http_req *req, const char *name, const char *value);
/* Takes ownership of body (may be NULL for an empty body, e.g. 204). */
void cc_http_reply_json(struct cc_http_req *req, int status, json_object *body);
/* Copies body. */
void cc_http_reply_raw(struct cc_http_req *req, int status, const char *content_type,
                       const void *body, size_t len);
/* {"detail": "<formatted>"} */
void cc_http_reply_error(struct cc_http_req *req, int status, const char *fmt, ...) CC_PRINTF(3, 4);
