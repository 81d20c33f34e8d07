import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../runtime/errors.js";
import { CallbackAddressRefusedError, NetworkGuard, type HostResolver } from "../../runtime/webhook/network-guard.js";
import { canonicalAddress } from "../../runtime/webhook/special-addresses.js";

const guard = new NetworkGuard({ apiName: "sum" });

describe("canonicalAddress", () => {
  it("turns IPv4-mapped IPv6 into the IPv4 address it stands for, in any spelling", () => {
    for (const form of ["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:127.0.0.1", "[::FFFF:7F00:1]"]) {
      expect(canonicalAddress(form)).toEqual({ address: "127.0.0.1", family: "ipv4" });
    }
  });

  it("compresses IPv6 and drops a zone index", () => {
    expect(canonicalAddress("FE80:0:0:0:0:0:0:1%eth0")).toEqual({ address: "fe80::1", family: "ipv6" });
  });

  it("is undefined for names", () => {
    expect(canonicalAddress("localhost")).toBeUndefined();
  });
});

describe("NetworkGuard.check", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.254", "carrier-grade NAT"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["192.0.0.8", "IETF protocol-assignment"],
    ["192.0.2.10", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.1.2.3", "private"],
    ["::ffff:169.254.169.254", "link-local"],
    ["64:ff9b::7f00:1", "NAT64"],
    ["64:ff9b::808:808", "NAT64"],
    ["64:ff9b:1::a00:1", "NAT64"],
    ["2002:7f00:1::1", "6to4"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", "documentation"],
    ["2001:2::1", "benchmarking"],
    ["fc00::1", "unique local"],
    ["fd12:3456:789a::1", "unique local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fec0::1", "site-local"],
    ["ff02::1", "multicast"],
    ["::127.0.0.1", "reserved"],
    ["100::1", "discard-only"],
    ["5f00::1", "reserved"],
  ])("refuses %s (%s)", (address, kind) => {
    const refused = guard.check(address);
    expect(refused?.label).toContain(kind);
  });

  it.each(["1.1.1.1", "8.8.8.8", "93.184.215.14", "100.63.255.255", "100.128.0.0", "172.32.0.1", "192.0.3.1", "::ffff:8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e"])(
    "lets global %s through",
    (address) => {
      expect(guard.check(address)).toBeUndefined();
    },
  );

  it("lets through what allow_networks lists, and only that", () => {
    const loopback = new NetworkGuard({ allowNetworks: ["127.0.0.0/8", "::1/128", "10.1.0.0/16"] });
    expect(loopback.check("127.0.0.1")).toBeUndefined();
    expect(loopback.check("::ffff:127.0.0.1")).toBeUndefined();
    expect(loopback.check("::1")).toBeUndefined();
    expect(loopback.check("10.1.200.3")).toBeUndefined();
    expect(loopback.check("10.2.0.1")?.label).toContain("private");
    expect(loopback.check("169.254.169.254")?.label).toContain("link-local");
    expect(loopback.check("fe80::1")?.label).toContain("link-local");
  });

  it("judges a mapped address as its IPv4 address against allow_networks too", () => {
    const single = new NetworkGuard({ allowNetworks: ["127.0.0.1"] });
    expect(single.check("::ffff:7f00:1")).toBeUndefined();
    expect(single.check("::ffff:7f00:2")?.label).toContain("loopback");
    expect(single.check("::1")?.label).toContain("loopback");
  });
});

