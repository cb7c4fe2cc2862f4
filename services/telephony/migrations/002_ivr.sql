-- IVR: one configuration per organization pointing at its main menu, menus with their digit
-- options, and flows. Every row carries org_id, and every reference from one IVR row to a menu is
-- a foreign key over (org_id, menu id), so the database itself refuses a reference to another
-- organization's menu and the deletion of a menu something still points at.

CREATE TABLE ivr_menus (
    id                    uuid PRIMARY KEY,
    org_id                uuid NOT NULL,
    name                  text NOT NULL,
    greeting              text NOT NULL,
    timeout               integer NOT NULL DEFAULT 5 CHECK (timeout BETWEEN 1 AND 60),
    max_retries           integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 1 AND 10),
    no_input_action       text NOT NULL DEFAULT 'repeat'
                          CHECK (no_input_action IN ('repeat', 'transfer', 'voicemail', 'hangup')),
    no_input_target       text,
    invalid_input_action  text NOT NULL DEFAULT 'repeat'
                          CHECK (invalid_input_action IN ('repeat', 'transfer', 'voicemail',
                                                          'hangup')),
    invalid_input_target  text,
    active                boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id)
);
CREATE INDEX ivr_menus_org_created ON ivr_menus (org_id, created_at DESC, id);

CREATE TABLE ivr_configs (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL UNIQUE,
    main_menu_id  uuid,
    settings      jsonb,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, main_menu_id) REFERENCES ivr_menus (org_id, id)
);

-- target is what the API shows; target_menu_id repeats it as a uuid for `menu` options so the
-- foreign key can guard it.
CREATE TABLE ivr_options (
    id              uuid PRIMARY KEY,
    menu_id         uuid NOT NULL,
    org_id          uuid NOT NULL,
    position        integer NOT NULL,
    digit           text NOT NULL CHECK (digit ~ '^[0-9*#]$'),
    description     text NOT NULL,
    action          text NOT NULL
                    CHECK (action IN ('transfer', 'queue', 'menu', 'voicemail', 'hangup')),
    target          text,
    target_menu_id  uuid,
    metadata        jsonb,
    UNIQUE (menu_id, digit),
    FOREIGN KEY (org_id, menu_id) REFERENCES ivr_menus (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, target_menu_id) REFERENCES ivr_menus (org_id, id),
    CHECK ((action = 'menu') = (target_menu_id IS NOT NULL))
);
CREATE INDEX ivr_options_menu ON ivr_options (menu_id, position);
CREATE INDEX ivr_options_target ON ivr_options (target_menu_id) WHERE target_menu_id IS NOT NULL;

CREATE TABLE ivr_flows (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL,
    name           text NOT NULL,
    description    text,
    start_menu_id  uuid NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, start_menu_id) REFERENCES ivr_menus (org_id, id)
);
CREATE INDEX ivr_flows_org_created ON ivr_flows (org_id, created_at DESC, id);
CREATE INDEX ivr_flows_start ON ivr_flows (start_menu_id);

CREATE TABLE ivr_flow_steps (
    id              uuid PRIMARY KEY,
    flow_id         uuid NOT NULL,
    org_id          uuid NOT NULL,
    position        integer NOT NULL,
    type            text NOT NULL
                    CHECK (type IN ('transfer', 'queue', 'menu', 'voicemail', 'hangup')),
    target          text,
    target_menu_id  uuid,
    conditions      jsonb,
    UNIQUE (flow_id, position),
    FOREIGN KEY (org_id, flow_id) REFERENCES ivr_flows (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, target_menu_id) REFERENCES ivr_menus (org_id, id),
    CHECK ((type = 'menu') = (target_menu_id IS NOT NULL))
);
CREATE INDEX ivr_flow_steps_target ON ivr_flow_steps (target_menu_id)
    WHERE target_menu_id IS NOT NULL;
