/**
 * Every timer the receiver starts (answer delays, dribbles, waits, keep-alives) goes through one registry, so
 * close() can cancel them all and a closed receiver never keeps the process alive or fires late.
 */
export class TimerRegistry {
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  /** Runs `callback` after `ms` unless cancelled; returns the cancel function. */
  set(callback: () => void, ms: number): () => void {
    if (this.#closed) return () => undefined;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, ms);
    this.#timers.set(timer, () => undefined);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  /** Runs `callback` every `ms` until cancelled. */
  every(callback: () => void, ms: number): () => void {
    if (this.#closed) return () => undefined;
    const timer = setInterval(callback, ms);
    this.#timers.set(timer, () => undefined);
    return () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    };
  }

  /** Resolves `true` after `ms`, or `false` at once when the registry is (or gets) closed. */
  sleep(ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve(true);
      }, ms);
      this.#timers.set(timer, () => resolve(false));
    });
  }

  /** Number of live timers (tests check that close() leaves none). */
  get size(): number {
    return this.#timers.size;
  }

  /** Cancels every timer, wakes every sleeper with `false`, and refuses new timers. */
  close(): void {
    this.#closed = true;
    for (const [timer, onCancel] of this.#timers) {
      clearTimeout(timer);
      onCancel();
    }
    this.#timers.clear();
  }
}