describe("NetworkGuard.refusedLiteral", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1 is a loopback address"],
    [new URL("http://2130706433/").hostname, "127.0.0.1 is a loopback address"],
    [new URL("http://0x7f.1/").hostname, "127.0.0.1 is a loopback address"],
    [new URL("http://0177.0.0.1/").hostname, "127.0.0.1 is a loopback address"],
    [new URL("http://[::ffff:127.0.0.1]/").hostname, "[::ffff:7f00:1] (which stands for 127.0.0.1) is a loopback address"],
    [new URL("http://127.0.0.1./").hostname, "127.0.0.1 is a loopback address"],
    [new URL("http://%31%32%37.0.0.1/").hostname, "127.0.0.1 is a loopback address"],
    [new URL("http://0/").hostname, "0.0.0.0 is an unspecified"],
    [new URL("http://[::]/").hostname, ":: is an unspecified address"],
    [new URL("http://[::ffff:0:127.0.0.1]/").hostname, "::ffff:0:7f00:1 is a reserved address"],
    ["[::1]", "::1 is a loopback address"],
    ["169.254.169.254", "169.254.169.254 is a link-local address"],
    ["10.0.0.1", "10.0.0.1 is a private address"],
  ])("refuses %s, saying what it is and how to allow it", (host, start) => {
    const refusal = guard.refusedLiteral(host);
    expect(refusal).toBeInstanceOf(CallbackAddressRefusedError);
    expect(refusal?.code).toBe(ErrorCode.callbackAddressRefused);
    expect(refusal?.message.startsWith(start)).toBe(true);
    expect(refusal?.message).toContain("unless webhook.allow_networks of API sum lists it");
  });

  it("leaves names to resolution, and lets global literals through", () => {
    expect(guard.refusedLiteral("localhost")).toBeUndefined();
    expect(guard.refusedLiteral("example.com")).toBeUndefined();
    expect(guard.refusedLiteral("8.8.8.8")).toBeUndefined();
    expect(guard.refusedLiteral("[2606:4700:4700::1111]")).toBeUndefined();
  });
});

describe("NetworkGuard.lookup", () => {
  /** A resolver answering from a table: no DNS traffic leaves the test. */
  const table = (entries: Record<string, string[]>): HostResolver => async (hostname) => {
    const addresses = entries[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  const lookup = (subject: NetworkGuard, hostname: string, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
      subject.lookup(hostname, { all }, (error, address, family) => resolve({ error, address, family }));
    });
  const resolve = table({
    "internal.test": ["10.0.0.5", "127.0.0.1"],
    "mixed.test": ["10.0.0.5", "93.184.215.14", "fd00::1", "2606:4700:4700::1111"],
    "mapped.test": ["::ffff:127.0.0.1"],
  });

  it("fails with a CallbackAddressRefusedError naming every refused address", async () => {
    const { error } = await lookup(new NetworkGuard({ resolve, apiName: "sum" }), "internal.test", true);
    expect(error).toBeInstanceOf(CallbackAddressRefusedError);
    expect(error?.message).toBe(
      "internal.test resolved only to addresses callbacks may not reach: 10.0.0.5 (a private address), 127.0.0.1 (a loopback address); " +
        "add them to webhook.allow_networks of API sum to allow it (for example 10.0.0.5/32)",
    );
  });

  it("hands the socket only the addresses that passed (all: true, as happy eyeballs asks)", async () => {
    const { error, address } = await lookup(new NetworkGuard({ resolve }), "mixed.test", true);
    expect(error).toBeNull();
    expect(address).toEqual([
      { address: "93.184.215.14", family: 4 },
      { address: "2606:4700:4700::1111", family: 6 },
    ]);
  });

  it("hands the socket the first address that passed (all: false)", async () => {
    const { address, family } = await lookup(new NetworkGuard({ resolve }), "mixed.test", false);
    expect([address, family]).toEqual(["93.184.215.14", 4]);
  });

  it("admits resolved addresses allow_networks lists", async () => {
    const { error, address } = await lookup(new NetworkGuard({ resolve, allowNetworks: ["127.0.0.0/8"] }), "internal.test", true);
    expect(error).toBeNull();
    expect(address).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });

  it("canonicalises mapped answers before judging them", async () => {
    const { error } = await lookup(new NetworkGuard({ resolve }), "mapped.test", true);
    expect(error?.message).toContain("127.0.0.1 (a loopback address)");
  });

  it("passes resolver errors through", async () => {
    const { error } = await lookup(new NetworkGuard({ resolve }), "missing.test", true);
    expect(error?.code).toBe("ENOTFOUND");
  });

  it("refuses localhost through the system resolver", async () => {
    const { error } = await lookup(new NetworkGuard(), "localhost", true);
    expect(error).toBeInstanceOf(CallbackAddressRefusedError);
    expect(error?.message).toMatch(/^localhost resolved only to addresses callbacks may not reach: .*a loopback address/);
  });
});
