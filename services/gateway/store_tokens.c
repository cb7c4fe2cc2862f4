/* SQL for refresh tokens: one row per issued token, chained by family (one login). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway_internal.h"

int gw_store_refresh_insert(struct cc_db_conn *conn, const char *family_id, const char *user_id,
                            const char *org_id, const uint8_t hash[32], const char *client_addr,
                            int64_t ttl_s)
{
        char id[CC_UUID_LEN + 1], ttl[24];
        cc_uuid_v4(id);
        snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
        const char *p[] = {id, family_id, user_id, org_id, (const char *)hash, ttl, client_addr};
        const int lens[] = {0, 0, 0, 0, 32, 0, 0};
        const int fmts[] = {0, 0, 0, 0, 1, 0, 0};
        return cc_db_execv(
            conn,
            "INSERT INTO refresh_tokens (id, family_id, user_id, org_id, token_hash, "
            "expires_at, client_addr) VALUES ($1, $2, $3, $4, $5, "
            "now() + make_interval(secs => $6::bigint), $7)",
            7, p, lens, fmts, NULL);
}

int gw_store_refresh_take(struct cc_db_conn *conn, const uint8_t hash[32],
                          enum gw_refresh_state *ret_state, char ret_family[CC_UUID_LEN + 1],
                          char ret_user[CC_UUID_LEN + 1])
{
        const char *p[] = {(const char *)hash};
        const int lens[] = {32}, fmts[] = {1};
        PGresult *res = NULL;
        int r = cc_db_execv(conn,
                            "SELECT family_id, user_id, revoked_at IS NOT NULL, "
                            "rotated_at IS NOT NULL, expires_at <= now() FROM refresh_tokens "
                            "WHERE token_hash = $1 FOR UPDATE",
                            1, p, lens, fmts, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0) {
                *ret_state = GW_REFRESH_UNKNOWN;
                PQclear(res);
                return 0;
        }
        snprintf(ret_family, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
        snprintf(ret_user, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 1));
        /* A rotated token presented again is reuse even when the family is already revoked:
         * the caller audits it either way. */
        if (PQgetvalue(res, 0, 3)[0] == 't')
                *ret_state = GW_REFRESH_REUSED;
        else if (PQgetvalue(res, 0, 2)[0] == 't')
                *ret_state = GW_REFRESH_REVOKED;
        else if (PQgetvalue(res, 0, 4)[0] == 't')
                *ret_state = GW_REFRESH_EXPIRED;
        else
                *ret_state = GW_REFRESH_OK;
        PQclear(res);
        return 0;
}

int gw_store_refresh_rotate(struct cc_db_conn *conn, const uint8_t hash[32])
{
        const char *p[] = {(const char *)hash};
        const int lens[] = {32}, fmts[] = {1};
        return cc_db_execv(conn,
                           "UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1", 1,
                           p, lens, fmts, NULL);
}

int gw_store_refresh_revoke_family(struct cc_db_conn *conn, const char *family_id)
{
        const char *p[] = {family_id};
        return cc_db_exec(conn,
                          "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND "
                          "revoked_at IS NULL",
                          1, p, NULL);
}

int gw_store_refresh_family(struct cc_db_conn *conn, const uint8_t hash[32],
                            char ret_family[CC_UUID_LEN + 1])
{
        const char *p[] = {(const char *)hash};
        const int lens[] = {32}, fmts[] = {1};
        PGresult *res = NULL;
        int r = cc_db_execv(conn, "SELECT family_id FROM refresh_tokens WHERE token_hash = $1", 1,
                            p, lens, fmts, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                snprintf(ret_family, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
                r = 0;
        }
        PQclear(res);
        return r;
}

int gw_store_refresh_revoke_user(struct cc_db_conn *conn, const char *user_id)
{
        const char *p[] = {user_id};
        return cc_db_exec(conn,
                          "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND "
                          "revoked_at IS NULL",
                          1, p, NULL);
}
