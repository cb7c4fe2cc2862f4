/* cc-gateway: identity, tokens, users, teams and the front door for every /api request.
 * main.c only runs the service; its wiring is gateway.c. */
#include "gateway.h"

int main(void)
{
        return cc_service_main(gateway_service_def());
}
