/* Skeleton (being written). */
#include "telephony.h"

int tel_route_enqueue(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                      const struct tel_queue *q, const char *traceparent)
{
        (void)conn, (void)org_id, (void)call_id, (void)q, (void)traceparent;
        return 0;
}

int tel_route_org(struct cc_db_conn *conn, const char *org_id, int *ret_offers)
{
        (void)conn, (void)org_id;
        if (ret_offers)
                *ret_offers = 0;
        return 0;
}

int tel_route_call_ended(struct cc_db_conn *conn, struct tel_call_row *row, bool *ret_defer_ended,
                         const char *traceparent)
{
        (void)conn, (void)row, (void)traceparent;
        *ret_defer_ended = false;
        return 0;
}

int tel_route_wrap_up_done(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           int64_t at_ms, const char *traceparent)
{
        (void)conn, (void)org_id, (void)call_id, (void)at_ms, (void)traceparent;
        return 0;
}
