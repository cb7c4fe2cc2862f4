/* The IVR as Twilio hears it: the first TwiML of an inbound call (the organization's main menu
 * as a <Gather>, or the default queue) and the answer to each gather (the pressed option's
 * action, or the menu's no-input / invalid-input handling).
 *
 * The state of a caller's walk through the menus travels in the gather's action URL (menu,
 * attempt, call): Twilio signs the URL it calls, query included, so the webhook can trust it
 * once the signature is checked. A menu id is still only ever looked up inside the call's
 * organization; anything not found there replays the main menu. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ivr_internal.h"
#include "telephony.h"

#define DEFAULT_QUEUE     TEL_DEFAULT_QUEUE
#define VOICEMAIL_MAX_S   "120"
#define SAY_HOLD          "Thank you for calling. Please hold while we connect you to an agent."
#define SAY_INVALID       "Sorry, that is not a valid choice."
#define SAY_GOODBYE       "Goodbye."
#define SAY_LEAVE_MESSAGE "Please leave a message after the beep."

bool ivr_greeting_is_url(const char *greeting)
{
        return strncasecmp(greeting, "http://", 7) == 0 ||
               strncasecmp(greeting, "https://", 8) == 0;
}

/* What a document does, for the webhook's logs. */
struct choice {
        const char *action;
        const char *target;
};

struct play {
        struct cc_db_conn *conn;
        struct cc_arena *a;
        struct cc_twiml *t;
        const char *org_id;
        const char *call_id; /* NULL or "" when unknown */
        struct choice choice;
};

/* Our public address + path, as Twilio must call it (and sign it). */
static const char *hook_url(struct play *p, const char *path)
{
        const char *base = tel_cfg.public_base_url ? tel_cfg.public_base_url : "";
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        return cc_arena_printf(p->a, "%.*s%s", (int)n, base, path);
}

static const char *query_escape(struct cc_arena *a, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = cc_arena_alloc(a, strlen(s) * 3 + 1), *w = out;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.' || c == '~') {
                        *w++ = (char)c;
                } else {
                        *w++ = '%';
                        *w++ = hex[c >> 4];
                        *w++ = hex[c & 15];
                }
        }
        *w = '\0';
        return out;
}

/* The ivr webhook's URL for menu at attempt; done marks the return from a voicemail. */
static const char *ivr_url(struct play *p, const char *menu_id, int attempt, bool done)
{
        bool call = p->call_id && p->call_id[0];
        return cc_arena_printf(p->a, "%s?menu=%s&attempt=%d%s%s%s",
                               hook_url(p, "/api/webhooks/twilio/ivr"), query_escape(p->a, menu_id),
                               attempt, call ? "&call=" : "",
                               call ? query_escape(p->a, p->call_id) : "", done ? "&done=1" : "");
}

static void choose(struct play *p, const char *action, const char *target)
{
        p->choice.action = action;
        p->choice.target = target ? target : "";
}

static void add_gather(struct play *p, const struct ivr_menu *m, int attempt)
{
        char timeout[16];
        snprintf(timeout, sizeof(timeout), "%d", m->timeout);
        const char *attrs[] = {"input",
                               "dtmf",
                               "numDigits",
                               "1",
                               "timeout",
                               timeout,
                               "action",
                               ivr_url(p, m->id, attempt, false),
                               "method",
                               "POST",
                               "actionOnEmptyResult",
                               "true",
                               NULL};
        cc_twiml_open(p->t, "Gather", attrs);
        cc_twiml_leaf(p->t, ivr_greeting_is_url(m->greeting) ? "Play" : "Say", NULL, m->greeting);
        cc_twiml_close(p->t);
}

static void add_goodbye(struct play *p)
{
        cc_twiml_leaf(p->t, "Say", NULL, SAY_GOODBYE);
        cc_twiml_leaf(p->t, "Hangup", NULL, NULL);
        choose(p, "hangup", NULL);
}

/* The caller waits in its call's conference; the webhook puts the call in the queue named. */
static void add_queue(struct play *p, const char *queue)
{
        if (p->call_id && p->call_id[0])
                tel_route_wait_twiml(p->t, p->call_id);
        else
                cc_twiml_leaf(p->t, "Enqueue", NULL, queue);
        choose(p, "queue", queue);
}

/* <Dial> with the noun the target's form calls for: a SIP address, a client identity, or a
 * phone number. */
static void add_dial(struct play *p, const char *target)
{
        if (!target || !target[0]) {
                add_goodbye(p);
                return;
        }
        cc_twiml_open(p->t, "Dial", NULL);
        if (strncasecmp(target, "sip:", 4) == 0)
                cc_twiml_leaf(p->t, "Sip", NULL, target);
        else if (strncasecmp(target, "client:", 7) == 0)
                cc_twiml_leaf(p->t, "Client", NULL, target + 7);
        else
                cc_twiml_leaf(p->t, "Number", NULL, target);
        cc_twiml_close(p->t);
        choose(p, "transfer", target);
}

/* A message recorded (and transcribed) for the organization; Twilio comes back to the ivr hook
 * with done=1 when it ends, and posts the recording and its transcript to their own hooks. */
static void add_voicemail(struct play *p, const struct ivr_menu *m, int attempt)
{
        cc_twiml_leaf(p->t, "Say", NULL, SAY_LEAVE_MESSAGE);
        const char *attrs[] = {"maxLength",
                               VOICEMAIL_MAX_S,
                               "playBeep",
                               "true",
                               "action",
                               ivr_url(p, m->id, attempt, true),
                               "recordingStatusCallback",
                               hook_url(p, "/api/webhooks/twilio/recording"),
                               "transcribe",
                               "true",
                               "transcribeCallback",
                               hook_url(p, "/api/webhooks/twilio/transcription"),
                               NULL};
        cc_twiml_leaf(p->t, "Record", attrs, NULL);
        /* Twilio skips the action when nothing was recorded and goes on with the document. */
        cc_twiml_leaf(p->t, "Hangup", NULL, NULL);
        choose(p, "voicemail", NULL);
}

