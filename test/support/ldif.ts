import { createHash, randomBytes } from "node:crypto";

/** A directory entry to write: its DN and each attribute's value or values. */
export interface LdifEntry {
  readonly dn: string;
  readonly attributes: Readonly<Record<string, string | readonly string[]>>;
}

/**
 * LDIF (RFC 2849) for `slapadd`: a value that is not a SAFE-STRING (non-ASCII such as "Łukasz", a leading
 * space, colon or "<", a line break) goes base64-encoded after `::`, as the RFC requires.
 */
export function toLdif(entries: Iterable<LdifEntry>): string {
  const blocks: string[] = [];
  for (const entry of entries) {
    const lines = [line("dn", entry.dn)];
    for (const [name, value] of Object.entries(entry.attributes)) {
      for (const one of typeof value === "string" ? [value] : value) lines.push(line(name, one));
    }
    blocks.push(`${lines.join("\n")}\n`);
  }
  return blocks.join("\n");
}

/** A `{SSHA}` password hash (salted SHA-1), the form OpenLDAP's `slappasswd` writes by default. */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash("sha1").update(password, "utf8").update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}

function line(name: string, value: string): string {
  return isSafeString(value)
    ? `${name}: ${value}`
    : `${name}:: ${Buffer.from(value, "utf8").toString("base64")}`;
}

function isSafeString(value: string): boolean {
  if (value === "") return true;
  if (/^[ :<]/.test(value) || value.endsWith(" ")) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 10 || code === 13 || code > 127) return false;
  }
  return true;
}
