import assert from "node:assert/strict";
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { StatusBits } from "../../src/credentials/token-status-list.ts";
import type { NewAuditEntry } from "../../src/domain/audit-entry.ts";
import { firstBrokenLink, GENESIS_HASH } from "../../src/domain/audit-entry.ts";
import type { Card } from "../../src/domain/card.ts";
import type { Consent } from "../../src/domain/consent.ts";
import type { CredentialOffer } from "../../src/domain/credential-offer.ts";
import { generateEscn, generateEscns } from "../../src/domain/escn.ts";
import type { DomainEvent } from "../../src/domain/events.ts";
import { type IsoDate, parseIsoDate } from "../../src/domain/iso-date.ts";
import type { IssuedCredential } from "../../src/domain/issued-credential.ts";
import type { IssuerKeyRecord } from "../../src/domain/issuer-key-record.ts";
import type { MirrorJob } from "../../src/domain/mirror-job.ts";
import type { Person, PersonLink } from "../../src/domain/person.ts";
import { type Pic, parsePic } from "../../src/domain/pic.ts";
import type { StatusListRecord } from "../../src/domain/status-list-record.ts";
import type { Delivery, NewDelivery, Subscription } from "../../src/domain/subscription.ts";
import type {
  ClaimedDelivery,
  ClaimRequest,
  ConnectorRun,
  Keyed,
  NewOrganisation,
  NewSubscription,
  OffsetPage,
  Repositories,
  Storage,
} from "../../src/ports/storage.ts";

/** What an adapter's test file hands the suite: an initialised store on throwaway state, and how to drop it. */
export interface StorageUnderTest {
  readonly storage: Storage;
  cleanup(): Promise<void>;
}

/*
 * One file for the whole port on purpose: each adapter's test file calls one function, and a reader sees
 * in one place everything a storage adapter must do. Every test makes its own organisations, persons and
 * cards (random PICs and ESIs), so the tests share one store per engine and need no truncation between
 * them; tests that look at store-wide sequences (outbox, audit) measure from where the store stood.
 */

const AT = "2026-10-15T10:00:00.000Z";
/** A timestamp with milliseconds and a non-UTC-looking shape would show any conversion by the driver. */
const AT_MS = "2026-10-15T23:59:59.987Z";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A gate a test opens by hand, to hold a transaction open at a chosen moment. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

let pics = 0;
/** A PIC no other test of this run uses. */
function newPic(): Pic {
  pics++;
  return parsePic(String(100_000_000 + ((randomInt(0, 800_000) * 1000 + pics) % 900_000_000)));
}

