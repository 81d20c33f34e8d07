import type { Agent } from "undici";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../runtime/errors.js";
import type { MtlsCallbackAuth } from "../../runtime/tasks/task.js";
import { ConnectionPool } from "../../runtime/webhook/connection-pool.js";
import { NetworkGuard } from "../../runtime/webhook/network-guard.js";
import { generateTestCerts, type TestCerts } from "../helpers/test-certs.js";

let certs: TestCerts;
beforeAll(async () => {
  certs = await generateTestCerts();
});

const guard = new NetworkGuard();
const mtls = (pair: { cert: string; key: string }, ca?: string): MtlsCallbackAuth => ({ kind: "mtls", cert: pair.cert, key: pair.key, ...(ca ? { ca } : {}) });
const isClosed = (dispatcher: unknown): boolean => (dispatcher as Agent).closed;

describe("ConnectionPool", () => {
  it("reuses one dispatcher per guard and credential set", async () => {
    const pool = new ConnectionPool();
    const anonymous = pool.dispatcherFor(guard, undefined);
    // Basic auth is a header, not a connection property: it shares the anonymous dispatcher.
    expect(pool.dispatcherFor(guard, { kind: "basic", username: "u", password: "p" })).toBe(anonymous);
    const client = pool.dispatcherFor(guard, mtls(certs.client, certs.ca.cert));
    expect(client).not.toBe(anonymous);
    // Equal PEM text in another object is the same credential set.
    expect(pool.dispatcherFor(guard, { ...mtls(certs.client, certs.ca.cert) })).toBe(client);
    expect(pool.dispatcherFor(guard, mtls(certs.client))).not.toBe(client);
    expect(pool.dispatcherFor(guard, mtls(certs.foreignClient, certs.ca.cert))).not.toBe(client);
    expect(pool.dispatcherFor(new NetworkGuard(), undefined)).not.toBe(anonymous);
    expect(pool.size).toBe(5);
    await pool.close();
  });

  it("closes the least recently used dispatcher beyond its bound", async () => {
    const pool = new ConnectionPool({ maxDispatchers: 2 });
    const first = pool.dispatcherFor(guard, mtls(certs.client));
    const second = pool.dispatcherFor(guard, mtls(certs.foreignClient));
    expect(pool.dispatcherFor(guard, mtls(certs.client))).toBe(first);
    const third = pool.dispatcherFor(guard, undefined);
    expect(pool.size).toBe(2);
    expect(isClosed(second)).toBe(true);
    expect(isClosed(first)).toBe(false);
    expect(pool.dispatcherFor(guard, mtls(certs.client))).toBe(first);
    expect(pool.dispatcherFor(guard, undefined)).toBe(third);
    await pool.close();
  });

  it("closes every dispatcher on close() and refuses new work after", async () => {
    const pool = new ConnectionPool();
    const dispatchers = [pool.dispatcherFor(guard, undefined), pool.dispatcherFor(guard, mtls(certs.client))];
    await pool.close();
    expect(dispatchers.map(isClosed)).toEqual([true, true]);
    expect(pool.size).toBe(0);
    expect(() => pool.dispatcherFor(guard, undefined)).toThrow(expect.objectContaining({ code: ErrorCode.shuttingDown }));
  });
});
