import type { Request } from "express";
import { ErrorCode, RequestError } from "../errors.js";

/**
 * Refuses a query parameter the route does not take, with a 400 naming it: a misspelt `callbak_url`, or PHP-style
 * `callback_url[]`, would otherwise be ignored silently and the task would run without what the client meant.
 */
export function refuseUnknownQuery(req: Request, allowed: readonly string[]): void {
  for (const name of Object.keys(req.query)) {
    if (allowed.includes(name)) continue;
    const base = name.replace(/\[.*\]$/, "");
    if (base !== name && allowed.includes(base)) {
      throw new RequestError(ErrorCode.badRequest, 400, `give the ${base} query parameter once, as ${base}=VALUE (not ${name})`);
    }
    const takes = allowed.length === 0 ? "this route takes no query parameters" : `this route takes only ${allowed.join(", ")}`;
    throw new RequestError(ErrorCode.badRequest, 400, `unknown query parameter ${JSON.stringify(name)}; ${takes}`);
  }
}
