/* cc-gateway: identity, tokens, users, teams and the front door for every /api request.
 * main.c only wires the service together; the shared skeleton lives in lib/service.c. */
#include "cc/service.h"

extern const struct cc_migration gateway_migrations[];
extern const size_t gateway_migrations_count;

int main(void)
{
        const struct cc_service_def def = {
            .name = "gateway",
            .default_port = 8080,
            .migrations = gateway_migrations,
            .nmigrations = gateway_migrations_count,
        };
        return cc_service_main(&def);
}
