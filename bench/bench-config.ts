import { join, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "..");

/**
 * The runtime's bench config: one AsyncAPI with the no-op predictor, reports to the harness's receiver. Keys are
 * written only when they differ from the default, so a `--baseline` checkout from before they existed accepts it.
 */
export function benchConfig(receiverUrl: string, predictor: string, options: { threads: number; maxQueue: number; predictorConfig?: string; inProcess?: boolean }): string {
  return `- name: noop
  kind: AsyncAPI
  predictor:
    type: typescript
    path: ${join(REPO_ROOT, "bench/predictors", predictor)}
    threads_per_process: ${options.threads}${options.inProcess ? "\n    in_process: true" : ""}
    config: ${options.predictorConfig ?? "{}"}
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: ${receiverUrl}
    allow_networks: [127.0.0.0/8]
  autoscaling:
    max_replica_concurrency: ${options.maxQueue}
`;
}

/** `node` arguments that run the runtime as a user would: `serve` on `workDir`'s cortex.yaml and data dir, port 0. */
export function runtimeServeArgs(workDir: string, extra: readonly string[], checkout: string = REPO_ROOT): string[] {
  const config = join(workDir, "cortex.yaml");
  return [join(checkout, "bin/predictor-runtime.js"), "serve", "--config", config, "--port", "0", "--data-dir", join(workDir, "data"), ...extra];
}
