/** Lets at most `max` holders run at once; the rest wait in arrival order. */
export class ConcurrencyLimiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Holders running now. */
  get active(): number {
    return this.#active;
  }

  /** Holders waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Free slots right now. */
  get free(): number {
    return Math.max(0, this.#max - this.#active);
  }

  /** Takes a slot if one is free; the caller must `release()` it. */
  tryAcquire(): boolean {
    if (this.#active >= this.#max) return false;
    this.#active++;
    return true;
  }

  /** Waits for a slot; the caller must `release()` it. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives a slot back, handing it straight to the longest waiter. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}
