import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { CompactSign, compactVerify } from "jose";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  verifyX5cChain,
  X5cChainError,
  x5cChain,
} from "../../src/credentials/issuer-certificates.ts";
import { generateIssuerKey } from "../../src/credentials/sealed-key.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const subject = { organisationId: "org-7f3a", name: "Universität Beispiel, Fakultät 1", country: "DE" };

async function refusedWith(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof X5cChainError, `expected X5cChainError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    return true;
  });
}

describe("deployment CA and issuer certificates", async () => {
  const ca = await createDeploymentCa({
    name: "CN=OpenESC deployment CA,O=OpenESC test",
    validityDays: 3650,
  });
  const issuer = await generateIssuerKey("ES256");
  const leaf = await issueIssuerCertificate({ ca, subject, publicKey: issuer.publicKey, validityDays: 365 });
  const x5c = x5cChain(leaf, ca.certificate);

  it("parse with node's own X509Certificate, CA signing leaf", () => {
    const caCert = new X509Certificate(ca.certificate.pem);
    const leafCert = new X509Certificate(Buffer.from(leaf.der));
    assert.equal(caCert.ca, true);
    assert.equal(leafCert.ca, false);
    assert.equal(caCert.subject, caCert.issuer);
    assert.equal(leafCert.issuer, caCert.subject);
    assert.ok(leafCert.subject.split("\n").includes("CN=Universität Beispiel\\, Fakultät 1"));
    assert.ok(leafCert.subject.split("\n").includes("organizationIdentifier=org-7f3a"));
    assert.match(leafCert.subject, /C=DE/);
    assert.ok(leafCert.checkIssued(caCert));
    assert.ok(leafCert.verify(caCert.publicKey));
    assert.ok(caCert.verify(caCert.publicKey));
    assert.ok(!leafCert.checkIssued(leafCert));
    assert.equal(leafCert.publicKey.export({ format: "jwk" }).x, issuer.publicJwk.x);
  });

  it("gives random serial numbers", async () => {
    const again = await issueIssuerCertificate({
      ca,
      subject,
      publicKey: issuer.publicJwk,
      validityDays: 365,
    });
    assert.notEqual(
      new X509Certificate(Buffer.from(again.der)).serialNumber,
      new X509Certificate(leaf.pem).serialNumber,
    );
  });

  it("x5c is standard base64 DER, leaf first", () => {
    assert.equal(x5c.length, 2);
    assert.deepEqual(Buffer.from(x5c[0]!, "base64"), Buffer.from(leaf.der));
    assert.deepEqual(Buffer.from(x5c[1]!, "base64"), Buffer.from(ca.certificate.der));
  });

  it("a JWS signed by the issuer key verifies with the key the chain yields", async () => {
    const jws = await new CompactSign(new TextEncoder().encode('{"iss":"x"}'))
      .setProtectedHeader({ alg: "ES256", kid: issuer.keyId, x5c })
      .sign(issuer.privateKey);
    const { protectedHeader, payload } = await compactVerify(jws, async (header) =>
      verifyX5cChain(header.x5c, [ca.certificate.der], new Date()),
    );
    assert.equal(protectedHeader.kid, issuer.keyId);
    assert.equal(new TextDecoder().decode(payload), '{"iss":"x"}');
  });

  it("accepts an EdDSA issuer key under the P-256 CA", async () => {
    const ed = await generateIssuerKey("EdDSA");
    const edLeaf = await issueIssuerCertificate({ ca, subject, publicKey: ed.publicKey, validityDays: 30 });
    const chain = x5cChain(edLeaf, ca.certificate);
    const jws = await new CompactSign(new TextEncoder().encode("hi"))
      .setProtectedHeader({ alg: "EdDSA", x5c: chain })
      .sign(ed.privateKey);
    await compactVerify(jws, async (header) => verifyX5cChain(header.x5c, [ca.certificate.der], new Date()));
  });

  it("accepts a chain of the leaf alone when its CA is trusted", async () => {
    await verifyX5cChain([x5c[0]], [ca.certificate.der], new Date());
  });

  it("refuses an unrelated CA as untrusted", async () => {
    const other = await createDeploymentCa({ name: "CN=Someone else", validityDays: 30 });
    await refusedWith(verifyX5cChain(x5c, [other.certificate.der], new Date()), "untrusted");
    await refusedWith(verifyX5cChain([x5c[0]], [], new Date()), "untrusted");
  });

  it("refuses a CA of the same name but another key", async () => {
    const impostor = await createDeploymentCa({
      name: "CN=OpenESC deployment CA,O=OpenESC test",
      validityDays: 30,
    });
    const forged = await issueIssuerCertificate({
      ca: impostor,
      subject,
      publicKey: issuer.publicKey,
      validityDays: 30,
    });
    await refusedWith(
      verifyX5cChain([x5cChain(forged, impostor.certificate)[0]], [ca.certificate.der], new Date()),
      "bad-signature",
    );
    await refusedWith(
      verifyX5cChain(x5cChain(forged, ca.certificate), [ca.certificate.der], new Date()),
      "bad-signature",
    );
  });

  it("refuses an expired leaf and a leaf not yet valid", async () => {
    const old = await issueIssuerCertificate({
      ca,
      subject,
      publicKey: issuer.publicKey,
      validityDays: 1,
      notBefore: new Date(Date.now() - 10 * DAY_MS),
    });
    await refusedWith(
      verifyX5cChain(x5cChain(old, ca.certificate), [ca.certificate.der], new Date()),
      "expired",
    );
    await refusedWith(
      verifyX5cChain(x5c, [ca.certificate.der], new Date(Date.now() - DAY_MS)),
      "not-yet-valid",
    );
    await refusedWith(
      verifyX5cChain(x5c, [ca.certificate.der], new Date(Date.now() + 400 * DAY_MS)),
      "expired",
    );
  });

  it("refuses a leaf used as a CA", async () => {
    // Signed with the leaf's own key, so only the CA flag can stop it.
    const webLeafKey = await toCryptoKey(issuer);
    const grandchild = await issueIssuerCertificate({
      ca: { certificate: leaf, privateKey: webLeafKey },
      subject: { organisationId: "org-evil", name: "Evil" },
      publicKey: issuer.publicKey,
      validityDays: 30,
    });
    const chain = [x5cChain(grandchild, leaf)[0]!, ...x5c];
    await refusedWith(verifyX5cChain(chain, [ca.certificate.der], new Date()), "not-a-ca");
    // And the leaf itself, trusted as if it were a CA, does not make its children valid.
    await refusedWith(verifyX5cChain(x5cChain(grandchild, leaf), [leaf.der], new Date()), "not-a-ca");
  });

  it("refuses malformed x5c values", async () => {
    for (const bad of [
      undefined,
      "abc",
      [],
      [42],
      ["not base64!"],
      ["AAAA"],
      [x5c[0]!.replace(/\+|\//g, "_")],
    ]) {
      await refusedWith(verifyX5cChain(bad, [ca.certificate.der], new Date()), "malformed");
    }
  });
});

async function toCryptoKey(issuer: Awaited<ReturnType<typeof generateIssuerKey>>) {
  const { webcrypto } = await import("node:crypto");
  return webcrypto.subtle.importKey(
    "jwk",
    issuer.privateKey.export({ format: "jwk" }),
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign"],
  );
}
