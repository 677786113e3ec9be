import type { AuditEntry } from "../domain/audit-entry.ts";
import { NotFoundError } from "../domain/errors.ts";
import { escnPic, parseEscn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import type { AuditQuery, Keyed, KeysetPage } from "../ports/storage.ts";
import { mayActFor, type Principal, requireStudentDataHolder } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

export interface AuditFilter {
  /** One student's trail, by ESI: only for a person linked to the caller. */
  readonly esi: string | null;
  /** One card's trail, by ESCN: only for a card the caller issues or processes. */
  readonly escn: string | null;
}

/**
 * Who read or changed the personal data an organisation is responsible for: the accountability side of
 * the audit trail. An organisation sees
 * - every entry it made itself;
 * - entries about the cards it issues (or processes, for a card bureau), whoever made them, anonymous
 *   readers of a shown display name included;
 * - entries about persons linked to the organisations it acts for, made by those organisations or the
 *   card bureaus it lists as processors. What another organisation did with its own link of a shared
 *   student is not shown: that would tell that it holds the student too.
 *
 * The operator and service providers hold no personal data and see none of it.
 */
export class AuditLogService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async list(caller: Principal, filter: AuditFilter, page: KeysetPage): Promise<Keyed<AuditEntry>> {
    requireStudentDataHolder(caller, "persons:read");
    const issuerIds = auditIssuerIds(caller);
    const query: AuditQuery = {
      ...visibleAuditQuery(caller),
      ...(filter.esi === null ? {} : { onlyPersonId: await this.#linkedPersonId(caller, filter.esi) }),
      ...(filter.escn === null ? {} : { onlyCard: await this.#visibleCard(caller, issuerIds, filter.escn) }),
    };
    // Reads still waiting for their group commit belong in the answer: a caller sees its own reads at once.
    await this.#ctx.audit.flush();
    return this.#ctx.storage.read.audit.list(query, page);
  }

  /** The person's internal number, when it is linked to the caller; the same 404 as an unknown ESI otherwise. */
  async #linkedPersonId(caller: Principal, esiText: string): Promise<number> {
    const esi = parseEsi(esiText, "esi");
    const read = this.#ctx.storage.read;
    const person = await read.persons.findByKey(esi.key);
    if (person && (await read.persons.links(person.id)).some((l) => mayActFor(caller, l.organisationId)))
      return person.id;
    throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to your organisation");
  }

  /**
   * The ESCN, when the caller issues it (its PIC is in the number, so a deleted card's trail stays
   * readable) or processes it; the same 404 as an unknown card otherwise.
   */
  async #visibleCard(caller: Principal, issuerIds: readonly string[], escnText: string): Promise<string> {
    const escn = parseEscn(escnText, "escn");
    if (issuerIds.includes(escnPic(escn))) return escn;
    const card = await this.#ctx.storage.read.cards.findByEscn(escn);
    if (card && card.processorId === caller.organisation.id) return escn;
    throw new NotFoundError("CARD_NOT_FOUND", "no card with this number is visible to your organisation");
  }
}

/** The card rules of CardService: a bureau's own cards are the ones it processes. */
function auditIssuerIds(caller: Principal): readonly string[] {
  return caller.organisation.kind === "card-bureau"
    ? caller.actingFor.filter((id) => id !== caller.organisation.id)
    : caller.actingFor;
}

/**
 * The entries an organisation may see: its own, those about the cards it issues or processes, and those
 * about its linked persons made by itself or the bureaus it lists. What another tenant did with its own
 * link to a shared student stays hidden. The export of a student's trail uses the same wall.
 */
export function visibleAuditQuery(caller: Principal): AuditQuery {
  const isBureau = caller.organisation.kind === "card-bureau";
  return {
    organisationId: caller.organisation.id,
    linkedPersons: {
      organisationIds: caller.actingFor,
      madeBy: [...new Set([...caller.actingFor, ...caller.organisation.processors])],
    },
    cardsIssuedBy: auditIssuerIds(caller),
    ...(isBureau ? { cardsProcessedBy: caller.organisation.id } : {}),
  };
}
