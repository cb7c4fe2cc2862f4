/* Forwarding: handlers build a libcurl easy handle and hand it, with the deferred request, to
 * one of a few loop threads (one per core), each driving its transfers through a multi handle.
 * The multi handles' connection caches keep connections to each upstream alive between requests,
 * and a slow upstream costs a socket, not an HTTP worker thread. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cc/http.h"
#include "cc/httpc.h"
#include "cc/log.h"
#include "frontdoor.h"

#define MAX_RESPONSE_BODY (16u << 20)
#define PROBE_INTERVAL_US 1000000
#define PROBE_TIMEOUT_MS  1000
#define MAX_REPLY_HEADERS 64

struct upstream {
        char *name;
        char *base_url;
        int connect_timeout_ms, timeout_ms;
        struct cc_breaker *breaker;
        atomic_bool ready;
        bool probing;
        int64_t next_probe_us;
};

struct header_line {
        char *name, *value;
};

struct job {
        struct job *next;          /* in the incoming list */
        struct job *aprev, *anext; /* in the active list (loop thread) */
        struct loop *loop;
        struct upstream *up;
        struct cc_http_req *req; /* NULL for a readiness probe */
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char *body;
        size_t body_len, body_cap;
        bool too_large;
        struct header_line reply_headers[MAX_REPLY_HEADERS];
        size_t nreply_headers;
        char *content_type;
};

/* One multi handle driven by one thread. A single loop saturates a core long before the HTTP
 * workers do, so there is one per core and requests are dealt out in turn. */
struct loop {
        struct proxy *proxy;
        CURLM *multi;
        pthread_t thread;
        bool started;
        bool probes; /* this loop runs the readiness probes */
        pthread_mutex_t mu;
        struct job *incoming; /* handed over by handlers, guarded by mu */
        struct job *active;   /* loop thread only */
};

struct proxy {
        struct upstream *ups;
        size_t nups;
        struct loop *loops;
        size_t nloops;
        atomic_uint next_loop;
        atomic_bool stop;
};

/* Headers a client sends that mean something to the service behind us; everything else,
 * hop-by-hop headers among them, stays here. */
static const char *const forwarded_headers[] = {
    "Authorization",      "Content-Type", "Accept",     "Accept-Language", "User-Agent",
    "X-Twilio-Signature", "traceparent",  "tracestate", "If-None-Match",   "If-Modified-Since",
};

/* Reply headers the gateway sets itself or that describe only the upstream connection. */
static const char *const dropped_reply_headers[] = {
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Connection",
    "TE",
    "Trailer",
    "Trailers",
    "Transfer-Encoding",
    "Upgrade",
    "Content-Length",
    "Content-Type",
    "Date",
    "X-Request-Id",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
};

static bool header_dropped(const char *name)
{
        for (size_t i = 0; i < CC_ARRAY_SIZE(dropped_reply_headers); i++)
                if (strcasecmp(name, dropped_reply_headers[i]) == 0)
                        return true;
        return false;
}

static void job_reset_reply(struct job *job)
{
        for (size_t i = 0; i < job->nreply_headers; i++) {
                free(job->reply_headers[i].name);
                free(job->reply_headers[i].value);
        }
        job->nreply_headers = 0;
        free(job->content_type);
        job->content_type = NULL;
}

