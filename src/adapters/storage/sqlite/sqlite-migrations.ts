/**
 * Forward-only schema migrations of the embedded store. Never edit a migration that has shipped: add the
 * next one. `test/unit/sqlite-migrations.test.ts` upgrades a database made by the first version.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  /* 1: organisations, tokens, persons, statuses, cards, outbox */ `
  CREATE TABLE organisations (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    country TEXT,
    schac_home_organisation TEXT,
    erasmus_code TEXT,
    website TEXT,
    main_color TEXT,
    secondary_color TEXT,
    contrast_color TEXT,
    qr_color TEXT,
    show_display_name INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
  );
  CREATE TABLE organisation_relations (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    relation TEXT NOT NULL CHECK (relation IN ('serves', 'processor')),
    related_id TEXT NOT NULL,
    PRIMARY KEY (organisation_id, relation, related_id)
  ) WITHOUT ROWID;
  CREATE INDEX organisation_relations_related ON organisation_relations (related_id, relation);
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  );
  CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id);
  CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    esi TEXT NOT NULL,
    esi_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE person_links (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    full_name TEXT NOT NULL,
    academic_level TEXT,
    email TEXT,
    phone TEXT,
    fax TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (person_id, organisation_id)
  ) WITHOUT ROWID;
  CREATE INDEX person_links_organisation ON person_links (organisation_id, person_id);
  CREATE TABLE student_statuses (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    state TEXT NOT NULL CHECK (state IN ('enrolled', 'suspended', 'ended')),
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (person_id, organisation_id)
  );
  CREATE INDEX student_statuses_organisation ON student_statuses (organisation_id, id);
  CREATE TABLE cards (
    id INTEGER PRIMARY KEY,
    escn TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    issuer_id TEXT NOT NULL REFERENCES organisations(id),
    processor_id TEXT REFERENCES organisations(id),
    card_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    inactive_reason TEXT,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    display_name TEXT,
    chip_uid TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
  );
  CREATE INDEX cards_issuer ON cards (issuer_id, id);
  CREATE INDEX cards_processor ON cards (processor_id, id) WHERE processor_id IS NOT NULL;
  CREATE INDEX cards_person ON cards (person_id);
  CREATE TABLE outbox (
    -- AUTOINCREMENT: a position is never reused, even after the newest events are purged.
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at TEXT NOT NULL
  );
  `,
  /* 2: privacy — consents, the hash-chained audit trail and its anchor, leader leases */ `
  CREATE TABLE consents (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    purpose TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('given', 'withdrawn')),
    wording_version TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES organisations(id),
    given_at TEXT NOT NULL,
    withdrawn_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (person_id, purpose)
  ) WITHOUT ROWID;
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    organisation_id TEXT,
    token_id TEXT,
    action TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    person_id INTEGER,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_log_person ON audit_log (person_id, seq) WHERE person_id IS NOT NULL;
  CREATE INDEX audit_log_subject ON audit_log (subject, seq);
  CREATE INDEX audit_log_organisation ON audit_log (organisation_id, seq) WHERE organisation_id IS NOT NULL;
  -- The retention job looks for cards long expired.
  CREATE INDEX cards_expires_at ON cards (expires_at);
  CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
  );
  INSERT INTO audit_anchor (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  /* 3: event delivery — webhook subscriptions, their card sets, the delivery queue, job cursors */ `
  CREATE TABLE subscriptions (
    -- The rowid as keyset position (VACUUM keeps an INTEGER PRIMARY KEY; AUTOINCREMENT never reuses one);
    -- the subscription is known by its id.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT,
    types TEXT,
    issuer TEXT,
    card_set INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('active', 'paused')),
    start_after INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_attempt_at TEXT,
    last_status INTEGER,
    last_error TEXT
  );
  CREATE INDEX subscriptions_organisation ON subscriptions (organisation_id, seq);
  CREATE TABLE subscription_cards (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    escn TEXT NOT NULL,
    PRIMARY KEY (subscription_id, escn)
  ) WITHOUT ROWID;
  CREATE INDEX subscription_cards_escn ON subscription_cards (escn, subscription_id);
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    subject_key TEXT NOT NULL,
    projection TEXT NOT NULL CHECK (projection IN ('full', 'public')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    claimed_by TEXT,
    claimed_until TEXT,
    UNIQUE (subscription_id, event_id)
  );
  -- The earliest pending delivery of a subject, which alone may be claimed.
  CREATE INDEX deliveries_subject ON deliveries (subscription_id, subject_key, position) WHERE state = 'pending';
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
  CREATE INDEX deliveries_subscription ON deliveries (subscription_id, state, id);
  CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered';
  CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  -- The expiry job looks for statuses ending on given days.
  CREATE INDEX student_statuses_valid_until ON student_statuses (valid_until);
  `,
  /* 4: verifiable credentials — issuer keys, issued credentials, status lists, offers, nonces */ `
  CREATE TABLE issuer_keys (
    id TEXT PRIMARY KEY,
    -- NULL for the deployment's CA.
    organisation_id TEXT REFERENCES organisations(id),
    alg TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    certificate_chain TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('generated', 'imported')),
    state TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    created_at TEXT NOT NULL,
    retired_at TEXT,
    published_until TEXT
  ) WITHOUT ROWID;
  -- At most one active key per organisation, and one for the CA (the slot ''): of two processes racing to
  -- make the first key, one insert finds the other's row.
  CREATE UNIQUE INDEX issuer_keys_active ON issuer_keys (COALESCE(organisation_id, '')) WHERE state = 'active';
  CREATE INDEX issuer_keys_organisation ON issuer_keys (COALESCE(organisation_id, ''), created_at);
  CREATE TABLE status_lists (
    -- AUTOINCREMENT: a list's number is in its URL and is never given to another list.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    size INTEGER NOT NULL CHECK (size > 0),
    bits INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    allocated INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'full')),
    version INTEGER NOT NULL,
    signed_version INTEGER NOT NULL,
    token TEXT,
    token_expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX status_lists_organisation ON status_lists (organisation_id, state);
  -- The entries apart from the list: an update of the list (one more allocation, a new token) then neither
  -- reads nor rewrites them.
  CREATE TABLE status_list_entries (
    list_id INTEGER PRIMARY KEY REFERENCES status_lists(id),
    entries BLOB NOT NULL
  );
  CREATE TABLE issued_credentials (
    -- The rowid as keyset position; the credential is known by its id.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    -- No references to cards or persons: both are cleared when those go (see the repository).
    escn TEXT,
    person_id INTEGER,
    key_id TEXT NOT NULL,
    status_list_id INTEGER NOT NULL REFERENCES status_lists(id),
    status_index INTEGER NOT NULL,
    holder_key_thumbprint TEXT NOT NULL,
    offer_id TEXT,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- A status entry serves one credential, ever.
    UNIQUE (status_list_id, status_index)
  );
  CREATE INDEX issued_credentials_organisation ON issued_credentials (organisation_id, seq);
  CREATE INDEX issued_credentials_escn ON issued_credentials (escn) WHERE escn IS NOT NULL;
  CREATE INDEX issued_credentials_person ON issued_credentials (person_id) WHERE person_id IS NOT NULL;
  CREATE INDEX issued_credentials_key ON issued_credentials (key_id, expires_at);
  CREATE INDEX issued_credentials_expires_at ON issued_credentials (expires_at);
  CREATE TABLE credential_offers (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    escn TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    pre_authorized_code_hash TEXT NOT NULL UNIQUE,
    tx_code_hash TEXT,
    tx_code_length INTEGER,
    failed_tx_code_attempts INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('offered', 'token-issued', 'redeemed', 'locked')),
    access_token_hash TEXT UNIQUE,
    access_token_expires_at TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    redeemed_at TEXT,
    version INTEGER NOT NULL
  );
  CREATE INDEX credential_offers_person ON credential_offers (person_id);
  CREATE INDEX credential_offers_expires_at ON credential_offers (expires_at);
  CREATE TABLE credential_nonces (
    value TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX credential_nonces_expires_at ON credential_nonces (expires_at);
  `,
  /* 5: connectors — the record of their runs, and which persons each last found in its source */ `
  CREATE TABLE connector_runs (
    -- AUTOINCREMENT: a run's number is never given to another run.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connector TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    source TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0,
    ended INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE INDEX connector_runs_connector ON connector_runs (connector, organisation_id, id);
  -- A row refers to the person's link at the organisation and goes with it: whatever removes a link
  -- (erasure, retention, the organisation) removes what the connectors remember of it.
  CREATE TABLE connector_presence (
    connector TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    seen_at TEXT NOT NULL,
    missing_since TEXT,
    PRIMARY KEY (connector, organisation_id, person_id),
    FOREIGN KEY (person_id, organisation_id) REFERENCES person_links (person_id, organisation_id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX connector_presence_link ON connector_presence (person_id, organisation_id);
  `,
  /* 6: the mirror to an ESC Router — one job per organisation and subject, with its latest outcome */ `
  CREATE TABLE mirror_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'card')),
    -- The ESI or ESCN sent to the router; a person's ESI becomes its pseudonym once the router removed them.
    subject TEXT NOT NULL,
    -- What events still name the subject by after an erasure: the ESI's pseudonym, or the ESCN.
    subject_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'refused')),
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    operation TEXT CHECK (operation IN ('PUT', 'POST', 'DELETE')),
    last_attempt_at TEXT,
    last_status INTEGER,
    last_code TEXT,
    last_message TEXT,
    settled_at TEXT,
    claimed_by TEXT,
    claimed_until TEXT,
    UNIQUE (organisation_id, kind, subject_key)
  );
  CREATE INDEX mirror_jobs_due ON mirror_jobs (next_attempt_at, id) WHERE state = 'pending';
  CREATE INDEX mirror_jobs_organisation ON mirror_jobs (organisation_id, state, id);
  CREATE INDEX mirror_jobs_settled ON mirror_jobs (settled_at) WHERE state <> 'pending';
  `,
];
