import { type Card, type CardStatus, INACTIVE_REASONS, type InactiveReason } from "../domain/card.ts";
import { parseCardType } from "../domain/card-type.ts";
import { cardVerdict, publicCardStatus, type Verdict } from "../domain/card-verdict.ts";
import {
  ConflictError,
  type ErrorCode,
  ForbiddenError,
  InvalidValueError,
  isOpenEscError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
} from "../domain/errors.ts";
import { type Escn, escnPic, generateEscn, generateEscns, parseEscn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import type { DomainEvent } from "../domain/events.ts";
import { type IsoDate, parseIsoDate } from "../domain/iso-date.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import { parsePic } from "../domain/pic.ts";
import type {
  CardQuery,
  Counted,
  Keyed,
  KeysetPage,
  OffsetPage,
  PublicCardRecord,
  Repositories,
} from "../ports/storage.ts";
import type { AuditSubject } from "./audit-trail.ts";
import { mayActFor, type Principal, requireStudentDataHolder } from "./principal.ts";
import type { PublicStatusCache, StatusCacheStats } from "./public-status-cache.ts";
import type { ServiceContext } from "./service-context.ts";
import { today } from "./today.ts";

/** Rounds of an ESC-R PUT that lost the race to another writer of the same card, before a 503. */
const PUT_ATTEMPTS = 10;

/** The ESC-R write view, as received. */
export interface CardInput {
  readonly cardNumber?: string | null;
  readonly cardStatusType: string;
  readonly cardType: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly issuerIdentifier: string | number;
  readonly personIdentifier: string;
  readonly displayName?: string | null;
  readonly processorIdentifier?: string | null;
}

/** The writes {@link CardService.checkWrites} checks, by ESC-R's names for them. */
export type CardWrite = "CREATE" | "UPDATE" | "DELETE";

/** A part of a card write the service would refuse: the field at fault, the error's code and why. */
export interface CardWriteProblem {
  readonly field: string;
  readonly code: ErrorCode;
  readonly reason: string;
}

/** The native partial update; absent fields are left as they are. */
export interface CardPatch {
  readonly status?: string;
  readonly inactiveReason?: string | null;
  readonly expiresAt?: string;
  readonly displayName?: string | null;
}

/** A card with what its views need: its organisations, its holder's name as the issuer knows it, its verdict. */
export interface CardDetails {
  readonly card: Card;
  readonly issuer: Organisation;
  readonly processor: Organisation | null;
  readonly holderName: string;
  readonly verdict: Verdict;
  /** Whether the holder has consented to `status-sharing` (ESC-R's `hasOwnerAuthorization`). */
  readonly holderAuthorisesSharing: boolean;
}

/** The public status view of ESC-R (no personal data unless the issuer shows displayName). */
export interface PublicCardStatusView {
  readonly cardNumber: string;
  readonly displayName?: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly issuerIdentifier: string;
  readonly issuerName: string;
  readonly status: "ACTIVE" | "INACTIVE" | "EXPIRED";
}

export interface CardServiceOptions {
  readonly escnPrefix: string;
  readonly maxGeneratedEscns: number;
  readonly cache: PublicStatusCache;
}

/** Cards: issue, change, withdraw, list, and the public status anyone may read by ESCN. */
export class CardService {
  readonly #ctx: ServiceContext;
  readonly #options: CardServiceOptions;

  constructor(ctx: ServiceContext, options: CardServiceOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  async create(caller: Principal, input: CardInput): Promise<Card> {
    requireStudentDataHolder(caller, "cards:write");
    const issuerId = parsePic(input.issuerIdentifier, "issuerIdentifier");
    const escn =
      input.cardNumber == null || input.cardNumber === ""
        ? generateEscn({ prefix: this.#options.escnPrefix, pic: issuerId })
        : givenCardNumber(input.cardNumber, issuerId);
    const fields = this.#checkFields(input);
    const now = this.#ctx.clock.now().toISOString();
    const card = await this.#ctx.storage.transaction(async (tx) => {
      await this.#checkIssuer(tx, caller, issuerId);
      const processorId = await this.#checkProcessor(tx, caller, input.processorIdentifier);
      const personId = await this.#linkedPerson(tx, input.personIdentifier, issuerId);
      await checkUnused(tx, escn);
      const created = await tx.cards.insert({
        escn,
        personId: personId.id,
        esi: personId.esi,
        issuerId,
        processorId,
        ...fields,
        chipUid: null,
        createdAt: now,
        updatedAt: now,
      });
      await tx.outbox.append([cardEvent("card.created", created, now)]);
      await this.#ctx.audit.recordIn(tx, caller, "create", [cardSubject(created)]);
      return created;
    });
    this.#options.cache.invalidate(escn);
    return card;
  }

  async get(caller: Principal, escnText: string): Promise<Card> {
    requireStudentDataHolder(caller, "cards:read");
    const card = await this.#findVisible(this.#ctx.storage.read, caller, parseEscn(escnText, "escn"));
    this.#ctx.audit.recordRead(caller, "read", [cardSubject(card)]);
    return card;
  }

  /** ESC-R PUT: the whole write view; last writer wins, as in ESC-R, but every write is whole. */
  async update(caller: Principal, escnText: string, input: CardInput): Promise<Card> {
    requireStudentDataHolder(caller, "cards:write");
    const escn = parseEscn(escnText, "escn");
    if (
      input.cardNumber != null &&
      input.cardNumber !== "" &&
      parseEscn(input.cardNumber, "cardNumber") !== escn
    ) {
      throw new InvalidValueError(
        "ESCN_INVALID",
        "cardNumber",
        "must be the ESCN of the card in the path (or left out)",
      );
    }
    const issuerId = parsePic(input.issuerIdentifier, "issuerIdentifier");
    const fields = this.#checkFields(input);
    const now = this.#ctx.clock.now().toISOString();
    // No precondition here: a version that moved between our read and our write (another process wrote
    // the card meanwhile, on a shared store) means "read again and write whole", not a 412.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#write(escn, async (tx) => {
          const current = await this.#findVisible(tx, caller, escn, true);
          checkSameIssuer(current, issuerId);
          const processorId = await this.#checkProcessor(tx, caller, input.processorIdentifier);
          const person = await this.#linkedPerson(tx, input.personIdentifier, issuerId);
          const inactiveReason: InactiveReason | null =
            fields.status === "ACTIVE" ? null : (current.inactiveReason ?? "unspecified");
          return this.#save(tx, caller, {
            ...current,
            ...fields,
            inactiveReason,
            processorId,
            personId: person.id,
            esi: person.esi,
            updatedAt: now,
          });
        });
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        if (attempt >= PUT_ATTEMPTS) {
          throw new UnavailableError("the card is being changed by many writers at once, try again shortly");
        }
      }
    }
  }

  /** Native partial update with optimistic concurrency (`If-Match` gives `expectedVersion`). */
  async patch(
    caller: Principal,
    escnText: string,
    patch: CardPatch,
    expectedVersion: number | null,
  ): Promise<Card> {
    requireStudentDataHolder(caller, "cards:write");
    const escn = parseEscn(escnText, "escn");
    const now = this.#ctx.clock.now().toISOString();
    return this.#write(escn, async (tx) => {
      const current = await this.#findVisible(tx, caller, escn, true);
      if (expectedVersion !== null && expectedVersion !== current.version)
        throw new PreconditionFailedError();
      const status = patch.status === undefined ? current.status : parseCardStatus(patch.status, "/status");
      let inactiveReason: InactiveReason | null = null;
      if (status === "INACTIVE") {
        inactiveReason =
          patch.inactiveReason == null
            ? (current.inactiveReason ?? "unspecified")
            : parseInactiveReason(patch.inactiveReason);
      } else if (patch.inactiveReason != null) {
        throw new InvalidValueError(
          "VALIDATION_FAILED",
          "/inactiveReason",
          "only an INACTIVE card has a reason",
        );
      }
      const expiresAt =
        patch.expiresAt === undefined ? current.expiresAt : parseIsoDate(patch.expiresAt, "/expiresAt");
      if (expiresAt < current.issuedAt) {
        throw new InvalidValueError("DATE_RANGE_INVALID", "/expiresAt", "must not be before issuedAt");
      }
      const displayName =
        patch.displayName === undefined
          ? current.displayName
          : checkDisplayName(patch.displayName, "/displayName");
      return this.#save(tx, caller, {
        ...current,
        status,
        inactiveReason,
        expiresAt,
        displayName,
        updatedAt: now,
      });
    });
  }

  async delete(caller: Principal, escnText: string): Promise<void> {
    requireStudentDataHolder(caller, "cards:write");
    const escn = parseEscn(escnText, "escn");
    const now = this.#ctx.clock.now().toISOString();
    await this.#write(escn, async (tx) => {
      const card = await this.#findVisible(tx, caller, escn, true);
      await tx.cards.delete(escn);
      await tx.outbox.append([cardEvent("card.deleted", card, now)]);
      await this.#ctx.audit.recordIn(tx, caller, "delete", [cardSubject(card)]);
      return card;
    });
  }

  /**
   * What `create`, `update` or `delete` would refuse in each of `inputs`, found with the same checks but
   * without writing or recording anything (ESC-R's dry run of a card CSV; `UPDATE` and `DELETE` take the
   * card from `cardNumber`). Per input, one problem per independent part (the card's number and issuer, its
   * fields, its processor, its holder); none when the write would go through. The holder is checked only
   * once the caller may write the issuer's cards, as the writes do, so that nothing tells whether a student
   * is linked to another organisation.
   */
  async checkWrites(
    caller: Principal,
    write: CardWrite,
    inputs: readonly CardInput[],
  ): Promise<CardWriteProblem[][]> {
    requireStudentDataHolder(caller, "cards:write");
    const read = this.#ctx.storage.read;
    const answers: CardWriteProblem[][] = [];
    for (const input of inputs) {
      const problems: CardWriteProblem[] = [];
      const check = async (field: string, step: () => unknown): Promise<boolean> => {
        try {
          await step();
          return true;
        } catch (error) {
          if (!isOpenEscError(error)) throw error;
          const issue = error.issues[0];
          problems.push({
            field: issue?.field ?? field,
            code: error.code,
            reason: issue?.reason ?? error.message,
          });
          return false;
        }
      };
      const escn = () => parseEscn(input.cardNumber ?? "", "cardNumber");
      if (write === "DELETE") {
        await check("cardNumber", () => this.#findVisible(read, caller, escn()));
        answers.push(problems);
        continue;
      }
      let issuerId = "";
      let mayWrite: boolean;
      if (write === "UPDATE") {
        mayWrite = await check("cardNumber", async () => {
          issuerId = parsePic(input.issuerIdentifier, "issuerIdentifier");
          checkSameIssuer(await this.#findVisible(read, caller, escn()), issuerId);
        });
      } else {
        mayWrite = await check("issuerIdentifier", async () => {
          issuerId = parsePic(input.issuerIdentifier, "issuerIdentifier");
          await this.#checkIssuer(read, caller, issuerId);
        });
        const given = input.cardNumber;
        if (mayWrite && given != null && given !== "") {
          await check("cardNumber", () => checkUnused(read, givenCardNumber(given, issuerId)));
        }
      }
      await check("", () => this.#checkFields(input));
      await check("processorIdentifier", () => this.#checkProcessor(read, caller, input.processorIdentifier));
      if (mayWrite)
        await check("personIdentifier", () => this.#linkedPerson(read, input.personIdentifier, issuerId));
      answers.push(problems);
    }
    return answers;
  }

  async listPaged(caller: Principal, page: OffsetPage): Promise<Counted<Card>> {
    requireStudentDataHolder(caller, "cards:read");
    const result = await this.#ctx.storage.read.cards.listPaged(this.#query(caller, null), page);
    this.#ctx.audit.recordRead(caller, "read", result.items.map(cardSubject));
    return result;
  }

  async listAfter(caller: Principal, status: CardStatus | null, page: KeysetPage): Promise<Keyed<Card>> {
    requireStudentDataHolder(caller, "cards:read");
    const result = await this.#ctx.storage.read.cards.listAfter(this.#query(caller, status), page);
    this.#ctx.audit.recordRead(caller, "read", result.items.map(cardSubject));
    return result;
  }

  /** Today in the hub's calendar, which decides EXPIRED. */
  today(): IsoDate {
    return today(this.#ctx);
  }

  /** Cards the caller has already been allowed to see, with their organisations, holder name and verdict. */
  async details(cards: readonly Card[]): Promise<CardDetails[]> {
    const read = this.#ctx.storage.read;
    const ids = new Set<string>();
    for (const card of cards) {
      ids.add(card.issuerId);
      if (card.processorId !== null) ids.add(card.processorId);
    }
    const organisations = new Map((await read.organisations.findManyByIds([...ids])).map((o) => [o.id, o]));
    const sharing = await read.consents.givenAmong(
      [...new Set(cards.map((c) => c.personId))],
      "status-sharing",
    );
    const day = today(this.#ctx);
    return Promise.all(
      cards.map(async (card) => {
        const issuer = organisations.get(card.issuerId);
        if (!issuer) throw new TypeError(`card ${card.escn} has no issuer ${card.issuerId}`);
        const link = await read.persons.findLink(card.personId, card.issuerId);
        const statuses = await read.statuses.listForPerson(card.personId);
        return {
          card,
          issuer,
          processor: card.processorId === null ? null : (organisations.get(card.processorId) ?? null),
          holderName: link?.fullName ?? "",
          verdict: cardVerdict(card, issuer, statuses, day),
          holderAuthorisesSharing: sharing.has(card.personId),
        };
      }),
    );
  }

  /**
   * The public status as a JSON body, from the cache when possible. No token; no personal data unless the
   * issuer has chosen to show `displayName` and the holder consents to it (`display-name-publication`;
   * `ConsentService` invalidates the holder's cards when that consent changes). An answer that shows it is recorded in the audit trail (no
   * principal), cached or not; `shown: false` is for callers that only check that the card exists and
   * show nothing of the answer (the QR code).
   */
  async publicStatusJson(escnText: string, shown = true): Promise<string> {
    return this.publicStatus(escnText, shown);
  }

  /**
   * {@link publicStatusJson} for the status route: without a promise when the store answers at once
   * (SQLite), so that the store is read and the answer cached with nothing in between, and no promise is
   * paid per request. Throws where {@link publicStatusJson} rejects.
   */
  publicStatus(escnText: string, shown = true): string | Promise<string> {
    const escn = parseEscn(escnText, "escn");
    const day = today(this.#ctx);
    const cached = this.#options.cache.lookup(escn, day);
    if (cached !== undefined) {
      if (shown) this.#auditDisclosure(escn, cached.disclosedPersonId);
      return cached.body;
    }
    const ticket = this.#options.cache.ticket();
    const cards = this.#ctx.storage.read.cards;
    if (cards.findPublicNow) return this.#publicBody(escn, day, shown, ticket, cards.findPublicNow(escn));
    return cards.findPublic(escn).then((record) => this.#publicBody(escn, day, shown, ticket, record));
  }

  #publicBody(
    escn: Escn,
    day: IsoDate,
    shown: boolean,
    ticket: number,
    record: PublicCardRecord | undefined,
  ): string {
    if (!record) throw new NotFoundError("CARD_NOT_FOUND", "no card with this number");
    const view: PublicCardStatusView = {
      cardNumber: record.escn,
      ...(record.issuerShowsDisplayName && record.holderConsentsToDisplayName && record.displayName !== null
        ? { displayName: record.displayName }
        : {}),
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
      issuerIdentifier: record.issuerId,
      issuerName: record.issuerName,
      status: publicCardStatus(record, day),
    };
    const body = JSON.stringify(view);
    const disclosedPersonId = view.displayName === undefined ? null : record.personId;
    this.#options.cache.set(escn, day, body, ticket, disclosedPersonId);
    if (shown) this.#auditDisclosure(escn, disclosedPersonId);
    return body;
  }

  /** Hits, misses and size of the public status cache (exposed at /metrics). */
  statusCacheStats(): StatusCacheStats {
    return this.#options.cache.stats;
  }

  #auditDisclosure(escn: Escn, personId: number | null): void {
    if (personId === null) return;
    this.#ctx.audit.recordRead(
      null,
      "read",
      [{ type: "card", subject: escn, personId }],
      "display-name-publication",
    );
  }

  /** Fresh ESCNs for an issuer; anyone may ask (ESC-R serves this without a token), at most a documented number. */
  generate(prefix: string, picText: string, count: number): Escn[] {
    if (!/^\d{1,3}$/.test(prefix)) {
      throw new InvalidValueError(
        "ESCN_INVALID",
        "prefix",
        "must be a number from 0 to 999 (3 digits in the ESCN)",
      );
    }
    const pic = parsePic(picText, "pic");
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidValueError("ESCN_BATCH_TOO_LARGE", "numberOfESCN", "must be at least 1");
    }
    if (count > this.#options.maxGeneratedEscns) {
      throw new InvalidValueError(
        "ESCN_BATCH_TOO_LARGE",
        "numberOfESCN",
        `must be at most ${this.#options.maxGeneratedEscns}`,
      );
    }
    return generateEscns(count, { prefix: prefix.padStart(3, "0"), pic });
  }

  #query(caller: Principal, status: CardStatus | null): CardQuery {
    const isBureau = caller.organisation.kind === "card-bureau";
    return {
      issuerIds: isBureau ? caller.actingFor.filter((id) => id !== caller.organisation.id) : caller.actingFor,
      processorId: isBureau ? caller.organisation.id : null,
      status,
    };
  }

  async #write(escn: Escn, work: (tx: Repositories) => Promise<Card>): Promise<Card> {
    try {
      return await this.#ctx.storage.transaction(work);
    } finally {
      this.#options.cache.invalidate(escn);
    }
  }

  async #save(tx: Repositories, caller: Principal, card: Card): Promise<Card> {
    const saved = await tx.cards.update(card);
    if (!saved) throw new PreconditionFailedError();
    await tx.outbox.append([cardEvent("card.updated", saved, card.updatedAt)]);
    await this.#ctx.audit.recordIn(tx, caller, "update", [cardSubject(saved)]);
    return saved;
  }

  /** The card if the caller may see it; `forUpdate` locks it for the rest of the transaction (writes). */
  async #findVisible(tx: Repositories, caller: Principal, escn: Escn, forUpdate = false): Promise<Card> {
    const card = forUpdate ? await tx.cards.findForUpdate(escn) : await tx.cards.findByEscn(escn);
    if (card && (mayActFor(caller, card.issuerId) || card.processorId === caller.organisation.id))
      return card;
    throw new NotFoundError("CARD_NOT_FOUND", "no card with this number is visible to your organisation");
  }

  #checkFields(input: CardInput) {
    const status = parseCardStatus(input.cardStatusType, "cardStatusType");
    const cardType = parseCardType(input.cardType, "cardType");
    const issuedAt = parseIsoDate(input.issuedAt, "issuedAt");
    const expiresAt = parseIsoDate(input.expiresAt, "expiresAt");
    if (expiresAt < issuedAt)
      throw new InvalidValueError("DATE_RANGE_INVALID", "expiresAt", "must not be before issuedAt");
    const displayName = checkDisplayName(input.displayName ?? null, "displayName");
    return {
      status,
      inactiveReason: status === "ACTIVE" ? null : ("unspecified" as InactiveReason),
      cardType,
      issuedAt,
      expiresAt,
      displayName,
    };
  }

  async #checkIssuer(tx: Repositories, caller: Principal, issuerId: string): Promise<Organisation> {
    const issuer = await tx.organisations.findById(issuerId);
    if (!issuer || !issuesCards(issuer.kind)) {
      throw new InvalidValueError(
        "ISSUER_UNKNOWN",
        "issuerIdentifier",
        `${issuerId} is not a registered card issuer`,
      );
    }
    if (!mayActFor(caller, issuerId))
      throw new ForbiddenError(`this token may not issue cards for ${issuerId}`);
    return issuer;
  }

  async #checkProcessor(
    tx: Repositories,
    caller: Principal,
    value: string | null | undefined,
  ): Promise<string | null> {
    if (value == null || value === "")
      return caller.organisation.kind === "card-bureau" ? caller.organisation.id : null;
    const processor = await tx.organisations.findById(
      String(value)
        .replace(/[\s.-]/g, "")
        .toUpperCase(),
    );
    if (processor?.kind !== "card-bureau") {
      throw new InvalidValueError(
        "PROCESSOR_UNKNOWN",
        "processorIdentifier",
        `${value} is not a registered card bureau`,
      );
    }
    if (caller.organisation.kind === "card-bureau" && processor.id !== caller.organisation.id) {
      throw new ForbiddenError("a card bureau names only itself as processor");
    }
    return processor.id;
  }

  /** The holder must be linked to the issuer; the answer is the same whether or not the ESI exists elsewhere. */
  async #linkedPerson(
    tx: Repositories,
    identifier: string,
    issuerId: string,
  ): Promise<{ id: number; esi: string }> {
    const esi = parseEsi(identifier, "personIdentifier");
    const person = await tx.persons.findByKey(esi.key);
    if (person && (await tx.persons.findLink(person.id, issuerId))) return { id: person.id, esi: person.esi };
    throw new InvalidValueError(
      "PERSON_NOT_LINKED",
      "personIdentifier",
      `no person with this ESI is linked to the issuer ${issuerId}`,
    );
  }
}

