/**
 * What kind of IP address a webhook would reach, and whether the hub may call it. One rule, used twice:
 * when a subscription URL names an IP literal (`parseWebhookUrl`) and, at connect time, for every address a
 * host name resolves to (`GuardedOutboundHttp`), so the two can never disagree.
 *
 * Only global unicast addresses are "public". Everything ipaddr.js knows as special-purpose (documentation,
 * benchmarking, 6to4, Teredo, NAT64, broadcast…) is "reserved" and refused like a private address: a
 * webhook subscriber has no business there, and a range ipaddr.js learns about later is refused by default.
 */
import ipaddr from "ipaddr.js";

export type IpAddressClass =
  | "public"
  | "private" // RFC 1918 and carrier-grade NAT (100.64.0.0/10)
  | "loopback"
  | "link-local"
  | "unique-local" // fc00::/7
  | "multicast"
  | "unspecified" // 0.0.0.0/8, ::
  | "metadata" // cloud instance metadata services: credentials live there
  | "reserved";

/**
 * Instance metadata endpoints (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS ECS: 169.254.170.2; AWS
 * IPv6: fd00:ec2::254; Alibaba: 100.100.100.200; Oracle: 192.0.0.192). Refused even when the operator allows
 * private addresses: a subscriber must never make the hub fetch its own cloud credentials.
 */
const METADATA_ADDRESSES = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192"]);
const METADATA_ADDRESSES_V6 = [ipaddr.IPv6.parse("fd00:ec2::254")];

const V4_CLASSES: Readonly<Record<string, IpAddressClass>> = {
  unicast: "public",
  private: "private",
  carrierGradeNat: "private",
  loopback: "loopback",
  linkLocal: "link-local",
  multicast: "multicast",
  unspecified: "unspecified",
};

const V6_CLASSES: Readonly<Record<string, IpAddressClass>> = {
  unicast: "public",
  loopback: "loopback",
  linkLocal: "link-local",
  uniqueLocal: "unique-local",
  multicast: "multicast",
  unspecified: "unspecified",
};

const DESCRIPTIONS: Readonly<Record<IpAddressClass, string>> = {
  public: "a public address",
  private: "a private address",
  loopback: "a loopback address",
  "link-local": "a link-local address",
  "unique-local": "a unique-local address",
  multicast: "a multicast address",
  unspecified: "an unspecified address",
  metadata: "a cloud metadata address",
  reserved: "a reserved or special-purpose address",
};

/** Whether `text` is an IPv4 address in dotted-quad form or an IPv6 address (no brackets). */
export function isIpAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

/**
 * The class of an IP address, IPv4 (dotted quad) or IPv6. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`)
 * reaches the IPv4 host, so it has that host's class; a mapped public address is "reserved" (nothing
 * legitimate writes a public IPv4 address that way, and the connect-time filter refuses it too).
 *
 * @throws TypeError when `address` is not an IP address (check with {@link isIpAddress} first).
 */
export function classifyIpAddress(address: string): IpAddressClass {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return classifyV4(ipaddr.IPv4.parse(address));
  if (ipaddr.IPv6.isValid(address)) {
    const v6 = ipaddr.IPv6.parse(address);
    if (v6.isIPv4MappedAddress()) {
      const embedded = classifyV4(v6.toIPv4Address());
      return embedded === "public" ? "reserved" : embedded;
    }
    if (METADATA_ADDRESSES_V6.some((metadata) => v6.match(metadata, 128))) return "metadata";
    return V6_CLASSES[v6.range()] ?? "reserved";
  }
  throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
}

function classifyV4(v4: ipaddr.IPv4): IpAddressClass {
  if (METADATA_ADDRESSES.has(v4.toString())) return "metadata";
  return V4_CLASSES[v4.range()] ?? "reserved";
}

/** Whether the operator lets webhooks reach non-public addresses (`OPENESC_ALLOW_PRIVATE_WEBHOOKS`). */
export interface AddressPolicy {
  readonly allowPrivateAddresses: boolean;
}

/**
 * Why the hub will not call `address`: its class, or null when it may. Public addresses are always
 * allowed, metadata addresses never; everything else only with `allowPrivateAddresses`.
 */
export function addressRefusal(address: string, policy: AddressPolicy): IpAddressClass | null {
  const addressClass = classifyIpAddress(address);
  if (addressClass === "public") return null;
  if (addressClass === "metadata") return addressClass;
  return policy.allowPrivateAddresses ? null : addressClass;
}

/** "a loopback address", for messages. */
export function describeAddressClass(addressClass: IpAddressClass): string {
  return DESCRIPTIONS[addressClass];
}