static void job_free(struct job *job)
{
        if (!job)
                return;
        job_reset_reply(job);
        curl_slist_free_all(job->headers);
        if (job->easy)
                curl_easy_cleanup(job->easy);
        free(job->url);
        free(job->body);
        free(job);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct job *job = userdata;
        size_t n = size * nmemb;
        if (job->body_len + n > MAX_RESPONSE_BODY) {
                job->too_large = true;
                return 0;
        }
        if (job->body_len + n + 1 > job->body_cap) {
                size_t cap = job->body_cap ? job->body_cap : 4096;
                while (cap < job->body_len + n + 1)
                        cap *= 2;
                job->body = cc_xrealloc(job->body, cap);
                job->body_cap = cap;
        }
        memcpy(job->body + job->body_len, data, n);
        job->body_len += n;
        job->body[job->body_len] = '\0';
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct job *job = userdata;
        size_t n = size * nmemb;
        /* A status line starts a new header block (after 100 Continue, say). */
        if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                job_reset_reply(job);
                return n;
        }
        const char *colon = memchr(data, ':', n);
        if (!colon || colon == data)
                return n;
        size_t nlen = (size_t)(colon - data);
        const char *v = colon + 1, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        char *name = cc_xstrndup(data, nlen);
        char *value = cc_xstrndup(v, (size_t)(end - v));
        if (strcasecmp(name, "Content-Type") == 0) {
                free(job->content_type);
                job->content_type = value;
                free(name);
        } else if (header_dropped(name) || job->nreply_headers == MAX_REPLY_HEADERS) {
                free(name);
                free(value);
        } else {
                job->reply_headers[job->nreply_headers].name = name;
                job->reply_headers[job->nreply_headers].value = value;
                job->nreply_headers++;
        }
        return n;
}

static struct job *job_new(struct loop *lp, struct upstream *up, const char *url, int timeout_ms)
{
        struct job *job = cc_xcalloc(1, sizeof(*job));
        job->loop = lp;
        job->up = up;
        job->url = cc_xstrdup(url);
        job->easy = curl_easy_init();
        if (!job->easy)
                abort(); /* only out of memory makes it fail */
        CURL *e = job->easy;
        curl_easy_setopt(e, CURLOPT_URL, job->url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, job);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)up->connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        return job;
}

static void hand_over(struct loop *lp, struct job *job)
{
        pthread_mutex_lock(&lp->mu);
        /* A non-empty list means a wakeup is already on its way: under load that saves a
         * write and a wakeup per request. */
        bool wake = lp->incoming == NULL;
        job->next = lp->incoming;
        lp->incoming = job;
        pthread_mutex_unlock(&lp->mu);
        if (wake)
                curl_multi_wakeup(lp->multi);
}

static void add_header(struct job *job, const char *name, const char *value)
{
        char line[8192 + 64];
        snprintf(line, sizeof(line), "%s: %s", name, value);
        job->headers = curl_slist_append(job->headers, line);
}

void proxy_forward(struct proxy *p, size_t i, struct cc_http_req *req, int timeout_ms)
{
        struct upstream *up = &p->ups[i];
        if (!cc_breaker_allow(up->breaker)) {
                cc_http_reply_error(req, 503, "%s unavailable", up->name);
                return;
        }
        const char *path = cc_http_req_path(req), *query = cc_http_req_query_string(req);
        struct cc_arena *arena = cc_http_req_arena(req);
        const char *url =
            cc_arena_printf(arena, "%s%s%s%s", up->base_url, path, *query ? "?" : "", query);
        struct loop *lp =
            &p->loops[atomic_fetch_add_explicit(&p->next_loop, 1, memory_order_relaxed) %
                      p->nloops];
        struct job *job = job_new(lp, up, url, timeout_ms > 0 ? timeout_ms : up->timeout_ms);
        job->req = req;
        CURL *e = job->easy;

        for (size_t h = 0; h < CC_ARRAY_SIZE(forwarded_headers); h++) {
                const char *v = cc_http_req_header(req, forwarded_headers[h]);
                if (v)
                        add_header(job, forwarded_headers[h], v);
        }
        /* libcurl would add headers of its own choosing where the client sent none. */
        if (!cc_http_req_header(req, "Accept"))
                job->headers = curl_slist_append(job->headers, "Accept:");
        if (!cc_http_req_header(req, "Content-Type"))
                job->headers = curl_slist_append(job->headers, "Content-Type:");
        job->headers = curl_slist_append(job->headers, "Expect:");
        add_header(job, "X-Request-Id", cc_http_req_id(req));
        const char *client = cc_http_req_client_addr(req);
        const char *xff = cc_http_req_header(req, "X-Forwarded-For");
        if (xff)
                add_header(job, "X-Forwarded-For", cc_arena_printf(arena, "%s, %s", xff, client));
        else
                add_header(job, "X-Forwarded-For", client);
        const char *proto = cc_http_req_header(req, "X-Forwarded-Proto");
        add_header(job, "X-Forwarded-Proto", proto ? proto : "http");
        const char *host = cc_http_req_header(req, "X-Forwarded-Host");
        if (!host)
                host = cc_http_req_header(req, "Host");
        if (host)
                add_header(job, "X-Forwarded-Host", host);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);

        const char *method = cc_http_req_method(req);
        size_t body_len;
        const void *body = cc_http_req_body(req, &body_len);
        if (strcmp(method, "HEAD") == 0) {
                curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0) {
                /* The body stays in req, which lives until the reply has been sent. */
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
                if (strcmp(method, "POST") != 0)
                        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        } else if (strcmp(method, "GET") != 0) {
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        }
        cc_http_req_defer(req);
        hand_over(lp, job);
}

