import type { FastifyInstance, FastifyReply } from "fastify";
import { Type } from "typebox";
import { escQrCode, parseQrColours, parseQrOrientation, parseQrSize } from "../../../cards/esc-qr-code.ts";
import { OpenEscError } from "../../../domain/errors.ts";
import { parseEscn } from "../../../domain/escn.ts";
import type { RouteDeps } from "../../app.ts";
import { data } from "../../schemas/data-annotation.ts";
import { escRef } from "../../schemas/esc-router-v2-schemas.ts";
import { escErrors } from "../common-responses.ts";

const TAG = ["ESC Router V2: cards"];
const EscnParams = Type.Object({ escn: Type.String({ description: "The card number (ESCN)" }) });

/** The ESC-R operations that need no token: public status, QR code, ESCN generation. */
export function escRouterPublicRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{ Params: { escn: string } }>(
    "/cards/:escn/status",
    {
      // displayName is answered only with the student's consent to display-name-publication.
      config: { purpose: "public-verification", consentPurposes: ["display-name-publication"] },
      schema: {
        operationId: "status",
        tags: TAG,
        summary: "Public status of a card",
        description:
          "No token needed. No personal data: `displayName` appears only when the issuer has chosen to show it. " +
          "An unknown ESCN is a 404; a malformed one a 400.",
        params: EscnParams,
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: escRef("CardStatusView") } },
          },
          ...escErrors(400, 404),
        },
      },
    },
    // Not async: the answer usually comes without waiting (see CardService.publicStatus), and Fastify
    // sends the returned body, so the hottest route pays no promise for it.
    (request, reply) => {
      const body = services.cards.publicStatus(request.params.escn);
      if (typeof body === "string") return statusAnswer(reply, body);
      return body.then((text) => statusAnswer(reply, text));
    },
  );

  app.get<{
    Params: { escn: string };
    Querystring: { orientation?: string; colours?: string; size?: string };
  }>(
    "/cards/:escn/qr",
    {
      config: { purpose: "public-verification" },
      schema: {
        operationId: "getQRCode",
        tags: TAG,
        summary: "The card's QR code",
        description:
          "SVG (`Accept: image/svg+xml`, the default) or the same SVG base64-encoded (`Accept: text/plain`). " +
          "The code opens the verification page under the hub's public URL.",
        params: EscnParams,
        querystring: Type.Object({
          orientation: Type.Optional(
            Type.String({ default: "horizontal", description: "horizontal or vertical" }),
          ),
          colours: Type.Optional(Type.String({ default: "normal", description: "normal or inverted" })),
          size: Type.Optional(Type.String({ default: "S", description: "XS, S or M" })),
        }),
        response: {
          200: {
            description: "Entity retrieved",
            content: {
              "image/svg+xml": { schema: { type: "string" } },
              "text/plain": { schema: { type: "string" } },
            },
          },
          ...escErrors(400, 404, 406),
        },
      },
    },
    async (request, reply) => {
      const escn = parseEscn(request.params.escn, "escn");
      const size = parseQrSize(request.query.size);
      const colours = parseQrColours(request.query.colours);
      const orientation = parseQrOrientation(request.query.orientation);
      await services.cards.publicStatusJson(escn, false); // 404 for a card that does not exist; shows nothing
      const accept = request.headers.accept ?? "image/svg+xml";
      const wantsText = /text\/plain/i.test(accept) && !/image\/svg\+xml/i.test(accept);
      if (!wantsText && !/image\/svg\+xml|image\/\*|\*\/\*/i.test(accept)) {
        throw new OpenEscError("NOT_ACCEPTABLE", "accept: must allow image/svg+xml or text/plain");
      }
      const { svg, version } = escQrCode({
        url: `${options.publicUrl}/v/${escn}`,
        size,
        colours,
        orientation,
      });
      reply.header("x-qr-version", String(version));
      if (wantsText) return reply.type("text/plain; charset=utf-8").send(Buffer.from(svg).toString("base64"));
      return reply.type("image/svg+xml").send(svg);
    },
  );

  app.get<{ Querystring: { prefix: number; pic: string; numberOfESCN?: number } }>(
    "/cards/generate-escn",
    {
      config: { purpose: "card-management" },
      schema: {
        operationId: "getEscnList",
        tags: TAG,
        summary: "Generate valid ESCNs",
        description:
          "RFC 4122 version 1 UUIDs whose node is the 3-digit prefix and the 9-digit PIC, with a random clock " +
          "sequence so that numbers are not guessable from each other. At most the documented maximum per call " +
          "(100 by default); above it a 400.",
        querystring: Type.Object({
          prefix: Type.Integer({
            format: "int32",
            minimum: 0,
            maximum: 999,
            description: "3-digit prefix to distinguish servers of a same institution",
          }),
          pic: Type.String({ description: "The PIC of the organisation" }),
          numberOfESCN: Type.Optional(
            Type.Integer({ format: "int32", default: 1, description: "Number of ESCNs to generate" }),
          ),
        }),
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: Type.Array(Type.String(data("card.escn"))) } },
          },
          ...escErrors(400),
        },
      },
    },
    async (request) =>
      services.cards.generate(
        String(request.query.prefix),
        request.query.pic,
        request.query.numberOfESCN ?? 1,
      ),
  );
}

/** Sets the status answer's headers and hands its body back for Fastify to send. */
function statusAnswer(reply: FastifyReply, body: string): string {
  reply.header("cache-control", "no-cache").type("application/json; charset=utf-8");
  return body;
}
