/* What the front door needs from the identity half of the gateway. */
#pragma once

#include <stdbool.h>

#include "cc/service.h"

/* true when user_id names an ACTIVE user. Answers from a small in-memory cache (entries live
 * CC_ACTIVE_CACHE_MS; a deactivation through this replica drops the entry at once), so a
 * request costs a lookup, not a query. false also when the database cannot be asked. */
bool gateway_user_active(struct cc_service *svc, const char *user_id);