/** A card number given for a new card: an ESCN carrying its issuer's PIC. */
function givenCardNumber(text: string, issuerId: string): Escn {
  const escn = parseEscn(text, "cardNumber");
  if (escnPic(escn) !== issuerId) {
    throw new InvalidValueError(
      "ESCN_PIC_MISMATCH",
      "cardNumber",
      `must carry the issuer's PIC ${issuerId} in its last 9 digits`,
    );
  }
  return escn;
}

async function checkUnused(tx: Repositories, escn: Escn): Promise<void> {
  if (await tx.cards.findByEscn(escn))
    throw new ConflictError("CARD_EXISTS", `a card ${escn} already exists`);
}

function checkSameIssuer(card: Card, issuerId: string): void {
  if (issuerId !== card.issuerId) {
    throw new InvalidValueError("VALIDATION_FAILED", "issuerIdentifier", "a card's issuer cannot change");
  }
}

/** A card in the audit trail: by its ESCN, found again by its holder's internal number. */
function cardSubject(card: Card): AuditSubject {
  return { type: "card", subject: card.escn, personId: card.personId };
}

function parseCardStatus(value: string, field: string): CardStatus {
  if (value === "ACTIVE" || value === "INACTIVE") return value;
  throw new InvalidValueError("VALIDATION_FAILED", field, "must be ACTIVE or INACTIVE");
}

