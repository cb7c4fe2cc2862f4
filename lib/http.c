#include "cc/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cc/json.h"
#include "cc/log.h"
#include "cc/metrics.h"
#include "cc/router.h"

#define REQUEST_ID_MAX     128
#define STATUS_SLOTS       8
#define STOP_GRACE_MS      10000
#define DEFAULT_JSON_DEPTH 32
#define DEFAULT_MAX_BODY   (1u << 20)
/* A body announced this large gets a mapping of its own, returned to the system when the
 * request ends. From the heap, glibc would (after the first such free raised its mmap
 * threshold) serve the next one from a worker thread's arena and keep the pages: after a few
 * uploads the process would hold one upload's worth per worker thread. */
#define BODY_MAP_MIN (1u << 20)
/* MHD's per-connection memory (request line, headers, read and write buffers) is zeroed
 * between requests on a kept-alive connection, so its size is paid on every request: at the
 * default 32 KiB that memset was the largest user-space cost in profiles. 16 KiB still holds
 * a long bearer token and the usual headers; larger header blocks get 431. */
#define CONNECTION_MEMORY (16u * 1024)
/* Request head bytes we accept; the rest of CONNECTION_MEMORY is for the reply head. */
#define HEADER_BUDGET (CONNECTION_MEMORY - 4096)
#define CT_JSON       "application/json"
#define CT_METRICS    "text/plain; version=0.0.4; charset=utf-8"

/* Series cached per route so the hot path does no formatting, hashing or locking: a request
 * scans a few ints for its status and bumps two atomics. */
struct route_metrics {
        const char *route_label;
        const char *method_label;
        struct cc_metric_histogram *duration;
        struct {
                _Atomic int status; /* 0 = free; published after counter */
                struct cc_metric_counter *counter;
        } slots[STATUS_SLOTS];
};

struct route_entry {
        struct cc_http_route route; /* strings owned */
        struct route_metrics metrics;
};

/* Methods get their own label on unmatched requests; anything else is "OTHER" so a client
 * cannot grow the series set by inventing methods. */
static const char *const known_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                            "PATCH", "DELETE", "OPTIONS"};
#define NMETHOD_LABELS (CC_ARRAY_SIZE(known_methods) + 1)

struct cc_http_server {
        struct cc_http_server_config cfg;
        char *service;
        char *bind_addr;
        struct cc_router *router;
        struct route_entry *routes;
        size_t nroutes;
        struct route_metrics unmatched[NMETHOD_LABELS];
        pthread_mutex_t metrics_mu; /* creating cached series only */
        struct MHD_Daemon *daemon;
        int port;
        bool stopped;
        atomic_bool stopping;
        atomic_int inflight;
        atomic_int deferred; /* handed to another thread and not yet finished by MHD */
        pthread_mutex_t idle_mu;
        pthread_cond_t idle_cond;
        char **cors_origins; /* allowed Origin values; none: CORS off */
        size_t ncors_origins;
        bool has_uploads; /* a route is CC_HTTP_UPLOAD */
};

/* A deferred request's reply may be made on another thread before or after the handler's
 * thread has suspended the connection; whichever comes second resumes it. */
enum { DEFER_NONE = 0, DEFER_SUSPENDED = 1, DEFER_REPLIED = 2 };

struct reply_header {
        struct reply_header *next;
        const char *name, *value;
};

struct query_param {
        const char *key, *value;
};

/* Kept under 1 KiB so glibc serves it from its per-thread cache: a larger block makes every
 * allocation consolidate the fast bins first, which showed up in profiles. */
struct cc_http_req {
        struct cc_http_server *srv;
        struct MHD_Connection *conn;
        struct cc_arena *arena; /* NULL until needed */
        const char *method;
        const char *path;
        char id[REQUEST_ID_MAX + 1];
        int64_t start_us;
        struct route_entry *route;
        struct cc_route_match match;
        char scratch[160]; /* decoded path parameters of a usual-length path */
        char *body;        /* heap, NUL-terminated */
        size_t body_len, body_cap;
        size_t max_body;       /* this request's limit (its route's) */
        size_t content_length; /* as announced, 0 when not */
        bool body_mapped;      /* body is an mmap of body_cap bytes */
        size_t discarded;
        bool too_large;
        json_object *json;
        struct cc_auth *auth; /* in the arena; authenticated routes only */
        struct query_param *query;
        size_t nquery;
        bool query_parsed;
        bool query_bad; /* a key or value that is not text; answered 400 before dispatch */
        const char *client_addr;
        struct reply_header *headers;
        bool replied;
        bool queue_failed;
        bool deferred;
        _Atomic int defer_state;
        struct MHD_Response *pending; /* a deferred reply waiting for the connection's thread */
        const char *cors_origin;      /* the request's Origin when it is allowed */
        int status;
};

/* Request ids need to be unique, not secret: a per-thread generator seeded from the kernel once
 * saves a getrandom() call per request. */
