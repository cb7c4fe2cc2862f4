/* Skeleton (being written). */
#include "telephony.h"

int tel_dialer_tick(struct cc_db_pool *pool, struct tel *tel)
{
        (void)pool, (void)tel;
        return 0;
}
