/* Skeleton (being written). */
#include "analytics.h"

const struct cc_http_route an_dashboard_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t an_dashboard_nroutes = 0;
