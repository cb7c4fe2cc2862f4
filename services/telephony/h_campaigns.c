/* Skeleton: routes of /api/campaigns (being written). */
#include "telephony.h"

const struct cc_http_route tel_campaigns_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t tel_campaigns_nroutes = 0;
