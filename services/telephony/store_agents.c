/* Skeleton (being written). */
#include <errno.h>

#include "telephony.h"

int tel_agent_set_status(struct cc_db_conn *conn, const char *org_id, const char *agent_id,
                         enum tel_agent_status to, int64_t at_ms, const char *traceparent)
{
        (void)conn, (void)org_id, (void)agent_id, (void)to, (void)at_ms, (void)traceparent;
        return -ENOENT;
}
