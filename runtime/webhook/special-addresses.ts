import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * Address ranges a callback may not reach unless allow_networks lists them: everything the IANA special-purpose
 * registries (RFC 6890 and successors) do not mark global, plus the IPv6 ranges that embed an IPv4 address (NAT64,
 * 6to4, Teredo), since a gateway would forward those to whatever IPv4 address they carry.
 */

/** One kind of non-global address, with the ranges holding it. */
interface SpecialRange {
  /** What the address is, as a message shows it: "127.0.0.1 is a loopback address". */
  label: string;
  cidrs: readonly string[];
}

const IPV4_RANGES: readonly SpecialRange[] = [
  { label: "a broadcast address", cidrs: ["255.255.255.255/32"] },
  { label: "an unspecified ('this network') address", cidrs: ["0.0.0.0/8"] },
  { label: "a private address", cidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] },
  { label: "a carrier-grade NAT (shared) address", cidrs: ["100.64.0.0/10"] },
  { label: "a loopback address", cidrs: ["127.0.0.0/8"] },
  { label: "a link-local address (cloud metadata services live here)", cidrs: ["169.254.0.0/16"] },
  { label: "an IETF protocol-assignment address", cidrs: ["192.0.0.0/24"] },
  { label: "a documentation address", cidrs: ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] },
  { label: "a deprecated 6to4 relay address", cidrs: ["192.88.99.0/24"] },
  { label: "a benchmarking address", cidrs: ["198.18.0.0/15"] },
  { label: "a multicast address", cidrs: ["224.0.0.0/4"] },
  { label: "a reserved address", cidrs: ["240.0.0.0/4"] },
];

/** Checked in order: the specific ranges inside 2001::/23 come before the block itself. */
const IPV6_RANGES: readonly SpecialRange[] = [
  { label: "an unspecified address", cidrs: ["::/128"] },
  { label: "a loopback address", cidrs: ["::1/128"] },
  { label: "a NAT64 address (it embeds an IPv4 address)", cidrs: ["64:ff9b::/96", "64:ff9b:1::/48"] },
  { label: "a discard-only address", cidrs: ["100::/64"] },
  { label: "a Teredo address (it embeds an IPv4 address)", cidrs: ["2001::/32"] },
  { label: "a benchmarking address", cidrs: ["2001:2::/48"] },
  { label: "a documentation address", cidrs: ["2001:db8::/32", "3fff::/20"] },
  { label: "an IETF protocol-assignment address", cidrs: ["2001::/23"] },
  { label: "a 6to4 address (it embeds an IPv4 address)", cidrs: ["2002::/16"] },
  { label: "a unique local (private) address", cidrs: ["fc00::/7"] },
  { label: "a link-local address", cidrs: ["fe80::/10"] },
  { label: "a site-local address", cidrs: ["fec0::/10"] },
  { label: "a multicast address", cidrs: ["ff00::/8"] },
];

/** IPv6 global unicast (RFC 4291): every IPv6 address outside it is reserved or special. */
const IPV6_GLOBAL_UNICAST = "2000::/3";

interface CompiledRange {
  label: string;
  list: BlockList;
}

// BlockList matches IPv4 addresses against IPv4-mapped IPv6 subnets (and the reverse), so each family keeps its
// own lists and an address is only ever checked against the lists of its own family.
const compiledIpv4 = IPV4_RANGES.map((range) => compile(range, "ipv4"));
const compiledIpv6 = IPV6_RANGES.map((range) => compile(range, "ipv6"));
const ipv6GlobalUnicast = compile({ label: "", cidrs: [IPV6_GLOBAL_UNICAST] }, "ipv6").list;

/** An address in the form it is judged in: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes plain IPv4. */
export interface CanonicalAddress {
  address: string;
  family: "ipv4" | "ipv6";
}

/**
 * Canonicalises an IP address: zone index dropped, IPv6 in its RFC 5952 form, IPv4-mapped IPv6 turned into the IPv4
 * address it stands for (a socket to `::ffff:127.0.0.1` reaches 127.0.0.1). Undefined when `text` is no IP address.
 */
export function canonicalAddress(text: string): CanonicalAddress | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv4(bare)) return { address: bare, family: "ipv4" };
  const withoutZone = bare.split("%")[0] ?? "";
  if (!isIPv6(withoutZone)) return undefined;
  // The WHATWG URL serialiser writes IPv6 in RFC 5952 form, so a mapped address always reads ::ffff:HHHH:HHHH.
  const compressed = new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return { address: `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`, family: "ipv4" };
  }
  return { address: compressed, family: "ipv6" };
}

/** What kind of non-global address `address` is ("a loopback address"), or undefined when it is global. */
export function specialAddressLabel(address: CanonicalAddress): string | undefined {
  const ranges = address.family === "ipv4" ? compiledIpv4 : compiledIpv6;
  const match = ranges.find((range) => range.list.check(address.address, address.family));
  if (match) return match.label;
  if (address.family === "ipv6" && !ipv6GlobalUnicast.check(address.address, "ipv6")) {
    return "a reserved address (outside IPv6 global unicast 2000::/3)";
  }
  return undefined;
}

function compile(range: SpecialRange, family: "ipv4" | "ipv6"): CompiledRange {
  const list = new BlockList();
  for (const cidr of range.cidrs) {
    const [network = "", prefix = ""] = cidr.split("/");
    list.addSubnet(network, Number(prefix), family);
  }
  return { label: range.label, list };
}
