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
  #failed = 0;

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
    if (event.type === "check-finished" && event.result.verdict === "fail") this.#failed += 1;
    if (this.#stream.isTTY === true) {
      if (event.type !== "check-started") return;
      const failures = this.#failed === 0 ? "" : ` (${this.#failed} failed so far)`;
      const text = `${counter} checking ${event.id} ...${failures}`;
      // A pseudo-terminal may report 0 columns; then assume the classic 80.
      const columns = this.#stream.columns !== undefined && this.#stream.columns > 0 ? this.#stream.columns : 80;
      this.#stream.write(`${clearLine}${text.slice(0, columns - 1)}`);
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