/* The menu to play, when it is an active menu of the organization: 0, -ENOENT, or an error. */
static int playable_menu(struct play *p, const char *id, struct ivr_menu *ret)
{
        struct ivr_menu m;
        int r = ivr_store_menu_get(p->conn, p->a, p->org_id, id, false, &m);
        if (r < 0)
                return r;
        if (!m.active)
                return -ENOENT;
        *ret = m;
        return 0;
}

/* The main menu's gather, or the default queue when the organization has no IVR to play. */
static int play_main(struct play *p)
{
        char id[CC_UUID_LEN + 1];
        struct ivr_menu m;
        int r = ivr_store_main_menu_id(p->conn, p->org_id, id);
        if (r == 0)
                r = playable_menu(p, id, &m);
        if (r == 0) {
                add_gather(p, &m, 1);
                choose(p, "menu", cc_arena_strdup(p->a, m.id));
                return 0;
        }
        if (r != -ENOENT)
                return r;
        cc_twiml_leaf(p->t, "Say", NULL, SAY_HOLD);
        add_queue(p, DEFAULT_QUEUE);
        return 0;
}

static int play_option(struct play *p, const struct ivr_menu *m, int attempt,
                       const struct ivr_option *o)
{
        switch (o->action) {
        case IVR_MENU: {
                struct ivr_menu sub;
                int r = playable_menu(p, o->target, &sub);
                if (r == -ENOENT)
                        return play_main(p);
                if (r < 0)
                        return r;
                add_gather(p, &sub, 1);
                choose(p, "menu", cc_arena_strdup(p->a, sub.id));
                return 0;
        }
        case IVR_QUEUE:
                if (!o->target || !o->target[0])
                        return play_main(p);
                add_queue(p, o->target);
                return 0;
        case IVR_TRANSFER:
                add_dial(p, o->target);
                return 0;
        case IVR_VOICEMAIL:
                add_voicemail(p, m, attempt);
                return 0;
        default:
                cc_twiml_leaf(p->t, "Hangup", NULL, NULL);
                choose(p, "hangup", NULL);
                return 0;
        }
}

/* No digits, or digits no option has: repeat the menu while attempts remain (then goodbye), or
 * do the menu's configured action at once. */
static void play_handling(struct play *p, const struct ivr_menu *m, int attempt,
                          enum ivr_action action, const char *target, bool invalid)
{
        switch (action) {
        case IVR_REPEAT:
                if (attempt >= m->max_retries) {
                        add_goodbye(p);
                        return;
                }
                if (invalid)
                        cc_twiml_leaf(p->t, "Say", NULL, SAY_INVALID);
                add_gather(p, m, attempt + 1);
                choose(p, "repeat", cc_arena_strdup(p->a, m->id));
                return;
        case IVR_TRANSFER:
                add_dial(p, target);
                return;
        case IVR_VOICEMAIL:
                add_voicemail(p, m, attempt);
                return;
        default:
                add_goodbye(p);
                return;
        }
}

static char *finish(struct play *p, int r, size_t *ret_len, char ret_action[16],
                    char ret_target[128])
{
        char *doc = NULL;
        if (r < 0) {
                cc_twiml_free(p->t);
        } else {
                doc = cc_twiml_finish(p->t, ret_len);
                if (ret_action)
                        snprintf(ret_action, 16, "%s", p->choice.action ? p->choice.action : "");
                if (ret_target)
                        snprintf(ret_target, 128, "%s", p->choice.target ? p->choice.target : "");
        }
        cc_arena_free(p->a);
        return doc;
}

char *tel_ivr_voice_twiml(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                          size_t *ret_len, char ret_action[16], char ret_target[128])
{
        struct play p = {
            .conn = conn,
            .a = cc_arena_new(2048),
            .t = cc_twiml_new(),
            .org_id = org_id,
            .call_id = call_id,
        };
        return finish(&p, play_main(&p), ret_len, ret_action, ret_target);
}

char *tel_ivr_gather_twiml(struct cc_db_conn *conn, const char *org_id, const char *call_id,
                           const char *menu_id, const char *digits, int attempt, size_t *ret_len,
                           char ret_action[16], char ret_target[128])
{
        struct play p = {
            .conn = conn,
            .a = cc_arena_new(2048),
            .t = cc_twiml_new(),
            .org_id = org_id,
            .call_id = call_id,
        };
        if (attempt < 1)
                attempt = 1;
        struct ivr_menu m;
        int r = menu_id ? playable_menu(&p, menu_id, &m) : -ENOENT;
        if (r == -ENOENT)
                return finish(&p, play_main(&p), ret_len, ret_action, ret_target);
        if (r < 0)
                return finish(&p, r, ret_len, ret_action, ret_target);
        if (!digits || !digits[0]) {
                play_handling(&p, &m, attempt, m.no_input_action, m.no_input_target, false);
                return finish(&p, 0, ret_len, ret_action, ret_target);
        }
        struct ivr_option o;
        r = ivr_store_option_find(conn, p.a, org_id, m.id, digits, &o);
        if (r == 0)
                r = play_option(&p, &m, attempt, &o);
        else if (r == -ENOENT) {
                play_handling(&p, &m, attempt, m.invalid_input_action, m.invalid_input_target,
                              true);
                r = 0;
        }
        return finish(&p, r, ret_len, ret_action, ret_target);
}
