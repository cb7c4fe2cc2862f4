/* The simulator's core: accounts, the delivery workers, the signed HTTP requests it makes, and
 * the REST API's authentication, routing and error shape. */
#include "sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cc/json.h"
#include "cc/log.h"

#define DELIVERY_TIMEOUT_MS 15000 /* Twilio's own webhook timeout */
#define CONNECT_TIMEOUT_MS  3000
#define MAX_ANSWER_BYTES    (1u << 20)

/* ---- small helpers ---- */

void sim_new_sid(const char *prefix, char out[SIM_SID_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char b[16];
        cc_random_bytes(b, sizeof(b));
        out[0] = prefix[0];
        out[1] = prefix[1];
        for (size_t i = 0; i < sizeof(b); i++) {
                out[2 + 2 * i] = hex[b[i] >> 4];
                out[3 + 2 * i] = hex[b[i] & 15];
        }
        out[SIM_SID_LEN] = '\0';
}

void sim_format_date(int64_t ms, char out[40])
{
        /* Names spelled out: strftime's %a and %b follow the locale. */
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void sim_json_add_date(json_object *o, const char *field, int64_t ms)
{
        char d[40];
        if (!ms) {
                json_object_object_add(o, field, NULL);
                return;
        }
        sim_format_date(ms, d);
        json_object_object_add(o, field, json_object_new_string(d));
}

void sim_reply_twilio_error(struct cc_http_req *req, int status, int code, const char *fmt, ...)
{
        char msg[512], info[96];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(info, sizeof(info), "https://www.twilio.com/docs/errors/%d", code);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "code", json_object_new_int(code));
        json_object_object_add(o, "message", json_object_new_string(msg));
        json_object_object_add(o, "more_info", json_object_new_string(info));
        json_object_object_add(o, "status", json_object_new_int(status));
        cc_http_reply_json(req, status, o);
}

struct sim *sim_of(struct cc_http_req *req)
{
        return cc_http_req_userdata(req);
}

const struct sim_account *sim_account_find(const struct sim *sim, const char *sid)
{
        for (size_t i = 0; i < sim->cfg.naccounts; i++)
                if (strcmp(sim->cfg.accounts[i].sid, sid) == 0)
                        return &sim->cfg.accounts[i];
        return NULL;
}

/* ---- event logs ---- */

void sim_event_log_add(struct sim_event_log *log, const char *label, const char *url,
                       int http_status, int attempt, int sequence)
{
        if (log->n == log->cap) {
                log->cap = log->cap ? log->cap * 2 : 8;
                log->v = cc_xrealloc(log->v, log->cap * sizeof(*log->v));
        }
        log->v[log->n++] = (struct sim_event){
            .label = cc_xstrdup(label),
            .url = cc_xstrdup(url),
            .http_status = http_status,
            .attempt = attempt,
            .sequence = sequence,
            .at_ms = cc_now_ms(),
        };
}

void sim_event_log_fini(struct sim_event_log *log)
{
        for (size_t i = 0; i < log->n; i++) {
                free(log->v[i].label);
                free(log->v[i].url);
        }
        free(log->v);
        *log = (struct sim_event_log){0};
}

json_object *sim_event_log_json(const struct sim_event_log *log, const char *label_name)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < log->n; i++) {
                const struct sim_event *e = &log->v[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, label_name, json_object_new_string(e->label));
                json_object_object_add(o, "http_status", json_object_new_int(e->http_status));
                json_object_object_add(o, "attempt", json_object_new_int(e->attempt));
                if (e->sequence >= 0)
                        json_object_object_add(o, "sequence", json_object_new_int(e->sequence));
                json_object_object_add(o, "url", json_object_new_string(e->url));
                cc_json_add_time(o, "at", e->at_ms);
                json_object_array_add(a, o);
        }
        return a;
}

/* ---- jobs and queues ---- */

struct sim_job *sim_job_new(const char *label, const char *url, bool use_get,
                            const struct cc_kv *fields, size_t n)
{
        struct sim_job *job = cc_xcalloc(1, sizeof(*job));
        job->attempt = 1;
        job->label = cc_xstrdup(label);
        job->url = cc_xstrdup(url);
        job->use_get = use_get;
        job->fields = cc_xcalloc(n ? n : 1, sizeof(*job->fields));
        for (size_t i = 0; i < n; i++) {
                job->fields[i].key = cc_xstrdup(fields[i].key);
                job->fields[i].value = cc_xstrdup(fields[i].value);
        }
        job->nfields = n;
        job->due_us = cc_monotonic_us();
        return job;
}

