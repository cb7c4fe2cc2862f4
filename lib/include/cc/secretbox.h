/* Secrets at rest (a customer's Twilio auth token, say): AES-256-GCM with a random 96-bit nonce
 * per secret and the owner's id as associated data, so a sealed value copied to another row or
 * another organization does not open. The key comes from configuration as 32 bytes in base64. */
#pragma once

#include "cc/util.h"

#define CC_SECRETBOX_KEY_LEN 32

struct cc_secretbox;

/* key_b64: standard base64 of exactly 32 bytes. NULL (and err) otherwise. */
struct cc_secretbox *cc_secretbox_new(const char *key_b64, char *err, size_t err_len);
void cc_secretbox_free(struct cc_secretbox *sb);
/* "v1:" + base64(nonce || ciphertext || tag): heap string, caller frees. */
char *cc_secretbox_seal(struct cc_secretbox *sb, const char *plaintext, const char *aad);
/* The plaintext (heap, caller frees) or NULL when the value was sealed with another key, with
 * other associated data, or was tampered with. */
char *cc_secretbox_open(struct cc_secretbox *sb, const char *sealed, const char *aad);
