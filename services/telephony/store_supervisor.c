/* SQL the supervisor routes read: the agent's leg of a call and its transcript. */
#include <errno.h>
#include <stdio.h>

#include "telephony.h"

/* The CallSid of the agent's leg of a call: its accepted offer's, while not released. */
int tel_call_agent_leg_sid(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           char ret_sid[64])
{
        const char *p[] = {org_id, call_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT twilio_sid FROM offers WHERE org_id = $1 AND call_id = $2 "
                           "AND state = 'ACCEPTED' AND twilio_sid IS NOT NULL AND NOT released "
                           "ORDER BY updated_at DESC LIMIT 1",
                           2, p, &res);
        if (r < 0)
                return r;
        r = PQntuples(res) ? 0 : -ENOENT;
        if (r == 0)
                snprintf(ret_sid, 64, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return r;
}

/* The call's transcript segments in the order they were spoken (arrival, then position).
 * *ret_res owns the strings. */
int tel_call_transcript_rows(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                             PGresult **ret_res)
{
        const char *p[] = {org_id, call_id};
        return cc_db_exec(conn,
                          "SELECT role, content, (extract(epoch FROM created_at) * 1000)::bigint "
                          "FROM transcripts WHERE org_id = $1 AND call_id = $2 "
                          "ORDER BY created_at, offset_ms, id",
                          2, p, ret_res);
}
