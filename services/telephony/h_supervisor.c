/* Skeleton: routes of /api/supervisor (being written). */
#include "telephony.h"

const struct cc_http_route tel_supervisor_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t tel_supervisor_nroutes = 0;
