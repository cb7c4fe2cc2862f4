/* Skeleton (being written). */
#include <errno.h>

#include "telephony.h"

int tel_campaign_queue(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                       char ret_queue_id[CC_UUID_LEN + 1])
{
        (void)conn, (void)org_id, (void)campaign_id, (void)ret_queue_id;
        return -ENOENT;
}

int tel_campaign_call_progress(struct cc_db_conn *conn, const struct tel_call *call,
                               const char *contact_id, const char *traceparent)
{
        (void)conn, (void)call, (void)contact_id, (void)traceparent;
        return 0;
}
