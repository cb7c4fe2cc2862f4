#include "cc/jwt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "testlib.h"

#define ISS  "callcenter-gateway"
#define AUD  "callcenter"
#define USER "6f1c2a4e-0d3b-4c8e-9a51-2b7f3c9d1e40"
#define ORG  "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"

static EVP_PKEY *key;
static char *pub_pem;
static struct cc_jwt_verifier *ver;

static EVP_PKEY *gen_key(const char *type, const char *param)
{
        EVP_PKEY *k = NULL;
        if (strcmp(type, "RSA") == 0)
                k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        else
                k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
        ck_assert_ptr_nonnull(k);
        return k;
}

static void b64(const void *in, size_t n, char *out)
{
        cc_base64url_encode(in, n, out);
}

static const char *es256_header = "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";

/* A payload with every claim; extra is spliced in verbatim (",\"x\":1") and may override. */
static char *payload_with(long exp_offset, const char *extra)
{
        long now = (long)time(NULL);
        return cc_xasprintf("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"" USER
                            "\",\"org\":\"" ORG "\",\"role\":\"SUPERVISOR\",\"email\":"
                            "\"sup@example.com\",\"jti\":\"jti-1\",\"iat\":%ld,\"exp\":%ld%s}",
                            now, now + exp_offset, extra ? extra : "");
}

static char *token_with(long exp_offset, const char *extra)
{
        char *payload = payload_with(exp_offset, extra);
        char *tok = cc_test_sign_es256(key, es256_header, payload);
        free(payload);
        return tok;
}

static int verify(const char *tok)
{
        struct cc_auth auth;
        return cc_jwt_verify(ver, tok, &auth);
}

static void setup(void)
{
        key = gen_key("EC", "P-256");
        pub_pem = cc_test_public_pem(key);
        ver = cc_jwt_verifier_new(pub_pem, ISS, AUD, 64);
        ck_assert_ptr_nonnull(ver);
}

static void teardown(void)
{
        cc_jwt_verifier_free(ver);
        free(pub_pem);
        EVP_PKEY_free(key);
        ver = NULL;
        pub_pem = NULL;
        key = NULL;
}

START_TEST(jwt_valid_token_accepted_with_claims)
{
        char *tok = token_with(900, NULL);
        struct cc_auth auth;
        memset(&auth, 0, sizeof(auth));
        ck_assert_int_eq(cc_jwt_verify(ver, tok, &auth), 0);
        ck_assert_str_eq(auth.user_id, USER);
        ck_assert_str_eq(auth.org_id, ORG);
        ck_assert_int_eq(auth.role, CC_ROLE_SUPERVISOR);
        ck_assert_str_eq(auth.email, "sup@example.com");
        ck_assert_str_eq(auth.jti, "jti-1");
        ck_assert_int_ge(auth.exp, (int64_t)time(NULL) + 890);
        free(tok);

        /* email and jti are optional; an explicit type "access" is fine. */
        char *payload = cc_xasprintf("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"" USER
                                     "\",\"org\":\"" ORG "\",\"role\":\"AGENT\",\"type\":"
                                     "\"access\",\"iat\":%ld,\"exp\":%ld}",
                                     (long)time(NULL), (long)time(NULL) + 60);
        tok = cc_test_sign_es256(key, "{\"alg\":\"ES256\"}", payload);
        ck_assert_int_eq(cc_jwt_verify(ver, tok, &auth), 0);
        ck_assert_int_eq(auth.role, CC_ROLE_AGENT);
        ck_assert_str_eq(auth.email, "");
        ck_assert_str_eq(auth.jti, "");
        free(tok);
        free(payload);
}
END_TEST

