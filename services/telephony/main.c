/* cc-telephony: calls, Twilio webhooks, IVR, agents, queues, supervisors, contacts and campaigns.
 * main.c only wires the service together; the shared skeleton lives in lib/service.c. */
#include "cc/service.h"

extern const struct cc_migration telephony_migrations[];
extern const size_t telephony_migrations_count;

int main(void)
{
        const struct cc_service_def def = {
            .name = "telephony",
            .default_port = 8081,
            .migrations = telephony_migrations,
            .nmigrations = telephony_migrations_count,
        };
        return cc_service_main(&def);
}
