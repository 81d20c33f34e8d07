import type { TaskOutcome } from "../tasks/task.js";
import type { PredictorHost } from "./host.js";

/**
 * The host of an API whose predictions this process does not run (`serve --role`): an AsyncAPI in an `api`
 * process (its tasks are predicted by `worker` processes), a RealtimeAPI in a `worker` process (which serves no API
 * routes). It starts no thread or process, so a model is loaded only where it is used, and it counts as ready, so
 * `/readyz` reflects the APIs the process does run.
 */
export class DormantHost implements PredictorHost {
  readonly readyWorkers = 1;

  constructor(
    readonly capacity: number,
    private readonly reason: string,
  ) {}

  async load(): Promise<void> {}

  async setup(): Promise<void> {}

  async predict(): Promise<TaskOutcome> {
    return { status: "failed", error: this.reason, finishedAt: Date.now() };
  }

  async close(): Promise<void> {}
}
