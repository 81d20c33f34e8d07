import { Ajv, type ErrorObject } from "ajv";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import { faults } from "../delivery.js";
import type { ReceiverRule, RuleMatch, RulesDocument } from "./receiver-rule.js";

/** Longest `delay_ms` a rule may ask for; a longer wait is what `fault: "hang"` is for. */
export const maxDelayMs = 10 * 60 * 1000; // 10 min

/** What each rule field must be, worded for the person who wrote the rule. */
const fieldRequirements: Record<keyof ReceiverRule, string> = {
  path: "must be a string starting with / (end it with * to match a prefix)",
  method: "must be an HTTP method name such as POST",
  match: "must be an object of conditions: body, body_bytes_over, body_keys_not_in, webhook_id_repeated, in_flight_over",
  times: "must be a whole number >= 1",
  statuses: "must be a non-empty list of HTTP statuses from 200 to 599",
  body: "may be any JSON value",
  headers: "must be an object of header name to string value (no CR or LF)",
  delay_ms: `must be milliseconds from 0 to ${maxDelayMs}, or [min, max] with min <= max`,
  fault: `must be one of ${faults.join(", ")}`,
  dribble_interval_ms: "must be milliseconds between bytes, from 1 to 10000",
};

/** What each `match` condition must be. */
const matchRequirements: Record<keyof RuleMatch, string> = {
  body: "may be any JSON value (an object matches bodies that contain its fields)",
  body_bytes_over: "must be a whole number of bytes >= 0",
  body_keys_not_in: "must be a list of field names",
  webhook_id_repeated: "must be true or false",
  in_flight_over: "must be a whole number >= 1",
};

const milliseconds = { type: "number", minimum: 0, maximum: maxDelayMs };

/** The JSON schema of a rules document; adding a rule field means adding it here and to `fieldRequirements`. */
export const rulesDocumentSchema = {
  type: "object",
  required: ["rules"],
  additionalProperties: false,
  properties: {
    rules: {
      type: "array",
      maxItems: 1000,
      items: {
        type: "object",
        additionalProperties: false,
        properties: {
          path: { type: "string", pattern: "^/", maxLength: 2048 },
          method: { type: "string", pattern: "^[A-Za-z]{1,20}$" },
          match: {
            type: "object",
            additionalProperties: false,
            properties: {
              body: {},
              body_bytes_over: { type: "integer", minimum: 0 },
              body_keys_not_in: { type: "array", maxItems: 1000, items: { type: "string" } },
              webhook_id_repeated: { type: "boolean" },
              in_flight_over: { type: "integer", minimum: 1 },
            },
          },
          times: { type: "integer", minimum: 1 },
          statuses: { type: "array", minItems: 1, maxItems: 10000, items: { type: "integer", minimum: 200, maximum: 599 } },
          body: {},
          headers: {
            type: "object",
            propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
            additionalProperties: { type: "string", pattern: "^[^\\r\\n]*$" },
          },
          delay_ms: { oneOf: [milliseconds, { type: "array", minItems: 2, maxItems: 2, items: milliseconds }] },
          fault: { enum: [...faults] },
          dribble_interval_ms: { type: "number", minimum: 1, maximum: 10000 },
        },
      },
    },
  },
} as const;

const validateDocument = new Ajv({ allErrors: true, strict: true }).compile(rulesDocumentSchema);

/**
 * Validates a rules document and returns a frozen copy. Every problem is reported in one ToolkitError
 * (RULES_INVALID) whose message names each bad field, e.g. `rules[0].fault: must be one of reset, ...`.
 */
export function parseRulesDocument(document: unknown): RulesDocument {
  if (!validateDocument(document)) {
    throw new ToolkitError(ToolkitErrorCode.rulesInvalid, describeProblems(validateDocument.errors ?? []).join("; "));
  }
  const rules = (document as RulesDocument).rules;
  const problems = rules.flatMap((rule, index) => {
    const delay = rule.delay_ms;
    return Array.isArray(delay) && delay[0] > delay[1] ? [`rules[${index}].delay_ms: ${fieldRequirements.delay_ms}`] : [];
  });
  if (problems.length > 0) throw new ToolkitError(ToolkitErrorCode.rulesInvalid, problems.join("; "));
  return deepFreeze(structuredClone({ rules }));
}

function describeProblems(errors: readonly ErrorObject[]): string[] {
  const messages = new Map<string, string>();
  for (const error of errors) {
    const segments = error.instancePath.split("/").slice(1);
    if (segments.length === 0) {
      messages.set(
        "document",
        error.keyword === "additionalProperties"
          ? `unknown top-level field "${String(error.params["additionalProperty"])}": the document is {"rules": [...]}`
          : 'the document must be an object {"rules": [...]}',
      );
    } else if (segments.length === 1) {
      messages.set("rules", "rules: must be a list of rule objects");
    } else if (segments.length === 2) {
      const where = `rules[${segments[1]}]`;
      if (error.keyword === "additionalProperty" || error.keyword === "additionalProperties") {
        const field = String(error.params["additionalProperty"]);
        messages.set(`${where}.${field}`, `${where}: unknown field "${field}" (known: ${Object.keys(fieldRequirements).join(", ")})`);
      } else {
        messages.set(where, `${where}: must be an object`);
      }
    } else if (segments[2] === "match" && segments.length === 3 && error.keyword === "additionalProperties") {
      const condition = String(error.params["additionalProperty"]);
      const where = `rules[${segments[1]}].match`;
      messages.set(`${where}.${condition}`, `${where}: unknown condition "${condition}" (known: ${Object.keys(matchRequirements).join(", ")})`);
    } else if (segments[2] === "match" && segments.length > 3) {
      const condition = segments[3] as keyof RuleMatch;
      const where = `rules[${segments[1]}].match.${condition}`;
      messages.set(where, `${where}: ${matchRequirements[condition] ?? error.message ?? "is invalid"}`);
    } else {
      const field = segments[2] as keyof ReceiverRule;
      const where = `rules[${segments[1]}].${field}`;
      messages.set(where, `${where}: ${fieldRequirements[field] ?? error.message ?? "is invalid"}`);
    }
  }
  return [...messages.values()];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