static void attach(struct loop *p, struct job *job)
{
        job->aprev = NULL;
        job->anext = p->active;
        if (p->active)
                p->active->aprev = job;
        p->active = job;
        curl_multi_add_handle(p->multi, job->easy);
}

static void detach(struct loop *p, struct job *job)
{
        curl_multi_remove_handle(p->multi, job->easy);
        if (job->aprev)
                job->aprev->anext = job->anext;
        else
                p->active = job->anext;
        if (job->anext)
                job->anext->aprev = job->aprev;
}

/* Loop thread: the transfer is over; answer the client and let the breaker know. */
static void finish_forward(struct job *job, CURLcode rc)
{
        struct upstream *up = job->up;
        struct cc_http_req *req = job->req;
        long status = 0;
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 100) {
                cc_breaker_record(up->breaker, status < 500);
                for (size_t i = 0; i < job->nreply_headers; i++)
                        cc_http_reply_header(req, job->reply_headers[i].name,
                                             job->reply_headers[i].value);
                cc_http_reply_raw(req, (int)status, job->content_type, job->body ? job->body : "",
                                  job->body_len);
                return;
        }
        cc_breaker_record(up->breaker, false);
        cc_log_debug(cc_http_req_id(req), "forward to %s failed: %s", up->name,
                     curl_easy_strerror(rc));
        if (rc == CURLE_OPERATION_TIMEDOUT)
                cc_http_reply_error(req, 504, "%s timed out", up->name);
        else if (job->too_large)
                cc_http_reply_error(req, 502, "%s sent a response too large to forward", up->name);
        else
                cc_http_reply_error(req, 503, "%s unavailable", up->name);
}

static void finish_probe(struct job *job, CURLcode rc)
{
        long status = 0;
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
        atomic_store(&job->up->ready, rc == CURLE_OK && status == 200);
        job->up->probing = false;
}

static void start_probes(struct loop *lp, int64_t now)
{
        struct proxy *p = lp->proxy;
        for (size_t i = 0; i < p->nups; i++) {
                struct upstream *up = &p->ups[i];
                if (up->probing || now < up->next_probe_us)
                        continue;
                char url[1024];
                snprintf(url, sizeof(url), "%s/readyz", up->base_url);
                int timeout = up->timeout_ms < PROBE_TIMEOUT_MS ? up->timeout_ms : PROBE_TIMEOUT_MS;
                struct job *job = job_new(lp, up, url, timeout);
                up->probing = true;
                up->next_probe_us = now + PROBE_INTERVAL_US;
                attach(lp, job);
        }
}

static void *run_loop(void *arg)
{
        struct loop *lp = arg;
        struct proxy *p = lp->proxy;
        while (!atomic_load(&p->stop)) {
                pthread_mutex_lock(&lp->mu);
                struct job *in = lp->incoming;
                lp->incoming = NULL;
                pthread_mutex_unlock(&lp->mu);
                while (in) {
                        struct job *next = in->next;
                        attach(lp, in);
                        in = next;
                }
                if (lp->probes)
                        start_probes(lp, cc_monotonic_us());
                int running = 0;
                curl_multi_perform(lp->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(lp->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        CURL *e = msg->easy_handle;
                        CURLcode rc = msg->data.result;
                        struct job *job = NULL;
                        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&job);
                        detach(lp, job);
                        if (job->req)
                                finish_forward(job, rc);
                        else
                                finish_probe(job, rc);
                        job_free(job);
                }
                /* Also bounded by libcurl's own timers; the wakeup cuts it short. */
                curl_multi_poll(lp->multi, NULL, 0, 200, NULL);
        }
        return NULL;
}