static uint64_t next_random(void)
{
        static _Thread_local uint64_t state;
        static _Thread_local bool seeded;
        if (!seeded) {
                cc_random_bytes(&state, sizeof(state));
                seeded = true;
        }
        /* splitmix64 */
        uint64_t z = (state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static void generate_request_id(char out[CC_UUID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char b[16];
        uint64_t r1 = next_random(), r2 = next_random();
        memcpy(b, &r1, 8);
        memcpy(b + 8, &r2, 8);
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        char *o = out;
        for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *o++ = '-';
                *o++ = hex[b[i] >> 4];
                *o++ = hex[b[i] & 15];
        }
        *o = '\0';
}

/* A client's id is echoed in a header and logged, so only short printable ASCII is taken. */
static bool request_id_acceptable(const char *s)
{
        size_t n = 0;
        for (; s[n]; n++)
                if (n >= REQUEST_ID_MAX || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
                        return false;
        return n > 0;
}

static size_t method_index(const char *method)
{
        for (size_t i = 0; i < CC_ARRAY_SIZE(known_methods); i++)
                if (strcmp(method, known_methods[i]) == 0)
                        return i;
        return CC_ARRAY_SIZE(known_methods);
}

static void route_metrics_init(struct route_metrics *m, const char *route, const char *method)
{
        const char *labels[][2] = {{"route", route}};
        m->route_label = route;
        m->method_label = method;
        m->duration = cc_metrics_histogram("cc_http_request_duration_seconds",
                                           "HTTP request latency by route", labels, 1, NULL, 0);
        for (size_t i = 0; i < STATUS_SLOTS; i++)
                atomic_init(&m->slots[i].status, 0);
}

static struct cc_metric_counter *status_counter(struct cc_http_server *srv, struct route_metrics *m,
                                                int status)
{
        for (size_t i = 0; i < STATUS_SLOTS; i++) {
                int s = atomic_load_explicit(&m->slots[i].status, memory_order_acquire);
                if (s == status)
                        return m->slots[i].counter;
                if (s == 0)
                        break;
        }
        char code[16];
        snprintf(code, sizeof(code), "%d", status);
        const char *labels[][2] = {
            {"route", m->route_label}, {"method", m->method_label}, {"status", code}};
        struct cc_metric_counter *c = cc_metrics_counter(
            "cc_http_requests_total", "HTTP requests by route, method and status", labels, 3);
        pthread_mutex_lock(&srv->metrics_mu);
        for (size_t i = 0; i < STATUS_SLOTS; i++) {
                int s = atomic_load_explicit(&m->slots[i].status, memory_order_relaxed);
                if (s == status)
                        break;
                if (s == 0) {
                        m->slots[i].counter = c;
                        atomic_store_explicit(&m->slots[i].status, status, memory_order_release);
                        break;
                }
        }
        pthread_mutex_unlock(&srv->metrics_mu);
        return c;
}

/* ---- replies ---- */

static void free_json_body(void *cls)
{
        json_object_put(cls);
}

static void add_cors_headers(struct cc_http_req *req, struct MHD_Response *resp)
{
        if (!req->srv->ncors_origins)
                return;
        /* The answer depends on Origin, so caches must key on it even when it was refused. */
        MHD_add_response_header(resp, "Vary", "Origin");
        if (!req->cors_origin)
                return;
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", req->cors_origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
}

static void queue_response(struct cc_http_req *req, int status, struct MHD_Response *resp,
                           const char *content_type)
{
        if (content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        MHD_add_response_header(resp, "X-Request-Id", req->id);
        for (struct reply_header *h = req->headers; h; h = h->next)
                MHD_add_response_header(resp, h->name, h->value);
        add_cors_headers(req, resp);
        /* While draining, tell keep-alive clients to go elsewhere for their next request. */
        if (atomic_load_explicit(&req->srv->stopping, memory_order_relaxed))
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        req->replied = true;
        req->status = status;
        if (req->deferred) {
                /* MHD queues responses only from the connection's own thread: park it there
                 * and wake the connection if its handler has already let go of it. From the
                 * exchange on, req may be freed by that thread: nothing is touched after it.
                 * The request stops counting as deferred only when MHD has finished it
                 * (req_free): until MHD's thread has taken the resumed connection back, the
                 * daemon still holds it as suspended, and stopping it then would abort. */
                req->pending = resp;
                if (atomic_exchange_explicit(&req->defer_state, DEFER_REPLIED,
                                             memory_order_acq_rel) == DEFER_SUSPENDED)
                        MHD_resume_connection(req->conn);
                return;
        }
        if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES)
                req->queue_failed = true;
        MHD_destroy_response(resp);
}

static void queue_pending(struct cc_http_req *req)
{
        if (MHD_queue_response(req->conn, (unsigned)req->status, req->pending) != MHD_YES)
                req->queue_failed = true;
        MHD_destroy_response(req->pending);
        req->pending = NULL;
}

void cc_http_req_defer(struct cc_http_req *req)
{
        if (!req->deferred)
                atomic_fetch_add(&req->srv->deferred, 1);
        req->deferred = true;
}

static bool reply_allowed(struct cc_http_req *req)
{
        if (!req->replied)
                return true;
        cc_log_error(req->id, "%s %s: second reply ignored", req->method, req->path);
        return false;
}

void cc_http_reply_header(struct cc_http_req *req, const char *name, const char *value)
{
        struct cc_arena *arena = cc_http_req_arena(req);
        struct reply_header *h = cc_arena_alloc(arena, sizeof(*h));
        h->name = cc_arena_strdup(arena, name);
        h->value = cc_arena_strdup(arena, value);
        h->next = req->headers;
        req->headers = h;
}

void cc_http_reply_json(struct cc_http_req *req, int status, json_object *body)
{
        if (!reply_allowed(req)) {
                json_object_put(body);
                return;
        }
        struct MHD_Response *resp;
        if (!body) {
                resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
                queue_response(req, status, resp, NULL);
                return;
        }
        size_t len;
        const char *text = json_object_to_json_string_length(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        /* The text lives inside the object; MHD drops the object once the bytes are sent. */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)text,
                                                                      free_json_body, body);
        queue_response(req, status, resp, CT_JSON);
}

void cc_http_reply_raw(struct cc_http_req *req, int status, const char *content_type,
                       const void *body, size_t len)
{
        if (!reply_allowed(req))
                return;
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        queue_response(req, status, resp, content_type);
}

static void reply_owned_text(struct cc_http_req *req, int status, const char *content_type,
                             char *text)
{
        if (!reply_allowed(req)) {
                free(text);
                return;
        }
        struct MHD_Response *resp =
            MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
        queue_response(req, status, resp, content_type);
}

static void reply_detail(struct cc_http_req *req, int status, const char *detail)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "detail", json_object_new_string(detail));
        cc_http_reply_json(req, status, o);
}

