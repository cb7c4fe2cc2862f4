/* Skeleton: routes of /api/queues (being written). */
#include "telephony.h"

const struct cc_http_route tel_queues_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t tel_queues_nroutes = 0;