static void curl_init_once(void)
{
        /* Not thread-safe and process-wide: done once, before any loop thread exists. */
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t default_loops(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 1 ? (size_t)(n > 8 ? 8 : n) : 1;
}

static void loop_release(struct loop *lp)
{
        /* Anything still here belongs to connections the HTTP server has already closed. */
        while (lp->active) {
                struct job *job = lp->active;
                detach(lp, job);
                job_free(job);
        }
        while (lp->incoming) {
                struct job *next = lp->incoming->next;
                job_free(lp->incoming);
                lp->incoming = next;
        }
        curl_multi_cleanup(lp->multi);
        pthread_mutex_destroy(&lp->mu);
}

struct proxy *proxy_new(const struct proxy_upstream_config *ups, size_t n)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, curl_init_once);
        struct proxy *p = cc_xcalloc(1, sizeof(*p));
        p->ups = cc_xcalloc(n ? n : 1, sizeof(*p->ups));
        p->nups = n;
        for (size_t i = 0; i < n; i++) {
                struct upstream *up = &p->ups[i];
                up->name = cc_xstrdup(ups[i].name);
                size_t len = strlen(ups[i].base_url);
                while (len && ups[i].base_url[len - 1] == '/')
                        len--;
                up->base_url = cc_xstrndup(ups[i].base_url, len);
                up->connect_timeout_ms =
                    ups[i].connect_timeout_ms > 0 ? ups[i].connect_timeout_ms : 2000;
                up->timeout_ms = ups[i].timeout_ms > 0 ? ups[i].timeout_ms : 10000;
                up->breaker = cc_breaker_new(ups[i].failure_threshold, ups[i].open_ms);
                atomic_init(&up->ready, false);
        }
        atomic_init(&p->stop, false);
        atomic_init(&p->next_loop, 0);
        p->nloops = default_loops();
        p->loops = cc_xcalloc(p->nloops, sizeof(*p->loops));
        for (size_t i = 0; i < p->nloops; i++) {
                struct loop *lp = &p->loops[i];
                lp->proxy = p;
                lp->probes = i == 0;
                pthread_mutex_init(&lp->mu, NULL);
                lp->multi = curl_multi_init();
                if (!lp->multi)
                        abort(); /* only out of memory makes it fail */
                /* Enough idle connections kept for every worker's burst to every upstream. */
                curl_multi_setopt(lp->multi, CURLMOPT_MAXCONNECTS, 256L);
        }
        for (size_t i = 0; i < p->nloops; i++) {
                if (pthread_create(&p->loops[i].thread, NULL, run_loop, &p->loops[i]) != 0) {
                        proxy_free(p);
                        return NULL;
                }
                p->loops[i].started = true;
        }
        return p;
}

void proxy_free(struct proxy *p)
{
        if (!p)
                return;
        atomic_store(&p->stop, true);
        for (size_t i = 0; i < p->nloops; i++) {
                if (!p->loops[i].started)
                        continue;
                curl_multi_wakeup(p->loops[i].multi);
                pthread_join(p->loops[i].thread, NULL);
        }
        for (size_t i = 0; i < p->nloops; i++)
                loop_release(&p->loops[i]);
        free(p->loops);
        for (size_t i = 0; i < p->nups; i++) {
                free(p->ups[i].name);
                free(p->ups[i].base_url);
                cc_breaker_free(p->ups[i].breaker);
        }
        free(p->ups);
        free(p);
}

size_t proxy_upstream_count(const struct proxy *p)
{
        return p->nups;
}

const char *proxy_upstream_name(const struct proxy *p, size_t i)
{
        return p->ups[i].name;
}

bool proxy_upstream_ready(const struct proxy *p, size_t i)
{
        return atomic_load(&p->ups[i].ready);
}

struct cc_breaker *proxy_upstream_breaker(struct proxy *p, size_t i)
{
        return p->ups[i].breaker;
}
