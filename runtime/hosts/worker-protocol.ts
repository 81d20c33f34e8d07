/**
 * Messages between an isolated host and one of its workers (a thread or a process). The payload and the result
 * are JSON text: they are parsed once, in the worker, and the result is embedded as it is.
 */

/** Host -> worker. Loading starts when the worker starts; `setup` follows once every worker has loaded. */
export type HostMessage =
  | { type: "setup" }
  | { type: "predict"; id: number; requestId: string; payloadJson: string }
  /** predict()'s signal aborts with an Error of this message (a cancel, shutdown). */
  | { type: "cancel"; id: number; reason: string };

/** Worker -> host. */
export type WorkerMessage =
  | { type: "loaded" }
  | { type: "ready" }
  /** Loading or setup failed; `message` names the file (and line, where known) and the cause. */
  | { type: "failed"; phase: "load" | "setup"; message: string }
  | { type: "result"; id: number; outcome: WorkerOutcome }
  /** An error escaped predictor code outside any prediction (a stray rejection, a throwing timer); it is logged. */
  | { type: "stray"; message: string };

/** One prediction's outcome as the worker reports it (the host stamps the time). */
export type WorkerOutcome = { status: "completed"; resultJson: string } | { status: "failed"; error: string; traceback?: string };

/** One running worker, whatever it is made of. */
export interface WorkerChannel {
  send(message: HostMessage): void;
  /** Ends the worker now (SIGKILL, Worker.terminate); `onExit` follows. */
  kill(): void;
  /** Set by the host before the first message can arrive. */
  onMessage: (message: WorkerMessage) => void;
  /** Called once when the worker is gone, with what ended it (`exit code 1`, `signal SIGKILL`, `out of memory`). */
  onExit: (reason: string) => void;
}

/** Starts one worker of an API; loading begins at once. */
export type SpawnWorker = () => WorkerChannel;
