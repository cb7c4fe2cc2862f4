/* cc-telephony: calls, Twilio webhooks, IVR, agents, queues, supervisors, contacts and campaigns.
 * main.c only runs the service; its wiring is telephony.c. */
#include "telephony.h"

int main(void)
{
        return cc_service_main(telephony_service_def());
}
