import { createHash, timingSafeEqual } from "node:crypto";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import type { ReceiverQuirk } from "../receiver-quirks.js";
import { failed, passed, type CheckResult } from "./check-result.js";

/** The username and password a `--basic` receiver expects. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/** Parses `USER:PASS` (the password may contain colons); the message never repeats the password. */
export function parseBasicCredentials(text: string): BasicCredentials {
  const colon = text.indexOf(":");
  if (colon <= 0) {
    throw new ToolkitError(
      ToolkitErrorCode.basicInvalid,
      "basic credentials must be USER:PASS with a non-empty user, for example --basic user:secret",
    );
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Checks an `Authorization` header against the expected credentials. Both sides are hashed before a
 * constant-time compare, so neither the length nor the content of the expected pair leaks through timing.
 * The `basic-allow-missing` quirk lets a request without the header pass.
 */
export function checkBasic(authorization: string | undefined, expected: BasicCredentials, quirks: readonly ReceiverQuirk[] = []): CheckResult {
  if (authorization === undefined || authorization === "") {
    return quirks.includes("basic-allow-missing") ? passed : failed("no Authorization header");
  }
  const match = /^basic\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return failed("the Authorization header is not Basic");
  const supplied = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const wanted = `${expected.username}:${expected.password}`;
  return timingSafeEqual(digest(supplied), digest(wanted)) ? passed : failed("wrong username or password");
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
