import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { data } from "../../schemas/data-annotation.ts";
import { literals, nullable, strict } from "../../schemas/schema-helpers.ts";
import { bearer, problems } from "../common-responses.ts";

/** Names `key` on a schema and on every property inside it: the whole value is that one piece of data. */
function wholly<T extends object>(schema: T, key: Parameters<typeof data>[0]): T {
  const visit = (node: Record<string, unknown>) => {
    Object.assign(node, data(key));
    const properties = node["properties"] as Record<string, Record<string, unknown>> | undefined;
    for (const child of Object.values(properties ?? {})) visit(child);
    for (const keyword of ["items", "anyOf", "oneOf"]) {
      const value = node[keyword];
      for (const child of [value].flat())
        if (child && typeof child === "object") visit(child as Record<string, unknown>);
    }
  };
  visit(schema as Record<string, unknown>);
  return schema;
}

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const TAGS = ["credentials"];
const ALGORITHMS = ["ES256", "EdDSA"] as const;

const OfferInput = Type.Object(
  {
    escn: Type.String({ maxLength: 64, description: "The card to issue as a credential" }),
    txCode: Type.Optional(
      Type.Boolean({
        description:
          "Whether the wallet must also give a transaction code handed to the student (default true)",
      }),
    ),
  },
  strict,
);
const offerField = data("credentialOffer.offer");
const CreatedOffer = Type.Object({
  id: Type.String({ ...offerField }),
  credentialOffer: wholly(
    Type.Object(
      {
        credential_issuer: Type.String(),
        credential_configuration_ids: Type.Array(Type.String()),
        grants: Type.Object({
          "urn:ietf:params:oauth:grant-type:pre-authorized_code": Type.Object({
            "pre-authorized_code": Type.String(),
            tx_code: Type.Optional(
              Type.Object({
                input_mode: Type.String(),
                length: Type.Integer(),
                description: Type.Optional(Type.String()),
              }),
            ),
          }),
        }),
      },
      { description: "The offer by value (OpenID4VCI 1.0 §4.1.1)" },
    ),
    "credentialOffer.offer",
  ),
  credentialOfferUri: Type.String({ ...offerField, description: "Where a wallet fetches the offer" }),
  deepLink: Type.String({ ...offerField, description: "`openid-credential-offer://` link to the offer" }),
  qrCode: Type.String({ ...offerField, description: "The deep link as an SVG QR code" }),
  txCode: nullable(Type.String(), {
    ...offerField,
    description: "The code to hand to the student by another channel; null when the offer has none",
  }),
  expiresAt: Type.String({ ...offerField, format: "date-time" }),
});

const keyField = data("issuerKey.public");
const IssuerKey = Type.Object({
  kid: Type.String({ ...keyField }),
  alg: literals(ALGORITHMS, { ...keyField }),
  origin: literals(["generated", "imported"], { ...keyField }),
  state: literals(["active", "retired"], { ...keyField }),
  publicJwk: wholly(
    Type.Object({
      kty: Type.String(),
      crv: Type.Optional(Type.String()),
      x: Type.Optional(Type.String()),
      y: Type.Optional(Type.String()),
      kid: Type.Optional(Type.String()),
      alg: Type.Optional(Type.String()),
      use: Type.Optional(Type.String()),
    }),
    "issuerKey.public",
  ),
  certificateChain: Type.Array(Type.String(), { ...keyField, description: "`x5c`: base64 DER, leaf first" }),
  createdAt: Type.String({ ...keyField }),
  retiredAt: nullable(Type.String(), { ...keyField }),
  publishedUntil: nullable(Type.String(), {
    ...keyField,
    description: "A retired key stays in the issuer metadata until then",
  }),
});
const NewIssuerKey = Type.Union(
  [
    Type.Object({ alg: Type.Optional(literals(ALGORITHMS)) }, strict),
    Type.Object(
      {
        privateKey: Type.Union([Type.String({ maxLength: 16_384 }), Type.Object({ kty: Type.String() })], {
          description: "PKCS #8 PEM or a private JWK (P-256 or Ed25519)",
        }),
        certificateChain: Type.Optional(
          Type.Array(Type.String({ maxLength: 16_384 }), { minItems: 2, maxItems: 5 }),
        ),
      },
      strict,
    ),
  ],
  {
    description: "Empty (or `alg`) for a key made by the hub; `privateKey` to import the organisation's own",
  },
);
const OrganisationParams = Type.Object({
  id: Type.String({ maxLength: 64, description: "The organisation's identifier" }),
});

