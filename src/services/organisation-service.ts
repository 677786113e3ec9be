import { type HexColor, parseHexColor } from "../domain/color.ts";
import { type CountryCode, parseCountryCode } from "../domain/country-code.ts";
import { parseErasmusCode } from "../domain/erasmus-code.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidValueError,
  NotFoundError,
  PreconditionFailedError,
} from "../domain/errors.ts";
import type { DomainEvent } from "../domain/events.ts";
import {
  type CardColours,
  identifierTypeOf,
  type Organisation,
  type OrganisationKind,
} from "../domain/organisation.ts";
import { parsePic } from "../domain/pic.ts";
import { parseSchacHomeOrganisation } from "../domain/schac-home-organisation.ts";
import { parseVatNumber } from "../domain/vat-number.ts";
import type { Keyed, KeysetPage, Repositories } from "../ports/storage.ts";
import { type Principal, requireOperator, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

const LOCAL_ID = /^[a-z0-9][a-z0-9._-]{1,62}$/;

export interface OrganisationProfileInput {
  readonly name?: string;
  readonly country?: string | null;
  readonly schacHomeOrganisation?: string | null;
  readonly erasmusCode?: string | null;
  readonly website?: string | null;
  readonly colours?: Partial<Record<keyof CardColours, string | null>>;
  readonly showDisplayName?: boolean;
  readonly serves?: readonly string[];
  readonly processors?: readonly string[];
}

export interface NewOrganisationInput extends OrganisationProfileInput {
  readonly id: string;
  readonly kind: OrganisationKind;
  readonly name: string;
}

/** Fields an organisation may change on itself; the rest is the operator's. */
const SELF_SERVICE_FIELDS = new Set(["website", "colours", "showDisplayName", "processors"]);

/** Reads an organisation identifier the way its kind requires (PIC, VAT number or local identifier). */
export function parseOrganisationId(kind: OrganisationKind, value: string, field = "/id"): string {
  switch (identifierTypeOf(kind)) {
    case "PIC":
      return parsePic(value, field);
    case "VAT":
      return parseVatNumber(value, field);
    case "LOCAL":
      if (!LOCAL_ID.test(value)) {
        throw new InvalidValueError(
          "ORGANISATION_ID_INVALID",
          field,
          "must be 2 to 63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
        );
      }
      return value;
  }
}

/** Onboarding and profiles of organisations. */
export class OrganisationService {
  readonly #ctx: ServiceContext;
  readonly #onChange: () => void;

  /** `onChange` runs after every committed change, e.g. to drop cached public answers that show an issuer's name. */
  constructor(ctx: ServiceContext, onChange: () => void = () => undefined) {
    this.#ctx = ctx;
    this.#onChange = onChange;
  }

  async create(caller: Principal, input: NewOrganisationInput): Promise<Organisation> {
    requireOperator(caller);
    const id = parseOrganisationId(input.kind, input.id);
    const now = this.#ctx.clock.now().toISOString();
    return this.#ctx.storage.transaction(async (tx) => {
      if (await tx.organisations.findById(id)) {
        throw new ConflictError("ORGANISATION_EXISTS", `an organisation ${id} already exists`);
      }
      const profile = await this.#profile(tx, input.kind, id, input, undefined);
      const organisation = await tx.organisations.insert({
        id,
        kind: input.kind,
        name: profile.name ?? input.name,
        country: profile.country ?? null,
        schacHomeOrganisation: profile.schacHomeOrganisation ?? null,
        erasmusCode: profile.erasmusCode ?? null,
        website: profile.website ?? null,
        colours: profile.colours ?? { main: null, secondary: null, contrast: null, qr: null },
        showDisplayName: profile.showDisplayName ?? false,
        serves: profile.serves ?? [],
        processors: profile.processors ?? [],
        createdAt: now,
        updatedAt: now,
      });
      await tx.outbox.append([organisationEvent("organisation.created", organisation, now)]);
      return organisation;
    });
  }

  /** The operator sees every organisation; others see themselves only. */
  async get(caller: Principal, id: string): Promise<Organisation> {
    if (caller.organisation.kind !== "operator" && caller.organisation.id !== id) {
      throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${id}`);
    }
    const organisation = await this.#ctx.storage.read.organisations.findById(id);
    if (!organisation) throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${id}`);
    return organisation;
  }

  async list(caller: Principal, page: KeysetPage): Promise<Keyed<Organisation>> {
    if (caller.organisation.kind !== "operator") {
      return { items: page.after < caller.organisation.seq ? [caller.organisation] : [], next: null };
    }
    return this.#ctx.storage.read.organisations.list(page);
  }

  async update(
    caller: Principal,
    id: string,
    input: OrganisationProfileInput,
    expectedVersion: number | null,
  ): Promise<Organisation> {
    const isOperator = caller.organisation.kind === "operator";
    if (!isOperator) {
      if (caller.organisation.id !== id)
        throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${id}`);
      // The profile decides who acts for the organisation (processors): as much power as making tokens.
      requireScope(caller, "tokens:manage");
      const denied = Object.keys(input).filter((field) => !SELF_SERVICE_FIELDS.has(field));
      if (denied.length > 0) {
        throw new ForbiddenError(`only the operator may change ${denied.join(", ")}`);
      }
    } else {
      requireOperator(caller);
    }
    const now = this.#ctx.clock.now().toISOString();
    const updated = await this.#ctx.storage.transaction(async (tx) => {
      const current = await tx.organisations.findById(id);
      if (!current) throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${id}`);
      if (expectedVersion !== null && expectedVersion !== current.version)
        throw new PreconditionFailedError();
      const profile = await this.#profile(tx, current.kind, id, input, current);
      const updated = await tx.organisations.update({ ...current, ...profile, updatedAt: now });
      if (!updated) throw new PreconditionFailedError();
      await tx.outbox.append([organisationEvent("organisation.updated", updated, now)]);
      return updated;
    });
    this.#onChange();
    return updated;
  }

  async #profile(
    tx: Repositories,
    kind: OrganisationKind,
    id: string,
    input: OrganisationProfileInput,
    current: Organisation | undefined,
  ): Promise<Partial<Organisation>> {
    const out: {
      -readonly [K in keyof Organisation]?: Organisation[K];
    } = {};
    if (input.name !== undefined) {
      const name = input.name.trim();
      if (name.length === 0 || name.length > 255) {
        throw new InvalidValueError("VALIDATION_FAILED", "/name", "must be 1 to 255 characters");
      }
      out.name = name;
    }
    if (input.country !== undefined) {
      out.country =
        input.country === null ? null : (parseCountryCode(input.country, "/country") as CountryCode);
    }
    if (input.schacHomeOrganisation !== undefined) {
      out.schacHomeOrganisation =
        input.schacHomeOrganisation === null
          ? null
          : parseSchacHomeOrganisation(input.schacHomeOrganisation, "/schacHomeOrganisation");
    }
    if (input.erasmusCode !== undefined) {
      out.erasmusCode =
        input.erasmusCode === null ? null : parseErasmusCode(input.erasmusCode, "/erasmusCode");
    }
    if (input.website !== undefined)
      out.website = input.website === null ? null : parseWebsite(input.website);
    if (input.colours !== undefined) {
      const base = current?.colours ?? { main: null, secondary: null, contrast: null, qr: null };
      const colours: { -readonly [K in keyof CardColours]: HexColor | null } = { ...base };
      for (const key of ["main", "secondary", "contrast", "qr"] as const) {
        const value = input.colours[key];
        if (value !== undefined)
          colours[key] = value === null ? null : parseHexColor(value, `/colours/${key}`);
      }
      out.colours = colours;
    }
    if (input.showDisplayName !== undefined) out.showDisplayName = input.showDisplayName;
    if (input.serves !== undefined) {
      if (kind !== "student-service" && input.serves.length > 0) {
        throw new InvalidValueError(
          "VALIDATION_FAILED",
          "/serves",
          "only a student-service organisation serves institutions",
        );
      }
      out.serves = await relatedOrganisations(tx, input.serves, "institution", "/serves", id);
    }
    if (input.processors !== undefined) {
      out.processors = await relatedOrganisations(tx, input.processors, "card-bureau", "/processors", id);
    }
    return out;
  }
}

