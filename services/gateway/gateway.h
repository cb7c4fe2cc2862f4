/* The gateway service: identity (organizations, users, teams, tokens) and the front door that
 * forwards every other /api request to the service that owns it. */
#pragma once

#include "cc/service.h"

/* The service definition main.c runs and tests start in-process. */
const struct cc_service_def *gateway_service_def(void);
