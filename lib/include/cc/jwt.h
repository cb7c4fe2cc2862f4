/* Access-token verification: ES256 JWTs checked with the gateway's public key. The algorithm is
 * pinned (alg "none", HS256 and anything else are refused before any cryptography), and exp,
 * iss and aud are checked. Verified tokens are cached by signature until their exp, so a
 * repeated token costs a lookup instead of an ECDSA verify. Thread-safe. */
#pragma once

#include "cc/util.h"

enum cc_role { CC_ROLE_NONE = 0, CC_ROLE_AGENT, CC_ROLE_SUPERVISOR, CC_ROLE_ADMIN };

struct cc_auth {
        char user_id[CC_UUID_LEN + 1];
        char org_id[CC_UUID_LEN + 1];
        enum cc_role role;
        char email[256];
        char jti[64];
        int64_t exp; /* seconds since the epoch */
};

struct cc_jwt_verifier;

/* pem: the public key (PEM, "-----BEGIN PUBLIC KEY-----"). NULL when the key is not a P-256
 * EC public key. cache_size: max cached tokens (0 disables the cache). */
struct cc_jwt_verifier *cc_jwt_verifier_new(const char *pem, const char *issuer,
                                            const char *audience, size_t cache_size);
struct cc_jwt_verifier *cc_jwt_verifier_from_file(const char *path, const char *issuer,
                                                  const char *audience, size_t cache_size);
void cc_jwt_verifier_free(struct cc_jwt_verifier *v);
/* 0 and *ret_auth filled when valid; -EINVAL malformed, -EPERM bad signature or algorithm,
 * -ETIME expired (or not yet valid), -EACCES wrong iss/aud or missing claims. */
int cc_jwt_verify(struct cc_jwt_verifier *v, const char *token, struct cc_auth *ret_auth)
        CC_MUSTCHECK;

const char *cc_role_name(enum cc_role role);
enum cc_role cc_role_parse(const char *s);
