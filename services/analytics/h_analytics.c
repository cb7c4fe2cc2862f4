/* Skeleton (being written). */
#include "analytics.h"

const struct cc_http_route an_analytics_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t an_analytics_nroutes = 0;
