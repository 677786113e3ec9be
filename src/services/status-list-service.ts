import { randomInt } from "node:crypto";
import { issuerIdentifier, statusListUrl } from "../credentials/issuer-identifier.ts";
import { STATUS_INVALID, StatusList, signStatusListToken } from "../credentials/token-status-list.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import type { StatusListRecord } from "../domain/status-list-record.ts";
import type { Repositories } from "../ports/storage.ts";
import type { IssuerKeyService } from "./issuer-key-service.ts";
import type { ServiceContext } from "./service-context.ts";

export interface StatusListServiceOptions {
  readonly publicUrl: string;
  /** Entries per list: at least 100,000, so that a list says nothing about one student. */
  readonly size: number;
  /** The `ttl` of served tokens: how long a verifier may use its copy. */
  readonly ttlSeconds: number;
  /** How long a signed token is valid (`exp`); lists are signed again well before. */
  readonly validitySeconds: number;
}

/** One entry to set: a credential's place, and the value its verdict gives (0 valid, 1 invalid, 2 suspended). */
export interface EntryValue {
  readonly listId: number;
  readonly index: number;
  readonly value: 0 | 1 | 2;
}

/** A list stops handing out entries at half full: random picks stay cheap, and the herd stays large. */
const FILL_LIMIT = 0.5;
/** Random picks tried in one list before another list is opened. */
const PICKS_PER_LIST = 16;
const BITS = 2;

/**
 * The issuers' Token Status Lists (`bits: 2`). A credential gets a random entry in one of its issuer's
 * open lists; entries change when verdicts change (see `CredentialStatusUpdater`), and every changed list
 * is signed again at once with the issuer's active key and served as is to every verifier.
 */
export class StatusListService {
  readonly #ctx: ServiceContext;
  readonly #keys: IssuerKeyService;
  readonly #options: StatusListServiceOptions;

  constructor(ctx: ServiceContext, keys: IssuerKeyService, options: StatusListServiceOptions) {
    if (options.size % 4 !== 0) throw new TypeError("status list size must be a multiple of 4");
    if (options.ttlSeconds >= options.validitySeconds) {
      throw new TypeError("a status list's ttl must be shorter than its validity");
    }
    this.#ctx = ctx;
    this.#keys = keys;
    this.#options = options;
  }

  get ttlSeconds(): number {
    return this.#options.ttlSeconds;
  }

