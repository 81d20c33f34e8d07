/**
 * Counts an API's tasks that are queued or running (or realtime requests in flight) against
 * max_replica_concurrency. Reserving happens synchronously, so two concurrent submits cannot both take the last slot.
 */
export class ApiCapacity {
  #inUse: number;

  constructor(
    readonly max: number,
    inUse = 0,
  ) {
    this.#inUse = inUse;
  }

  /** Tasks queued or running now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes one slot; false when the API is full. */
  tryReserve(): boolean {
    if (this.#inUse >= this.max) return false;
    this.#inUse++;
    return true;
  }

  /** Returns one slot (a task finished, or a reservation turned out to be a duplicate). */
  release(): void {
    if (this.#inUse > 0) this.#inUse--;
  }
}
