/* The state machine of a call, shared by the API, Twilio's callbacks and the supervisor actions.
 *
 * Forward only:
 *   QUEUED      -> RINGING | IN_PROGRESS | any terminal
 *   RINGING     -> IN_PROGRESS | any terminal
 *   IN_PROGRESS -> ON_HOLD | COMPLETED | FAILED
 *   ON_HOLD     -> IN_PROGRESS | COMPLETED | FAILED
 *   terminal (COMPLETED, NO_ANSWER, BUSY, FAILED, CANCELED) -> nothing
 * NO_ANSWER, BUSY and CANCELED say the call never connected (Twilio cancels only queued or
 * ringing calls), so an answered call cannot end that way; it can still fail (a dropped leg, or
 * our own abort). Staying in the same state is not a transition: callers treat it as a no-op. */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "telephony.h"

static const char *const names[TEL_CALL_NSTATUS] = {
    [TEL_CALL_QUEUED] = "QUEUED",
    [TEL_CALL_RINGING] = "RINGING",
    [TEL_CALL_IN_PROGRESS] = "IN_PROGRESS",
    [TEL_CALL_ON_HOLD] = "ON_HOLD",
    [TEL_CALL_COMPLETED] = "COMPLETED",
    [TEL_CALL_NO_ANSWER] = "NO_ANSWER",
    [TEL_CALL_BUSY] = "BUSY",
    [TEL_CALL_FAILED] = "FAILED",
    [TEL_CALL_CANCELED] = "CANCELED",
};

const char *tel_call_status_name(enum tel_call_status s)
{
        return (unsigned)s < TEL_CALL_NSTATUS ? names[s] : "UNKNOWN";
}

int tel_call_status_parse(const char *s, enum tel_call_status *ret)
{
        if (!s)
                return -EINVAL;
        for (int i = 0; i < TEL_CALL_NSTATUS; i++) {
                if (strcasecmp(s, names[i]) == 0) {
                        *ret = (enum tel_call_status)i;
                        return 0;
                }
        }
        return -EINVAL;
}

enum tel_call_status tel_call_status_from_twilio(const char *twilio_status)
{
        static const struct {
                const char *twilio;
                enum tel_call_status status;
        } map[] = {
            /* "queued" is what Twilio's REST API answers for a new call; "initiated" what its
             * first callback says. */
            {"initiated", TEL_CALL_QUEUED},
            {"queued", TEL_CALL_QUEUED},
            {"ringing", TEL_CALL_RINGING},
            {"in-progress", TEL_CALL_IN_PROGRESS},
            {"answered", TEL_CALL_IN_PROGRESS},
            {"completed", TEL_CALL_COMPLETED},
            {"busy", TEL_CALL_BUSY},
            {"no-answer", TEL_CALL_NO_ANSWER},
            {"failed", TEL_CALL_FAILED},
            {"canceled", TEL_CALL_CANCELED},
        };
        if (!twilio_status)
                return TEL_CALL_FAILED;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcasecmp(twilio_status, map[i].twilio) == 0)
                        return map[i].status;
        return TEL_CALL_FAILED;
}

bool tel_call_status_terminal(enum tel_call_status s)
{
        return s == TEL_CALL_COMPLETED || s == TEL_CALL_NO_ANSWER || s == TEL_CALL_BUSY ||
               s == TEL_CALL_FAILED || s == TEL_CALL_CANCELED;
}

bool tel_call_transition_allowed(enum tel_call_status from, enum tel_call_status to)
{
        if ((unsigned)from >= TEL_CALL_NSTATUS || (unsigned)to >= TEL_CALL_NSTATUS || from == to)
                return false;
        switch (from) {
        case TEL_CALL_QUEUED:
                return to != TEL_CALL_ON_HOLD;
        case TEL_CALL_RINGING:
                return to != TEL_CALL_QUEUED && to != TEL_CALL_ON_HOLD;
        case TEL_CALL_IN_PROGRESS:
                return to == TEL_CALL_ON_HOLD || to == TEL_CALL_COMPLETED || to == TEL_CALL_FAILED;
        case TEL_CALL_ON_HOLD:
                return to == TEL_CALL_IN_PROGRESS || to == TEL_CALL_COMPLETED ||
                       to == TEL_CALL_FAILED;
        default:
                return false; /* terminal */
        }
}
