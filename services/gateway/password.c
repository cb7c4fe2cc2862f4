/* argon2id password hashing with the configured cost. */
#include <argon2.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

char *gw_password_hash(const char *password)
{
        uint8_t salt[16];
        cc_random_bytes(salt, sizeof(salt));
        uint32_t t = (uint32_t)gw_cfg.argon2_t_cost, m = (uint32_t)gw_cfg.argon2_m_cost_kib,
                 p = (uint32_t)gw_cfg.argon2_parallelism;
        size_t len = argon2_encodedlen(t, m, p, sizeof(salt), 32, Argon2_id);
        char *out = cc_xmalloc(len);
        if (argon2id_hash_encoded(t, m, p, password, strlen(password), salt, sizeof(salt), 32, out,
                                  len) != ARGON2_OK) {
                free(out);
                return NULL;
        }
        return out;
}

bool gw_password_verify(const char *encoded, const char *password)
{
        /* argon2id_verify recomputes with the parameters in the encoded string and compares in
         * constant time. */
        return encoded && argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}
