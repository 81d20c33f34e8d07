import { request } from "undici";
import { describe, expect, it } from "vitest";
import { resendAllowed } from "../../toolkit/receiver/admin/resend.js";
import { startRecorder } from "../helpers/recorder.js";
import { useReceivers } from "./helpers/receivers.js";

const start = useReceivers();

async function resend(receiverUrl: string, body: unknown, contentType = "application/json"): Promise<{ status: number; json: any }> {
  const answer = await request(`${receiverUrl}/_/resend`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": contentType } });
  return { status: answer.statusCode, json: await answer.body.json() };
}

describe("POST /_/resend", () => {
  it("sends a recorded delivery byte for byte to a loopback URL and shows the answer; is not itself recorded", async () => {
    const receiver = await start();
    const target = await startRecorder((_request, _index, res) => res.writeHead(418, { "x-target": "yes" }).end("short and stout"));
    try {
      const raw = '{"b": 2,  "a": 1}';
      await (await request(`${receiver.url}/hook?q=1`, { method: "PUT", body: raw, headers: { "content-type": "application/json", "webhook-id": "msg_1" } })).body.dump();
      const answer = await resend(receiver.url, { id: "1", url: `${target.url}/elsewhere` });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ status: 418, body: "short and stout", headers: { "x-target": "yes" } });
      const [arrived] = await target.waitFor(1);
      expect(arrived).toMatchObject({ method: "PUT", path: "/elsewhere", body: raw });
      expect(arrived!.headers["webhook-id"]).toBe("msg_1");
      expect(receiver.deliveries).toHaveLength(1);
    } finally {
      await target.close();
    }
  });

  it("refuses a form post (no preflight from another site), an unknown delivery, and a target outside loopback and --allow-resend", async () => {
    const receiver = await start({ resendAllow: ["http://192.0.2.10/hooks/"] });
    await (await request(`${receiver.url}/hook`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).body.dump();
    expect((await resend(receiver.url, "id=1&url=http://127.0.0.1:1/", "application/x-www-form-urlencoded")).status).toBe(415);
    expect((await resend(receiver.url, { id: "99", url: "http://127.0.0.1:1/" })).status).toBe(404);
    const outside = await resend(receiver.url, { id: "1", url: "http://192.0.2.10/other" });
    expect(outside.status).toBe(403);
    expect(outside.json.error).toContain("--allow-resend");
    // Unreachable but allowed: answered with the error, not a failure of the admin API.
    const unreachable = await resend(receiver.url, { id: "1", url: "http://127.0.0.1:1/closed" });
    expect(unreachable.status).toBe(200);
    expect(unreachable.json.error).toBeTruthy();
  });

  it("allows loopback literals and localhost, and prefixes given; never a name that merely resolves here", () => {
    const allowed = ["https://staging.example.com/hooks/"];
    for (const url of ["http://127.0.0.1:9/x", "http://127.1.2.3/x", "http://[::1]:8/x", "http://localhost:1/x", "https://staging.example.com/hooks/a"]) {
      expect(resendAllowed(new URL(url), allowed), url).toBe(true);
    }
    for (const url of ["http://localtest.me/x", "https://staging.example.com/other", "https://staging.example.com.evil.io/hooks/", "file:///etc/passwd", "http://10.0.0.1/"]) {
      expect(resendAllowed(new URL(url), allowed), url).toBe(false);
    }
  });
});
