-- Identity: organizations, users, refresh tokens, teams and members, and the auth audit log.
-- Every tenant row carries org_id; every query the gateway runs is scoped by it.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Login names no organization, so an email is unique across all of them (stored lower-cased).
CREATE TABLE users (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    email            text NOT NULL UNIQUE CHECK (email = lower(email)),
    username         text,
    first_name       text NOT NULL,
    last_name        text NOT NULL,
    role             text NOT NULL CHECK (role IN ('ADMIN', 'SUPERVISOR', 'AGENT')),
    status           text NOT NULL DEFAULT 'ACTIVE'
                     CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED')),
    department       text,
    phone_extension  text,
    skills           text[] NOT NULL DEFAULT '{}',
    avatar           text,
    email_verified   boolean NOT NULL DEFAULT false,
    auth_provider    text NOT NULL DEFAULT 'LOCAL',
    password_hash    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    last_login_at    timestamptz
);
CREATE INDEX users_org_created ON users (org_id, created_at DESC, id);

-- Only the SHA-256 of a refresh token is kept. A family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id),
    org_id       uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    client_addr  text
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE teams (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations (id),
    name           text NOT NULL,
    description    text,
    supervisor_id  uuid,
    max_members    integer NOT NULL DEFAULT 10,
    skills         text[] NOT NULL DEFAULT '{}',
    extra_metadata jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_org_created ON teams (org_id, created_at DESC, id);

CREATE TABLE team_members (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id),
    role       text NOT NULL CHECK (role IN ('MEMBER', 'LEAD', 'SUPERVISOR')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, user_id)
);

CREATE TABLE auth_audit (
    id           bigserial PRIMARY KEY,
    event        text NOT NULL,
    user_id      uuid,
    org_id       uuid,
    email        text,
    client_addr  text,
    detail       text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_audit_org_at ON auth_audit (org_id, at);
