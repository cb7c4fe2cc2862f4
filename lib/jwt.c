#include "cc/jwt.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* Raw ES256 signature: r || s, 32 bytes each (RFC 7518 §3.4), 86 base64url characters. */
#define SIG_RAW_LEN 64
#define SIG_B64_LEN 86
/* A JSON header or payload never needs more than this once decoded. */
#define PART_MAX (CC_JWT_MAX_TOKEN_LEN / 4 * 3 + 3)
/* Sets of a few entries keep a colliding pair of hot tokens from evicting each other. */
#define CACHE_WAYS 4
/* Lock stripes: enough that verifying threads rarely wait on each other. */
#define CACHE_LOCKS 64

struct cache_slot {
        uint64_t hash;
        char *token; /* NULL when the slot is empty */
        size_t token_len;
        struct cc_auth auth;
};

struct cache_lock {
        pthread_mutex_t mu;
        /* Stripes are written by different cores; keep each on its own cache line. */
        char pad[64 - sizeof(pthread_mutex_t) % 64];
};

struct cc_jwt_verifier {
        EVP_PKEY *pkey;
        EVP_MD *sha256;
        char *issuer;
        char *audience;

        size_t nsets;
        size_t ways;
        struct cache_slot *slots; /* nsets * ways */
        uint32_t *hands;          /* per set: next way to replace */
        struct cache_lock locks[CACHE_LOCKS];
        uint64_t seed;
        uint64_t hits;

        int64_t (*now_s)(void *userdata);
        void *now_userdata;
};

static int64_t wall_clock_s(void *userdata)
{
        (void)userdata;
        return cc_now_ms() / 1000;
}

static bool pkey_is_p256(EVP_PKEY *pkey)
{
        char group[64];
        size_t len = 0;
        if (!EVP_PKEY_is_a(pkey, "EC"))
                return false;
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &len))
                return false;
        return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

struct cc_jwt_verifier *cc_jwt_verifier_new(const char *pem, const char *issuer,
                                            const char *audience, size_t cache_size)
{
        struct cc_jwt_verifier *v = NULL;
        EVP_PKEY *pkey = NULL;
        BIO *bio = NULL;

        if (!pem || !issuer || !*issuer || !audience || !*audience)
                return NULL;
        bio = BIO_new_mem_buf(pem, -1);
        if (!bio)
                goto fail;
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (!pkey || !pkey_is_p256(pkey))
                goto fail;

        v = cc_xcalloc(1, sizeof(*v));
        v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (!v->sha256)
                goto fail;
        v->pkey = pkey;
        pkey = NULL;
        v->issuer = cc_xstrdup(issuer);
        v->audience = cc_xstrdup(audience);
        v->now_s = wall_clock_s;
        cc_random_bytes(&v->seed, sizeof(v->seed));
        if (cache_size > 0) {
                v->ways = cache_size < CACHE_WAYS ? cache_size : CACHE_WAYS;
                v->nsets = cache_size / v->ways;
                v->slots = cc_xcalloc(v->nsets * v->ways, sizeof(*v->slots));
                v->hands = cc_xcalloc(v->nsets, sizeof(*v->hands));
        }
        for (size_t i = 0; i < CACHE_LOCKS; i++)
                pthread_mutex_init(&v->locks[i].mu, NULL);
        BIO_free(bio);
        return v;

fail:
        if (v)
                EVP_MD_free(v->sha256);
        free(v);
        EVP_PKEY_free(pkey);
        BIO_free(bio);
        /* Leave no parse errors behind for an unrelated caller's ERR_get_error(). */
        ERR_clear_error();
        return NULL;
}

struct cc_jwt_verifier *cc_jwt_verifier_from_file(const char *path, const char *issuer,
                                                  const char *audience, size_t cache_size)
{
        char buf[16384];
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        size_t n = fread(buf, 1, sizeof(buf), f);
        bool too_big = n == sizeof(buf);
        fclose(f);
        if (too_big)
                return NULL;
        buf[n] = '\0';
        return cc_jwt_verifier_new(buf, issuer, audience, cache_size);
}

void cc_jwt_verifier_free(struct cc_jwt_verifier *v)
{
        if (!v)
                return;
        for (size_t i = 0; i < v->nsets * v->ways; i++)
                free(v->slots[i].token);
        for (size_t i = 0; i < CACHE_LOCKS; i++)
                pthread_mutex_destroy(&v->locks[i].mu);
        free(v->slots);
        free(v->hands);
        free(v->issuer);
        free(v->audience);
        EVP_MD_free(v->sha256);
        EVP_PKEY_free(v->pkey);
        free(v);
}

