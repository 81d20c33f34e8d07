import { isIP } from "node:net";

/** A parsed CIDR range such as `10.0.0.0/8` or `::1/128`. */
export interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** Parses `ADDRESS/PREFIX` (a bare address means a single host). Returns a problem message when invalid. */
export function parseCidr(text: string): { cidr: Cidr } | { problem: string } {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) {
    return { problem: `"${text}" is not an IP range; write it like 10.0.0.0/8, 127.0.0.1 or ::1/128` };
  }
  const family = version === 4 ? "ipv4" : "ipv6";
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    return { problem: `"${text}" has prefix length ${prefixText}; an ${family} prefix is a whole number from 0 to ${max}` };
  }
  return { cidr: { address, prefix, family } };
}
