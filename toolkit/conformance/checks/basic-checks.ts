import type { CheckDefinition } from "../check-definition.js";
import { baseline } from "./prerequisites.js";
import { rejectionCheck } from "./rejection-check.js";

const challengeFix =
  'answer 401 with WWW-Authenticate: Basic realm="webhooks" when credentials are missing or wrong; a 403 says credentials would not help, and other statuses are not an authentication challenge';

/** The basic auth checks (with basic credentials): refusals must be 401, the authentication challenge. */
export const basicChecks: readonly CheckDefinition[] = [
  rejectionCheck({
    id: "basic.rejects-missing",
    clause: "rejects a delivery without credentials with 401",
    source: "Launch",
    requires: "basic",
    needs: baseline,
    what: "a delivery without an Authorization header",
    status: 401,
    challenge: true,
    probe: (context) => context.deliver(context.reports.completed(), { basic: "missing" }),
    fix: challengeFix,
  }),
  rejectionCheck({
    id: "basic.rejects-wrong",
    clause: "rejects a delivery with a wrong password with 401",
    source: "Launch",
    requires: "basic",
    needs: baseline,
    what: "a delivery with the right user and a wrong password",
    status: 401,
    challenge: true,
    probe: (context) => context.deliver(context.reports.completed(), { basic: "wrong" }),
    fix: challengeFix,
  }),
];
