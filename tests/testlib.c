#include "testlib.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
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

int cc_test_connect(const char *host, int port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int cc_test_bound_socket(int *ret_port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        socklen_t len = sizeof(sa);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

int cc_test_free_port(void)
{
        int port;
        close(cc_test_bound_socket(&port));
        return port;
}

const char *cc_test_devbroker(const char *command, char *buf, size_t len)
{
        const char *addr = cc_test_env("CC_TEST_DEVBROKER_CONTROL");
        char host[64];
        int port = 0;
        ck_assert_int_eq(sscanf(addr, "%63[^:]:%d", host, &port), 2);
        int fd = cc_test_connect(host, port);
        ck_assert_msg(fd >= 0, "cannot reach devbroker control port %s: %s", addr, strerror(-fd));
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

void cc_test_devbroker_ok(const char *command)
{
        char answer[256];
        cc_test_devbroker(command, answer, sizeof(answer));
        ck_assert_msg(strncmp(answer, "ok", 2) == 0, "devbroker '%s': %s", command, answer);
}

void cc_test_topic(const char *name, int partitions)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "topic %s %d", name, partitions);
        cc_test_devbroker_ok(cmd);
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

struct cc_db_pool *cc_test_pool(const char *schema, int size, int timeout_ms)
{
        const char *url = cc_test_env("CC_TEST_DATABASE_URL");
        char *conninfo = schema ? cc_db_conninfo_with_schema(url, schema) : cc_xstrdup(url);
        ck_assert_msg(conninfo != NULL, "no conninfo for schema %s", schema);
        struct cc_db_pool *pool = cc_db_pool_new(conninfo, size, timeout_ms);
        free(conninfo);
        ck_assert_msg(pool != NULL, "pool of %d on schema %s", size, schema ? schema : "(default)");
        return pool;
}

struct cc_db_conn *cc_test_acquire(struct cc_db_pool *pool)
{
        struct cc_db_conn *conn = NULL;
        int r = cc_db_acquire(pool, &conn);
        ck_assert_msg(r == 0, "acquire: %s", strerror(-r));
        return conn;
}

void cc_test_exec(struct cc_db_conn *conn, const char *sql, int n, const char *const *params)
{
        int r = cc_db_exec(conn, sql, n, params, NULL);
        ck_assert_msg(r == 0, "%s: %d %s", sql, r, cc_db_error(conn));
}

PGresult *cc_test_query(struct cc_db_conn *conn, const char *sql, int n, const char *const *params)
{
        PGresult *res = NULL;
        int r = cc_db_exec(conn, sql, n, params, &res);
        ck_assert_msg(r == 0, "%s: %d %s", sql, r, cc_db_error(conn));
        return res;
}

const char *cc_test_query_value(struct cc_db_conn *conn, const char *sql, const char *param,
                                char *buf, size_t len)
{
        const char *p[] = {param};
        PGresult *res = cc_test_query(conn, sql, param ? 1 : 0, p);
        ck_assert_msg(PQntuples(res) == 1, "%s: %d rows", sql, PQntuples(res));
        snprintf(buf, len, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
        PQclear(res);
        return buf;
}

long long cc_test_query_int(struct cc_db_conn *conn, const char *sql, const char *param)
{
        char buf[32];
        return strtoll(cc_test_query_value(conn, sql, param, buf, sizeof(buf)), NULL, 10);
}

long long cc_test_pool_query_int(struct cc_db_pool *pool, const char *sql, const char *param)
{
        struct cc_db_conn *conn = cc_test_acquire(pool);
        long long v = cc_test_query_int(conn, sql, param);
        cc_db_release(conn);
        return v;
}

int cc_test_drop_schemas(const char *prefix)
{
        struct cc_db_pool *pool = cc_test_pool(NULL, 1, 10000);
        struct cc_db_conn *conn = cc_test_acquire(pool);
        char *under = cc_xasprintf("%s_", prefix);
        const char *p[] = {prefix, under};
        PGresult *res = cc_test_query(
            conn, "SELECT nspname FROM pg_namespace WHERE nspname = $1 OR starts_with(nspname, $2)",
            2, p);
        int dropped = 0;
        char failed[512] = "";
        for (int i = 0; i < PQntuples(res); i++) {
                const char *name = PQgetvalue(res, i, 0);
                char *q = PQescapeIdentifier(cc_db_conn_pg(conn), name, strlen(name));
                ck_assert_ptr_nonnull(q);
                char *sql = cc_xasprintf("DROP SCHEMA %s CASCADE", q);
                if (cc_db_exec(conn, sql, 0, NULL, NULL) == 0) {
                        dropped++;
                } else {
                        size_t l = strlen(failed);
                        snprintf(failed + l, sizeof(failed) - l, " %s (%s)", name,
                                 cc_db_error(conn));
                }
                free(sql);
                PQfreemem(q);
        }
        PQclear(res);
        free(under);
        cc_db_release(conn);
        cc_db_pool_free(pool);
        ck_assert_msg(failed[0] == '\0', "cannot drop:%s", failed);
        return dropped;
}

struct cc_kafka_producer *cc_test_producer(const char *client_id, cc_kafka_delivery_fn on_delivery,
                                           void *userdata, const char *const *extra_conf)
{
        char err[512] = "";
        struct cc_kafka_producer *p =
            cc_kafka_producer_new(cc_test_env("CC_TEST_KAFKA_BROKERS"), client_id, on_delivery,
                                  userdata, extra_conf, err, sizeof(err));
        ck_assert_msg(p != NULL, "producer: %s", err);
        return p;
}

struct cc_kafka_consumer *cc_test_consumer(const char *topic, const char *group,
                                           const char *const *extra_conf)
{
        char own[64], err[512] = "";
        const char *topics[] = {topic};
        if (!group)
                group = cc_test_unique("test_group", own, sizeof(own));
        struct cc_kafka_consumer *kc = cc_kafka_consumer_new(
            cc_test_env("CC_TEST_KAFKA_BROKERS"), group, topics, 1, extra_conf, err, sizeof(err));
        ck_assert_msg(kc != NULL, "consumer of %s: %s", topic, err);
        return kc;
}

int cc_test_consume(struct cc_kafka_consumer *kc, int64_t deadline_us,
                    struct cc_kafka_message *ret_msg)
{
        int r;
        do {
                int64_t left_ms = (deadline_us - cc_monotonic_us()) / 1000;
                r = cc_kafka_consume(kc,
                                     left_ms > 100 ? 100
                                     : left_ms > 0 ? (int)left_ms
                                                   : 0,
                                     ret_msg);
        } while (r == -EAGAIN && cc_monotonic_us() < deadline_us);
        return r;
}

void cc_test_service_env(int port)
{
        char key[1024], private_key[1024], port_s[16];
        snprintf(key, sizeof(key), "%s/jwt-public.pem", cc_test_env("CC_TEST_KEYS_DIR"));
        snprintf(private_key, sizeof(private_key), "%s/jwt-private.pem",
                 cc_test_env("CC_TEST_KEYS_DIR"));
        snprintf(port_s, sizeof(port_s), "%d", port);
        setenv("CC_DATABASE_URL", cc_test_env("CC_TEST_DATABASE_URL"), 1);
        setenv("CC_KAFKA_BROKERS", cc_test_env("CC_TEST_KAFKA_BROKERS"), 1);
        setenv("CC_JWT_PUBLIC_KEY_FILE", key, 1);
        /* Only the gateway signs; the other services ignore it. */
        setenv("CC_JWT_PRIVATE_KEY_FILE", private_key, 1);
        setenv("CC_HTTP_PORT", port_s, 1);
        setenv("CC_HTTP_BIND", "127.0.0.1", 1);
        setenv("CC_HTTP_THREADS", "2", 1);
}

int cc_test_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

char *cc_test_sign_es256(EVP_PKEY *key, const char *header_json, const char *payload_json)
{
        size_t hl = strlen(header_json), pl = strlen(payload_json);
        /* base64url of both parts, the signature's 86 characters, two dots and the NUL. */
        char *token = cc_xmalloc(4 * ((hl + 2) / 3) + 4 * ((pl + 2) / 3) + 100);
        size_t n = cc_base64url_encode(header_json, hl, token);
        token[n++] = '.';
        n += cc_base64url_encode(payload_json, pl, token + n);

        unsigned char der[128];
        size_t der_len = sizeof(der);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ck_assert_ptr_nonnull(md);
        ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        ck_assert_int_eq(EVP_DigestSign(md, der, &der_len, (unsigned char *)token, n), 1);
        EVP_MD_CTX_free(md);

        /* JWS wants r || s, 32 bytes each, not DER. */
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        ck_assert_ptr_nonnull(sig);
        unsigned char raw[64];
        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
        ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
        ECDSA_SIG_free(sig);

        token[n++] = '.';
        cc_base64url_encode(raw, sizeof(raw), token + n);
        return token;
}

char *cc_test_public_pem(EVP_PKEY *key)
{
        BIO *bio = BIO_new(BIO_s_mem());
        ck_assert_ptr_nonnull(bio);
        ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, key), 1);
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        char *pem = cc_xstrndup(data, (size_t)n);
        BIO_free(bio);
        return pem;
}

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
        char *payload = cc_xasprintf(
            "{\"sub\":\"%s\",\"org\":\"%s\",\"role\":\"%s\",\"email\":\"test@example.com\","
            "\"jti\":\"%s\",\"iat\":%ld,\"exp\":%ld,\"iss\":\"cc-gateway\",\"aud\":\"cc-api\"}",
            user_id, org_id, role, jti, now, now + ttl_s);
        char *token = cc_test_sign_es256(key, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload);
        free(payload);
        EVP_PKEY_free(key);
        return token;
}
