import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";

/** Who may use the console: loopback clients only, or anyone holding the admin key. */
export type ConsoleAccess = { kind: "loopback" } | { kind: "admin-key"; key: string };

/** Host names a browser on this machine uses for a loopback server. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True for 127.0.0.0/8 and ::1, in their IPv4, IPv6 and IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

/** The request's Host without its port, lower-cased. */
function hostName(req: Request): string {
  const host = (req.headers.host ?? "").toLowerCase();
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/** Equal-time comparison of two strings of any length (hashed first, so lengths leak nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Guards the console's JSON. Without a key, only loopback clients that name a loopback host get in: the Host check
 * stops a web page from reaching the console through DNS rebinding (its name resolving to 127.0.0.1). With a key,
 * any client with `Authorization: Bearer KEY`. Answers never say what the key is, nor how close a guess came.
 */
export function consoleAccess(access: ConsoleAccess): RequestHandler {
  return (req, res, next) => {
    res.set("cache-control", "no-store");
    if (access.kind === "loopback") {
      if (!isLoopbackAddress(req.socket.remoteAddress)) {
        res.status(403).json({
          error: "the console answers loopback clients only; open it on this machine (http://127.0.0.1:PORT/console), or start serve with --admin-key-env NAME and send Authorization: Bearer KEY",
        });
        return;
      }
      if (!LOOPBACK_HOSTS.has(hostName(req))) {
        res.status(403).json({ error: "the console answers only requests addressed to localhost, 127.0.0.1 or [::1] (the Host header); use one of those in the URL" });
        return;
      }
      next();
      return;
    }
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || !sameSecret(match[1]!, access.key)) {
      res
        .status(401)
        .set("www-authenticate", 'Bearer realm="predictor-runtime console"')
        .json({ error: header === "" ? "the console needs the admin key: send Authorization: Bearer KEY (the key is in the env var named by --admin-key-env)" : "the admin key is wrong; send the key held by the env var named by --admin-key-env" });
      return;
    }
    next();
  };
}
