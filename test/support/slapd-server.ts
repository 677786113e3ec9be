/**
 * A throwaway OpenLDAP server for the LDAP connector's tests: a fresh temporary directory with a `slapd.d`
 * configuration made by `slapadd -n0` from generated LDIF (back_mdb, suffix `dc=example,dc=org`, the
 * core, cosine and inetOrgPerson schemas of the system plus our own small eduPerson and SCHAC schemas in
 * `ldap-schema/`, which Debian does not ship), entries loaded with `slapadd` before start, and `slapd` on a
 * free loopback port, in the foreground so that it dies with `stop()` and its log can be read.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { webcrypto } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import "reflect-metadata";
import { Client } from "ldapts";
import { freePort } from "./hub-process.ts";
import { type LdifEntry, sshaHash, toLdif } from "./ldif.ts";

const run = promisify(execFile);

/** Debian's paths; `OPENESC_TEST_SLAPD` names another slapd binary (slapadd is looked for next to it). */
const SLAPD = process.env["OPENESC_TEST_SLAPD"] ?? "/usr/sbin/slapd";
const SLAPADD = join(dirname(SLAPD), "slapadd");
const MODULE_DIR = process.env["OPENESC_TEST_SLAPD_MODULES"] ?? "/usr/lib/ldap";
const SYSTEM_SCHEMA_DIR = process.env["OPENESC_TEST_SLAPD_SCHEMA"] ?? "/etc/ldap/schema";
const OWN_SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "ldap-schema");
const SCHEMAS = [
  join(SYSTEM_SCHEMA_DIR, "core.ldif"),
  join(SYSTEM_SCHEMA_DIR, "cosine.ldif"),
  join(SYSTEM_SCHEMA_DIR, "inetorgperson.ldif"),
  join(OWN_SCHEMA_DIR, "eduperson.ldif"),
  join(OWN_SCHEMA_DIR, "schac.ldif"),
];
const START_TIMEOUT_MS = 10_000;

export const TEST_SUFFIX = "dc=example,dc=org";

/**
 * Whether the LDAP tests run: they do when slapd, slapadd, back_mdb and the system schemas are installed.
 * Under `CI=true` a missing piece is a failure (the answer carries the reason for the test to throw);
 * elsewhere the tests skip with it.
 */
export function slapdAvailability(): { skip: false } | { skip: string; fail: boolean } {
  const needed = [SLAPD, SLAPADD, join(MODULE_DIR, "back_mdb.so"), ...SCHEMAS];
  const missing = needed.filter((path) => !existsSync(path));
  if (missing.length === 0) return { skip: false };
  return {
    skip: `OpenLDAP is not installed (missing ${missing.join(", ")}); apt-get install slapd ldap-utils`,
    fail: process.env["CI"] === "true",
  };
}

export interface SlapdOptions {
  /** Entries loaded with slapadd before the server starts (the suffix entry and accounts come first). */
  entries?: Iterable<LdifEntry>;
  /** Also listen on ldaps:// with a fresh self-signed certificate for 127.0.0.1 (StartTLS works too). */
  tls?: boolean;
}