START_TEST(jwt_tampered_payload_rejected)
{
        char *tok = token_with(900, NULL);
        char *other = token_with(900, ",\"role\":\"ADMIN\"");
        /* The ADMIN payload under the SUPERVISOR token's signature. */
        char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
        char *odot1 = strchr(other, '.'), *odot2 = strchr(odot1 + 1, '.');
        char *forged = cc_xasprintf("%.*s%.*s%s", (int)(dot1 - tok + 1), tok,
                                    (int)(odot2 - odot1 - 1), odot1 + 1, dot2);
        ck_assert_int_eq(verify(forged), -EPERM);

        /* One flipped bit in the signature. */
        char *flipped = strdup(tok);
        char *sig = strrchr(flipped, '.') + 5;
        *sig = *sig == 'A' ? 'B' : 'A';
        ck_assert_int_eq(verify(flipped), -EPERM);
        ck_assert_int_eq(verify(tok), 0);
        free(tok);
        free(other);
        free(forged);
        free(flipped);
}
END_TEST

START_TEST(jwt_signature_from_other_key_rejected)
{
        EVP_PKEY *other = gen_key("EC", "P-256");
        char *payload = payload_with(900, NULL);
        char *tok = cc_test_sign_es256(other, es256_header, payload);
        ck_assert_int_eq(verify(tok), -EPERM);
        free(tok);
        free(payload);
        EVP_PKEY_free(other);
}
END_TEST

START_TEST(jwt_alg_none_rejected)
{
        char *payload = payload_with(900, NULL);
        char h[256], p[2048];
        b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", strlen("{\"alg\":\"none\",\"typ\":\"JWT\"}"), h);
        b64(payload, strlen(payload), p);
        char *tok = cc_xasprintf("%s.%s.", h, p);
        ck_assert_int_eq(verify(tok), -EPERM);
        free(tok);

        /* A genuine ES256 signature does not rescue a header that names another algorithm, nor
         * one without alg at all, nor a typ other than JWT. */
        const char *headers[] = {"{\"alg\":\"none\"}",
                                 "{\"typ\":\"JWT\"}",
                                 "{\"alg\":\"es256\"}",
                                 "{\"alg\":\"ES384\"}",
                                 "{\"alg\":\"ES256\",\"typ\":\"JWE\"}",
                                 "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}",
                                 "{\"alg\":256}"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(headers); i++) {
                tok = cc_test_sign_es256(key, headers[i], payload);
                ck_assert_msg(verify(tok) == -EPERM, "header %s accepted", headers[i]);
                free(tok);
        }
        free(payload);
}
END_TEST

START_TEST(jwt_hs256_with_public_key_as_secret_rejected)
{
        const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        char *payload = payload_with(900, NULL);
        char signing[4096];
        b64(header, strlen(header), signing);
        strcat(signing, ".");
        b64(payload, strlen(payload), signing + strlen(signing));
        unsigned char mac[32];
        unsigned int mac_len = sizeof(mac);
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pub_pem, (int)strlen(pub_pem),
                                   (unsigned char *)signing, strlen(signing), mac, &mac_len));
        strcat(signing, ".");
        b64(mac, mac_len, signing + strlen(signing));
        ck_assert_int_eq(verify(signing), -EPERM);

        const char *rs = "{\"alg\":\"RS256\"}";
        char *tok = cc_test_sign_es256(key, rs, payload);
        ck_assert_int_eq(verify(tok), -EPERM);
        free(tok);
        free(payload);
}
END_TEST

START_TEST(jwt_expired_and_not_yet_valid_rejected)
{
        char *tok = token_with(-(CC_JWT_LEEWAY_S + 60), NULL);
        ck_assert_int_eq(verify(tok), -ETIME);
        free(tok);

        /* Inside the documented leeway an expired token still passes. */
        tok = token_with(-(CC_JWT_LEEWAY_S / 3), NULL);
        ck_assert_int_eq(verify(tok), 0);
        free(tok);

        char extra[128];
        snprintf(extra, sizeof(extra), ",\"iat\":%ld", (long)time(NULL) + CC_JWT_LEEWAY_S + 120);
        tok = token_with(900, extra);
        ck_assert_int_eq(verify(tok), -ETIME);
        free(tok);

        snprintf(extra, sizeof(extra), ",\"nbf\":%ld", (long)time(NULL) + CC_JWT_LEEWAY_S + 120);
        tok = token_with(900, extra);
        ck_assert_int_eq(verify(tok), -ETIME);
        free(tok);
}
END_TEST

