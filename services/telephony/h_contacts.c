/* Skeleton: routes of /api/contacts (being written). */
#include "telephony.h"

const struct cc_http_route tel_contacts_routes[] = {{NULL, NULL, NULL, 0, 0}};
const size_t tel_contacts_nroutes = 0;
