/* Wiring of the telephony service: its migrations, configuration, state and routes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony.h"
#include "cc/log.h"

extern const struct cc_migration telephony_migrations[];
extern const size_t telephony_migrations_count;

struct tel_config tel_cfg;

static const struct cc_config_var telephony_config[] = {
    {"CC_PUBLIC_BASE_URL", CC_CONFIG_STRING, "http://127.0.0.1:8080", 1, 2048,
     &tel_cfg.public_base_url,
     "the address Twilio reaches our webhooks at (signatures are computed over it)"},
    {"CC_TWILIO_API_BASE", CC_CONFIG_STRING, "https://api.twilio.com", 1, 2048,
     &tel_cfg.twilio_api_base, "base URL of Twilio's REST API (the simulator's in development)"},
    {"CC_TWILIO_ACCOUNT_SID", CC_CONFIG_STRING, "", 0, 63, &tel_cfg.twilio_account_sid,
     "the platform's Twilio account, used by organizations without their own"},
    {"CC_TWILIO_AUTH_TOKEN", CC_CONFIG_STRING, "", 0, 128, &tel_cfg.twilio_auth_token,
     "the platform account's auth token"},
    {"CC_TWILIO_FROM_NUMBER", CC_CONFIG_STRING, "", 0, 32, &tel_cfg.twilio_from_number,
     "caller id for organizations without a number of their own"},
    {"CC_SECRETS_KEY_FILE", CC_CONFIG_STRING, "", 0, 4096, &tel_cfg.secrets_key_file,
     "file with 32 random bytes in hex that encrypt organizations' Twilio auth tokens at rest"},
    {"CC_TWILIO_TIMEOUT_MS", CC_CONFIG_INT, "10000", 100, 120000, &tel_cfg.twilio_timeout_ms,
     "timeout of one Twilio REST call"},
    {"CC_UPLOAD_MAX_BYTES", CC_CONFIG_INT, "20971520", 1024, 1073741824, &tel_cfg.upload_max_bytes,
     "largest contact import (CSV upload) accepted; larger ones get 413"},
    {"CC_DEFAULT_COUNTRY_CODE", CC_CONFIG_STRING, "1", 1, 3, &tel_cfg.default_country_code,
     "calling code assumed for phone numbers written without one (E.164 normalisation)"},
    {"CC_WORKER_INTERVAL_MS", CC_CONFIG_INT, "500", 10, 60000, &tel_cfg.worker_interval_ms,
     "how often the background worker looks for wrap-ups to end, callers to overflow and "
     "contacts to dial when nothing wakes it sooner"},
};

static struct cc_http_route *all_routes;
static size_t all_nroutes;

static void add_routes(const struct cc_http_route *r, size_t n)
{
        memcpy(all_routes + all_nroutes, r, n * sizeof(*r));
        all_nroutes += n;
}

static void build_routes(void)
{
        size_t n = tel_calls_nroutes + tel_ivr_nroutes + tel_admin_nroutes + tel_ops_nroutes +
                   tel_webhook_nroutes + tel_agents_nroutes + tel_queues_nroutes +
                   tel_supervisor_nroutes + tel_campaigns_nroutes + tel_contacts_nroutes;
        all_routes = cc_xcalloc(n ? n : 1, sizeof(*all_routes));
        add_routes(tel_calls_routes, tel_calls_nroutes);
        add_routes(tel_ivr_routes, tel_ivr_nroutes);
        add_routes(tel_admin_routes, tel_admin_nroutes);
        add_routes(tel_ops_routes, tel_ops_nroutes);
        add_routes(tel_webhook_routes, tel_webhook_nroutes);
        add_routes(tel_agents_routes, tel_agents_nroutes);
        add_routes(tel_queues_routes, tel_queues_nroutes);
        add_routes(tel_supervisor_routes, tel_supervisor_nroutes);
        add_routes(tel_campaigns_routes, tel_campaigns_nroutes);
        add_routes(tel_contacts_routes, tel_contacts_nroutes);
}

struct tel *tel_of(struct cc_service *svc)
{
        return cc_service_state(svc);
}

struct tel *tel_req(const struct cc_http_req *req)
{
        return tel_of(cc_service_of(req));
}

/* The key file holds 32 bytes in hex (what `openssl rand -hex 32` writes), so operators can make
 * one with a standard tool; the secret box takes them in base64. */
