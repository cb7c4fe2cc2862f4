/* Access tokens (ES256 JWTs signed here with OpenSSL), the JWKS document that publishes the
 * public key, and opaque refresh tokens of which only a SHA-256 is ever stored. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

static int load_key(struct gw *gw, char *err, size_t err_len)
{
        FILE *f = fopen(gw_cfg.private_key_file, "r");
        if (!f) {
                cc_set_error(err, err_len, "CC_JWT_PRIVATE_KEY_FILE: cannot open %s",
                             gw_cfg.private_key_file);
                return -ENOENT;
        }
        gw->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        char group[32] = "";
        if (!gw->key || EVP_PKEY_get_base_id(gw->key) != EVP_PKEY_EC ||
            !EVP_PKEY_get_utf8_string_param(gw->key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof(group), NULL) ||
            strcmp(group, "prime256v1") != 0) {
                cc_set_error(err, err_len, "CC_JWT_PRIVATE_KEY_FILE: %s is not a P-256 private key",
                             gw_cfg.private_key_file);
                return -EINVAL;
        }
        return 0;
}

static bool coord_b64(EVP_PKEY *key, const char *param, char out[64])
{
        BIGNUM *bn = NULL;
        uint8_t raw[32];
        if (!EVP_PKEY_get_bn_param(key, param, &bn) || BN_bn2binpad(bn, raw, 32) != 32) {
                BN_free(bn);
                return false;
        }
        BN_free(bn);
        cc_base64url_encode(raw, 32, out);
        return true;
}

int gw_tokens_init(struct gw *gw, char *err, size_t err_len)
{
        int r = load_key(gw, err, err_len);
        if (r < 0)
                return r;
        char x[64], y[64];
        if (!coord_b64(gw->key, OSSL_PKEY_PARAM_EC_PUB_X, x) ||
            !coord_b64(gw->key, OSSL_PKEY_PARAM_EC_PUB_Y, y)) {
                cc_set_error(err, err_len, "CC_JWT_PRIVATE_KEY_FILE: no public point");
                return -EINVAL;
        }
        /* kid: the RFC 7638 thumbprint, so a rotated key gets a new id by itself. */
        char *canon =
            cc_xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
        uint8_t digest[32];
        SHA256((const uint8_t *)canon, strlen(canon), digest);
        free(canon);
        cc_base64url_encode(digest, 32, gw->kid);
        gw->jwks_json = cc_xasprintf("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
                                     "\"y\":\"%s\",\"kid\":\"%s\",\"alg\":\"ES256\","
                                     "\"use\":\"sig\"}]}",
                                     x, y, gw->kid);

        return 0;
}

void gw_tokens_fini(struct gw *gw)
{
        EVP_PKEY_free(gw->key);
        gw->key = NULL;
        free(gw->jwks_json);
        gw->jwks_json = NULL;
}

/* ES256 wants r||s, 32 bytes each; OpenSSL signs in DER. */
static bool sign_es256(EVP_PKEY *key, const char *input, uint8_t out[64])
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        uint8_t der[80];
        size_t der_len = sizeof(der);
        bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                  EVP_DigestSign(md, der, &der_len, (const uint8_t *)input, strlen(input)) == 1;
        EVP_MD_CTX_free(md);
        if (!ok)
                return false;
        const uint8_t *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        if (!sig)
                return false;
        ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32;
        ECDSA_SIG_free(sig);
        return ok;
}

static char *b64(const char *s)
{
        size_t n = strlen(s);
        char *out = cc_xmalloc(4 * ((n + 2) / 3) + 1);
        cc_base64url_encode(s, n, out);
        return out;
}

char *gw_access_token(struct gw *gw, const char *user_id, const char *org_id, const char *role,
                      const char *email, const char *family_id)
{
        char jti[CC_UUID_LEN + 1];
        cc_uuid_v4(jti);
        int64_t now = cc_now_ms() / 1000;
        char *header = cc_xasprintf("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", gw->kid);
        json_object *claims = json_object_new_object();
        json_object_object_add(claims, "sub", json_object_new_string(user_id));
        json_object_object_add(claims, "org", json_object_new_string(org_id));
        json_object_object_add(claims, "role", json_object_new_string(role));
        json_object_object_add(claims, "email", json_object_new_string(email));
        json_object_object_add(claims, "type", json_object_new_string("access"));
        json_object_object_add(claims, "sid", json_object_new_string(family_id));
        json_object_object_add(claims, "jti", json_object_new_string(jti));
        json_object_object_add(claims, "iat", json_object_new_int64(now));
        json_object_object_add(claims, "exp", json_object_new_int64(now + gw_cfg.access_ttl_s));
        json_object_object_add(claims, "iss", json_object_new_string(gw->issuer));
        json_object_object_add(claims, "aud", json_object_new_string(gw->audience));
        char *h64 = b64(header);
        char *p64 = b64(json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(claims);
        free(header);
        char *input = cc_xasprintf("%s.%s", h64, p64);
        free(h64);
        free(p64);
        uint8_t sig[64];
        if (!sign_es256(gw->key, input, sig)) {
                free(input);
                return NULL;
        }
        char s64[90];
        cc_base64url_encode(sig, sizeof(sig), s64);
        char *token = cc_xasprintf("%s.%s", input, s64);
        free(input);
        return token;
}

void gw_refresh_new(char token[GW_REFRESH_LEN + 1], uint8_t hash[32])
{
        uint8_t raw[32];
        cc_random_bytes(raw, sizeof(raw));
        cc_base64url_encode(raw, sizeof(raw), token);
        gw_refresh_hash(token, hash);
}

void gw_refresh_hash(const char *token, uint8_t hash[32])
{
        SHA256((const uint8_t *)token, strlen(token), hash);
}

void gw_token_sid(const char *token, char out[CC_UUID_LEN + 1])
{
        out[0] = '\0';
        const char *dot1 = strchr(token, '.');
        const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        if (!dot2 || dot2 - dot1 - 1 > 4096)
                return;
        char buf[4096];
        int n = cc_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf, sizeof(buf) - 1);
        if (n < 0)
                return;
        buf[n] = '\0';
        json_object *claims = json_tokener_parse(buf), *sid = NULL;
        if (claims && json_object_object_get_ex(claims, "sid", &sid) &&
            cc_uuid_valid(json_object_get_string(sid)))
                snprintf(out, CC_UUID_LEN + 1, "%s", json_object_get_string(sid));
        json_object_put(claims);
}
