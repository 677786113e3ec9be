import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresStorage } from "../../src/adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { type RecordFields, recordFromFields } from "../../src/connectors/record-fields.ts";
import type { Source, SourceItem } from "../../src/connectors/source-record.ts";
import type { OrganisationKind } from "../../src/domain/organisation.ts";
import { type Pic, parsePic } from "../../src/domain/pic.ts";
import type { Clock } from "../../src/ports/clock.ts";
import type { Storage } from "../../src/ports/storage.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
} from "../support/postgres-server.ts";

/*
 * What the connector tests share: the two stores to run on, a source made of rows in memory, a clock the
 * test moves, and the organisations they sync.
 */

export interface StoreUnderTest {
  readonly storage: Storage;
  cleanup(): Promise<void>;
}

export interface StoreKind {
  readonly name: "sqlite" | "postgres";
  /** Why the engine does not run here, or null when it does; under `CI=true` a missing server fails. */
  readonly skip: string | null;
  open(): Promise<StoreUnderTest>;
}

/** SQLite always; PostgreSQL when its server answers (and must, under `CI=true`). */
export async function storeKinds(): Promise<StoreKind[]> {
  const availability = await postgresAvailability();
  if (availability.skip !== false && availability.fail) throw new Error(availability.skip);
  return [
    {
      name: "sqlite",
      skip: null,
      async open() {
        const dir = mkdtempSync(join(tmpdir(), "openesc-sync-"));
        const storage = new SqliteStorage({ file: join(dir, "openesc.db") });
        await storage.init();
        return {
          storage,
          async cleanup() {
            await storage.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: "postgres",
      skip: availability.skip === false ? null : availability.skip,
      async open() {
        const schema = throwawayName();
        await adminQuery(`CREATE SCHEMA ${schema}`);
        const storage = new PostgresStorage({
          connectionString: TEST_DATABASE_URL,
          schema,
          statementTimeoutMs: 30_000,
        });
        await storage.init();
        return {
          storage,
          async cleanup() {
            await storage.close();
            await adminQuery(`DROP SCHEMA ${schema} CASCADE`);
          },
        };
      },
    },
  ];
}

/** A clock that stands still until the test moves it. */
export class TestClock implements Clock {
  #now: number;

  constructor(start = "2026-10-15T10:00:00.000Z") {
    this.#now = Date.parse(start);
  }

  now(): Date {
    return new Date(this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  advanceDays(days: number): void {
    this.advance(days * 86_400_000);
  }
}

/** A source of rows given as record fields, read as a CSV would be (row 1 is the first); `failAfter` throws after that many. */
export function rowsSource(rows: readonly RecordFields[], options: { failAfter?: number } = {}): Source {
  return {
    description: "test:rows",
    async *items(): AsyncIterable<SourceItem> {
      for (const [i, fields] of rows.entries()) {
        if (options.failAfter !== undefined && i >= options.failAfter) {
          throw new Error("the source broke off");
        }
        yield recordFromFields(fields, { row: i + 1 });
      }
    },
  };
}

/** The fields of student `i`: a person with a status and a card without an ESCN. */
export function student(i: number, extra: RecordFields = {}): RecordFields {
  return {
    esi: esiOf(i),
    fullName: `Student ${i}`,
    academicLevel: "MASTER",
    email: `student${i}@example.org`,
    statusState: "enrolled",
    validFrom: "2026-09-01",
    validUntil: "2027-08-31",
    cardType: "SMART_PASSIVE",
    cardStatus: "ACTIVE",
    issuedAt: "2026-09-01",
    expiresAt: "2030-08-31",
    ...extra,
  };
}

export function esiOf(i: number): string {
  return `urn:schac:personalUniqueCode:int:esi:fr:stu-${i}`;
}

/** A PIC no other organisation of the run has. */
export function newPic(): Pic {
  return parsePic(String(randomInt(100_000_000, 999_999_999)));
}

/** Registers an organisation as onboarding does. */
export async function addOrganisation(
  storage: Storage,
  id: string,
  kind: OrganisationKind = "institution",
): Promise<void> {
  const at = "2026-01-01T00:00:00.000Z";
  await storage.transaction((tx) =>
    tx.organisations.insert({
      id,
      kind,
      name: `Organisation ${id}`,
      country: null,
      schacHomeOrganisation: null,
      erasmusCode: null,
      website: null,
      colours: { main: null, secondary: null, contrast: null, qr: null },
      showDisplayName: false,
      serves: [],
      processors: [],
      createdAt: at,
      updatedAt: at,
    }),
  );
}
