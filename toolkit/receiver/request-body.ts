import type { IncomingMessage } from "node:http";

/** A request body as far as it is kept. */
export interface ReceivedBody {
  /** The first `maxBytes` bytes. */
  kept: Buffer;
  /** Every byte received, kept or not. */
  totalBytes: number;
  truncated: boolean;
  durationMs: number;
}

/**
 * Reads a request body to its end, keeping at most `maxBytes` and passing every chunk to `onChunk` (the
 * signature check), so a body of any size is checked and read while memory stays bounded.
 */
export async function readRequestBody(
  request: IncomingMessage,
  maxBytes: number,
  onChunk: (chunk: Buffer) => void,
): Promise<ReceivedBody> {
  const started = performance.now();
  const chunks: Buffer[] = [];
  let kept = 0;
  let totalBytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    onChunk(chunk);
    totalBytes += chunk.length;
    if (kept < maxBytes) {
      const part = chunk.length <= maxBytes - kept ? chunk : chunk.subarray(0, maxBytes - kept);
      chunks.push(part);
      kept += part.length;
    }
  }
  return { kept: Buffer.concat(chunks, kept), totalBytes, truncated: totalBytes > kept, durationMs: performance.now() - started };
}
