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

/* Clock skew tolerated between the gateway that signs and the service that verifies: a token is
 * accepted until exp + CC_JWT_LEEWAY_S, and its iat/nbf may lie up to that far in the future. */
#define CC_JWT_LEEWAY_S 30
/* Longer tokens are refused as malformed before any decoding. */
#define CC_JWT_MAX_TOKEN_LEN 8192

/* pem: the public key (PEM, "-----BEGIN PUBLIC KEY-----"). NULL when the key is not a P-256
 * EC public key or issuer/audience is NULL or empty. cache_size: max cached tokens (0 disables
 * the cache). */
struct cc_jwt_verifier *cc_jwt_verifier_new(const char *pem, const char *issuer,
                                            const char *audience, size_t cache_size);
struct cc_jwt_verifier *cc_jwt_verifier_from_file(const char *path, const char *issuer,
                                                  const char *audience, size_t cache_size);
void cc_jwt_verifier_free(struct cc_jwt_verifier *v);
/* 0 and *ret_auth filled when valid; -EINVAL malformed, -EPERM bad signature or algorithm,
 * -ETIME expired (or not yet valid), -EACCES wrong iss/aud, missing claims or a "type" other
 * than "access". Token: at most CC_JWT_MAX_TOKEN_LEN bytes. aud may be a string or an array
 * holding the verifier's audience. */
int cc_jwt_verify(struct cc_jwt_verifier *v, const char *token,
                  struct cc_auth *ret_auth) CC_MUSTCHECK;

/* Number of cc_jwt_verify calls answered from the cache (for tests and metrics). */
uint64_t cc_jwt_verifier_cache_hits(const struct cc_jwt_verifier *v);
/* Replaces the wall clock (seconds since the epoch) used for exp/iat/nbf; NULL restores it.
 * Tests only; not thread-safe against concurrent cc_jwt_verify. */
void cc_jwt_verifier_set_clock(struct cc_jwt_verifier *v, int64_t (*now_s)(void *userdata),
                               void *userdata);

/* "ADMIN", "SUPERVISOR", "AGENT" ("NONE" for anything else); parse is exact and returns
 * CC_ROLE_NONE for NULL or an unknown name. */
const char *cc_role_name(enum cc_role role);
enum cc_role cc_role_parse(const char *s);