void cc_http_reply_error(struct cc_http_req *req, int status, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        reply_detail(req, status, msg);
}

/* ---- request accessors ---- */

const char *cc_http_req_method(const struct cc_http_req *req)
{
        return req->method;
}

const char *cc_http_req_path(const struct cc_http_req *req)
{
        return req->path;
}

const char *cc_http_req_id(const struct cc_http_req *req)
{
        return req->id;
}

const char *cc_http_req_param(const struct cc_http_req *req, const char *name)
{
        for (size_t i = 0; i < req->match.nparams; i++)
                if (strcmp(req->match.params[i].name, name) == 0)
                        return req->match.params[i].value;
        return NULL;
}

/* Form-style decoding of a query key or value ('+' is a space); a bad escape is kept as
 * written rather than failing the request. NULL when the result is not text (%00, control
 * characters, broken UTF-8): no handler, log line or SQL statement should see that. */
static const char *query_decode(struct cc_http_req *req, const char *s)
{
        if (!s)
                return "";
        if (!strpbrk(s, "%+"))
                return cc_text_valid(s, strlen(s)) ? s : NULL;
        char *out = cc_arena_alloc(cc_http_req_arena(req), strlen(s) + 1), *o = out;
        for (const char *p = s; *p; p++) {
                if (*p == '+') {
                        *o++ = ' ';
                } else if (*p == '%' && cc_hex_value(p[1]) >= 0 && cc_hex_value(p[2]) >= 0) {
                        *o++ = (char)(cc_hex_value(p[1]) << 4 | cc_hex_value(p[2]));
                        p += 2;
                } else {
                        *o++ = *p;
                }
        }
        *o = '\0';
        return cc_text_valid(out, (size_t)(o - out)) ? out : NULL;
}

struct query_collect {
        struct cc_http_req *req;
        size_t cap;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
        struct query_collect *qc = cls;
        struct cc_http_req *req = qc->req;
        if (!key || !*key)
                return MHD_YES;
        const char *k = query_decode(req, key), *v = query_decode(req, value);
        if (!k || !v) {
                req->query_bad = true;
                return MHD_YES;
        }
        if (req->nquery == qc->cap) {
                size_t cap = qc->cap ? qc->cap * 2 : 8;
                struct query_param *q = cc_arena_alloc(cc_http_req_arena(req), cap * sizeof(*q));
                if (req->nquery)
                        memcpy(q, req->query, req->nquery * sizeof(*q));
                req->query = q;
                qc->cap = cap;
        }
        req->query[req->nquery].key = k;
        req->query[req->nquery].value = v;
        req->nquery++;
        return MHD_YES;
}

static void parse_query(const struct cc_http_req *creq)
{
        /* Parsing is lazy and caches into the request; the accessors are const only to the
         * handler. */
        struct cc_http_req *req = (struct cc_http_req *)creq;
        if (req->query_parsed)
                return;
        struct query_collect qc = {.req = req};
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, &qc);
        req->query_parsed = true;
}

const char *cc_http_req_query(const struct cc_http_req *req, const char *name)
{
        parse_query(req);
        for (size_t i = 0; i < req->nquery; i++)
                if (strcmp(req->query[i].key, name) == 0)
                        return req->query[i].value;
        return NULL;
}

size_t cc_http_req_query_all(const struct cc_http_req *req, const char *name,
                             const char **ret_values, size_t max)
{
        size_t n = 0;
        parse_query(req);
        for (size_t i = 0; i < req->nquery && n < max; i++)
                if (strcmp(req->query[i].key, name) == 0)
                        ret_values[n++] = req->query[i].value;
        return n;
}

struct raw_query {
        struct cc_http_req *req;
        char *buf;
        size_t len, cap;
};

static void raw_query_append(struct raw_query *rq, const char *s, bool space_as_plus)
{
        size_t n = strlen(s);
        if (rq->len + n + 2 > rq->cap) {
                size_t cap = (rq->len + n + 2) * 2;
                char *b = cc_arena_alloc(cc_http_req_arena(rq->req), cap);
                memcpy(b, rq->buf, rq->len);
                rq->buf = b;
                rq->cap = cap;
        }
        for (size_t i = 0; i < n; i++)
                rq->buf[rq->len++] = space_as_plus && s[i] == ' ' ? '+' : s[i];
        rq->buf[rq->len] = '\0';
}

