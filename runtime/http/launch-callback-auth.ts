import type { CallbackAuth } from "../tasks/task.js";

const SHAPES =
  '{"kind": "basic", "username": "...", "password": "..."} or {"kind": "mtls", "cert": "<PEM>", "key": "<PEM>", "ca"?: "<PEM>"}';
const FIELDS = { basic: ["username", "password"], mtls: ["cert", "key", "ca"] } as const;
const REQUIRED = { basic: ["username", "password"], mtls: ["cert", "key"] } as const;

/**
 * Reads the `callback_auth` of a Launch task request (null or absent: none). Each problem gets its own message naming
 * the field and the fix; values are never quoted, since they are passwords and private keys. PEM contents are
 * checked later, by the core, for every surface.
 */
export function parseLaunchCallbackAuth(value: unknown): { auth: CallbackAuth | undefined } | { problem: string } {
  if (value === undefined || value === null) return { auth: undefined };
  if (typeof value !== "object" || Array.isArray(value)) return { problem: `callback_auth must be an object: ${SHAPES}` };
  const fields = value as Record<string, unknown>;
  const kind = fields.kind;
  if (kind !== "basic" && kind !== "mtls") {
    return { problem: `callback_auth.kind must be "basic" or "mtls"; the whole object is ${SHAPES}` };
  }
  const allowed: readonly string[] = ["kind", ...FIELDS[kind]];
  const unknown = Object.keys(fields).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) {
    return { problem: `callback_auth of kind ${kind} takes only ${allowed.join(", ")}; remove ${unknown.join(", ")}` };
  }
  for (const name of REQUIRED[kind]) {
    if (fields[name] === undefined || fields[name] === null) return { problem: `callback_auth.${name} is required for kind ${kind}` };
  }
  for (const name of FIELDS[kind]) {
    const field = fields[name];
    if (field === undefined) continue;
    if (typeof field !== "string" || field.length === 0) return { problem: `callback_auth.${name} must be a non-empty string` };
    if (kind === "mtls" && !field.includes("-----BEGIN ")) {
      return { problem: `callback_auth.${name} must be PEM text (starting with -----BEGIN), not a file path or base64 alone` };
    }
  }
  if (kind === "basic") {
    const username = fields.username as string;
    // RFC 7617: the user-id may not contain a colon, or the receiver would split the credentials in the wrong place.
    if (username.includes(":")) return { problem: "callback_auth.username may not contain a colon (RFC 7617)" };
    return { auth: { kind, username, password: fields.password as string } };
  }
  const auth: CallbackAuth = { kind, cert: fields.cert as string, key: fields.key as string };
  if (typeof fields.ca === "string") auth.ca = fields.ca;
  return { auth };
}
