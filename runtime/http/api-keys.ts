import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import type { ApiConfig } from "../config/api-config.js";
import { ErrorCode, RequestError } from "../errors.js";

/** The challenges a 401 offers: the three forms a key is accepted in (Bearer, Basic KEY:, or the key alone). */
const CHALLENGE = 'Bearer realm="predictor-runtime", Basic realm="predictor-runtime"';

/**
 * The key an Authorization header carries, in any of the forms clients send: `Bearer KEY`, `Basic base64(KEY:)` (the
 * Launch client: the key as the username, an empty password) or `KEY` alone (Modelbit). Undefined when none.
 */
export function presentedKey(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const value = authorization.trim();
  if (value === "") return undefined;
  const space = value.indexOf(" ");
  if (space === -1) return value; // The key alone.
  const scheme = value.slice(0, space).toLowerCase();
  const credentials = value.slice(space + 1).trim();
  if (scheme === "bearer") return credentials || undefined;
  if (scheme === "basic") {
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    // KEY: with an empty password; a username with a password is not the key form.
    if (colon > 0 && colon === decoded.length - 1) return decoded.slice(0, colon);
    return undefined;
  }
  return undefined;
}

/**
 * Whether `authorization` opens an API: always for an API without keys; otherwise when its key's SHA-256 equals one
 * of the API's, compared in constant time over every key (the time taken says nothing about which key, or how much
 * of one, matched).
 */
export function keyOpens(api: Pick<ApiConfig, "apiKeySha256">, authorization: string | undefined): boolean {
  const hashes = api.apiKeySha256 ?? [];
  if (hashes.length === 0) return true;
  const key = presentedKey(authorization);
  const presented = createHash("sha256").update(key ?? "", "utf8").digest();
  let opens = false;
  for (const hash of hashes) {
    // Hashes are always 32 bytes, so timingSafeEqual never throws on a length mismatch.
    if (timingSafeEqual(presented, Buffer.from(hash, "hex"))) opens = true;
  }
  return key !== undefined && opens;
}

/** Refuses a request to an API with keys that carries none of them: 401 with `www-authenticate`. Never quotes a key. */
export function requireApiKey(api: Pick<ApiConfig, "name" | "apiKeySha256">, req: Request): void {
  const authorization = req.headers.authorization;
  if (keyOpens(api, authorization)) return;
  const message =
    presentedKey(authorization) === undefined
      ? `API "${api.name}" needs an API key: send Authorization: Bearer KEY (or Basic base64(KEY:), as the Launch client does, or the key alone)`
      : `the API key sent is not one of API "${api.name}"'s keys (networking.api_keys); check which key the client uses`;
  throw new RequestError(ErrorCode.unauthorized, 401, message, { headers: { "www-authenticate": CHALLENGE } });
}
