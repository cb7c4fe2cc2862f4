#include "cc/httpc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cc/metrics.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_MS         10000
#define DEFAULT_FAILURE_THRESHOLD  5
#define DEFAULT_OPEN_MS            5000
/* Idle easy handles kept per client; each holds its own live connections, so this bounds the
 * keep-alive sockets a client keeps open when idle. */
#define POOL_MAX 16
/* A peer that sends more than this is broken or hostile; the call fails rather than eating
 * memory. */
#define MAX_BODY (16u << 20)

#define BREAKER_METRIC "cc_http_client_breaker_state"
#define BREAKER_HELP   "Circuit breaker of an outbound HTTP client: 0 closed, 1 open, 2 half-open"

struct cc_breaker {
        pthread_mutex_t mu;
        int threshold;
        int64_t open_us;
        enum cc_breaker_state state;
        int failures;      /* consecutive, while closed */
        int64_t opened_us; /* monotonic time the breaker last opened */
};

struct cc_breaker *cc_breaker_new(int failure_threshold, int open_ms)
{
        struct cc_breaker *b = cc_xcalloc(1, sizeof(*b));
        pthread_mutex_init(&b->mu, NULL);
        b->threshold = failure_threshold > 0 ? failure_threshold : DEFAULT_FAILURE_THRESHOLD;
        b->open_us = (int64_t)(open_ms > 0 ? open_ms : DEFAULT_OPEN_MS) * 1000;
        b->state = CC_BREAKER_CLOSED;
        return b;
}

void cc_breaker_free(struct cc_breaker *b)
{
        if (!b)
                return;
        pthread_mutex_destroy(&b->mu);
        free(b);
}

bool cc_breaker_allow(struct cc_breaker *b)
{
        bool ok = false;
        pthread_mutex_lock(&b->mu);
        if (b->state == CC_BREAKER_CLOSED) {
                ok = true;
        } else if (b->state == CC_BREAKER_OPEN && cc_monotonic_us() - b->opened_us >= b->open_us) {
                /* This caller is the trial; everyone else is refused until it reports. */
                b->state = CC_BREAKER_HALF_OPEN;
                ok = true;
        }
        pthread_mutex_unlock(&b->mu);
        return ok;
}

void cc_breaker_record(struct cc_breaker *b, bool success)
{
        pthread_mutex_lock(&b->mu);
        if (success) {
                /* A late success from a call started before the breaker opened says the peer is
                 * back as much as a trial does. */
                b->state = CC_BREAKER_CLOSED;
                b->failures = 0;
        } else if (b->state == CC_BREAKER_HALF_OPEN) {
                b->state = CC_BREAKER_OPEN;
                b->opened_us = cc_monotonic_us();
        } else if (b->state == CC_BREAKER_CLOSED && ++b->failures >= b->threshold) {
                b->state = CC_BREAKER_OPEN;
                b->opened_us = cc_monotonic_us();
                b->failures = 0;
        }
        pthread_mutex_unlock(&b->mu);
}

enum cc_breaker_state cc_breaker_state(struct cc_breaker *b)
{
        pthread_mutex_lock(&b->mu);
        enum cc_breaker_state s = b->state;
        pthread_mutex_unlock(&b->mu);
        return s;
}

struct cc_httpc {
        char *name;
        char *base_url;
        int connect_timeout_ms;
        int timeout_ms;
        struct cc_breaker *breaker;

