import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isNatsSubjectPrefix,
  natsConsumerName,
  natsSubjectFor,
  natsSubjectToken,
} from "../../src/adapters/bus/nats/nats-subject.ts";
import type { DomainEvent } from "../../src/domain/events.ts";

const PREFIX = "openesc.events";

function event(type: DomainEvent["type"], data: DomainEvent["data"]): Pick<DomainEvent, "type" | "data"> {
  return { type, data };
}

/** What NATS forbids inside a token: the separator, the wildcards, whitespace, control characters. */
function assertSafeToken(token: string): void {
  assert.ok(token.length > 0, "a token is never empty");
  assert.match(token, /^[\x21-\x7e]+$/, `printable ASCII only: ${JSON.stringify(token)}`);
  assert.doesNotMatch(token, /[.*>]/, `no separator or wildcard: ${token}`);
}

describe("natsSubjectFor", () => {
  it("puts a card event under its family and its issuer's PIC", () => {
    assert.equal(
      natsSubjectFor(PREFIX, event("card.created", { issuer: "999859608" })),
      "openesc.events.card.999859608",
    );
  });

  it("uses the organisation for person, status and organisation events", () => {
    const data = { organisation: "999859608" };
    assert.equal(natsSubjectFor(PREFIX, event("person.linked", data)), "openesc.events.person.999859608");
    assert.equal(
      natsSubjectFor(PREFIX, event("student-status.changed", data)),
      "openesc.events.student-status.999859608",
    );
    assert.equal(
      natsSubjectFor(PREFIX, event("organisation.updated", data)),
      "openesc.events.organisation.999859608",
    );
  });

  it("writes _ for an event about no organisation (consent)", () => {
    assert.equal(
      natsSubjectFor(PREFIX, event("consent.given", { purpose: "x" })),
      "openesc.events.consent._",
    );
  });

  it("always has exactly prefix + two tokens, whatever the issuer holds", () => {
    for (const issuer of [
      "a.b",
      "*",
      ">",
      "a b",
      "tab\there",
      "new\nline",
      "nul\u0000",
      "é",
      "👩‍🎓",
      "%",
      "",
    ]) {
      const subject = natsSubjectFor(PREFIX, event("card.updated", { issuer }));
      const tokens = subject.split(".");
      assert.equal(tokens.length, 4, subject);
      for (const token of tokens.slice(2)) assertSafeToken(token);
    }
  });
});

describe("natsSubjectToken", () => {
  it("keeps letters, digits, _, : and - as they are", () => {
    assert.equal(natsSubjectToken("Univ_Paris-1:fr"), "Univ_Paris-1:fr");
  });

  it("writes every other character as %XX of its UTF-8 bytes", () => {
    assert.equal(natsSubjectToken("fr.univ"), "fr%2Euniv");
    assert.equal(natsSubjectToken("a*b>c"), "a%2Ab%3Ec");
    assert.equal(natsSubjectToken("a b\t"), "a%20b%09");
    assert.equal(natsSubjectToken("é"), "%C3%A9");
    assert.equal(natsSubjectToken("100%"), "100%25");
  });

  it("never gives two values the same token", () => {
    const values = ["a.b", "a%2Eb", "a_b", "a b", "_", "%5F", "a", "A"];
    const tokens = values.map(natsSubjectToken);
    assert.equal(new Set(tokens).size, values.length, JSON.stringify(tokens));
    assert.notEqual(natsSubjectToken("_"), natsSubjectToken(null), "an issuer named _ is not 'no issuer'");
  });

  it("null and empty are _", () => {
    assert.equal(natsSubjectToken(null), "_");
    assert.equal(natsSubjectToken(""), "_");
  });

  it("shortens a very long value to 117 characters, keeping different values apart", () => {
    const long = "x".repeat(500);
    const token = natsSubjectToken(long);
    assert.equal(token.length, 117);
    assert.ok(token.startsWith("x".repeat(100)));
    assertSafeToken(token);
    assert.notEqual(natsSubjectToken(`${long}y`), token);
    assert.equal(natsSubjectToken(long), token, "stable");
  });
});

describe("natsConsumerName", () => {
  it("keeps a plain group name", () => {
    assert.equal(natsConsumerName("webhooks"), "webhooks");
    assert.equal(natsConsumerName("webhook-fan_out"), "webhook-fan_out");
  });

  it("replaces what a durable name may not hold, and keeps groups apart with a hash", () => {
    const dotted = natsConsumerName("webhooks.fan out");
    assert.match(dotted, /^webhooks_fan_out-[0-9a-f]{12}$/);
    assert.notEqual(natsConsumerName("a.b"), natsConsumerName("a_b"));
    assert.notEqual(natsConsumerName("a.b"), natsConsumerName("a*b"));
  });

  it("stays at most 64 characters", () => {
    assert.ok(natsConsumerName("g".repeat(300)).length <= 64);
  });

  it("refuses an empty group (our mistake, a TypeError)", () => {
    assert.throws(() => natsConsumerName(""), TypeError);
  });
});

describe("isNatsSubjectPrefix", () => {
  it("accepts dot-separated tokens and refuses wildcards, spaces and empty tokens", () => {
    assert.equal(isNatsSubjectPrefix("openesc.events"), true);
    assert.equal(isNatsSubjectPrefix("openesc"), true);
    for (const bad of ["", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a.b\n"]) {
      assert.equal(isNatsSubjectPrefix(bad), false, JSON.stringify(bad));
    }
  });
});