static enum MHD_Result collect_raw_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
        struct raw_query *rq = cls;
        if (rq->len)
                raw_query_append(rq, "&", false);
        /* MHD turned '+' into ' ' but left %XX alone (keep_escaped); a request line cannot hold
         * a bare space, so every space was a '+'. */
        raw_query_append(rq, key ? key : "", true);
        if (value) {
                raw_query_append(rq, "=", false);
                raw_query_append(rq, value, true);
        }
        return MHD_YES;
}

const char *cc_http_req_query_string(struct cc_http_req *req)
{
        struct raw_query rq = {.req = req, .buf = (char *)""};
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_raw_query, &rq);
        return rq.buf;
}

const char *cc_http_req_header(const struct cc_http_req *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const void *cc_http_req_body(const struct cc_http_req *req, size_t *ret_len)
{
        if (ret_len)
                *ret_len = req->body_len;
        return req->body ? req->body : "";
}

json_object *cc_http_req_json(const struct cc_http_req *req)
{
        return req->json;
}

const struct cc_auth *cc_http_req_auth(const struct cc_http_req *req)
{
        return req->auth;
}

struct cc_arena *cc_http_req_arena(struct cc_http_req *req)
{
        /* Created on first use: most requests (health checks, simple reads) never need one. */
        if (!req->arena)
                req->arena = cc_arena_new(4096);
        return req->arena;
}

void *cc_http_req_userdata(const struct cc_http_req *req)
{
        return req->srv->cfg.userdata;
}

const char *cc_http_req_client_addr(const struct cc_http_req *req)
{
        struct cc_http_req *r = (struct cc_http_req *)req;
        if (r->client_addr)
                return r->client_addr;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char buf[INET6_ADDRSTRLEN] = "";
        if (ci && ci->client_addr) {
                const struct sockaddr *sa = ci->client_addr;
                if (sa->sa_family == AF_INET)
                        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                                  sizeof(buf));
                else if (sa->sa_family == AF_INET6)
                        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
                                  sizeof(buf));
        }
        r->client_addr = cc_arena_strdup(cc_http_req_arena(r), buf);
        return r->client_addr;
}

/* ---- built-in routes ---- */

static void h_healthz(struct cc_http_req *req)
{
        static const char body[] = "{\"status\":\"ok\"}";
        cc_http_reply_raw(req, 200, CT_JSON, body, sizeof(body) - 1);
}

static void h_readyz(struct cc_http_req *req)
{
        const struct cc_http_server_config *cfg = &req->srv->cfg;
        char why[256] = "";
        if (!cfg->ready || cfg->ready(cfg->userdata, why, sizeof(why)) == 0) {
                static const char body[] = "{\"status\":\"ready\"}";
                cc_http_reply_raw(req, 200, CT_JSON, body, sizeof(body) - 1);
                return;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("not ready"));
        json_object_object_add(o, "detail", json_object_new_string(why[0] ? why : "not ready"));
        cc_http_reply_json(req, 503, o);
}

static void h_metrics(struct cc_http_req *req)
{
        reply_owned_text(req, 200, CT_METRICS, cc_metrics_render());
}