function parseInactiveReason(value: string): InactiveReason {
  if ((INACTIVE_REASONS as readonly string[]).includes(value)) return value as InactiveReason;
  throw new InvalidValueError(
    "VALIDATION_FAILED",
    "/inactiveReason",
    `must be one of ${INACTIVE_REASONS.join(", ")}`,
  );
}

function checkDisplayName(value: string | null, field: string): string | null {
  if (value === null || value === "") return null;
  const name = value.trim();
  if (name.length === 0 || name.length > 255)
    throw new InvalidValueError("VALIDATION_FAILED", field, "must be 1 to 255 characters");
  return name;
}

/** A card's event: to its issuer and card bureau, with its status and validity, never its holder's data. */
export function cardEvent(
  type: "card.created" | "card.updated" | "card.expired" | "card.deleted",
  card: Card,
  at: string,
): DomainEvent {
  const audience = card.processorId === null ? [card.issuerId] : [card.issuerId, card.processorId];
  return {
    type,
    subject: card.escn,
    audience,
    data: {
      escn: card.escn,
      issuer: card.issuerId,
      status: type === "card.deleted" ? null : card.status,
      inactiveReason: type === "card.deleted" ? null : card.inactiveReason,
      expiresAt: card.expiresAt,
      version: card.version,
    },
    occurredAt: at,
  };
}
