/** Where a task is in its life: queued, running, or finished one way or another (Cortex names). */
export type TaskStatus = "in_queue" | "in_progress" | "completed" | "failed" | "cancelled";

/** The statuses a task ends in. */
export const FINISHED_STATUSES: readonly TaskStatus[] = ["completed", "failed", "cancelled"];

/** Which surface a task came in through; it decides the shape of its status answer and webhook report. */
export type ReportFormat = "cortex" | "launch" | "modelbit";

/** A stored format name as the format it names (storage written before a format existed holds only older ones). */
export function formatOf(stored: string | undefined): ReportFormat {
  return stored === "launch" || stored === "modelbit" ? stored : "cortex";
}

/** Credentials for calling a receiver with HTTP basic auth. */
export interface BasicCallbackAuth {
  kind: "basic";
  username: string;
  password: string;
}

/** Credentials for calling a receiver with a client certificate; PEM text, not file paths. */
export interface MtlsCallbackAuth {
  kind: "mtls";
  cert: string;
  key: string;
  /** Trust anchor for the receiver's certificate; without it Node's trust store applies. */
  ca?: string;
}

/** How the runtime authenticates to a receiver. */
export type CallbackAuth = BasicCallbackAuth | MtlsCallbackAuth;

/** A callback given with one request; each part overrides the API's default independently (Launch semantics). */
export interface CallbackTarget {
  /** Absent: the report goes to the API's default_callback_url. */
  url?: string;
  /** Absent: the API's default_callback_auth applies where it may (see `defaultAuthFor`). */
  auth?: CallbackAuth;
  /** Overrides the API's webhook.ignore_timeout for this report (Modelbit's response_webhook_ignore_timeout). */
  ignoreTimeout?: boolean;
  /** The request itself asked for a report (Modelbit's response_webhook): sent whatever post_inference_hooks says. */
  requested?: boolean;
}

/** What a client submitted, as the store records it before the task is acknowledged. */
export interface NewTask {
  id: string;
  api: string;
  format: ReportFormat;
  /** The client's `x-request-id`: a second submit with the same key (per API) returns this task. */
  idempotencyKey?: string;
  /**
   * The payload as the JSON text it arrived as. It stays text everywhere it is stored or crosses a thread or
   * process, and is parsed once, where predict() runs: text cannot wedge a structured clone or blow a stack.
   */
  payloadJson: string;
  /**
   * The payload is a batch, `[[ID, payload], ...]`: predict() runs once per item and the result is
   * `[[ID, result], ...]`, sorted by ID; the task fails when any item fails.
   */
  batch?: boolean;
  callback?: CallbackTarget;
  /** Epoch milliseconds. */
  createdAt: number;
  /**
   * Set when the task starts at once (a worker slot was free and nothing was queued): it is stored already
   * in_progress, so no separate claim is needed. Epoch milliseconds.
   */
  startedAt?: number;
}

/** How a task ended. */
export type TaskOutcome =
  | {
      status: "completed";
      /**
       * What predict() returned, as JSON text serialized once where it ran: the report, the stored outcome and the
       * answers embed this text and never parse it.
       */
      resultJson: string;
      finishedAt: number;
    }
  | {
      status: "failed";
      /** What predict() threw, as a message a user can read. */
      error: string;
      /** The stack, when there was one; shown as Launch's `traceback`. */
      traceback?: string;
      /** predict() ran past predict_timeout_s (a realtime request answers 504 rather than 500). */
      timedOut?: true;
      finishedAt: number;
    }
  /** Cancelled by a client (DELETE /NAME/ID) before it finished. */
  | { status: "cancelled"; finishedAt: number };

/** Where a task's one webhook report stands. */
export type WebhookStatus = "pending" | "delivered" | "failed" | "skipped";

/** The webhook part of a status answer. */
export interface WebhookState {
  status: WebhookStatus;
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
}

/** A task as stored, with its outcome once finished. */
export interface TaskRecord extends NewTask {
  status: TaskStatus;
  startedAt?: number;
  outcome?: TaskOutcome;
  /** Present once the task has finished and a report was due (or deliberately skipped). */
  webhook?: WebhookState;
}
