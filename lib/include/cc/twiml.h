/* TwiML documents (<Response>...</Response>) built element by element, with every text and
 * attribute value escaped, so caller-controlled text (a contact's name, a menu greeting) cannot
 * break or inject into the document. */
#pragma once

#include "cc/util.h"

struct cc_twiml;

/* Starts '<?xml version="1.0" encoding="UTF-8"?><Response>'. */
struct cc_twiml *cc_twiml_new(void);
void cc_twiml_free(struct cc_twiml *t);
/* Opens <verb attr="value" ...>; attrs is a NULL-terminated list of name, value pairs (a NULL
 * value skips that attribute). Verbs and attribute names are ours, never caller input. */
void cc_twiml_open(struct cc_twiml *t, const char *verb, const char *const *attrs);
/* Escaped character data inside the open element. */
void cc_twiml_text(struct cc_twiml *t, const char *text);
/* Closes the innermost open element. */
void cc_twiml_close(struct cc_twiml *t);
/* <verb attrs>text</verb> (text NULL: <verb attrs/>). */
void cc_twiml_leaf(struct cc_twiml *t, const char *verb, const char *const *attrs,
                   const char *text);
/* Closes whatever is open and </Response>; returns the document (heap, caller frees) and frees
 * t. */
char *cc_twiml_finish(struct cc_twiml *t, size_t *ret_len);
