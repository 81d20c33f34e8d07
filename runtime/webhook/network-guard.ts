import { randomUUID } from "node:crypto";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, type LookupFunction } from "node:net";
import { ErrorCode, RuntimeError } from "../errors.js";
import { parseCidr } from "./cidr.js";
import { canonicalAddress, specialAddressLabel, type CanonicalAddress } from "./special-addresses.js";

/** An address the guard refused, and what kind of address it is. */
export interface RefusedAddress {
  address: string;
  /** "a loopback address", "a private address", ... */
  label: string;
}

/**
 * A callback host is, or resolved only to, addresses outside the global internet that allow_networks does not list.
 * Final for the delivery: asking again gives the same answer.
 */
export class CallbackAddressRefusedError extends RuntimeError {
  override readonly name = "CallbackAddressRefusedError";

  constructor(
    /** The host as the URL names it. */
    readonly host: string,
    readonly refused: readonly RefusedAddress[],
    /** The API whose allow_networks applies, for the hint. */
    apiName: string | undefined,
    /** The host is an IP literal (rather than a name that resolved). */
    literal: boolean,
  ) {
    super(ErrorCode.callbackAddressRefused, describeRefusal(host, refused, apiName, literal));
  }
}

/** Resolves a host name to every address it has. */
export type HostResolver = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

/** Options of {@link NetworkGuard}. */
export interface NetworkGuardOptions {
  /** CIDR ranges (webhook.allow_networks) callbacks may reach although they are not global. @defaultValue [] */
  allowNetworks?: readonly string[];
  /** The API the guard protects, named in refusal messages. */
  apiName?: string;
  /** Name resolution. @defaultValue the system resolver (`dns.lookup`, which honours /etc/hosts) */
  resolve?: HostResolver;
}

const systemResolver: HostResolver = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

/**
 * The SSRF guard, modelled on Svix's `NonLocalDnsResolver`: a callback may only reach global addresses, or addresses
 * in allow_networks. It sits where addresses are resolved (`lookup` is given to the socket), so the connection goes to
 * an address that was checked and there is no window for DNS rebinding; IP literals, which never reach `lookup`, are
 * checked with {@link refusedLiteral}.
 */
export class NetworkGuard {
  /** Unique per guard: connection pools key their dispatchers by it. */
  readonly id = randomUUID();
  readonly #allowed = new BlockList();
  readonly #apiName: string | undefined;
  readonly #resolve: HostResolver;

  constructor(options: NetworkGuardOptions = {}) {
    for (const entry of options.allowNetworks ?? []) {
      const parsed = parseCidr(entry);
      // The config loader refused invalid entries with a located message; reaching this is a programming error.
      if ("problem" in parsed) throw new RuntimeError(ErrorCode.configInvalid, `allow_networks entry ${parsed.problem}`);
      this.#allowed.addSubnet(parsed.cidr.address, parsed.cidr.prefix, parsed.cidr.family);
    }
    this.#apiName = options.apiName;
    this.#resolve = options.resolve ?? systemResolver;
  }

  /** Why `address` may not be reached, or undefined when it may (global, or listed in allow_networks). */
  check(address: string): RefusedAddress | undefined {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return { address, label: "not an IP address" };
    if (this.#isAllowed(canonical)) return undefined;
    const label = specialAddressLabel(canonical);
    return label === undefined ? undefined : { address: canonical.address, label };
  }

  /**
   * The refusal of a host that is an IP literal (`127.0.0.1`, `[::1]`; `new URL()` has already turned forms such as
   * `2130706433` and `0x7f.1` into dotted decimal), or undefined when it may be reached or is a name.
   */
  refusedLiteral(host: string): CallbackAddressRefusedError | undefined {
    if (canonicalAddress(host) === undefined) return undefined;
    const refused = this.check(host);
    return refused === undefined ? undefined : new CallbackAddressRefusedError(host, [refused], this.#apiName, true);
  }

  /**
   * A `net.connect` lookup that resolves the name, drops every address the guard refuses, and fails with a
   * {@link CallbackAddressRefusedError} when none is left. The socket only ever sees the addresses returned here.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const family = options.family === 4 || options.family === "IPv4" ? 4 : options.family === 6 || options.family === "IPv6" ? 6 : 0;
    this.#resolve(hostname, family).then(
      (addresses) => {
        const allowed = addresses.filter((entry) => this.check(entry.address) === undefined);
        if (allowed.length === 0) {
          const refused = addresses.map((entry) => this.check(entry.address)).filter((entry) => entry !== undefined);
          callback(new CallbackAddressRefusedError(hostname, refused, this.#apiName, false), []);
        } else if (options.all) {
          callback(null, allowed);
        } else {
          callback(null, allowed[0]!.address, allowed[0]!.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };

  #isAllowed(address: CanonicalAddress): boolean {
    return this.#allowed.check(address.address, address.family);
  }
}

function describeRefusal(host: string, refused: readonly RefusedAddress[], apiName: string | undefined, literal: boolean): string {
  const where = `webhook.allow_networks${apiName === undefined ? "" : ` of API ${apiName}`}`;
  const first = refused[0];
  const example = first === undefined ? "" : ` (for example ${first.address}/${first.address.includes(":") ? 128 : 32})`;
  if (literal && first !== undefined) {
    const bare = host.replace(/^\[|\]$/g, "");
    const subject = bare === first.address ? first.address : `${host} (which stands for ${first.address})`;
    return `${subject} is ${first.label}; callbacks may not reach it unless ${where} lists it${example}`;
  }
  const list = refused.map((entry) => `${entry.address} (${entry.label})`).join(", ");
  return `${host} resolved only to addresses callbacks may not reach: ${list || "none"}; add them to ${where} to allow it${example}`;
}
