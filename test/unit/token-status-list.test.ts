import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deflateSync, inflateSync } from "node:zlib";
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import * as jose from "jose";
import {
  randomFreeIndex,
  STATUS_INVALID,
  STATUS_SUSPENDED,
  STATUS_VALID,
  type StatusBits,
  StatusList,
  StatusListError,
  type StatusListErrorReason,
  StatusListFullError,
  signStatusListToken,
  verifyStatusListToken,
} from "../../src/credentials/token-status-list.ts";
import { VERDICT_STATUS_LIST_VALUE } from "../../src/domain/card-verdict.ts";

// draft-ietf-oauth-status-list-10, § 4.1 (Status List Byte Array) and § 4.2 (JSON examples).
const SECTION_4_2_ONE_BIT = {
  bits: 1 as const,
  values: [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1],
  bytes: [0xb9, 0xa3],
  lst: "eNrbuRgAAhcBXQ",
};
const SECTION_4_2_TWO_BITS = {
  bits: 2 as const,
  values: [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3],
  bytes: [0xc9, 0x44, 0xf9],
  lst: "eNo76fITAAPfAgc",
};

const URI = "https://hub.example.org/statuslists/1";
const ISSUED_AT = new Date("2026-10-15T10:00:00Z");
const EXPIRES_AT = new Date("2026-10-16T10:00:00Z");
const NOW = new Date("2026-10-15T12:00:00Z");

/** A seeded PRNG, so the measured size of the big list is the same on every run. */
function mulberry32(seed: number): (max: number) => number {
  let a = seed;
  return (max) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

/** Decodes an `lst` without our code: node:zlib and bit arithmetic written out here. */
function independentDecode(lst: string, bits: number): number[] {
  const bytes = inflateSync(Buffer.from(lst, "base64url"));
  const values: number[] = [];
  for (const byte of bytes) {
    for (let shift = 0; shift < 8; shift += bits) values.push((byte >> shift) & ((1 << bits) - 1));
  }
  return values;
}

function listOf(bits: StatusBits, values: number[]): StatusList {
  const list = new StatusList(values.length, bits);
  for (const [index, value] of values.entries()) list.set(index, value);
  return list;
}

async function rejectsWith(promise: Promise<unknown>, reason: StatusListErrorReason): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StatusListError, `expected StatusListError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    return true;
  });
}

function throwsWith(fn: () => unknown, reason: StatusListErrorReason): void {
  assert.throws(fn, (error: unknown) => error instanceof StatusListError && error.reason === reason);
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("status values", () => {
  it("match the card verdict's status list values", () => {
    assert.deepEqual(VERDICT_STATUS_LIST_VALUE, {
      valid: STATUS_VALID,
      invalid: STATUS_INVALID,
      suspended: STATUS_SUSPENDED,
    });
  });
});

describe("StatusList: draft § 4.2 examples", () => {
  for (const example of [SECTION_4_2_ONE_BIT, SECTION_4_2_TWO_BITS]) {
    it(`encodes the ${example.bits}-bit example to its lst`, () => {
      assert.equal(listOf(example.bits, example.values).encode(), example.lst);
    });

    it(`decodes the ${example.bits}-bit example lst to its values`, () => {
      const list = StatusList.decode(example.lst, example.bits);
      assert.equal(list.bits, example.bits);
      assert.equal(list.size, example.values.length);
      assert.deepEqual(
        Array.from({ length: list.size }, (_, i) => list.get(i)),
        example.values,
      );
    });

    it(`packs the ${example.bits}-bit example into the draft's bytes, least significant bits first`, () => {
      const lst = listOf(example.bits, example.values).encode();
      assert.deepEqual([...inflateSync(Buffer.from(lst, "base64url"))], example.bytes);
    });
  }
});

