#include "testlib.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

const char *cc_test_env(const char *name)
{
        const char *v = getenv(name);
        ck_assert_msg(v != NULL && *v != '\0', "%s is not set: run the suite with scripts/dev test",
                      name);
        return v;
}

const char *cc_test_unique(const char *prefix, char *buf, size_t len)
{
        static int counter;
        snprintf(buf, len, "%s_%d_%d", prefix, (int)getpid(),
                 __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
        return buf;
}

struct growbuf {
        char *data;
        size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct growbuf *b = userdata;
        size_t n = size * nmemb;
        char *p = realloc(b->data, b->len + n + 1);
        ck_assert_ptr_nonnull(p);
        memcpy(p + b->len, ptr, n);
        b->len += n;
        p[b->len] = '\0';
        b->data = p;
        return n;
}

void cc_test_http(const char *method, const char *url, const char *body, size_t body_len,
                  const char *const *headers, struct cc_test_response *ret_resp)
{
        CURL *curl = curl_easy_init();
        struct growbuf b = {0}, h = {0};
        struct curl_slist *list = NULL;
        ck_assert_ptr_nonnull(curl);
        for (size_t i = 0; headers && headers[i]; i++)
                list = curl_slist_append(list, headers[i]);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        if (body) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(curl);
        ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ret_resp->status);
        ret_resp->body = b.data ? b.data : strdup("");
        ret_resp->headers = h.data ? h.data : strdup("");
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
}

void cc_test_response_fini(struct cc_test_response *resp)
{
        free(resp->body);
        free(resp->headers);
        resp->body = resp->headers = NULL;
}

const char *cc_test_response_header(const struct cc_test_response *resp, const char *name,
                                    char *buf, size_t len)
{
        size_t nlen = strlen(name);
        for (const char *line = resp->headers; line && *line;) {
                const char *eol = strstr(line, "\r\n");
                size_t l = eol ? (size_t)(eol - line) : strlen(line);
                if (l > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
                        const char *v = line + nlen + 1;
                        while (*v == ' ')
                                v++;
                        size_t vl = l - (size_t)(v - line);
                        if (vl >= len)
                                vl = len - 1;
                        memcpy(buf, v, vl);
                        buf[vl] = '\0';
                        return buf;
                }
                if (!eol)
                        break;
                line = eol + 2;
        }
        return NULL;
}

const char *cc_test_devbroker(const char *command, char *buf, size_t len)
{
        const char *addr = cc_test_env("CC_TEST_DEVBROKER_CONTROL");
        char host[64];
        int port = 0;
        ck_assert_int_eq(sscanf(addr, "%63[^:]:%d", host, &port), 2);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        ck_assert_int_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
                      "cannot reach devbroker control port %s", addr);
        char line[256];
        int n = snprintf(line, sizeof(line), "%s\n", command);
        ck_assert_int_eq(write(fd, line, (size_t)n), n);
        size_t got = 0;
        while (got + 1 < len) {
                ssize_t r = read(fd, buf + got, len - 1 - got);
                if (r <= 0)
                        break;
                got += (size_t)r;
                if (memchr(buf, '\n', got))
                        break;
        }
        buf[got] = '\0';
        close(fd);
        return buf;
}

static void pg_ctl(const char *action)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", cc_test_env("CC_TEST_PG_CTL"), action);
        ck_assert_msg(system(cmd) == 0, "pg_ctl %s failed", action);
}

void cc_test_pg_stop(void)
{
        pg_ctl("-m fast stop");
}

void cc_test_pg_start(void)
{
        pg_ctl("start");
}

void cc_test_pg_restart(int down_ms)
{
        cc_test_pg_stop();
        usleep((useconds_t)down_ms * 1000);
        cc_test_pg_start();
}

int cc_test_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "cc/util.h"

char *cc_test_token(const char *role, const char *org_id, const char *user_id, int ttl_s)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/jwt-private.pem", cc_test_env("CC_TEST_KEYS_DIR"));
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        ck_assert_ptr_nonnull(key);

        char jti[CC_UUID_LEN + 1];
        cc_uuid_v4(jti);
        long now = (long)time(NULL);
        char payload[1024];
        snprintf(
            payload, sizeof(payload),
            "{\"sub\":\"%s\",\"org\":\"%s\",\"role\":\"%s\",\"email\":\"test@example.com\","
            "\"jti\":\"%s\",\"iat\":%ld,\"exp\":%ld,\"iss\":\"cc-gateway\",\"aud\":\"cc-api\"}",
            user_id, org_id, role, jti, now, now + ttl_s);
        const char *header = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
        char signing[2048];
        size_t n = cc_base64url_encode(header, strlen(header), signing);
        signing[n++] = '.';
        n += cc_base64url_encode(payload, strlen(payload), signing + n);

        unsigned char der[128];
        size_t der_len = sizeof(der);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        ck_assert_int_eq(EVP_DigestSign(md, der, &der_len, (unsigned char *)signing, n), 1);
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(key);

        /* JWS wants r || s, 32 bytes each, not DER. */
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        ck_assert_ptr_nonnull(sig);
        unsigned char raw[64];
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(sig, &r, &s);
        BN_bn2binpad(r, raw, 32);
        BN_bn2binpad(s, raw + 32, 32);
        ECDSA_SIG_free(sig);

        char *token = cc_xmalloc(n + 1 + 100);
        memcpy(token, signing, n);
        token[n] = '.';
        cc_base64url_encode(raw, sizeof(raw), token + n + 1);
        return token;
}
