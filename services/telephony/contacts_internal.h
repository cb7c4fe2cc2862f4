/* Between the files of contacts (store_contacts.c, h_contacts.c, csv_import.c); the rest of the
 * service uses telephony.h. A contact is visible to an organization when its campaign is the
 * organization's and not deleted. */
#pragma once

#include "telephony.h"
#include "cc/util.h"

/* The contract's ContactStatus, in order. */
extern const char *const tel_contact_statuses[]; /* NULL-terminated */
/* Case-insensitive; the canonical name, or NULL when unknown. */
const char *tel_contact_status_canonical(const char *s);

/* A phone number in E.164 ("+15551234567") when it can be read as one, else NULL. Spaces,
 * tabs, dashes, dots and parentheses are dropped; a leading "00" is the international prefix;
 * without "+" or "00" a single leading 0 (a trunk prefix) is dropped and country_code put in
 * front, unless the digits already start with country_code and are more than 10 (no national
 * number we prefix is longer). The result must have 8 to 15 digits. out holds 17 bytes. */
#define TEL_E164_MAX 17
const char *tel_phone_e164(const char *in, size_t len, const char *country_code,
                           char out[TEL_E164_MAX]);

/* Text a contact may hold (cc_text_valid: UTF-8 without control characters), where multiline
 * (notes) also allows tab, CR and LF. The API and the import apply the same rule. */
bool tel_contact_text_valid(const char *s, size_t len, bool multiline);

/* 0 when the campaign is the organization's and not deleted, -ENOENT otherwise. */
int tel_contact_campaign_visible(struct cc_db_conn *conn, const char *org_id,
                                 const char *campaign_id) CC_MUSTCHECK;

struct tel_contact_new {
        const char *campaign_id;
        const char *phone_number;         /* as stored (normalised already) */
        const char *name, *email, *notes; /* NULL: none */
        const char *extra_metadata;       /* JSON object text or NULL */
};
/* Creates a PENDING contact; ret_json is its Contact object. -ENOENT when the campaign is not
 * visible to the organization. */
int tel_contact_create(struct cc_db_conn *conn, const char *org_id, const struct tel_contact_new *c,
                       json_object **ret_json) CC_MUSTCHECK;

/* The Contact object; -ENOENT when the contact is not visible to the organization. */
int tel_contact_get(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                    json_object **ret_json) CC_MUSTCHECK;

/* What an update names: set_x says whether x is in the body; a NULL value with set_x clears a
 * nullable column. */
struct tel_contact_patch {
        bool set_phone, set_name, set_email, set_status, set_attempts, set_outcome, set_notes,
            set_metadata;
        const char *phone_number, *name, *email, *status, *outcome, *notes;
        const char *metadata; /* JSON object text or NULL */
        int64_t attempts;
};
/* Applies the patch in a transaction of its own, the contact locked; ret_json is the contact
 * after it. Setting status PENDING (a retry) also resets attempts to 0 and clears next_attempt
 * and outcome, except what the patch sets itself. Errors: -ENOENT as tel_contact_get; -EBUSY
 * when status PENDING is set while a call with this contact_id has not ended; -EINVAL (message
 * in err, naming the field) when attempts is above the campaign's max_attempts, or leaves a
 * PENDING contact with max_attempts or more (never dialled again). */
int tel_contact_update(struct cc_db_conn *conn, const char *org_id, const char *contact_id,
                       const struct tel_contact_patch *p, json_object **ret_json, char *err,
                       size_t err_len) CC_MUSTCHECK;
/* -ENOENT as tel_contact_get. */
int tel_contact_delete(struct cc_db_conn *conn, const char *org_id,
                       const char *contact_id) CC_MUSTCHECK;

struct tel_contact_filter {
        const char *campaign_id; /* NULL: every visible campaign */
        const char *status;      /* canonical, NULL: any */
        int64_t skip, limit;
};
/* A page, newest first; ret_total counts every match (from the maintained counters). */
int tel_contact_list(struct cc_db_conn *conn, const char *org_id,
                     const struct tel_contact_filter *f, json_object **ret_items,
                     int64_t *ret_total) CC_MUSTCHECK;

/* Rows gathered for one multi-row insert; zero-initialise, add, insert, fini. */
struct tel_contact_batch {
        size_t n;
        struct cc_strbuf phone, name, email, notes; /* array literals being built */
};
/* Adds a row (copied); name, email, notes may be NULL. Lengths in bytes. */
void tel_contact_batch_add(struct tel_contact_batch *b, const char *phone, size_t phone_len,
                           const char *name, size_t name_len, const char *email, size_t email_len,
                           const char *notes, size_t notes_len);
/* Inserts the rows as PENDING contacts of the campaign in one statement (its own transaction
 * when conn is not in one), in the order added; the batch is empty again either way. */
int tel_contact_batch_insert(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                             struct tel_contact_batch *b) CC_MUSTCHECK;
void tel_contact_batch_fini(struct tel_contact_batch *b);

/* ---- csv_import.c ---- */
#define TEL_IMPORT_BATCH      1000
#define TEL_IMPORT_MAX_ERRORS 10

struct tel_import_result {
        int64_t imported, failed;
        json_object *errors; /* array of the first TEL_IMPORT_MAX_ERRORS messages (owned) */
};
/* Imports a CSV file (the upload's bytes, read in place) into a campaign the caller has checked
 * is visible, batch by batch. 0 with ret (per-row failures counted and described in it);
 * -EILSEQ when the file is not UTF-8 and -EBADMSG when its first row is not a header with a
 * phone_number column (nothing imported, message in err); another negative errno when the
 * database failed before anything was imported. */
int tel_contacts_import(struct cc_db_conn *conn, const char *org_id, const char *campaign_id,
                        const char *data, size_t len, struct tel_import_result *ret, char *err,
                        size_t err_len) CC_MUSTCHECK;
