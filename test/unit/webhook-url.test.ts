import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidValueError } from "../../src/domain/errors.ts";
import { parseWebhookUrl, WEBHOOK_URL_MAX_LENGTH } from "../../src/domain/webhook-url.ts";

const strict = { allowPrivateAddresses: false };
const lenient = { allowPrivateAddresses: true };

function assertRefused(text: unknown, reason: RegExp, policy = strict): void {
  assert.throws(
    () => parseWebhookUrl(text, policy),
    (error: unknown) => {
      assert.ok(error instanceof InvalidValueError, `expected InvalidValueError, got ${String(error)}`);
      assert.equal(error.code, "WEBHOOK_URL_INVALID");
      assert.equal(error.kind, "invalid");
      assert.equal(error.field, "url");
      assert.match(error.issues[0]?.reason ?? "", reason);
      assert.ok(error.message.startsWith("url: "), error.message);
      return true;
    },
    `${JSON.stringify(text)} should be refused with ${reason}`,
  );
}

describe("parseWebhookUrl", () => {
  const accepted: [string, string][] = [
    ["https://hooks.example.org/esc", "https://hooks.example.org/esc"],
    ["http://hooks.example.org:8080/a?b=c", "http://hooks.example.org:8080/a?b=c"],
    ["HTTPS://Hooks.Example.ORG", "https://hooks.example.org/"],
    ["https://hooks.example.org:443/x", "https://hooks.example.org/x"],
    ["https://8.8.8.8/hook", "https://8.8.8.8/hook"],
    ["https://[2001:4860:4860::8888]/hook", "https://[2001:4860:4860::8888]/hook"],
    ["https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"],
    ["https://bücher.example/", "https://xn--bcher-kva.example/"],
    ["https://hooks.example.org/a b".replace(" ", "%20"), "https://hooks.example.org/a%20b"],
    // A name that merely contains "localhost" is not one.
    ["https://localhost.example.org/", "https://localhost.example.org/"],
  ];
  for (const [text, normalised] of accepted) {
    it(`accepts ${text}`, () => assert.equal(parseWebhookUrl(text, strict), normalised));
  }

  const refused: [unknown, RegExp][] = [
    [undefined, /must be a string, got undefined/],
    [42, /must be a string, got number/],
    [null, /must be a string, got null/],
    ["", /must not be empty/],
    [`https://hooks.example.org/${"a".repeat(WEBHOOK_URL_MAX_LENGTH)}`, /at most 2048 characters, got 2074/],
    [`https://hooks.example.org/${"é".repeat(700)}`, /at most 2048 characters once normalised/],
    [" https://hooks.example.org/", /whitespace or control characters/],
    ["https://hooks.example.org/a b", /whitespace or control characters/],
    ["https://hooks.example.org/\n", /whitespace or control characters/],
    ["https://hooks.exa\tmple.org/", /whitespace or control characters/],
    ["/relative/path", /absolute URL starting with http:\/\/ or https:\/\//],
    ["hooks.example.org/esc", /absolute URL/],
    ["ftp://hooks.example.org/", /absolute URL/],
    ["file:///etc/passwd", /absolute URL/],
    ["javascript:alert(1)", /absolute URL/],
    ["http:hooks.example.org", /absolute URL/],
    ["http:\\\\hooks.example.org\\", /absolute URL/],
    ["https://", /not a valid URL/],
    ["https://1.2.3.999/", /not a valid URL/],
    ["https://exa mple.org/", /whitespace/],
    ["https://[::1/", /not a valid URL/],
    ["https://user:secret@hooks.example.org/", /user name or password/],
    ["https://user@hooks.example.org/", /user name or password/],
    ["https://:secret@hooks.example.org/", /user name or password/],
    ["https://hooks.example.org/esc#part", /fragment/],
    ["https://hooks.example.org/esc#", /fragment/],
    ["http://localhost/", /loopback host name \(localhost\)/],
    ["http://LOCALHOST:3000/", /loopback host name/],
    ["http://localhost./", /loopback host name \(localhost\.\)/],
    ["http://hooks.localhost/", /loopback host name/],
    ["http://127.0.0.1/", /loopback address \(127\.0\.0\.1\)/],
    ["http://127.1/", /loopback address \(127\.0\.0\.1\)/],
    ["http://2130706433/", /loopback address \(127\.0\.0\.1\)/],
    ["http://0x7f.1/", /loopback address \(127\.0\.0\.1\)/],
    ["http://0177.0.0.1/", /loopback address \(127\.0\.0\.1\)/],
    ["http://%31%32%37.0.0.1/", /loopback address \(127\.0\.0\.1\)/],
    ["http://[::1]/", /loopback address \(::1\)/],
    ["http://[::ffff:127.0.0.1]/", /loopback address \(::ffff:7f00:1\)/],
    ["http://[0:0:0:0:0:ffff:7f00:1]/", /loopback address/],
    ["http://10.0.0.8/", /private address \(10\.0\.0\.8\)/],
    ["http://192.168.0.1:8080/", /private address/],
    ["http://172.20.1.1/", /private address/],
    ["http://100.64.1.1/", /private address/],
    ["http://169.254.1.2/", /link-local address/],
    ["http://[fe80::1]/", /link-local address/],
    ["http://[fd00::1]/", /unique-local address/],
    ["http://224.0.0.251/", /multicast address/],
    ["http://[ff02::1]/", /multicast address/],
    ["http://0.0.0.0/", /unspecified address/],
    ["http://0/", /unspecified address \(0\.0\.0\.0\)/],
    ["http://[::]/", /unspecified address/],
    ["http://169.254.169.254/latest/meta-data/", /cloud metadata address/],
    ["http://[fd00:ec2::254]/", /cloud metadata address/],
    ["http://[::ffff:8.8.8.8]/", /reserved or special-purpose address/],
    ["http://192.0.2.10/", /reserved or special-purpose address/],
    ["http://255.255.255.255/", /reserved/],
  ];
  for (const [text, reason] of refused) {
    it(`refuses ${String(JSON.stringify(text)).slice(0, 60)}`, () => assertRefused(text, reason));
  }

  it("with private addresses allowed, accepts loopback, private and link-local hosts", () => {
    assert.equal(parseWebhookUrl("http://localhost:3000/hook", lenient), "http://localhost:3000/hook");
    assert.equal(parseWebhookUrl("http://2130706433/", lenient), "http://127.0.0.1/");
    assert.equal(parseWebhookUrl("http://[::1]:8080/", lenient), "http://[::1]:8080/");
    assert.equal(parseWebhookUrl("http://10.0.0.8/", lenient), "http://10.0.0.8/");
    assert.equal(parseWebhookUrl("http://[fe80::1]/", lenient), "http://[fe80::1]/");
  });

  it("with private addresses allowed, still refuses metadata addresses and the other rules", () => {
    assertRefused("http://169.254.169.254/", /cloud metadata address/, lenient);
    assertRefused("http://[::ffff:a9fe:a9fe]/", /cloud metadata address/, lenient);
    assertRefused("http://user:pw@localhost/", /user name or password/, lenient);
    assertRefused("ftp://localhost/", /absolute URL/, lenient);
  });

  it("names another field when asked", () => {
    assert.throws(
      () => parseWebhookUrl("ftp://x", strict, "/url"),
      (error: unknown) => error instanceof InvalidValueError && error.field === "/url",
    );
  });
});