void sim_job_free(struct sim_job *job)
{
        if (!job)
                return;
        for (size_t i = 0; i < job->nfields; i++) {
                free((char *)job->fields[i].key);
                free((char *)job->fields[i].value);
        }
        free(job->fields);
        free(job->label);
        free(job->url);
        free(job);
}

static void queue_activate(struct sim *sim, struct sim_queue *q)
{
        if (!q->active) {
                q->active = true;
                q->next = sim->active;
                sim->active = q;
        }
        pthread_cond_broadcast(&sim->cond);
}

void sim_queue_push(struct sim *sim, struct sim_queue *q, struct sim_job *job)
{
        job->next = NULL;
        if (q->tail)
                q->tail->next = job;
        else
                q->head = job;
        q->tail = job;
        queue_activate(sim, q);
}

void sim_queue_timer(struct sim *sim, struct sim_queue *q, int64_t at_us, int step)
{
        q->timer_us = at_us;
        q->timer_step = step;
        if (at_us)
                queue_activate(sim, q);
}

static void queue_push_front(struct sim *sim, struct sim_queue *q, struct sim_job *job)
{
        job->next = q->head;
        q->head = job;
        if (!q->tail)
                q->tail = job;
        queue_activate(sim, q);
}

static struct sim_job *queue_pop(struct sim_queue *q)
{
        struct sim_job *job = q->head;
        q->head = job->next;
        if (!q->head)
                q->tail = NULL;
        job->next = NULL;
        return job;
}

static void queue_drain(struct sim_queue *q)
{
        while (q->head)
                sim_job_free(queue_pop(q));
}

/* ---- outgoing requests ---- */

static size_t collect_answer(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct cc_strbuf *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n > MAX_ANSWER_BYTES)
                return 0;
        cc_strbuf_append(b, data, n);
        return n;
}

static void deliver_with(CURL *curl, const struct sim_account *account, const char *url,
                         bool use_get, const struct cc_kv *fields, size_t n, int *ret_status,
                         char **ret_body)
{
        struct cc_strbuf form = {0}, answer = {0};
        for (size_t i = 0; i < n; i++)
                cc_form_append(&form, fields[i].key, fields[i].value);
        char sig[CC_TWILIO_SIGNATURE_LEN];
        char *target;
        if (use_get) {
                /* A GET carries the fields in the query; Twilio signs the whole URL alone. */
                target = form.len
                             ? cc_xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', form.data)
                             : cc_xstrdup(url);
                cc_twilio_signature(account->token, target, NULL, 0, sig);
        } else {
                target = cc_xstrdup(url);
                cc_twilio_signature(account->token, url, fields, n, sig);
        }
        char sig_header[64];
        snprintf(sig_header, sizeof(sig_header), "X-Twilio-Signature: %s", sig);
        struct curl_slist *headers = NULL;
        headers = curl_slist_append(headers, sig_header);
        headers = curl_slist_append(headers, "Accept: */*");
        headers = curl_slist_append(headers, "Cache-Control: max-age=259200");
        if (!use_get)
                headers =
                    curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
        headers = curl_slist_append(headers, "Expect:");

        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, target);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "TwilioProxy/1.1");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)DELIVERY_TIMEOUT_MS);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_answer);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        if (use_get) {
                curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        } else {
                curl_easy_setopt(curl, CURLOPT_POST, 1L);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.data ? form.data : "");
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form.len);
        }
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        if (rc == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        else
                cc_log_info(NULL, "%s %s: %s", use_get ? "GET" : "POST", target,
                            curl_easy_strerror(rc));
        curl_slist_free_all(headers);
        free(target);
        cc_strbuf_fini(&form);
        *ret_status = (int)status;
        *ret_body = rc == CURLE_OK ? cc_strbuf_take(&answer) : cc_xstrdup("");
        cc_strbuf_fini(&answer);
}

void sim_deliver(const struct sim_account *account, const char *url, bool use_get,
                 const struct cc_kv *fields, size_t n, int *ret_status, char **ret_body)
{
        CURL *curl = curl_easy_init();
        if (!curl) {
                *ret_status = 0;
                *ret_body = cc_xstrdup("");
                return;
        }
        deliver_with(curl, account, url, use_get, fields, n, ret_status, ret_body);
        curl_easy_cleanup(curl);
}

/* ---- workers ---- */