void cc_jwt_verifier_set_clock(struct cc_jwt_verifier *v, int64_t (*now_s)(void *userdata),
                               void *userdata)
{
        v->now_s = now_s ? now_s : wall_clock_s;
        v->now_userdata = userdata;
}

uint64_t cc_jwt_verifier_cache_hits(const struct cc_jwt_verifier *v)
{
        return __atomic_load_n(&v->hits, __ATOMIC_RELAXED);
}

/* FNV-1a over the signature text, seeded per verifier. Only tokens whose signature verified get
 * cached, so nobody without the signing key can choose colliding keys. */
static uint64_t sig_hash(const struct cc_jwt_verifier *v, const char *sig, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL ^ v->seed;
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)sig[i];
                h *= 0x100000001b3ULL;
        }
        return h ^ (h >> 29);
}

static pthread_mutex_t *set_lock(struct cc_jwt_verifier *v, size_t set)
{
        return &v->locks[set % CACHE_LOCKS].mu;
}

/* 0 on a fresh hit, -ETIME when the cached token has expired since, -ENOENT on a miss. */
static int cache_lookup(struct cc_jwt_verifier *v, uint64_t hash, const char *token, size_t len,
                        int64_t now, struct cc_auth *ret_auth)
{
        size_t set = hash % v->nsets;
        struct cache_slot *slots = &v->slots[set * v->ways];
        char *stale = NULL;
        int r = -ENOENT;

        pthread_mutex_lock(set_lock(v, set));
        for (size_t i = 0; i < v->ways; i++) {
                struct cache_slot *s = &slots[i];
                if (!s->token || s->hash != hash || s->token_len != len ||
                    memcmp(s->token, token, len) != 0)
                        continue;
                if (s->auth.exp + CC_JWT_LEEWAY_S < now) {
                        stale = s->token;
                        s->token = NULL;
                        s->token_len = 0;
                        r = -ETIME;
                } else {
                        *ret_auth = s->auth;
                        r = 0;
                }
                break;
        }
        pthread_mutex_unlock(set_lock(v, set));
        free(stale);
        if (r == 0)
                __atomic_add_fetch(&v->hits, 1, __ATOMIC_RELAXED);
        return r;
}

static void cache_insert(struct cc_jwt_verifier *v, uint64_t hash, const char *token, size_t len,
                         int64_t now, const struct cc_auth *auth)
{
        size_t set = hash % v->nsets;
        struct cache_slot *slots = &v->slots[set * v->ways];
        char *copy = cc_xstrndup(token, len);
        char *old = NULL;
        struct cache_slot *victim = NULL;

        pthread_mutex_lock(set_lock(v, set));
        for (size_t i = 0; i < v->ways; i++) {
                struct cache_slot *s = &slots[i];
                if (s->token && s->hash == hash && s->token_len == len &&
                    memcmp(s->token, token, len) == 0) {
                        /* Another thread verified the same token meanwhile. */
                        pthread_mutex_unlock(set_lock(v, set));
                        free(copy);
                        return;
                }
                if (!victim && (!s->token || s->auth.exp + CC_JWT_LEEWAY_S < now))
                        victim = s;
        }
        if (!victim) {
                victim = &slots[v->hands[set] % v->ways];
                v->hands[set]++;
        }
        old = victim->token;
        victim->hash = hash;
        victim->token = copy;
        victim->token_len = len;
        victim->auth = *auth;
        pthread_mutex_unlock(set_lock(v, set));
        free(old);
}

/* Header and payload must be plain base64url: no padding, nothing outside the alphabet. */
static bool b64url_part_ok(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!isalnum(c) && c != '-' && c != '_')
                        return false;
        }
        return len > 0;
}

static int decode_json(const char *b64, size_t len, json_object **ret_obj)
{
        char buf[PART_MAX];
        int n = cc_base64url_decode(b64, len, buf, sizeof(buf));
        if (n <= 0)
                return -EINVAL;
        json_tokener *tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_object *obj = json_tokener_parse_ex(tok, buf, n);
        bool complete = json_tokener_get_error(tok) == json_tokener_success &&
                        json_tokener_get_parse_end(tok) == (size_t)n;
        json_tokener_free(tok);
        if (!obj || !complete || !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return -EINVAL;
        }
        *ret_obj = obj;
        return 0;
}

static const char *get_string(json_object *obj, const char *key)
{
        json_object *val;
        if (!json_object_object_get_ex(obj, key, &val) ||
            !json_object_is_type(val, json_type_string))
                return NULL;
        const char *s = json_object_get_string(val);
        /* "ADMIN\u0000x" must not read as "ADMIN": a claim with a NUL is not a string we know. */
        if (strlen(s) != (size_t)json_object_get_string_len(val))
                return NULL;
        return s;
}