START_TEST(jwt_wrong_issuer_or_audience_rejected)
{
        char *tok = token_with(900, ",\"iss\":\"someone-else\"");
        ck_assert_int_eq(verify(tok), -EACCES);
        free(tok);
        tok = token_with(900, ",\"aud\":\"another-app\"");
        ck_assert_int_eq(verify(tok), -EACCES);
        free(tok);
        tok = token_with(900, ",\"aud\":[\"another-app\",\"third\"]");
        ck_assert_int_eq(verify(tok), -EACCES);
        free(tok);
        tok = token_with(900, ",\"aud\":[\"another-app\",\"" AUD "\"]");
        ck_assert_int_eq(verify(tok), 0);
        free(tok);
}
END_TEST

static char *token_without(const char *claim)
{
        long now = (long)time(NULL);
        const char *names[] = {"iss", "aud", "sub", "org", "role", "iat", "exp"};
        char values[7][64];
        snprintf(values[0], 64, "\"%s\"", ISS);
        snprintf(values[1], 64, "\"%s\"", AUD);
        snprintf(values[2], 64, "\"%s\"", USER);
        snprintf(values[3], 64, "\"%s\"", ORG);
        snprintf(values[4], 64, "\"ADMIN\"");
        snprintf(values[5], 64, "%ld", now);
        snprintf(values[6], 64, "%ld", now + 900);
        char payload[1024] = "{";
        for (size_t i = 0; i < CC_ARRAY_SIZE(names); i++) {
                if (strcmp(names[i], claim) == 0)
                        continue;
                size_t l = strlen(payload);
                snprintf(payload + l, sizeof(payload) - l, "%s\"%s\":%s", l > 1 ? "," : "",
                         names[i], values[i]);
        }
        strcat(payload, "}");
        return cc_test_sign_es256(key, es256_header, payload);
}

START_TEST(jwt_missing_or_bad_claims_rejected)
{
        const char *required[] = {"iss", "aud", "sub", "org", "role", "iat", "exp"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(required); i++) {
                char *tok = token_without(required[i]);
                ck_assert_msg(verify(tok) == -EACCES, "token without %s accepted", required[i]);
                free(tok);
        }
        char *tok = token_without("none");
        ck_assert_int_eq(verify(tok), 0);
        free(tok);

        const char *bad[] = {",\"sub\":\"not-a-uuid\"", ",\"org\":42", ",\"role\":\"ROOT\"",
                             ",\"role\":\"admin\""};
        for (size_t i = 0; i < CC_ARRAY_SIZE(bad); i++) {
                tok = token_with(900, bad[i]);
                ck_assert_msg(verify(tok) == -EACCES, "claims %s accepted", bad[i]);
                free(tok);
        }
        tok = token_with(900, ",\"exp\":\"tomorrow\"");
        ck_assert_int_eq(verify(tok), -EINVAL);
        free(tok);
}
END_TEST

START_TEST(jwt_claims_with_nul_rejected)
{
        /* Correctly signed, but each claim is only what we expect up to a NUL: read as a C string
         * it would pass as the real thing. */
        const char *extra[] = {
            ",\"role\":\"ADMIN\\u0000junk\"",
            ",\"iss\":\"" ISS "\\u0000evil\"",
            ",\"aud\":\"" AUD "\\u0000x\"",
            ",\"aud\":[\"other\",\"" AUD "\\u0000x\"]",
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(extra); i++) {
                char *tok = token_with(900, extra[i]);
                ck_assert_msg(verify(tok) == -EACCES, "claims %s accepted", extra[i]);
                free(tok);
        }
        /* The same claims without the tail are fine, so the signature was never the issue. */
        char *tok = token_with(900, ",\"role\":\"ADMIN\",\"aud\":[\"other\",\"" AUD "\"]");
        struct cc_auth auth;
        ck_assert_int_eq(cc_jwt_verify(ver, tok, &auth), 0);
        ck_assert_int_eq(auth.role, CC_ROLE_ADMIN);
        free(tok);
}
END_TEST

