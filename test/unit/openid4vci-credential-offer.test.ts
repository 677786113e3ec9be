import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import jsQRModule from "jsqr";
import {
  credentialOfferDocument,
  newAccessToken,
  newPreAuthorizedCode,
  newTxCode,
  offerDeepLink,
  offerQrPngDataUrl,
  offerQrSvg,
  PRE_AUTHORIZED_GRANT,
  sameSecret,
  secretHash,
} from "../../src/credentials/openid4vci/credential-offer.ts";

// pngjs comes with qrcode; only its synchronous reader is needed, so type just that.
const { PNG } = createRequire(import.meta.url)("pngjs") as {
  PNG: { sync: { read(buffer: Buffer): { width: number; height: number; data: Buffer } } };
};

// jsqr is CommonJS that also sets `default`; under NodeNext the default import is the module object.
const jsQR = jsQRModule.default;

const ISSUER = "https://hub.openesc.example/org/uni-example";
const ESC = "eu.europa.ec.eudi.esc.1";
const OFFER_URI = `${ISSUER}/credential-offer/Gkur_Kxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM`;

/** Paints the SVG qrcode draws (one horizontal stroke per run of dark modules) onto RGBA pixels. */
function rasterise(svg: string, pixelsPerModule = 4): { data: Uint8ClampedArray; size: number } {
  const modules = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const path = /<path stroke="#000000" d="([^"]*)"/.exec(svg)?.[1];
  assert.ok(modules > 0 && path !== undefined, "an SVG with a viewBox and a dark path");
  const dark = Array.from({ length: modules }, () => new Array<boolean>(modules).fill(false));
  let x = 0;
  let y = 0;
  for (const [, command, a, b] of path.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (command === "M") [x, y] = [Number(a), Math.floor(Number(b))];
    else if (command === "m") x += Number(a);
    else {
      for (let i = 0; i < Number(a); i++) (dark[y] as boolean[])[x + i] = true;
      x += Number(a);
    }
  }
  const size = modules * pixelsPerModule;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      if (!dark[Math.floor(py / pixelsPerModule)]?.[Math.floor(px / pixelsPerModule)]) continue;
      data.fill(0, (py * size + px) * 4, (py * size + px) * 4 + 3);
    }
  }
  return { data, size };
}

describe("credentialOfferDocument", () => {
  it("makes a pre-authorized code offer by the 1.0 shape", () => {
    assert.deepEqual(
      credentialOfferDocument({ issuer: ISSUER, configurationIds: [ESC], preAuthorizedCode: "code-1" }),
      {
        credential_issuer: ISSUER,
        credential_configuration_ids: [ESC],
        grants: {
          "urn:ietf:params:oauth:grant-type:pre-authorized_code": { "pre-authorized_code": "code-1" },
        },
      },
    );
  });

  it("asks for a numeric transaction code of the given length when there is one", () => {
    const offer = credentialOfferDocument({
      issuer: ISSUER,
      configurationIds: [ESC],
      preAuthorizedCode: "code-1",
      txCode: { length: 6, description: "The code we sent to your university e-mail address" },
    });
    assert.deepEqual(offer.grants[PRE_AUTHORIZED_GRANT].tx_code, {
      input_mode: "numeric",
      length: 6,
      description: "The code we sent to your university e-mail address",
    });
    const bare = credentialOfferDocument({
      issuer: ISSUER,
      configurationIds: [ESC],
      preAuthorizedCode: "c",
      txCode: { length: 8 },
    });
    assert.deepEqual(bare.grants[PRE_AUTHORIZED_GRANT].tx_code, { input_mode: "numeric", length: 8 });
  });

  it("refuses misuse: no configuration, repeats, a description over 300 characters, odd lengths", () => {
    const base = { issuer: ISSUER, configurationIds: [ESC], preAuthorizedCode: "c" };
    assert.throws(() => credentialOfferDocument({ ...base, configurationIds: [] }), TypeError);
    assert.throws(() => credentialOfferDocument({ ...base, configurationIds: [ESC, ESC] }), TypeError);
    assert.throws(() => credentialOfferDocument({ ...base, issuer: "not a url" }), TypeError);
    assert.throws(
      () => credentialOfferDocument({ ...base, txCode: { length: 6, description: "x".repeat(301) } }),
      TypeError,
    );
    assert.throws(() => credentialOfferDocument({ ...base, txCode: { length: 2 } }), TypeError);
    assert.throws(() => credentialOfferDocument({ ...base, txCode: { length: 6.5 } }), TypeError);
  });
});