/* 1 and *ret set when key holds a number, 0 when absent, -EINVAL when present but not a number. */
static int get_number(json_object *obj, const char *key, int64_t *ret)
{
        json_object *val;
        if (!json_object_object_get_ex(obj, key, &val))
                return 0;
        if (json_object_is_type(val, json_type_int)) {
                int64_t n = json_object_get_int64(val);
                /* Keeps exp + leeway and iat - leeway inside int64 (json-c saturates). */
                if (n <= -9200000000000000000 || n >= 9200000000000000000)
                        return -EINVAL;
                *ret = n;
                return 1;
        }
        if (json_object_is_type(val, json_type_double)) {
                double d = json_object_get_double(val);
                if (!(d > -9.2e18 && d < 9.2e18))
                        return -EINVAL;
                *ret = (int64_t)d;
                return 1;
        }
        return -EINVAL;
}

static int check_header(json_object *header)
{
        json_object *val;
        const char *alg = get_string(header, "alg");
        /* The algorithm is ours to choose, not the token's: anything but ES256 is refused before
         * the key is touched, which closes the alg=none and HS256-with-public-key holes. */
        if (!alg || strcmp(alg, "ES256") != 0)
                return -EPERM;
        if (json_object_object_get_ex(header, "typ", &val)) {
                const char *typ =
                    json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
                if (!typ || strcmp(typ, "JWT") != 0)
                        return -EPERM;
        }
        /* We understand no extensions, so a token that makes one critical must fail (RFC 7515
         * §4.1.11). */
        if (json_object_object_get_ex(header, "crit", &val))
                return -EPERM;
        return 0;
}

static int verify_signature(struct cc_jwt_verifier *v, const char *signed_part, size_t signed_len,
                            const char *sig_b64, size_t sig_len)
{
        unsigned char raw[SIG_RAW_LEN + 2], der[80];
        unsigned char *p = der;
        ECDSA_SIG *sig = NULL;
        BIGNUM *r = NULL, *s = NULL;
        EVP_MD_CTX *ctx = NULL;
        int ret = -EPERM;

        if (sig_len != SIG_B64_LEN || !b64url_part_ok(sig_b64, sig_len))
                return -EPERM;
        if (cc_base64url_decode(sig_b64, sig_len, raw, sizeof(raw)) != SIG_RAW_LEN)
                return -EPERM;
        r = BN_bin2bn(raw, SIG_RAW_LEN / 2, NULL);
        s = BN_bin2bn(raw + SIG_RAW_LEN / 2, SIG_RAW_LEN / 2, NULL);
        sig = ECDSA_SIG_new();
        if (!r || !s || !sig)
                goto out;
        if (!ECDSA_SIG_set0(sig, r, s))
                goto out;
        r = s = NULL;
        int der_len = i2d_ECDSA_SIG(sig, NULL);
        if (der_len <= 0 || (size_t)der_len > sizeof(der))
                goto out;
        der_len = i2d_ECDSA_SIG(sig, &p);
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                goto out;
        if (EVP_DigestVerifyInit(ctx, NULL, v->sha256, NULL, v->pkey) != 1)
                goto out;
        if (EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)signed_part,
                             signed_len) == 1)
                ret = 0;
out:
        EVP_MD_CTX_free(ctx);
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        ERR_clear_error();
        return ret;
}

static bool aud_matches(json_object *payload, const char *audience)
{
        json_object *aud;
        if (!json_object_object_get_ex(payload, "aud", &aud))
                return false;
        if (json_object_is_type(aud, json_type_string))
                return (size_t)json_object_get_string_len(aud) == strlen(audience) &&
                       strcmp(json_object_get_string(aud), audience) == 0;
        if (!json_object_is_type(aud, json_type_array))
                return false;
        size_t n = json_object_array_length(aud);
        for (size_t i = 0; i < n; i++) {
                json_object *item = json_object_array_get_idx(aud, i);
                if (json_object_is_type(item, json_type_string) &&
                    (size_t)json_object_get_string_len(item) == strlen(audience) &&
                    strcmp(json_object_get_string(item), audience) == 0)
                        return true;
        }
        return false;
}

static void copy_uuid(char out[CC_UUID_LEN + 1], const char *in)
{
        for (int i = 0; i < CC_UUID_LEN; i++)
                out[i] = (char)tolower((unsigned char)in[i]);
        out[CC_UUID_LEN] = '\0';
}

static int check_claims(struct cc_jwt_verifier *v, json_object *payload, int64_t now,
                        struct cc_auth *ret_auth)
{
        struct cc_auth auth = {0};
        int64_t exp = 0, iat = 0, nbf = 0;
        int r;