export interface SlapdServer {
  /** `ldap://127.0.0.1:<port>` */
  readonly url: string;
  /** `ldaps://127.0.0.1:<port>` when started with `tls`. */
  readonly ldapsUrl: string | null;
  /** The server certificate (self-signed, PEM), to trust as a CA, when started with `tls`. */
  readonly certificatePem: string | null;
  readonly suffix: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  /**
   * A read-only account, as an institution would give the hub: paged searches may return any number of
   * entries in all (`size.prtotal=unlimited`), while each answer stays under the default limit of 500.
   */
  readonly readerDn: string;
  /** Another read-only account (same password) left to OpenLDAP's default limit: 500 entries per search. */
  readonly limitedReaderDn: string;
  readonly readerPassword: string;
  /** Milliseconds from the call to a server that answers a bind. */
  readonly startMs: number;
  /** Adds entries over LDAP as the root DN. */
  add(entries: Iterable<LdifEntry>): Promise<void>;
  /** Search operations the server has logged (each page of a paged search is one). */
  searchOperations(): number;
  /** The server's log (loglevel stats). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a fresh slapd; `stop()` kills it and removes its directory. */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdServer> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), "openesc-slapd-"));
  try {
    const rootDn = `cn=admin,${TEST_SUFFIX}`;
    const readerDn = `cn=esc-hub,ou=services,${TEST_SUFFIX}`;
    const limitedReaderDn = `cn=esc-hub-limited,ou=services,${TEST_SUFFIX}`;
    const rootPassword = webcrypto.randomUUID();
    const readerPassword = webcrypto.randomUUID();
    const configDir = join(dir, "slapd.d");
    const dataDir = join(dir, "data");
    await mkdir(configDir);
    await mkdir(dataDir);

    let tlsFiles: { cert: string; key: string; pem: string } | null = null;
    if (options.tls) {
      const { certificatePem, keyPem } = await selfSignedCertificate();
      tlsFiles = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), pem: certificatePem };
      await writeFile(tlsFiles.cert, certificatePem);
      await writeFile(tlsFiles.key, keyPem, { mode: 0o600 });
    }
    await writeFile(
      join(dir, "config.ldif"),
      configLdif({ dataDir, rootDn, rootPassword, readerDn, tlsFiles }),
    );
    await run(SLAPADD, ["-n0", "-F", configDir, "-l", join(dir, "config.ldif")], { timeout: 10_000 });

    const base: LdifEntry[] = [
      {
        dn: TEST_SUFFIX,
        attributes: { objectClass: ["dcObject", "organization"], dc: "example", o: "Example" },
      },
      { dn: `ou=people,${TEST_SUFFIX}`, attributes: { objectClass: "organizationalUnit", ou: "people" } },
      { dn: `ou=services,${TEST_SUFFIX}`, attributes: { objectClass: "organizationalUnit", ou: "services" } },
      ...[readerDn, limitedReaderDn].map((dn) => ({
        dn,
        attributes: {
          objectClass: ["applicationProcess", "simpleSecurityObject"],
          cn: dn.slice(3, dn.indexOf(",")),
          userPassword: sshaHash(readerPassword),
        },
      })),
    ];
    await writeFile(join(dir, "data.ldif"), toLdif([...base, ...(options.entries ?? [])]));
    // -q: no consistency checks beyond the schema, for speed on bulk loads.
    await run(SLAPADD, ["-q", "-b", TEST_SUFFIX, "-F", configDir, "-l", join(dir, "data.ldif")], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });

    const port = await freePort();
    const tlsPort = tlsFiles ? await freePort() : null;
    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = tlsPort === null ? null : `ldaps://127.0.0.1:${tlsPort}`;
    const listeners = [url, ldapsUrl].filter((u) => u !== null).map((u) => `${u}/`);
    const child = spawn(SLAPD, ["-h", listeners.join(" "), "-F", configDir, "-d", "stats"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const output: string[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));

    await waitUntilAnswering(child, url, rootDn, rootPassword, () => output.join(""));
    const startMs = Math.round(performance.now() - started);

    return {
      url,
      ldapsUrl,
      certificatePem: tlsFiles?.pem ?? null,
      suffix: TEST_SUFFIX,
      rootDn,
      rootPassword,
      readerDn,
      limitedReaderDn,
      readerPassword,
      startMs,
      async add(entries) {
        const client = new Client({ url, timeout: 10_000, connectTimeout: 5_000 });
        try {
          await client.bind(rootDn, rootPassword);
          for (const entry of entries) {
            await client.add(entry.dn, entry.attributes as Record<string, string | string[]>);
          }
        } finally {
          await client.unbind();
        }
      },
      searchOperations: () => output.join("").match(/ SRCH base=/g)?.length ?? 0,
      log: () => output.join(""),
      async stop() {
        process.removeListener("exit", killOnExit);
        await stopProcess(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function configLdif(o: {
  dataDir: string;
  rootDn: string;
  rootPassword: string;
  readerDn: string;
  tlsFiles: { cert: string; key: string } | null;
}): string {
  const tls = o.tlsFiles
    ? `olcTLSCertificateFile: ${o.tlsFiles.cert}\nolcTLSCertificateKeyFile: ${o.tlsFiles.key}\n`
    : "";
  return `dn: cn=config
objectClass: olcGlobal
cn: config
${tls}
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: ${MODULE_DIR}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

${SCHEMAS.map((path) => `include: file://${path}\n`).join("\n")}
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: ${o.dataDir}
olcDbMaxSize: 268435456
olcSuffix: ${TEST_SUFFIX}
olcRootDN: ${o.rootDn}
olcRootPW: ${sshaHash(o.rootPassword)}
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
olcLimits: {0}dn.exact="${o.readerDn}" size.prtotal=unlimited
`;
}

async function waitUntilAnswering(
  child: ChildProcess,
  url: string,
  dn: string,
  password: string,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`slapd exited (${child.exitCode ?? child.signalCode}):\n${log().slice(-4000)}`);
    }
    const client = new Client({ url, timeout: 500, connectTimeout: 500 });
    try {
      await client.bind(dn, password);
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        child.kill("SIGKILL");
        throw new Error(`slapd did not answer within ${START_TIMEOUT_MS} ms: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A P-256 certificate for 127.0.0.1 and localhost, signed by its own key, valid for a day. */
async function selfSignedCertificate(): Promise<{ certificatePem: string; keyPem: string }> {
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as never);
  const algorithm = { name: "ECDSA", namedCurve: "P-256" } as const;
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex"),
    name: "CN=127.0.0.1",
    notBefore,
    notAfter: new Date(notBefore.getTime() + 86_400_000),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
  return { certificatePem: certificate.toString("pem"), keyPem };
}
