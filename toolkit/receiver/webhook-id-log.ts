/**
 * The `webhook-id`s of requests that passed verification, for the `webhook_id_repeated` rule condition. Bounded:
 * past `maxIds` the oldest are forgotten, so a receiver left running for days keeps constant memory.
 */
export class WebhookIdLog {
  readonly #ids = new Set<string>();
  readonly #maxIds: number;

  /** @param maxIds ids remembered; the default matches the receiver's `maxDeliveries` default. */
  constructor(maxIds = 10_000) {
    this.#maxIds = maxIds;
  }

  /** Whether `id` was added since the last clear() (and not yet forgotten). */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id`, forgetting the oldest past the bound. */
  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    for (const oldest of this.#ids) {
      if (this.#ids.size <= this.#maxIds) break;
      this.#ids.delete(oldest);
    }
  }

  /** Forgets every id. */
  clear(): void {
    this.#ids.clear();
  }
}
