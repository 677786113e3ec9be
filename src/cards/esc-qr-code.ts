import QRCode from "qrcode";
import { InvalidValueError } from "../domain/errors.ts";

/** The ESC QR sizes, in pixels (EuropeanStudentCard qr-java-generator). */
export const QR_SIZES = { XS: 41, S: 61.5, M: 164 } as const;
export type QrSize = keyof typeof QR_SIZES;
export type QrColours = "normal" | "inverted";
export type QrOrientation = "horizontal" | "vertical";

export interface EscQrOptions {
  /** What the code opens: the verification URL followed by the ESCN. */
  readonly url: string;
  readonly size: QrSize;
  readonly colours: QrColours;
  readonly orientation: QrOrientation;
  /** The issuer's QR colour; black by default. */
  readonly colour?: string | null;
}

export interface EscQrCode {
  readonly svg: string;
  /** 4 when the URL fits the ESC's version 4; higher when the documented fallback applied. */
  readonly version: number;
}

/**
 * The ESC QR code: version 4, error correction M, a 4-module quiet zone, as SVG at one of the ESC sizes.
 * A URL longer than version 4 holds (62 bytes) falls back to the smallest version that fits, and the
 * answer says which version was used, so that a design checker can flag it.
 */
export function escQrCode(options: EscQrOptions): EscQrCode {
  let qr: QRCode.QRCode;
  try {
    qr = QRCode.create(options.url, { errorCorrectionLevel: "M", version: 4 });
  } catch {
    qr = QRCode.create(options.url, { errorCorrectionLevel: "M" });
  }
  const quiet = 4;
  const modules = qr.modules.size;
  const total = modules + 2 * quiet;
  const dark = options.colours === "normal" ? (options.colour ?? "#000000") : "#ffffff";
  const light = options.colours === "normal" ? "#ffffff" : (options.colour ?? "#000000");
  let path = "";
  for (let y = 0; y < modules; y++) {
    for (let x = 0; x < modules; x++) {
      if (qr.modules.get(x, y)) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }
  }
  const px = QR_SIZES[options.size];
  const label = "European Student Card";
  // The caption sits beside the code (horizontal) or under it (vertical), as on the ESC logo.
  const width = options.orientation === "horizontal" ? total * 3.2 : total;
  const height = options.orientation === "horizontal" ? total : total * 1.35;
  const text =
    options.orientation === "horizontal"
      ? `<text x="${total + 1}" y="${total / 2 + 1.5}" font-family="DejaVu Sans, Arial, sans-serif" font-size="4" fill="${dark}">${label}</text>`
      : `<text x="${total / 2}" y="${total + 4}" text-anchor="middle" font-family="DejaVu Sans, Arial, sans-serif" font-size="3.2" fill="${dark}">${label}</text>`;
  const scale = px / total;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${round(width * scale)}" height="${round(height * scale)}" ` +
    `viewBox="0 0 ${round(width)} ${round(height)}" shape-rendering="crispEdges">` +
    `<rect width="100%" height="100%" fill="${light}"/><path fill="${dark}" d="${path}"/>${text}</svg>`;
  return { svg, version: qr.version };
}

const round = (n: number) => Math.round(n * 100) / 100;

export function parseQrSize(value: string | undefined): QrSize {
  const size = (value ?? "S").toUpperCase();
  if (size in QR_SIZES) return size as QrSize;
  throw new InvalidValueError("QR_OPTION_INVALID", "size", "must be XS, S or M");
}

export function parseQrColours(value: string | undefined): QrColours {
  const colours = (value ?? "normal").toLowerCase();
  if (colours === "normal" || colours === "inverted") return colours;
  throw new InvalidValueError("QR_OPTION_INVALID", "colours", "must be normal or inverted");
}

export function parseQrOrientation(value: string | undefined): QrOrientation {
  const orientation = (value ?? "horizontal").toLowerCase();
  if (orientation === "horizontal" || orientation === "vertical") return orientation;
  throw new InvalidValueError("QR_OPTION_INVALID", "orientation", "must be horizontal or vertical");
}
