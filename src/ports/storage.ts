import type { ApiToken } from "../domain/api-token.ts";
import type { AuditEntry, NewAuditEntry } from "../domain/audit-entry.ts";
import type { Card } from "../domain/card.ts";
import type { Consent } from "../domain/consent.ts";
import type { CredentialOffer } from "../domain/credential-offer.ts";
import type { Escn } from "../domain/escn.ts";
import type { DomainEvent, StoredEvent } from "../domain/events.ts";
import type { IsoDate } from "../domain/iso-date.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import type { IssuerKeyRecord } from "../domain/issuer-key-record.ts";
import type {
  MirrorJob,
  MirrorJobKind,
  MirrorOutcome,
  MirrorSummary,
  NewMirrorJob,
} from "../domain/mirror-job.ts";
import type { Organisation } from "../domain/organisation.ts";
import type { Person, PersonLink } from "../domain/person.ts";
import type { Purpose } from "../domain/purpose.ts";
import type { StatusListRecord } from "../domain/status-list-record.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { Delivery, DeliveryState, NewDelivery, Subscription } from "../domain/subscription.ts";

/**
 * The storage port: the hub's whole state behind small repositories, with one rule — everything written
 * inside {@link Storage.transaction}, the outbox events included, commits together or not at all.
 *
 * ```ts
 * await storage.transaction(async (tx) => {
 *   const card = await tx.cards.insert(newCard);
 *   await tx.outbox.append([cardCreated(card)]);
 * });
 * ```
 */
export interface Storage {
  readonly engine: "sqlite" | "postgres";
  readonly capabilities: StorageCapabilities;
  /** Opens connections and applies pending migrations. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the store answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /**
   * Makes erased data unrecoverable from the store's files: called after an erasure or a retention purge
   * has committed, it drops whatever earlier copies of the changed data the store still keeps (a log,
   * freed pages).
   */
  scrub(): Promise<void>;
  /** Reads outside a transaction; they see committed data only. */
  readonly read: Repositories;
  /** Runs `work` in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /**
   * Calls `listener` soon after any process sharing the store commits events (PostgreSQL LISTEN/NOTIFY),
   * so that the relay and the event streams of every process wake at once; absent on a store no other
   * process writes to. Best effort: a lost notification only means waiting for the next poll.
   */
  watchCommits?(listener: () => void): Promise<{ stop(): Promise<void> }>;
}

export interface StorageCapabilities {
  /** Whether other processes can be told of commits (PostgreSQL LISTEN/NOTIFY). */
  readonly supportsListenNotify: boolean;
  /** Whether several hub processes may share this store. */
  readonly sharedBetweenProcesses: boolean;
}

export interface Repositories {
  readonly organisations: OrganisationRepository;
  readonly tokens: TokenRepository;
  readonly persons: PersonRepository;
  readonly statuses: StudentStatusRepository;
  readonly cards: CardRepository;
  readonly outbox: OutboxRepository;
  readonly consents: ConsentRepository;
  readonly audit: AuditRepository;
  readonly leases: LeaseRepository;
  readonly subscriptions: SubscriptionRepository;
  readonly deliveries: DeliveryRepository;
  readonly cursors: CursorRepository;
  readonly issuerKeys: IssuerKeyRepository;
  readonly credentials: CredentialRepository;
  readonly statusLists: StatusListRepository;
  readonly credentialOffers: CredentialOfferRepository;
  readonly nonces: NonceRepository;
  readonly syncState: ConnectorSyncRepository;
  readonly connectorRuns: ConnectorRunRepository;
  readonly connectorPresence: ConnectorPresenceRepository;
  readonly mirrorJobs: MirrorJobRepository;
}

/** Offset paging as ESC-R does it (page/size with totals). */
export interface OffsetPage {
  readonly offset: number;
  readonly limit: number;
  readonly sort: string;
  readonly direction: "ASC" | "DESC";
  readonly search: string | null;
}

/** Keyset paging for the native API: stable under concurrent inserts. */
export interface KeysetPage {
  /** Internal position of the last row seen, or 0 for the start. */
  readonly after: number;
  readonly limit: number;
}

