/** What a {@link BacklogDrain} drains: the store, and how much room there is to start work. */
export interface BacklogDrainOptions {
  /** Work that can start now (free slots not taken by running or promised work). */
  room(): number;
  /** Takes up to `limit` waiting items from the store and starts them; resolves to how many it took. */
  take(limit: number): Promise<number>;
  /** The backlog was found empty after a pass (a moment to look further ahead, such as at scheduled retries). */
  onCaughtUp?(): Promise<void>;
  /** A take or onCaughtUp failed: the owner decides when to {@link BacklogDrain.kick} again. */
  onError(error: unknown): void;
}

/**
 * Takes waiting work from the store while there is room, one pass at a time, woken instead of polling: by
 * {@link queued} (work was stored) and {@link kick} (room may have freed). It remembers whether waiting work may
 * exist, so a freed slot costs no query when nothing waits, and so its owner can tell whether new work may start
 * at once without jumping the queue ({@link backlog}).
 */
export class BacklogDrain {
  readonly #options: BacklogDrainOptions;
  /** Waiting work may exist. Starts true: an earlier process may have left some. */
  #backlog = true;
  /** Counts {@link queued} calls, so a take that raced with one does not clear {@link #backlog}. */
  #signals = 0;
  #enabled = false;
  #draining = false;
  #wokenWhileDraining = false;

  constructor(options: BacklogDrainOptions) {
    this.#options = options;
  }

  /** Waiting work may exist in the store. */
  get backlog(): boolean {
    return this.#backlog;
  }

  /** A pass is running. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts draining (and drains what an earlier process left). */
  enable(): void {
    this.#enabled = true;
    this.kick();
  }

  /** Stops starting passes; a running pass ends after its current take. */
  disable(): void {
    this.#enabled = false;
  }

  /** Work was stored: drain it. Cheap, and safe to call at any time. */
  queued(): void {
    this.#backlog = true;
    this.#signals++;
    this.kick();
  }

  /** Room may have freed: drain if work may be waiting. Cheap, and safe to call at any time. */
  kick(): void {
    if (!this.#enabled || !this.#backlog) return;
    if (this.#draining) {
      this.#wokenWhileDraining = true;
      return;
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      do {
        this.#wokenWhileDraining = false;
        while (this.#enabled && this.#backlog) {
          const room = this.#options.room();
          if (room <= 0) break;
          const signalsBefore = this.#signals;
          const taken = await this.#options.take(room);
          // Nothing more waits unless work was queued while this take was on its way.
          if (taken < room && this.#signals === signalsBefore) this.#backlog = false;
          if (taken === 0) break;
        }
      } while (this.#wokenWhileDraining && this.#enabled);
      if (!this.#backlog && this.#enabled) await this.#options.onCaughtUp?.();
    } catch (error) {
      this.#options.onError(error);
    } finally {
      this.#draining = false;
    }
  }
}
