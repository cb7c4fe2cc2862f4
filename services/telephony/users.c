/* Skeleton (being written). */
#include "telephony.h"

int tel_users_apply(struct cc_db_conn *conn, const Cc__Events__V1__Envelope *env, void *userdata)
{
        (void)conn;
        (void)env;
        (void)userdata;
        return 0;
}
