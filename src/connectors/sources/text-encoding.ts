/** The encodings files from institutions come in: spreadsheet exports are UTF-8, UTF-16 or windows-1252. */
export const TEXT_ENCODINGS = ["utf-8", "utf-16le", "utf-16be", "windows-1252"] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** How many bytes of a file decide between UTF-8 and windows-1252 when it has no byte order mark. */
export const ENCODING_SAMPLE_BYTES = 64 * 1024;

/** A decoder fed chunk by chunk, like `TextDecoder` with `{ stream: true }`. */
export interface ChunkDecoder {
  decode(bytes?: Uint8Array, options?: { stream?: boolean }): string;
}

/**
 * The encoding of text that starts with `sample`: its byte order mark (UTF-8, UTF-16 LE or BE) when it has
 * one; else UTF-16 when every other byte is zero, as Latin text in UTF-16 is; else UTF-8 when the sample is
 * valid UTF-8; else windows-1252 (what Excel writes as "CSV" on Western European Windows). `complete` says
 * the sample is the whole text, so that a multi-byte character cut at its end counts as invalid.
 */
export function detectEncoding(sample: Uint8Array, complete: boolean): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return "utf-8";
  if (sample[0] === 0xff && sample[1] === 0xfe) return "utf-16le";
  if (sample[0] === 0xfe && sample[1] === 0xff) return "utf-16be";
  const unmarked = utf16WithoutMark(sample);
  if (unmarked !== undefined) return unmarked;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: !complete });
    return "utf-8";
  } catch {
    return "windows-1252";
  }
}

/**
 * UTF-16 told by its zero bytes: in the first 4 KiB, most high bytes zero (ASCII letters, digits and
 * delimiters) and almost no low byte. No UTF-8 or windows-1252 text holds zero bytes.
 */
function utf16WithoutMark(sample: Uint8Array): TextEncoding | undefined {
  const pairs = Math.floor(Math.min(sample.length, 4096) / 2);
  if (pairs < 2) return undefined;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (sample[i] === 0) evenZeros += 1;
    if (sample[i + 1] === 0) oddZeros += 1;
  }
  if (oddZeros >= pairs * 0.5 && evenZeros <= pairs * 0.05) return "utf-16le";
  if (evenZeros >= pairs * 0.5 && oddZeros <= pairs * 0.05) return "utf-16be";
  return undefined;
}

/**
 * A streaming decoder for `encoding` that drops a leading byte order mark. Bytes that are not text in that
 * encoding become U+FFFD, which readers report per row ({@link UNDECODABLE}).
 */
export function decoderFor(encoding: TextEncoding): ChunkDecoder {
  return encoding === "windows-1252" ? new Windows1252Decoder() : new TextDecoder(encoding);
}

/** What a byte that is not text in the file's encoding decodes to. */
export const UNDECODABLE = "\ufffd";

/** Decodes a whole text (an uploaded file), detecting its encoding as {@link detectEncoding} does. */
export function decodeText(bytes: Uint8Array, encoding?: TextEncoding): string {
  return decoderFor(encoding ?? detectEncoding(bytes.subarray(0, ENCODING_SAMPLE_BYTES), true)).decode(bytes);
}

/**
 * Decodes a stream of bytes chunk by chunk: memory stays flat whatever the size. The encoding is detected
 * on the first {@link ENCODING_SAMPLE_BYTES} unless given.
 */
export async function* decodeChunks(
  chunks: AsyncIterable<Uint8Array>,
  encoding?: TextEncoding,
): AsyncGenerator<string> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let decoder: ChunkDecoder | undefined;
  for await (const chunk of chunks) {
    if (decoder) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== "") yield text;
      continue;
    }
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes < ENCODING_SAMPLE_BYTES && encoding === undefined) continue;
    const sample = Buffer.concat(held, heldBytes);
    held = [];
    decoder = decoderFor(encoding ?? detectEncoding(sample, false));
    const text = decoder.decode(sample, { stream: true });
    if (text !== "") yield text;
  }
  if (!decoder) {
    const sample = Buffer.concat(held, heldBytes);
    decoder = decoderFor(encoding ?? detectEncoding(sample, true));
    const text = decoder.decode(sample);
    if (text !== "") yield text;
    return;
  }
  const rest = decoder.decode();
  if (rest !== "") yield rest;
}

/**
 * Bytes 0x80 to 0x9F of windows-1252, as the WHATWG Encoding Standard maps them (the five it leaves
 * undefined map to the C1 control of the same number). Node's own `TextDecoder("windows-1252")` decodes
 * them as ISO-8859-1 controls (nodejs/node#60888), which would turn `€`, `Š` or `’` into control characters.
 */
const WINDOWS_1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152,
  0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122,
  0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/** windows-1252: one byte, one character, so chunks need no state between them. */
class Windows1252Decoder implements ChunkDecoder {
  decode(bytes?: Uint8Array): string {
    if (bytes === undefined) return "";
    const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    return latin1.replace(/[\u0080-\u009f]/g, (c) =>
      String.fromCharCode(WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] ?? c.charCodeAt(0)),
    );
  }
}
