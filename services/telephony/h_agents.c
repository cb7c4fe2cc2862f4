/* Skeleton: routes of /api/agents (being written). */
#include "telephony.h"

const struct cc_http_route tel_agents_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t tel_agents_nroutes = 0;
