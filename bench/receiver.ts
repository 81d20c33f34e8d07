import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The bench payload: when it was (meant to be) submitted, and by which closed-loop user. */
export interface BenchPayload {
  /** performance.now() in the harness when the task was due to be submitted. */
  t: number;
  /** Closed-loop user index; -1 in open-loop runs. */
  u: number;
  /** Filler, to give payloads a realistic size. */
  pad?: string;
}

/** A webhook report carrying a bench payload back, as far as the harness reads it. */
export interface ReceivedReport {
  payload: BenchPayload;
  receivedAt: number;
}

/** The webhook receiver both systems call back; it lives in the harness so the latency clock is one clock. */
export interface BenchReceiver {
  readonly url: string;
  readonly port: number;
  /** Reports received so far (duplicates included). */
  readonly received: number;
  /** Replaces the handler called for each report. */
  onReport(handler: (report: ReceivedReport) => void): void;
  close(): Promise<void>;
}

/**
 * The cheapest receiver node:http allows: read the body, parse it, answer 200. Both systems under test pay the
 * same cost to reach it, so it does not tilt the ratio.
 */
export async function startBenchReceiver(): Promise<BenchReceiver> {
  let handler: (report: ReceivedReport) => void = () => undefined;
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const receivedAt = performance.now();
      res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}");
      received++;
      try {
        const report = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { result?: BenchPayload };
        if (report.result && typeof report.result.t === "number") handler({ payload: report.result, receivedAt });
      } catch {
        // Not a bench report; counted, otherwise ignored.
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    get received() {
      return received;
    },
    onReport(next) {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