export interface Counted<T> {
  readonly items: readonly T[];
  readonly total: number;
}

export interface Keyed<T> {
  readonly items: readonly T[];
  /** Position of the last item, for the next page's `after`; null when there is no next page. */
  readonly next: number | null;
}

export type NewOrganisation = Omit<Organisation, "seq" | "version">;

export interface OrganisationRepository {
  findById(id: string): Promise<Organisation | undefined>;
  findManyByIds(ids: readonly string[]): Promise<Organisation[]>;
  list(page: KeysetPage): Promise<Keyed<Organisation>>;
  /** Organisations that list `processorId` among their processors. */
  listProcessedBy(processorId: string): Promise<string[]>;
  insert(org: NewOrganisation): Promise<Organisation>;
  /** Writes `org` when the stored version is still `org.version`; returns the stored result, or undefined when stale. */
  update(org: Organisation): Promise<Organisation | undefined>;
}

export interface StoredToken extends ApiToken {
  readonly hash: string;
}

export interface TokenRepository {
  findByHash(hash: string): Promise<StoredToken | undefined>;
  findById(id: string): Promise<StoredToken | undefined>;
  listByOrganisation(organisationId: string): Promise<StoredToken[]>;
  insert(token: StoredToken): Promise<void>;
  revoke(id: string, at: string): Promise<void>;
}

export interface PersonQuery {
  /** Only persons linked to one of these organisations. */
  readonly organisationIds: readonly string[];
}

export interface PersonRepository {
  findByKey(esiKey: string): Promise<Person | undefined>;
  insert(person: Omit<Person, "id">): Promise<Person>;
  touch(personId: number, at: string): Promise<void>;
  delete(personId: number): Promise<void>;
  links(personId: number): Promise<PersonLink[]>;
  findLink(personId: number, organisationId: string): Promise<PersonLink | undefined>;
  upsertLink(link: PersonLink): Promise<void>;
  deleteLink(personId: number, organisationId: string): Promise<void>;
  /** ESC-R listing: each person once, with `fullName` of the first visible link; sort keys: identifier, fullName, createdAt. */
  listPaged(query: PersonQuery, page: OffsetPage): Promise<Counted<Person>>;
  listAfter(query: PersonQuery, page: KeysetPage): Promise<Keyed<Person>>;
  /** Persons no organisation is linked to and nothing (card, status) refers to: what retention removes. */
  listUnlinked(limit: number): Promise<Person[]>;
}

export interface StatusQuery {
  readonly organisationIds: readonly string[];
  readonly state: StudentStatus["state"] | null;
}

