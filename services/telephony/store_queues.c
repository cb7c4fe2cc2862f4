/* Skeleton (being written). */
#include <errno.h>

#include "telephony.h"

int tel_queue_resolve(struct cc_db_conn *conn, const char *org_id, const char *ref, bool create,
                      struct tel_queue *ret)
{
        (void)conn, (void)org_id, (void)ref, (void)create, (void)ret;
        return -ENOENT;
}