static void run_step(struct sim *sim, struct sim_queue *q, int step)
{
        if (q->owner == SIM_OWNER_CALL)
                sim_call_step(sim, (struct sim_call *)q, step);
        else
                sim_message_step(sim, (struct sim_message *)q, step);
}

static void record_delivery(struct sim *sim, struct sim_queue *q, struct sim_job *job, int status,
                            const char *body)
{
        if (q->owner == SIM_OWNER_CALL)
                sim_call_delivered(sim, (struct sim_call *)q, job, status, body);
        else
                sim_message_delivered(sim, (struct sim_message *)q, job, status);
}

/* Under sim->mu: runs due timers, drops queues with nothing left to do, and returns a queue
 * whose head-of-line job is due (earliest first), or NULL with *ret_wake_us the time something
 * next falls due (0: nothing scheduled). */
static struct sim_queue *pick_work(struct sim *sim, int64_t *ret_wake_us)
{
        int64_t now = cc_monotonic_us(), wake = 0;
        struct sim_queue *best = NULL;
        for (struct sim_queue **pp = &sim->active; *pp;) {
                struct sim_queue *q = *pp;
                if (q->timer_us && q->timer_us <= now) {
                        int step = q->timer_step;
                        q->timer_us = 0;
                        run_step(sim, q, step);
                }
                if (!q->head && !q->timer_us && !q->busy) {
                        *pp = q->next;
                        q->active = false;
                        q->next = NULL;
                        continue;
                }
                if (q->timer_us && (!wake || q->timer_us < wake))
                        wake = q->timer_us;
                if (q->head && !q->busy) {
                        if (q->head->due_us <= now) {
                                if (!best || q->head->due_us < best->head->due_us)
                                        best = q;
                        } else if (!wake || q->head->due_us < wake) {
                                wake = q->head->due_us;
                        }
                }
                pp = &q->next;
        }
        *ret_wake_us = wake;
        return best;
}

static void wait_until(struct sim *sim, int64_t wake_us)
{
        if (!wake_us) {
                pthread_cond_wait(&sim->cond, &sim->mu);
                return;
        }
        int64_t delta_us = wake_us - cc_monotonic_us();
        if (delta_us <= 0)
                return;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (delta_us % 1000000) * 1000;
        ts.tv_sec += (time_t)(delta_us / 1000000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&sim->cond, &sim->mu, &ts);
}

static void *worker_main(void *arg)
{
        struct sim *sim = arg;
        CURL *curl = curl_easy_init();
        if (!curl) {
                cc_log_error(NULL, "curl_easy_init failed; worker exits");
                return NULL;
        }
        pthread_mutex_lock(&sim->mu);
        while (!sim->stopping) {
                int64_t wake_us;
                struct sim_queue *q = pick_work(sim, &wake_us);
                if (!q) {
                        wait_until(sim, wake_us);
                        continue;
                }
                struct sim_job *job = queue_pop(q);
                q->busy = true;
                const struct sim_account *account = q->account;
                pthread_mutex_unlock(&sim->mu);

                int status;
                char *body;
                deliver_with(curl, account, job->url, job->use_get, job->fields, job->nfields,
                             &status, &body);
                cc_log_info(NULL, "%s %s -> %d (attempt %d)", job->label, job->url, status,
                            job->attempt);

                pthread_mutex_lock(&sim->mu);
                q->busy = false;
                record_delivery(sim, q, job, status, body);
                free(body);
                if ((status < 200 || status > 299) && job->attempt == 1 && !sim->stopping) {
                        job->attempt = 2;
                        job->due_us = cc_monotonic_us() + SIM_RETRY_MS * 1000;
                        queue_push_front(sim, q, job);
                } else {
                        sim_job_free(job);
                        /* The queue may have more for another worker now that it is not busy. */
                        pthread_cond_broadcast(&sim->cond);
                }
        }
        pthread_mutex_unlock(&sim->mu);
        curl_easy_cleanup(curl);
        return NULL;
}

/* ---- lifecycle ---- */

struct sim *sim_new(struct sim_config *cfg)
{
        struct sim *sim = cc_xcalloc(1, sizeof(*sim));
        sim->cfg = *cfg;
        *cfg = (struct sim_config){0};
        pthread_mutex_init(&sim->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&sim->cond, &ca);
        pthread_condattr_destroy(&ca);
        return sim;
}

