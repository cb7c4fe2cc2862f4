-- Twilio per organization: its own account (bring your own) and the phone numbers that route
-- incoming calls and messages to it.

-- The auth token is kept only sealed (AES-256-GCM, "v1:..." from cc_secretbox_seal) with the
-- org_id as associated data, so a sealed value copied into another organization's row does not
-- open. An account belongs to one organization: webhooks name the account (AccountSid), and the
-- token that verifies them must not depend on which of several organizations is picked.
CREATE TABLE twilio_credentials (
    org_id             uuid PRIMARY KEY,
    account_sid        text NOT NULL UNIQUE CHECK (account_sid ~ '^AC[0-9a-f]{32}$'),
    auth_token_sealed  text NOT NULL CHECK (auth_token_sealed LIKE 'v1:%'),
    updated_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A number routes to one organization only, hence unique across all of them.
CREATE TABLE phone_numbers (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL,
    number         text NOT NULL UNIQUE CHECK (number ~ '^\+[1-9][0-9]{7,14}$'),
    friendly_name  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_org_created ON phone_numbers (org_id, created_at, id);