        const char *type = get_string(payload, "type");
        json_object *val;
        if (json_object_object_get_ex(payload, "type", &val) && (!type || strcmp(type, "access")))
                return -EACCES;

        const char *iss = get_string(payload, "iss");
        if (!iss || strcmp(iss, v->issuer) != 0)
                return -EACCES;
        if (!aud_matches(payload, v->audience))
                return -EACCES;

        const char *sub = get_string(payload, "sub");
        const char *org = get_string(payload, "org");
        const char *role = get_string(payload, "role");
        if (!cc_uuid_valid(sub) || !cc_uuid_valid(org))
                return -EACCES;
        auth.role = cc_role_parse(role);
        if (auth.role == CC_ROLE_NONE)
                return -EACCES;
        copy_uuid(auth.user_id, sub);
        copy_uuid(auth.org_id, org);

        r = get_number(payload, "exp", &exp);
        if (r <= 0)
                return r < 0 ? -EINVAL : -EACCES;
        r = get_number(payload, "iat", &iat);
        if (r <= 0)
                return r < 0 ? -EINVAL : -EACCES;
        r = get_number(payload, "nbf", &nbf);
        if (r < 0)
                return -EINVAL;
        if (exp + CC_JWT_LEEWAY_S < now)
                return -ETIME;
        if (iat - CC_JWT_LEEWAY_S > now || (r > 0 && nbf - CC_JWT_LEEWAY_S > now))
                return -ETIME;
        auth.exp = exp;

        /* Truncating an e-mail address or a token id would make it name something else. */
        const char *email = get_string(payload, "email");
        if (email) {
                if (strlen(email) >= sizeof(auth.email))
                        return -EINVAL;
                strcpy(auth.email, email);
        }
        const char *jti = get_string(payload, "jti");
        if (jti) {
                if (strlen(jti) >= sizeof(auth.jti))
                        return -EINVAL;
                strcpy(auth.jti, jti);
        }
        *ret_auth = auth;
        return 0;
}

int cc_jwt_verify(struct cc_jwt_verifier *v, const char *token, struct cc_auth *ret_auth)
{
        json_object *header = NULL, *payload = NULL;
        struct cc_auth auth;
        uint64_t hash = 0;
        int r;

        if (!token)
                return -EINVAL;
        size_t len = strnlen(token, CC_JWT_MAX_TOKEN_LEN + 1);
        if (len > CC_JWT_MAX_TOKEN_LEN)
                return -EINVAL;
        const char *dot1 = memchr(token, '.', len);
        const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
        if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
                return -EINVAL;
        const char *h64 = token, *p64 = dot1 + 1, *s64 = dot2 + 1;
        size_t hlen = (size_t)(dot1 - h64), plen = (size_t)(dot2 - p64);
        size_t slen = len - (size_t)(s64 - token);
        if (!b64url_part_ok(h64, hlen) || !b64url_part_ok(p64, plen))
                return -EINVAL;

        int64_t now = v->now_s(v->now_userdata);
        if (v->nsets > 0) {
                hash = sig_hash(v, s64, slen);
                r = cache_lookup(v, hash, token, len, now, ret_auth);
                if (r != -ENOENT)
                        return r;
        }

        r = decode_json(h64, hlen, &header);
        if (r < 0)
                goto out;
        r = check_header(header);
        if (r < 0)
                goto out;
        r = verify_signature(v, token, (size_t)(dot2 - token), s64, slen);
        if (r < 0)
                goto out;
        r = decode_json(p64, plen, &payload);
        if (r < 0)
                goto out;
        r = check_claims(v, payload, now, &auth);
        if (r < 0)
                goto out;
        if (v->nsets > 0)
                cache_insert(v, hash, token, len, now, &auth);
        *ret_auth = auth;
out:
        json_object_put(header);
        json_object_put(payload);
        return r;
}

const char *cc_role_name(enum cc_role role)
{
        switch (role) {
        case CC_ROLE_AGENT:
                return "AGENT";
        case CC_ROLE_SUPERVISOR:
                return "SUPERVISOR";
        case CC_ROLE_ADMIN:
                return "ADMIN";
        case CC_ROLE_NONE:
                break;
        }
        return "NONE";
}

enum cc_role cc_role_parse(const char *s)
{
        if (!s)
                return CC_ROLE_NONE;
        if (strcmp(s, "AGENT") == 0)
                return CC_ROLE_AGENT;
        if (strcmp(s, "SUPERVISOR") == 0)
                return CC_ROLE_SUPERVISOR;
        if (strcmp(s, "ADMIN") == 0)
                return CC_ROLE_ADMIN;
        return CC_ROLE_NONE;
}
