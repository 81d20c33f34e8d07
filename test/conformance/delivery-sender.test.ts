import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DeliverySender } from "../../toolkit/conformance/delivery-sender.js";
import { describeOutcome, isRejection, type SendOutcome } from "../../toolkit/conformance/send-outcome.js";
import { startReceiver, type MockReceiver } from "../../toolkit/receiver/receiver.js";
import type { ReceiverOptions } from "../../toolkit/receiver/receiver-options.js";
import { useCertificates } from "./helpers/fixtures.js";

const fixtures = useCertificates();
const open: MockReceiver[] = [];
const senders: DeliverySender[] = [];
afterEach(async () => {
  await Promise.all([...open.splice(0).map((receiver) => receiver.close()), ...senders.splice(0).map((sender) => sender.close())]);
});

const delivery = { body: '{"id":"t1"}', headers: { "content-type": "application/json" } };

async function sendTo(receiverOptions: ReceiverOptions, senderOptions: { mtls?: boolean; timeoutMs?: number } = {}): Promise<SendOutcome> {
  const receiver = await startReceiver(receiverOptions);
  open.push(receiver);
  const sender = new DeliverySender({ url: new URL(`${receiver.url}/hook`), mtls: senderOptions.mtls === true ? fixtures.certs() : undefined, timeoutMs: senderOptions.timeoutMs ?? 5000 });
  senders.push(sender);
  return sender.send(delivery);
}

describe("the delivery sender says how each delivery ended", () => {
  it("answered: status, headers, the start of the body, and the time to the status line", async () => {
    const outcome = await sendTo({ rules: [{ statuses: [418], body: "x".repeat(10_000), headers: { "x-reason": "teapot" }, delay_ms: 60 }] });
    expect(outcome).toMatchObject({ kind: "answered", status: 418, headers: { "x-reason": "teapot" } });
    if (outcome.kind !== "answered") throw new Error("unreachable");
    expect(outcome.body.length).toBe(2048);
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(55);
    expect(describeOutcome(outcome)).toMatch(/^418 x{117}\.\.\. after \d+ ms$/);
  });

  it("timeout: no answer within the limit (a hanging receiver), measured", async () => {
    const outcome = await sendTo({ rules: [{ fault: "hang" }] }, { timeoutMs: 300 });
    expect(outcome.kind).toBe("timeout");
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(290);
    expect(describeOutcome(outcome)).toMatch(/^no answer within \d+ ms$/);
  });

  it("broken: a reset, a close without an answer, or an answer that is not HTTP", async () => {
    for (const fault of ["reset", "empty", "malformed"] as const) {
      const outcome = await sendTo({ rules: [{ fault }] });
      expect(outcome.kind, fault).toBe("broken");
      expect(isRejection(outcome), fault).toBe(false);
      expect(isRejection(outcome, { certificateOnTrial: true }), fault).toBe(true);
    }
  });

  it("unreachable: nothing listens, or this side does not trust the receiver's certificate", async () => {
    const receiver = await startReceiver();
    const url = new URL(`${receiver.url}/hook`);
    await receiver.close();
    const closed = new DeliverySender({ url, mtls: undefined, timeoutMs: 5000 });
    senders.push(closed);
    const refused = await closed.send(delivery);
    expect(refused).toMatchObject({ kind: "unreachable", error: expect.stringContaining("ECONNREFUSED") as unknown });

    // An https receiver whose CA is not in Node's trust store, and no --mtls to trust it.
    const untrusted = await sendTo({ tls: fixtures.certs().server });
    expect(untrusted.kind).toBe("unreachable");
    expect(describeOutcome(untrusted)).toContain("its certificate is not trusted here, UNABLE_TO_VERIFY_LEAF_SIGNATURE: pass --mtls DIR to trust DIR/ca.pem, or NODE_EXTRA_CA_CERTS");
  });

  it("trusts the fixture CA under mTLS and presents the good client certificate", async () => {
    const certs = fixtures.certs();
    const outcome = await sendTo({ tls: certs.server, clientCa: certs.ca.cert }, { mtls: true });
    expect(outcome).toMatchObject({ kind: "answered", status: 200 });
  });

  describe("a TLS server that refuses the handshake itself", () => {
    let server: TlsServer | undefined;
    const sockets = new Set<Socket>();
    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    });

    it("counts as a rejection where the certificate is on trial", async () => {
      const certs = fixtures.certs();
      server = createTlsServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true }, (socket) =>
        socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
      );
      server.on("tlsClientError", () => undefined);
      server.on("connection", (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
      const url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
      const sender = new DeliverySender({ url, mtls: certs, timeoutMs: 5000 });
      senders.push(sender);
      for (const identity of ["none", "client-expired", "client-foreign-ca"] as const) {
        const outcome = await sender.send(delivery, identity);
        expect(["tls-refused", "broken"], `${identity}: ${describeOutcome(outcome)}`).toContain(outcome.kind);
        expect(isRejection(outcome, { certificateOnTrial: true }), identity).toBe(true);
      }
      expect(await sender.send(delivery, "client")).toMatchObject({ kind: "answered", status: 200 });
    });
  });
});
