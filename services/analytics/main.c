/* cc-analytics: contact-center KPIs and dashboards from the event stream. */
#include "analytics.h"

int main(void)
{
        return cc_service_main(analytics_service_def());
}
