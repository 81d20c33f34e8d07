/** Counts and the chart are read at most this often, however many tabs poll. */
export const MIN_REFRESH_MS = 1000;
/**
 * And at most this share of the time: a count scans an API's kept tasks (a large store makes it slow), and its
 * query runs in the engine's thread, between the batches that store tasks; the console must not slow them.
 */
export const MAX_DUTY = 0.05;

/**
 * Runs `read` again only when its last answer is older than MIN_REFRESH_MS and than its own duration over
 * MAX_DUTY; callers in between share the last answer (or the read under way).
 */
export class ThrottledReads {
  readonly #entries = new Map<string, { at: number; tookMs: number; value: Promise<unknown> }>();

  read<T>(key: string, now: number, read: () => Promise<T>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.at < Math.max(MIN_REFRESH_MS, entry.tookMs / MAX_DUTY)) return entry.value as Promise<T>;
    const started = Date.now();
    const value = read();
    const fresh = { at: now, tookMs: 0, value: value as Promise<unknown> };
    this.#entries.set(key, fresh);
    value.then(
      () => (fresh.tookMs = Date.now() - started),
      () => this.#entries.delete(key), // A failed read is not kept: the next poll tries again.
    );
    return value;
  }
}