describe("StatusList", () => {
  for (const bits of [1, 2, 4, 8] as const) {
    it(`round-trips ${bits}-bit values and an independent decoder agrees`, () => {
      const random = mulberry32(bits);
      const values = Array.from({ length: 1001 }, () => random(1 << bits));
      const list = listOf(bits, values);
      const lst = list.encode();
      assert.match(lst, /^[A-Za-z0-9_-]+$/);
      const decoded = StatusList.decode(lst, bits);
      assert.deepEqual(
        Array.from({ length: values.length }, (_, i) => decoded.get(i)),
        values,
      );
      // The byte is padded with zero entries, so a decoded list may be a little longer.
      assert.equal(decoded.size, Math.ceil((values.length * bits) / 8) * (8 / bits));
      assert.deepEqual(independentDecode(lst, bits).slice(0, values.length), values);
    });
  }

  it("overwrites a value without touching its neighbours", () => {
    const list = listOf(2, [3, 3, 3, 3]);
    list.set(1, 0);
    assert.deepEqual([list.get(0), list.get(1), list.get(2), list.get(3)], [3, 0, 3, 3]);
  });

  it("refuses misuse with a TypeError", () => {
    assert.throws(() => new StatusList(0, 1), TypeError);
    assert.throws(() => new StatusList(1.5, 1), TypeError);
    assert.throws(() => new StatusList(8, 3 as StatusBits), TypeError);
    const list = new StatusList(10, 2);
    assert.throws(() => list.get(-1), TypeError);
    assert.throws(() => list.get(10), TypeError);
    assert.throws(() => list.get(0.5), TypeError);
    assert.throws(() => list.set(10, 1), TypeError);
    assert.throws(() => list.set(0, 4), TypeError);
    assert.throws(() => list.set(0, -1), TypeError);
    assert.throws(() => list.set(0, 1.5), TypeError);
    list.set(9, 3);
    assert.equal(list.get(9), 3);
  });

  it("refuses garbage lst with bad-list", () => {
    for (const lst of ["", "***", "eNrbuRgAAhcBXQ==", "AAAA", "eNrbuRgAAhc", 42, undefined]) {
      throwsWith(() => StatusList.decode(lst, 1), "bad-list");
    }
    throwsWith(() => StatusList.decode(SECTION_4_2_ONE_BIT.lst, 3), "bad-list");
    throwsWith(() => StatusList.decode(SECTION_4_2_ONE_BIT.lst, "1"), "bad-list");
    throwsWith(() => StatusList.decode(deflateSync(Buffer.alloc(0)).toString("base64url"), 1), "bad-list");
  });

  it("refuses a zip bomb: a small lst that inflates past the limit", () => {
    const bomb = deflateSync(Buffer.alloc(17 * 1024 * 1024), { level: 9 }).toString("base64url");
    assert.ok(bomb.length < 40_000);
    throwsWith(() => StatusList.decode(bomb, 1), "bad-list");
    const small = deflateSync(Buffer.alloc(2048)).toString("base64url");
    throwsWith(() => StatusList.decode(small, 1, 1024), "bad-list");
    assert.equal(StatusList.decode(small, 1, 2048).size, 2048 * 8);
  });

  it("keeps a 1,000,000-entry 2-bit list with 1,000 revocations small", () => {
    const random = mulberry32(2026);
    const list = new StatusList(1_000_000, 2);
    const set = new Map<number, number>();
    while (set.size < 1000) {
      const index = random(list.size);
      const value = 1 + random(3);
      set.set(index, value);
      list.set(index, value);
    }
    const lst = list.encode();
    // Measured 3,646 characters (2,734 compressed bytes) for this seed; the bound leaves room for zlib versions.
    assert.ok(lst.length < 8 * 1024, `lst is ${lst.length} characters`);
    const decoded = StatusList.decode(lst, 2);
    assert.equal(decoded.size, 1_000_000);
    for (let i = 0; i < decoded.size; i++) assert.equal(decoded.get(i), set.get(i) ?? 0);
  });
});

describe("randomFreeIndex", () => {
  it("never returns a taken index, and spreads its picks over the list", () => {
    const size = 1_000_000;
    const taken = new Set<number>();
    const picks: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const index = randomFreeIndex(size, (n) => taken.has(n));
      assert.ok(!taken.has(index) && index >= 0 && index < size);
      taken.add(index);
      picks.push(index);
    }
    const sequential = picks.filter((index, i) => i > 0 && index === (picks[i - 1] ?? -2) + 1).length;
    assert.ok(sequential < 5, `${sequential} sequential picks`);
    assert.ok(Math.min(...picks) < size / 10 && Math.max(...picks) > (size * 9) / 10);
  });

  it("finds the last free index when random picks keep missing", () => {
    const taken = (n: number) => n !== 7;
    assert.equal(
      randomFreeIndex(10, taken, () => 3),
      7,
    );
    for (let i = 0; i < 50; i++) assert.equal(randomFreeIndex(10, taken), 7);
  });

  it("throws when the list is full", () => {
    assert.throws(() => randomFreeIndex(10, () => true), StatusListFullError);
    assert.throws(() => randomFreeIndex(0, () => false), TypeError);
  });
});