static const struct cc_http_route builtin_routes[] = {
    {"GET", "/healthz", h_healthz, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"GET", "/readyz", h_readyz, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"GET", "/metrics", h_metrics, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
};

/* ---- request processing ---- */

static const char *forbidden_detail(enum cc_role min_role)
{
        switch (min_role) {
        case CC_ROLE_ADMIN:
                return "Admin access required";
        case CC_ROLE_SUPERVISOR:
                return "Supervisor or admin access required";
        default:
                return "Access denied";
        }
}

static bool authenticate(struct cc_http_req *req, enum cc_role min_role)
{
        const char *h = cc_http_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = NULL;
        if (h && strncasecmp(h, "Bearer ", 7) == 0) {
                token = h + 7;
                while (*token == ' ')
                        token++;
                if (!*token)
                        token = NULL;
        }
        if (!token) {
                cc_http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
                reply_detail(req, 401, "Not authenticated");
                return false;
        }
        struct cc_auth auth;
        struct cc_jwt_verifier *v = req->srv->cfg.verifier;
        int r = v ? cc_jwt_verify(v, token, &auth) : -ENOKEY;
        if (r < 0) {
                cc_log_debug(req->id, "token refused: %s", strerror(-r));
                cc_http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
                reply_detail(req, 401, "Authentication failed");
                return false;
        }
        if (auth.role < min_role) {
                reply_detail(req, 403, forbidden_detail(min_role));
                return false;
        }
        req->auth = cc_arena_alloc(cc_http_req_arena(req), sizeof(auth));
        *req->auth = auth;
        return true;
}

static bool origin_allowed(const struct cc_http_server *srv, const char *origin)
{
        for (size_t i = 0; i < srv->ncors_origins; i++)
                if (strcmp(srv->cors_origins[i], origin) == 0)
                        return true;
        return false;
}

/* true when the request was a CORS preflight and has been answered. */
static bool handle_cors(struct cc_http_req *req)
{
        const char *origin = cc_http_req_header(req, "Origin");
        if (!origin)
                return false;
        if (origin_allowed(req->srv, origin))
                req->cors_origin = origin;
        const char *want_method = cc_http_req_header(req, "Access-Control-Request-Method");
        if (strcmp(req->method, "OPTIONS") != 0 || !want_method)
                return false;
        if (!req->cors_origin) {
                reply_detail(req, 400, "Disallowed CORS origin");
                return true;
        }
        /* Every method and header is allowed; with credentials "*" is not a wildcard, so the
         * browser's own list is echoed. */
        cc_http_reply_header(req, "Access-Control-Allow-Methods",
                             "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
        const char *want_headers = cc_http_req_header(req, "Access-Control-Request-Headers");
        if (want_headers)
                cc_http_reply_header(req, "Access-Control-Allow-Headers", want_headers);
        cc_http_reply_header(req, "Access-Control-Max-Age", "600");
        cc_http_reply_json(req, 204, NULL);
        return true;
}

static void dispatch(struct cc_http_req *req)
{
        struct cc_http_server *srv = req->srv;
        if (srv->ncors_origins && handle_cors(req))
                return;
        char allow[128];
        size_t scratch_len = strlen(req->path) + 1;
        char *scratch = scratch_len <= sizeof(req->scratch)
                            ? req->scratch
                            : cc_arena_alloc(cc_http_req_arena(req), scratch_len);
        int r = cc_router_match(srv->router, req->method, req->path, scratch, scratch_len,
                                &req->match, allow, sizeof(allow));
        /* HEAD is answered by a GET route unless one is registered for HEAD itself; MHD leaves
         * the body out. */
        if (r == -EPERM && strcmp(req->method, "HEAD") == 0)
                r = cc_router_match(srv->router, "GET", req->path, scratch, scratch_len,
                                    &req->match, NULL, 0);
        if (r == -EPERM) {
                cc_http_reply_header(req, MHD_HTTP_HEADER_ALLOW, allow);
                reply_detail(req, 405, "Method Not Allowed");
                return;
        }
        if (r < 0) {
                reply_detail(req, 404, "Not Found");
                return;
        }
        /* Decoded parameters that are not text name no resource we could have. */
        for (size_t i = 0; i < req->match.nparams; i++) {
                const char *v = req->match.params[i].value;
                if (!cc_text_valid(v, strlen(v))) {
                        reply_detail(req, 404, "Not Found");
                        return;
                }
        }
        req->route = (struct route_entry *)req->match.handler;
        const struct cc_http_route *route = &req->route->route;
        /* Counting the arguments is a walk over a short list; parsing waits for a query. */
        if (MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0) {
                parse_query(req);
                if (req->query_bad) {
                        reply_detail(req, 400, "Query parameters must be UTF-8 text");
                        return;
                }
        }

        if (route->min_role != CC_ROLE_NONE && !req->auth && !authenticate(req, route->min_role))
                return;

        if (!(route->flags & CC_HTTP_RAW_BODY) && req->body_len > 0) {
                char err[256];
                int depth =
                    srv->cfg.max_json_depth > 0 ? srv->cfg.max_json_depth : DEFAULT_JSON_DEPTH;
                req->json = cc_json_parse(req->body, req->body_len, depth, err, sizeof(err));
                if (!req->json) {
                        cc_http_reply_error(req, 400, "Malformed JSON body: %s", err);
                        return;
                }
        }

        route->fn(req);
        if (req->deferred) {
                /* From here on the reply belongs to whoever the handler passed req to, and req
                 * may be written by that thread: only the atomic state is looked at. */
                MHD_suspend_connection(req->conn);
                int expected = DEFER_NONE;
                if (!atomic_compare_exchange_strong_explicit(&req->defer_state, &expected,
                                                             DEFER_SUSPENDED, memory_order_acq_rel,
                                                             memory_order_acquire))
                        MHD_resume_connection(req->conn);
                return;
        }
        if (!req->replied) {
                cc_log_error(req->id, "%s %s: handler for %s returned without a reply", req->method,
                             req->path, route->pattern);
                reply_detail(req, 500, "Internal server error");
        }
}

_Static_assert(sizeof(struct cc_http_req) <= 1000, "keep requests in the malloc fast path");

static struct cc_http_req *req_new(struct cc_http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
        struct cc_http_req *req = cc_xcalloc(1, sizeof(*req));
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->start_us = cc_monotonic_us();
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && request_id_acceptable(rid))
                strcpy(req->id, rid);
        else
                generate_request_id(req->id);
        atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
        return req;
}

static void body_free(struct cc_http_req *req)
{
        if (req->body_mapped)
                munmap(req->body, req->body_cap);
        else
                free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        req->body_mapped = false;
}

/* Room for the announced length at once: growing by doubling would hold an upload twice while
 * it is copied, and up to twice its size after. */
static void body_reserve(struct cc_http_req *req)
{
        size_t cap = req->content_length + 1;
        if (cap >= BODY_MAP_MIN) {
                void *p =
                    mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p != MAP_FAILED) {
                        req->body = p;
                        req->body_cap = cap;
                        req->body_mapped = true;
                        return;
                }
        }
        req->body = cc_xmalloc(cap);
        req->body_cap = cap;
}