        pthread_mutex_t pool_mu;
        CURL *idle[POOL_MAX];
        size_t nidle;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_init_once(void)
{
        curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static double breaker_gauge(void *userdata)
{
        return (double)cc_breaker_state(userdata);
}

struct cc_httpc *cc_httpc_new(const struct cc_httpc_config *cfg)
{
        pthread_once(&curl_once, curl_init_once);
        if (!curl_ready || !cfg || !cfg->base_url || !*cfg->base_url)
                return NULL;
        struct cc_httpc *c = cc_xcalloc(1, sizeof(*c));
        c->name = cc_xstrdup(cfg->name && *cfg->name ? cfg->name : cfg->base_url);
        size_t len = strlen(cfg->base_url);
        while (len > 0 && cfg->base_url[len - 1] == '/')
                len--;
        c->base_url = cc_xstrndup(cfg->base_url, len);
        c->connect_timeout_ms =
            cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
        c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
        c->breaker = cc_breaker_new(cfg->failure_threshold, cfg->open_ms);
        pthread_mutex_init(&c->pool_mu, NULL);

        const char *labels[][2] = {{"client", c->name}};
        cc_metrics_gauge_fn(BREAKER_METRIC, BREAKER_HELP, labels, 1, breaker_gauge, c->breaker);
        return c;
}

void cc_httpc_free(struct cc_httpc *c)
{
        if (!c)
                return;
        /* Unhook the gauge first: once this returns no render can be reading the breaker. */
        const char *labels[][2] = {{"client", c->name}};
        cc_metrics_gauge_fn(BREAKER_METRIC, BREAKER_HELP, labels, 1, NULL, NULL);
        for (size_t i = 0; i < c->nidle; i++)
                curl_easy_cleanup(c->idle[i]);
        pthread_mutex_destroy(&c->pool_mu);
        cc_breaker_free(c->breaker);
        free(c->base_url);
        free(c->name);
        free(c);
}

struct cc_breaker *cc_httpc_breaker(struct cc_httpc *c)
{
        return c->breaker;
}

/* Most recently used first: sequential calls land on the handle whose connection is warm. */
static CURL *take_handle(struct cc_httpc *c)
{
        CURL *h = NULL;
        pthread_mutex_lock(&c->pool_mu);
        if (c->nidle > 0)
                h = c->idle[--c->nidle];
        pthread_mutex_unlock(&c->pool_mu);
        if (!h)
                h = curl_easy_init();
        return h;
}

static void put_handle(struct cc_httpc *c, CURL *h)
{
        /* Drops this call's options (they point into its stack) but keeps live connections. */
        curl_easy_reset(h);
        pthread_mutex_lock(&c->pool_mu);
        if (c->nidle < POOL_MAX) {
                c->idle[c->nidle++] = h;
                h = NULL;
        }
        pthread_mutex_unlock(&c->pool_mu);
        if (h)
                curl_easy_cleanup(h);
}

struct body_buf {
        char *data;
        size_t len;
        size_t cap;
};

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct body_buf *b = userdata;
        size_t n = size * nmemb;
        if (n > MAX_BODY - b->len)
                return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 1024;
                while (cap < b->len + n + 1)
                        cap *= 2;
                b->data = cc_xrealloc(b->data, cap);
                b->cap = cap;
        }
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

/* Method and header names are RFC 9110 tokens; anything else could smuggle a line break into
 * the request head. */
static bool token_ok(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++) {
                if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
                        return false;
        }
        return true;
}

static int map_curl_error(CURLcode rc)
{
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        default:
                return -EIO;
        }
}

int cc_httpc_request(struct cc_httpc *c, const char *method, const char *path,
                     const struct cc_httpc_header *headers, size_t nheaders, const void *body,
                     size_t body_len, const char *basic_user, const char *basic_pass,
                     struct cc_httpc_response *ret_resp)
{
        struct curl_slist *list = NULL;
        struct body_buf buf = {0};
        char *url = NULL;
        CURL *h = NULL;
        int r;

        if (!method || !token_ok(method) || !path || strpbrk(path, "\r\n \t"))
                return -EINVAL;
        for (size_t i = 0; i < nheaders; i++) {
                if (!token_ok(headers[i].name) || !headers[i].value ||
                    strpbrk(headers[i].value, "\r\n"))
                        return -EINVAL;
        }

        if (!cc_breaker_allow(c->breaker))
                return -EHOSTDOWN;
        url = cc_xasprintf("%s%s%s", c->base_url, path[0] == '/' || !path[0] ? "" : "/", path);
        for (size_t i = 0; i < nheaders; i++) {
                char *line = cc_xasprintf("%s: %s", headers[i].name, headers[i].value);
                struct curl_slist *next = curl_slist_append(list, line);
                free(line);
                if (!next)
                        goto fail_local;
                list = next;
        }
        /* Small bodies go in the first packet; waiting for 100-continue only adds a round trip
         * with the servers we talk to. */
        struct curl_slist *next = curl_slist_append(list, "Expect:");
        if (!next)
                goto fail_local;
        list = next;
        h = take_handle(c);
        if (!h)
                goto fail_local;

        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        /* A body makes curl send POST unless told otherwise, so only a bodiless GET and a POST
         * can leave the method to curl. */
        else if (strcmp(method, "POST") != 0 && (strcmp(method, "GET") != 0 || body))
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        }
        if (basic_user) {
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(h, CURLOPT_USERNAME, basic_user);
                curl_easy_setopt(h, CURLOPT_PASSWORD, basic_pass ? basic_pass : "");
        }

        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        if (rc == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        cc_breaker_record(c->breaker, rc == CURLE_OK && status < 500);
        if (rc != CURLE_OK) {
                r = map_curl_error(rc);
                goto out;
        }

        char *ctype = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
        *ret_resp = (struct cc_httpc_response){
            .status = status,
            .body = buf.data ? buf.data : cc_xstrdup(""),
            .body_len = buf.len,
            .content_type = ctype ? cc_xstrdup(ctype) : NULL,
        };
        buf.data = NULL;
        r = 0;
        goto out;

fail_local:
        /* Only curl running out of memory gets here. The allowed call must still report, and a
         * half-open trial that could not even start proves nothing, so count it as failed. */
        cc_breaker_record(c->breaker, false);
        r = -ENOMEM;
out:
        if (h)
                put_handle(c, h);
        curl_slist_free_all(list);
        free(buf.data);
        free(url);
        return r;
}

void cc_httpc_response_fini(struct cc_httpc_response *resp)
{
        if (!resp)
                return;
        free(resp->body);
        free(resp->content_type);
        *resp = (struct cc_httpc_response){0};
}