int sim_start(struct sim *sim)
{
        size_t n = sim->cfg.workers > 0 ? (size_t)sim->cfg.workers : 4;
        sim->threads = cc_xcalloc(n, sizeof(*sim->threads));
        for (size_t i = 0; i < n; i++) {
                int r = pthread_create(&sim->threads[i], NULL, worker_main, sim);
                if (r != 0)
                        return -r;
                sim->nthreads++;
        }
        return 0;
}

void sim_free(struct sim *sim)
{
        if (!sim)
                return;
        pthread_mutex_lock(&sim->mu);
        sim->stopping = true;
        pthread_cond_broadcast(&sim->cond);
        pthread_mutex_unlock(&sim->mu);
        for (size_t i = 0; i < sim->nthreads; i++)
                pthread_join(sim->threads[i], NULL);
        free(sim->threads);
        for (size_t i = 0; i < sim->ncalls; i++) {
                queue_drain(&sim->calls[i]->q);
                sim_call_free(sim->calls[i]);
        }
        free(sim->calls);
        for (size_t i = 0; i < sim->nmessages; i++) {
                queue_drain(&sim->messages[i]->q);
                sim_message_free(sim->messages[i]);
        }
        free(sim->messages);
        sim_conferences_free(sim);
        for (size_t i = 0; i < sim->cfg.naccounts; i++) {
                free(sim->cfg.accounts[i].sid);
                free(sim->cfg.accounts[i].token);
        }
        free(sim->cfg.accounts);
        pthread_cond_destroy(&sim->cond);
        pthread_mutex_destroy(&sim->mu);
        free(sim);
}

/* ---- REST API: authentication and routing ---- */

/* The account whose sid and token the request's Basic credentials name, or NULL. */
static const struct sim_account *basic_auth(struct sim *sim, struct cc_http_req *req)
{
        const char *h = cc_http_req_header(req, "Authorization");
        if (!h || strncasecmp(h, "Basic ", 6) != 0)
                return NULL;
        h += 6;
        while (*h == ' ')
                h++;
        size_t len = strlen(h);
        if (len == 0 || len > 512)
                return NULL;
        char decoded[512];
        int n = cc_base64_decode(h, len, decoded, sizeof(decoded) - 1);
        if (n <= 0)
                return NULL;
        decoded[n] = '\0';
        char *colon = strchr(decoded, ':');
        if (!colon)
                return NULL;
        *colon = '\0';
        const char *token = colon + 1;
        const struct sim_account *a = sim_account_find(sim, decoded);
        if (!a)
                return NULL;
        size_t tlen = strlen(token);
        if (tlen != strlen(a->token) || !cc_consttime_eq(token, a->token, tlen))
                return NULL;
        return a;
}