static void req_free(struct cc_http_req *req)
{
        struct cc_http_server *srv = req->srv;
        bool deferred = req->deferred;
        if (req->pending)
                MHD_destroy_response(req->pending);
        json_object_put(req->json);
        body_free(req);
        cc_arena_free(req->arena);
        free(req);
        /* A stopper checks the counters and waits under the lock, so a broadcast made under it
         * after the decrement cannot be missed. This runs on an MHD thread, which
         * MHD_stop_daemon joins: srv outlives it. */
        bool last_inflight = atomic_fetch_sub(&srv->inflight, 1) == 1;
        bool last_deferred = deferred && atomic_fetch_sub(&srv->deferred, 1) == 1;
        if ((last_inflight || last_deferred) && atomic_load(&srv->stopping)) {
                pthread_mutex_lock(&srv->idle_mu);
                pthread_cond_broadcast(&srv->idle_cond);
                pthread_mutex_unlock(&srv->idle_mu);
        }
}

/* Records the announced length; true when it is beyond the request's limit. */
static bool content_length_too_large(struct cc_http_req *req)
{
        const char *cl =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!cl)
                return false;
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno == ERANGE || (end != cl && n > req->max_body))
                return true;
        if (end != cl && *end == '\0')
                req->content_length = (size_t)n;
        return false;
}

/* The body limit of the route a request is for, looked up before its body is read; the
 * dispatch matches again after (with the HEAD and 405 rules), which costs a lookup only on
 * servers that have upload routes. */
static size_t request_body_limit(struct cc_http_req *req, const struct route_entry **ret_upload)
{
        struct cc_http_server *srv = req->srv;
        *ret_upload = NULL;
        if (!srv->has_uploads)
                return srv->cfg.max_body;
        size_t scratch_len = strlen(req->path) + 1;
        char *scratch = scratch_len <= sizeof(req->scratch)
                            ? req->scratch
                            : cc_arena_alloc(cc_http_req_arena(req), scratch_len);
        struct cc_route_match m;
        if (cc_router_match(srv->router, req->method, req->path, scratch, scratch_len, &m, NULL,
                            0) < 0)
                return srv->cfg.max_body;
        const struct route_entry *e = m.handler;
        if (!(e->route.flags & CC_HTTP_UPLOAD))
                return srv->cfg.max_body;
        *ret_upload = e;
        return srv->cfg.max_upload;
}

/* Two framings for one body are how requests get smuggled past a proxy that picks the other
 * one; MHD takes the first Content-Length silently. */
static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
        unsigned *n = cls;
        if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                n[0]++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
                n[1]++;
        return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
        struct cc_http_server *srv = cls;
        struct cc_http_req *req = *con_cls;

        if (!req) {
                req = req_new(srv, conn, url, method);
                *con_cls = req;
                const struct route_entry *upload;
                req->max_body = request_body_limit(req, &upload);
                /* MHD builds the reply head in what is left of the connection's memory: with
                 * a request head close to the limit the handler would run and its reply be
                 * dropped with the connection, so such requests are refused up front. */
                const union MHD_ConnectionInfo *hi =
                    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
                if (hi && hi->header_size > HEADER_BUDGET) {
                        reply_detail(req, 431, "Request header fields too large");
                        return req->queue_failed ? MHD_NO : MHD_YES;
                }
                unsigned framing[2] = {0, 0};
                MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, framing);
                if (framing[0] > 1 || (framing[0] && framing[1])) {
                        reply_detail(req, 400, "Ambiguous request body length");
                        return req->queue_failed ? MHD_NO : MHD_YES;
                }
                /* Answering before the body is read makes MHD close the connection afterwards,
                 * which is what an oversized upload deserves. */
                /* An upload may be many megabytes: whoever may not send it is turned away
                 * before it is read, not after the server has held it (the 401/403 closes the
                 * connection like a 413). dispatch() does not check again. */
                if (upload && upload->route.min_role != CC_ROLE_NONE &&
                    !authenticate(req, upload->route.min_role))
                        return req->queue_failed ? MHD_NO : MHD_YES;
                if (content_length_too_large(req)) {
                        req->too_large = true;
                        reply_detail(req, 413, "Request body too large");
                }
                return req->queue_failed ? MHD_NO : MHD_YES;
        }

        size_t max_body = req->max_body;
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->replied || req->too_large) {
                        req->discarded += n;
                        /* Reading a chunked upload to its end is how the client gets its 413;
                         * one that keeps sending far beyond the limit is cut off. */
                        if (req->discarded / 4 > max_body + 16384)
                                return MHD_NO;
                        return MHD_YES;
                }
                if (req->body_len + n > max_body) {
                        req->too_large = true;
                        req->discarded = req->body_len + n;
                        body_free(req);
                        return MHD_YES;
                }
                if (!req->body_cap && req->content_length >= n)
                        body_reserve(req);
                /* MHD holds the client to its Content-Length, so a reserved body does not
                 * grow; one sent in chunks grows by doubling. */
                if (req->body_len + n + 1 > req->body_cap) {
                        size_t cap = req->body_cap ? req->body_cap : 1024;
                        while (cap < req->body_len + n + 1)
                                cap *= 2;
                        if (req->body_mapped) {
                                char *heap = cc_xmalloc(cap);
                                memcpy(heap, req->body, req->body_len);
                                munmap(req->body, req->body_cap);
                                req->body = heap;
                                req->body_mapped = false;
                        } else {
                                req->body = cc_xrealloc(req->body, cap);
                        }
                        req->body_cap = cap;
                }
                memcpy(req->body + req->body_len, upload_data, n);
                req->body_len += n;
                req->body[req->body_len] = '\0';
                return MHD_YES;
        }

        if (req->pending)
                queue_pending(req);
        if (req->replied || req->deferred)
                return req->queue_failed ? MHD_NO : MHD_YES;
        if (req->too_large)
                reply_detail(req, 413, "Request body too large");
        else
                dispatch(req);
        return req->queue_failed ? MHD_NO : MHD_YES;
}