export interface StudentStatusRepository {
  find(personId: number, organisationId: string): Promise<StudentStatus | undefined>;
  listForPerson(personId: number): Promise<StudentStatus[]>;
  /** Inserts (version 1) or overwrites when the stored version is `expectedVersion`; undefined when stale. */
  save(
    status: Omit<StudentStatus, "version">,
    expectedVersion: number | null,
  ): Promise<StudentStatus | undefined>;
  delete(personId: number, organisationId: string): Promise<void>;
  /** Retention candidates: statuses in state `ended`, or whose `validUntil` is before `before`. */
  listEndedCandidates(before: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>>;
  /** Statuses whose `validUntil` lies between `from` and `through` (both inclusive), in keyset order (expiry job). */
  listEndingBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>>;
  listAfter(query: StatusQuery, page: KeysetPage): Promise<Keyed<StudentStatus>>;
}

export interface CardQuery {
  /** Cards issued by one of these organisations, or processed by `processorId`. */
  readonly issuerIds: readonly string[];
  readonly processorId: string | null;
  readonly status: Card["status"] | null;
}

/** What the public status needs, read in one step on the hot path. */
export interface PublicCardRecord {
  readonly escn: Escn;
  readonly status: Card["status"];
  readonly issuedAt: IsoDate;
  readonly expiresAt: IsoDate;
  readonly displayName: string | null;
  readonly issuerId: string;
  readonly issuerName: string;
  readonly issuerShowsDisplayName: boolean;
  /** Whether the holder has given (and not withdrawn) consent to `display-name-publication`. */
  readonly holderConsentsToDisplayName: boolean;
  /** The holder's internal number: what the audit trail records when the answer discloses displayName. */
  readonly personId: number;
}

export interface CardRepository {
  findByEscn(escn: Escn): Promise<Card | undefined>;
  /**
   * Like `findByEscn`, and until the transaction ends no other writer can change the card (a row lock on
   * PostgreSQL; on SQLite writers already run one at a time). Writes that read-modify-write a card use it,
   * so that concurrent writers wait for each other instead of failing on a stale version.
   */
  findForUpdate(escn: Escn): Promise<Card | undefined>;
  findPublic(escn: Escn): Promise<PublicCardRecord | undefined>;
  /**
   * {@link findPublic} without a promise, for a store that answers at once (SQLite): the public status
   * then reads and caches with nothing in between, and pays no promise per request.
   */
  findPublicNow?(escn: Escn): PublicCardRecord | undefined;
  insert(card: Omit<Card, "version">): Promise<Card>;
  /** Bulk path for loads of many cards in one transaction (connectors, fixtures). */
  insertMany(cards: readonly Omit<Card, "version">[]): Promise<number>;
  /** Writes `card` when the stored version is still `card.version`; undefined when stale. */
  update(card: Card): Promise<Card | undefined>;
  delete(escn: Escn): Promise<void>;
  countForPerson(personId: number, issuerIds: readonly string[]): Promise<number>;
  /** Every card of a person, whoever issued it (data-subject rights). */
  listForPerson(personId: number): Promise<Card[]>;
  /** Cards whose `expiresAt` is before `before`, oldest first (retention). */
  listExpiredBefore(before: IsoDate, limit: number): Promise<Card[]>;
  /** Cards whose `expiresAt` lies between `from` and `through` (both inclusive), in keyset order (expiry job). */
  listExpiringBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<Card>>;
  listPaged(query: CardQuery, page: OffsetPage): Promise<Counted<Card>>;
  listAfter(query: CardQuery, page: KeysetPage): Promise<Keyed<Card>>;
}

export interface OutboxRepository {
  append(events: readonly DomainEvent[]): Promise<void>;
  /** Events after a feed position, in commit order. */
  readAfter(position: number, limit: number): Promise<StoredEvent[]>;
  /** The newest event's position, or 0 when the feed is empty. */
  latestPosition(): Promise<number>;
  /** The events at these positions (those that still exist), in position order. */
  findByPositions(positions: readonly number[]): Promise<StoredEvent[]>;
  /**
   * Replaces an erased identifier in stored events by its pseudonym, wherever it is the subject or a data
   * value (compared case-insensitively); returns how many events changed.
   */
  pseudonymise(targets: readonly Pseudonymisation[]): Promise<number>;
}

/** One identifier to pseudonymise in the outbox (see {@link OutboxRepository.pseudonymise}). */
export interface Pseudonymisation {
  /** The identifier's matching key, in lower case (an ESI's key). */
  readonly key: string;
  readonly pseudonym: string;
  /**
   * Only events whose whole audience is among these organisations (the data of the organisations that
   * erased it); null for every event (nobody holds the identifier any more).
   */
  readonly audience: readonly string[] | null;
}

export interface ConsentRepository {
  find(personId: number, purpose: Purpose): Promise<Consent | undefined>;
  listForPerson(personId: number): Promise<Consent[]>;
  /** Consents given (not withdrawn) for `purpose`, among these persons: one query for a whole page. */
  givenAmong(personIds: readonly number[], purpose: Purpose): Promise<Set<number>>;
  save(consent: Consent): Promise<void>;
  deleteForPerson(personId: number): Promise<void>;
  /** Withdrawn consents whose withdrawal is older than `before`, removed; returns how many. */
  purgeWithdrawnBefore(before: string): Promise<number>;
}

export interface AuditQuery {
  /** Entries about these persons… */
  readonly personIds?: readonly number[];
  /** …or with these subjects (ESCNs, internal numbers)… */
  readonly subjects?: readonly string[];
  /** …or made by this organisation… */
  readonly organisationId?: string;
  /**
   * …or about persons linked to one of `organisationIds`, made by one of `madeBy` (the organisations that
   * may act for those links: what another tenant did with its own link of a shared student stays hidden;
   * card entries are matched by the next two fields only)…
   */
  readonly linkedPersons?: {
    readonly organisationIds: readonly string[];
    readonly madeBy: readonly string[];
  };
  /** …or about cards whose ESCN carries one of these issuers' PICs, by whoever made them (deleted cards too)… */
  readonly cardsIssuedBy?: readonly string[];
  /** …or about cards this card bureau processes. */
  readonly cardsProcessedBy?: string;
  /** Narrows all of the above to one person's trail (entries carrying this internal number)… */
  readonly onlyPersonId?: number;
  /** …and/or to one card's trail (its ESCN). */
  readonly onlyCard?: string;
}

/**
 * The audit trail. `append` gives each entry the next sequence number and its chain hash (see
 * `audit-entry.ts`) inside the caller's transaction, so the chain order is the commit order.
 */
export interface AuditRepository {
  append(entries: readonly NewAuditEntry[]): Promise<void>;
  /** Entries after `seq`, in order, for verification and paging. */
  readAfter(seq: number, limit: number): Promise<AuditEntry[]>;
  list(query: AuditQuery, page: KeysetPage): Promise<Keyed<AuditEntry>>;
  /** Where the chain starts: sequence number and hash of the last purged entry (0 and the genesis hash if none). */
  anchor(): Promise<{ seq: number; hash: string }>;
  /** Removes the entries up to `seq` (retention) and moves the anchor to the last one removed. */
  purgeThrough(seq: number): Promise<number>;
  /** Sequence number of the last entry made before `at`, or 0. */
  lastSeqBefore(at: string): Promise<number>;
  count(): Promise<number>;
}

/** Leases that let one process at a time run a job (relay, retention, expiry) among several. */
export interface LeaseRepository {
  /** Takes or renews the lease when it is free, expired, or already `holder`'s; true when `holder` has it. */
  tryAcquire(name: string, holder: string, now: string, until: string): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}

export type NewSubscription = Omit<
  Subscription,
  "seq" | "version" | "lastAttemptAt" | "lastStatus" | "lastError"
>;

/** Webhook subscriptions and their card sets. */
export interface SubscriptionRepository {
  insert(subscription: NewSubscription): Promise<Subscription>;
  find(id: string): Promise<Subscription | undefined>;
  /** Writes the changeable fields (url, description, types, issuer, cardSet, state, updatedAt) when the stored version is still `subscription.version`; undefined when stale. */
  update(subscription: Subscription): Promise<Subscription | undefined>;
  /** Removes the subscription with its card set and deliveries. */
  delete(id: string): Promise<void>;
  listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<Subscription>>;
  /** Every active subscription, for matching events (one query per batch). */
  listActive(): Promise<Subscription[]>;
  /** Adds ESCNs to the card set (ignoring those already in it); returns how many were added. */
  addCards(id: string, escns: readonly string[]): Promise<number>;
  /** Removes ESCNs from the card set; returns how many were removed. */
  removeCards(id: string, escns: readonly string[]): Promise<number>;
  countCards(id: string): Promise<number>;
  /** The card set in ESCN order, after `after` (exclusive; "" for the start). */
  listCards(id: string, after: string, limit: number): Promise<string[]>;
  /** For each of these ESCNs (compared exactly, as stored), the subscriptions whose card set holds it. */
  holdersOfCards(escns: readonly string[]): Promise<Map<string, string[]>>;
  /** Records the outcome of the latest delivery attempt, shown to the subscriber. */
  recordAttempt(id: string, at: string, status: number | null, error: string | null): Promise<void>;
}

/** A delivery handed to a sender, with the event it carries (undefined when the event was purged). */
export interface ClaimedDelivery {
  readonly delivery: Delivery;
  readonly event: StoredEvent | undefined;
}

export interface ClaimRequest {
  readonly now: string;
  /** Who claims (a process id): an unfinished claim blocks others until `until`. */
  readonly holder: string;
  readonly until: string;
  readonly limit: number;
  /** Subscriptions to leave out (those this sender already has enough in flight for). */
  readonly excludeSubscriptions: readonly string[];
}

/** Webhook deliveries: the queue of (subscription, event) pairs with their attempts. */
export interface DeliveryRepository {
  /** Queues deliveries, skipping those already queued for the same subscription and event; returns how many were added. */
  enqueue(deliveries: readonly NewDelivery[]): Promise<number>;
  /**
   * Claims up to `limit` pending deliveries that are due and not claimed by a live claim, oldest due first,
   * taking for each (subscription, subject key) only its earliest pending delivery by position: deliveries of
   * one subject go out in order, one at a time. Safe when several processes claim at once.
   */
  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /** The delivery went through: state `delivered`. */
  markDelivered(id: number, at: string, status: number): Promise<void>;
  /** The attempt failed: still pending until `nextAttemptAt`, or `dead` when that is null. Releases the claim. */
  markFailed(id: number, attempt: FailedAttempt): Promise<void>;
  find(subscriptionId: string, id: number): Promise<Delivery | undefined>;
  list(subscriptionId: string, state: DeliveryState | null, page: KeysetPage): Promise<Keyed<Delivery>>;
  /** Dead deliveries of the subscription (all of them, or those in `ids`) back to pending, due at `now`, attempts reset; returns how many. */
  redeliver(subscriptionId: string, ids: readonly number[] | null, now: string): Promise<number>;
  countByState(subscriptionId: string): Promise<Record<DeliveryState, number>>;
  /** Releases every claim `holder` has (a restarted process whose claims are its own); returns how many. */
  releaseClaims(holder: string): Promise<number>;
  /** Removes delivered deliveries older than `before` (retention); returns how many. */
  purgeDeliveredBefore(before: string): Promise<number>;
}

export interface FailedAttempt {
  readonly at: string;
  readonly status: number | null;
  readonly error: string;
  readonly nextAttemptAt: string | null;
}

/** Named positions that jobs keep between runs (the relay's place in the feed, the expiry job's last day). */
export interface CursorRepository {
  get(name: string): Promise<string | undefined>;
  /**
   * Like `get`, and no other transaction can read it with `getForUpdate` or change it until this one ends
   * (a row lock on PostgreSQL; SQLite writers already run one at a time): the dispatcher's turnstile.
   */
  getForUpdate(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
}

/** Issuer signing keys and the deployment's CA key (organisation null), private halves sealed. */
export interface IssuerKeyRepository {
  /**
   * Stores a key. An `active` key is refused (false) when its organisation (or the CA slot, for null)
   * already has an active one: two processes racing to make the first key end with one.
   */
  insert(key: IssuerKeyRecord): Promise<boolean>;
  find(id: string): Promise<IssuerKeyRecord | undefined>;
  /** The active key of an organisation, or of the CA when `organisationId` is null. */
  findActive(organisationId: string | null): Promise<IssuerKeyRecord | undefined>;
  /** Every key of an organisation (or the CA's), active and retired, newest first. */
  listForOrganisation(organisationId: string | null): Promise<IssuerKeyRecord[]>;
  /** Marks the organisation's active key retired at `at`; returns how many changed (0 or 1). */
  retireActive(organisationId: string | null, at: string): Promise<number>;
  /** Moves `publishedUntil` to `until` when that is later (or it was null). */
  extendPublishedUntil(id: string, until: string): Promise<void>;
  /** Removes retired keys whose `publishedUntil` (or `retiredAt`, when null) is before `before`; returns how many. */
  purgeRetiredBefore(before: string): Promise<number>;
}

/** What the hub remembers of each credential it issued. */
export interface CredentialRepository {
  /** Stores a credential; false when its (status list, index) entry is already taken, and nothing is written. */
  insert(credential: IssuedCredential): Promise<boolean>;
  find(id: string): Promise<IssuedCredential | undefined>;
  /** Credentials attesting this card (compared exactly), oldest first. */
  listForCard(escn: string): Promise<IssuedCredential[]>;
  /** Credentials of this holder, oldest first. */
  listForPerson(personId: number): Promise<IssuedCredential[]>;
  listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<IssuedCredential>>;
  /** Clears `escn` and `personId` on the holder's credentials (erasure); returns those it changed, as they were. */
  forgetPerson(personId: number): Promise<IssuedCredential[]>;
  /** Clears `escn` and `personId` on the card's credentials (the card was deleted); returns those it changed, as they were. */
  forgetCard(escn: string): Promise<IssuedCredential[]>;
  /** The latest `expiresAt` among credentials signed with key `keyId`, or null when none. */
  latestExpiryForKey(keyId: string): Promise<string | null>;
  /** Removes credentials that expired before `before` (retention); returns how many. */
  purgeExpiredBefore(before: string): Promise<number>;
}

export interface NewStatusList {
  readonly organisationId: string;
  readonly size: number;
  readonly bits: StatusListRecord["bits"];
  /** All entries zero (valid) at first: `size * bits / 8` bytes. */
  readonly createdAt: string;
}

/** The entries of a status list, for changing some of them. */
export interface StatusListEntries {
  readonly record: StatusListRecord;
  /** `size * bits / 8` bytes, owned by the caller. */
  readonly bytes: Uint8Array;
}

/** Token Status Lists: the entries of each list and its last signed token. */
export interface StatusListRepository {
  insert(list: NewStatusList): Promise<StatusListRecord>;
  find(id: number): Promise<StatusListRecord | undefined>;
  /** The open list of an organisation with the most room (any one when several are open), or undefined. */
  findOpen(organisationId: string): Promise<StatusListRecord | undefined>;
  /**
   * The list with its entries; no other writer can change it until the transaction ends (row lock on
   * PostgreSQL; SQLite writers already run one at a time).
   */
  findEntriesForUpdate(id: number): Promise<StatusListEntries | undefined>;
  /** Writes changed entries and moves `version` on by one; returns the new version. */
  saveEntries(id: number, bytes: Uint8Array, at: string): Promise<number>;
  /** Counts one more entry handed out; marks the list `full` when `allocated` reaches `fullAt`. */
  countAllocation(id: number, fullAt: number, at: string): Promise<void>;
  /**
   * Stores a token signed from `signedVersion`, unless a token from a later version is already stored
   * (two signers racing): returns whether it was stored.
   */
  saveToken(id: number, signedVersion: number, token: string, expiresAt: string): Promise<boolean>;
  /** Lists to sign (again): never signed, changed since signed, or whose token expires before `expiringBefore`. */
  listToSign(expiringBefore: string, limit: number): Promise<StatusListRecord[]>;
  listForOrganisation(organisationId: string): Promise<StatusListRecord[]>;
}

/** OpenID4VCI credential offers (pre-authorized code flow). */
export interface CredentialOfferRepository {
  insert(offer: Omit<CredentialOffer, "version">): Promise<CredentialOffer>;
  find(id: string): Promise<CredentialOffer | undefined>;
  findByPreAuthorizedCodeHash(hash: string): Promise<CredentialOffer | undefined>;
  findByAccessTokenHash(hash: string): Promise<CredentialOffer | undefined>;
  /** Writes the changeable fields (state, attempts, access token, redeemedAt, the pre-authorized code's hash) when the stored version is still `offer.version`; undefined when stale. */
  update(offer: CredentialOffer): Promise<CredentialOffer | undefined>;
  /** Removes offers that expired before `before`; returns how many. */
  purgeExpiredBefore(before: string): Promise<number>;
  /** Removes the holder's offers (erasure); returns how many. */
  deleteForPerson(personId: number): Promise<number>;
}

/** Single-use `c_nonce` values handed out by the Nonce Endpoint. */
export interface NonceRepository {
  insert(value: string, expiresAt: string): Promise<void>;
  /** Uses the nonce up: true when it existed and had not expired at `now` (it is removed either way). */
  consume(value: string, now: string): Promise<boolean>;
  /** Removes nonces that expired before `before`; returns how many. */
  purgeExpiredBefore(before: string): Promise<number>;
}

/*
 * Connectors (`src/connectors/`): what the sync engine reads and writes in bulk, the record of its runs,
 * and which persons each connector last found in its source.
 */

/** The hub's state for one batch of an organisation's records: what the sync engine compares them with. */
export interface SyncSnapshot {
  /** The persons with these ESI keys (those that exist). */
  readonly persons: readonly Person[];
  /** Their links at the organisation. */
  readonly links: readonly PersonLink[];
  /** Their statuses at the organisation. */
  readonly statuses: readonly StudentStatus[];
  /** Their cards from the organisation, and the cards named by ESCN, whoever issued or holds them. */
  readonly cards: readonly Card[];
}

/**
 * Bulk reads and writes for the sync engine: one statement per table for a whole batch, where the other
 * repositories take one row at a time. Writes here carry no events: the engine appends them, as services do.
 */
export interface ConnectorSyncRepository {
  snapshot(organisationId: string, esiKeys: readonly string[], escns: readonly Escn[]): Promise<SyncSnapshot>;
  /** Inserts new persons; returns them with their ids, in the order given. */
  insertPersons(persons: readonly Omit<Person, "id">[]): Promise<Person[]>;
  touchPersons(personIds: readonly number[], at: string): Promise<void>;
  /** Inserts or overwrites links, as {@link PersonRepository.upsertLink} does: a link keeps its `createdAt`. */
  upsertLinks(links: readonly PersonLink[]): Promise<void>;
  /**
   * Inserts new statuses (version 1), skipping any whose person already has one at that organisation (a
   * concurrent writer was first); returns how many were inserted.
   */
  insertStatuses(statuses: readonly Omit<StudentStatus, "version">[]): Promise<number>;
}

export type ConnectorRunState = "running" | "completed" | "failed";

/** What a run did, record by record; `rows` counts every item read, problems included. */
export interface ConnectorRunCounts {
  readonly rows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Persons the connector saw before and not in this run (ended or not yet). */
  readonly missing: number;
  readonly ended: number;
  readonly rejected: number;
}

/** One run of a connector for an organisation. Holds counts only: never a record or a problem. */
export interface ConnectorRun extends ConnectorRunCounts {
  readonly id: number;
  readonly connector: string;
  readonly organisationId: string;
  /** The source's description (`csv:students.csv`, `ldap://…`). */
  readonly source: string;
  /** `running` until it ends; a run whose process died stays `running`. */
  readonly state: ConnectorRunState;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
}

export type NewConnectorRun = Pick<ConnectorRun, "connector" | "organisationId" | "source" | "startedAt">;

/** The record of connector runs. */
export interface ConnectorRunRepository {
  /** Records a new run, `running`, all counts zero. */
  start(run: NewConnectorRun): Promise<ConnectorRun>;
  /** The counts so far: written with each batch, so that a run cut short shows how far it got. */
  recordCounts(id: number, counts: ConnectorRunCounts): Promise<void>;
  finish(
    id: number,
    state: Exclude<ConnectorRunState, "running">,
    counts: ConnectorRunCounts,
    at: string,
    error: string | null,
  ): Promise<void>;
  find(id: number): Promise<ConnectorRun | undefined>;
  /** The latest runs of a connector for an organisation, newest first. */
  listRecent(connector: string, organisationId: string, limit: number): Promise<ConnectorRun[]>;
  /**
   * An organisation's runs (of `connector` only, when given), newest first: `page.after` is the last run
   * already seen (0 for the newest), and `next` the run to continue below.
   */
  listByOrganisation(
    organisationId: string,
    connector: string | null,
    page: KeysetPage,
  ): Promise<Keyed<ConnectorRun>>;
}

/** That a connector found a person in its source for an organisation, when last, and since when not. */
export interface ConnectorPresence {
  readonly connector: string;
  readonly organisationId: string;
  readonly personId: number;
  /** The person's ESI, for the events of a withdrawal. */
  readonly esi: string;
  readonly esiKey: string;
  /** The run that last saw the person. */
  readonly runId: number;
  readonly seenAt: string;
  readonly missingSince: string | null;
}

/**
 * Which persons each connector found in its source, per organisation. A row refers to the person's link
 * at the organisation and goes with it (erasure, retention, the organisation removing the person).
 */
export interface ConnectorPresenceRepository {
  /** The run saw these persons (linked to the organisation) at `at`: `missingSince` is cleared. */
  markSeen(
    connector: string,
    organisationId: string,
    personIds: readonly number[],
    runId: number,
    at: string,
  ): Promise<void>;
  /**
   * Persons last seen before `seenBefore` (the start of the run that just completed) are missing since
   * `at`, unless they already were; returns how many are missing now.
   */
  markMissing(connector: string, organisationId: string, seenBefore: string, at: string): Promise<number>;
  /** Up to `limit` persons not seen since `seenBefore` and missing since `missingSince` or earlier. */
  listMissing(
    connector: string,
    organisationId: string,
    seenBefore: string,
    missingSince: string,
    limit: number,
  ): Promise<ConnectorPresence[]>;
  /** Every person the connector remembers for the organisation, in person order after `afterPersonId`. */
  list(
    connector: string,
    organisationId: string,
    afterPersonId: number,
    limit: number,
  ): Promise<ConnectorPresence[]>;
  /** Forgets these persons for the connector and organisation. */
  forget(connector: string, organisationId: string, personIds: readonly number[]): Promise<void>;
}

/*
 * The mirror to an ESC Router (`src/delivery/mirror-sender.ts`): one job per organisation and subject.
 */

export interface MirrorClaimRequest {
  readonly now: string;
  /** Who claims (a process id): an unfinished claim blocks others until `until`. */
  readonly holder: string;
  readonly until: string;
  readonly limit: number;
  /** Only jobs of these organisations (those with a mirror configured). */
  readonly organisationIds: readonly string[];
}

/**
 * The mirror queue. A job is one (organisation, kind, subject key): queuing a subject again while its job
 * is pending, done or refused makes it pending again, due at once, so that the queue never holds two
 * requests for one subject.
 */
export interface MirrorJobRepository {
  /**
   * Queues jobs: a new one, or an existing one made pending again (attempts reset) when the event is later
   * than the one that last queued it; a job with a null subject only queues a job that exists. At most one
   * job per (organisation, kind, subject key) in one call. Returns how many jobs were queued (new or again).
   */
  enqueue(jobs: readonly NewMirrorJob[]): Promise<number>;
  /** Claims up to `limit` pending jobs that are due and not claimed by a live claim, oldest due first. */
  claimDue(request: MirrorClaimRequest): Promise<MirrorJob[]>;
  /**
   * Records an attempt's outcome and releases the claim, unless the job was queued again meanwhile (its
   * position is no longer `position`): then it stays pending, due at once, and only the claim is released.
   */
  settle(id: number, position: number, outcome: MirrorOutcome): Promise<void>;
  find(organisationId: string, kind: MirrorJobKind, subjectKey: string): Promise<MirrorJob | undefined>;
  summary(organisationId: string): Promise<MirrorSummary>;
  /** Refused jobs of the organisation, in keyset order. */
  listRefused(organisationId: string, page: KeysetPage): Promise<Keyed<MirrorJob>>;
  /** Releases every claim `holder` has (a restarted process whose claims are its own); returns how many. */
  releaseClaims(holder: string): Promise<number>;
  /**
   * Removes refused jobs, and done ones that left the router holding nothing (a removal, or nothing to
   * send), settled before `before` (retention); returns how many.
   */
  purgeSettledBefore(before: string): Promise<number>;
  /** Removes the jobs of every organisation not among these (its mirror is no longer configured); returns how many. */
  purgeUnmirrored(organisationIds: readonly string[]): Promise<number>;
}
