/* cc-analytics: contact-center KPIs and dashboards from the event stream.
 * main.c only wires the service together; the shared skeleton lives in lib/service.c. */
#include "cc/service.h"

extern const struct cc_migration analytics_migrations[];
extern const size_t analytics_migrations_count;

int main(void)
{
        const struct cc_service_def def = {
            .name = "analytics",
            .default_port = 8084,
            .migrations = analytics_migrations,
            .nmigrations = analytics_migrations_count,
        };
        return cc_service_main(&def);
}
