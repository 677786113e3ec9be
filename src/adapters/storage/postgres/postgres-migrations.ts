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
  /* 4: verifiable credentials — issuer keys, issued credentials, status lists, offers, nonces */ `
  -- Timestamps that are compared or ordered are COLLATE "C" (byte order, as on SQLite).
  CREATE TABLE issuer_keys (
    id text PRIMARY KEY,
    -- NULL for the deployment's CA.
    organisation_id text REFERENCES organisations(id),
    alg text NOT NULL,
    public_jwk text NOT NULL,
    sealed_private_key text NOT NULL,
    certificate_chain text NOT NULL,
    origin text NOT NULL CHECK (origin IN ('generated', 'imported')),
    state text NOT NULL CHECK (state IN ('active', 'retired')),
    created_at text COLLATE "C" NOT NULL,
    retired_at text COLLATE "C",
    published_until text COLLATE "C"
  );
  -- At most one active key per organisation, and one for the CA (the slot ''): of two processes racing to
  -- make the first key, the second insert waits for the first and then finds its row.
  CREATE UNIQUE INDEX issuer_keys_active ON issuer_keys ((COALESCE(organisation_id, ''))) WHERE state = 'active';
  CREATE INDEX issuer_keys_organisation ON issuer_keys ((COALESCE(organisation_id, '')), created_at);
  CREATE TABLE status_lists (
    -- An identity is never handed out twice: a list's number is in its URL.
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id text NOT NULL REFERENCES organisations(id),
    size integer NOT NULL CHECK (size > 0),
    bits integer NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    allocated integer NOT NULL,
    state text NOT NULL CHECK (state IN ('open', 'full')),
    version integer NOT NULL,
    signed_version integer NOT NULL,
    token text,
    token_expires_at text COLLATE "C",
    created_at text NOT NULL,
    updated_at text NOT NULL
  );
  CREATE INDEX status_lists_organisation ON status_lists (organisation_id, state);
  -- The entries apart from the list, as on SQLite.
  CREATE TABLE status_list_entries (
    list_id bigint PRIMARY KEY REFERENCES status_lists(id),
    entries bytea NOT NULL
  );
  CREATE TABLE issued_credentials (
    id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    organisation_id text NOT NULL REFERENCES organisations(id),
    -- No references to cards or persons: both are cleared when those go (see the repository).
    escn text,
    person_id bigint,
    key_id text NOT NULL,
    status_list_id bigint NOT NULL REFERENCES status_lists(id),
    status_index integer NOT NULL,
    holder_key_thumbprint text NOT NULL,
    offer_id text,
    issued_at text COLLATE "C" NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    -- A status entry serves one credential, ever.
    UNIQUE (status_list_id, status_index)
  );
  CREATE INDEX issued_credentials_organisation ON issued_credentials (organisation_id, seq);
  CREATE INDEX issued_credentials_escn ON issued_credentials (escn) WHERE escn IS NOT NULL;
  CREATE INDEX issued_credentials_person ON issued_credentials (person_id) WHERE person_id IS NOT NULL;
  CREATE INDEX issued_credentials_key ON issued_credentials (key_id, expires_at);
  CREATE INDEX issued_credentials_expires_at ON issued_credentials (expires_at);
  CREATE TABLE credential_offers (
    id text PRIMARY KEY,
    organisation_id text NOT NULL REFERENCES organisations(id),
    escn text NOT NULL,
    person_id bigint NOT NULL,
    pre_authorized_code_hash text NOT NULL UNIQUE,
    tx_code_hash text,
    tx_code_length integer,
    failed_tx_code_attempts integer NOT NULL,
    state text NOT NULL CHECK (state IN ('offered', 'token-issued', 'redeemed', 'locked')),
    access_token_hash text UNIQUE,
    access_token_expires_at text,
    created_at text NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    redeemed_at text,
    version integer NOT NULL
  );
  CREATE INDEX credential_offers_person ON credential_offers (person_id);
  CREATE INDEX credential_offers_expires_at ON credential_offers (expires_at);
  CREATE TABLE credential_nonces (
    value text PRIMARY KEY,
    expires_at text COLLATE "C" NOT NULL
  );
  CREATE INDEX credential_nonces_expires_at ON credential_nonces (expires_at);
  `,
  /* 5: connectors — the record of their runs, and which persons each last found in its source */ `
  CREATE TABLE connector_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector text NOT NULL,
    organisation_id text NOT NULL REFERENCES organisations(id),
    source text NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    started_at text NOT NULL,
    finished_at text,
    rows_read bigint NOT NULL DEFAULT 0,
    created bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    unchanged bigint NOT NULL DEFAULT 0,
    missing bigint NOT NULL DEFAULT 0,
    ended bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    error text
  );
  CREATE INDEX connector_runs_connector ON connector_runs (connector, organisation_id, id);
  -- A row refers to the person's link at the organisation and goes with it, as on SQLite. Timestamps
  -- are compared in byte order (COLLATE "C"), as on SQLite.
  CREATE TABLE connector_presence (
    connector text NOT NULL,
    organisation_id text NOT NULL,
    person_id bigint NOT NULL,
    run_id bigint NOT NULL,
    seen_at text COLLATE "C" NOT NULL,
    missing_since text COLLATE "C",
    PRIMARY KEY (connector, organisation_id, person_id),
    FOREIGN KEY (person_id, organisation_id) REFERENCES person_links (person_id, organisation_id) ON DELETE CASCADE
  );
  CREATE INDEX connector_presence_link ON connector_presence (person_id, organisation_id);
  `,
  /* 6: the mirror to an ESC Router — one job per organisation and subject, with its latest outcome */ `
  -- Timestamps that are compared or ordered are COLLATE "C" (byte order, as on SQLite).
  CREATE TABLE mirror_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('person', 'card')),
    -- The ESI or ESCN sent to the router; a person's ESI becomes its pseudonym once the router removed them.
    subject text NOT NULL,
    -- What events still name the subject by after an erasure: the ESI's pseudonym, or the ESCN.
    subject_key text NOT NULL,
    position bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'done', 'refused')),
    attempts integer NOT NULL DEFAULT 0,
    queued_at text NOT NULL,
    next_attempt_at text COLLATE "C" NOT NULL,
    operation text CHECK (operation IN ('PUT', 'POST', 'DELETE')),
    last_attempt_at text COLLATE "C",
    last_status integer,
    last_code text,
    last_message text,
    settled_at text COLLATE "C",
    claimed_by text,
    claimed_until text COLLATE "C",
    UNIQUE (organisation_id, kind, subject_key)
  );
  CREATE INDEX mirror_jobs_due ON mirror_jobs (next_attempt_at, id) WHERE state = 'pending';
  CREATE INDEX mirror_jobs_organisation ON mirror_jobs (organisation_id, state, id);
  CREATE INDEX mirror_jobs_settled ON mirror_jobs (settled_at) WHERE state <> 'pending';
  `,
];
