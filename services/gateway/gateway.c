/* Wiring of the gateway: its migrations, configuration and routes. */
#include <malloc.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "frontdoor.h"
#include "gateway_internal.h"
#include "cc/log.h"

extern const struct cc_migration gateway_migrations[];
extern const size_t gateway_migrations_count;

struct gw_config gw_cfg;

/* OWASP's argon2id floor (19 MiB, t=2, p=1) costs ~25 ms a login on this 2-core box; more
 * memory would make every login burst a memory spike. */
static const struct cc_config_var gateway_config[] = {
    {"CC_JWT_PRIVATE_KEY_FILE", CC_CONFIG_STRING, NULL, 1, 4096, &gw_cfg.private_key_file,
     "PEM file of the P-256 key access tokens are signed with"},
    {"CC_ACCESS_TOKEN_TTL", CC_CONFIG_INT, "900", 60, 86400, &gw_cfg.access_ttl_s,
     "access token lifetime in seconds"},
    {"CC_REFRESH_TOKEN_TTL", CC_CONFIG_INT, "604800", 300, 7776000, &gw_cfg.refresh_ttl_s,
     "refresh token lifetime in seconds"},
    {"CC_ALLOW_SIGNUP", CC_CONFIG_BOOL, "false", 0, 0, &gw_cfg.allow_signup,
     "anonymous register creates a new organization"},
    {"CC_ARGON2_T_COST", CC_CONFIG_INT, "2", 1, 20, &gw_cfg.argon2_t_cost, "argon2id iterations"},
    {"CC_ARGON2_M_COST_KIB", CC_CONFIG_INT, "19456", 8, 1048576, &gw_cfg.argon2_m_cost_kib,
     "argon2id memory in KiB"},
    {"CC_ARGON2_PARALLELISM", CC_CONFIG_INT, "1", 1, 16, &gw_cfg.argon2_parallelism,
     "argon2id lanes"},
    {"CC_LOGIN_MAX_FAILURES", CC_CONFIG_INT, "5", 1, 1000, &gw_cfg.login_max_failures,
     "failed logins allowed per email and per client address in a window"},
    {"CC_SIGNUP_MAX_PER_HOUR", CC_CONFIG_INT, "10", 1, 1000000, &gw_cfg.signups_per_hour,
     "anonymous sign-ups (new organizations) allowed per client address per hour"},
    {"CC_LOGIN_WINDOW_S", CC_CONFIG_INT, "60", 1, 86400, &gw_cfg.login_window_s,
     "the window in which CC_LOGIN_MAX_FAILURES refill"},
    {"CC_ACTIVE_CACHE_MS", CC_CONFIG_INT, "3000", 0, 60000, &gw_cfg.active_cache_ms,
     "how long a user's active/inactive answer is cached"},
};

/* The identity half's settings and routes followed by the front door's. */
static struct cc_config_var *all_config;
static struct cc_http_route *all_routes;

static void build_tables(void)
{
        size_t nc = CC_ARRAY_SIZE(gateway_config) + frontdoor_config_count;
        all_config = cc_xcalloc(nc, sizeof(*all_config));
        memcpy(all_config, gateway_config, sizeof(gateway_config));
        memcpy(all_config + CC_ARRAY_SIZE(gateway_config), frontdoor_config,
               frontdoor_config_count * sizeof(*frontdoor_config));
        size_t nr = gateway_identity_nroutes + frontdoor_routes_count;
        all_routes = cc_xcalloc(nr, sizeof(*all_routes));
        memcpy(all_routes, gateway_identity_routes,
               gateway_identity_nroutes * sizeof(*gateway_identity_routes));
        memcpy(all_routes + gateway_identity_nroutes, frontdoor_routes,
               frontdoor_routes_count * sizeof(*frontdoor_routes));
}

const struct cc_service_def *gateway_service_def(void)
{
        /* Filled at run time: the counts live in other translation units. The tables are built
         * once and live as long as the process. */
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        static struct cc_service_def def = {
            .name = "gateway",
            .default_port = 8080,
            .init = gw_init,
            .fini = gw_fini,
            .cors_origins = frontdoor_cors_origins,
        };
        pthread_once(&once, build_tables);
        def.migrations = gateway_migrations;
        def.nmigrations = gateway_migrations_count;
        def.config = all_config;
        def.max_upload = &frontdoor_upload_max_bytes;
        def.nconfig = CC_ARRAY_SIZE(gateway_config) + frontdoor_config_count;
        def.routes = all_routes;
        def.nroutes = gateway_identity_nroutes + frontdoor_routes_count;
        return &def;
}

struct gw *gw_of(struct cc_service *svc)
{
        return cc_service_state(svc);
}

int gw_init(struct cc_service *svc)
{
        /* Every password check allocates the argon2 memory cost (19 MiB by default) and frees it.
         * glibc raises its mmap threshold to the size of a freed mapped block, so from the second
         * login on that memory came from the worker's arena and stayed: three logins left the
         * idle gateway at 74 MiB. A fixed threshold keeps such blocks mapped and returned. */
        mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
        char err[256];
        struct gw *gw = cc_xcalloc(1, sizeof(*gw));
        pthread_mutex_init(&gw->active_lock, NULL);
        /* The tokens we sign carry the iss/aud every service (this one too) verifies. */
        gw->issuer = cc_service_jwt_issuer(svc);
        gw->audience = cc_service_jwt_audience(svc);
        int r = gw_tokens_init(gw, err, sizeof(err));
        if (r < 0) {
                cc_log_error(NULL, "%s", err);
                goto fail;
        }
        double per_s = (double)gw_cfg.login_max_failures / (double)gw_cfg.login_window_s;
        gw->rl_email = cc_ratelimit_new((double)gw_cfg.login_max_failures, per_s, 100000);
        gw->rl_addr = cc_ratelimit_new((double)gw_cfg.login_max_failures, per_s, 100000);
        gw->rl_signup = cc_ratelimit_new((double)gw_cfg.signups_per_hour,
                                         (double)gw_cfg.signups_per_hour / 3600.0, 100000);
        char pw[33];
        uint8_t rnd[16];
        cc_random_bytes(rnd, sizeof(rnd));
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
        gw->dummy_hash = gw_password_hash(pw);
        if (!gw->rl_email || !gw->rl_addr || !gw->rl_signup || !gw->dummy_hash) {
                cc_log_error(NULL, "gateway: cannot set up login throttling or password hashing");
                r = -EINVAL;
                goto fail;
        }
        cc_service_set_state(svc, gw);
        r = frontdoor_init(svc);
        if (r < 0) {
                cc_log_error(NULL, "gateway: cannot start the front door: %s", strerror(-r));
                cc_service_set_state(svc, NULL);
                goto fail;
        }
        return 0;
fail:
        cc_ratelimit_free(gw->rl_email);
        cc_ratelimit_free(gw->rl_addr);
        cc_ratelimit_free(gw->rl_signup);
        free(gw->dummy_hash);
        gw_tokens_fini(gw);
        pthread_mutex_destroy(&gw->active_lock);
        free(gw);
        return r;
}

void gw_fini(struct cc_service *svc)
{
        struct gw *gw = gw_of(svc);
        if (!gw)
                return;
        frontdoor_fini(svc);
        cc_ratelimit_free(gw->rl_email);
        cc_ratelimit_free(gw->rl_addr);
        cc_ratelimit_free(gw->rl_signup);
        free(gw->dummy_hash);
        gw_tokens_fini(gw);
        pthread_mutex_destroy(&gw->active_lock);
        free(gw);
        cc_service_set_state(svc, NULL);
}
