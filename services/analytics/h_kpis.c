/* Skeleton (being written). */
#include "analytics.h"

const struct cc_http_route an_kpis_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t an_kpis_nroutes = 0;
