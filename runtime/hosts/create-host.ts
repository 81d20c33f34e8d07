import type { Logger } from "pino";
import type { ApiConfig } from "../config/api-config.js";
import { EventLoopHost } from "./event-loop-host.js";
import type { PredictorHost } from "./host.js";
import { IsolatedHost } from "./isolated-host.js";
import { spawnPythonWorker } from "./python-worker.js";
import { spawnThreadWorker } from "./thread-worker.js";

/** The host an API's config asks for: the event loop (`in_process`), worker threads (typescript) or Python processes. */
export function createHost(api: ApiConfig, log: Logger, now?: () => number): PredictorHost {
  const { predictor } = api;
  if (predictor.inProcess) return EventLoopHost.forApi(api, now);
  const spawn =
    predictor.type === "python"
      ? () => spawnPythonWorker({ api: api.name, path: predictor.path, config: predictor.config, executable: predictor.pythonExecutable, concurrency: predictor.threadsPerProcess, log })
      : () => spawnThreadWorker({ path: predictor.path, config: predictor.config });
  return new IsolatedHost({
    api: api.name,
    file: predictor.path,
    workers: predictor.processesPerReplica,
    concurrency: predictor.threadsPerProcess,
    ...(predictor.predictTimeoutMs === undefined ? {} : { timeoutMs: predictor.predictTimeoutMs }),
    spawn,
    log,
    ...(now ? { now } : {}),
  });
}
