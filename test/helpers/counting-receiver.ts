import { createServer, type Server } from "node:http";

/** A receiver that counts the reports of each task id (Cortex `id`), repeats included: for loss and duplicate checks. */
export interface CountingReceiver {
  server: Server;
  /** `http://127.0.0.1:PORT/hook` */
  url: string;
  reports: Map<string, { count: number; status: unknown }>;
}

/**
 * Starts a counting receiver on `port` (0 picks one; a reserved port lets a test start it after the runtime, so
 * callbacks are refused until then). Each answer waits `delayMs`, so deliveries are in flight for that long.
 */
export async function startCountingReceiver(options: { port?: number; delayMs?: number } = {}): Promise<CountingReceiver> {
  const reports = new Map<string, { count: number; status: unknown }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const report = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string; status: unknown };
      const record = (): void => {
        const seen = reports.get(report.id);
        reports.set(report.id, { count: (seen?.count ?? 0) + 1, status: report.status });
        res.writeHead(200).end();
      };
      if (options.delayMs) setTimeout(record, options.delayMs);
      else record();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/hook`, reports };
}