START_TEST(jwt_extreme_times_rejected)
{
        /* Times at the ends of int64 are not times we issue; adding or subtracting the leeway
         * would overflow (UBSan reports it in the sanitized run). */
        const char *extra[] = {
            ",\"exp\":9223372036854775807",
            ",\"iat\":-9223372036854775808",
            ",\"nbf\":-9223372036854775808",
            ",\"exp\":9223372036854775807,\"iat\":-9223372036854775808",
            ",\"exp\":1e300",
        };
        for (size_t i = 0; i < CC_ARRAY_SIZE(extra); i++) {
                char *tok = token_with(900, extra[i]);
                ck_assert_msg(verify(tok) == -EINVAL, "claims %s: %d", extra[i], verify(tok));
                free(tok);
        }
        /* A far but representable expiry is still a valid token. */
        char *tok = token_with(900, ",\"exp\":4102444800");
        ck_assert_int_eq(verify(tok), 0);
        free(tok);
}
END_TEST

START_TEST(jwt_refresh_token_type_rejected)
{
        char *tok = token_with(900, ",\"type\":\"refresh\"");
        ck_assert_int_eq(verify(tok), -EACCES);
        free(tok);
        tok = token_with(900, ",\"type\":null");
        ck_assert_int_eq(verify(tok), -EACCES);
        free(tok);
}
END_TEST

START_TEST(jwt_malformed_tokens_rejected)
{
        char *tok = token_with(900, NULL);
        char *dot2 = strrchr(tok, '.');
        const char *garbage[] = {"", "abc", "a.b", "a.b.c.d", "..", "!!!.???.***", "a.b.c"};
        for (size_t i = 0; i < CC_ARRAY_SIZE(garbage); i++)
                ck_assert_msg(verify(garbage[i]) == -EINVAL, "'%s' not -EINVAL", garbage[i]);
        ck_assert_int_eq(cc_jwt_verify(ver, NULL, &(struct cc_auth){0}), -EINVAL);

        /* Two parts of a real token. */
        char *two = strndup(tok, (size_t)(dot2 - tok));
        ck_assert_int_eq(verify(two), -EINVAL);
        /* Four parts. */
        char *four = cc_xasprintf("%s.AAAA", tok);
        ck_assert_int_eq(verify(four), -EINVAL);
        /* Padding is not base64url as JWS uses it. */
        char *padded =
            cc_xasprintf("%.*s=%s", (int)(strchr(tok, '.') - tok), tok, strchr(tok, '.'));
        ck_assert_int_eq(verify(padded), -EINVAL);

        /* Oversized: a huge but otherwise well-formed token never reaches the parser. */
        size_t big = CC_JWT_MAX_TOKEN_LEN + 100;
        char *huge_payload = malloc(big + 64);
        strcpy(huge_payload, "{\"pad\":\"");
        memset(huge_payload + 8, 'x', big);
        strcpy(huge_payload + 8 + big, "\"}");
        char *huge = cc_test_sign_es256(key, es256_header, huge_payload);
        ck_assert_int_eq(verify(huge), -EINVAL);

        /* A header that is base64url but not JSON. */
        char h[64];
        b64("not json", 8, h);
        char *notjson = cc_xasprintf("%s%s", h, strchr(tok, '.'));
        ck_assert_int_eq(verify(notjson), -EINVAL);

        free(tok);
        free(two);
        free(four);
        free(padded);
        free(huge_payload);
        free(huge);
        free(notjson);
}
END_TEST

