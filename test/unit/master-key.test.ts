import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";
import { ConfigError } from "../../src/config.ts";
import { readMasterKey } from "../../src/credentials/master-key.ts";

const KEY = randomBytes(32);
const SPELLINGS = {
  base64: KEY.toString("base64"),
  base64url: KEY.toString("base64url"),
  hex: KEY.toString("hex"),
  HEX: KEY.toString("hex").toUpperCase(),
};
/** Every way the key's bytes could show up in a message or a dump. */
const LEAKS = [
  ...Object.values(SPELLINGS),
  KEY.toString("base64").slice(0, 20),
  KEY.toString("hex").slice(0, 20),
];

const dir = mkdtempSync(join(tmpdir(), "openesc-master-key-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

function assertNoLeak(text: string): void {
  for (const leak of LEAKS) assert.ok(!text.includes(leak), `"${text}" contains key material`);
}

/** The master key's cipher, as a fingerprint of which bytes it holds. */
function fingerprint(masterKey: ReturnType<typeof readMasterKey>): string {
  const cipher = masterKey.createCipher(Buffer.alloc(12));
  cipher.update(Buffer.alloc(16));
  cipher.final();
  return cipher.getAuthTag().toString("hex");
}

function expectedFingerprint(): string {
  return fingerprint(readMasterKey({ OPENESC_MASTER_KEY: SPELLINGS.hex }));
}

function assertRefused(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => readMasterKey(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.ok(error.message.includes(variable), `"${error.message}" should name ${variable}`);
      assertNoLeak(error.message);
      assertNoLeak(inspect(error));
      assertNoLeak(String(error.stack));
      return true;
    },
  );
}

describe("readMasterKey from OPENESC_MASTER_KEY", () => {
  for (const [form, text] of Object.entries(SPELLINGS)) {
    it(`reads the key as ${form}`, () => {
      assert.equal(fingerprint(readMasterKey({ OPENESC_MASTER_KEY: text })), expectedFingerprint());
    });
  }

  it("tolerates surrounding white space", () => {
    assert.equal(
      fingerprint(readMasterKey({ OPENESC_MASTER_KEY: ` ${SPELLINGS.base64}\n` })),
      expectedFingerprint(),
    );
  });

  it("refuses a key of the wrong length", () => {
    assertRefused({ OPENESC_MASTER_KEY: randomBytes(16).toString("base64") }, "OPENESC_MASTER_KEY");
    assertRefused({ OPENESC_MASTER_KEY: SPELLINGS.hex.slice(2) }, "OPENESC_MASTER_KEY");
  });

  it("refuses text that is neither base64 nor hex", () => {
    assertRefused({ OPENESC_MASTER_KEY: `${SPELLINGS.base64.slice(0, 40)}!!!!` }, "OPENESC_MASTER_KEY");
    assertRefused({ OPENESC_MASTER_KEY: "correct horse battery staple" }, "OPENESC_MASTER_KEY");
  });

  it("refuses a placeholder of one repeated byte", () => {
    assertRefused({ OPENESC_MASTER_KEY: "0".repeat(64) }, "OPENESC_MASTER_KEY");
  });

  it("refuses when neither variable is set, counting empty as unset", () => {
    assertRefused({}, "OPENESC_MASTER_KEY");
    assertRefused({ OPENESC_MASTER_KEY: "", OPENESC_MASTER_KEY_FILE: "" }, "OPENESC_MASTER_KEY_FILE");
  });

  it("refuses both variables at once", () => {
    const path = keyFile("both.key", SPELLINGS.base64, 0o600);
    assertRefused(
      { OPENESC_MASTER_KEY: SPELLINGS.hex, OPENESC_MASTER_KEY_FILE: path },
      "OPENESC_MASTER_KEY_FILE",
    );
  });
});

describe("readMasterKey from OPENESC_MASTER_KEY_FILE", () => {
  it("reads an owner-only file, trailing newline and all", () => {
    const path = keyFile("ok.key", `${SPELLINGS.base64url}\n`, 0o600);
    assert.equal(fingerprint(readMasterKey({ OPENESC_MASTER_KEY_FILE: path })), expectedFingerprint());
  });

  it("refuses a file others may read", () => {
    const path = keyFile("open.key", SPELLINGS.hex, 0o644);
    assertRefused({ OPENESC_MASTER_KEY_FILE: path }, "OPENESC_MASTER_KEY_FILE");
  });

  it("refuses a file the group may write", () => {
    const path = keyFile("group.key", SPELLINGS.hex, 0o620);
    assertRefused({ OPENESC_MASTER_KEY_FILE: path }, "OPENESC_MASTER_KEY_FILE");
  });

  it("refuses a missing file", () => {
    assertRefused({ OPENESC_MASTER_KEY_FILE: join(dir, "absent.key") }, "OPENESC_MASTER_KEY_FILE");
  });

  it("refuses a directory", () => {
    assertRefused({ OPENESC_MASTER_KEY_FILE: dir }, "OPENESC_MASTER_KEY_FILE");
  });

  it("refuses a file with a malformed key, without quoting it", () => {
    const path = keyFile("short.key", SPELLINGS.hex.slice(0, 62), 0o600);
    assertRefused({ OPENESC_MASTER_KEY_FILE: path }, "OPENESC_MASTER_KEY_FILE");
  });
});

describe("the master key object", () => {
  const masterKey = readMasterKey({ OPENESC_MASTER_KEY: SPELLINGS.base64 });

  it("shows as [master key] and nothing else", () => {
    assert.equal(JSON.stringify(masterKey), '"[master key]"');
    assert.equal(JSON.stringify({ masterKey }), '{"masterKey":"[master key]"}');
    assert.equal(inspect(masterKey), "[master key]");
    assert.equal(inspect({ masterKey }, { depth: 10, showHidden: true }), "{ masterKey: [master key] }");
    assert.equal(String(masterKey), "[master key]");
    assert.equal(`${masterKey}`, "[master key]");
  });

  it("exposes no key bytes among its own properties", () => {
    for (const key of Reflect.ownKeys(masterKey)) {
      const value = (masterKey as unknown as Record<PropertyKey, unknown>)[key];
      assert.equal(typeof value, "function", `${String(key)} should be a function`);
    }
    assertNoLeak(JSON.stringify(Object.entries(masterKey)));
  });

  it("is frozen", () => {
    assert.ok(Object.isFrozen(masterKey));
  });
});
