/* Skeleton (being written). */
#include "telephony.h"

void tel_worker_kick(struct tel *tel)
{
        (void)tel;
}