START_TEST(jwt_cache_serves_repeat_verify)
{
        char *tok = token_with(900, NULL);
        struct cc_auth a1, a2;
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 0);
        ck_assert_int_eq(cc_jwt_verify(ver, tok, &a1), 0);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 0);
        ck_assert_int_eq(cc_jwt_verify(ver, tok, &a2), 0);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 1);
        ck_assert_mem_eq(&a1, &a2, sizeof(a1));

        /* Failures are never cached. */
        char *bad = token_with(900, ",\"aud\":\"x\"");
        ck_assert_int_eq(verify(bad), -EACCES);
        ck_assert_int_eq(verify(bad), -EACCES);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 1);

        /* Without a cache nothing is counted. */
        struct cc_jwt_verifier *nocache = cc_jwt_verifier_new(pub_pem, ISS, AUD, 0);
        ck_assert_int_eq(cc_jwt_verify(nocache, tok, &a1), 0);
        ck_assert_int_eq(cc_jwt_verify(nocache, tok, &a1), 0);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(nocache), 0);
        cc_jwt_verifier_free(nocache);
        free(tok);
        free(bad);
}
END_TEST

START_TEST(jwt_cache_compares_whole_token)
{
        char *tok = token_with(900, NULL);
        char *other = token_with(900, ",\"role\":\"ADMIN\"");
        ck_assert_int_eq(verify(tok), 0);
        /* Same signature text (same cache key), different payload: must not be a hit. */
        char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
        char *odot1 = strchr(other, '.'), *odot2 = strchr(odot1 + 1, '.');
        char *forged = cc_xasprintf("%.*s%.*s%s", (int)(dot1 - tok + 1), tok,
                                    (int)(odot2 - odot1 - 1), odot1 + 1, dot2);
        ck_assert_int_eq(verify(forged), -EPERM);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 0);
        free(tok);
        free(other);
        free(forged);
}
END_TEST

static int64_t fake_now;
static int64_t fake_clock(void *userdata)
{
        (void)userdata;
        return fake_now;
}

START_TEST(jwt_cached_token_expires)
{
        char *tok = token_with(60, NULL);
        fake_now = (int64_t)time(NULL);
        cc_jwt_verifier_set_clock(ver, fake_clock, NULL);
        ck_assert_int_eq(verify(tok), 0);
        ck_assert_int_eq(verify(tok), 0);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 1);

        fake_now += 60 + CC_JWT_LEEWAY_S + 1;
        ck_assert_int_eq(verify(tok), -ETIME);
        ck_assert_int_eq(verify(tok), -ETIME);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 1);

        cc_jwt_verifier_set_clock(ver, NULL, NULL);
        ck_assert_int_eq(verify(tok), 0);
        free(tok);
}
END_TEST

START_TEST(jwt_cache_is_bounded_and_correct)
{
        /* A 4-entry cache fed 40 distinct tokens keeps answering each of them correctly. */
        struct cc_jwt_verifier *small = cc_jwt_verifier_new(pub_pem, ISS, AUD, 4);
        char *toks[40];
        for (size_t i = 0; i < CC_ARRAY_SIZE(toks); i++) {
                char extra[64];
                snprintf(extra, sizeof(extra), ",\"jti\":\"t%zu\"", i);
                toks[i] = token_with(900, extra);
        }
        for (int round = 0; round < 3; round++) {
                for (size_t i = 0; i < CC_ARRAY_SIZE(toks); i++) {
                        struct cc_auth a;
                        char want[16];
                        snprintf(want, sizeof(want), "t%zu", i);
                        ck_assert_int_eq(cc_jwt_verify(small, toks[i], &a), 0);
                        ck_assert_str_eq(a.jti, want);
                }
        }
        /* The most recent token is still cached. */
        uint64_t hits = cc_jwt_verifier_cache_hits(small);
        struct cc_auth a;
        ck_assert_int_eq(cc_jwt_verify(small, toks[39], &a), 0);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(small), hits + 1);
        for (size_t i = 0; i < CC_ARRAY_SIZE(toks); i++)
                free(toks[i]);
        cc_jwt_verifier_free(small);
}
END_TEST