const VerificationInput = Type.Object(
  {
    presentation: Type.String({
      minLength: 1,
      maxLength: 65_536,
      description: "SD-JWT VC presentation with KB-JWT",
    }),
    audience: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: "The `aud` the key binding must carry",
    }),
    nonce: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: "The `nonce` the key binding must carry",
    }),
  },
  strict,
);
const verdictField = data("presentation.verdict");
const Verification = Type.Object({
  valid: Type.Boolean({ ...verdictField }),
  reason: Type.Optional(Type.String({ ...verdictField, description: "Why not valid (docs/credentials.md)" })),
  message: Type.Optional(Type.String({ ...verdictField })),
  issuer: Type.Optional(Type.String({ ...verdictField })),
  vct: Type.Optional(Type.String({ ...verdictField })),
  expiresAt: Type.Optional(Type.String({ ...verdictField })),
  disclosed: Type.Optional(
    Type.Array(Type.String(), {
      ...verdictField,
      description:
        "Names of the claims the holder disclosed, each verified; their values are in the presentation the caller holds",
    }),
  ),
});

/**
 * The credential operations of the native API: an issuer's offers to its students' wallets, its signing
 * keys, and verification of presentations for verifiers that prefer to ask.
 */
export function credentialRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.post<{ Body: { escn: string; txCode?: boolean } }>(
    "/credential-offers",
    {
      config: { auth: true, purpose: "credential-issuance" },
      schema: {
        operationId: "createCredentialOffer",
        tags: TAGS,
        summary: "Offer a card to its holder's wallet as a verifiable credential (OpenID4VCI)",
        description:
          "Pre-authorized code flow. The card must be valid and its holder must have consented to `credential-issuance`. " +
          "The answer gives the offer as a URI, a deep link and a QR code, and the `txCode` to hand to the student apart.",
        security: bearer,
        body: OfferInput,
        response: { 201: json(CreatedOffer, "Created"), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const offer = await services.offers.create(principalOf(request), request.body);
      reply.code(201).header("cache-control", "no-store");
      return offer;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/organisations/:id/issuer-keys",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "listIssuerKeys",
        tags: TAGS,
        summary: "The organisation's credential signing keys, active and retired (public parts only)",
        security: bearer,
        params: OrganisationParams,
        response: {
          200: json(Type.Object({ items: Type.Array(IssuerKey) }), "The keys"),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => ({ items: await services.issuerKeys.list(principalOf(request), request.params.id) }),
  );

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
    "/organisations/:id/issuer-keys",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "rotateIssuerKey",
        tags: TAGS,
        summary: "Rotate the signing key: a new one made by the hub, or the organisation's own imported",
        description:
          "The new key signs from now on; the old one is retired and stays published while anything it signed is valid. " +
          "An imported key comes with the organisation's own certificate chain, or gets one from the deployment's CA.",
        security: bearer,
        params: OrganisationParams,
        body: NewIssuerKey,
        response: { 201: json(IssuerKey, "The new active key"), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const key = await services.issuerKeys.rotate(principalOf(request), request.params.id, request.body);
      // Lists signed from now on carry the new key.
      await services.issuers.resignLists(request.params.id);
      reply.code(201);
      return key;
    },
  );

  app.post<{ Body: { presentation: string; audience: string; nonce: string } }>(
    "/credential-verifications",
    {
      config: { purpose: "public-verification" },
      schema: {
        operationId: "verifyPresentation",
        tags: TAGS,
        summary: "Verify a student card presentation (SD-JWT VC with key binding) against the hub's issuers",
        description:
          "No token needed. The same checks as `openesc verify`, against the current keys and status lists. " +
          "A presentation that fails gets `valid: false` with a reason code, not an error.",
        body: VerificationInput,
        response: { 200: json(Verification, "The verdict"), ...problems(400) },
      },
    },
    async (request) => {
      const result = await services.verification.verify(request.body);
      return result.valid
        ? {
            valid: true,
            issuer: result.issuer,
            vct: result.vct,
            expiresAt: result.expiresAt,
            // Names only: the caller holds the values, and a public answer carries no personal data.
            disclosed: Object.keys(result.claims).filter((name) => name !== "issuer"),
          }
        : {
            valid: false,
            reason: result.reason,
            message: result.message,
            ...(result.issuer !== undefined ? { issuer: result.issuer } : {}),
          };
    },
  );
}
