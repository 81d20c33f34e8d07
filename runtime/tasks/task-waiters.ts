import type { Engine } from "../engine/engine.js";
import { FINISHED_STATUSES, type TaskRecord } from "./task.js";

/** How often a waiter looks at the store itself, for a task finished where no event reaches it (another process). */
const POLL_MS = 1000;

/**
 * Lets a request wait for a task to finish (Modelbit's synchronous form on an AsyncAPI): woken at once when a worker
 * of this process settles the task, and otherwise by a look at the engine every second.
 */
export class TaskWaiters {
  readonly #engine: Pick<Engine, "get">;
  readonly #waiting = new Map<string, Set<() => void>>();

  constructor(engine: Pick<Engine, "get">) {
    this.#engine = engine;
  }

  /** A task finished (or was cancelled) in this process. */
  settled(taskId: string): void {
    const wakers = this.#waiting.get(taskId);
    if (wakers === undefined) return;
    for (const wake of wakers) wake();
  }

  /** Resolves with the task once it finished; undefined if it disappeared (swept). `signal` gives up early. */
  async finished(taskId: string, signal?: AbortSignal): Promise<TaskRecord | undefined> {
    let wake!: () => void;
    let woken = new Promise<void>((resolve) => (wake = resolve));
    const waker = (): void => wake();
    const wakers = this.#waiting.get(taskId) ?? new Set();
    wakers.add(waker);
    this.#waiting.set(taskId, wakers);
    const onAbort = (): void => wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        // Registered before reading, so a finish between the read and the wait still wakes it.
        const task = await this.#engine.get(taskId);
        if (task === undefined || FINISHED_STATUSES.includes(task.status) || signal?.aborted) return task;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, POLL_MS)))]);
        clearTimeout(timer);
        woken = new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      wakers.delete(waker);
      if (wakers.size === 0) this.#waiting.delete(taskId);
    }
  }
}