struct worker {
        char **toks;
        size_t ntoks;
        int failures;
};

static void *verify_worker(void *arg)
{
        struct worker *w = arg;
        for (int i = 0; i < 400; i++) {
                size_t k = (size_t)i % w->ntoks;
                struct cc_auth a;
                char want[16];
                snprintf(want, sizeof(want), "t%zu", k);
                if (cc_jwt_verify(ver, w->toks[k], &a) != 0 || strcmp(a.jti, want) != 0)
                        w->failures++;
        }
        return NULL;
}

START_TEST(jwt_concurrent_verify)
{
        cc_jwt_verifier_free(ver);
        ver = cc_jwt_verifier_new(pub_pem, ISS, AUD, 8);
        char *toks[12];
        for (size_t i = 0; i < CC_ARRAY_SIZE(toks); i++) {
                char extra[64];
                snprintf(extra, sizeof(extra), ",\"jti\":\"t%zu\"", i);
                toks[i] = token_with(900, extra);
        }
        pthread_t th[4];
        struct worker w[4];
        for (int i = 0; i < 4; i++) {
                w[i] = (struct worker){.toks = toks, .ntoks = CC_ARRAY_SIZE(toks)};
                pthread_create(&th[i], NULL, verify_worker, &w[i]);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                ck_assert_int_eq(w[i].failures, 0);
        }
        ck_assert_uint_gt(cc_jwt_verifier_cache_hits(ver), 0);
        for (size_t i = 0; i < CC_ARRAY_SIZE(toks); i++)
                free(toks[i]);
}
END_TEST

START_TEST(jwt_cached_verify_is_fast)
{
        char *tok = token_with(900, NULL);
        ck_assert_int_eq(verify(tok), 0);
        int64_t t0 = cc_monotonic_us();
        for (int i = 0; i < 10000; i++)
                ck_assert_int_eq(verify(tok), 0);
        int64_t cached = cc_monotonic_us() - t0;

        struct cc_jwt_verifier *nocache = cc_jwt_verifier_new(pub_pem, ISS, AUD, 0);
        struct cc_auth a;
        t0 = cc_monotonic_us();
        for (int i = 0; i < 200; i++)
                ck_assert_int_eq(cc_jwt_verify(nocache, tok, &a), 0);
        int64_t uncached = cc_monotonic_us() - t0;
        printf("jwt: cached verify %.2f us, uncached %.1f us\n", (double)cached / 10000,
               (double)uncached / 200);
        ck_assert_uint_eq(cc_jwt_verifier_cache_hits(ver), 10000);
        cc_jwt_verifier_free(nocache);
        free(tok);
}
END_TEST

START_TEST(jwt_non_p256_keys_refused)
{
        EVP_PKEY *rsa = gen_key("RSA", NULL);
        EVP_PKEY *p384 = gen_key("EC", "P-384");
        char *rsa_pem = cc_test_public_pem(rsa), *p384_pem = cc_test_public_pem(p384);
        ck_assert_ptr_null(cc_jwt_verifier_new(rsa_pem, ISS, AUD, 16));
        ck_assert_ptr_null(cc_jwt_verifier_new(p384_pem, ISS, AUD, 16));
        ck_assert_ptr_null(cc_jwt_verifier_new("-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                               "-----END PUBLIC KEY-----\n",
                                               ISS, AUD, 16));
        ck_assert_ptr_null(cc_jwt_verifier_new("", ISS, AUD, 16));
        ck_assert_ptr_null(cc_jwt_verifier_new(pub_pem, NULL, AUD, 16));
        ck_assert_ptr_null(cc_jwt_verifier_new(pub_pem, ISS, "", 16));

        /* A private key is not what the services are given. */
        BIO *bio = BIO_new(BIO_s_mem());
        ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        char *priv = strndup(data, (size_t)n);
        BIO_free(bio);
        ck_assert_ptr_null(cc_jwt_verifier_new(priv, ISS, AUD, 16));

        free(priv);
        free(rsa_pem);
        free(p384_pem);
        EVP_PKEY_free(rsa);
        EVP_PKEY_free(p384);
}
END_TEST