describe("Status List Token", async () => {
  const es256 = await jose.generateKeyPair("ES256");
  const ed25519 = await jose.generateKeyPair("EdDSA");
  const other = await jose.generateKeyPair("ES256");
  const list = listOf(2, SECTION_4_2_TWO_BITS.values);
  const sign = (overrides: Partial<Parameters<typeof signStatusListToken>[0]> = {}) =>
    signStatusListToken({
      list,
      uri: URI,
      key: es256.privateKey,
      kid: "list-key-1",
      issuedAt: ISSUED_AT,
      expiresAt: EXPIRES_AT,
      ttlSeconds: 900,
      ...overrides,
    });

  it("decodes with an independent implementation (@sd-jwt/jwt-status-list) to the same entries", async () => {
    const random = mulberry32(7);
    const values = Array.from({ length: 100_000 }, () => random(3));
    const big = listOf(2, values);
    const jwt = await sign({ list: big });
    const theirs = getListFromStatusListJWT(jwt);
    assert.equal(theirs.getBitsPerStatus(), 2);
    for (const index of [0, 1, 2, 3, 4999, 50_000, 99_999]) {
      assert.equal(theirs.getStatus(index), values[index], `entry ${index}`);
    }
    assert.deepEqual(
      Array.from({ length: 1000 }, (_, i) => theirs.getStatus(i * 100)),
      Array.from({ length: 1000 }, (_, i) => values[i * 100]),
    );
  });

  it("is a JWT another library verifies, with typ, sub, iat, exp, ttl and status_list", async () => {
    const jwt = await sign({ x5c: ["MIIBfake"] });
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, es256.publicKey, {
      typ: "statuslist+jwt",
      currentDate: NOW,
    });
    assert.deepEqual(protectedHeader, {
      alg: "ES256",
      typ: "statuslist+jwt",
      kid: "list-key-1",
      x5c: ["MIIBfake"],
    });
    assert.deepEqual(payload, {
      sub: URI,
      iat: ISSUED_AT.getTime() / 1000,
      exp: EXPIRES_AT.getTime() / 1000,
      ttl: 900,
      status_list: { bits: 2, lst: SECTION_4_2_TWO_BITS.lst },
    });
  });

  it("verifies back to the list, ttl and times", async () => {
    const verified = await verifyStatusListToken(await sign(), {
      key: es256.publicKey,
      expectedUri: URI,
      now: NOW,
    });
    assert.equal(verified.ttlSeconds, 900);
    assert.deepEqual(verified.issuedAt, ISSUED_AT);
    assert.deepEqual(verified.expiresAt, EXPIRES_AT);
    assert.equal(verified.list.encode(), SECTION_4_2_TWO_BITS.lst);
    assert.equal(verified.list.get(3), 3);
  });

  it("signs with EdDSA and verifies through getKey", async () => {
    const jwt = await sign({ key: ed25519.privateKey, alg: "EdDSA", expiresAt: undefined });
    const verified = await verifyStatusListToken(jwt, {
      getKey: (header) => {
        assert.equal(header.kid, "list-key-1");
        return ed25519.publicKey;
      },
      expectedUri: URI,
      now: NOW,
    });
    assert.equal(verified.expiresAt, undefined);
    assert.equal((await jose.jwtVerify(jwt, ed25519.publicKey)).protectedHeader.alg, "EdDSA");
  });

  it("refuses a tampered payload or signature, and a token from another key", async () => {
    const [header, payload, signature] = (await sign()).split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    claims.status_list.lst = listOf(2, Array(12).fill(0)).encode();
    const options = { key: es256.publicKey, expectedUri: URI, now: NOW };
    await rejectsWith(
      verifyStatusListToken(`${header}.${b64(claims)}.${signature}`, options),
      "bad-signature",
    );
    const flipped = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
    await rejectsWith(verifyStatusListToken(`${header}.${payload}.${flipped}`, options), "bad-signature");
    await rejectsWith(verifyStatusListToken(await sign({ key: other.privateKey }), options), "bad-signature");
    const edToken = await sign({ key: ed25519.privateKey, alg: "EdDSA" });
    await rejectsWith(verifyStatusListToken(edToken, options), "bad-signature");
  });

  it("refuses an alg: none token, as jose itself does", async () => {
    const claims = { sub: URI, iat: 1, ttl: 900, status_list: { bits: 1, lst: SECTION_4_2_ONE_BIT.lst } };
    const none = `${b64({ alg: "none", typ: "statuslist+jwt" })}.${b64(claims)}.`;
    await assert.rejects(jose.jwtVerify(none, es256.publicKey), jose.errors.JOSENotSupported);
    await rejectsWith(
      verifyStatusListToken(none, { key: es256.publicKey, expectedUri: URI, now: NOW }),
      "bad-signature",
    );
  });

  it("refuses a wrong uri, an expired token and a wrong typ", async () => {
    const options = { key: es256.publicKey, expectedUri: URI, now: NOW };
    await rejectsWith(
      verifyStatusListToken(await sign(), {
        ...options,
        expectedUri: "https://hub.example.org/statuslists/2",
      }),
      "wrong-uri",
    );
    await rejectsWith(
      verifyStatusListToken(await sign(), { ...options, now: new Date("2026-10-17T00:00:00Z") }),
      "expired",
    );
    const claims = { ttl: 900, status_list: { bits: 1, lst: SECTION_4_2_ONE_BIT.lst } };
    for (const typ of ["JWT", "dc+sd-jwt", undefined]) {
      const header: jose.JWTHeaderParameters = { alg: "ES256" };
      if (typ !== undefined) header.typ = typ;
      const jwt = await new jose.SignJWT(claims)
        .setProtectedHeader(header)
        .setSubject(URI)
        .setIssuedAt(ISSUED_AT)
        .sign(es256.privateKey);
      await rejectsWith(verifyStatusListToken(jwt, options), "wrong-type");
    }
  });

  it("refuses a signed token whose status_list or claims are bad", async () => {
    const options = { key: es256.publicKey, expectedUri: URI, now: NOW };
    const signWith = (claims: jose.JWTPayload) =>
      new jose.SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", typ: "statuslist+jwt" })
        .sign(es256.privateKey);
    const base = { sub: URI, iat: 1_790_000_000, ttl: 900 };
    await rejectsWith(verifyStatusListToken(await signWith(base), options), "bad-list");
    await rejectsWith(
      verifyStatusListToken(
        await signWith({ ...base, status_list: { bits: 3, lst: SECTION_4_2_ONE_BIT.lst } }),
        options,
      ),
      "bad-list",
    );
    await rejectsWith(
      verifyStatusListToken(
        await signWith({ ...base, status_list: { bits: 1, lst: "not base64!" } }),
        options,
      ),
      "bad-list",
    );
    const good = { bits: 1, lst: SECTION_4_2_ONE_BIT.lst };
    await rejectsWith(
      verifyStatusListToken(await signWith({ ...base, ttl: -5, status_list: good }), options),
      "malformed",
    );
    await rejectsWith(
      verifyStatusListToken(await signWith({ sub: URI, status_list: good }), options),
      "malformed",
    );
    const { sub: _, ...noSub } = base;
    await rejectsWith(
      verifyStatusListToken(await signWith({ ...noSub, status_list: good }), options),
      "malformed",
    );
  });

  it("refuses garbage strings as malformed", async () => {
    const options = { key: es256.publicKey, expectedUri: URI, now: NOW };
    // A parsable header with a signature that fails is "bad-signature"; these never get that far.
    for (const garbage of [
      "",
      "not a jwt",
      "a.b.c",
      "..",
      "eyJhbGciOiJFUzI1NiJ9.e30",
      `${b64({ alg: "ES256" })}`,
    ]) {
      await rejectsWith(verifyStatusListToken(garbage, options), "malformed");
    }
  });

  it("refuses misuse with a TypeError", async () => {
    await assert.rejects(sign({ ttlSeconds: 0 }), TypeError);
    await assert.rejects(sign({ expiresAt: ISSUED_AT }), TypeError);
    await assert.rejects(verifyStatusListToken(await sign(), { expectedUri: URI, now: NOW }), TypeError);
  });
});