static struct cc_secretbox *secretbox_from_file(const char *path, char *err, size_t err_len)
{
        FILE *f = fopen(path, "r");
        if (!f) {
                cc_set_error(err, err_len, "cannot open %s: %s", path, strerror(errno));
                return NULL;
        }
        char hex[130] = {0};
        size_t n = fread(hex, 1, sizeof(hex) - 1, f);
        fclose(f);
        while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
                n--;
        uint8_t key[CC_SECRETBOX_KEY_LEN];
        bool ok = n == 2 * sizeof(key);
        for (size_t i = 0; ok && i < sizeof(key); i++) {
                int hi = cc_hex_value(hex[2 * i]), lo = cc_hex_value(hex[2 * i + 1]);
                ok = hi >= 0 && lo >= 0;
                key[i] = (uint8_t)(hi << 4 | lo);
        }
        explicit_bzero(hex, sizeof(hex));
        if (!ok) {
                explicit_bzero(key, sizeof(key));
                cc_set_error(err, err_len, "%s must hold 64 hexadecimal digits (32 bytes)", path);
                return NULL;
        }
        char b64[64];
        cc_base64_encode(key, sizeof(key), b64);
        struct cc_secretbox *sb = cc_secretbox_new(b64, err, err_len);
        explicit_bzero(key, sizeof(key));
        explicit_bzero(b64, sizeof(b64));
        return sb;
}

static int tel_init(struct cc_service *svc)
{
        /* Signatures cover the URL exactly as Twilio was given it: "https://x/" + "/api/..."
         * would never match, so a trailing slash in the setting is dropped. */
        size_t n = strlen(tel_cfg.public_base_url);
        while (n > 0 && tel_cfg.public_base_url[n - 1] == '/')
                tel_cfg.public_base_url[--n] = '\0';
        struct tel *tel = cc_xcalloc(1, sizeof(*tel));
        const struct cc_twilio_config tc = {
            .api_base = tel_cfg.twilio_api_base,
            .timeout_ms = (int)tel_cfg.twilio_timeout_ms,
            .name = "twilio",
        };
        tel->twilio = cc_twilio_new(&tc);
        if (!tel->twilio) {
                cc_log_error(NULL, "telephony: CC_TWILIO_API_BASE is not a usable URL");
                free(tel);
                return -EINVAL;
        }
        if (tel_cfg.secrets_key_file[0]) {
                char err[256];
                tel->box = secretbox_from_file(tel_cfg.secrets_key_file, err, sizeof(err));
                if (!tel->box) {
                        cc_log_error(NULL, "telephony: CC_SECRETS_KEY_FILE: %s", err);
                        cc_twilio_free(tel->twilio);
                        free(tel);
                        return -EINVAL;
                }
        }
        tel->ingest = tel_ingest_new(svc);
        if (!tel->ingest) {
                cc_log_error(NULL, "telephony: cannot start the status callback writer");
                cc_secretbox_free(tel->box);
                cc_twilio_free(tel->twilio);
                free(tel);
                return -EAGAIN;
        }
        cc_service_set_state(svc, tel);
        tel->worker = tel_worker_new(svc);
        if (!tel->worker) {
                cc_log_error(NULL, "telephony: cannot start the background worker");
                cc_service_set_state(svc, NULL);
                tel_ingest_free(tel->ingest);
                cc_secretbox_free(tel->box);
                cc_twilio_free(tel->twilio);
                free(tel);
                return -EAGAIN;
        }
        return 0;
}

static void tel_fini(struct cc_service *svc)
{
        struct tel *tel = tel_of(svc);
        if (!tel)
                return;
        /* The callback writer first: it wakes the worker. */
        tel_ingest_free(tel->ingest);
        tel->ingest = NULL;
        tel_worker_free(tel->worker);
        tel->worker = NULL;
        cc_twilio_free(tel->twilio);
        cc_secretbox_free(tel->box);
        free(tel);
        cc_service_set_state(svc, NULL);
}

const struct cc_service_def *telephony_service_def(void)
{
        /* The tables are built once and live as long as the process; the counts live in other
         * translation units, so this happens at run time. */
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        static struct cc_service_def def = {
            .name = "telephony",
            .default_port = 8081,
            .init = tel_init,
            .fini = tel_fini,
        };
        pthread_once(&once, build_routes);
        def.migrations = telephony_migrations;
        def.nmigrations = telephony_migrations_count;
        def.config = telephony_config;
        def.max_upload = &tel_cfg.upload_max_bytes;
        def.nconfig = CC_ARRAY_SIZE(telephony_config);
        static const char *const topics[] = {"cc.users.v1"};
        def.consume_topics = topics;
        def.nconsume_topics = CC_ARRAY_SIZE(topics);
        def.consume_handler = tel_users_apply;
        def.routes = all_routes;
        def.nroutes = all_nroutes;
        return &def;
}
