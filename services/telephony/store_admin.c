/* SQL for the Twilio account an organization brings and its phone numbers. Auth tokens exist in
 * clear only in memory, briefly: sealed before they reach the database, opened when a call or a
 * webhook needs them, wiped after. Nothing here logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/json.h"
#include "telephony.h"

static const char *val(PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static bool platform_configured(void)
{
        return tel_cfg.twilio_account_sid && tel_cfg.twilio_account_sid[0] &&
               tel_cfg.twilio_auth_token && tel_cfg.twilio_auth_token[0];
}

static int platform_account(struct tel_account *ret)
{
        if (!platform_configured())
                return -ENOENT;
        if (strlen(tel_cfg.twilio_account_sid) >= sizeof(ret->account_sid) ||
            strlen(tel_cfg.twilio_auth_token) >= sizeof(ret->auth_token))
                return -ENOENT;
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->account_sid, sizeof(ret->account_sid), "%s", tel_cfg.twilio_account_sid);
        snprintf(ret->auth_token, sizeof(ret->auth_token), "%s", tel_cfg.twilio_auth_token);
        ret->own = false;
        return 0;
}

static void free_secret(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

/* Opens a token sealed for org_id into ret. -ENOENT when it does not open (no key, another key,
 * another organization's value) or would not fit. */
static int open_own(struct tel *tel, const char *org_id, const char *account_sid,
                    const char *sealed, struct tel_account *ret)
{
        if (!tel || !tel->box || strlen(account_sid) >= sizeof(ret->account_sid))
                return -ENOENT;
        char *token = cc_secretbox_open(tel->box, sealed, org_id);
        if (!token)
                return -ENOENT;
        int r = -ENOENT;
        if (strlen(token) < sizeof(ret->auth_token)) {
                memset(ret, 0, sizeof(*ret));
                snprintf(ret->account_sid, sizeof(ret->account_sid), "%s", account_sid);
                snprintf(ret->auth_token, sizeof(ret->auth_token), "%s", token);
                ret->own = true;
                r = 0;
        }
        free_secret(token);
        return r;
}

/* The organization's stored row: 0 with *ret_res holding (account_sid, auth_token_sealed,
 * updated_at ms), -ENOENT when there is none. */
static int own_row(struct cc_db_conn *conn, const char *org_id, PGresult **ret_res)
{
        if (!cc_uuid_valid(org_id))
                return -ENOENT;
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT account_sid, auth_token_sealed, "
                           "(extract(epoch FROM updated_at) * 1000)::bigint "
                           "FROM twilio_credentials WHERE org_id = $1",
                           1, p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return -ENOENT;
        }
        *ret_res = res;
        return 0;
}

int tel_account_for_org(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                        struct tel_account *ret)
{
        PGresult *res = NULL;
        int r = own_row(conn, org_id, &res);
        if (r == -ENOENT)
                return platform_account(ret);
        if (r < 0)
                return r;
        r = open_own(tel, org_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), ret);
        PQclear(res);
        return r;
}

int tel_account_by_sid(struct cc_db_conn *conn, struct tel *tel, const char *account_sid,
                       struct tel_account *ret, char ret_org_id[CC_UUID_LEN + 1])
{
        /* The platform's account first: an organization's row can never take over the webhooks
         * of every organization on the platform's account. */
        if (!account_sid || !account_sid[0] ||
            (platform_configured() && strcmp(account_sid, tel_cfg.twilio_account_sid) == 0)) {
                int r = platform_account(ret);
                if (r == 0)
                        ret_org_id[0] = '\0';
                return r;
        }
        const char *p[] = {account_sid};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT org_id, auth_token_sealed FROM twilio_credentials "
                           "WHERE account_sid = $1",
                           1, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                const char *org_id = PQgetvalue(res, 0, 0);
                r = open_own(tel, org_id, account_sid, PQgetvalue(res, 0, 1), ret);
                if (r == 0)
                        snprintf(ret_org_id, CC_UUID_LEN + 1, "%s", org_id);
        }
        PQclear(res);
        return r;
}