static void reply_authenticate(struct cc_http_req *req)
{
        cc_http_reply_header(req, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
        sim_reply_twilio_error(req, 401, 20003, "Authenticate");
}

static void reply_not_found(struct cc_http_req *req)
{
        sim_reply_twilio_error(req, 404, 20404, "The requested resource %s was not found",
                               cc_http_req_path(req));
}

/* Percent-decodes a path segment in place; false when it does not decode to text. */
static bool segment_decode(char *s)
{
        char *o = s;
        for (const char *p = s; *p; p++) {
                if (*p == '%' && cc_hex_value(p[1]) >= 0 && cc_hex_value(p[2]) >= 0) {
                        *o++ = (char)(cc_hex_value(p[1]) << 4 | cc_hex_value(p[2]));
                        p += 2;
                } else {
                        *o++ = *p;
                }
        }
        *o = '\0';
        return cc_text_valid(s, (size_t)(o - s));
}

/* Strips ".json" from the last segment; false when it does not end so. */
static bool strip_json(char *s)
{
        size_t n = strlen(s);
        if (n <= 5 || strcmp(s + n - 5, ".json") != 0)
                return false;
        s[n - 5] = '\0';
        return true;
}

static bool is(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static void reply_account(struct sim_rest *r)
{
        char uri[128];
        snprintf(uri, sizeof(uri), "/%s/Accounts/%s.json", SIM_API_VERSION, r->account->sid);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sid", json_object_new_string(r->account->sid));
        json_object_object_add(o, "owner_account_sid", json_object_new_string(r->account->sid));
        json_object_object_add(o, "friendly_name", json_object_new_string("twilio-sim account"));
        json_object_object_add(o, "status", json_object_new_string("active"));
        json_object_object_add(o, "type", json_object_new_string("Full"));
        sim_json_add_date(o, "date_created", cc_now_ms());
        sim_json_add_date(o, "date_updated", cc_now_ms());
        json_object_object_add(o, "auth_token", json_object_new_string("********"));
        json_object_object_add(o, "uri", json_object_new_string(uri));
        cc_http_reply_json(r->req, 200, o);
}

/* Every /2010-04-01/Accounts/... request: Basic auth for the account in the path, the form body,
 * then the resource. */
static void h_rest(struct cc_http_req *req)
{
        struct sim *sim = sim_of(req);
        struct cc_arena *arena = cc_http_req_arena(req);
        const struct sim_account *account = basic_auth(sim, req);
        if (!account) {
                reply_authenticate(req);
                return;
        }
        struct sim_rest r = {
            .req = req,
            .sim = sim,
            .account = account,
            .method = cc_http_req_method(req),
        };

        /* Split what follows /Accounts/ into decoded segments. */
        char *rest = cc_arena_strdup(arena, cc_http_req_param(req, "rest"));
        size_t cap = 8;
        r.seg = cc_arena_alloc(arena, cap * sizeof(*r.seg));
        for (char *save = NULL, *s = strtok_r(rest, "/", &save); s;
             s = strtok_r(NULL, "/", &save)) {
                if (r.nseg == cap || !segment_decode(s)) {
                        reply_not_found(req);
                        return;
                }
                r.seg[r.nseg++] = s;
        }
        if (r.nseg == 0) {
                reply_not_found(req);
                return;
        }
        bool account_doc = r.nseg == 1;
        if (account_doc && !strip_json(r.seg[0])) {
                reply_not_found(req);
                return;
        }
        /* Good credentials for another account's resources are still not that account's. */
        if (!is(r.seg[0], account->sid)) {
                reply_authenticate(req);
                return;
        }
        if (r.nseg > 1 && !strip_json(r.seg[r.nseg - 1])) {
                reply_not_found(req);
                return;
        }

        if (is(r.method, "POST")) {
                size_t len;
                const char *body = cc_http_req_body(req, &len);
                int e = cc_form_parse(arena, body, len, &r.fields, &r.nfields);
                if (e < 0) {
                        sim_reply_twilio_error(req, 400, 20001,
                                               "Could not parse the form-encoded request body");
                        return;
                }
        }

        bool get = is(r.method, "GET"), post = is(r.method, "POST");
        char **s = r.seg;
        if (account_doc) {
                if (get)
                        reply_account(&r);
                else
                        goto not_allowed;
        } else if (r.nseg == 2 && is(s[1], "Calls")) {
                if (post)
                        sim_calls_create(&r);
                else
                        goto not_allowed;
        } else if (r.nseg == 3 && is(s[1], "Calls")) {
                if (post)
                        sim_calls_update(&r, s[2]);
                else if (get)
                        sim_calls_fetch(&r, s[2]);
                else
                        goto not_allowed;
        } else if (r.nseg == 5 && is(s[1], "Conferences") && is(s[3], "Participants")) {
                if (post)
                        sim_participant_update(&r, s[2], s[4]);
                else
                        goto not_allowed;
        } else if (r.nseg == 2 && is(s[1], "Messages")) {
                if (post)
                        sim_messages_create(&r);
                else
                        goto not_allowed;
        } else if (r.nseg == 3 && is(s[1], "Messages")) {
                if (get)
                        sim_messages_fetch(&r, s[2]);
                else
                        goto not_allowed;
        } else {
                reply_not_found(req);
        }
        return;

not_allowed:
        sim_reply_twilio_error(req, 405, 20004, "Method not allowed");
}

const struct cc_http_route sim_routes[] = {
    {"GET", "/2010-04-01/Accounts/{*rest}", h_rest, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/2010-04-01/Accounts/{*rest}", h_rest, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"DELETE", "/2010-04-01/Accounts/{*rest}", h_rest, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/sim/inbound-call", sim_h_inbound_call, CC_ROLE_NONE, 0},
    {"GET", "/sim/calls", sim_h_calls_list, CC_ROLE_NONE, 0},
    {"GET", "/sim/calls/{sid}", sim_h_call_get, CC_ROLE_NONE, 0},
    {"POST", "/sim/calls/{sid}/digits", sim_h_call_digits, CC_ROLE_NONE, 0},
    {"POST", "/sim/calls/{sid}/hangup", sim_h_call_hangup, CC_ROLE_NONE, 0},
    {"GET", "/sim/messages", sim_h_messages_list, CC_ROLE_NONE, 0},
};
const size_t sim_nroutes = CC_ARRAY_SIZE(sim_routes);
