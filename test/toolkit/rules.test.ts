import { describe, expect, it } from "vitest";
import { ToolkitError, ToolkitErrorCode } from "../../toolkit/errors.js";
import type { ReceiverRule } from "../../toolkit/receiver/rules/receiver-rule.js";
import type { RuleRequest } from "../../toolkit/receiver/rules/rule-conditions.js";
import { parseRulesDocument } from "../../toolkit/receiver/rules/rule-schema.js";
import { RuleSet } from "../../toolkit/receiver/rules/rule-set.js";

function requestTo(path: string, method = "POST", extra: Partial<RuleRequest> = {}): RuleRequest {
  return {
    method,
    path,
    headers: {},
    query: {},
    verdicts: { basic: null, signature: null, tls: null },
    json: undefined,
    bodyBytes: 0,
    webhookIdRepeated: false,
    inFlight: 1,
    ...extra,
  };
}

function problemWith(document: unknown): string {
  try {
    parseRulesDocument(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ToolkitError);
    expect((error as ToolkitError).code).toBe(ToolkitErrorCode.rulesInvalid);
    return (error as ToolkitError).message;
  }
  throw new Error("the document was accepted");
}

describe("rule validation", () => {
  it("accepts the contract's example and every field", () => {
    const example = {
      rules: [
        { path: "/hook", method: "POST", statuses: [503, 503, 200], body: { ok: true }, headers: {}, delay_ms: 250, fault: "reset" },
        { path: "/slow/*", times: 2, delay_ms: [10, 20], fault: "dribble", dribble_interval_ms: 5, headers: { "Retry-After": "1" } },
      ],
    };
    expect(parseRulesDocument(example)).toEqual(example);
  });

  it("names each bad field", () => {
    expect(problemWith({ rules: [{ fault: "explode" }] })).toBe("rules[0].fault: must be one of reset, empty, malformed, hang, dribble");
    expect(problemWith({ rules: [{}, { statuses: [] }] })).toBe("rules[1].statuses: must be a non-empty list of HTTP statuses from 200 to 599");
    expect(problemWith({ rules: [{ statuses: [200, 99] }] })).toContain("rules[0].statuses:");
    expect(problemWith({ rules: [{ path: "hook" }] })).toContain("rules[0].path: must be a string starting with /");
    expect(problemWith({ rules: [{ delay_ms: -1 }] })).toContain("rules[0].delay_ms:");
    expect(problemWith({ rules: [{ delay_ms: [20, 10] }] })).toContain("rules[0].delay_ms:");
    expect(problemWith({ rules: [{ delay_ms: [1, 2, 3] }] })).toContain("rules[0].delay_ms:");
    expect(problemWith({ rules: [{ headers: { "bad name": "x" } }] })).toContain("rules[0].headers:");
    expect(problemWith({ rules: [{ headers: { "x-a": "line\r\nbreak" } }] })).toContain("rules[0].headers:");
    expect(problemWith({ rules: [{ times: 0 }] })).toContain("rules[0].times:");
    expect(problemWith({ rules: [{ method: 5 }] })).toContain("rules[0].method:");
  });

  it("names unknown fields and a wrong document shape", () => {
    expect(problemWith({ rules: [{ stauses: [200] }] })).toMatch(/^rules\[0\]: unknown field "stauses" \(known: path, method/);
    expect(problemWith([])).toBe('the document must be an object {"rules": [...]}');
    expect(problemWith({ rules: {} })).toBe("rules: must be a list of rule objects");
    expect(problemWith({ rule: [] })).toContain("the document");
    expect(problemWith({ rules: ["x"] })).toBe("rules[0]: must be an object");
  });

  it("reports every problem at once", () => {
    const message = problemWith({ rules: [{ fault: "x" }, { statuses: "200" }] });
    expect(message).toContain("rules[0].fault");
    expect(message).toContain("rules[1].statuses");
  });
});

describe("rule matching and answers", () => {
  it("answers 200 {\"ok\":true} when no rule matches", () => {
    const answer = new RuleSet().answer(requestTo("/hook"));
    expect(answer).toMatchObject({ status: 200, fault: null, delayMs: 0, rule: null });
    expect(answer.body.toString()).toBe('{"ok":true}');
  });

  it("matches exact paths and * prefixes, and methods in any case", () => {
    const rules: ReceiverRule[] = [
      { path: "/exact", statuses: [201] },
      { path: "/prefix/*", statuses: [202] },
      { method: "put", statuses: [203] },
    ];
    const set = new RuleSet(rules);
    expect(set.answer(requestTo("/exact")).status).toBe(201);
    expect(set.answer(requestTo("/exact/more")).status).toBe(200);
    expect(set.answer(requestTo("/prefix/a/b")).status).toBe(202);
    expect(set.answer(requestTo("/prefix")).status).toBe(200);
    expect(set.answer(requestTo("/anything", "PUT")).status).toBe(203);
  });

  it("takes the first matching rule", () => {
    const set = new RuleSet([{ path: "/a*", statuses: [500] }, { path: "/a", statuses: [201] }]);
    expect(set.answer(requestTo("/a")).status).toBe(500);
  });

  it("gives one status per matching request, repeats the last, and counts per rule", () => {
    const set = new RuleSet([{ path: "/a", statuses: [503, 503, 200] }, { path: "/b", statuses: [429, 204] }]);
    const seen = ["/a", "/b", "/a", "/a", "/b", "/a", "/b"].map((path) => set.answer(requestTo(path)).status);
    expect(seen).toEqual([503, 429, 503, 200, 204, 200, 204]);
  });

  it("resets the counters when the rules are replaced", () => {
    const rules: ReceiverRule[] = [{ statuses: [500, 200] }];
    const set = new RuleSet(rules);
    expect(set.answer(requestTo("/")).status).toBe(500);
    set.replace(rules);
    expect(set.answer(requestTo("/")).status).toBe(500);
  });

  it("stops a rule after `times` matches", () => {
    const set = new RuleSet([{ path: "/a", times: 2, fault: "reset" }, { path: "/a", statuses: [202] }]);
    expect([1, 2, 3, 4].map(() => set.answer(requestTo("/a")).fault ?? "ok")).toEqual(["reset", "reset", "ok", "ok"]);
  });

  it("draws [min, max] delays uniformly and keeps fixed ones", () => {
    const draws = [0, 0.5, 0.999];
    const set = new RuleSet([{ path: "/r", delay_ms: [100, 300] }, { path: "/f", delay_ms: 250 }], () => draws.shift() ?? 0);
    expect([1, 2, 3].map(() => set.answer(requestTo("/r")).delayMs)).toEqual([100, 200, 300]);
    expect(set.answer(requestTo("/f")).delayMs).toBe(250);
  });

  it("sends a string body as text and anything else as JSON, headers overriding", () => {
    const set = new RuleSet([
      { path: "/text", body: "plain words" },
      { path: "/json", body: [1, 2], headers: { "Content-Type": "application/vnd.x+json", "Retry-After": "7" } },
      { path: "/err", statuses: [500] },
    ]);
    const text = set.answer(requestTo("/text"));
    expect(text.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(text.body.toString()).toBe("plain words");
    const json = set.answer(requestTo("/json"));
    expect(json.headers).toEqual({ "content-type": "application/vnd.x+json", "retry-after": "7" });
    expect(json.body.toString()).toBe("[1,2]");
    expect(set.answer(requestTo("/err")).body.toString()).toBe('{"ok":false}');
  });
});

describe("match conditions", () => {
  const completed = { id: "t1", status: "completed", result: { label: "x", scores: [1, 2] }, timestamp: "2026-11-22T09:48:29.123Z" };

  it("validates every condition and names a bad or unknown one", () => {
    const every = { rules: [{ match: { body: { status: "failed" }, body_bytes_over: 10, body_keys_not_in: ["id"], webhook_id_repeated: true, in_flight_over: 5 } }] };
    expect(parseRulesDocument(every)).toEqual(every);
    expect(problemWith({ rules: [{ match: { bodyy: {} } }] })).toMatch(/^rules\[0\]\.match: unknown condition "bodyy" \(known: body, body_bytes_over/);
    expect(problemWith({ rules: [{ match: { body_bytes_over: -1 } }] })).toBe("rules[0].match.body_bytes_over: must be a whole number of bytes >= 0");
    expect(problemWith({ rules: [{ match: { in_flight_over: 0 } }] })).toBe("rules[0].match.in_flight_over: must be a whole number >= 1");
    expect(problemWith({ rules: [{ match: { webhook_id_repeated: "yes" } }] })).toBe("rules[0].match.webhook_id_repeated: must be true or false");
    expect(problemWith({ rules: [{ match: { body_keys_not_in: [1] } }] })).toBe("rules[0].match.body_keys_not_in: must be a list of field names");
    expect(problemWith({ rules: [{ match: [] }] })).toContain("rules[0].match: must be an object of conditions");
  });

  it("body: matches a JSON body containing the fields, recursively, and nothing that is not JSON", () => {
    const set = new RuleSet([{ match: { body: { status: "completed", result: { label: "x" } } }, statuses: [500] }]);
    expect(set.answer(requestTo("/", "POST", { json: completed })).status).toBe(500);
    expect(set.answer(requestTo("/", "POST", { json: { ...completed, status: "failed" } })).status).toBe(200);
    expect(set.answer(requestTo("/", "POST", { json: { status: "completed" } })).status).toBe(200);
    expect(set.answer(requestTo("/", "POST", { json: undefined })).status).toBe(200);
    // Arrays compare whole: a pattern array is not a subset test.
    const arrays = new RuleSet([{ match: { body: { result: { scores: [1] } } }, statuses: [500] }]);
    expect(arrays.answer(requestTo("/", "POST", { json: completed })).status).toBe(200);
  });

  it("body_bytes_over, body_keys_not_in, webhook_id_repeated and in_flight_over each pick their requests", () => {
    const size = new RuleSet([{ match: { body_bytes_over: 100 }, statuses: [413] }]);
    expect(size.answer(requestTo("/", "POST", { bodyBytes: 101 })).status).toBe(413);
    expect(size.answer(requestTo("/", "POST", { bodyBytes: 100 })).status).toBe(200);

    const strict = new RuleSet([{ match: { body_keys_not_in: ["id", "status", "result", "timestamp"] }, statuses: [400] }]);
    expect(strict.answer(requestTo("/", "POST", { json: completed })).status).toBe(200);
    expect(strict.answer(requestTo("/", "POST", { json: { ...completed, extra: 1 } })).status).toBe(400);
    expect(strict.answer(requestTo("/", "POST", { json: [1] })).status).toBe(200);

    const repeats = new RuleSet([{ match: { webhook_id_repeated: true }, statuses: [409] }]);
    expect(repeats.answer(requestTo("/", "POST", { webhookIdRepeated: true })).status).toBe(409);
    expect(repeats.answer(requestTo("/", "POST", { webhookIdRepeated: false })).status).toBe(200);

    const busy = new RuleSet([{ match: { in_flight_over: 2 }, statuses: [503] }]);
    expect(busy.answer(requestTo("/", "POST", { inFlight: 3 })).status).toBe(503);
    expect(busy.answer(requestTo("/", "POST", { inFlight: 2 })).status).toBe(200);
  });

  it("needs every condition of a rule to hold", () => {
    const set = new RuleSet([{ path: "/hook", match: { body: { status: "failed" }, body_bytes_over: 10 }, statuses: [500] }]);
    const failed = { ...completed, status: "failed" };
    expect(set.answer(requestTo("/hook", "POST", { json: failed, bodyBytes: 50 })).status).toBe(500);
    expect(set.answer(requestTo("/other", "POST", { json: failed, bodyBytes: 50 })).status).toBe(200);
    expect(set.answer(requestTo("/hook", "POST", { json: failed, bodyBytes: 5 })).status).toBe(200);
  });
});