int tel_org_for_number(struct cc_db_conn *conn, const char *number,
                       char ret_org_id[CC_UUID_LEN + 1])
{
        if (!number || !number[0])
                return -ENOENT;
        const char *p[] = {number};
        PGresult *res = NULL;
        int r = cc_db_exec(conn, "SELECT org_id FROM phone_numbers WHERE number = $1", 1, p, &res);
        if (r < 0)
                return r;
        r = -ENOENT;
        if (PQntuples(res) == 1) {
                snprintf(ret_org_id, CC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
                r = 0;
        }
        PQclear(res);
        return r;
}

int tel_default_number(struct cc_db_conn *conn, const char *org_id, char ret_number[32])
{
        const char *number = tel_cfg.twilio_from_number ? tel_cfg.twilio_from_number : "";
        PGresult *res = NULL;
        if (cc_uuid_valid(org_id)) {
                const char *p[] = {org_id};
                int r = cc_db_exec(conn,
                                   "SELECT number FROM phone_numbers WHERE org_id = $1 "
                                   "ORDER BY created_at, id LIMIT 1",
                                   1, p, &res);
                if (r < 0)
                        return r;
                if (PQntuples(res) == 1)
                        number = PQgetvalue(res, 0, 0);
        }
        snprintf(ret_number, 32, "%s", strlen(number) < 32 ? number : "");
        PQclear(res);
        return 0;
}

int tel_credentials_info(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                         struct tel_credentials_info *ret)
{
        struct tel_credentials_info info = {.source = TEL_CRED_NONE, .updated_at_ms = -1};
        PGresult *res = NULL;
        int r = own_row(conn, org_id, &res);
        if (r == -ENOENT) {
                if (platform_configured()) {
                        info.source = TEL_CRED_PLATFORM;
                        info.token_usable = true;
                }
                *ret = info;
                return 0;
        }
        if (r < 0)
                return r;
        struct tel_account acct;
        info.source = TEL_CRED_ORGANIZATION;
        snprintf(info.account_sid, sizeof(info.account_sid), "%s", PQgetvalue(res, 0, 0));
        info.updated_at_ms = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        info.token_usable =
            open_own(tel, org_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &acct) == 0;
        explicit_bzero(&acct, sizeof(acct));
        PQclear(res);
        *ret = info;
        return 0;
}

int tel_credentials_put(struct cc_db_conn *conn, struct tel *tel, const char *org_id,
                        const char *user_id, const char *account_sid, const char *auth_token)
{
        if (!tel || !tel->box)
                return -ENOKEY;
        if (!cc_uuid_valid(org_id))
                return -EINVAL;
        char *sealed = cc_secretbox_seal(tel->box, auth_token, org_id);
        if (!sealed)
                return -EIO;
        const char *p[] = {org_id, account_sid, sealed, cc_uuid_valid(user_id) ? user_id : NULL};
        int r = cc_db_exec(conn,
                           "INSERT INTO twilio_credentials (org_id, account_sid, "
                           "auth_token_sealed, updated_by) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT (org_id) DO UPDATE SET account_sid = EXCLUDED.account_sid, "
                           "auth_token_sealed = EXCLUDED.auth_token_sealed, "
                           "updated_by = EXCLUDED.updated_by, updated_at = now()",
                           4, p, NULL);
        free(sealed);
        return r;
}

int tel_credentials_delete(struct cc_db_conn *conn, const char *org_id)
{
        if (!cc_uuid_valid(org_id))
                return 0;
        const char *p[] = {org_id};
        return cc_db_exec(conn, "DELETE FROM twilio_credentials WHERE org_id = $1", 1, p, NULL);
}

#define NUMBER_COLS "id, number, friendly_name, (extract(epoch FROM created_at) * 1000)::bigint"

static json_object *number_json(PGresult *res, int row)
{
        json_object *o = json_object_new_object();
        cc_json_add_string(o, "id", val(res, row, 0));
        cc_json_add_string(o, "number", val(res, row, 1));
        cc_json_add_string(o, "friendly_name", val(res, row, 2));
        cc_json_add_time(o, "created_at", strtoll(val(res, row, 3), NULL, 10));
        return o;
}

int tel_numbers_list(struct cc_db_conn *conn, const char *org_id, json_object **ret_numbers)
{
        json_object *arr = json_object_new_array();
        if (!cc_uuid_valid(org_id)) {
                *ret_numbers = arr;
                return 0;
        }
        const char *p[] = {org_id};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "SELECT " NUMBER_COLS " FROM phone_numbers WHERE org_id = $1 "
                           "ORDER BY created_at, id",
                           1, p, &res);
        if (r < 0) {
                json_object_put(arr);
                return r;
        }
        for (int i = 0; i < PQntuples(res); i++)
                json_object_array_add(arr, number_json(res, i));
        PQclear(res);
        *ret_numbers = arr;
        return 0;
}

int tel_number_add(struct cc_db_conn *conn, const char *org_id, const char *number,
                   const char *friendly_name, json_object **ret_number)
{
        if (!cc_uuid_valid(org_id))
                return -EINVAL;
        char id[CC_UUID_LEN + 1];
        cc_uuid_v4(id);
        const char *p[] = {id, org_id, number, friendly_name};
        PGresult *res = NULL;
        int r = cc_db_exec(conn,
                           "INSERT INTO phone_numbers (id, org_id, number, friendly_name) "
                           "VALUES ($1, $2, $3, $4) RETURNING " NUMBER_COLS,
                           4, p, &res);
        if (r < 0)
                return r;
        *ret_number = number_json(res, 0);
        PQclear(res);
        return 0;
}

int tel_number_delete(struct cc_db_conn *conn, const char *org_id, const char *id)
{
        if (!cc_uuid_valid(org_id) || !id || !cc_uuid_valid(id))
                return -ENOENT;
        const char *p[] = {org_id, id};
        PGresult *res = NULL;
        int r =
            cc_db_exec(conn, "DELETE FROM phone_numbers WHERE org_id = $1 AND id = $2", 2, p, &res);
        if (r < 0)
                return r;
        r = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : -ENOENT;
        PQclear(res);
        return r;
}
