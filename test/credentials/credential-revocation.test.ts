/**
 * A credential stops being valid when what it stands for goes: the holder is erased, withdraws consent to
 * credential issuance, or stops being a student. Read as a verifier reads it: the entry in the status list
 * the hub serves, signature checked, and the hub's own verification endpoint.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CREDENTIAL_HUB_ENV,
  enrolledStudent,
  issuedCredential,
  onlineVerdict,
  type Student,
  servedStatus,
} from "../support/credential-scenario.ts";
import { eventually } from "../support/eventually.ts";
import { UNIVERSITY } from "../support/fixtures.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

const esiOf = (name: string) => `urn:schac:personalUniqueCode:int:esi:fr:REVOKE-${name}`;

describe("credential revocation", () => {
  let hub: TestHub;
  let uni: string;
  /** A student whose credential nothing happens to: it must stay valid through the others' revocations. */
  let bystander: { credential: string; holderKey: Parameters<typeof onlineVerdict>[2] };

  /** A fresh student of the university and a credential of their card, valid to begin with. */
  const studentWithCredential = async (name: string) => {
    const student = await enrolledStudent(hub, { token: uni, esi: esiOf(name) });
    const issued = await issuedCredential(hub, student);
    assert.equal(await servedStatus(hub, issued.credential), 0);
    assert.equal(await onlineVerdict(hub, issued.credential, issued.holderKey), "valid");
    return { student, ...issued };
  };
  const revoked = async (credential: string, holderKey: Parameters<typeof onlineVerdict>[2]) => {
    assert.equal(await servedStatus(hub, credential), 1, "the entry says invalid");
    assert.equal(await onlineVerdict(hub, credential, holderKey), "revoked");
  };

  before(async () => {
    hub = await startTestHub({ delivery: true, env: { ...CREDENTIAL_HUB_ENV } });
    const first: Student = await enrolledStudent(hub, { esi: esiOf("BYSTANDER") });
    uni = first.token;
    bystander = await issuedCredential(hub, first);
  });
  after(() => hub.close());

  it("revokes the credentials of an erased person as the erasure answers", async () => {
    const { student, credential, holderKey } = await studentWithCredential("ERASED");
    const erased = await hub.request({
      method: "POST",
      url: `/v1/persons/${encodeURIComponent(student.esi)}/erasure`,
      token: uni,
    });
    assert.equal(erased.statusCode, 200, erased.body);
    assert.equal(erased.json<{ personDeleted: boolean }>().personDeleted, true);
    // No waiting: the list was signed again before the erasure answered.
    await revoked(credential, holderKey);
    assert.equal(await servedStatus(hub, bystander.credential), 0, "nobody else's credential moved");
  });

  it("revokes the credentials of a holder who withdraws consent to credential issuance", async () => {
    const { student, credential, holderKey } = await studentWithCredential("WITHDRAWN");
    const withdrawn = await hub.request({
      method: "DELETE",
      url: `/v1/persons/${encodeURIComponent(student.esi)}/consents/credential-issuance`,
      token: uni,
    });
    assert.equal(withdrawn.statusCode, 200, withdrawn.body);
    await eventually(() => revoked(credential, holderKey), 5000);
    assert.equal(await onlineVerdict(hub, bystander.credential, bystander.holderKey), "valid");
  });

  it("revokes the credentials of a student whose status ended", async () => {
    const { student, credential, holderKey } = await studentWithCredential("GRADUATED");
    const ended = await hub.request({
      method: "PUT",
      url: `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(student.esi)}`,
      token: uni,
      payload: { state: "ended", validFrom: "2026-09-01", validUntil: "2030-08-31" },
    });
    assert.equal(ended.statusCode, 200, ended.body);
    await eventually(() => revoked(credential, holderKey), 5000);
    assert.equal(await servedStatus(hub, bystander.credential), 0);
  });
});
