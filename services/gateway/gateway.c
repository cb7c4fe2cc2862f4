/* Wiring of the gateway: its migrations, configuration and routes. */
#include "gateway.h"

extern const struct cc_migration gateway_migrations[];
extern const size_t gateway_migrations_count;

const struct cc_service_def *gateway_service_def(void)
{
        /* Filled at run time: the migration count lives in another translation unit. */
        static struct cc_service_def def = {
                .name = "gateway",
                .default_port = 8080,
        };
        def.migrations = gateway_migrations;
        def.nmigrations = gateway_migrations_count;
        return &def;
}