/* MHD's accept policy: while the server stops, a new connection is closed as soon as it is
 * accepted (the client sees it closed and goes elsewhere). */
static enum MHD_Result refuse_when_stopping(void *cls, const struct sockaddr *addr,
                                            socklen_t addrlen)
{
        (void)addr;
        (void)addrlen;
        struct cc_http_server *srv = cls;
        return atomic_load_explicit(&srv->stopping, memory_order_relaxed) ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct cc_http_server *srv = cls;
        struct cc_http_req *req = *con_cls;
        if (!req)
                return;
        *con_cls = NULL;
        int64_t us = cc_monotonic_us() - req->start_us;
        if (req->replied) {
                struct route_metrics *m =
                    req->route ? &req->route->metrics : &srv->unmatched[method_index(req->method)];
                cc_metric_counter_add(status_counter(srv, m, req->status), 1);
                cc_metric_histogram_observe(m->duration, (double)us / 1e6);
                if (cc_log_enabled(CC_LOG_INFO))
                        cc_log_info(
                            req->id, "%s %s %d %.3fms%s", req->method, req->path, req->status,
                            (double)us / 1e3,
                            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection lost)");
        } else {
                cc_log_debug(req->id, "%s %s: connection ended before a reply (%d)", req->method,
                             req->path, (int)toe);
        }
        req_free(req);
}

/* MHD would decode %XX in the path before routing, turning an encoded '/' inside a parameter
 * into a separator. The router decodes path segments and the query accessors decode keys and
 * values, so MHD is told to leave everything as sent. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
        return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        if (!cc_log_enabled(CC_LOG_DEBUG))
                return;
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        if (n && msg[n - 1] == '\n')
                msg[n - 1] = '\0';
        cc_log_debug(NULL, "microhttpd: %s", msg);
}

/* ---- server lifecycle ---- */

static void route_entry_fini(struct route_entry *e)
{
        free((char *)e->route.method);
        free((char *)e->route.pattern);
}

void cc_http_server_free(struct cc_http_server *srv)
{
        if (!srv)
                return;
        cc_http_server_stop(srv);
        for (size_t i = 0; i < srv->nroutes; i++)
                route_entry_fini(&srv->routes[i]);
        free(srv->routes);
        cc_router_free(srv->router);
        pthread_mutex_destroy(&srv->metrics_mu);
        pthread_mutex_destroy(&srv->idle_mu);
        pthread_cond_destroy(&srv->idle_cond);
        for (size_t i = 0; i < srv->ncors_origins; i++)
                free(srv->cors_origins[i]);
        free(srv->cors_origins);
        free(srv->service);
        free(srv->bind_addr);
        free(srv);
}

static int add_route(struct cc_http_server *srv, const struct cc_http_route *rt, bool builtin,
                     char *err, size_t err_len)
{
        if (!rt->method || !rt->pattern || !rt->fn) {
                snprintf(err, err_len, "route %zu: method, pattern and handler are required",
                         srv->nroutes);
                return -EINVAL;
        }
        struct route_entry *e = &srv->routes[srv->nroutes];
        memset(e, 0, sizeof(*e));
        e->route = *rt;
        e->route.method = cc_xstrdup(rt->method);
        e->route.pattern = cc_xstrdup(rt->pattern);
        int r = cc_router_add(srv->router, e->route.method, e->route.pattern, e);
        if (r < 0) {
                route_entry_fini(e);
                /* A service may define its own /healthz and friends; its version wins. */
                if (builtin && r == -EEXIST)
                        return 0;
                snprintf(err, err_len, "route %s %s: %s", rt->method, rt->pattern,
                         r == -EEXIST ? "defined twice" : "invalid method or pattern");
                return r;
        }
        route_metrics_init(&e->metrics, e->route.pattern, e->route.method);
        srv->nroutes++;
        return 0;
}

static void parse_cors_origins(struct cc_http_server *srv, const char *list)
{
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                while (n && (*p == ' ' || *p == '\t')) {
                        p++;
                        n--;
                }
                while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '/'))
                        n--;
                if (n) {
                        srv->cors_origins = cc_xrealloc(srv->cors_origins,
                                                        (srv->ncors_origins + 1) * sizeof(char *));
                        srv->cors_origins[srv->ncors_origins++] = cc_xstrndup(p, n);
                }
                p = e ? e + 1 : p + n;
        }
}

