#include "cc/twilio.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc/http.h"
#include "cc/log.h"
#include "testlib.h"

/* ---- form encoding ---- */

static struct cc_arena *arena;

static void arena_setup(void)
{
        arena = cc_arena_new(4096);
}

static void arena_teardown(void)
{
        cc_arena_free(arena);
        arena = NULL;
}

static int parse(const char *body, struct cc_kv **ret_fields, size_t *ret_n)
{
        return cc_form_parse(arena, body, strlen(body), ret_fields, ret_n);
}

START_TEST(twilio_form_parse_decodes)
{
        struct cc_kv *f = NULL;
        size_t n = 0;
        ck_assert_int_eq(parse("a=1&b=x+y%21&c=%7e%7E&empty=&bare&%41%42=%e2%82%ac&d=a=b", &f, &n),
                         0);
        ck_assert_uint_eq(n, 7);
        const char *want[][2] = {{"a", "1"},   {"b", "x y!"},          {"c", "~~"}, {"empty", ""},
                                 {"bare", ""}, {"AB", "\xe2\x82\xac"}, {"d", "a=b"}};
        for (size_t i = 0; i < n; i++) {
                ck_assert_str_eq(f[i].key, want[i][0]);
                ck_assert_str_eq(f[i].value, want[i][1]);
        }
        ck_assert_str_eq(cc_kv_get(f, n, "b"), "x y!");
        ck_assert_str_eq(cc_kv_get(f, n, "bare"), "");
        ck_assert_ptr_null(cc_kv_get(f, n, "B"));
        ck_assert_ptr_null(cc_kv_get(f, n, "missing"));

        /* A literal '+' arrives as %2B and must stay a '+' (phone numbers). */
        ck_assert_int_eq(parse("From=%2B14158675310&To=+18005551212", &f, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(cc_kv_get(f, n, "From"), "+14158675310");
        ck_assert_str_eq(cc_kv_get(f, n, "To"), " 18005551212");
}
END_TEST

START_TEST(twilio_form_parse_repeated_keys_keep_order)
{
        struct cc_kv *f = NULL;
        size_t n = 0;
        ck_assert_int_eq(parse("e=ringing&x=1&e=answered&e=completed", &f, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(cc_kv_get(f, n, "e"), "ringing"); /* the first */
        ck_assert_str_eq(f[2].value, "answered");
        ck_assert_str_eq(f[3].value, "completed");
}
END_TEST

START_TEST(twilio_form_parse_bad_escapes)
{
        const char *bad[] = {"%", "a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=b%", "a=%00",
                             "%00=x", "a%0=1", "ok=1&a=%+1", "a=%%41", "a=1&b=%2",
                             /* not UTF-8: a lone continuation byte, a cut sequence, 0xff */
                             "a=%80", "a=%c3", "%ff%fe=1"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                struct cc_kv *f = (struct cc_kv *)0x1;
                size_t n = 777;
                ck_assert_msg(parse(bad[i], &f, &n) == -EINVAL, "\"%s\" accepted", bad[i]);
                /* Nothing half-parsed leaks out. */
                ck_assert_ptr_eq(f, (struct cc_kv *)0x1);
                ck_assert_uint_eq(n, 777);
        }
        /* A raw NUL inside the body is refused like a decoded one. */
        struct cc_kv *f;
        size_t n;
        ck_assert_int_eq(cc_form_parse(arena, "a=1\0b", 5, &f, &n), -EINVAL);
}
END_TEST

START_TEST(twilio_form_parse_empty)
{
        struct cc_kv *f = NULL;
        size_t n = 99;
        ck_assert_int_eq(cc_form_parse(arena, "", 0, &f, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(cc_kv_get(f, n, "a"));
        ck_assert_int_eq(cc_form_parse(arena, NULL, 0, &f, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(parse("&&&", &f, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(parse("a=1&&b=2&", &f, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(cc_kv_get(f, n, "b"), "2");
        /* len bounds the body, not the NUL. */
        ck_assert_int_eq(cc_form_parse(arena, "a=1&b=2", 3, &f, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(f[0].value, "1");
}
END_TEST

START_TEST(twilio_form_parse_limits)
{
        struct cc_strbuf b = {0};
        for (int i = 0; i < CC_FORM_MAX_FIELDS; i++)
                cc_strbuf_printf(&b, "%sk%d=%d", i ? "&" : "", i, i);
        struct cc_kv *f = NULL;
        size_t n = 0;
        ck_assert_int_eq(cc_form_parse(arena, b.data, b.len, &f, &n), 0);
        ck_assert_uint_eq(n, CC_FORM_MAX_FIELDS);
        ck_assert_str_eq(f[CC_FORM_MAX_FIELDS - 1].key, "k255");
        ck_assert_str_eq(f[CC_FORM_MAX_FIELDS - 1].value, "255");

        /* Empty segments do not count; one more real field does. */
        cc_strbuf_puts(&b, "&&&");
        ck_assert_int_eq(cc_form_parse(arena, b.data, b.len, &f, &n), 0);
        ck_assert_uint_eq(n, CC_FORM_MAX_FIELDS);
        cc_strbuf_puts(&b, "one=more");
        f = NULL;
        n = 0;
        ck_assert_int_eq(cc_form_parse(arena, b.data, b.len, &f, &n), -E2BIG);
        ck_assert_ptr_null(f);
        ck_assert_uint_eq(n, 0);
        cc_strbuf_fini(&b);
}
END_TEST

START_TEST(twilio_form_append_roundtrip)
{
        const struct cc_kv in[] = {
            {"To", "+15551230001"},
            {"Url", "https://example.com/twiml?a=1&b=2"},
            {"Say Text", "caf\xc3\xa9 100% <ok>"},
            {"Unreserved", "AZaz09-._~"},
            {"Empty", ""},
            {"Event", "initiated"},
            {"Event", "answered"},
        };
        struct cc_strbuf b = {0};
        for (size_t i = 0; i < CC_ARRAY_SIZE(in); i++)
                cc_form_append(&b, in[i].key, in[i].value);
        ck_assert_str_eq(b.data, "To=%2B15551230001"
                                 "&Url=https%3A%2F%2Fexample.com%2Ftwiml%3Fa%3D1%26b%3D2"
                                 "&Say%20Text=caf%C3%A9%20100%25%20%3Cok%3E"
                                 "&Unreserved=AZaz09-._~"
                                 "&Empty="
                                 "&Event=initiated&Event=answered");

        struct cc_kv *out = NULL;
        size_t n = 0;
        ck_assert_int_eq(cc_form_parse(arena, b.data, b.len, &out, &n), 0);
        ck_assert_uint_eq(n, CC_ARRAY_SIZE(in));
        for (size_t i = 0; i < n; i++) {
                ck_assert_str_eq(out[i].key, in[i].key);
                ck_assert_str_eq(out[i].value, in[i].value);
        }
        cc_strbuf_fini(&b);
}
END_TEST

/* ---- signatures ---- */

#define DOC_TOKEN "12345"
#define DOC_URL   "https://mycompany.com/myapp.php?foo=1&bar=2"

/* The worked example of Twilio's webhook security documentation: a <Gather> posting digits to
 * DOC_URL, signed with auth token 12345. The current page uses +14158675310; older revisions
 * (and Twilio's helper libraries' tests) use +14158675309. Both signatures are Twilio's. */
static const struct cc_kv doc_fields[] = {
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675310"}, {"Digits", "1234"},
    {"From", "+14158675310"},         {"To", "+18005551212"},
};
#define DOC_SIGNATURE "GvWf1cFY/Q7PnoempGyD5oXAezc="

static const struct cc_kv doc_fields_old[] = {
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675309"}, {"Digits", "1234"},
    {"From", "+14158675309"},         {"To", "+18005551212"},
};
#define DOC_SIGNATURE_OLD "RSOYDt4T1cUTdK1PDd93/VVr8B8="

START_TEST(twilio_signature_documented_vector)
{
        char sig[CC_TWILIO_SIGNATURE_LEN];
        cc_twilio_signature(DOC_TOKEN, DOC_URL, doc_fields, CC_ARRAY_SIZE(doc_fields), sig);
        ck_assert_str_eq(sig, DOC_SIGNATURE);
        ck_assert(cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, doc_fields,
                                            CC_ARRAY_SIZE(doc_fields), DOC_SIGNATURE));

        cc_twilio_signature(DOC_TOKEN, DOC_URL, doc_fields_old, CC_ARRAY_SIZE(doc_fields_old), sig);
        ck_assert_str_eq(sig, DOC_SIGNATURE_OLD);
        ck_assert(cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, doc_fields_old,
                                            CC_ARRAY_SIZE(doc_fields_old), DOC_SIGNATURE_OLD));
}
END_TEST

START_TEST(twilio_signature_of_posted_body)
{
        /* What a webhook handler does: parse the body as Twilio sent it, then check the header.
         * Values are signed decoded ('+' in a number is %2B on the wire). */
        const char *body = "To=%2B18005551212&From=%2B14158675310&Digits=1234"
                           "&CallSid=CA1234567890ABCDE&Caller=%2B14158675310";
        struct cc_kv *f;
        size_t n;
        ck_assert_int_eq(parse(body, &f, &n), 0);
        ck_assert(cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, f, n, DOC_SIGNATURE));
}
END_TEST

START_TEST(twilio_signature_invalid)
{
        size_t n = CC_ARRAY_SIZE(doc_fields);
        struct cc_kv tampered[CC_ARRAY_SIZE(doc_fields)];
        memcpy(tampered, doc_fields, sizeof(tampered));
        tampered[2].value = "9999";
        ck_assert(!cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, tampered, n, DOC_SIGNATURE));
        /* A field added, or one dropped. */
        struct cc_kv more[CC_ARRAY_SIZE(doc_fields) + 1];
        memcpy(more, doc_fields, sizeof(doc_fields));
        more[n] = (struct cc_kv){"Extra", ""};
        ck_assert(!cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, more, n + 1, DOC_SIGNATURE));
        ck_assert(!cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, doc_fields, n - 1, DOC_SIGNATURE));
        /* Another URL: query string, scheme, trailing slash. */
        ck_assert(!cc_twilio_signature_valid(DOC_TOKEN, "https://mycompany.com/myapp.php",
                                             doc_fields, n, DOC_SIGNATURE));
        ck_assert(!cc_twilio_signature_valid(
            DOC_TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", doc_fields, n, DOC_SIGNATURE));
        /* Another token, or none. */
        ck_assert(!cc_twilio_signature_valid("12346", DOC_URL, doc_fields, n, DOC_SIGNATURE));
        ck_assert(!cc_twilio_signature_valid(NULL, DOC_URL, doc_fields, n, DOC_SIGNATURE));
        ck_assert(!cc_twilio_signature_valid("", DOC_URL, doc_fields, n, DOC_SIGNATURE));
        /* Headers that are not the signature. */
        const char *headers[] = {
            NULL,
            "",
            "GvWf1cFY/Q7PnoempGyD5oXAezc",   /* padding cut */
            "GvWf1cFY/Q7PnoempGyD5oXAezc==", /* one more */
            "gvWf1cFY/Q7PnoempGyD5oXAezc=",  /* case */
            "GvWf1cFY/Q7PnoempGyD5oXAezd=",  /* last character */
            " GvWf1cFY/Q7PnoempGyD5oXAezc=",
            DOC_SIGNATURE_OLD,
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(headers); i++)
                ck_assert_msg(
                    !cc_twilio_signature_valid(DOC_TOKEN, DOC_URL, doc_fields, n, headers[i]),
                    "header %zu accepted", i);
}
END_TEST

START_TEST(twilio_signature_field_order_independent)
{
        /* The order fields arrive in does not matter: every permutation signs the same. */
        size_t n = CC_ARRAY_SIZE(doc_fields);
        struct cc_kv f[CC_ARRAY_SIZE(doc_fields)];
        size_t idx[] = {0, 1, 2, 3, 4};
        int permutations = 0;
        /* Heap's algorithm, iterative. */
        size_t c[5] = {0};
        for (size_t i = 0;;) {
                for (size_t k = 0; k < n; k++)
                        f[k] = doc_fields[idx[k]];
                char sig[CC_TWILIO_SIGNATURE_LEN];
                cc_twilio_signature(DOC_TOKEN, DOC_URL, f, n, sig);
                ck_assert_str_eq(sig, DOC_SIGNATURE);
                permutations++;
                while (i < n && c[i] >= i) {
                        c[i] = 0;
                        i++;
                }
                if (i >= n)
                        break;
                size_t j = i % 2 ? c[i] : 0, t = idx[j];
                idx[j] = idx[i];
                idx[i] = t;
                c[i]++;
                i = 1;
        }
        ck_assert_int_eq(permutations, 120);
}
END_TEST

/* HMAC-SHA1 of a base string spelled out by hand, to pin the sort order independently. */
static void expected_signature(const char *token, const char *data, char out[29])
{
        unsigned char mac[20];
        unsigned int len = sizeof(mac);
        ck_assert_ptr_nonnull(HMAC(EVP_sha1(), token, (int)strlen(token),
                                   (const unsigned char *)data, strlen(data), mac, &len));
        cc_base64_encode(mac, len, out);
}

START_TEST(twilio_signature_sorts_bytes_and_repeated_keys)
{
        /* Byte order: upper case before lower case, "Caller" before "CallerCity", and repeated
         * keys ordered by value whatever order they came in. */
        const struct cc_kv f1[] = {
            {"b", "1"}, {"StatusCallbackEvent", "ringing"},  {"CallerCity", "X"},
            {"B", "2"}, {"StatusCallbackEvent", "answered"}, {"Caller", "+1"},
        };
        const struct cc_kv f2[] = {
            {"StatusCallbackEvent", "answered"},
            {"Caller", "+1"},
            {"B", "2"},
            {"CallerCity", "X"},
            {"b", "1"},
            {"StatusCallbackEvent", "ringing"},
        };
        char want[29], s1[CC_TWILIO_SIGNATURE_LEN], s2[CC_TWILIO_SIGNATURE_LEN];
        expected_signature("tok",
                           "https://h/p"
                           "B2"
                           "Caller+1"
                           "CallerCityX"
                           "StatusCallbackEventanswered"
                           "StatusCallbackEventringing"
                           "b1",
                           want);
        cc_twilio_signature("tok", "https://h/p", f1, CC_ARRAY_SIZE(f1), s1);
        cc_twilio_signature("tok", "https://h/p", f2, CC_ARRAY_SIZE(f2), s2);
        ck_assert_str_eq(s1, want);
        ck_assert_str_eq(s2, want);

        /* No fields (a GET callback): the URL alone is signed. */
        expected_signature("tok", "https://h/p?x=1", want);
        cc_twilio_signature("tok", "https://h/p?x=1", NULL, 0, s1);
        ck_assert_str_eq(s1, want);
        ck_assert(cc_twilio_signature_valid("tok", "https://h/p?x=1", NULL, 0, want));
}
END_TEST

/* ---- REST client against a small Twilio stand-in ---- */

#define ACCOUNT "ACtest0001"
#define TOKEN   "secret-token"

enum mode { MODE_TWILIO, MODE_DOWN, MODE_SLOW };

static struct {
        struct cc_http_server *srv;
        char base[64];

        pthread_mutex_t mu;
        pthread_cond_t cond;
        bool release;
        enum mode mode;
        int requests;
        char method[16];
        char path[512];
        char authorization[256];
        char content_type[128];
        char body[4096];
} fake;

static void reply_json(struct cc_http_req *req, int status, const char *fmt, ...) CC_PRINTF(3, 4);
static void reply_json(struct cc_http_req *req, int status, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        cc_http_reply_raw(req, status, "application/json", buf, (size_t)n);
}

static void twilio_error(struct cc_http_req *req, int status, int code, const char *message)
{
        reply_json(req, status,
                   "{\"code\": %d, \"message\": \"%s\", \"more_info\": "
                   "\"https://www.twilio.com/docs/errors/%d\", \"status\": %d}",
                   code, message, code, status);
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Answers like Twilio's REST API, for the few resources the client uses. */
static void fake_handler(struct cc_http_req *req)
{
        const char *path = cc_http_req_path(req);
        const char *auth = cc_http_req_header(req, "Authorization");
        const char *ctype = cc_http_req_header(req, "Content-Type");
        size_t len;
        const char *body = cc_http_req_body(req, &len);

        pthread_mutex_lock(&fake.mu);
        fake.requests++;
        snprintf(fake.method, sizeof(fake.method), "%s", cc_http_req_method(req));
        snprintf(fake.path, sizeof(fake.path), "%s", path);
        snprintf(fake.authorization, sizeof(fake.authorization), "%s", auth ? auth : "");
        snprintf(fake.content_type, sizeof(fake.content_type), "%s", ctype ? ctype : "");
        snprintf(fake.body, sizeof(fake.body), "%.*s", (int)len, body);
        enum mode mode = fake.mode;
        if (mode == MODE_SLOW) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 5;
                while (!fake.release &&
                       pthread_cond_timedwait(&fake.cond, &fake.mu, &until) != ETIMEDOUT)
                        ;
        }
        pthread_mutex_unlock(&fake.mu);

        if (mode == MODE_DOWN) {
                /* What a load balancer in front of a sick Twilio says: not JSON. */
                const char *html = "<html><body>503 Service Unavailable</body></html>";
                cc_http_reply_raw(req, 503, "text/html", html, strlen(html));
                return;
        }
        char basic[128] = "Basic ";
        cc_base64_encode(ACCOUNT ":" TOKEN, strlen(ACCOUNT ":" TOKEN), basic + 6);
        if (!auth || strcmp(auth, basic) != 0) {
                twilio_error(req, 401, 20003, "Authenticate");
                return;
        }

        struct cc_arena *a = cc_http_req_arena(req);
        struct cc_kv *f = NULL;
        size_t n = 0;
        if (cc_form_parse(a, body, len, &f, &n) < 0) {
                twilio_error(req, 400, 20001, "Malformed form body");
                return;
        }
        const char *prefix = "/2010-04-01/Accounts/" ACCOUNT;
        if (strncmp(path, prefix, strlen(prefix)) != 0) {
                twilio_error(req, 404, 20404, "The requested resource was not found");
                return;
        }
        const char *rest = path + strlen(prefix);
        if (strcmp(rest, ".json") == 0) {
                reply_json(req, 200,
                           "{\"sid\": \"%s\", \"friendly_name\": \"test\", "
                           "\"status\": \"active\"}",
                           ACCOUNT);
        } else if (strcmp(rest, "/Calls.json") == 0) {
                const char *to = cc_kv_get(f, n, "To");
                if (!to || strcmp(to, "+15005550001") == 0) {
                        twilio_error(req, 400, 21211,
                                     "The 'To' number +15005550001 is not a valid phone number.");
                        return;
                }
                reply_json(req, 201,
                           "{\"sid\": \"CA0123456789abcdef0123456789abcdef\", \"status\": "
                           "\"queued\", \"to\": \"%s\", \"price\": null}",
                           to);
        } else if (strncmp(rest, "/Calls/", 7) == 0 && ends_with(rest, ".json")) {
                const char *status = cc_kv_get(f, n, "Status");
                reply_json(req, 200, "{\"sid\": \"%.*s\", \"status\": \"%s\"}",
                           (int)(strlen(rest) - 7 - 5), rest + 7, status ? status : "in-progress");
        } else if (strncmp(rest, "/Conferences/", 13) == 0 && strstr(rest, "/Participants/")) {
                const char *sid = strstr(rest, "/Participants/") + 14;
                reply_json(req, 200,
                           "{\"call_sid\": \"%.*s\", \"conference_sid\": \"CF01\", \"hold\": "
                           "true, \"status\": \"connected\"}",
                           (int)(strlen(sid) - 5), sid);
        } else if (strcmp(rest, "/Messages.json") == 0) {
                reply_json(req, 201, "{\"sid\": \"SM0001\", \"status\": \"queued\"}");
        } else {
                twilio_error(req, 404, 20404, "The requested resource was not found");
        }
}

static const struct cc_http_route fake_routes[] = {
    {"GET", "/{*rest}", fake_handler, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
    {"POST", "/{*rest}", fake_handler, CC_ROLE_NONE, CC_HTTP_RAW_BODY},
};

static void fake_start(void)
{
        cc_log_init("test_twilio", CC_LOG_WARN);
        memset(&fake, 0, sizeof(fake));
        pthread_mutex_init(&fake.mu, NULL);
        pthread_cond_init(&fake.cond, NULL);
        struct cc_http_server_config cfg = {
            .service = "twilio-fake", .bind_addr = "127.0.0.1", .port = 0, .threads = 2};
        char err[256] = "";
        fake.srv =
            cc_http_server_new(&cfg, fake_routes, CC_ARRAY_SIZE(fake_routes), err, sizeof(err));
        ck_assert_msg(fake.srv != NULL, "server: %s", err);
        ck_assert_int_eq(cc_http_server_start(fake.srv), 0);
        snprintf(fake.base, sizeof(fake.base), "http://127.0.0.1:%d",
                 cc_http_server_port(fake.srv));
}

static void fake_stop(void)
{
        pthread_mutex_lock(&fake.mu);
        fake.release = true;
        pthread_cond_broadcast(&fake.cond);
        pthread_mutex_unlock(&fake.mu);
        cc_http_server_free(fake.srv);
        fake.srv = NULL;
        pthread_cond_destroy(&fake.cond);
        pthread_mutex_destroy(&fake.mu);
}

static int fake_requests(void)
{
        pthread_mutex_lock(&fake.mu);
        int n = fake.requests;
        pthread_mutex_unlock(&fake.mu);
        return n;
}

static struct cc_twilio *client(const char *base, int timeout_ms)
{
        struct cc_twilio_config cfg = {.api_base = base, .timeout_ms = timeout_ms};
        struct cc_twilio *tw = cc_twilio_new(&cfg);
        ck_assert_ptr_nonnull(tw);
        return tw;
}

START_TEST(twilio_call_create_sends_form_and_basic_auth)
{
        struct cc_twilio *tw = client(fake.base, 5000);
        const struct cc_kv f[] = {
            {"To", "+15551230001"},
            {"From", "+15559870002"},
            {"Url", "https://example.com/twiml?a=1&b=2"},
            {"StatusCallbackEvent", "initiated"},
            {"StatusCallbackEvent", "answered"},
        };
        struct cc_twilio_result res;
        ck_assert_int_eq(cc_twilio_call_create(tw, ACCOUNT, TOKEN, f, CC_ARRAY_SIZE(f), &res), 0);
        ck_assert_int_eq(res.http_status, 201);
        ck_assert_str_eq(res.sid, "CA0123456789abcdef0123456789abcdef");
        ck_assert_str_eq(res.status, "queued");
        ck_assert_int_eq(res.code, 0);

        ck_assert_str_eq(fake.method, "POST");
        ck_assert_str_eq(fake.path, "/2010-04-01/Accounts/" ACCOUNT "/Calls.json");
        ck_assert_str_eq(fake.content_type, "application/x-www-form-urlencoded");
        /* base64("ACtest0001:secret-token") */
        ck_assert_str_eq(fake.authorization, "Basic QUN0ZXN0MDAwMTpzZWNyZXQtdG9rZW4=");
        ck_assert_str_eq(fake.body, "To=%2B15551230001&From=%2B15559870002"
                                    "&Url=https%3A%2F%2Fexample.com%2Ftwiml%3Fa%3D1%26b%3D2"
                                    "&StatusCallbackEvent=initiated&StatusCallbackEvent=answered");
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_error_answer_is_reported)
{
        struct cc_twilio *tw = client(fake.base, 5000);
        const struct cc_kv f[] = {{"To", "+15005550001"}, {"From", "+15559870002"}};
        struct cc_twilio_result res;
        for (int i = 0; i < 6; i++) {
                ck_assert_int_eq(cc_twilio_call_create(tw, ACCOUNT, TOKEN, f, 2, &res), -EPROTO);
                ck_assert_int_eq(res.http_status, 400);
                ck_assert_int_eq(res.code, 21211);
                ck_assert_str_eq(res.message,
                                 "The 'To' number +15005550001 is not a valid phone number.");
                ck_assert_str_eq(res.sid, "");
        }
        /* Twilio refusing a request is an answer: the breaker stays closed. */
        ck_assert_int_eq(cc_breaker_state(cc_twilio_breaker(tw)), CC_BREAKER_CLOSED);
        ck_assert_int_eq(fake_requests(), 6);
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_wrong_credentials)
{
        struct cc_twilio *tw = client(fake.base, 5000);
        const struct cc_kv f[] = {{"To", "+15551230001"}, {"From", "+15559870002"}};
        struct cc_twilio_result res;
        ck_assert_int_eq(cc_twilio_call_create(tw, ACCOUNT, "wrong-token", f, 2, &res), -EPROTO);
        ck_assert_int_eq(res.http_status, 401);
        ck_assert_int_eq(res.code, 20003);
        ck_assert_str_eq(res.message, "Authenticate");
        ck_assert_int_eq(cc_twilio_account_fetch(tw, ACCOUNT, "wrong-token", &res), -EPROTO);
        ck_assert_int_eq(res.http_status, 401);
        ck_assert_int_eq(cc_twilio_account_fetch(tw, ACCOUNT, TOKEN, &res), 0);
        ck_assert_str_eq(fake.method, "GET");
        ck_assert_str_eq(fake.path, "/2010-04-01/Accounts/" ACCOUNT ".json");
        ck_assert_str_eq(fake.body, "");
        ck_assert_str_eq(fake.content_type, "");
        ck_assert_int_eq(res.http_status, 200);
        ck_assert_str_eq(res.sid, ACCOUNT);
        ck_assert_str_eq(res.status, "active");
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_update_participant_and_message)
{
        struct cc_twilio *tw = client(fake.base, 5000);
        struct cc_twilio_result res;
        const struct cc_kv hangup[] = {{"Status", "completed"}};
        ck_assert_int_eq(cc_twilio_call_update(tw, ACCOUNT, TOKEN, "CAabc123", hangup, 1, &res), 0);
        ck_assert_str_eq(fake.path, "/2010-04-01/Accounts/" ACCOUNT "/Calls/CAabc123.json");
        ck_assert_str_eq(fake.body, "Status=completed");
        ck_assert_str_eq(res.sid, "CAabc123");
        ck_assert_str_eq(res.status, "completed");

        /* A conference's friendly name is ours but free text: it stays one path segment. */
        const struct cc_kv hold[] = {{"Hold", "true"}};
        ck_assert_int_eq(cc_twilio_participant_update(tw, ACCOUNT, TOKEN, "room 7/../x?y#z&",
                                                      "CAabc123", hold, 1, &res),
                         0);
        ck_assert_str_eq(fake.path,
                         "/2010-04-01/Accounts/" ACCOUNT "/Conferences/room%207%2F..%2Fx%3Fy%23z%26"
                         "/Participants/CAabc123.json");
        ck_assert_str_eq(fake.body, "Hold=true");
        ck_assert_int_eq(res.http_status, 200);
        ck_assert_str_eq(res.sid, "CAabc123");
        ck_assert_str_eq(res.status, "connected");

        const struct cc_kv sms[] = {{"To", "+15551230001"}, {"Body", "Hi & bye"}};
        ck_assert_int_eq(cc_twilio_message_create(tw, ACCOUNT, TOKEN, sms, 2, &res), 0);
        ck_assert_str_eq(fake.path, "/2010-04-01/Accounts/" ACCOUNT "/Messages.json");
        ck_assert_str_eq(fake.body, "To=%2B15551230001&Body=Hi%20%26%20bye");
        ck_assert_int_eq(res.http_status, 201);
        ck_assert_str_eq(res.sid, "SM0001");
        ck_assert_str_eq(res.status, "queued");
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_refuses_path_injection)
{
        struct cc_twilio *tw = client(fake.base, 5000);
        struct cc_twilio_result res;
        char long_sid[66];
        memset(long_sid, 'A', 65);
        long_sid[65] = '\0';
        const char *bad[] = {NULL, "", "AC../../x", "AC%2F", "AC test", "AC/x", "ACé", long_sid};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                ck_assert_int_eq(cc_twilio_call_create(tw, bad[i], TOKEN, NULL, 0, &res), -EINVAL);
                ck_assert_int_eq(res.http_status, 0);
                ck_assert_str_ne(res.message, "");
                ck_assert_int_eq(cc_twilio_account_fetch(tw, bad[i], TOKEN, &res), -EINVAL);
                ck_assert_int_eq(cc_twilio_message_create(tw, bad[i], TOKEN, NULL, 0, &res),
                                 -EINVAL);
                ck_assert_int_eq(cc_twilio_call_update(tw, ACCOUNT, TOKEN, bad[i], NULL, 0, &res),
                                 -EINVAL);
                ck_assert_int_eq(
                    cc_twilio_participant_update(tw, ACCOUNT, TOKEN, "room", bad[i], NULL, 0, &res),
                    -EINVAL);
        }
        ck_assert_int_eq(cc_twilio_participant_update(tw, ACCOUNT, TOKEN, "", "CA1", NULL, 0, &res),
                         -EINVAL);
        ck_assert_int_eq(
            cc_twilio_participant_update(tw, ACCOUNT, TOKEN, NULL, "CA1", NULL, 0, &res), -EINVAL);
        ck_assert_int_eq(cc_twilio_call_create(tw, ACCOUNT, NULL, NULL, 0, &res), -EINVAL);
        /* A 64-character SID is fine. */
        long_sid[64] = '\0';
        ck_assert_int_eq(cc_twilio_call_update(tw, ACCOUNT, TOKEN, long_sid, NULL, 0, &res), 0);
        ck_assert_int_eq(fake_requests(), 1);
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_unreachable)
{
        int port, fd = cc_test_bound_socket(&port);
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
        struct cc_twilio *tw = client(base, 2000);
        struct cc_twilio_result res;
        const struct cc_kv f[] = {{"To", "+15551230001"}};
        ck_assert_int_eq(cc_twilio_call_create(tw, ACCOUNT, TOKEN, f, 1, &res), -ECONNREFUSED);
        ck_assert_int_eq(res.http_status, 0);
        ck_assert_str_eq(res.message, "Twilio unreachable");
        ck_assert_str_eq(res.sid, "");
        cc_twilio_free(tw);
        close(fd);
}
END_TEST

START_TEST(twilio_timeout)
{
        fake.mode = MODE_SLOW;
        struct cc_twilio *tw = client(fake.base, 300);
        struct cc_twilio_result res;
        int64_t t0 = cc_monotonic_us();
        ck_assert_int_eq(cc_twilio_call_update(tw, ACCOUNT, TOKEN, "CA1", NULL, 0, &res),
                         -ETIMEDOUT);
        ck_assert_int_lt(cc_monotonic_us() - t0, 2000000);
        ck_assert_int_eq(res.http_status, 0);
        ck_assert_str_eq(res.message, "Twilio timed out");
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_breaker_opens_on_outage)
{
        fake.mode = MODE_DOWN;
        struct cc_twilio *tw = client(fake.base, 5000);
        struct cc_twilio_result res;
        /* The library's default threshold: five failures in a row. */
        for (int i = 0; i < 5; i++) {
                ck_assert_int_eq(cc_twilio_account_fetch(tw, ACCOUNT, TOKEN, &res), -EPROTO);
                ck_assert_int_eq(res.http_status, 503);
                ck_assert_int_eq(res.code, 0);
                ck_assert_str_eq(res.message, "Twilio answered HTTP 503");
        }
        ck_assert_int_eq(cc_breaker_state(cc_twilio_breaker(tw)), CC_BREAKER_OPEN);
        ck_assert_int_eq(cc_twilio_account_fetch(tw, ACCOUNT, TOKEN, &res), -EHOSTDOWN);
        ck_assert_int_eq(res.http_status, 0);
        ck_assert_str_eq(res.message, "Twilio circuit open");
        ck_assert_int_eq(fake_requests(), 5);
        cc_twilio_free(tw);
}
END_TEST

START_TEST(twilio_new_refuses_bad_config)
{
        ck_assert_ptr_null(cc_twilio_new(NULL));
        const char *bad[] = {NULL, "", "ftp://api.twilio.com", "api.twilio.com", "HTTP//x"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                struct cc_twilio_config cfg = {.api_base = bad[i]};
                ck_assert_ptr_null(cc_twilio_new(&cfg));
        }
        struct cc_twilio_config cfg = {.api_base = "https://api.twilio.com", .name = "tw-prod"};
        struct cc_twilio *tw = cc_twilio_new(&cfg);
        ck_assert_ptr_nonnull(tw);
        ck_assert_int_eq(cc_breaker_state(cc_twilio_breaker(tw)), CC_BREAKER_CLOSED);
        cc_twilio_free(tw);
        cc_twilio_free(NULL);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("twilio");
        TCase *form = tcase_create("form");
        tcase_add_checked_fixture(form, arena_setup, arena_teardown);
        tcase_add_test(form, twilio_form_parse_decodes);
        tcase_add_test(form, twilio_form_parse_repeated_keys_keep_order);
        tcase_add_test(form, twilio_form_parse_bad_escapes);
        tcase_add_test(form, twilio_form_parse_empty);
        tcase_add_test(form, twilio_form_parse_limits);
        tcase_add_test(form, twilio_form_append_roundtrip);
        suite_add_tcase(s, form);

        TCase *sig = tcase_create("signature");
        tcase_add_checked_fixture(sig, arena_setup, arena_teardown);
        tcase_add_test(sig, twilio_signature_documented_vector);
        tcase_add_test(sig, twilio_signature_of_posted_body);
        tcase_add_test(sig, twilio_signature_invalid);
        tcase_add_test(sig, twilio_signature_field_order_independent);
        tcase_add_test(sig, twilio_signature_sorts_bytes_and_repeated_keys);
        suite_add_tcase(s, sig);

        TCase *rest = tcase_create("rest");
        tcase_add_checked_fixture(rest, fake_start, fake_stop);
        tcase_add_test(rest, twilio_call_create_sends_form_and_basic_auth);
        tcase_add_test(rest, twilio_error_answer_is_reported);
        tcase_add_test(rest, twilio_wrong_credentials);
        tcase_add_test(rest, twilio_update_participant_and_message);
        tcase_add_test(rest, twilio_refuses_path_injection);
        tcase_add_test(rest, twilio_unreachable);
        tcase_add_test(rest, twilio_timeout);
        tcase_add_test(rest, twilio_breaker_opens_on_outage);
        tcase_add_test(rest, twilio_new_refuses_bad_config);
        suite_add_tcase(s, rest);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