describe("offerDeepLink", () => {
  it("passes the offer by reference, percent-encoded, and the URI comes back out intact", () => {
    const link = offerDeepLink(`${OFFER_URI}?lang=fr&x=a b`);
    assert.ok(
      link.startsWith("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fhub.openesc.example%2F"),
    );
    assert.equal(new URL(link).searchParams.get("credential_offer_uri"), `${OFFER_URI}?lang=fr&x=a b`);
    assert.equal(new URL(link).searchParams.size, 1);
  });

  it("refuses something that is not an http(s) URL", () => {
    assert.throws(() => offerDeepLink("/relative"), TypeError);
    assert.throws(() => offerDeepLink("javascript:alert(1)"), TypeError);
  });
});

describe("offer QR codes", () => {
  const link = offerDeepLink(OFFER_URI);

  it("draw an SVG that a QR reader we did not write decodes to the link", async () => {
    const svg = await offerQrSvg(link);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const { data, size } = rasterise(svg);
    const decoded = jsQR(data, size, size);
    assert.equal(decoded?.data, link);
    // Error correction M and a 4-module quiet zone: the side is 4 * version + 17 + 2 * 4 modules.
    const modules = Number(/viewBox="0 0 (\d+) /.exec(svg)?.[1]);
    assert.equal(modules, 4 * (decoded?.version ?? 0) + 17 + 8);
    // 155 bytes at level M need version 9 in byte mode; mixed segments may fit 8; L would fit 7.
    assert.ok(link.length > 150 && [8, 9].includes(decoded?.version ?? 0), `version ${decoded?.version}`);
  });

  it("also come as a PNG data URL that decodes to the link", async () => {
    const url = await offerQrPngDataUrl(link);
    assert.ok(url.startsWith("data:image/png;base64,"));
    const png = PNG.sync.read(Buffer.from(url.slice("data:image/png;base64,".length), "base64"));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, link);
  });
});

describe("secrets", () => {
  it("pre-authorized codes and access tokens carry 256 bits as base64url, never twice the same", () => {
    for (const make of [newPreAuthorizedCode, newAccessToken]) {
      const values = new Set(Array.from({ length: 100 }, make));
      assert.equal(values.size, 100);
      for (const value of values) {
        assert.match(value, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(Buffer.from(value, "base64url").length, 32);
      }
    }
  });

  it("transaction codes are digits of the asked length, and every digit turns up in every place", () => {
    assert.match(newTxCode(), /^\d{6}$/);
    assert.match(newTxCode(4), /^\d{4}$/);
    assert.match(newTxCode(12), /^\d{12}$/);
    const codes = Array.from({ length: 2000 }, () => newTxCode(6));
    assert.ok(new Set(codes).size > 1990, "codes vary");
    for (let place = 0; place < 6; place++) {
      const counts = new Array<number>(10).fill(0);
      for (const code of codes) counts[Number(code[place])] = (counts[Number(code[place])] ?? 0) + 1;
      // 200 expected per digit; below 120 is more than 5 standard deviations away.
      assert.ok(Math.min(...counts) > 120, `place ${place}: ${counts.join(",")}`);
    }
    for (const bad of [3, 13, 6.5, Number.NaN]) assert.throws(() => newTxCode(bad), TypeError);
  });

  it("secretHash is SHA-256 base64url", () => {
    const expected = createHash("sha256").update("SplxlOBeZQQYbYS6WxSbIA").digest("base64url");
    assert.equal(secretHash("SplxlOBeZQQYbYS6WxSbIA"), expected);
    assert.notEqual(secretHash("a"), secretHash("b"));
  });

  it("sameSecret says equal only for equal strings, whatever their lengths", () => {
    const code = newPreAuthorizedCode();
    assert.equal(sameSecret(code, `${code}`), true);
    assert.equal(sameSecret(secretHash(code), secretHash(code)), true);
    assert.equal(sameSecret(code, newPreAuthorizedCode()), false);
    assert.equal(sameSecret(code, code.slice(0, -1)), false);
    assert.equal(sameSecret("", "x"), false);
    assert.equal(sameSecret("", ""), true);
  });
});
