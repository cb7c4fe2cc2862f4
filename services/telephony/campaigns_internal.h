/* Between the campaign files: store_campaigns.c (SQL, events, contact progress), h_campaigns.c
 * (the /api/campaigns routes) and dialer.c (the outbound dialer). */
#pragma once

#include <json-c/json.h>

#include "telephony.h"

/* The columns a request may write, by index into the store's column table. */
enum tel_campaign_col {
        TEL_CAMP_NAME = 0,
        TEL_CAMP_DESCRIPTION,
        TEL_CAMP_TYPE,
        TEL_CAMP_LANGUAGE,
        TEL_CAMP_VERSION,
        TEL_CAMP_ACTIVE,
        TEL_CAMP_INSTRUCTIONS,
        TEL_CAMP_TOOLS,
        TEL_CAMP_VOICE,
        TEL_CAMP_ANALYTICS,
        TEL_CAMP_METADATA,
        TEL_CAMP_QUEUE,
        TEL_CAMP_PACING,
        TEL_CAMP_MAX_ATTEMPTS,
        TEL_CAMP_RETRY_DELAY,
        TEL_CAMP_HOURS_START,
        TEL_CAMP_HOURS_END,
        TEL_CAMP_TIME_ZONE,
        TEL_CAMP_NCOLS
};

/* What a create or update request gives: set[c] says whether column c is written, value[c] its
 * text (NULL = SQL NULL). Strings are borrowed from the request. */
struct tel_campaign_input {
        bool set[TEL_CAMP_NCOLS];
        const char *value[TEL_CAMP_NCOLS];
        const char *organization_label; /* create only */
};

/* The list's filters. */
struct tel_campaign_filter {
        int64_t skip, limit;
        int active;       /* -1 any, 0, 1 */
        const char *type; /* NULL any */
};

/* CampaignType, in the events' order (index + 1 is the protobuf value). */
extern const char *const tel_campaign_types[];

/* Whether PostgreSQL knows tz as an IANA time zone name. */
int tel_campaign_time_zone_known(struct cc_db_conn *conn, const char *tz,
                                 bool *ret_known) CC_MUSTCHECK;
/* Whether queue_id is a queue of org. */
int tel_campaign_queue_known(struct cc_db_conn *conn, const char *org_id, const char *queue_id,
                             bool *ret_known) CC_MUSTCHECK;

/* Creates a campaign and writes campaign.created, in the caller's transaction; ret_json is the
 * Campaign object. */
int tel_campaign_create(struct cc_db_conn *conn, const char *org_id,
                        const struct tel_campaign_input *in, const char *traceparent,
                        json_object **ret_json) CC_MUSTCHECK;
/* Applies in to a campaign of org (not deleted), in the caller's transaction; writes
 * campaign.updated naming the fields whose value changed (nothing when none did). Activating a
 * completed campaign opens it again. -ENOENT when there is no such campaign. */
int tel_campaign_update(struct cc_db_conn *conn, const char *org_id, const char *id,
                        const struct tel_campaign_input *in, const char *traceparent,
                        json_object **ret_json) CC_MUSTCHECK;
/* Soft delete (the dialer stops; the row and its contacts stay for the record). -ENOENT. */
int tel_campaign_delete(struct cc_db_conn *conn, const char *org_id, const char *id,
                        const char *traceparent) CC_MUSTCHECK;
/* The Campaign object, with its contact counts when with_counts. -ENOENT. */
int tel_campaign_get_json(struct cc_db_conn *conn, const char *org_id, const char *id,
                          bool with_counts, json_object **ret_json) CC_MUSTCHECK;
int tel_campaign_list_json(struct cc_db_conn *conn, const char *org_id,
                           const struct tel_campaign_filter *f,
                           json_object **ret_array) CC_MUSTCHECK;

/* Completes a campaign of org that has contacts and none left to try (PENDING, DIALING or
 * CONNECTED), once: completed_at set, active false, campaign.updated (when it was active) and
 * campaign.completed. Locks the campaign row, so call it after changing the contact that may
 * have been the last (two transactions finishing the last two contacts then cannot both miss
 * it). ret_completed (may be NULL) says whether this call completed it. */
int tel_campaign_complete_if_done(struct cc_db_conn *conn, const char *org_id,
                                  const char *campaign_id, const char *traceparent,
                                  bool *ret_completed) CC_MUSTCHECK;
