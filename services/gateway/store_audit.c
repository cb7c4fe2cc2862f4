/* The auth audit log: who did what, when, from where. */
#include "cc/log.h"
#include "gateway_internal.h"

void gw_audit(struct cc_db_conn *conn, const char *event, const char *user_id, const char *org_id,
              const char *email, const char *client_addr, const char *detail)
{
        const char *p[] = {event, user_id, org_id, email, client_addr, detail};
        if (cc_db_exec(
                conn,
                "INSERT INTO auth_audit (event, user_id, org_id, email, client_addr, detail) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                6, p, NULL) < 0)
                cc_log_warn(NULL, "audit row %s not written: %s", event, cc_db_error(conn));
}

void gw_audit_pool(struct cc_db_pool *pool, const char *event, const char *user_id,
                   const char *org_id, const char *email, const char *client_addr,
                   const char *detail)
{
        struct cc_db_conn *conn = NULL;
        if (cc_db_acquire(pool, &conn) < 0) {
                cc_log_warn(NULL, "audit row %s not written: no database connection", event);
                return;
        }
        gw_audit(conn, event, user_id, org_id, email, client_addr, detail);
        cc_db_release(conn);
}
