/**
 * Forward-only schema migrations of the PostgreSQL store: the same tables and columns as the SQLite store
 * (`../sqlite/sqlite-migrations.ts`), so both adapters pass one conformance suite. Dates (`yyyy-MM-dd`) and
 * timestamps (ISO 8601, UTC) are kept as text, as on SQLite: they sort correctly as text, and no driver
 * or session time zone can shift them (a `DATE` read by `pg` becomes a local-midnight `Date`).
 * Applied at start-up under an advisory lock, so that processes starting together do not race.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  /* 1: organisations, tokens, persons, statuses, cards, outbox */ `
  CREATE TABLE organisations (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    kind text NOT NULL,
    name text NOT NULL,
    country text,
    schac_home_organisation text,
    erasmus_code text,
    website text,
    main_color text,
    secondary_color text,
    contrast_color text,
    qr_color text,
    show_display_name boolean NOT NULL DEFAULT false,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    version integer NOT NULL
  );
  CREATE TABLE organisation_relations (
    organisation_id text NOT NULL REFERENCES organisations(id),
    relation text NOT NULL CHECK (relation IN ('serves', 'processor')),
    related_id text NOT NULL,
    PRIMARY KEY (organisation_id, relation, related_id)
  );
  CREATE INDEX organisation_relations_related ON organisation_relations (related_id, relation);
  CREATE TABLE api_tokens (
    id text PRIMARY KEY,
    organisation_id text NOT NULL REFERENCES organisations(id),
    name text NOT NULL,
    hash text NOT NULL UNIQUE,
    scopes text NOT NULL,
    created_at text NOT NULL,
    expires_at text,
    revoked_at text
  );
  CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id);
  CREATE TABLE persons (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    esi text NOT NULL,
    esi_key text NOT NULL UNIQUE,
    created_at text NOT NULL,
    updated_at text NOT NULL
  );
  CREATE TABLE person_links (
    person_id bigint NOT NULL REFERENCES persons(id),
    organisation_id text NOT NULL REFERENCES organisations(id),
    full_name text NOT NULL,
    academic_level text,
    email text,
    phone text,
    fax text,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    PRIMARY KEY (person_id, organisation_id)
  );
  CREATE INDEX person_links_organisation ON person_links (organisation_id, person_id);
  CREATE TABLE student_statuses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES persons(id),
    organisation_id text NOT NULL REFERENCES organisations(id),
    state text NOT NULL CHECK (state IN ('enrolled', 'suspended', 'ended')),
    valid_from text NOT NULL,
    valid_until text,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    version integer NOT NULL,
    UNIQUE (person_id, organisation_id)
  );
  CREATE INDEX student_statuses_organisation ON student_statuses (organisation_id, id);
  CREATE TABLE cards (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    escn text NOT NULL UNIQUE,
    person_id bigint NOT NULL REFERENCES persons(id),
    issuer_id text NOT NULL REFERENCES organisations(id),
    processor_id text REFERENCES organisations(id),
    card_type text NOT NULL,
    status text NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    inactive_reason text,
    issued_at text NOT NULL,
    expires_at text NOT NULL,
    display_name text,
    chip_uid text,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    version integer NOT NULL
  );
  CREATE INDEX cards_issuer ON cards (issuer_id, id);
  CREATE INDEX cards_processor ON cards (processor_id, id) WHERE processor_id IS NOT NULL;
  CREATE INDEX cards_person ON cards (person_id);
  CREATE TABLE outbox (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    type text NOT NULL,
    subject text NOT NULL,
    audience text NOT NULL,
    data text NOT NULL,
    occurred_at text NOT NULL
  );
  `,
  /* 2: privacy — consents, the hash-chained audit trail and its anchor, leader leases */ `
  CREATE TABLE consents (
    person_id bigint NOT NULL REFERENCES persons(id),
    purpose text NOT NULL,
    state text NOT NULL CHECK (state IN ('given', 'withdrawn')),
    wording_version text NOT NULL,
    recorded_by text NOT NULL REFERENCES organisations(id),
    given_at text NOT NULL,
    withdrawn_at text,
    updated_at text NOT NULL,
    PRIMARY KEY (person_id, purpose)
  );
  CREATE TABLE audit_log (
    seq bigint PRIMARY KEY,
    at text NOT NULL,
    organisation_id text,
    token_id text,
    action text NOT NULL,
    purpose text NOT NULL,
    subject_type text NOT NULL,
    subject text NOT NULL,
    person_id bigint,
    prev_hash text NOT NULL,
    hash text NOT NULL
  );
  CREATE INDEX audit_log_person ON audit_log (person_id, seq) WHERE person_id IS NOT NULL;
  CREATE INDEX audit_log_subject ON audit_log (subject, seq);
  CREATE INDEX audit_log_organisation ON audit_log (organisation_id, seq) WHERE organisation_id IS NOT NULL;
  CREATE INDEX cards_expires_at ON cards (expires_at);
  CREATE TABLE audit_anchor (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL
  );
  INSERT INTO audit_anchor (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
  CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at text NOT NULL
  );
  `,
  /* 3: event delivery — webhook subscriptions, their card sets, the delivery queue, job cursors */ `
  CREATE TABLE subscriptions (
    id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    organisation_id text NOT NULL REFERENCES organisations(id),
    url text NOT NULL,
    secret text NOT NULL,
    description text,
    types text,
    issuer text,
    card_set boolean NOT NULL DEFAULT false,
    state text NOT NULL CHECK (state IN ('active', 'paused')),
    start_after bigint NOT NULL,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    version integer NOT NULL,
    last_attempt_at text,
    last_status integer,
    last_error text
  );
  CREATE INDEX subscriptions_organisation ON subscriptions (organisation_id, seq);
  -- ESCNs in byte order, as SQLite keeps them, whatever the database's locale.
  CREATE TABLE subscription_cards (
    subscription_id text NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    escn text COLLATE "C" NOT NULL,
    PRIMARY KEY (subscription_id, escn)
  );
  CREATE INDEX subscription_cards_escn ON subscription_cards (escn, subscription_id);
  -- Timestamps compared and ordered as text in byte order (COLLATE "C"), as on SQLite.
  CREATE TABLE deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    event_id text NOT NULL,
    position bigint NOT NULL,
    subject_key text NOT NULL,
    projection text NOT NULL CHECK (projection IN ('full', 'public')),
    state text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    created_at text NOT NULL,
    next_attempt_at text COLLATE "C" NOT NULL,
    last_attempt_at text,
    last_status integer,
    last_error text,
    delivered_at text COLLATE "C",
    claimed_by text,
    claimed_until text COLLATE "C",
    UNIQUE (subscription_id, event_id)
  );
  -- The earliest pending delivery of a subject, which alone may be claimed.
  CREATE INDEX deliveries_subject ON deliveries (subscription_id, subject_key, position) WHERE state = 'pending';
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
  CREATE INDEX deliveries_subscription ON deliveries (subscription_id, state, id);
  CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered';
  CREATE TABLE cursors (
    name text PRIMARY KEY,
    value text NOT NULL
  );
  -- The expiry job looks for statuses ending on given days (compared as text in byte order).
  CREATE INDEX student_statuses_valid_until ON student_statuses ((valid_until COLLATE "C"));
  `,
];
