/* Skeleton (being written). */
#include "analytics.h"

int an_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env, void *userdata)
{
        (void)conn, (void)env, (void)userdata;
        return 0;
}