struct cc_http_server *cc_http_server_new(const struct cc_http_server_config *cfg,
                                          const struct cc_http_route *routes, size_t nroutes,
                                          char *err, size_t err_len)
{
        struct cc_http_server *srv = cc_xcalloc(1, sizeof(*srv));
        srv->cfg = *cfg;
        if (srv->cfg.max_body == 0)
                srv->cfg.max_body = DEFAULT_MAX_BODY;
        if (srv->cfg.max_upload == 0)
                srv->cfg.max_upload = srv->cfg.max_body;
        srv->service = cc_xstrdup(cfg->service ? cfg->service : "cc");
        srv->cfg.service = srv->service;
        if (cfg->bind_addr) {
                srv->bind_addr = cc_xstrdup(cfg->bind_addr);
                srv->cfg.bind_addr = srv->bind_addr;
        }
        parse_cors_origins(srv, cfg->cors_origins);
        srv->cfg.cors_origins = NULL;
        pthread_mutex_init(&srv->metrics_mu, NULL);
        pthread_mutex_init(&srv->idle_mu, NULL);
        pthread_cond_init(&srv->idle_cond, NULL);
        atomic_init(&srv->stopping, false);
        atomic_init(&srv->inflight, 0);
        atomic_init(&srv->deferred, 0);
        srv->stopped = true;
        srv->router = cc_router_new();
        /* Entries are never moved: the router holds pointers to them. */
        srv->routes = cc_xcalloc(nroutes + CC_ARRAY_SIZE(builtin_routes), sizeof(*srv->routes));
        for (size_t i = 0; i < nroutes; i++) {
                if (add_route(srv, &routes[i], false, err, err_len) < 0)
                        goto fail;
                srv->has_uploads = srv->has_uploads || (routes[i].flags & CC_HTTP_UPLOAD);
        }
        for (size_t i = 0; i < CC_ARRAY_SIZE(builtin_routes); i++)
                if (add_route(srv, &builtin_routes[i], true, err, err_len) < 0)
                        goto fail;
        for (size_t i = 0; i < NMETHOD_LABELS; i++)
                route_metrics_init(&srv->unmatched[i], "unmatched",
                                   i < CC_ARRAY_SIZE(known_methods) ? known_methods[i] : "OTHER");
        return srv;
fail:
        cc_http_server_free(srv);
        return NULL;
}

static unsigned default_threads(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)(2 * n) : 2;
}

int cc_http_server_start(struct cc_http_server *srv)
{
        if (srv->daemon)
                return -EALREADY;
        union {
                struct sockaddr sa;
                struct sockaddr_in in4;
                struct sockaddr_in6 in6;
        } addr;
        memset(&addr, 0, sizeof(addr));
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
        uint16_t port = (uint16_t)(srv->cfg.port > 0 ? srv->cfg.port : 0);
        const char *bind = srv->cfg.bind_addr;
        if (bind && inet_pton(AF_INET6, bind, &addr.in6.sin6_addr) == 1) {
                addr.in6.sin6_family = AF_INET6;
                addr.in6.sin6_port = htons(port);
                flags |= MHD_USE_IPv6;
        } else {
                addr.in4.sin_family = AF_INET;
                addr.in4.sin_port = htons(port);
                if (!bind)
                        addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
                else if (inet_pton(AF_INET, bind, &addr.in4.sin_addr) != 1)
                        return -EINVAL;
        }

        /* Every connection is a descriptor; leave room for the database pool, Kafka and logs.
         * One address may hold a quarter of the slots: enough for a gateway or an ingress in
         * front of us, not enough for one client to starve everybody else. */
        struct rlimit rl;
        unsigned conn_limit = 4096;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < conn_limit + 256)
                conn_limit = rl.rlim_cur > 320 ? (unsigned)rl.rlim_cur - 256 : 64;
        unsigned per_ip = conn_limit / 4 > 64 ? conn_limit / 4 : 64;
        unsigned timeout = srv->cfg.conn_timeout_s > 0 ? (unsigned)srv->cfg.conn_timeout_s : 30;
        unsigned threads = srv->cfg.threads > 0 ? (unsigned)srv->cfg.threads : default_threads();

        atomic_store(&srv->stopping, false);
        /* clang-format off */
        srv->daemon = MHD_start_daemon(flags, port, refuse_when_stopping, srv, on_access, srv,
                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                MHD_OPTION_SOCK_ADDR, &addr.sa,
                MHD_OPTION_THREAD_POOL_SIZE, threads,
                MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                MHD_OPTION_CONNECTION_LIMIT, conn_limit,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
                MHD_OPTION_END);
        /* clang-format on */
        if (!srv->daemon)
                return -EADDRINUSE; /* by far the usual reason; MHD does not say */
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = info ? info->port : port;
        srv->stopped = false;
        return 0;
}

int cc_http_server_port(const struct cc_http_server *srv)
{
        return srv->port;
}

void cc_http_server_stop(struct cc_http_server *srv)
{
        if (!srv || srv->stopped || !srv->daemon)
                return;
        /* From here on new connections are accepted and closed at once (refuse_when_stopping),
         * so no client waits in the backlog for the whole drain. MHD_quiesce_daemon would do it
         * at the kernel, but on an epoll daemon with its own threads it races MHD's worker
         * threads over the listen socket and can abort the process (an open libmicrohttpd
         * defect: both remove it from the epoll set and the loser panics). */
        atomic_store(&srv->stopping, true);

        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += STOP_GRACE_MS / 1000;
        pthread_mutex_lock(&srv->idle_mu);
        while (atomic_load(&srv->inflight) > 0)
                if (pthread_cond_timedwait(&srv->idle_cond, &srv->idle_mu, &deadline) == ETIMEDOUT)
                        break;
        /* A deferred request is in another thread's hands until it is answered, and MHD holds
         * its connection as suspended until its thread has resumed it: stopping the daemon
         * before both would free it under that thread (or abort MHD). Its owner answers
         * within its own timeouts (an upstream's, the database's), so this wait ends. */
        while (atomic_load(&srv->deferred) > 0)
                pthread_cond_wait(&srv->idle_cond, &srv->idle_mu);
        pthread_mutex_unlock(&srv->idle_mu);

        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
        srv->stopped = true;
}