  /** The URL of a list, as credentials refer to it. */
  urlOf(organisationId: string, listId: number): string {
    return statusListUrl(issuerIdentifier(this.#options.publicUrl, organisationId), listId);
  }

  /**
   * Stores `credential` at a random free entry of one of its issuer's open lists (opening one when needed),
   * inside the caller's transaction, and returns it with its place.
   */
  async place(
    tx: Repositories,
    credential: Omit<IssuedCredential, "statusListId" | "statusIndex">,
  ): Promise<IssuedCredential> {
    const fullAt = Math.floor(this.#options.size * FILL_LIMIT);
    for (let attempt = 0; attempt < 4; attempt++) {
      const now = this.#ctx.clock.now().toISOString();
      const list =
        (await tx.statusLists.findOpen(credential.organisationId)) ??
        (await tx.statusLists.insert({
          organisationId: credential.organisationId,
          size: this.#options.size,
          bits: BITS,
          createdAt: now,
        }));
      for (let pick = 0; pick < PICKS_PER_LIST; pick++) {
        const placed = { ...credential, statusListId: list.id, statusIndex: randomInt(list.size) };
        if (await tx.credentials.insert(placed)) {
          await tx.statusLists.countAllocation(list.id, fullAt, now);
          return placed;
        }
      }
      // Unlucky many times in a row: the list is fuller than its count says. Close it and open another.
      await tx.statusLists.countAllocation(list.id, 0, now);
    }
    throw new Error(`no free status list entry for ${credential.organisationId}`);
  }

  /**
   * Sets entries inside the caller's transaction; returns how many entries changed. An entry once invalid
   * stays invalid (revocation is final; a card that becomes valid again gets a new credential), while a
   * suspended one may become valid again.
   */
  async setEntries(tx: Repositories, values: readonly EntryValue[]): Promise<number> {
    const byList = new Map<number, EntryValue[]>();
    for (const v of values) byList.set(v.listId, [...(byList.get(v.listId) ?? []), v]);
    let changed = 0;
    // Lists in id order, so that two writers lock them in the same order.
    for (const listId of [...byList.keys()].sort((a, b) => a - b)) {
      const entries = await tx.statusLists.findEntriesForUpdate(listId);
      if (!entries) continue;
      const list = StatusList.fromBytes(entries.bytes, entries.record.bits);
      let changedHere = 0;
      for (const { index, value } of byList.get(listId) ?? []) {
        const current = list.get(index);
        if (current === value || current === STATUS_INVALID) continue;
        list.set(index, value);
        changedHere++;
      }
      if (changedHere > 0) {
        await tx.statusLists.saveEntries(listId, list.toBytes(), this.#ctx.clock.now().toISOString());
        changed += changedHere;
      }
    }
    return changed;
  }

  /**
   * Signs every list that changed since it was last signed, was never signed, or whose token runs out
   * within half its validity; returns how many it signed.
   */
  async signPending(): Promise<number> {
    const now = this.#ctx.clock.now();
    const margin = new Date(now.getTime() + (this.#options.validitySeconds * 1000) / 2).toISOString();
    let signed = 0;
    for (;;) {
      const lists = await this.#ctx.storage.read.statusLists.listToSign(margin, 50);
      if (lists.length === 0) return signed;
      for (const list of lists) if (await this.sign(list)) signed++;
      if (lists.length < 50) return signed;
    }
  }

  /** Signs one list from its current entries; false when a token from a later version was already stored. */
  async sign(list: Pick<StatusListRecord, "id" | "organisationId">): Promise<boolean> {
    const organisation = await this.#ctx.storage.read.organisations.findById(list.organisationId);
    if (!organisation) return false;
    const signer = await this.#keys.signerFor(organisation);
    const entries = await this.#ctx.storage.transaction((tx) => tx.statusLists.findEntriesForUpdate(list.id));
    if (!entries) return false;
    const issuedAt = this.#ctx.clock.now();
    const expiresAt = new Date(issuedAt.getTime() + this.#options.validitySeconds * 1000);
    const token = await signStatusListToken({
      list: StatusList.fromBytes(entries.bytes, entries.record.bits),
      uri: this.urlOf(list.organisationId, list.id),
      key: signer.key,
      alg: signer.alg,
      kid: signer.kid,
      x5c: signer.x5c,
      issuedAt,
      expiresAt,
      ttlSeconds: this.#options.ttlSeconds,
    });
    // The key must stay published as long as the token it signed can be met.
    await this.#keys.signedUntil(signer.kid, expiresAt);
    return this.#ctx.storage.transaction((tx) =>
      tx.statusLists.saveToken(list.id, entries.record.version, token, expiresAt.toISOString()),
    );
  }

  /** Signs every list of an organisation now (after a key rotation: new tokens carry the new key). */
  async signAll(organisationId: string): Promise<void> {
    for (const list of await this.#ctx.storage.read.statusLists.listForOrganisation(organisationId)) {
      await this.sign(list);
    }
  }

  /** The token served for a list of this organisation, signing it first if it never was; undefined when unknown. */
  async token(organisationId: string, listId: number): Promise<string | undefined> {
    const list = await this.#ctx.storage.read.statusLists.find(listId);
    if (!list || list.organisationId !== organisationId) return undefined;
    if (list.token !== null) return list.token;
    await this.sign(list);
    return (await this.#ctx.storage.read.statusLists.find(listId))?.token ?? undefined;
  }
}