async function relatedOrganisations(
  tx: Repositories,
  ids: readonly string[],
  kind: OrganisationKind,
  field: string,
  self: string,
): Promise<string[]> {
  const unique = [...new Set(ids)];
  const found = await tx.organisations.findManyByIds(unique);
  unique.forEach((id, i) => {
    const org = found.find((o) => o.id === id);
    if (!org || org.kind !== kind || id === self) {
      throw new InvalidValueError("VALIDATION_FAILED", `${field}/${i}`, `${id} is not a registered ${kind}`);
    }
  });
  return unique.sort();
}

function parseWebsite(value: string): string {
  const candidate = /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://${value}`;
  try {
    const url = new URL(candidate);
    if ((url.protocol === "https:" || url.protocol === "http:") && url.hostname.includes("."))
      return url.toString();
  } catch {
    // reported below
  }
  throw new InvalidValueError(
    "VALIDATION_FAILED",
    "/website",
    "must be a web address such as https://www.example.edu",
  );
}

function organisationEvent(
  type: "organisation.created" | "organisation.updated",
  org: Organisation,
  at: string,
): DomainEvent {
  return {
    type,
    subject: org.id,
    audience: [org.id],
    data: { organisation: org.id, kind: org.kind, version: org.version },
    occurredAt: at,
  };
}
