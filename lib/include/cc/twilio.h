/* Twilio, the parts both telephony and sms need: form-encoded bodies (what Twilio posts and what
 * its REST API takes), request signatures (X-Twilio-Signature: base64 HMAC-SHA1 keyed by the
 * account's auth token over the full URL followed by every POST field's name and value, sorted
 * by name), and a small REST client for Calls and Messages on the library's HTTP client (base
 * URL from configuration, so tests and development talk to tools/twilio-sim). */
#pragma once

#include "cc/httpc.h"
#include "cc/util.h"

struct cc_kv {
        const char *key;
        const char *value;
};

/* Most fields a form may carry; more is refused (-E2BIG) rather than allocated. */
#define CC_FORM_MAX_FIELDS 256

/* Parses application/x-www-form-urlencoded ("a=1&b=x+y%21"; '+' is a space, %XX decoded; a key
 * without '=' has the value ""). Strings are NUL-terminated copies in the arena, in the order
 * sent. -EINVAL for a bad %-escape or a decoded NUL, -E2BIG past CC_FORM_MAX_FIELDS. */
int cc_form_parse(struct cc_arena *arena, const char *body, size_t len, struct cc_kv **ret_fields,
                  size_t *ret_n) CC_MUSTCHECK;
/* The first value of key, NULL when absent. */
const char *cc_kv_get(const struct cc_kv *fields, size_t n, const char *key);
/* Appends "key=value" percent-encoded (RFC 3986 unreserved characters kept, space as %20),
 * preceded by '&' unless b is empty. */
void cc_form_append(struct cc_strbuf *b, const char *key, const char *value);

/* Length of a signature: base64 of a 20-byte HMAC-SHA1, plus the NUL. */
#define CC_TWILIO_SIGNATURE_LEN 29

/* The signature Twilio sends for a POST of `fields` to `url` (the URL exactly as Twilio was told
 * it, including any query string): base64(HMAC-SHA1(auth_token, url + k1 + v1 + k2 + v2 ...))
 * with the fields sorted by key (byte order; equal keys keep their values' byte order). */
void cc_twilio_signature(const char *auth_token, const char *url, const struct cc_kv *fields,
                         size_t n, char out[CC_TWILIO_SIGNATURE_LEN]);
/* true when `header` (X-Twilio-Signature; NULL counts as wrong) is that signature; compared in
 * constant time. */
bool cc_twilio_signature_valid(const char *auth_token, const char *url, const struct cc_kv *fields,
                               size_t n, const char *header);

/* ---- REST client ---- */

struct cc_twilio;

struct cc_twilio_config {
        const char *api_base; /* "https://api.twilio.com" or the simulator's address */
        int timeout_ms;       /* whole call; 0 = 10000 */
        const char *name;     /* metrics label of its breaker; NULL = "twilio" */
};

/* What a REST call came back with. On success (status 2xx) `sid` and `status` are the created or
 * updated resource's ("CA...", "queued"). On a Twilio error, `http_status` is Twilio's status,
 * `code` Twilio's error code and `message` its message; http_status 0 means we never got an
 * answer (transport error, timeout, breaker open) and `message` says which. */
struct cc_twilio_result {
        int http_status;
        int code;
        char sid[64];
        char status[32];
        char message[512];
};

struct cc_twilio *cc_twilio_new(const struct cc_twilio_config *cfg);
void cc_twilio_free(struct cc_twilio *tw);
struct cc_breaker *cc_twilio_breaker(struct cc_twilio *tw);

/* POST /2010-04-01/Accounts/{account_sid}/Calls.json with the given form fields (To, From, Url
 * or Twiml, StatusCallback, StatusCallbackEvent (repeat the key for each event), ...), Basic
 * auth account_sid:auth_token. 0 when Twilio answered 2xx; -EPROTO when it answered with an
 * error (result says which); -EHOSTDOWN, -ETIMEDOUT, -ECONNREFUSED, -EIO when it did not. */
int cc_twilio_call_create(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                          const struct cc_kv *fields, size_t n,
                          struct cc_twilio_result *ret) CC_MUSTCHECK;
/* POST /2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json (Status=completed to hang up,
 * Url or Twiml to redirect). Same returns. */
int cc_twilio_call_update(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                          const char *call_sid, const struct cc_kv *fields, size_t n,
                          struct cc_twilio_result *ret) CC_MUSTCHECK;
/* POST /2010-04-01/Accounts/{account_sid}/Conferences/{conference}/Participants/{call_sid}.json
 * (Hold=true, Muted=true, ...): holds and mutes a call's conference leg. Same returns. */
int cc_twilio_participant_update(struct cc_twilio *tw, const char *account_sid,
                                 const char *auth_token, const char *conference,
                                 const char *call_sid, const struct cc_kv *fields, size_t n,
                                 struct cc_twilio_result *ret) CC_MUSTCHECK;
/* POST /2010-04-01/Accounts/{account_sid}/Messages.json (To, From, Body, StatusCallback). */
int cc_twilio_message_create(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                             const struct cc_kv *fields, size_t n,
                             struct cc_twilio_result *ret) CC_MUSTCHECK;
/* GET /2010-04-01/Accounts/{account_sid}.json: checks that the credentials work (ret->status is
 * the account's status, "active"). */
int cc_twilio_account_fetch(struct cc_twilio *tw, const char *account_sid, const char *auth_token,
                            struct cc_twilio_result *ret) CC_MUSTCHECK;
