/* Wiring of the analytics service: its migrations, its consumer of the other services' events
 * and its routes. */
#include <pthread.h>
#include <string.h>

#include "analytics.h"

extern const struct cc_migration analytics_migrations[];
extern const size_t analytics_migrations_count;

static struct cc_http_route *all_routes;
static size_t all_nroutes;

static void add_routes(const struct cc_http_route *r, size_t n)
{
        memcpy(all_routes + all_nroutes, r, n * sizeof(*r));
        all_nroutes += n;
}

static void build_routes(void)
{
        size_t n = an_analytics_nroutes + an_kpis_nroutes + an_dashboard_nroutes;
        all_routes = cc_xcalloc(n ? n : 1, sizeof(*all_routes));
        add_routes(an_analytics_routes, an_analytics_nroutes);
        add_routes(an_kpis_routes, an_kpis_nroutes);
        add_routes(an_dashboard_routes, an_dashboard_nroutes);
}

const struct cc_service_def *analytics_service_def(void)
{
        /* The tables are built once and live as long as the process; the counts live in other
         * translation units, so this happens at run time. */
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        static const char *const topics[] = {"cc.users.v1", "cc.calls.v1", "cc.agents.v1",
                                             "cc.campaigns.v1"};
        static struct cc_service_def def = {
            .name = "analytics",
            .default_port = 8084,
            .consume_topics = topics,
            .nconsume_topics = CC_ARRAY_SIZE(topics),
            .consume_handler = an_apply,
        };
        pthread_once(&once, build_routes);
        def.migrations = analytics_migrations;
        def.nmigrations = analytics_migrations_count;
        def.routes = all_routes;
        def.nroutes = all_nroutes;
        return &def;
}