function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomInt(0, 2 ** 32).toString(36)}`;
}

function organisation(id: string, extra: Partial<NewOrganisation> = {}): NewOrganisation {
  return {
    id,
    kind: "institution",
    name: `Université ${id}`,
    country: null,
    schacHomeOrganisation: null,
    erasmusCode: null,
    website: null,
    colours: { main: null, secondary: null, contrast: null, qr: null },
    showDisplayName: false,
    serves: [],
    processors: [],
    createdAt: AT,
    updatedAt: AT,
    ...extra,
  };
}

function newEsi(label = "stu"): { esi: string; esiKey: string } {
  const esi = `urn:schac:personalUniqueCode:int:esi:fr:${label}-${uniqueSuffix()}`;
  return { esi, esiKey: esi.toLowerCase() };
}

function newCard(holder: Pick<Person, "id" | "esi">, issuer: Pic, extra: Partial<Card> = {}) {
  return {
    escn: generateEscn({ prefix: "001", pic: issuer }),
    personId: holder.id,
    esi: holder.esi,
    issuerId: issuer,
    processorId: null,
    cardType: "SMART_PASSIVE",
    status: "ACTIVE",
    inactiveReason: null,
    issuedAt: parseIsoDate("2026-09-01"),
    expiresAt: parseIsoDate("2030-08-31"),
    displayName: "Jeanne E.",
    chipUid: null,
    createdAt: AT,
    updatedAt: AT,
    ...extra,
  } satisfies Omit<Card, "version">;
}

function link(personId: number, organisationId: string, fullName: string, createdAt = AT): PersonLink {
  return {
    personId,
    organisationId,
    fullName,
    academicLevel: "MASTER",
    email: "jeanne@example.org",
    phone: null,
    fax: null,
    createdAt,
    updatedAt: createdAt,
  };
}

function event(subject: string, audience: readonly string[], extra: Partial<DomainEvent> = {}): DomainEvent {
  return { type: "card.updated", subject, audience, data: { subject }, occurredAt: AT, ...extra };
}

function auditEntry(subject: string, personId: number | null, at = AT): NewAuditEntry {
  return {
    at,
    organisationId: null,
    tokenId: null,
    action: "read",
    purpose: "public-verification",
    subjectType: "card",
    subject,
    personId,
  };
}

/** `minutes` after {@link AT}, as an ISO timestamp. */
function minutesAfter(minutes: number): string {
  return new Date(Date.parse(AT) + minutes * 60_000).toISOString();
}

function newSubscription(organisationId: string, extra: Partial<NewSubscription> = {}): NewSubscription {
  return {
    id: randomUUID(),
    organisationId,
    url: "https://hooks.example.org/openesc",
    secret: `whsec_${randomBytes(32).toString("base64")}`,
    description: null,
    startAfter: 0,
    types: null,
    issuer: null,
    cardSet: false,
    state: "active",
    createdAt: AT,
    updatedAt: AT,
    ...extra,
  };
}

function newDelivery(
  subscriptionId: string,
  position: number,
  subjectKey: string,
  createdAt = AT,
  extra: Partial<NewDelivery> = {},
): NewDelivery {
  return {
    subscriptionId,
    eventId: randomUUID(),
    position,
    subjectKey,
    projection: "full",
    createdAt,
    ...extra,
  };
}

const offset = (extra: Partial<OffsetPage> = {}): OffsetPage => ({
  offset: 0,
  limit: 100,
  sort: "identifier",
  direction: "ASC",
  search: null,
  ...extra,
});

/** The position of the last outbox event so far: what a test's own events come after. */
async function outboxHead(read: Repositories): Promise<number> {
  let position = 0;
  for (;;) {
    const batch = await read.outbox.readAfter(position, 1000);
    const last = batch.at(-1);
    if (!last) return position;
    position = last.position;
  }
}

/**
 * Declares the storage conformance suite: every repository operation through the port only, plus
 * transactions, uniqueness, dates, counts and concurrency. `open` is called once for the suite and must
 * return an initialised store on throwaway state; `cleanup` drops that state.
 *
 * ```ts
 * storageConformance("sqlite", async () => {
 *   const storage = new SqliteStorage({ file });
 *   await storage.init();
 *   return { storage, cleanup: () => storage.close() };
 * });
 * ```
 */
export function storageConformance(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`storage conformance: ${name}`, () => {
    let under: StorageUnderTest | undefined;
    const store = (): Storage => {
      if (!under) throw new TypeError("the store was not opened");
      return under.storage;
    };

    before(async () => {
      under = await open();
    });
    after(async () => {
      await under?.cleanup();
    });

    /** An issuing organisation and one person, committed: what most tests need. */
    async function seed(label = "stu"): Promise<{ pic: Pic; person: Person }> {
      const pic = newPic();
      const person = await store().transaction(async (tx) => {
        await tx.organisations.insert(organisation(pic));
        const stored = await tx.persons.insert({ ...newEsi(label), createdAt: AT, updatedAt: AT });
        await tx.persons.upsertLink(link(stored.id, pic, "Jeanne Exemple"));
        return stored;
      });
      return { pic, person };
    }

    /** Subscriptions of `organisationId`, committed in order. */
    async function insertSubscriptions(organisationId: string, n: number): Promise<Subscription[]> {
      return store().transaction(async (tx) => {
        const made: Subscription[] = [];
        for (let i = 0; i < n; i++) made.push(await tx.subscriptions.insert(newSubscription(organisationId)));
        return made;
      });
    }

    /**
     * Deletes subscriptions with their deliveries. Tests that queue deliveries call it at the end: `claimDue`
     * looks at the whole store, so no test may leave a pending delivery behind for the next one to claim.
     */
    async function dropSubscriptions(ids: readonly string[]): Promise<void> {
      await store().transaction(async (tx) => {
        for (const id of ids) await tx.subscriptions.delete(id);
      });
    }

    /** The ids of a subscription's deliveries, in the order they were queued. */
    async function deliveryIds(subscriptionId: string): Promise<number[]> {
      const page = await store().read.deliveries.list(subscriptionId, null, { after: 0, limit: 1000 });
      return page.items.map((d) => d.id);
    }

    /** `claimDue` at `now` minutes after {@link AT}, in a transaction of its own; the claim lasts five minutes. */
    function claim(now: number, holder = "A", extra: Partial<ClaimRequest> = {}): Promise<ClaimedDelivery[]> {
      return store().transaction((tx) =>
        tx.deliveries.claimDue({
          now: minutesAfter(now),
          holder,
          until: minutesAfter(now + 5),
          limit: 100,
          excludeSubscriptions: [],
          ...extra,
        }),
      );
    }

    describe("organisations", () => {
      it("insert then findById gives every field back, relations included", async () => {
        const id = newPic();
        const served = newPic();
        const bureauA = `B${uniqueSuffix()}`;
        const bureauB = `A${uniqueSuffix()}`;
        const org = organisation(id, {
          kind: "student-service",
          country: "FR" as NewOrganisation["country"],
          schacHomeOrganisation: "univ.example.fr",
          erasmusCode: "F PARIS001",
          website: "https://univ.example.fr",
          colours: {
            main: "#112233",
            secondary: "#445566",
            contrast: "#FFFFFF",
            qr: "#000000",
          } as NewOrganisation["colours"],
          showDisplayName: true,
          serves: [served],
          processors: [bureauA, bureauB],
          createdAt: AT_MS,
          updatedAt: AT_MS,
        });
        const inserted = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(served));
          return tx.organisations.insert(org);
        });
        assert.equal(inserted.version, 1);
        assert.equal(typeof inserted.seq, "number");
        const found = await store().read.organisations.findById(id);
        assert.deepEqual(found, { ...org, processors: [bureauB, bureauA], seq: inserted.seq, version: 1 });
        assert.equal(await store().read.organisations.findById(`missing-${uniqueSuffix()}`), undefined);
      });

      it("findManyByIds, listProcessedBy and keyset list", async () => {
        const ids = [newPic(), newPic(), newPic()];
        const bureau = `B${uniqueSuffix()}`;
        await store().transaction(async (tx) => {
          for (const id of ids) await tx.organisations.insert(organisation(id, { processors: [bureau] }));
        });
        const many = await store().read.organisations.findManyByIds([ids[0]!, ids[2]!, "nobody"]);
        assert.deepEqual(many.map((o) => o.id).sort(), [ids[0], ids[2]].sort());
        assert.deepEqual(await store().read.organisations.findManyByIds([]), []);
        assert.deepEqual((await store().read.organisations.listProcessedBy(bureau)).sort(), [...ids].sort());

        const seen: string[] = [];
        let after = 0;
        for (let pages = 0; pages < 10_000; pages++) {
          const page = await store().read.organisations.list({ after, limit: 2 });
          assert.ok(page.items.length <= 2);
          seen.push(...page.items.map((o) => o.id));
          if (page.next === null) break;
          assert.equal(typeof page.next, "number");
          after = page.next;
        }
        for (const id of ids) assert.equal(seen.filter((s) => s === id).length, 1, `${id} once in the list`);
        assert.equal(new Set(seen).size, seen.length, "no organisation twice");
      });

      it("update checks the version and replaces the relations", async () => {
        const id = newPic();
        const v1 = await store().transaction((tx) =>
          tx.organisations.insert(organisation(id, { processors: ["B-OLD"] })),
        );
        const v2 = await store().transaction((tx) =>
          tx.organisations.update({ ...v1, name: "Renamed", processors: ["B-NEW"], serves: ["123123123"] }),
        );
        assert.equal(v2?.version, 2);
        const stale = await store().transaction((tx) => tx.organisations.update({ ...v1, name: "Stale" }));
        assert.equal(stale, undefined);
        const stored = await store().read.organisations.findById(id);
        assert.equal(stored?.name, "Renamed");
        assert.equal(stored?.version, 2);
        assert.deepEqual(stored?.processors, ["B-NEW"]);
        assert.deepEqual(stored?.serves, ["123123123"]);
        assert.deepEqual(
          await store()
            .read.organisations.listProcessedBy("B-OLD")
            .then((l) => l.includes(id)),
          false,
        );
      });
    });

    describe("tokens", () => {
      it("insert, find by hash and id, list by organisation, revoke once", async () => {
        const { pic } = await seed();
        const token = (n: number) => ({
          id: `tok-${uniqueSuffix()}-${n}`,
          organisationId: pic,
          name: `token ${n}`,
          scopes: ["cards:read", "cards:write"] as const,
          createdAt: `2026-10-15T10:00:0${n}.000Z`,
          expiresAt: n === 1 ? "2027-01-01T00:00:00.000Z" : null,
          revokedAt: null,
          hash: `hash-${uniqueSuffix()}-${n}`,
        });
        const first = token(1);
        const second = token(2);
        await store().transaction(async (tx) => {
          await tx.tokens.insert(second);
          await tx.tokens.insert(first);
        });
        assert.deepEqual(await store().read.tokens.findByHash(first.hash), first);
        assert.deepEqual(await store().read.tokens.findById(second.id), second);
        assert.equal(await store().read.tokens.findByHash("nothing"), undefined);
        assert.deepEqual(
          (await store().read.tokens.listByOrganisation(pic)).map((t) => t.id),
          [first.id, second.id],
        );
        await store().transaction((tx) => tx.tokens.revoke(first.id, AT_MS));
        await store().transaction((tx) => tx.tokens.revoke(first.id, "2030-01-01T00:00:00.000Z"));
        assert.equal((await store().read.tokens.findById(first.id))?.revokedAt, AT_MS);
        await assert.rejects(store().transaction((tx) => tx.tokens.insert(first)));
      });
    });

    describe("persons and links", () => {
      it("insert, findByKey, touch, links upsert, findLink, deleteLink, delete", async () => {
        const { pic, person } = await seed();
        assert.equal(typeof person.id, "number");
        assert.deepEqual(await store().read.persons.findByKey(person.esiKey), person);
        await store().transaction((tx) => tx.persons.touch(person.id, AT_MS));
        assert.equal((await store().read.persons.findByKey(person.esiKey))?.updatedAt, AT_MS);

        const other = newPic();
        await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(other));
          await tx.persons.upsertLink(link(person.id, other, "Jeanne at other"));
          await tx.persons.upsertLink({ ...link(person.id, pic, "Jeanne Renamed"), updatedAt: AT_MS });
        });
        const links = await store().read.persons.links(person.id);
        assert.deepEqual(
          links.map((l) => [l.organisationId, l.fullName]),
          [
            [pic, "Jeanne Renamed"],
            [other, "Jeanne at other"],
          ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
        );
        const mine = await store().read.persons.findLink(person.id, pic);
        assert.deepEqual(mine, { ...link(person.id, pic, "Jeanne Renamed"), updatedAt: AT_MS });
        await store().transaction((tx) => tx.persons.deleteLink(person.id, other));
        assert.equal(await store().read.persons.findLink(person.id, other), undefined);

        await store().transaction(async (tx) => {
          await tx.persons.deleteLink(person.id, pic);
          await tx.persons.delete(person.id);
        });
        assert.equal(await store().read.persons.findByKey(person.esiKey), undefined);
      });

      it("listPaged: visibility, totals as numbers, sort keys both ways, search", async () => {
        const pic = newPic();
        const outsider = newPic();
        const names = ["Zoé Martin", "adam Smith", "Émile Durand", "Bob O'Brien"];
        const persons = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          await tx.organisations.insert(organisation(outsider));
          const made: Person[] = [];
          for (const [i, fullName] of names.entries()) {
            const p = await tx.persons.insert({
              ...newEsi(`p${i}`),
              createdAt: `2026-10-1${i}T00:00:00.000Z`,
              updatedAt: AT,
            });
            await tx.persons.upsertLink(link(p.id, pic, fullName));
            made.push(p);
          }
          const hidden = await tx.persons.insert({ ...newEsi("hidden"), createdAt: AT, updatedAt: AT });
          await tx.persons.upsertLink(link(hidden.id, outsider, "Hidden Person"));
          return made;
        });
        const query = { organisationIds: [pic] };
        const all = await store().read.persons.listPaged(query, offset());
        assert.equal(all.total, 4);
        assert.equal(typeof all.total, "number");
        assert.deepEqual(
          all.items.map((p) => p.esiKey),
          persons.map((p) => p.esiKey).sort(),
        );
        const byName = await store().read.persons.listPaged(query, offset({ sort: "fullName" }));
        const nameOf = (p: Person) => names[persons.findIndex((q) => q.id === p.id)];
        assert.deepEqual(byName.items.map(nameOf), [...names].sort());
        const byCreatedDesc = await store().read.persons.listPaged(
          query,
          offset({ sort: "createdAt", direction: "DESC" }),
        );
        assert.deepEqual(
          byCreatedDesc.items.map((p) => p.id),
          [...persons].reverse().map((p) => p.id),
        );
        const secondPage = await store().read.persons.listPaged(
          query,
          offset({ sort: "createdAt", offset: 1, limit: 2 }),
        );
        assert.deepEqual(
          secondPage.items.map((p) => p.id),
          persons.slice(1, 3).map((p) => p.id),
        );
        assert.equal(secondPage.total, 4);
        const search = await store().read.persons.listPaged(query, offset({ search: "SMITH" }));
        assert.deepEqual(search.items.map(nameOf), ["adam Smith"]);
        assert.equal(search.total, 1);
        const byEsi = await store().read.persons.listPaged(query, offset({ search: persons[2]!.esi }));
        assert.deepEqual(
          byEsi.items.map((p) => p.id),
          [persons[2]!.id],
        );
        const none = await store().read.persons.listPaged({ organisationIds: [] }, offset());
        assert.deepEqual(none, { items: [], total: 0 });
      });

      it("listPaged search treats %, _ and \\ literally", async () => {
        const pic = newPic();
        const names = [
          "100% Student",
          "1000 Student",
          "under_score",
          "underXscore",
          "back\\slash",
          "backslash",
        ];
        await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          for (const [i, fullName] of names.entries()) {
            const p = await tx.persons.insert({ ...newEsi(`like${i}`), createdAt: AT, updatedAt: AT });
            await tx.persons.upsertLink(link(p.id, pic, fullName));
          }
        });
        const names1 = async (search: string) => {
          const page = await store().read.persons.listPaged(
            { organisationIds: [pic] },
            offset({ sort: "fullName", search }),
          );
          const out: string[] = [];
          for (const p of page.items) {
            const l = await store().read.persons.findLink(p.id, pic);
            out.push(l?.fullName ?? "?");
          }
          return out;
        };
        assert.deepEqual(await names1("0%"), ["100% Student"]);
        assert.deepEqual(await names1("r_s"), ["under_score"]);
        assert.deepEqual(await names1("k\\s"), ["back\\slash"]);
        assert.deepEqual(await names1("%"), ["100% Student"]);
      });

      it("listAfter pages through visible persons only, once each", async () => {
        const pic = newPic();
        const ids = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          const made: number[] = [];
          for (let i = 0; i < 7; i++) {
            const p = await tx.persons.insert({ ...newEsi(`k${i}`), createdAt: AT, updatedAt: AT });
            await tx.persons.upsertLink(link(p.id, pic, `Person ${i}`));
            made.push(p.id);
          }
          return made;
        });
        const seen: number[] = [];
        let after = 0;
        for (;;) {
          const page = await store().read.persons.listAfter({ organisationIds: [pic] }, { after, limit: 3 });
          seen.push(...page.items.map((p) => p.id));
          if (page.next === null) break;
          after = page.next;
        }
        assert.deepEqual(seen, ids);
        assert.deepEqual(
          await store().read.persons.listAfter({ organisationIds: [] }, { after: 0, limit: 3 }),
          {
            items: [],
            next: null,
          },
        );
      });

      it("listUnlinked finds persons nothing refers to", async () => {
        const { pic, person } = await seed();
        const orphan = await store().transaction((tx) =>
          tx.persons.insert({ ...newEsi("orphan"), createdAt: AT, updatedAt: AT }),
        );
        const withCard = await store().transaction(async (tx) => {
          const p = await tx.persons.insert({ ...newEsi("carded"), createdAt: AT, updatedAt: AT });
          await tx.cards.insert(newCard(p, pic));
          return p;
        });
        const unlinked = (await store().read.persons.listUnlinked(100_000)).map((p) => p.id);
        assert.ok(unlinked.includes(orphan.id));
        assert.ok(!unlinked.includes(person.id));
        assert.ok(!unlinked.includes(withCard.id));
      });
    });

    describe("student statuses", () => {
      it("save inserts at version 1, overwrites on the expected version, refuses a stale one", async () => {
        const { pic, person } = await seed();
        const status = {
          personId: person.id,
          esi: person.esi,
          organisationId: pic,
          state: "enrolled" as const,
          validFrom: parseIsoDate("2026-09-01"),
          validUntil: parseIsoDate("2027-08-31"),
          createdAt: AT,
          updatedAt: AT,
        };
        const v1 = await store().transaction((tx) => tx.statuses.save(status, null));
        assert.equal(v1?.version, 1);
        assert.equal(await store().transaction((tx) => tx.statuses.save(status, null)), undefined);
        const v2 = await store().transaction((tx) =>
          tx.statuses.save({ ...status, state: "suspended", validUntil: null, updatedAt: AT_MS }, 1),
        );
        assert.equal(v2?.version, 2);
        assert.equal(
          await store().transaction((tx) => tx.statuses.save({ ...status, state: "ended" }, 1)),
          undefined,
        );
        const stored = await store().read.statuses.find(person.id, pic);
        assert.deepEqual(stored, {
          ...status,
          state: "suspended",
          validUntil: null,
          updatedAt: AT_MS,
          version: 2,
        });
        assert.deepEqual(
          (await store().read.statuses.listForPerson(person.id)).map((s) => s.organisationId),
          [pic],
        );
        await store().transaction((tx) => tx.statuses.delete(person.id, pic));
        assert.equal(await store().read.statuses.find(person.id, pic), undefined);
      });

      it("listAfter filters by organisation and state; listEndedCandidates by date", async () => {
        const pic = newPic();
        const made = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          const out: Person[] = [];
          const states = ["enrolled", "ended", "enrolled", "suspended"] as const;
          const untils = ["2027-08-31", null, "2026-06-30", "2026-07-01"] as const;
          for (const [i, state] of states.entries()) {
            const p = await tx.persons.insert({ ...newEsi(`st${i}`), createdAt: AT, updatedAt: AT });
            const until = untils[i] ?? null;
            await tx.statuses.save(
              {
                personId: p.id,
                esi: p.esi,
                organisationId: pic,
                state,
                validFrom: parseIsoDate("2025-09-01"),
                validUntil: until === null ? null : parseIsoDate(until),
                createdAt: AT,
                updatedAt: AT,
              },
              null,
            );
            out.push(p);
          }
          return out;
        });
        const enrolled = await store().read.statuses.listAfter(
          { organisationIds: [pic], state: "enrolled" },
          { after: 0, limit: 10 },
        );
        assert.deepEqual(
          enrolled.items.map((s) => s.personId),
          [made[0]!.id, made[2]!.id],
        );
        assert.equal(enrolled.next, null);
        const paged = await store().read.statuses.listAfter(
          { organisationIds: [pic], state: null },
          { after: 0, limit: 3 },
        );
        assert.equal(paged.items.length, 3);
        assert.equal(typeof paged.next, "number");
        const rest = await store().read.statuses.listAfter(
          { organisationIds: [pic], state: null },
          { after: paged.next ?? 0, limit: 3 },
        );
        assert.deepEqual(
          rest.items.map((s) => s.personId),
          [made[3]!.id],
        );

        const candidates: number[] = [];
        let after = 0;
        for (;;) {
          const page = await store().read.statuses.listEndedCandidates(parseIsoDate("2026-07-01"), {
            after,
            limit: 500,
          });
          candidates.push(...page.items.filter((s) => s.organisationId === pic).map((s) => s.personId));
          if (page.next === null) break;
          after = page.next;
        }
        // ended, and valid until 2026-06-30 (before 2026-07-01); not 2026-07-01 itself
        assert.deepEqual(candidates, [made[1]!.id, made[2]!.id]);
      });

      it("listEndingBetween: both bounds inclusive, open-ended statuses left out, in keyset pages", async () => {
        const pic = newPic();
        // Inserted out of date order: pages follow the keyset (insertion) order, not the dates.
        const untils = ["2031-07-01", "2031-06-29", "2031-06-30", null, "2031-07-02", "2031-06-30"] as const;
        const made = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          const out: Person[] = [];
          for (const [i, until] of untils.entries()) {
            const p = await tx.persons.insert({ ...newEsi(`end${i}`), createdAt: AT, updatedAt: AT });
            await tx.statuses.save(
              {
                personId: p.id,
                esi: p.esi,
                organisationId: pic,
                state: i === 5 ? "ended" : "enrolled",
                validFrom: parseIsoDate("2025-09-01"),
                validUntil: until === null ? null : parseIsoDate(until),
                createdAt: AT,
                updatedAt: AT,
              },
              null,
            );
            out.push(p);
          }
          return out;
        });
        const seen: number[] = [];
        let after = 0;
        for (let pages = 0; pages < 1000; pages++) {
          const page = await store().read.statuses.listEndingBetween(
            parseIsoDate("2031-06-30"),
            parseIsoDate("2031-07-01"),
            { after, limit: 2 },
          );
          assert.ok(page.items.length <= 2);
          for (const s of page.items) {
            assert.ok(s.validUntil !== null && s.validUntil >= "2031-06-30" && s.validUntil <= "2031-07-01");
          }
          seen.push(...page.items.filter((s) => s.organisationId === pic).map((s) => s.personId));
          if (page.next === null) break;
          assert.equal(typeof page.next, "number");
          after = page.next;
        }
        assert.deepEqual(seen, [made[0]!.id, made[2]!.id, made[5]!.id]);
        const oneDay = await store().read.statuses.listEndingBetween(
          parseIsoDate("2031-07-02"),
          parseIsoDate("2031-07-02"),
          { after: 0, limit: 100 },
        );
        assert.deepEqual(
          oneDay.items.filter((s) => s.organisationId === pic).map((s) => s.personId),
          [made[4]!.id],
        );
      });
    });

    describe("cards", () => {
      it("insert then findByEscn gives every field back", async () => {
        const { pic, person } = await seed();
        const bureau = `B${uniqueSuffix()}`;
        await store().transaction((tx) =>
          tx.organisations.insert(organisation(bureau, { kind: "card-bureau" })),
        );
        const card = newCard(person, pic, {
          processorId: bureau,
          chipUid: "04A1B2C3D4E5F6",
          createdAt: AT_MS,
          updatedAt: AT_MS,
        });
        const inserted = await store().transaction((tx) => tx.cards.insert(card));
        assert.deepEqual(inserted, { ...card, version: 1 });
        assert.deepEqual(await store().read.cards.findByEscn(card.escn), { ...card, version: 1 });
        assert.equal(await store().read.cards.findByEscn(generateEscn({ prefix: "001", pic })), undefined);
      });

      it("findPublic joins issuer and the holder's display-name consent", async () => {
        const { pic, person } = await seed();
        const card = newCard(person, pic);
        await store().transaction((tx) => tx.cards.insert(card));
        const before = await store().read.cards.findPublic(card.escn);
        assert.deepEqual(before, {
          escn: card.escn,
          status: "ACTIVE",
          issuedAt: "2026-09-01",
          expiresAt: "2030-08-31",
          displayName: "Jeanne E.",
          issuerId: pic,
          issuerName: `Université ${pic}`,
          issuerShowsDisplayName: false,
          holderConsentsToDisplayName: false,
          personId: person.id,
        });
        const org = await store().read.organisations.findById(pic);
        assert.ok(org);
        await store().transaction(async (tx) => {
          await tx.organisations.update({ ...org, showDisplayName: true });
          await tx.consents.save(consent(person.id, pic, "display-name-publication", "given"));
        });
        const afterwards = await store().read.cards.findPublic(card.escn);
        assert.equal(afterwards?.issuerShowsDisplayName, true);
        assert.equal(afterwards?.holderConsentsToDisplayName, true);
        await store().transaction((tx) =>
          tx.consents.save({
            ...consent(person.id, pic, "display-name-publication", "withdrawn"),
            withdrawnAt: AT_MS,
          }),
        );
        assert.equal((await store().read.cards.findPublic(card.escn))?.holderConsentsToDisplayName, false);
        assert.equal(await store().read.cards.findPublic(generateEscn({ prefix: "001", pic })), undefined);
      });

      it("update with the current version bumps it; with a stale one answers undefined and changes nothing", async () => {
        const { pic, person } = await seed();
        const v1 = await store().transaction((tx) => tx.cards.insert(newCard(person, pic)));
        const v2 = await store().transaction((tx) =>
          tx.cards.update({ ...v1, status: "INACTIVE", inactiveReason: "lost", updatedAt: AT_MS }),
        );
        assert.equal(v2?.version, 2);
        assert.equal(
          await store().transaction((tx) => tx.cards.update({ ...v1, displayName: "Overwrite" })),
          undefined,
        );
        const stored = await store().read.cards.findByEscn(v1.escn);
        assert.equal(stored?.version, 2);
        assert.equal(stored?.status, "INACTIVE");
        assert.equal(stored?.inactiveReason, "lost");
        assert.equal(stored?.displayName, "Jeanne E.");
        assert.equal(stored?.updatedAt, AT_MS);
        const ghost = { ...newCard(person, pic), version: 1 };
        assert.equal(await store().transaction((tx) => tx.cards.update(ghost)), undefined);
      });

      it("delete, countForPerson, listForPerson, listExpiredBefore", async () => {
        const { pic, person } = await seed();
        const other = newPic();
        await store().transaction((tx) => tx.organisations.insert(organisation(other)));
        const a = newCard(person, pic, { expiresAt: parseIsoDate("2020-01-31") });
        const b = newCard(person, pic, { expiresAt: parseIsoDate("2020-02-01") });
        const c = newCard(person, other);
        await store().transaction(async (tx) => {
          await tx.cards.insert(b);
          await tx.cards.insert(a);
          await tx.cards.insert(c);
        });
        const count = await store().read.cards.countForPerson(person.id, [pic]);
        assert.equal(count, 2);
        assert.equal(typeof count, "number");
        assert.equal(await store().read.cards.countForPerson(person.id, [pic, other]), 3);
        assert.equal(await store().read.cards.countForPerson(person.id, []), 0);
        assert.deepEqual(
          (await store().read.cards.listForPerson(person.id)).map((x) => x.escn),
          [b.escn, a.escn, c.escn],
        );
        const expired = (await store().read.cards.listExpiredBefore(parseIsoDate("2020-02-01"), 100_000)).map(
          (x) => x.escn,
        );
        assert.ok(expired.includes(a.escn));
        assert.ok(!expired.includes(b.escn), "a card expiring on the day itself is not expired before it");
        await store().transaction((tx) => tx.cards.delete(a.escn));
        assert.equal(await store().read.cards.findByEscn(a.escn), undefined);
        assert.equal(await store().read.cards.countForPerson(person.id, [pic]), 1);
      });

      it("listPaged: visibility (issuer or processor), status filter, sort, search, totals", async () => {
        const { pic, person } = await seed();
        const bureau = `B${uniqueSuffix()}`;
        const otherIssuer = newPic();
        await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(otherIssuer));
          await tx.organisations.insert(organisation(bureau, { kind: "card-bureau" }));
        });
        const cards = [
          newCard(person, pic, { displayName: "Charlie", issuedAt: parseIsoDate("2026-01-03") }),
          newCard(person, pic, { displayName: "alice_x", issuedAt: parseIsoDate("2026-01-01") }),
          newCard(person, pic, {
            displayName: "Bob",
            issuedAt: parseIsoDate("2026-01-02"),
            status: "INACTIVE",
            inactiveReason: "lost",
          }),
          newCard(person, otherIssuer, { displayName: "Processed", processorId: bureau }),
          newCard(person, otherIssuer, { displayName: "Invisible" }),
        ];
        await store().transaction(async (tx) => {
          for (const card of cards) await tx.cards.insert(card);
        });
        const query = { issuerIds: [pic], processorId: bureau, status: null };
        const all = await store().read.cards.listPaged(query, offset({ sort: "displayName" }));
        assert.equal(all.total, 4);
        assert.equal(typeof all.total, "number");
        assert.deepEqual(
          all.items.map((x) => x.displayName),
          ["Bob", "Charlie", "Processed", "alice_x"].sort((x, y) => (x < y ? -1 : 1)),
        );
        const byIssued = await store().read.cards.listPaged(
          { ...query, processorId: null },
          offset({ sort: "issuedAt", direction: "DESC", limit: 2 }),
        );
        assert.deepEqual(
          byIssued.items.map((x) => x.displayName),
          ["Charlie", "Bob"],
        );
        assert.equal(byIssued.total, 3);
        const active = await store().read.cards.listPaged({ ...query, status: "ACTIVE" }, offset());
        assert.equal(active.total, 3);
        const search = await store().read.cards.listPaged(query, offset({ search: "ALICE_" }));
        assert.deepEqual(
          search.items.map((x) => x.displayName),
          ["alice_x"],
        );
        const like = await store().read.cards.listPaged(query, offset({ search: "e_x" }));
        assert.equal(like.total, 1, "_ is literal");
        const byEscn = await store().read.cards.listPaged(
          query,
          offset({ search: cards[2]!.escn.slice(0, 13) }),
        );
        assert.deepEqual(
          byEscn.items.map((x) => x.escn),
          [cards[2]!.escn],
        );
        const nobody = await store().read.cards.listPaged(
          { issuerIds: [], processorId: null, status: null },
          offset(),
        );
        assert.deepEqual(nobody, { items: [], total: 0 });
      });

      it("insertMany loads 20,000 cards in one transaction", async () => {
        const { pic, person } = await seed();
        const escns = generateEscns(20_000, { prefix: "001", pic });
        const rows = escns.map((escn, i) => ({ ...newCard(person, pic), escn, displayName: `bulk ${i}` }));
        const loaded = await store().transaction((tx) => tx.cards.insertMany(rows));
        assert.equal(loaded, 20_000);
        assert.equal(typeof loaded, "number");
        const counted = await store().read.cards.countForPerson(person.id, [pic]);
        assert.equal(counted, 20_000);
        const sample = await store().read.cards.findByEscn(escns[12_345]!);
        assert.deepEqual(sample, { ...rows[12_345], version: 1 });
        const page = await store().read.cards.listPaged(
          { issuerIds: [pic], processorId: null, status: null },
          offset({ limit: 1 }),
        );
        assert.equal(page.total, 20_000);
        // a failing bulk load leaves nothing behind
        const more = generateEscns(100, { prefix: "001", pic }).map((escn) => ({
          ...newCard(person, pic),
          escn,
        }));
        await assert.rejects(
          store().transaction((tx) =>
            tx.cards.insertMany([...more, { ...newCard(person, pic), escn: escns[0]! }]),
          ),
        );
        assert.equal(await store().read.cards.findByEscn(more[0]!.escn), undefined);
        assert.equal(await store().read.cards.countForPerson(person.id, [pic]), 20_000);
      });

      it("listAfter pages stably while other cards are inserted", async () => {
        const { pic, person } = await seed();
        const query = { issuerIds: [pic], processorId: null, status: null };
        const initial = generateEscns(50, { prefix: "001", pic }).map((escn) => ({
          ...newCard(person, pic),
          escn,
        }));
        await store().transaction((tx) => tx.cards.insertMany(initial));
        const seen: string[] = [];
        let after = 0;
        let inserted = 0;
        for (let pages = 0; pages < 100; pages++) {
          const page = await store().read.cards.listAfter(query, { after, limit: 7 });
          seen.push(...page.items.map((c) => c.escn));
          // concurrent writers between two pages
          await Promise.all(
            [0, 1].map(() =>
              store().transaction(async (tx) => {
                await tx.cards.insert(newCard(person, pic));
              }),
            ),
          );
          inserted += 2;
          if (page.next === null) break;
          assert.equal(typeof page.next, "number");
          after = page.next;
        }
        assert.equal(new Set(seen).size, seen.length, "no card twice");
        for (const card of initial) assert.ok(seen.includes(card.escn), `${card.escn} seen`);
        assert.ok(inserted > 0);
      });

      it("listExpiringBetween: both bounds inclusive, in keyset pages", async () => {
        const { pic, person } = await seed();
        // Inserted out of date order: pages follow the keyset (insertion) order, not the dates.
        const days = ["2031-03-12", "2031-03-10", "2031-03-13", "2031-03-11", "2031-03-09"];
        const cards = days.map((day) => newCard(person, pic, { expiresAt: parseIsoDate(day) }));
        await store().transaction(async (tx) => {
          for (const card of cards) await tx.cards.insert(card);
        });
        const between = async (from: string, through: string, limit: number) => {
          const seen: string[] = [];
          let after = 0;
          for (let pages = 0; pages < 1000; pages++) {
            const page = await store().read.cards.listExpiringBetween(
              parseIsoDate(from),
              parseIsoDate(through),
              { after, limit },
            );
            assert.ok(page.items.length <= limit);
            for (const card of page.items) assert.ok(card.expiresAt >= from && card.expiresAt <= through);
            seen.push(...page.items.filter((c) => c.issuerId === pic).map((c) => c.escn));
            if (page.next === null) return seen;
            assert.equal(typeof page.next, "number");
            after = page.next;
          }
          throw new Error("the pages never end");
        };
        assert.deepEqual(await between("2031-03-10", "2031-03-12", 2), [
          cards[0]!.escn,
          cards[1]!.escn,
          cards[3]!.escn,
        ]);
        assert.deepEqual(await between("2031-03-13", "2031-03-13", 1), [cards[2]!.escn]);
        assert.deepEqual(await between("2031-03-14", "2031-03-20", 10), []);
      });
    });

    describe("outbox", () => {
      it("readAfter gives appended events in order, with increasing numeric positions", async () => {
        const start = await outboxHead(store().read);
        const audience = [newPic()];
        await store().transaction((tx) => tx.outbox.append([event("a", audience), event("b", audience)]));
        await store().transaction((tx) =>
          tx.outbox.append([
            event("c", audience, { type: "card.created", data: { n: 1, ok: true, x: null } }),
          ]),
        );
        const events = await store().read.outbox.readAfter(start, 100);
        assert.deepEqual(
          events.map((e) => e.subject),
          ["a", "b", "c"],
        );
        for (const [i, e] of events.entries()) {
          assert.equal(typeof e.position, "number");
          assert.equal(typeof e.id, "string");
          if (i > 0) assert.ok(e.position > events[i - 1]!.position);
        }
        assert.deepEqual(events[2], {
          id: events[2]!.id,
          position: events[2]!.position,
          type: "card.created",
          subject: "c",
          audience,
          data: { n: 1, ok: true, x: null },
          occurredAt: AT,
        });
        const resumed = await store().read.outbox.readAfter(events[0]!.position, 1);
        assert.deepEqual(
          resumed.map((e) => e.subject),
          ["b"],
        );
      });

      it("gives positions in commit order when transactions overlap", async () => {
        const start = await outboxHead(store().read);
        const first = gate();
        const holdFirst = store().transaction(async (tx) => {
          await tx.outbox.append([event("first", ["x"])]);
          await first.wait;
        });
        await tick();
        const second = store().transaction(async (tx) => {
          await tx.outbox.append([event("second", ["x"])]);
        });
        // The second may commit before the first on an engine with concurrent writers, or wait behind it.
        await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 200))]);
        const midway = await store().read.outbox.readAfter(start, 100);
        first.open();
        await Promise.all([holdFirst, second]);
        const events = await store().read.outbox.readAfter(start, 100);
        assert.deepEqual(events.map((e) => e.subject).sort(), ["first", "second"]);
        // whatever a reader saw midway stays a prefix: nothing appears behind a position already read
        assert.deepEqual(
          events.slice(0, midway.length).map((e) => e.id),
          midway.map((e) => e.id),
        );
      });

      it("pseudonymise replaces an identifier as subject and in data, case-insensitively, within an audience", async () => {
        const start = await outboxHead(store().read);
        const ours = newPic();
        const theirs = newPic();
        const { esi, esiKey } = newEsi("erase");
        await store().transaction((tx) =>
          tx.outbox.append([
            event(esi, [ours], { type: "person.linked", data: { esi } }),
            event("card-1", [ours], { data: { esi: esi.toUpperCase(), other: "kept" } }),
            event(esi, [ours, theirs], { type: "person.linked", data: { esi } }),
            event("unrelated", [ours]),
          ]),
        );
        const changed = await store().transaction((tx) =>
          tx.outbox.pseudonymise([{ key: esiKey, pseudonym: "erased-1", audience: [ours] }]),
        );
        assert.equal(changed, 2);
        assert.equal(typeof changed, "number");
        const events = await store().read.outbox.readAfter(start, 100);
        assert.deepEqual(
          events.map((e) => [e.subject, e.data]),
          [
            ["erased-1", { esi: "erased-1" }],
            ["card-1", { esi: "erased-1", other: "kept" }],
            [esi, { esi }],
            ["unrelated", { subject: "unrelated" }],
          ],
        );
        const everywhere = await store().transaction((tx) =>
          tx.outbox.pseudonymise([{ key: esiKey, pseudonym: "erased-2", audience: null }]),
        );
        assert.equal(everywhere, 1);
        assert.equal((await store().read.outbox.readAfter(start, 100))[2]?.subject, "erased-2");
      });

      it("latestPosition is the newest event's; findByPositions gives the events that exist, in order", async () => {
        const start = await outboxHead(store().read);
        assert.equal(await store().read.outbox.latestPosition(), start);
        const audience = [newPic()];
        await store().transaction((tx) =>
          tx.outbox.append([event("p1", audience), event("p2", audience), event("p3", audience)]),
        );
        const events = await store().read.outbox.readAfter(start, 100);
        assert.equal(events.length, 3);
        const latest = await store().read.outbox.latestPosition();
        assert.equal(typeof latest, "number");
        assert.equal(latest, events[2]!.position);
        await store().transaction(async (tx) => {
          assert.equal(await tx.outbox.latestPosition(), latest);
        });
        const found = await store().read.outbox.findByPositions([
          events[2]!.position,
          latest + 1_000_000,
          events[0]!.position,
        ]);
        assert.deepEqual(found, [events[0], events[2]]);
        assert.equal(typeof found[0]?.position, "number");
        assert.deepEqual(await store().read.outbox.findByPositions([]), []);
      });
    });

    describe("consents", () => {
      it("save, find, listForPerson, givenAmong, purgeWithdrawnBefore, deleteForPerson", async () => {
        const { pic, person } = await seed();
        const other = (await seed()).person;
        await store().transaction(async (tx) => {
          await tx.consents.save(consent(person.id, pic, "display-name-publication", "given"));
          await tx.consents.save(consent(person.id, pic, "status-sharing", "given"));
          await tx.consents.save({
            ...consent(other.id, pic, "display-name-publication", "withdrawn"),
            withdrawnAt: "2020-01-01T00:00:00.000Z",
          });
        });
        assert.deepEqual(
          await store().read.consents.find(person.id, "status-sharing"),
          consent(person.id, pic, "status-sharing", "given"),
        );
        assert.deepEqual(
          (await store().read.consents.listForPerson(person.id)).map((c) => c.purpose),
          ["display-name-publication", "status-sharing"],
        );
        const given = await store().read.consents.givenAmong(
          [person.id, other.id],
          "display-name-publication",
        );
        assert.deepEqual([...given], [person.id]);
        assert.equal(typeof [...given][0], "number");
        assert.deepEqual([...(await store().read.consents.givenAmong([], "status-sharing"))], []);
        await store().transaction((tx) =>
          tx.consents.save({
            ...consent(person.id, pic, "status-sharing", "withdrawn"),
            withdrawnAt: "2026-10-15T12:00:00.000Z",
          }),
        );
        assert.equal((await store().read.consents.find(person.id, "status-sharing"))?.state, "withdrawn");
        const purged = await store().transaction((tx) =>
          tx.consents.purgeWithdrawnBefore("2021-01-01T00:00:00.000Z"),
        );
        assert.ok(purged >= 1);
        assert.equal(typeof purged, "number");
        assert.equal(await store().read.consents.find(other.id, "display-name-publication"), undefined);
        assert.equal((await store().read.consents.find(person.id, "status-sharing"))?.state, "withdrawn");
        await store().transaction((tx) => tx.consents.deleteForPerson(person.id));
        assert.deepEqual(await store().read.consents.listForPerson(person.id), []);
      });
    });

    describe("audit trail", () => {
      it("append chains entries that firstBrokenLink verifies; purgeThrough moves the anchor", async () => {
        const { person } = await seed();
        const countBefore = await store().read.audit.count();
        assert.equal(typeof countBefore, "number");
        const subject = `card-${uniqueSuffix()}`;
        await store().transaction((tx) =>
          tx.audit.append([auditEntry(subject, person.id), auditEntry(subject, person.id)]),
        );
        await store().transaction((tx) =>
          tx.audit.append([auditEntry(subject, null, "2026-10-16T00:00:00.000Z")]),
        );
        assert.equal(await store().read.audit.count(), countBefore + 3);

        const readAll = async () => {
          const anchor = await store().read.audit.anchor();
          const entries = [];
          let seq = anchor.seq;
          for (;;) {
            const batch = await store().read.audit.readAfter(seq, 1000);
            if (batch.length === 0) break;
            entries.push(...batch);
            seq = batch.at(-1)!.seq;
          }
          return { anchor, entries };
        };
        const { anchor, entries } = await readAll();
        assert.equal(typeof anchor.seq, "number");
        if (anchor.seq === 0) assert.equal(anchor.hash, GENESIS_HASH);
        assert.equal(firstBrokenLink(entries, anchor), undefined);
        const ours = entries.filter((e) => e.subject === subject);
        assert.equal(ours.length, 3);
        assert.equal(typeof ours[0]!.seq, "number");
        assert.equal(ours[0]!.personId, person.id);
        assert.equal(ours[2]!.at, "2026-10-16T00:00:00.000Z");

        const listed = await store().read.audit.list({ subjects: [subject] }, { after: 0, limit: 2 });
        assert.deepEqual(
          listed.items.map((e) => e.seq),
          ours.slice(0, 2).map((e) => e.seq),
        );
        assert.equal(listed.next, ours[1]!.seq);
        const byPerson = await store().read.audit.list(
          { personIds: [person.id], onlyCard: subject },
          { after: 0, limit: 10 },
        );
        assert.equal(byPerson.items.length, 2);
        assert.deepEqual(await store().read.audit.list({}, { after: 0, limit: 10 }), {
          items: [],
          next: null,
        });

        const lastSeq = ours[2]!.seq;
        assert.equal(await store().read.audit.lastSeqBefore("2026-10-16T00:00:00.000Z"), ours[1]!.seq);
        const purged = await store().transaction((tx) => tx.audit.purgeThrough(ours[1]!.seq));
        assert.equal(typeof purged, "number");
        assert.ok(purged >= 2);
        const afterPurge = await readAll();
        assert.equal(afterPurge.anchor.seq, ours[1]!.seq);
        assert.equal(afterPurge.anchor.hash, ours[1]!.hash);
        assert.equal(afterPurge.entries[0]?.seq, lastSeq);
        assert.equal(firstBrokenLink(afterPurge.entries, afterPurge.anchor), undefined);
        // the chain continues from the remaining head
        await store().transaction((tx) => tx.audit.append([auditEntry(subject, person.id)]));
        const continued = await readAll();
        assert.equal(continued.entries.at(-1)?.seq, lastSeq + 1);
        assert.equal(firstBrokenLink(continued.entries, continued.anchor), undefined);
        assert.equal(await store().transaction((tx) => tx.audit.purgeThrough(0)), 0);
      });
    });

    describe("leases", () => {
      it("one holder at a time; renewal, expiry and release", async () => {
        const name = `job-${uniqueSuffix()}`;
        const t = (minutes: number) => new Date(Date.parse(AT) + minutes * 60_000).toISOString();
        const acquire = (holder: string, now: number, until: number) =>
          store().transaction((tx) => tx.leases.tryAcquire(name, holder, t(now), t(until)));
        const [a, b] = await Promise.all([acquire("A", 0, 10), acquire("B", 0, 10)]);
        assert.equal(Number(a) + Number(b), 1, "exactly one of two holders racing gets the lease");
        const winner = a ? "A" : "B";
        const loser = a ? "B" : "A";
        assert.equal(await acquire(winner, 5, 15), true, "the holder renews");
        assert.equal(await acquire(loser, 10, 20), false, "not before the renewed expiry");
        assert.equal(await acquire(loser, 15, 25), true, "taken over once expired");
        assert.equal(await acquire(winner, 16, 26), false);
        await store().transaction((tx) => tx.leases.release(name, winner));
        assert.equal(await acquire(winner, 17, 27), false, "a release by a non-holder changes nothing");
        await store().transaction((tx) => tx.leases.release(name, loser));
        assert.equal(await acquire(winner, 18, 28), true, "free after its holder released it");
      });
    });

    describe("subscriptions", () => {
      it("insert and find give every field back; update checks the version; recordAttempt keeps the latest", async () => {
        const { pic } = await seed();
        const sub = newSubscription(pic, {
          description: "Card office",
          types: ["card.created", "card.updated"],
          issuer: pic,
          cardSet: true,
          createdAt: AT_MS,
          updatedAt: AT_MS,
        });
        const v1 = await store().transaction((tx) => tx.subscriptions.insert(sub));
        assert.equal(typeof v1.seq, "number");
        assert.deepEqual(v1, {
          ...sub,
          seq: v1.seq,
          version: 1,
          lastAttemptAt: null,
          lastStatus: null,
          lastError: null,
        });
        assert.deepEqual(await store().read.subscriptions.find(sub.id), v1);
        assert.equal(await store().read.subscriptions.find(randomUUID()), undefined);

        await store().transaction((tx) =>
          tx.subscriptions.recordAttempt(sub.id, minutesAfter(2), 503, "HTTP 503"),
        );
        // an attempt that finished later but started earlier does not hide the latest one
        await store().transaction((tx) => tx.subscriptions.recordAttempt(sub.id, minutesAfter(1), 204, null));
        const attempted = await store().read.subscriptions.find(sub.id);
        assert.deepEqual(
          [attempted?.lastAttemptAt, attempted?.lastStatus, attempted?.lastError, attempted?.version],
          [minutesAfter(2), 503, "HTTP 503", 1],
        );

        const changes = {
          url: "https://hooks.example.org/v2",
          description: null,
          types: null,
          issuer: null,
          cardSet: false,
          state: "paused" as const,
          updatedAt: minutesAfter(3),
        };
        const v2 = await store().transaction((tx) => tx.subscriptions.update({ ...v1, ...changes }));
        assert.deepEqual(v2, {
          ...v1,
          ...changes,
          version: 2,
          lastAttemptAt: minutesAfter(2),
          lastStatus: 503,
          lastError: "HTTP 503",
        });
        assert.deepEqual(await store().read.subscriptions.find(sub.id), v2);
        const stale = await store().transaction((tx) =>
          tx.subscriptions.update({ ...v1, url: "https://stale.example.org" }),
        );
        assert.equal(stale, undefined);
        assert.equal((await store().read.subscriptions.find(sub.id))?.url, changes.url);
        // the secret is not among the fields an update writes
        await store().transaction((tx) => tx.subscriptions.update({ ...v2!, secret: "whsec_other" }));
        assert.equal((await store().read.subscriptions.find(sub.id))?.secret, sub.secret);

        await store().transaction((tx) => tx.subscriptions.recordAttempt(sub.id, minutesAfter(4), 200, null));
        const recorded = await store().read.subscriptions.find(sub.id);
        assert.deepEqual(
          [recorded?.lastAttemptAt, recorded?.lastStatus, recorded?.lastError],
          [minutesAfter(4), 200, null],
        );
        await dropSubscriptions([sub.id]);
      });

      it("delete removes the card set and the deliveries with the subscription", async () => {
        const { pic } = await seed();
        const [gone, kept] = await insertSubscriptions(pic, 2);
        const escn = generateEscn({ prefix: "001", pic });
        await store().transaction(async (tx) => {
          for (const sub of [gone!, kept!]) {
            await tx.subscriptions.addCards(sub.id, [escn]);
            await tx.deliveries.enqueue([newDelivery(sub.id, 1, "k")]);
          }
        });
        const doomed = (await store().read.deliveries.list(gone!.id, null, { after: 0, limit: 10 })).items;
        assert.equal(doomed.length, 1);
        await store().transaction((tx) => tx.subscriptions.delete(gone!.id));
        assert.equal(await store().read.subscriptions.find(gone!.id), undefined);
        assert.equal(await store().read.subscriptions.countCards(gone!.id), 0);
        assert.equal(await store().read.deliveries.find(gone!.id, doomed[0]!.id), undefined);
        assert.deepEqual(await store().read.deliveries.countByState(gone!.id), {
          pending: 0,
          delivered: 0,
          dead: 0,
        });
        assert.deepEqual((await store().read.subscriptions.holdersOfCards([escn])).get(escn), [kept!.id]);
        assert.deepEqual(await store().read.deliveries.countByState(kept!.id), {
          pending: 1,
          delivered: 0,
          dead: 0,
        });
        await dropSubscriptions([kept!.id]);
      });

      it("listForOrganisation pages through one organisation's subscriptions; listActive leaves paused ones out", async () => {
        const { pic } = await seed();
        const other = (await seed()).pic;
        const ours = await insertSubscriptions(pic, 5);
        const theirs = await insertSubscriptions(other, 1);
        const paused = await store().transaction((tx) =>
          tx.subscriptions.update({ ...ours[1]!, state: "paused", updatedAt: minutesAfter(1) }),
        );
        assert.equal(paused?.state, "paused");
        const seen: string[] = [];
        let after = 0;
        for (let pages = 0; pages < 100; pages++) {
          const page = await store().read.subscriptions.listForOrganisation(pic, { after, limit: 2 });
          assert.ok(page.items.length <= 2);
          seen.push(...page.items.map((s) => s.id));
          if (page.next === null) break;
          assert.equal(typeof page.next, "number");
          after = page.next;
        }
        assert.deepEqual(
          seen,
          ours.map((s) => s.id),
        );
        assert.deepEqual(
          (await store().read.subscriptions.listForOrganisation(other, { after: 0, limit: 10 })).items,
          theirs,
        );
        const active = (await store().read.subscriptions.listActive()).map((s) => s.id);
        for (const sub of [...ours, ...theirs]) {
          assert.equal(active.includes(sub.id), sub.id !== ours[1]!.id, `${sub.id} listed as active`);
        }
        await dropSubscriptions([...ours, ...theirs].map((s) => s.id));
      });

      it("card sets: add ignores duplicates, remove, count, list in ESCN byte order by pages, holdersOfCards", async () => {
        const { pic } = await seed();
        const [first, second] = await insertSubscriptions(pic, 2);
        // the first with a letter in it: in capitals, it is another entry (ESCNs are compared exactly, as stored)
        const escns = generateEscns(5, { prefix: "001", pic })
          .map(String)
          .sort((a, b) => Number(/[a-f]/.test(b)) - Number(/[a-f]/.test(a)));
        const upper = escns[0]!.toUpperCase();
        assert.notEqual(upper, escns[0]);
        const added = await store().transaction((tx) =>
          tx.subscriptions.addCards(first!.id, [escns[0]!, escns[1]!, escns[2]!, escns[0]!]),
        );
        assert.equal(added, 3);
        assert.equal(
          await store().transaction((tx) =>
            tx.subscriptions.addCards(first!.id, [escns[1]!, escns[3]!, upper]),
          ),
          2,
        );
        assert.equal(await store().transaction((tx) => tx.subscriptions.addCards(first!.id, [])), 0);
        const count = await store().read.subscriptions.countCards(first!.id);
        assert.equal(count, 5);
        assert.equal(typeof count, "number");

        const listed: string[] = [];
        let after = "";
        for (;;) {
          const page = await store().read.subscriptions.listCards(first!.id, after, 2);
          assert.ok(page.length <= 2);
          if (page.length === 0) break;
          listed.push(...page);
          after = page.at(-1)!;
        }
        const expected = [escns[0]!, escns[1]!, escns[2]!, escns[3]!, upper].sort();
        assert.deepEqual(listed, expected);

        const removed = await store().transaction((tx) =>
          tx.subscriptions.removeCards(first!.id, [escns[1]!, escns[4]!, upper]),
        );
        assert.equal(removed, 2);
        assert.equal(await store().read.subscriptions.countCards(first!.id), 3);
        assert.equal(await store().transaction((tx) => tx.subscriptions.removeCards(first!.id, [])), 0);

        await store().transaction((tx) => tx.subscriptions.addCards(second!.id, [escns[0]!, escns[4]!]));
        const holders = await store().read.subscriptions.holdersOfCards([...escns, upper]);
        assert.deepEqual(holders.get(escns[0]!), [first!.id, second!.id].sort());
        assert.deepEqual(holders.get(escns[2]!), [first!.id]);
        assert.deepEqual(holders.get(escns[4]!), [second!.id]);
        assert.deepEqual(holders.get(escns[1]!) ?? [], []);
        assert.deepEqual(holders.get(upper) ?? [], []);
        assert.equal((await store().read.subscriptions.holdersOfCards([])).size, 0);
        await dropSubscriptions([first!.id, second!.id]);
      });
    });

    describe("deliveries", () => {
      it("enqueue skips what is already queued and counts what it adds, a thousand in one call", async () => {
        const { pic } = await seed();
        const [sub, other] = await insertSubscriptions(pic, 2);
        try {
          const batch = Array.from({ length: 1000 }, (_, i) =>
            newDelivery(sub!.id, i + 1, `subject-${i % 10}`, minutesAfter(i % 7)),
          );
          const added = await store().transaction((tx) => tx.deliveries.enqueue(batch));
          assert.equal(added, 1000);
          assert.equal(typeof added, "number");
          const extra = newDelivery(sub!.id, 1001, "subject-x");
          assert.equal(
            await store().transaction((tx) => tx.deliveries.enqueue([...batch.slice(0, 10), extra, extra])),
            1,
          );
          // the same event for another subscription is another delivery
          assert.equal(
            await store().transaction((tx) =>
              tx.deliveries.enqueue([{ ...extra, subscriptionId: other!.id }]),
            ),
            1,
          );
          assert.equal(await store().transaction((tx) => tx.deliveries.enqueue([])), 0);
          assert.deepEqual(await store().read.deliveries.countByState(sub!.id), {
            pending: 1001,
            delivered: 0,
            dead: 0,
          });

          const listed: Delivery[] = [];
          let after = 0;
          for (let pages = 0; pages < 100; pages++) {
            const page = await store().read.deliveries.list(sub!.id, null, { after, limit: 400 });
            assert.ok(page.items.length <= 400);
            listed.push(...page.items);
            if (page.next === null) break;
            assert.equal(typeof page.next, "number");
            after = page.next;
          }
          assert.deepEqual(
            listed.map((d) => d.eventId),
            [...batch, extra].map((d) => d.eventId),
            "in the order queued, each once",
          );
          const sample = listed[123]!;
          assert.equal(typeof sample.id, "number");
          assert.deepEqual(sample, {
            ...batch[123]!,
            id: sample.id,
            state: "pending",
            attempts: 0,
            nextAttemptAt: batch[123]!.createdAt,
            lastAttemptAt: null,
            lastStatus: null,
            lastError: null,
            deliveredAt: null,
          });
          assert.deepEqual(await store().read.deliveries.find(sub!.id, sample.id), sample);
          assert.equal(await store().read.deliveries.find(other!.id, sample.id), undefined);
          assert.deepEqual(
            await store().read.deliveries.list(sub!.id, "delivered", { after: 0, limit: 10 }),
            {
              items: [],
              next: null,
            },
          );
        } finally {
          await dropSubscriptions([sub!.id, other!.id]);
        }
      });

      it("claimDue hands out due deliveries oldest first, only the earliest of each subject, with their events", async () => {
        const { pic } = await seed();
        const [sub] = await insertSubscriptions(pic, 1);
        try {
          const start = await outboxHead(store().read);
          await store().transaction((tx) =>
            tx.outbox.append([
              event("subject-a", [pic]),
              event("subject-a", [pic]),
              event("subject-b", [pic]),
            ]),
          );
          const [e1, e2, e3] = await store().read.outbox.readAfter(start, 10);
          const gonePosition = e3!.position + 1_000_000;
          // Due times out of feed order: a later event of a subject waits for the earlier one even when due first.
          const queued = [
            newDelivery(sub!.id, e1!.position, "key-a", minutesAfter(1), { eventId: e1!.id }),
            newDelivery(sub!.id, e2!.position, "key-a", minutesAfter(0), { eventId: e2!.id }),
            newDelivery(sub!.id, e3!.position, "key-b", minutesAfter(2), {
              eventId: e3!.id,
              projection: "public",
            }),
            newDelivery(sub!.id, gonePosition, "key-c", minutesAfter(3)),
            newDelivery(sub!.id, gonePosition + 1, "key-d", minutesAfter(30)),
          ];
          await store().transaction((tx) => tx.deliveries.enqueue(queued));
          const ids = await deliveryIds(sub!.id);

          const first = await claim(10, "A", { until: minutesAfter(100) });
          assert.deepEqual(
            first.map((c) => c.delivery.eventId),
            [queued[0]!.eventId, queued[2]!.eventId, queued[3]!.eventId],
          );
          assert.deepEqual(first[0]!.event, e1);
          assert.deepEqual(first[1]!.event, e3);
          assert.equal(first[1]!.delivery.projection, "public");
          assert.equal(first[2]!.event, undefined, "the event is gone from the outbox");
          assert.deepEqual(first[0]!.delivery, await store().read.deliveries.find(sub!.id, ids[0]!));
          assert.equal(first[0]!.delivery.state, "pending");

          assert.deepEqual(await claim(11, "B"), [], "claimed ones are taken; the subject's next one waits");
          await store().transaction((tx) => tx.deliveries.markDelivered(ids[0]!, minutesAfter(11), 200));
          const delivered = await store().read.deliveries.find(sub!.id, ids[0]!);
          assert.deepEqual(
            [delivered?.state, delivered?.attempts, delivered?.deliveredAt, delivered?.lastAttemptAt],
            ["delivered", 1, minutesAfter(11), minutesAfter(11)],
          );
          assert.deepEqual([delivered?.lastStatus, delivered?.lastError], [200, null]);
          const next = await claim(11, "B", { until: minutesAfter(100) });
          assert.deepEqual(
            next.map((c) => c.delivery.id),
            [ids[1]],
            "once the earlier one is delivered, the next of the subject goes",
          );
          assert.deepEqual(next[0]!.event, e2);
          assert.deepEqual(
            (await claim(40, "C")).map((c) => c.delivery.id),
            [ids[4]],
            "not before it is due; the claims of A and B are still live",
          );
        } finally {
          await dropSubscriptions([sub!.id]);
        }
      });

      it("a failed delivery holds back its subject until retried; a dead one lets the next go; redeliver revives it", async () => {
        const { pic } = await seed();
        const [sub, other] = await insertSubscriptions(pic, 2);
        try {
          await store().transaction((tx) =>
            tx.deliveries.enqueue([newDelivery(sub!.id, 1, "key-a"), newDelivery(sub!.id, 2, "key-a")]),
          );
          const [first, second] = await deliveryIds(sub!.id);
          assert.deepEqual(
            (await claim(0)).map((c) => c.delivery.id),
            [first],
          );
          await store().transaction((tx) =>
            tx.deliveries.markFailed(first!, {
              at: minutesAfter(0),
              status: 503,
              error: "HTTP 503",
              nextAttemptAt: minutesAfter(5),
            }),
          );
          const failed = await store().read.deliveries.find(sub!.id, first!);
          assert.deepEqual(
            [failed?.state, failed?.attempts, failed?.nextAttemptAt, failed?.lastStatus, failed?.lastError],
            ["pending", 1, minutesAfter(5), 503, "HTTP 503"],
          );
          assert.deepEqual(await claim(1), [], "not due yet, and the next one waits behind it");
          assert.deepEqual(
            (await claim(5)).map((c) => c.delivery.id),
            [first],
            "due again at its retry time, its claim released",
          );
          await store().transaction((tx) =>
            tx.deliveries.markFailed(first!, {
              at: minutesAfter(5),
              status: null,
              error: "timeout",
              nextAttemptAt: null,
            }),
          );
          const dead = await store().read.deliveries.find(sub!.id, first!);
          assert.deepEqual([dead?.state, dead?.attempts, dead?.lastStatus], ["dead", 2, null]);
          assert.deepEqual(
            (await claim(6)).map((c) => c.delivery.id),
            [second],
            "a dead delivery no longer holds back its subject",
          );
          assert.deepEqual(await store().read.deliveries.countByState(sub!.id), {
            pending: 1,
            delivered: 0,
            dead: 1,
          });
          assert.deepEqual(
            (await store().read.deliveries.list(sub!.id, "dead", { after: 0, limit: 10 })).items.map(
              (d) => d.id,
            ),
            [first],
          );
          assert.deepEqual(
            (await store().read.deliveries.list(sub!.id, "pending", { after: 0, limit: 10 })).items.map(
              (d) => d.id,
            ),
            [second],
          );

          assert.equal(
            await store().transaction((tx) => tx.deliveries.redeliver(other!.id, null, minutesAfter(7))),
            0,
          );
          assert.equal(
            await store().transaction((tx) => tx.deliveries.redeliver(sub!.id, [], minutesAfter(7))),
            0,
          );
          const revived = await store().transaction((tx) =>
            tx.deliveries.redeliver(sub!.id, null, minutesAfter(7)),
          );
          assert.equal(revived, 1);
          const again = await store().read.deliveries.find(sub!.id, first!);
          assert.deepEqual(
            [again?.state, again?.attempts, again?.nextAttemptAt],
            ["pending", 0, minutesAfter(7)],
          );
          assert.equal(
            await store().transaction((tx) => tx.deliveries.redeliver(sub!.id, null, minutesAfter(7))),
            0,
          );
          assert.deepEqual(
            (await claim(7)).map((c) => c.delivery.id),
            [first],
            "a revived delivery is due at once (the second is still claimed)",
          );

          await store().transaction(async (tx) => {
            for (const id of [first!, second!]) {
              await tx.deliveries.markFailed(id, {
                at: minutesAfter(8),
                status: 410,
                error: "gone",
                nextAttemptAt: null,
              });
            }
          });
          assert.equal(
            await store().transaction((tx) => tx.deliveries.redeliver(sub!.id, [second!], minutesAfter(9))),
            1,
          );
          assert.deepEqual(await store().read.deliveries.countByState(sub!.id), {
            pending: 1,
            delivered: 0,
            dead: 1,
          });
          assert.equal((await store().read.deliveries.find(sub!.id, second!))?.state, "pending");
        } finally {
          await dropSubscriptions([sub!.id, other!.id]);
        }
      });

      it("a live claim keeps others off until it expires; excluded subscriptions are passed over; limit holds", async () => {
        const { pic } = await seed();
        const [one, two] = await insertSubscriptions(pic, 2);
        try {
          await store().transaction((tx) =>
            tx.deliveries.enqueue([
              newDelivery(one!.id, 1, "key-a", minutesAfter(0)),
              newDelivery(two!.id, 2, "key-b", minutesAfter(1)),
            ]),
          );
          const [a] = await deliveryIds(one!.id);
          const [b] = await deliveryIds(two!.id);
          assert.deepEqual(
            (await claim(2, "A", { until: minutesAfter(5), limit: 1 })).map((c) => c.delivery.id),
            [a],
            "the oldest due, within the limit",
          );
          assert.deepEqual(await claim(3, "B", { excludeSubscriptions: [two!.id] }), []);
          assert.deepEqual(
            (await claim(3, "B", { until: minutesAfter(5) })).map((c) => c.delivery.id),
            [b],
          );
          assert.deepEqual(await claim(5, "C"), [], "a claim is live up to its end");
          assert.deepEqual(
            (await claim(6, "C", { excludeSubscriptions: [one!.id] })).map((c) => c.delivery.id),
            [b],
            "an expired claim is taken over",
          );
          assert.deepEqual(
            (await claim(6, "D")).map((c) => c.delivery.id),
            [a],
          );
          assert.deepEqual(await claim(20, "E", { limit: 0 }), []);
        } finally {
          await dropSubscriptions([one!.id, two!.id]);
        }
      });

      it("releaseClaims frees only the given holder's claims, so that it can claim them again at once", async () => {
        const { pic } = await seed();
        const [one, two] = await insertSubscriptions(pic, 2);
        try {
          await store().transaction((tx) =>
            tx.deliveries.enqueue([
              newDelivery(one!.id, 1, "key-a", minutesAfter(0)),
              newDelivery(two!.id, 2, "key-b", minutesAfter(0)),
            ]),
          );
          const [a] = await deliveryIds(one!.id);
          const [b] = await deliveryIds(two!.id);
          assert.equal(
            (await claim(1, "A", { until: minutesAfter(60), excludeSubscriptions: [two!.id] })).length,
            1,
          );
          assert.equal((await claim(1, "B", { until: minutesAfter(60) })).length, 1);
          assert.deepEqual(await claim(2, "A"), [], "both claimed");
          assert.equal(await store().transaction((tx) => tx.deliveries.releaseClaims("A")), 1);
          assert.deepEqual(
            (await claim(2, "A")).map((c) => c.delivery.id),
            [a],
            "A's own claim is free again; B's still holds",
          );
          assert.ok(b !== undefined);
        } finally {
          await dropSubscriptions([one!.id, two!.id]);
        }
      });

      it("processes claiming at once never get the same delivery, nor two of one subject", async () => {
        const { pic } = await seed();
        const subs = await insertSubscriptions(pic, 2);
        try {
          // 2 subscriptions × 60 subjects × 2 events: only the earlier event of each subject may go.
          const queued = subs.flatMap((sub) =>
            Array.from({ length: 120 }, (_, i) =>
              newDelivery(sub.id, 1 + Math.floor(i / 60), `key-${i % 60}`, minutesAfter(i % 3)),
            ),
          );
          await store().transaction((tx) => tx.deliveries.enqueue(queued));
          const claimed: ClaimedDelivery[] = [];
          const worker = async (holder: string): Promise<void> => {
            for (let rounds = 0; rounds < 1000; rounds++) {
              const got = await store().transaction(async (tx) => {
                const batch = await tx.deliveries.claimDue({
                  now: minutesAfter(10),
                  holder,
                  until: minutesAfter(20),
                  limit: 7,
                  excludeSubscriptions: [],
                });
                await tick(); // hold the transaction open while the others claim
                return batch;
              });
              if (got.length === 0) return;
              claimed.push(...got);
            }
          };
          await Promise.all(["W1", "W2", "W3", "W4", "W5"].map(worker));
          const ids = claimed.map((c) => c.delivery.id);
          assert.equal(new Set(ids).size, ids.length, "no delivery claimed twice");
          assert.deepEqual(
            claimed.map((c) => `${c.delivery.subscriptionId} ${c.delivery.eventId}`).sort(),
            queued
              .filter((d) => d.position === 1)
              .map((d) => `${d.subscriptionId} ${d.eventId}`)
              .sort(),
            "exactly the earliest delivery of each subject",
          );
        } finally {
          await dropSubscriptions(subs.map((s) => s.id));
        }
      });

      it("purgeDeliveredBefore removes delivered deliveries that went through before the time, and nothing else", async () => {
        const { pic } = await seed();
        const [sub] = await insertSubscriptions(pic, 1);
        try {
          await store().transaction((tx) =>
            tx.deliveries.enqueue([
              newDelivery(sub!.id, 1, "key-a"),
              newDelivery(sub!.id, 2, "key-b"),
              newDelivery(sub!.id, 3, "key-c"),
              newDelivery(sub!.id, 4, "key-d"),
            ]),
          );
          const [old, recent, dead, pending] = await deliveryIds(sub!.id);
          await store().transaction(async (tx) => {
            await tx.deliveries.markDelivered(old!, minutesAfter(1), 200);
            await tx.deliveries.markDelivered(recent!, minutesAfter(10), 204);
            await tx.deliveries.markFailed(dead!, {
              at: minutesAfter(1),
              status: 500,
              error: "boom",
              nextAttemptAt: null,
            });
          });
          const purged = await store().transaction((tx) =>
            tx.deliveries.purgeDeliveredBefore(minutesAfter(10)),
          );
          assert.equal(purged, 1);
          assert.equal(typeof purged, "number");
          assert.equal(await store().read.deliveries.find(sub!.id, old!), undefined);
          for (const id of [recent!, dead!, pending!]) {
            assert.ok(await store().read.deliveries.find(sub!.id, id), `delivery ${id} kept`);
          }
          assert.deepEqual(await store().read.deliveries.countByState(sub!.id), {
            pending: 1,
            delivered: 1,
            dead: 1,
          });
        } finally {
          await dropSubscriptions([sub!.id]);
        }
      });
    });

    describe("cursors", () => {
      it("get, set and getForUpdate; an unknown cursor reads as undefined", async () => {
        const name = `job-${uniqueSuffix()}`;
        assert.equal(await store().read.cursors.get(name), undefined);
        assert.equal(await store().transaction((tx) => tx.cursors.getForUpdate(name)), undefined);
        assert.equal(
          await store().read.cursors.get(name),
          undefined,
          "locking a new cursor gives it no value",
        );
        await store().transaction((tx) => tx.cursors.set(name, "41"));
        assert.equal(await store().read.cursors.get(name), "41");
        await store().transaction(async (tx) => {
          assert.equal(await tx.cursors.getForUpdate(name), "41");
          await tx.cursors.set(name, "2026-10-15");
        });
        assert.equal(await store().read.cursors.get(name), "2026-10-15");
        assert.equal(await store().read.cursors.get(`${name}-other`), undefined);
      });

      for (const existing of [true, false]) {
        it(`getForUpdate of ${existing ? "a" : "a new"} cursor waits for the transaction that holds it`, async () => {
          const name = `turnstile-${uniqueSuffix()}`;
          if (existing) await store().transaction((tx) => tx.cursors.set(name, "1"));
          const locked = gate();
          const release = gate();
          const first = store().transaction(async (tx) => {
            const value = await tx.cursors.getForUpdate(name);
            locked.open();
            await release.wait;
            // Written after the second transaction asked: it sees the value only by waiting for this commit.
            await tx.cursors.set(name, `${Number(value ?? 0) + 1}`);
          });
          let secondRead: string | undefined | null = null;
          let second: Promise<void> | undefined;
          try {
            await locked.wait;
            second = store().transaction(async (tx) => {
              secondRead = await tx.cursors.getForUpdate(name);
              await tx.cursors.set(name, `${Number(secondRead ?? 0) + 1}`);
            });
            await new Promise((resolve) => setTimeout(resolve, 150));
            assert.equal(secondRead, null, "the second transaction is still waiting");
          } finally {
            release.open();
            await Promise.allSettled([first, second]);
          }
          await first;
          await second;
          assert.equal(secondRead, existing ? "2" : "1", "it read what the first committed");
          assert.equal(await store().read.cursors.get(name), existing ? "3" : "2");
        });
      }
    });

    describe("transactions", () => {
      it("commit a card and its outbox event together", async () => {
        const { pic, person } = await seed();
        const start = await outboxHead(store().read);
        const card = newCard(person, pic);
        const result = await store().transaction(async (tx) => {
          const created = await tx.cards.insert(card);
          await tx.outbox.append([event(card.escn, [pic], { type: "card.created" })]);
          return created;
        });
        assert.equal(result.version, 1);
        assert.equal((await store().read.cards.findByEscn(card.escn))?.version, 1);
        const events = await store().read.outbox.readAfter(start, 100);
        assert.deepEqual(
          events.filter((e) => e.subject === card.escn).map((e) => e.type),
          ["card.created"],
        );
      });

      it("roll back entirely when the work throws: no card, no event, no organisation", async () => {
        const { pic, person } = await seed();
        const start = await outboxHead(store().read);
        const card = newCard(person, pic);
        const orgId = newPic();
        await assert.rejects(
          store().transaction(async (tx) => {
            await tx.organisations.insert(organisation(orgId));
            await tx.outbox.append([event(card.escn, [pic], { type: "card.created" })]);
            await tx.cards.insert(card);
            await tick();
            throw new Error("the service changed its mind");
          }),
          /changed its mind/,
        );
        assert.equal(await store().read.cards.findByEscn(card.escn), undefined);
        assert.equal(await store().read.organisations.findById(orgId), undefined);
        assert.deepEqual(
          (await store().read.outbox.readAfter(start, 100)).filter((e) => e.subject === card.escn),
          [],
        );
        await store().transaction(async (tx) => {
          assert.equal(await tx.cards.findByEscn(card.escn), undefined);
        });
      });

      it("roll back when the database refuses a write halfway, and keep working", async () => {
        const { pic, person } = await seed();
        const card = newCard(person, pic);
        await store().transaction((tx) => tx.cards.insert(card));
        const other = newCard(person, pic);
        await assert.rejects(
          store().transaction(async (tx) => {
            await tx.cards.insert(other);
            await tx.cards.insert(card);
          }),
        );
        assert.equal(await store().read.cards.findByEscn(other.escn), undefined);
        const next = newCard(person, pic);
        assert.equal(await store().transaction(async (tx) => (await tx.cards.insert(next)).version), 1);
        assert.equal(await store().transaction(async () => 42), 42);
      });

      it("a read outside a transaction does not see its uncommitted writes", async () => {
        const { pic, person } = await seed();
        const card = newCard(person, pic);
        const existing = await store().transaction((tx) => tx.cards.insert(newCard(person, pic)));
        const written = gate();
        const release = gate();
        const pending = store().transaction(async (tx) => {
          await tx.cards.insert(card);
          await tx.cards.update({ ...existing, status: "INACTIVE", inactiveReason: "lost" });
          written.open();
          await release.wait;
        });
        await written.wait;
        try {
          assert.equal(await store().read.cards.findByEscn(card.escn), undefined);
          assert.equal(await store().read.cards.findPublic(card.escn), undefined);
          const during = await store().read.cards.findByEscn(existing.escn);
          assert.equal(during?.status, "ACTIVE");
          assert.equal(during?.version, 1);
        } finally {
          release.open();
          await pending;
        }
        assert.equal((await store().read.cards.findByEscn(card.escn))?.escn, card.escn);
        assert.equal((await store().read.cards.findByEscn(existing.escn))?.version, 2);
      });
    });

    describe("uniqueness", () => {
      it("a second card with the same ESCN is refused", async () => {
        const { pic, person } = await seed();
        const card = newCard(person, pic);
        await store().transaction((tx) => tx.cards.insert(card));
        await assert.rejects(store().transaction((tx) => tx.cards.insert({ ...card, displayName: "Twin" })));
        assert.equal((await store().read.cards.findByEscn(card.escn))?.displayName, "Jeanne E.");
      });

      it("a second person with the same ESI key is refused", async () => {
        const { person } = await seed();
        await assert.rejects(
          store().transaction((tx) =>
            tx.persons.insert({
              esi: person.esi.toUpperCase(),
              esiKey: person.esiKey,
              createdAt: AT,
              updatedAt: AT,
            }),
          ),
        );
        assert.equal((await store().read.persons.findByKey(person.esiKey))?.id, person.id);
      });

      it("a second organisation with the same id is refused", async () => {
        const { pic } = await seed();
        await assert.rejects(
          store().transaction((tx) => tx.organisations.insert(organisation(pic, { name: "Impostor" }))),
        );
        assert.equal((await store().read.organisations.findById(pic))?.name, `Université ${pic}`);
      });
    });

    describe("dates and time zones", () => {
      it("dates come back as the same yyyy-MM-dd strings and timestamps unchanged, whatever the process's zone", async () => {
        const { pic, person } = await seed();
        const zone = process.env["TZ"];
        // Far from UTC both ways: a date turned into a local midnight would shift by a day.
        for (const tz of ["Pacific/Kiritimati", "Pacific/Pago_Pago"]) {
          process.env["TZ"] = tz;
          try {
            const card = newCard(person, pic, {
              issuedAt: parseIsoDate("2026-01-01"),
              expiresAt: parseIsoDate("2030-12-31"),
              createdAt: AT_MS,
              updatedAt: "2026-03-29T01:30:00.000Z",
            });
            await store().transaction((tx) => tx.cards.insert(card));
            const stored = await store().read.cards.findByEscn(card.escn);
            assert.equal(stored?.issuedAt, "2026-01-01");
            assert.equal(stored?.expiresAt, "2030-12-31");
            assert.equal(typeof stored?.issuedAt, "string");
            assert.equal(stored?.createdAt, AT_MS);
            assert.equal(stored?.updatedAt, "2026-03-29T01:30:00.000Z");
            const pub = await store().read.cards.findPublic(card.escn);
            assert.equal(pub?.issuedAt, "2026-01-01");
            assert.equal(pub?.expiresAt, "2030-12-31");
          } finally {
            if (zone === undefined) delete process.env["TZ"];
            else process.env["TZ"] = zone;
          }
        }
        const status = await store().transaction((tx) =>
          tx.statuses.save(
            {
              personId: person.id,
              esi: person.esi,
              organisationId: pic,
              state: "enrolled",
              validFrom: parseIsoDate("2026-02-28") as IsoDate,
              validUntil: parseIsoDate("2028-02-29") as IsoDate,
              createdAt: AT_MS,
              updatedAt: AT_MS,
            },
            null,
          ),
        );
        assert.equal(status?.version, 1);
        const stored = await store().read.statuses.find(person.id, pic);
        assert.equal(stored?.validFrom, "2026-02-28");
        assert.equal(stored?.validUntil, "2028-02-29");
        assert.equal(stored?.createdAt, AT_MS);
      });
    });

    describe("concurrency", () => {
      it("20 parallel read-modify-write updates of one card, retried on a stale version, lose nothing", async () => {
        const { pic, person } = await seed();
        const card = newCard(person, pic);
        await store().transaction((tx) => tx.cards.insert(card));
        const start = await outboxHead(store().read);
        const writers = 20;
        let retries = 0;
        const versions = await Promise.all(
          Array.from({ length: writers }, async (_, i) => {
            for (let attempt = 0; attempt < 200; attempt++) {
              const saved = await store().transaction(async (tx) => {
                const current = await tx.cards.findByEscn(card.escn);
                assert.ok(current);
                await tick(); // let the other writers run in between
                const next = await tx.cards.update({ ...current, displayName: `writer ${i}`, updatedAt: AT });
                if (next) await tx.outbox.append([event(card.escn, [pic], { data: { writer: i } })]);
                return next;
              });
              if (saved) return saved.version;
              retries++;
            }
            throw new Error(`writer ${i} never got its update in`);
          }),
        );
        assert.deepEqual(
          [...versions].sort((a, b) => a - b),
          Array.from({ length: writers }, (_, i) => i + 2),
        );
        const stored = await store().read.cards.findByEscn(card.escn);
        assert.equal(stored?.version, writers + 1);
        const events = (await store().read.outbox.readAfter(start, 1000)).filter(
          (e) => e.subject === card.escn,
        );
        assert.deepEqual(
          events.map((e) => e.data["writer"]).sort((a, b) => Number(a) - Number(b)),
          Array.from({ length: writers }, (_, i) => i),
          `one event per kept update (${retries} retries)`,
        );
      });
    });

    /** A status list of `organisationId`, committed. */
    function insertStatusList(
      organisationId: string,
      size = 64,
      bits: StatusBits = 1,
    ): Promise<StatusListRecord> {
      return store().transaction((tx) =>
        tx.statusLists.insert({ organisationId, size, bits, createdAt: AT }),
      );
    }

    describe("issuer keys", () => {
      it("insert and find give every field back; an organisation has one active key at a time", async () => {
        const { pic } = await seed();
        const other = (await seed()).pic;
        const old = issuerKey(pic, { state: "retired", createdAt: minutesAfter(-10), retiredAt: AT });
        const first = issuerKey(pic, { createdAt: AT_MS, publishedUntil: "2031-01-01T00:00:00.000Z" });
        const second = issuerKey(pic, {
          createdAt: "2026-10-16T00:00:00.000Z",
          origin: "imported",
          alg: "EdDSA",
        });
        const theirs = issuerKey(other);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(old)), true, "a retired key");
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(first)), true);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(theirs)), true, "another tenant");
        assert.deepEqual(await store().read.issuerKeys.find(first.id), first);
        assert.deepEqual(await store().read.issuerKeys.findActive(pic), first);
        assert.equal(await store().read.issuerKeys.find(`missing-${uniqueSuffix()}`), undefined);

        assert.equal(
          await store().transaction((tx) => tx.issuerKeys.insert(second)),
          false,
          "a second active key",
        );
        assert.equal(await store().read.issuerKeys.find(second.id), undefined);
        assert.equal(
          await store().transaction((tx) => tx.issuerKeys.insert({ ...first, state: "retired" })),
          false,
          "the same key again",
        );

        const retiredAt = minutesAfter(5);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.retireActive(pic, retiredAt)), 1);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.retireActive(pic, retiredAt)), 0);
        assert.equal(await store().read.issuerKeys.findActive(pic), undefined);
        assert.deepEqual(
          await store().read.issuerKeys.findActive(other),
          theirs,
          "the other tenant's key stays",
        );
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(second)), true);
        assert.deepEqual(await store().read.issuerKeys.findActive(pic), second);
        assert.deepEqual(await store().read.issuerKeys.listForOrganisation(pic), [
          second,
          { ...first, state: "retired", retiredAt },
          old,
        ]);
        assert.deepEqual(await store().read.issuerKeys.listForOrganisation(other), [theirs]);
      });

      it("retiring the active key and making the next one commit together, in one transaction", async () => {
        const { pic } = await seed();
        const first = issuerKey(pic);
        const next = issuerKey(pic, { createdAt: minutesAfter(1) });
        await store().transaction((tx) => tx.issuerKeys.insert(first));
        const inserted = await store().transaction(async (tx) => {
          await tx.issuerKeys.retireActive(pic, minutesAfter(1));
          return tx.issuerKeys.insert(next);
        });
        assert.equal(inserted, true);
        assert.equal((await store().read.issuerKeys.findActive(pic))?.id, next.id);
        assert.equal((await store().read.issuerKeys.find(first.id))?.state, "retired");
      });

      it("of two transactions racing to make the first key, one gets it and the other can go on", async () => {
        const { pic } = await seed();
        const mine = issuerKey(pic);
        const yours = issuerKey(pic);
        const spare = issuerKey(pic, { state: "retired", retiredAt: AT });
        const inserted = gate();
        const release = gate();
        const first = store().transaction(async (tx) => {
          const stored = await tx.issuerKeys.insert(mine);
          inserted.open();
          await release.wait;
          return stored;
        });
        let second: Promise<boolean> | undefined;
        try {
          await inserted.wait;
          second = store().transaction(async (tx) => {
            const stored = await tx.issuerKeys.insert(yours);
            // A refused insert leaves the transaction usable.
            await tx.issuerKeys.insert(spare);
            return stored;
          });
          await new Promise((resolve) => setTimeout(resolve, 100));
        } finally {
          release.open();
          await Promise.allSettled([first, second]);
        }
        assert.equal(await first, true);
        assert.equal(await second, false);
        assert.equal((await store().read.issuerKeys.findActive(pic))?.id, mine.id);
        assert.deepEqual(await store().read.issuerKeys.find(spare.id), spare);
      });

      it("the deployment's CA has a slot of its own, apart from every organisation's", async () => {
        const { pic } = await seed();
        const orgKey = issuerKey(pic);
        const ca = issuerKey(null);
        const otherCa = issuerKey(null, { createdAt: minutesAfter(1) });
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(ca)), true);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(orgKey)), true);
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(otherCa)), false);
        assert.deepEqual(await store().read.issuerKeys.findActive(null), ca);
        assert.deepEqual(await store().read.issuerKeys.findActive(pic), orgKey);
        assert.deepEqual(await store().read.issuerKeys.listForOrganisation(null), [ca]);
        assert.deepEqual(await store().read.issuerKeys.listForOrganisation(pic), [orgKey]);
        await assert.rejects(store().read.issuerKeys.findActive(""), TypeError, "'' is not the CA");

        assert.equal(await store().transaction((tx) => tx.issuerKeys.retireActive(null, minutesAfter(1))), 1);
        assert.deepEqual(
          await store().read.issuerKeys.findActive(pic),
          orgKey,
          "the organisation keeps its key",
        );
        assert.equal(await store().transaction((tx) => tx.issuerKeys.insert(otherCa)), true);
        assert.deepEqual(
          (await store().read.issuerKeys.listForOrganisation(null)).map((k) => [k.id, k.state]),
          [
            [otherCa.id, "active"],
            [ca.id, "retired"],
          ],
        );
      });

      it("publishedUntil only ever moves later", async () => {
        const { pic } = await seed();
        const key = issuerKey(pic);
        await store().transaction((tx) => tx.issuerKeys.insert(key));
        const until = async () => (await store().read.issuerKeys.find(key.id))?.publishedUntil;
        await store().transaction((tx) =>
          tx.issuerKeys.extendPublishedUntil(key.id, "2027-06-01T00:00:00.000Z"),
        );
        assert.equal(await until(), "2027-06-01T00:00:00.000Z");
        await store().transaction((tx) =>
          tx.issuerKeys.extendPublishedUntil(key.id, "2027-05-31T23:59:59.999Z"),
        );
        assert.equal(await until(), "2027-06-01T00:00:00.000Z", "an earlier expiry leaves it");
        await store().transaction((tx) =>
          tx.issuerKeys.extendPublishedUntil(key.id, "2028-01-01T00:00:00.000Z"),
        );
        assert.equal(await until(), "2028-01-01T00:00:00.000Z");
      });

      it("purgeRetiredBefore removes retired keys no longer published, and never an active key", async () => {
        const { pic } = await seed();
        // Dates no other test uses: the purge looks at the whole store.
        const expired = issuerKey(pic, {
          state: "retired",
          retiredAt: "2001-01-01T00:00:00.000Z",
          publishedUntil: "2001-06-01T00:00:00.000Z",
        });
        const stillPublished = issuerKey(pic, {
          state: "retired",
          retiredAt: "2001-01-01T00:00:00.000Z",
          publishedUntil: "2003-01-01T00:00:00.000Z",
        });
        const signedNothing = issuerKey(pic, { state: "retired", retiredAt: "2001-02-01T00:00:00.000Z" });
        const active = issuerKey(pic, {
          createdAt: "2000-01-01T00:00:00.000Z",
          publishedUntil: "2001-01-01T00:00:00.000Z",
        });
        await store().transaction(async (tx) => {
          for (const key of [expired, stillPublished, signedNothing, active]) {
            assert.equal(await tx.issuerKeys.insert(key), true);
          }
        });
        assert.equal(
          await store().transaction((tx) => tx.issuerKeys.purgeRetiredBefore("2002-01-01T00:00:00.000Z")),
          2,
        );
        assert.deepEqual(
          (await store().read.issuerKeys.listForOrganisation(pic)).map((k) => k.id).sort(),
          [stillPublished.id, active.id].sort(),
        );
      });
    });

    describe("issued credentials", () => {
      it("insert and find give every field back", async () => {
        const { pic, person } = await seed();
        const list = await insertStatusList(pic);
        const credential = issuedCredential(pic, list.id, 7, {
          escn: generateEscn({ prefix: "001", pic }),
          personId: person.id,
          offerId: `offer-${uniqueSuffix()}`,
          issuedAt: AT_MS,
        });
        assert.equal(await store().transaction((tx) => tx.credentials.insert(credential)), true);
        const found = await store().read.credentials.find(credential.id);
        assert.deepEqual(found, credential);
        assert.equal(typeof found?.personId, "number");
        assert.equal(typeof found?.statusListId, "number");
        assert.equal(await store().read.credentials.find(`missing-${uniqueSuffix()}`), undefined);
        const erased = issuedCredential(pic, list.id, 8);
        await store().transaction((tx) => tx.credentials.insert(erased));
        assert.deepEqual(await store().read.credentials.find(erased.id), erased, "null holder and offer");
      });

      it("a taken status entry is refused without writing, and the transaction commits its other writes", async () => {
        const { pic } = await seed();
        const list = await insertStatusList(pic);
        const taken = issuedCredential(pic, list.id, 3);
        await store().transaction((tx) => tx.credentials.insert(taken));
        const before = issuedCredential(pic, list.id, 4);
        const clash = issuedCredential(pic, list.id, 3);
        const after = issuedCredential(pic, list.id, 5);
        const name = `job-${uniqueSuffix()}`;
        const outcome = await store().transaction(async (tx) => {
          const results = [await tx.credentials.insert(before), await tx.credentials.insert(clash)];
          // The issuer picks another index and goes on, in the same transaction.
          results.push(await tx.credentials.insert(after));
          await tx.cursors.set(name, "after the clash");
          return results;
        });
        assert.deepEqual(outcome, [true, false, true]);
        assert.equal(await store().read.credentials.find(clash.id), undefined);
        assert.equal((await store().read.credentials.find(before.id))?.statusIndex, 4);
        assert.equal((await store().read.credentials.find(after.id))?.statusIndex, 5);
        assert.equal(await store().read.cursors.get(name), "after the clash");
        assert.deepEqual(await store().read.credentials.find(taken.id), taken);
        // The same entry on another list is free.
        const elsewhere = await insertStatusList(pic);
        assert.equal(
          await store().transaction((tx) => tx.credentials.insert(issuedCredential(pic, elsewhere.id, 3))),
          true,
        );
        // A credential id is random: one stored twice is a defect, not a taken entry.
        await assert.rejects(
          store().transaction((tx) => tx.credentials.insert({ ...taken, statusIndex: 9 })),
        );
      });

      it("listForCard and listForPerson answer oldest first; listForOrganisation pages one tenant's", async () => {
        const { pic, person } = await seed();
        const { pic: other, person: otherPerson } = await seed();
        const list = await insertStatusList(pic);
        const theirList = await insertStatusList(other);
        const escn = generateEscn({ prefix: "001", pic });
        const newer = issuedCredential(pic, list.id, 1, {
          escn,
          personId: person.id,
          issuedAt: minutesAfter(5),
        });
        const older = issuedCredential(pic, list.id, 2, { escn, personId: person.id, issuedAt: AT });
        const otherCard = issuedCredential(pic, list.id, 3, {
          escn: generateEscn({ prefix: "001", pic }),
          personId: person.id,
          issuedAt: minutesAfter(1),
        });
        const theirs = issuedCredential(other, theirList.id, 1, {
          escn: generateEscn({ prefix: "001", pic: other }),
          personId: otherPerson.id,
        });
        await store().transaction(async (tx) => {
          for (const c of [newer, older, otherCard, theirs]) await tx.credentials.insert(c);
        });
        assert.deepEqual(await store().read.credentials.listForCard(escn), [older, newer]);
        assert.deepEqual(
          await store().read.credentials.listForCard(escn.toUpperCase()),
          [],
          "compared exactly",
        );
        assert.deepEqual(await store().read.credentials.listForPerson(person.id), [older, otherCard, newer]);
        assert.deepEqual(await store().read.credentials.listForPerson(otherPerson.id), [theirs]);

        const seen: string[] = [];
        let after = 0;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store().read.credentials.listForOrganisation(pic, { after, limit: 2 });
          seen.push(...page.items.map((c) => c.id));
          if (page.next === null) break;
          assert.equal(typeof page.next, "number");
          after = page.next;
        }
        assert.deepEqual(seen, [newer.id, older.id, otherCard.id], "in insertion order, this tenant's only");
        const whole = await store().read.credentials.listForOrganisation(other, { after: 0, limit: 10 });
        assert.deepEqual(whole, { items: [theirs], next: null });
      });

      it("forgetPerson and forgetCard clear the holder and answer the credentials as they were", async () => {
        const { pic, person } = await seed();
        const other = (await seed()).person;
        const list = await insertStatusList(pic);
        const card = generateEscn({ prefix: "001", pic });
        const onCard = issuedCredential(pic, list.id, 1, { escn: card, personId: person.id });
        const onOtherCard = issuedCredential(pic, list.id, 2, {
          escn: generateEscn({ prefix: "001", pic }),
          personId: person.id,
          issuedAt: minutesAfter(1),
        });
        const someoneElse = issuedCredential(pic, list.id, 3, {
          escn: generateEscn({ prefix: "001", pic }),
          personId: other.id,
        });
        await store().transaction(async (tx) => {
          for (const c of [onCard, onOtherCard, someoneElse]) await tx.credentials.insert(c);
        });

        assert.deepEqual(await store().transaction((tx) => tx.credentials.forgetCard(card)), [onCard]);
        assert.deepEqual(await store().read.credentials.find(onCard.id), {
          ...onCard,
          escn: null,
          personId: null,
        });
        assert.deepEqual(await store().read.credentials.listForCard(card), []);
        assert.deepEqual(await store().read.credentials.listForPerson(person.id), [onOtherCard]);

        assert.deepEqual(await store().transaction((tx) => tx.credentials.forgetPerson(person.id)), [
          onOtherCard,
        ]);
        assert.deepEqual(await store().transaction((tx) => tx.credentials.forgetPerson(person.id)), []);
        assert.deepEqual(await store().read.credentials.find(onOtherCard.id), {
          ...onOtherCard,
          escn: null,
          personId: null,
        });
        assert.deepEqual(await store().read.credentials.find(someoneElse.id), someoneElse);
      });

      it("latestExpiryForKey and purgeExpiredBefore", async () => {
        const { pic } = await seed();
        const list = await insertStatusList(pic);
        const keyId = `kid-${uniqueSuffix()}`;
        assert.equal(await store().read.credentials.latestExpiryForKey(keyId), null);
        // Expiry dates no other test uses: the purge looks at the whole store.
        const expired = [1, 2].map((i) =>
          issuedCredential(pic, list.id, i, { keyId, expiresAt: `2001-0${i}-01T00:00:00.000Z` }),
        );
        const live = issuedCredential(pic, list.id, 3, { keyId, expiresAt: "2031-03-01T00:00:00.000Z" });
        const latest = issuedCredential(pic, list.id, 4, { expiresAt: "2032-01-01T00:00:00.000Z" });
        await store().transaction(async (tx) => {
          for (const c of [...expired, live, latest]) await tx.credentials.insert(c);
        });
        assert.equal(await store().read.credentials.latestExpiryForKey(keyId), "2031-03-01T00:00:00.000Z");
        assert.equal(
          await store().transaction((tx) => tx.credentials.purgeExpiredBefore("2002-01-01T00:00:00.000Z")),
          2,
        );
        for (const c of expired) assert.equal(await store().read.credentials.find(c.id), undefined);
        assert.deepEqual(await store().read.credentials.find(live.id), live);
        assert.equal(await store().read.credentials.latestExpiryForKey(keyId), "2031-03-01T00:00:00.000Z");
      });
    });

    describe("status lists", () => {
      it("insert gives an open list, version 1, with zeroed entries of size × bits / 8 bytes", async () => {
        const { pic } = await seed();
        const list = await store().transaction((tx) =>
          tx.statusLists.insert({ organisationId: pic, size: 1024, bits: 2, createdAt: AT_MS }),
        );
        assert.deepEqual(list, {
          id: list.id,
          organisationId: pic,
          size: 1024,
          bits: 2,
          allocated: 0,
          state: "open",
          version: 1,
          signedVersion: 0,
          token: null,
          tokenExpiresAt: null,
          createdAt: AT_MS,
          updatedAt: AT_MS,
        });
        assert.equal(typeof list.id, "number");
        assert.deepEqual(await store().read.statusLists.find(list.id), list);
        const entries = await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(list.id));
        assert.deepEqual(entries?.record, list);
        assert.equal(entries?.bytes.constructor, Uint8Array);
        assert.deepEqual(entries?.bytes, new Uint8Array(256));
        const big = await insertStatusList(pic, 1_000_000, 1);
        assert.notEqual(big.id, list.id);
        const bigEntries = await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(big.id));
        assert.equal(bigEntries?.bytes.length, 125_000);
        assert.ok(bigEntries?.bytes.every((b) => b === 0));
        assert.equal(await store().read.statusLists.find(big.id + 1_000_000), undefined);
        assert.equal(
          await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(big.id + 1_000_000)),
          undefined,
        );
      });

      it("saveEntries round-trips the bytes and moves the version on; bytes of another shape are refused", async () => {
        const { pic } = await seed();
        const list = await insertStatusList(pic, 64, 4);
        const bytes = new Uint8Array(32);
        bytes[0] = 0x01;
        bytes[17] = 0xa5;
        bytes[31] = 0xff;
        const at = minutesAfter(3);
        assert.equal(await store().transaction((tx) => tx.statusLists.saveEntries(list.id, bytes, at)), 2);
        const saved = await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(list.id));
        assert.deepEqual(saved?.bytes, bytes);
        assert.deepEqual(saved?.record, { ...list, version: 2, updatedAt: at });
        // A view into a larger buffer is saved as the bytes it shows.
        const view = new Uint8Array(40).fill(7).subarray(4, 36);
        assert.equal(await store().transaction((tx) => tx.statusLists.saveEntries(list.id, view, at)), 3);
        const again = await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(list.id));
        assert.deepEqual(again?.bytes, new Uint8Array(32).fill(7));

        await assert.rejects(
          store().transaction((tx) => tx.statusLists.saveEntries(list.id, new Uint8Array(31), at)),
          TypeError,
        );
        await assert.rejects(
          store().transaction((tx) => tx.statusLists.saveEntries(list.id + 1_000_000, bytes, at)),
          TypeError,
        );
        assert.equal((await store().read.statusLists.find(list.id))?.version, 3);
      });

      it("findEntriesForUpdate holds off a second writer until the first commits", async () => {
        const { pic } = await seed();
        const list = await insertStatusList(pic, 16, 1);
        const locked = gate();
        const release = gate();
        const first = store().transaction(async (tx) => {
          const entries = await tx.statusLists.findEntriesForUpdate(list.id);
          assert.ok(entries);
          locked.open();
          await release.wait;
          entries.bytes[0] = (entries.bytes[0] ?? 0) | 0b01;
          return tx.statusLists.saveEntries(list.id, entries.bytes, minutesAfter(1));
        });
        let secondRead: number | null = null;
        let second: Promise<number> | undefined;
        try {
          await locked.wait;
          second = store().transaction(async (tx) => {
            const entries = await tx.statusLists.findEntriesForUpdate(list.id);
            assert.ok(entries);
            secondRead = entries.record.version;
            entries.bytes[0] = (entries.bytes[0] ?? 0) | 0b10;
            return tx.statusLists.saveEntries(list.id, entries.bytes, minutesAfter(2));
          });
          await new Promise((resolve) => setTimeout(resolve, 150));
          assert.equal(secondRead, null, "the second writer is still waiting");
        } finally {
          release.open();
          await Promise.allSettled([first, second]);
        }
        assert.equal(await first, 2);
        assert.equal(await second, 3);
        assert.equal(secondRead, 2, "it read what the first committed");
        const stored = await store().transaction((tx) => tx.statusLists.findEntriesForUpdate(list.id));
        assert.equal(stored?.bytes[0], 0b11, "neither change is lost");
      });

      it("countAllocation marks a list full at the threshold; findOpen picks the open list with the most room", async () => {
        const { pic } = await seed();
        const other = (await seed()).pic;
        const small = await insertStatusList(pic, 8);
        const large = await insertStatusList(pic, 16);
        const theirs = await insertStatusList(other, 1024);
        assert.equal((await store().read.statusLists.findOpen(pic))?.id, large.id);
        await store().transaction(async (tx) => {
          for (let i = 0; i < 10; i++) await tx.statusLists.countAllocation(large.id, 12, minutesAfter(1));
        });
        assert.equal((await store().read.statusLists.findOpen(pic))?.id, small.id, "8 free beat 6");
        await store().transaction(async (tx) => {
          for (let i = 0; i < 2; i++) await tx.statusLists.countAllocation(small.id, 3, minutesAfter(2));
        });
        assert.deepEqual(await store().read.statusLists.find(small.id), {
          ...small,
          allocated: 2,
          updatedAt: minutesAfter(2),
        });
        await store().transaction((tx) => tx.statusLists.countAllocation(small.id, 3, minutesAfter(3)));
        const full = await store().read.statusLists.find(small.id);
        assert.equal(full?.state, "full");
        assert.equal(full?.allocated, 3);
        assert.equal(full?.version, 1, "allocating changes no entry");
        assert.equal(
          (await store().read.statusLists.findOpen(pic))?.id,
          large.id,
          "a full list hands out nothing",
        );
        assert.deepEqual(
          (await store().read.statusLists.listForOrganisation(pic)).map((l) => [l.id, l.state, l.allocated]),
          [
            [small.id, "full", 3],
            [large.id, "open", 10],
          ],
        );
        assert.deepEqual(await store().read.statusLists.listForOrganisation(other), [theirs]);
        assert.equal(await store().read.statusLists.findOpen((await seed()).pic), undefined);
      });

      it("saveToken stores a token unless one signed from a later version is there", async () => {
        const { pic } = await seed();
        const list = await insertStatusList(pic);
        const saveToken = (version: number, token: string, expiresAt: string) =>
          store().transaction((tx) => tx.statusLists.saveToken(list.id, version, token, expiresAt));
        assert.equal(await saveToken(1, "token-v1", "2026-10-16T10:00:00.000Z"), true);
        assert.deepEqual(await store().read.statusLists.find(list.id), {
          ...list,
          signedVersion: 1,
          token: "token-v1",
          tokenExpiresAt: "2026-10-16T10:00:00.000Z",
        });
        await store().transaction((tx) => tx.statusLists.saveEntries(list.id, new Uint8Array(8).fill(1), AT));
        assert.equal(await saveToken(2, "token-v2", "2026-10-16T11:00:00.000Z"), true);
        assert.equal(
          await saveToken(1, "token-v1-late", "2026-10-16T12:00:00.000Z"),
          false,
          "a slower signer",
        );
        let stored = await store().read.statusLists.find(list.id);
        assert.equal(stored?.token, "token-v2");
        assert.equal(stored?.signedVersion, 2);
        assert.equal(await saveToken(2, "token-v2-renewed", "2026-10-17T11:00:00.000Z"), true, "renewed");
        stored = await store().read.statusLists.find(list.id);
        assert.equal(stored?.token, "token-v2-renewed");
        assert.equal(stored?.tokenExpiresAt, "2026-10-17T11:00:00.000Z");
      });

      it("listToSign picks lists never signed, changed since signed, or expiring, and not fresh ones", async () => {
        const { pic } = await seed();
        const [never, changed, expiring, fresh] = [
          await insertStatusList(pic),
          await insertStatusList(pic),
          await insertStatusList(pic),
          await insertStatusList(pic),
        ];
        const soon = "2026-10-15T11:00:00.000Z";
        const later = "2026-10-16T10:00:00.000Z";
        await store().transaction(async (tx) => {
          await tx.statusLists.saveToken(changed.id, 1, "t", later);
          await tx.statusLists.saveEntries(changed.id, new Uint8Array(8).fill(2), AT);
          await tx.statusLists.saveToken(expiring.id, 1, "t", soon);
          await tx.statusLists.saveToken(fresh.id, 1, "t", later);
        });
        const mine = new Set([never.id, changed.id, expiring.id, fresh.id]);
        const toSign = await store().read.statusLists.listToSign("2026-10-15T12:00:00.000Z", 100_000);
        assert.deepEqual(
          toSign.filter((l) => mine.has(l.id)).map((l) => l.id),
          [never.id, changed.id, expiring.id],
        );
        assert.deepEqual(
          toSign.find((l) => l.id === changed.id),
          { ...changed, version: 2, signedVersion: 1, token: "t", tokenExpiresAt: later },
        );
        assert.equal((await store().read.statusLists.listToSign("2026-10-15T12:00:00.000Z", 1)).length, 1);
      });
    });

    describe("credential offers", () => {
      it("insert, then find by id, by pre-authorized code and by access token", async () => {
        const { pic, person } = await seed();
        const offer = credentialOffer(pic, person.id, {
          txCodeHash: "tx-hash",
          txCodeLength: 6,
          createdAt: AT_MS,
        });
        const stored = await store().transaction((tx) => tx.credentialOffers.insert(offer));
        assert.deepEqual(stored, { ...offer, version: 1 });
        assert.deepEqual(await store().read.credentialOffers.find(offer.id), stored);
        assert.deepEqual(
          await store().read.credentialOffers.findByPreAuthorizedCodeHash(offer.preAuthorizedCodeHash),
          stored,
        );
        assert.equal(typeof (await store().read.credentialOffers.find(offer.id))?.personId, "number");
        assert.equal(await store().read.credentialOffers.find(`missing-${uniqueSuffix()}`), undefined);
        assert.equal(await store().read.credentialOffers.findByPreAuthorizedCodeHash("nothing"), undefined);
        assert.equal(await store().read.credentialOffers.findByAccessTokenHash("nothing"), undefined);
      });

      it("update is compare-and-set on the version", async () => {
        const { pic, person } = await seed();
        const v1 = await store().transaction((tx) =>
          tx.credentialOffers.insert(credentialOffer(pic, person.id)),
        );
        const accessTokenHash = `at-${uniqueSuffix()}`;
        const v2 = await store().transaction((tx) =>
          tx.credentialOffers.update({
            ...v1,
            state: "token-issued",
            failedTxCodeAttempts: 1,
            accessTokenHash,
            accessTokenExpiresAt: minutesAfter(5),
          }),
        );
        assert.deepEqual(v2, {
          ...v1,
          state: "token-issued",
          failedTxCodeAttempts: 1,
          accessTokenHash,
          accessTokenExpiresAt: minutesAfter(5),
          version: 2,
        });
        assert.deepEqual(await store().read.credentialOffers.findByAccessTokenHash(accessTokenHash), v2);
        const stale = await store().transaction((tx) =>
          tx.credentialOffers.update({ ...v1, state: "locked", failedTxCodeAttempts: 5 }),
        );
        assert.equal(stale, undefined);
        assert.deepEqual(await store().read.credentialOffers.find(v1.id), v2);
        assert.ok(v2);
        const v3 = await store().transaction((tx) =>
          tx.credentialOffers.update({ ...v2, state: "redeemed", redeemedAt: minutesAfter(6) }),
        );
        assert.equal(v3?.version, 3);
        assert.equal((await store().read.credentialOffers.find(v1.id))?.redeemedAt, minutesAfter(6));
      });

      it("purgeExpiredBefore and deleteForPerson remove offers, and only those", async () => {
        const { pic, person } = await seed();
        const other = (await seed()).person;
        // An expiry no other test uses: the purge looks at the whole store.
        const expired = credentialOffer(pic, other.id, { expiresAt: "2001-01-01T00:00:00.000Z" });
        const mine = [credentialOffer(pic, person.id), credentialOffer(pic, person.id)];
        const theirs = credentialOffer(pic, other.id);
        await store().transaction(async (tx) => {
          for (const o of [expired, ...mine, theirs]) await tx.credentialOffers.insert(o);
        });
        assert.equal(
          await store().transaction((tx) =>
            tx.credentialOffers.purgeExpiredBefore("2002-01-01T00:00:00.000Z"),
          ),
          1,
        );
        assert.equal(await store().read.credentialOffers.find(expired.id), undefined);
        assert.equal(await store().transaction((tx) => tx.credentialOffers.deleteForPerson(person.id)), 2);
        for (const o of mine) assert.equal(await store().read.credentialOffers.find(o.id), undefined);
        assert.equal((await store().read.credentialOffers.find(theirs.id))?.personId, other.id);
      });
    });

    describe("nonces", () => {
      it("a nonce is used once; an expired one is refused, and removed all the same", async () => {
        const live = `nonce-${uniqueSuffix()}`;
        const expired = `nonce-${uniqueSuffix()}`;
        await store().transaction(async (tx) => {
          await tx.nonces.insert(live, minutesAfter(5));
          await tx.nonces.insert(expired, minutesAfter(-1));
        });
        const consume = (value: string) => store().transaction((tx) => tx.nonces.consume(value, AT));
        assert.equal(await consume(live), true);
        assert.equal(await consume(live), false, "used up");
        assert.equal(await consume(expired), false);
        assert.equal(await consume(`nonce-${uniqueSuffix()}`), false, "never handed out");
        // Removed: the same value can be stored again (it is the primary key).
        await store().transaction((tx) => tx.nonces.insert(expired, minutesAfter(5)));
        assert.equal(await consume(expired), true);
        await store().transaction((tx) => tx.nonces.insert(live, AT));
        assert.equal(await consume(live), false, "a nonce expiring now is expired");
      });

      it("of two transactions consuming one nonce, only one gets it", async () => {
        const value = `nonce-${uniqueSuffix()}`;
        await store().transaction((tx) => tx.nonces.insert(value, minutesAfter(5)));
        const consumed = gate();
        const release = gate();
        const first = store().transaction(async (tx) => {
          const used = await tx.nonces.consume(value, AT);
          consumed.open();
          await release.wait;
          return used;
        });
        let second: Promise<boolean> | undefined;
        try {
          await consumed.wait;
          second = store().transaction((tx) => tx.nonces.consume(value, AT));
          await new Promise((resolve) => setTimeout(resolve, 100));
        } finally {
          release.open();
          await Promise.allSettled([first, second]);
        }
        assert.equal(await first, true);
        assert.equal(await second, false);
      });

      it("purgeExpiredBefore removes expired nonces only", async () => {
        // Expiries no other test uses: the purge looks at the whole store.
        const old = [`nonce-${uniqueSuffix()}-a`, `nonce-${uniqueSuffix()}-b`];
        const live = `nonce-${uniqueSuffix()}`;
        await store().transaction(async (tx) => {
          for (const value of old) await tx.nonces.insert(value, "2001-01-01T00:00:00.000Z");
          await tx.nonces.insert(live, minutesAfter(5));
        });
        assert.equal(
          await store().transaction((tx) => tx.nonces.purgeExpiredBefore("2002-01-01T00:00:00.000Z")),
          2,
        );
        assert.equal(await store().transaction((tx) => tx.nonces.consume(live, AT)), true);
      });
    });

    describe("connectors", () => {
      it("snapshot: a batch's persons, their links, statuses and cards at the organisation, and named cards", async () => {
        const { pic, person } = await seed("sync");
        const other = newPic();
        const stranger = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(other));
          // Another organisation's link, status and card of the same person stay out of the snapshot…
          await tx.persons.upsertLink(link(person.id, other, "Jeanne elsewhere"));
          await tx.statuses.save(
            {
              personId: person.id,
              esi: person.esi,
              organisationId: other,
              state: "enrolled",
              validFrom: parseIsoDate("2026-09-01"),
              validUntil: null,
              createdAt: AT,
              updatedAt: AT,
            },
            null,
          );
          await tx.cards.insert(newCard(person, other));
          await tx.statuses.save(
            {
              personId: person.id,
              esi: person.esi,
              organisationId: pic,
              state: "suspended",
              validFrom: parseIsoDate("2026-09-01"),
              validUntil: parseIsoDate("2027-08-31"),
              createdAt: AT,
              updatedAt: AT,
            },
            null,
          );
          const own = await tx.cards.insert(newCard(person, pic));
          // …but a card named by its ESCN is in it, whoever holds it.
          const strangerPerson = await tx.persons.insert({
            ...newEsi("stranger"),
            createdAt: AT,
            updatedAt: AT,
          });
          await tx.persons.upsertLink(link(strangerPerson.id, other, "Someone Else"));
          const strangers = await tx.cards.insert(newCard(strangerPerson, other));
          return { own, strangers };
        });
        const snapshot = await store().read.syncState.snapshot(
          pic,
          [person.esiKey, `${newEsi("absent").esiKey}`],
          [stranger.strangers.escn],
        );
        assert.deepEqual(snapshot.persons, [person]);
        assert.deepEqual(snapshot.links, [link(person.id, pic, "Jeanne Exemple")]);
        assert.deepEqual(
          snapshot.statuses.map((s) => [s.organisationId, s.state, s.validUntil, s.esi, s.version]),
          [[pic, "suspended", "2027-08-31", person.esi, 1]],
        );
        assert.deepEqual(
          snapshot.cards.map((c) => c.escn).sort(),
          [stranger.own.escn, stranger.strangers.escn].sort(),
        );
        assert.deepEqual(
          snapshot.cards.find((c) => c.escn === stranger.own.escn),
          stranger.own,
        );
        const empty = await store().read.syncState.snapshot(pic, [], []);
        assert.deepEqual(empty, { persons: [], links: [], statuses: [], cards: [] });
      });

      it("bulk writes: persons with their ids in order, links that keep createdAt, statuses that skip existing", async () => {
        const pic = newPic();
        const esis = [newEsi("bulk-a"), newEsi("bulk-b"), newEsi("bulk-c")];
        const persons = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          return tx.syncState.insertPersons(esis.map((e) => ({ ...e, createdAt: AT, updatedAt: AT })));
        });
        assert.deepEqual(
          persons.map((p) => p.esiKey),
          esis.map((e) => e.esiKey),
        );
        for (const person of persons) {
          assert.deepEqual(await store().read.persons.findByKey(person.esiKey), person);
        }
        const [a, b, c] = persons as [Person, Person, Person];
        await store().transaction((tx) =>
          tx.syncState.upsertLinks(persons.map((p) => link(p.id, pic, `Name ${p.id}`))),
        );
        await store().transaction(async (tx) => {
          await tx.syncState.upsertLinks([{ ...link(a.id, pic, "Renamed", AT_MS), email: null }]);
          await tx.syncState.touchPersons([a.id, b.id], AT_MS);
        });
        assert.deepEqual(await store().read.persons.findLink(a.id, pic), {
          ...link(a.id, pic, "Renamed", AT_MS),
          email: null,
          createdAt: AT,
        });
        assert.equal((await store().read.persons.findByKey(b.esiKey))?.updatedAt, AT_MS);
        assert.equal((await store().read.persons.findByKey(c.esiKey))?.updatedAt, AT);
        const status = (person: Person, state: "enrolled" | "ended") => ({
          personId: person.id,
          esi: person.esi,
          organisationId: pic,
          state,
          validFrom: parseIsoDate("2026-09-01"),
          validUntil: null,
          createdAt: AT,
          updatedAt: AT,
        });
        assert.equal(
          await store().transaction((tx) =>
            tx.syncState.insertStatuses([status(a, "enrolled"), status(b, "enrolled")]),
          ),
          2,
        );
        assert.equal(
          await store().transaction((tx) =>
            tx.syncState.insertStatuses([status(b, "ended"), status(c, "ended")]),
          ),
          1,
          "b has one already",
        );
        assert.equal((await store().read.statuses.find(b.id, pic))?.state, "enrolled");
        assert.deepEqual(await store().read.statuses.find(c.id, pic), { ...status(c, "ended"), version: 1 });
        assert.deepEqual(await store().transaction((tx) => tx.syncState.insertPersons([])), []);
      });

      it("runs: start running with zero counts, record counts, finish, list newest first", async () => {
        const pic = newPic();
        const connector = `sis-${uniqueSuffix()}`;
        const zero = { rows: 0, created: 0, updated: 0, unchanged: 0, missing: 0, ended: 0, rejected: 0 };
        const [first, second] = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          const run = { connector, organisationId: pic, source: "csv:students.csv", startedAt: AT };
          return [
            await tx.connectorRuns.start(run),
            await tx.connectorRuns.start({ ...run, startedAt: AT_MS }),
          ];
        });
        assert.ok(first && second && second.id > first.id);
        assert.deepEqual(first, {
          id: first.id,
          connector,
          organisationId: pic,
          source: "csv:students.csv",
          state: "running",
          startedAt: AT,
          finishedAt: null,
          error: null,
          ...zero,
        });
        const counts = { rows: 12, created: 5, updated: 3, unchanged: 2, missing: 1, ended: 1, rejected: 2 };
        await store().transaction((tx) => tx.connectorRuns.recordCounts(first.id, counts));
        assert.deepEqual(await store().read.connectorRuns.find(first.id), { ...first, ...counts });
        await store().transaction(async (tx) => {
          await tx.connectorRuns.finish(first.id, "completed", { ...counts, rows: 13 }, AT_MS, null);
          await tx.connectorRuns.finish(second.id, "failed", zero, AT_MS, "the file cannot be opened");
        });
        assert.deepEqual(await store().read.connectorRuns.find(first.id), {
          ...first,
          ...counts,
          rows: 13,
          state: "completed",
          finishedAt: AT_MS,
        });
        const recent = await store().read.connectorRuns.listRecent(connector, pic, 10);
        assert.deepEqual(
          recent.map((r) => [r.id, r.state, r.error]),
          [
            [second.id, "failed", "the file cannot be opened"],
            [first.id, "completed", null],
          ],
        );
        assert.deepEqual(await store().read.connectorRuns.listRecent(connector, pic, 1), [recent[0]]);
        assert.equal(await store().read.connectorRuns.find(second.id + 1_000_000), undefined);
      });

      it("presence: seen, missing since a run's start, listed when due, seen again, forgotten", async () => {
        const pic = newPic();
        const connector = `sis-${uniqueSuffix()}`;
        const persons = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          const made = await tx.syncState.insertPersons(
            ["p-a", "p-b", "p-c"].map((label) => ({ ...newEsi(label), createdAt: AT, updatedAt: AT })),
          );
          await tx.syncState.upsertLinks(made.map((p) => link(p.id, pic, "Someone")));
          return made;
        });
        const [a, b, c] = persons as [Person, Person, Person];
        const seen = (ids: number[], runId: number, at: string) =>
          store().transaction((tx) => tx.connectorPresence.markSeen(connector, pic, ids, runId, at));
        await seen([a.id, b.id, c.id], 1, "2026-10-01T00:00:00.000Z");
        await seen([a.id], 2, "2026-10-02T00:00:00.000Z");
        const missing = (seenBefore: string, at: string) =>
          store().transaction((tx) => tx.connectorPresence.markMissing(connector, pic, seenBefore, at));
        assert.equal(await missing("2026-10-02T00:00:00.000Z", "2026-10-02T01:00:00.000Z"), 2);
        // Already missing: the first day stays.
        await seen([a.id], 3, "2026-10-03T00:00:00.000Z");
        assert.equal(await missing("2026-10-03T00:00:00.000Z", "2026-10-03T01:00:00.000Z"), 2);
        const all = await store().read.connectorPresence.list(connector, pic, 0, 10);
        assert.deepEqual(
          all.map((p) => [p.personId, p.esi, p.esiKey, p.runId, p.seenAt, p.missingSince]),
          [
            [a.id, a.esi, a.esiKey, 3, "2026-10-03T00:00:00.000Z", null],
            [b.id, b.esi, b.esiKey, 1, "2026-10-01T00:00:00.000Z", "2026-10-02T01:00:00.000Z"],
            [c.id, c.esi, c.esiKey, 1, "2026-10-01T00:00:00.000Z", "2026-10-02T01:00:00.000Z"],
          ],
        );
        assert.deepEqual(
          (await store().read.connectorPresence.list(connector, pic, a.id, 1)).map((p) => p.personId),
          [b.id],
        );
        const due = (missingSince: string) =>
          store().read.connectorPresence.listMissing(
            connector,
            pic,
            "2026-10-03T00:00:00.000Z",
            missingSince,
            10,
          );
        assert.deepEqual(await due("2026-10-02T00:59:59.999Z"), []);
        assert.deepEqual(
          (await due("2026-10-02T01:00:00.000Z")).map((p) => p.personId),
          [b.id, c.id],
        );
        // Seen again: no longer missing.
        await seen([b.id], 4, "2026-10-04T00:00:00.000Z");
        assert.deepEqual(
          (await due("2026-10-09T00:00:00.000Z")).map((p) => p.personId),
          [c.id],
        );
        assert.equal(
          (await store().read.connectorPresence.list(connector, pic, a.id, 1))[0]?.missingSince,
          null,
        );
        await store().transaction((tx) => tx.connectorPresence.forget(connector, pic, [c.id]));
        assert.deepEqual(
          (await store().read.connectorPresence.list(connector, pic, 0, 10)).map((p) => p.personId),
          [a.id, b.id],
        );
        // Another connector's memory is its own.
        assert.deepEqual(await store().read.connectorPresence.list(`${connector}-other`, pic, 0, 10), []);
      });

      it("presence goes with the person's link, whoever removes it (erasure, retention, the organisation)", async () => {
        const { pic, person } = await seed("presence");
        const connector = `sis-${uniqueSuffix()}`;
        await store().transaction((tx) => tx.connectorPresence.markSeen(connector, pic, [person.id], 1, AT));
        assert.equal((await store().read.connectorPresence.list(connector, pic, 0, 10)).length, 1);
        await store().transaction(async (tx) => {
          await tx.persons.deleteLink(person.id, pic);
          await tx.persons.delete(person.id);
        });
        assert.deepEqual(await store().read.connectorPresence.list(connector, pic, 0, 10), []);
      });

      it("presence refers to a link: a person the organisation does not hold cannot be seen", async () => {
        const pic = newPic();
        const person = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          return tx.persons.insert({ ...newEsi("unlinked"), createdAt: AT, updatedAt: AT });
        });
        await assert.rejects(
          store().transaction((tx) => tx.connectorPresence.markSeen("sis", pic, [person.id], 1, AT)),
        );
      });

      it("runs by organisation: newest first, paged by keyset, one connector's alone, no other organisation's", async () => {
        const [pic, other] = [newPic(), newPic()];
        const connector = `sis-${uniqueSuffix()}`;
        const runs = await store().transaction(async (tx) => {
          await tx.organisations.insert(organisation(pic));
          await tx.organisations.insert(organisation(other));
          const made: ConnectorRun[] = [];
          for (const [name, org] of [
            [connector, pic],
            ["upload", pic],
            [connector, other],
            [connector, pic],
            ["upload", pic],
          ] as const) {
            made.push(
              await tx.connectorRuns.start({
                connector: name,
                organisationId: org,
                source: "s",
                startedAt: AT,
              }),
            );
          }
          return made;
        });
        const ids = (page: Keyed<ConnectorRun>) => page.items.map((r) => r.id);
        const [r1, r2, , r4, r5] = runs.map((r) => r.id);
        const first = await store().read.connectorRuns.listByOrganisation(pic, null, { after: 0, limit: 3 });
        assert.deepEqual(ids(first), [r5, r4, r2]);
        assert.equal(first.next, r2);
        const second = await store().read.connectorRuns.listByOrganisation(pic, null, {
          after: first.next ?? 0,
          limit: 3,
        });
        assert.deepEqual(ids(second), [r1]);
        assert.equal(second.next, null);
        // A page that ends exactly at the last run has no next page.
        const exact = await store().read.connectorRuns.listByOrganisation(pic, connector, {
          after: 0,
          limit: 2,
        });
        assert.deepEqual(ids(exact), [r4, r1]);
        assert.equal(exact.next, null);
        assert.deepEqual(exact.items[0], runs[3]);
        assert.deepEqual(
          ids(await store().read.connectorRuns.listByOrganisation(newPic(), null, { after: 0, limit: 10 })),
          [],
        );
      });
    });
    describe("mirror jobs", () => {
      const LATER = "2026-10-15T10:05:00.000Z";
      const mirrorJob = (
        organisationId: string,
        subject: string | null,
        subjectKey: string,
        position: number,
      ) =>
        ({
          organisationId,
          kind: "card",
          subject,
          subjectKey,
          position,
          queuedAt: AT,
        }) as const;
      const claim = (organisationIds: readonly string[], holder = "p1", now = AT) =>
        store().transaction((tx) =>
          tx.mirrorJobs.claimDue({ now, holder, until: LATER, limit: 100, organisationIds }),
        );

      it("keeps one job per subject, queued again only by a later event, and claimed by one holder at a time", async () => {
        const pic = newPic();
        const escn = generateEscn({ prefix: "001", pic });
        assert.equal(
          await store().transaction((tx) => tx.mirrorJobs.enqueue([mirrorJob(pic, escn, escn, 10)])),
          1,
        );
        // The same event again (a replay) and an older one queue nothing.
        assert.equal(
          await store().transaction((tx) =>
            tx.mirrorJobs.enqueue([mirrorJob(pic, escn, escn, 10), mirrorJob(pic, escn, escn, 9)]),
          ),
          0,
        );
        const [job, ...more] = await claim([pic]);
        assert.ok(job);
        assert.deepEqual(more, []);
        assert.deepEqual(job, {
          id: job.id,
          organisationId: pic,
          kind: "card",
          subject: escn,
          subjectKey: escn,
          position: 10,
          state: "pending",
          attempts: 0,
          queuedAt: AT,
          nextAttemptAt: AT,
          operation: null,
          lastAttemptAt: null,
          lastStatus: null,
          lastCode: null,
          lastMessage: null,
          settledAt: null,
        });
        // Claimed: nobody else takes it until the claim lapses, nor does another organisation's claim.
        assert.deepEqual(await claim([pic], "p2"), []);
        assert.deepEqual(await claim([newPic()], "p2", LATER), []);

        // A failure keeps it pending until its next attempt.
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(job.id, 10, {
            state: "failed",
            at: AT_MS,
            status: 503,
            operation: "PUT",
            code: null,
            message: "answered 503",
            nextAttemptAt: LATER,
          }),
        );
        assert.deepEqual(await claim([pic], "p2"), []);
        const [retried] = await claim([pic], "p2", LATER);
        assert.ok(retried);
        assert.equal(retried.attempts, 1);
        assert.equal(retried.lastStatus, 503);
        assert.equal(retried.lastMessage, "answered 503");
        assert.equal(retried.lastAttemptAt, AT_MS);

        // Queued again while claimed: the outcome of the older state is not recorded, the job stays due.
        await store().transaction((tx) => tx.mirrorJobs.enqueue([mirrorJob(pic, escn, escn, 11)]));
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(retried.id, 10, {
            state: "done",
            at: LATER,
            status: 200,
            operation: "PUT",
            subject: null,
          }),
        );
        const again = await store().read.mirrorJobs.find(pic, "card", escn);
        assert.equal(again?.state, "pending");
        assert.equal(again?.position, 11);
        assert.equal(again?.attempts, 0);
        const [third] = await claim([pic], "p3", LATER);
        assert.equal(third?.id, job.id);
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(job.id, 11, {
            state: "done",
            at: LATER,
            status: 204,
            operation: "DELETE",
            subject: "erased:0123456789abcdef",
          }),
        );
        const done = await store().read.mirrorJobs.find(pic, "card", escn);
        assert.equal(done?.state, "done");
        assert.equal(done?.settledAt, LATER);
        assert.equal(done?.operation, "DELETE");
        assert.equal(done?.subject, "erased:0123456789abcdef");
        assert.equal(done?.lastMessage, null);
        assert.deepEqual(await claim([pic], "p4", "2030-01-01T00:00:00.000Z"), []);
      });

      it("queues for an erased subject only a job that still holds the ESI, and a postponed job waits", async () => {
        const pic = newPic();
        const key = `erased:${randomBytes(8).toString("hex")}`;
        // No job yet: the pseudonym alone makes none.
        assert.equal(
          await store().transaction((tx) =>
            tx.mirrorJobs.enqueue([{ ...mirrorJob(pic, null, key, 5), kind: "person" }]),
          ),
          0,
        );
        assert.equal(await store().read.mirrorJobs.find(pic, "person", key), undefined);
        const { esi } = newEsi("mirror");
        await store().transaction((tx) =>
          tx.mirrorJobs.enqueue([{ ...mirrorJob(pic, esi, key, 6), kind: "person" }]),
        );
        const [job] = await claim([pic]);
        assert.ok(job);
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(job.id, 6, { state: "postponed", nextAttemptAt: LATER }),
        );
        const waiting = await store().read.mirrorJobs.find(pic, "person", key);
        assert.equal(waiting?.state, "pending");
        assert.equal(waiting?.nextAttemptAt, LATER);
        assert.equal(waiting?.attempts, 0);
        assert.equal(waiting?.lastAttemptAt, null);
        const [due] = await claim([pic], "p2", LATER);
        assert.ok(due);
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(due.id, 6, {
            state: "done",
            at: LATER,
            status: 200,
            operation: "PUT",
            subject: null,
          }),
        );
        // The person's events now carry the pseudonym: the job that holds the ESI is queued again…
        assert.equal(
          await store().transaction((tx) =>
            tx.mirrorJobs.enqueue([{ ...mirrorJob(pic, null, key, 7), kind: "person" }]),
          ),
          1,
        );
        const [removal] = await claim([pic], "p3", LATER);
        assert.equal(removal?.subject, esi);
        await store().transaction((tx) =>
          tx.mirrorJobs.settle(job.id, 7, {
            state: "done",
            at: LATER,
            status: 204,
            operation: "DELETE",
            subject: key,
          }),
        );
        // …and once it keeps only the pseudonym, another such event queues nothing.
        assert.equal(
          await store().transaction((tx) =>
            tx.mirrorJobs.enqueue([{ ...mirrorJob(pic, null, key, 8), kind: "person" }]),
          ),
          0,
        );
        assert.equal((await store().read.mirrorJobs.find(pic, "person", key))?.subject, key);
      });

      it("sums up an organisation's jobs, lists its refusals in pages, and purges what is past its period", async () => {
        const pic = newPic();
        const escns = generateEscns(5, { prefix: "001", pic });
        await store().transaction((tx) =>
          tx.mirrorJobs.enqueue(escns.map((escn, i) => mirrorJob(pic, escn, escn, 100 + i))),
        );
        const empty = await store().read.mirrorJobs.summary(newPic());
        assert.deepEqual(empty, {
          pending: 0,
          done: 0,
          refused: 0,
          retrying: 0,
          lastSuccessAt: null,
          lastFailure: null,
        });
        const jobs = await claim([pic]);
        assert.equal(jobs.length, 5);
        const [a, b, c, d] = jobs as [MirrorJob, MirrorJob, MirrorJob, MirrorJob];
        await store().transaction(async (tx) => {
          await tx.mirrorJobs.settle(a.id, a.position, {
            state: "done",
            at: AT_MS,
            status: 200,
            operation: "PUT",
            subject: null,
          });
          for (const job of [b, c]) {
            await tx.mirrorJobs.settle(job.id, job.position, {
              state: "refused",
              at: AT,
              status: 400,
              operation: "POST",
              code: "PROCESSOR_UNKNOWN",
              message: `refused ${job.subject}`,
            });
          }
          await tx.mirrorJobs.settle(d.id, d.position, {
            state: "failed",
            at: LATER,
            status: 401,
            operation: "PUT",
            code: "TOKEN_INVALID",
            message: "the token is not valid",
            nextAttemptAt: "2030-01-01T00:00:00.000Z",
          });
        });
        assert.deepEqual(await store().read.mirrorJobs.summary(pic), {
          pending: 2,
          done: 1,
          refused: 2,
          retrying: 1,
          lastSuccessAt: AT_MS,
          lastFailure: { at: LATER, status: 401, code: "TOKEN_INVALID", message: "the token is not valid" },
        });
        const first = await store().read.mirrorJobs.listRefused(pic, { after: 0, limit: 1 });
        assert.deepEqual(
          first.items.map((j) => [
            j.subject,
            j.state,
            j.lastStatus,
            j.lastCode,
            j.lastMessage,
            j.operation,
            j.settledAt,
          ]),
          [[b.subject, "refused", 400, "PROCESSOR_UNKNOWN", `refused ${b.subject}`, "POST", AT]],
        );
        assert.equal(first.next, b.id);
        const second = await store().read.mirrorJobs.listRefused(pic, { after: b.id, limit: 1 });
        assert.deepEqual(
          second.items.map((j) => j.id),
          [c.id],
        );
        assert.equal(second.next, null);
        assert.deepEqual(
          (await store().read.mirrorJobs.listRefused(newPic(), { after: 0, limit: 10 })).items,
          [],
        );

        // A restarted holder takes its claims back.
        assert.ok((await store().transaction((tx) => tx.mirrorJobs.releaseClaims("p1"))) >= 1);
        assert.equal((await claim([pic], "p2")).length, 1);

        // Refusals go after the period; a done upsert stays while the router holds the card.
        assert.equal(await store().transaction((tx) => tx.mirrorJobs.purgeSettledBefore(AT)), 0);
        assert.equal(await store().transaction((tx) => tx.mirrorJobs.purgeSettledBefore(LATER)), 2);
        assert.equal((await store().read.mirrorJobs.summary(pic)).refused, 0);
        assert.equal((await store().read.mirrorJobs.summary(pic)).done, 1);
        // An organisation no longer mirrored loses every job; the others keep theirs.
        const kept = newPic();
        const keptEscn = generateEscn({ prefix: "001", pic: kept });
        await store().transaction((tx) => tx.mirrorJobs.enqueue([mirrorJob(kept, keptEscn, keptEscn, 1)]));
        await store().transaction((tx) => tx.mirrorJobs.purgeUnmirrored([kept]));
        assert.deepEqual(await store().read.mirrorJobs.summary(pic), empty);
        assert.equal((await store().read.mirrorJobs.summary(kept)).pending, 1);
        await store().transaction((tx) => tx.mirrorJobs.purgeUnmirrored([]));
        assert.equal((await store().read.mirrorJobs.summary(kept)).pending, 0);
      });
    });
  });
}

function consent(
  personId: number,
  recordedBy: string,
  purpose: Consent["purpose"],
  state: Consent["state"],
): Consent {
  return {
    personId,
    purpose,
    state,
    wordingVersion: "2026-01",
    recordedBy,
    givenAt: AT,
    withdrawnAt: null,
    updatedAt: AT,
  };
}

/** An issuer key record with a random id; the key material is opaque to the store. */
function issuerKey(organisationId: string | null, extra: Partial<IssuerKeyRecord> = {}): IssuerKeyRecord {
  const id = randomBytes(32).toString("base64url");
  return {
    id,
    organisationId,
    alg: "ES256",
    publicJwk: {
      kty: "EC",
      crv: "P-256",
      x: randomBytes(32).toString("base64url"),
      y: randomBytes(32).toString("base64url"),
      kid: id,
      alg: "ES256",
      use: "sig",
    },
    sealedPrivateKey: `v1.${randomBytes(48).toString("base64url")}`,
    certificateChain: [randomBytes(64).toString("base64"), randomBytes(64).toString("base64")],
    origin: "generated",
    state: "active",
    createdAt: AT,
    retiredAt: null,
    publishedUntil: null,
    ...extra,
  };
}

function issuedCredential(
  organisationId: string,
  statusListId: number,
  statusIndex: number,
  extra: Partial<IssuedCredential> = {},
): IssuedCredential {
  return {
    id: randomUUID(),
    organisationId,
    escn: null,
    personId: null,
    keyId: `kid-${uniqueSuffix()}`,
    statusListId,
    statusIndex,
    holderKeyThumbprint: randomBytes(32).toString("base64url"),
    offerId: null,
    issuedAt: AT,
    expiresAt: "2027-10-15T10:00:00.000Z",
    ...extra,
  };
}

function credentialOffer(
  organisationId: string,
  personId: number,
  extra: Partial<CredentialOffer> = {},
): Omit<CredentialOffer, "version"> {
  return {
    id: randomBytes(16).toString("base64url"),
    organisationId,
    escn: generateEscn({ prefix: "001", pic: organisationId as Pic }),
    personId,
    preAuthorizedCodeHash: randomBytes(32).toString("base64url"),
    txCodeHash: null,
    txCodeLength: null,
    failedTxCodeAttempts: 0,
    state: "offered",
    accessTokenHash: null,
    accessTokenExpiresAt: null,
    createdAt: AT,
    expiresAt: minutesAfter(15),
    redeemedAt: null,
    ...extra,
  };
}
