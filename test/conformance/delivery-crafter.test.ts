import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { DeliveryCrafter } from "../../toolkit/conformance/delivery-crafter.js";
import { ReportFactory, reportFieldNames } from "../../toolkit/conformance/report-bodies.js";
import { credentials } from "./helpers/fixtures.js";

const key = Buffer.from(credentials.secret.slice("whsec_".length), "base64");
const crafter = new DeliveryCrafter({ signing: { secret: credentials.secret, key }, basic: { username: credentials.username, password: credentials.password } });
const reports = new ReportFactory("cortex");

/** Verified by the reference `standardwebhooks` package, independent of the suite's signing code. */
function verifies(headers: Record<string, string>, body: string): boolean {
  try {
    new Webhook(credentials.secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

/** The HMAC of id.timestamp.body, computed here. */
function hmacOf(headers: Record<string, string>, body: string): string {
  return createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest("base64");
}

describe("crafted deliveries", () => {
  it("are the runtime's report headers, signed so the reference library verifies them, with basic credentials", () => {
    const message = reports.completed();
    const { body, headers } = crafter.craft(message);
    expect(body).toBe(message.body);
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": expect.stringMatching(/^predictor-runtime\//) as unknown,
      "x-request-id": message.taskId,
      "webhook-id": `msg_${message.taskId}`,
      authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`,
    });
    expect(Math.abs(Number(headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(verifies(headers, body)).toBe(true);
  });

  it("break exactly one thing each", () => {
    const message = reports.completed();
    const valid = crafter.craft(message).headers;
    const missing = crafter.craft(message, { signature: "missing" }).headers;
    expect(missing["webhook-signature"]).toBeUndefined();
    expect(missing["webhook-id"]).toBe(valid["webhook-id"]);

    expect(crafter.craft(message, { signature: "malformed" }).headers["webhook-signature"]).toBe("not-a-signature");

    const wrong = crafter.craft(message, { signature: "wrong-key" });
    expect(wrong.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifies(wrong.headers, wrong.body)).toBe(false);

    const partial = crafter.craft(message, { signature: "partial" }).headers["webhook-signature"] ?? "";
    expect(partial).toBe(`v1,${hmacOf(valid, message.body).slice(0, 24)}`);

    const rotation = crafter.craft(message, { signature: "rotation" });
    const [retired, current] = (rotation.headers["webhook-signature"] ?? "").split(" ");
    expect(retired).not.toBe(current);
    expect(current).toBe(`v1,${hmacOf(rotation.headers, rotation.body)}`);
    expect(verifies(rotation.headers, rotation.body)).toBe(true);
  });

  it("sign stale and future timestamps properly for that timestamp", () => {
    const message = reports.completed();
    for (const offset of [-600, 600]) {
      const { headers, body } = crafter.craft(message, { timestampOffsetS: offset });
      expect(Number(headers["webhook-timestamp"]) - Math.floor(Date.now() / 1000)).toBeCloseTo(offset, -1);
      expect(headers["webhook-signature"]).toBe(`v1,${hmacOf(headers, body)}`);
      expect(verifies(headers, body)).toBe(false); // outside the library's 5-minute tolerance
    }
  });

  it("re-serialize a body keeping keys, order and values, changing only whitespace", () => {
    const message = reports.failed();
    const { headers, body } = crafter.craft(message, { reserialize: true });
    expect(body).not.toBe(message.body);
    expect(body.replace(/\s+(?=(?:[^"]*"[^"]*")*[^"]*$)/g, "")).toBe(message.body);
    expect(JSON.stringify(JSON.parse(body))).toBe(message.body);
    expect(headers["webhook-signature"]).toBe(`v1,${hmacOf(headers, message.body)}`);
  });

  it("leave out or spoil basic credentials on request, and sign nothing without a secret", () => {
    const message = reports.completed();
    expect(crafter.craft(message, { basic: "missing" }).headers.authorization).toBeUndefined();
    const wrong = crafter.craft(message, { basic: "wrong" }).headers.authorization ?? "";
    const decoded = Buffer.from(wrong.replace("Basic ", ""), "base64").toString();
    expect(decoded.startsWith(`${credentials.username}:`)).toBe(true);
    expect(decoded).not.toBe(`${credentials.username}:${credentials.password}`);
    const plain = new DeliveryCrafter({ signing: undefined, basic: undefined }).craft(message).headers;
    expect(plain["webhook-signature"]).toBeUndefined();
    expect(plain.authorization).toBeUndefined();
  });
});

describe("report bodies", () => {
  it("are the runtime's Cortex and Launch reports, a new task each", () => {
    const cortex = JSON.parse(reports.completed().body) as Record<string, unknown>;
    expect(Object.keys(cortex)).toEqual(["id", "status", "result", "timestamp"]);
    expect(JSON.parse(reports.failed().body)).toMatchObject({ status: "failed", error: expect.any(String) as unknown });
    const launch = new ReportFactory("launch");
    expect(JSON.parse(launch.completed().body)).toMatchObject({ status: "SUCCESS", task_id: expect.any(String) as unknown });
    expect(JSON.parse(launch.failed().body)).toMatchObject({ status: "FAILURE", result: null, traceback: expect.stringContaining("Error:") as unknown });
    expect(reports.completed().webhookId).not.toBe(reports.completed().webhookId);
  });

  it("make a large report of exactly the size asked, and one with fields no report has", () => {
    for (const bytes of [4096, 1024 * 1024]) expect(Buffer.byteLength(reports.large(bytes).body)).toBe(bytes);
    const extra = Object.keys(JSON.parse(reports.withUnknownFields().body) as object).filter((name) => !(reportFieldNames as readonly string[]).includes(name));
    expect(extra).toEqual(["x_future_field", "x_future_object"]);
  });
});