START_TEST(jwt_verifier_from_file)
{
        char path[] = "/tmp/cc_jwt_test_XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, pub_pem, strlen(pub_pem)), (ssize_t)strlen(pub_pem));
        close(fd);
        struct cc_jwt_verifier *v = cc_jwt_verifier_from_file(path, ISS, AUD, 16);
        unlink(path);
        ck_assert_ptr_nonnull(v);
        char *tok = token_with(900, NULL);
        struct cc_auth a;
        ck_assert_int_eq(cc_jwt_verify(v, tok, &a), 0);
        free(tok);
        cc_jwt_verifier_free(v);
        ck_assert_ptr_null(cc_jwt_verifier_from_file(path, ISS, AUD, 16));
}
END_TEST

START_TEST(jwt_role_names)
{
        ck_assert_str_eq(cc_role_name(CC_ROLE_ADMIN), "ADMIN");
        ck_assert_str_eq(cc_role_name(CC_ROLE_SUPERVISOR), "SUPERVISOR");
        ck_assert_str_eq(cc_role_name(CC_ROLE_AGENT), "AGENT");
        ck_assert_str_eq(cc_role_name(CC_ROLE_NONE), "NONE");
        ck_assert_int_eq(cc_role_parse("ADMIN"), CC_ROLE_ADMIN);
        ck_assert_int_eq(cc_role_parse("SUPERVISOR"), CC_ROLE_SUPERVISOR);
        ck_assert_int_eq(cc_role_parse("AGENT"), CC_ROLE_AGENT);
        ck_assert_int_eq(cc_role_parse("agent"), CC_ROLE_NONE);
        ck_assert_int_eq(cc_role_parse(""), CC_ROLE_NONE);
        ck_assert_int_eq(cc_role_parse(NULL), CC_ROLE_NONE);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("jwt");
        TCase *tc = tcase_create("jwt");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, jwt_valid_token_accepted_with_claims);
        tcase_add_test(tc, jwt_tampered_payload_rejected);
        tcase_add_test(tc, jwt_signature_from_other_key_rejected);
        tcase_add_test(tc, jwt_alg_none_rejected);
        tcase_add_test(tc, jwt_hs256_with_public_key_as_secret_rejected);
        tcase_add_test(tc, jwt_expired_and_not_yet_valid_rejected);
        tcase_add_test(tc, jwt_wrong_issuer_or_audience_rejected);
        tcase_add_test(tc, jwt_missing_or_bad_claims_rejected);
        tcase_add_test(tc, jwt_refresh_token_type_rejected);
        tcase_add_test(tc, jwt_malformed_tokens_rejected);
        tcase_add_test(tc, jwt_cache_serves_repeat_verify);
        tcase_add_test(tc, jwt_cache_compares_whole_token);
        tcase_add_test(tc, jwt_cached_token_expires);
        tcase_add_test(tc, jwt_cache_is_bounded_and_correct);
        tcase_add_test(tc, jwt_concurrent_verify);
        tcase_add_test(tc, jwt_cached_verify_is_fast);
        tcase_add_test(tc, jwt_non_p256_keys_refused);
        tcase_add_test(tc, jwt_verifier_from_file);
        tcase_add_test(tc, jwt_role_names);
        tcase_add_test(tc, jwt_claims_with_nul_rejected);
        tcase_add_test(tc, jwt_extreme_times_rejected);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return cc_test_run(suite());
}
