/* cc-sms: sending and receiving text messages, inbox and conversations.
 * main.c only wires the service together; the shared skeleton lives in lib/service.c. */
#include "cc/service.h"

extern const struct cc_migration sms_migrations[];
extern const size_t sms_migrations_count;

int main(void)
{
        const struct cc_service_def def = {
            .name = "sms",
            .default_port = 8082,
            .migrations = sms_migrations,
            .nmigrations = sms_migrations_count,
        };
        return cc_service_main(&def);
}
