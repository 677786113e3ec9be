import type { Card } from "../domain/card.ts";
import { cardVerdict, VERDICT_STATUS_LIST_VALUE, type Verdict } from "../domain/card-verdict.ts";
import type { Escn } from "../domain/escn.ts";
import { esiKey } from "../domain/esi.ts";
import { eventFamily, type StoredEvent } from "../domain/events.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import type { Repositories } from "../ports/storage.ts";
import type { ServiceContext } from "./service-context.ts";
import type { EntryValue, StatusListService } from "./status-list-service.ts";
import { today } from "./today.ts";

/** The bus consumer group that keeps status lists in step with verdicts. */
export const STATUS_LIST_GROUP = "openesc-status-lists";

/**
 * Keeps every issued credential's status-list entry equal to its card's verdict (the state model), from
 * the events of the bus: a card changed, expired or was deleted; the holder's student status changed or
 * ended; the holder withdrew (or gave again) consent to credential issuance. Each event names a card or a
 * holder; the updater reads the current state, not the event, so replays and reordering change nothing.
 * Changed lists are signed again at once.
 */
export class CredentialStatusUpdater {
  readonly #ctx: ServiceContext;
  readonly #lists: StatusListService;

  constructor(ctx: ServiceContext, lists: StatusListService) {
    this.#ctx = ctx;
    this.#lists = lists;
  }

  /** A batch of events from the bus; resolves when the lists they touch are stored and signed. */
  async handle(batch: readonly StoredEvent[]): Promise<void> {
    const escns = new Set<string>();
    const holders = new Set<string>();
    for (const event of batch) {
      const family = eventFamily(event.type);
      if (family === "card") escns.add(event.subject);
      else if (family === "student-status" || family === "person") holders.add(event.subject);
      else if (family === "consent" && event.data["purpose"] === "credential-issuance")
        holders.add(event.subject);
    }
    if (escns.size === 0 && holders.size === 0) return;
    const credentials = await this.#affected(escns, holders);
    if (credentials.length === 0) return;
    await this.#ctx.storage.transaction(async (tx) => {
      const values = await entryValues(tx, credentials, today(this.#ctx));
      await this.#lists.setEntries(tx, values);
    });
    await this.#lists.signPending();
  }

  /**
   * Checks credentials just issued against the state as committed now: a change that committed while
   * they were being issued had its event handled before they existed, and is caught here.
   */
  async recheck(credentials: readonly IssuedCredential[]): Promise<void> {
    const changed = await this.#ctx.storage.transaction(async (tx) =>
      this.#lists.setEntries(tx, await entryValues(tx, credentials, today(this.#ctx))),
    );
    if (changed > 0) await this.#lists.signPending();
  }

  /** Sets the entries of these credentials from their current verdicts (after an erasure, for one). */
  async refresh(tx: Repositories, credentials: readonly IssuedCredential[]): Promise<void> {
    await this.#lists.setEntries(tx, await entryValues(tx, credentials, today(this.#ctx)));
  }

  /** Signs lists that changed or whose tokens are getting old; for the periodic pass. */
  async signPending(): Promise<number> {
    return this.#lists.signPending();
  }

  async #affected(escns: ReadonlySet<string>, holders: ReadonlySet<string>): Promise<IssuedCredential[]> {
    const read = this.#ctx.storage.read;
    const found = new Map<string, IssuedCredential>();
    for (const escn of escns) for (const c of await read.credentials.listForCard(escn)) found.set(c.id, c);
    for (const esi of holders) {
      // An erased person's events name a pseudonym (`erased:…`), not an ESI: the erasure revoked their
      // credentials itself. Such a subject must be passed over, or the batch would fail for ever and hold
      // up every revocation after it.
      const key = keyOfEsi(esi);
      const person = key === undefined ? undefined : await read.persons.findByKey(key);
      if (!person) continue;
      for (const c of await read.credentials.listForPerson(person.id)) found.set(c.id, c);
    }
    return [...found.values()];
  }
}

/**
 * The status-list value each credential's verdict gives today: the card's verdict (state model) while the
 * holder consents to credential issuance; invalid when the card is gone (or its number now belongs to
 * someone else), the holder erased, or consent withdrawn.
 */
export async function entryValues(
  repos: Repositories,
  credentials: readonly IssuedCredential[],
  day: string,
): Promise<EntryValue[]> {
  const verdicts = new Map<string, Verdict>();
  const values: EntryValue[] = [];
  for (const credential of credentials) {
    let verdict: Verdict = "invalid";
    if (credential.escn !== null && credential.personId !== null) {
      const key = `${credential.escn} ${credential.personId}`;
      verdict =
        verdicts.get(key) ?? (await verdictOf(repos, credential.escn as Escn, credential.personId, day));
      verdicts.set(key, verdict);
    }
    values.push({
      listId: credential.statusListId,
      index: credential.statusIndex,
      value: VERDICT_STATUS_LIST_VALUE[verdict],
    });
  }
  return values;
}

async function verdictOf(repos: Repositories, escn: Escn, holder: number, day: string): Promise<Verdict> {
  const card: Card | undefined = await repos.cards.findByEscn(escn);
  // A card deleted and its number given again to someone else says nothing about this holder.
  if (!card || card.personId !== holder) return "invalid";
  const consent = await repos.consents.find(card.personId, "credential-issuance");
  if (consent?.state !== "given") return "invalid";
  const issuer = await repos.organisations.findById(card.issuerId);
  if (!issuer) return "invalid";
  const statuses = await repos.statuses.listForPerson(card.personId);
  return cardVerdict(card, issuer, statuses, day as Parameters<typeof cardVerdict>[3]);
}

function keyOfEsi(subject: string): string | undefined {
  try {
    return esiKey(subject);
  } catch {
    return undefined;
  }
}
