import type { ConformanceProgress } from "../conformance-options.js";

/** Where progress goes: stderr, or anything shaped like it. */
export interface ProgressStream {
  write(text: string): unknown;
  /** True on a terminal: one line is redrawn in place. */
  isTTY?: boolean;
  columns?: number;
}

/** Erase the current terminal line and return to its start. */
const clearLine = "\r\u001b[2K";

/**
 * Shows the run's progress: on a terminal one line, redrawn as each check starts; otherwise (CI logs, files) a
 * plain line per finished check, so a log shows how far a run got even if it is killed.
 */
export class ProgressLine {
  readonly #stream: ProgressStream;
  #drawn = false;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
  }

  /** Feed it every event of `runConformance`'s `onProgress`. */
  update(event: ConformanceProgress): void {
    if (event.type === "run-started") {
      this.#stream.write(`conform: ${event.total} checks against ${event.url}\n`);
      return;
    }
    const counter = `[${String(event.index + 1).padStart(String(event.total).length)}/${event.total}]`;
    if (this.#stream.isTTY === true) {
      if (event.type !== "check-started") return;
      const text = `${counter} checking ${event.id} ...`;
      this.#stream.write(`${clearLine}${text.slice(0, Math.max(20, (this.#stream.columns ?? 80) - 1))}`);
      this.#drawn = true;
    } else if (event.type === "check-finished") {
      this.#stream.write(`${counter} ${event.result.verdict.padEnd(4)} ${event.result.id}\n`);
    }
  }

  /** Removes the live line (on a terminal) so what follows starts clean. */
  finish(): void {
    if (this.#drawn) this.#stream.write(clearLine);
    this.#drawn = false;
  }
}
