import assert from "node:assert/strict";
import { describe, it } from "node:test";
import ipaddr from "ipaddr.js";
import {
  addressRefusal,
  classifyIpAddress,
  type IpAddressClass,
  isIpAddress,
} from "../../src/domain/ip-address-class.ts";

const TABLE: [string, IpAddressClass][] = [
  ["8.8.8.8", "public"],
  ["193.0.6.139", "public"],
  ["2001:4860:4860::8888", "public"],
  ["2a00:1450:4001:82a::200e", "public"],
  ["10.1.2.3", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["100.64.0.1", "private"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["::1", "loopback"],
  ["169.254.1.1", "link-local"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local"],
  ["fc00::1", "unique-local"],
  ["fd12:3456:789a::1", "unique-local"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["ff02::1", "multicast"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["::", "unspecified"],
  ["169.254.169.254", "metadata"],
  ["169.254.170.2", "metadata"],
  ["100.100.100.200", "metadata"],
  ["192.0.0.192", "metadata"],
  ["fd00:ec2::254", "metadata"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:10.0.0.1", "private"],
  ["::ffff:169.254.169.254", "metadata"],
  ["::ffff:8.8.8.8", "reserved"],
  ["255.255.255.255", "reserved"],
  ["192.0.2.1", "reserved"],
  ["198.51.100.7", "reserved"],
  ["240.0.0.1", "reserved"],
  ["2001:db8::1", "reserved"],
  ["64:ff9b::7f00:1", "reserved"],
  ["2002:7f00:1::1", "reserved"],
  ["fec0::1", "reserved"],
];

describe("classifyIpAddress", () => {
  for (const [address, expected] of TABLE) {
    it(`${address} is ${expected}`, () => assert.equal(classifyIpAddress(address), expected));
  }

  it("calls public only what ipaddr.js calls global unicast, as request-filtering-agent's filter does", () => {
    for (const [address] of TABLE) {
      if (classifyIpAddress(address) === "public") assert.equal(ipaddr.parse(address).range(), "unicast");
    }
  });

  it("throws a TypeError for what is not an IP address, non-canonical IPv4 forms included", () => {
    for (const text of [
      "localhost",
      "example.org",
      "",
      "2130706433",
      "0x7f.1",
      "127.1",
      "[::1]",
      "1.2.3.256",
    ]) {
      assert.equal(isIpAddress(text), false, text);
      assert.throws(() => classifyIpAddress(text), TypeError, text);
    }
  });
});

describe("addressRefusal", () => {
  const strict = { allowPrivateAddresses: false };
  const lenient = { allowPrivateAddresses: true };

  it("allows public addresses and refuses every other class", () => {
    for (const [address, expected] of TABLE) {
      assert.equal(addressRefusal(address, strict), expected === "public" ? null : expected, address);
    }
  });

  it("with private addresses allowed, still refuses cloud metadata addresses", () => {
    for (const [address, expected] of TABLE) {
      assert.equal(addressRefusal(address, lenient), expected === "metadata" ? "metadata" : null, address);
    }
  });
});
