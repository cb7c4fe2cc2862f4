/* cc-sentiment: how customers feel, per utterance and per call, and alerts.
 * main.c only wires the service together; the shared skeleton lives in lib/service.c. */
#include "cc/service.h"

extern const struct cc_migration sentiment_migrations[];
extern const size_t sentiment_migrations_count;

int main(void)
{
        const struct cc_service_def def = {
            .name = "sentiment",
            .default_port = 8083,
            .migrations = sentiment_migrations,
            .nmigrations = sentiment_migrations_count,
        };
        return cc_service_main(&def);
}
