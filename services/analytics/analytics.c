/* Wiring of the analytics service: its migrations, its consumer of the other services' events
 * and its routes. */
#include <pthread.h>
#include <string.h>

#include "analytics.h"
#include "cc/log.h"

extern const struct cc_migration analytics_migrations[];
extern const size_t analytics_migrations_count;

struct an_config an_cfg;

static const struct cc_config_var analytics_config[] = {
    {"CC_ANALYTICS_MINUTE_RETENTION_DAYS", CC_CONFIG_INT, "35", 0, 36500,
     &an_cfg.minute_retention_days,
     "days minute rollups are kept (0: for ever); older windows are counted to the quarter "
     "hour"},
};

static void housekeeping(struct cc_service *svc, struct cc_db_conn *conn)
{
        long long n = an_drop_old_minutes(conn, cc_now_ms());
        if (n < 0)
                cc_log_warn(NULL, "housekeeping: minute rollups: %s", cc_db_error(conn));
        else if (n > 0)
                cc_log_info(NULL, "housekeeping: dropped %lld minute rollup rows", n);
}

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
            .config = analytics_config,
            .nconfig = CC_ARRAY_SIZE(analytics_config),
            .housekeeping = housekeeping,
        };
        pthread_once(&once, build_routes);
        def.migrations = analytics_migrations;
        def.nmigrations = analytics_migrations_count;
        def.routes = all_routes;
        def.nroutes = all_nroutes;
        return &def;
}
