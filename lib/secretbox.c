#include "cc/secretbox.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SB_PREFIX    "v1:"
#define SB_NONCE_LEN 12
#define SB_TAG_LEN   16

struct cc_secretbox {
        unsigned char key[CC_SECRETBOX_KEY_LEN];
};

struct cc_secretbox *cc_secretbox_new(const char *key_b64, char *err, size_t err_len)
{
        if (!key_b64 || !*key_b64) {
                cc_set_error(err, err_len, "secretbox key is empty");
                return NULL;
        }
        /* Room for more than 32 bytes, so a longer key is told apart from garbage. */
        unsigned char key[CC_SECRETBOX_KEY_LEN * 2];
        int n = cc_base64_decode(key_b64, strlen(key_b64), key, sizeof(key));
        if (n < 0) {
                cc_set_error(err, err_len, "secretbox key is not base64 of %d bytes",
                             CC_SECRETBOX_KEY_LEN);
                OPENSSL_cleanse(key, sizeof(key));
                return NULL;
        }
        if (n != CC_SECRETBOX_KEY_LEN) {
                cc_set_error(err, err_len, "secretbox key is %d bytes, want %d", n,
                             CC_SECRETBOX_KEY_LEN);
                OPENSSL_cleanse(key, sizeof(key));
                return NULL;
        }
        struct cc_secretbox *sb = cc_xcalloc(1, sizeof(*sb));
        memcpy(sb->key, key, CC_SECRETBOX_KEY_LEN);
        OPENSSL_cleanse(key, sizeof(key));
        return sb;
}

void cc_secretbox_free(struct cc_secretbox *sb)
{
        if (!sb)
                return;
        OPENSSL_cleanse(sb->key, sizeof(sb->key));
        free(sb);
}

char *cc_secretbox_seal(struct cc_secretbox *sb, const char *plaintext, const char *aad)
{
        if (!sb || !plaintext)
                return NULL;
        size_t pt_len = strlen(plaintext);
        size_t aad_len = aad ? strlen(aad) : 0;
        if (pt_len > INT_MAX / 2 || aad_len > INT_MAX)
                return NULL;

        size_t raw_len = SB_NONCE_LEN + pt_len + SB_TAG_LEN;
        unsigned char *raw = cc_xmalloc(raw_len);
        unsigned char *nonce = raw, *ct = raw + SB_NONCE_LEN, *tag = ct + pt_len;
        /* A random nonce per secret: with 96 bits, collisions are out of reach for the number
         * of secrets a key will ever seal. */
        cc_random_bytes(nonce, SB_NONCE_LEN);

        char *out = NULL;
        int len = 0;
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                goto out;
        if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, sb->key, nonce) != 1)
                goto out;
        if (aad_len &&
            EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)aad_len) != 1)
                goto out;
        if (EVP_EncryptUpdate(ctx, ct, &len, (const unsigned char *)plaintext, (int)pt_len) != 1)
                goto out;
        if (EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1)
                goto out;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SB_TAG_LEN, tag) != 1)
                goto out;

        out = cc_xmalloc(strlen(SB_PREFIX) + 4 * ((raw_len + 2) / 3) + 1);
        memcpy(out, SB_PREFIX, strlen(SB_PREFIX));
        cc_base64_encode(raw, raw_len, out + strlen(SB_PREFIX));
out:
        EVP_CIPHER_CTX_free(ctx);
        free(raw);
        return out;
}

char *cc_secretbox_open(struct cc_secretbox *sb, const char *sealed, const char *aad)
{
        if (!sb || !sealed || strncmp(sealed, SB_PREFIX, strlen(SB_PREFIX)) != 0)
                return NULL;
        const char *b64 = sealed + strlen(SB_PREFIX);
        size_t b64_len = strlen(b64);
        size_t aad_len = aad ? strlen(aad) : 0;
        if (b64_len > INT_MAX / 2 || aad_len > INT_MAX)
                return NULL;

        size_t cap = b64_len / 4 * 3 + 3;
        unsigned char *raw = cc_xmalloc(cap);
        char *pt = NULL;
        bool ok = false;
        EVP_CIPHER_CTX *ctx = NULL;
        int raw_len = cc_base64_decode(b64, b64_len, raw, cap);
        if (raw_len < SB_NONCE_LEN + SB_TAG_LEN)
                goto out;

        int ct_len = raw_len - SB_NONCE_LEN - SB_TAG_LEN;
        unsigned char *nonce = raw, *ct = raw + SB_NONCE_LEN, *tag = ct + ct_len;
        pt = cc_xmalloc((size_t)ct_len + 1);
        int len = 0, total = 0;
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                goto out;
        if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, sb->key, nonce) != 1)
                goto out;
        if (aad_len &&
            EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)aad_len) != 1)
                goto out;
        if (EVP_DecryptUpdate(ctx, (unsigned char *)pt, &len, ct, ct_len) != 1)
                goto out;
        total = len;
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SB_TAG_LEN, tag) != 1)
                goto out;
        /* The tag check: a wrong key, other associated data or any changed byte fail here. */
        if (EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + total, &len) != 1)
                goto out;
        total += len;
        pt[total] = '\0';
        /* Seal takes C strings; a NUL inside could only come from a forger holding the key. */
        ok = memchr(pt, '\0', (size_t)total) == NULL;
out:
        EVP_CIPHER_CTX_free(ctx);
        free(raw);
        if (!ok && pt) {
                OPENSSL_cleanse(pt, (size_t)ct_len + 1);
                free(pt);
                pt = NULL;
        }
        return pt;
}
