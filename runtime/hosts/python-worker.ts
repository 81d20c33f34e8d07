import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { isTooDeep } from "../shared/json-depth.js";
import { RESULT_TOO_DEEP } from "../worker/run-prediction.js";
import type { HostMessage, WorkerChannel, WorkerMessage, WorkerOutcome } from "./worker-protocol.js";

/** The host program, shipped beside this module (and beside its compiled form). */
const HOST_PROGRAM = fileURLToPath(new URL("./python/host.py", import.meta.url));

/** Options of {@link spawnPythonWorker}. */
export interface PythonWorkerOptions {
  api: string;
  path: string;
  config: Readonly<Record<string, unknown>>;
  /** The interpreter: a path, or a name looked up on PATH. */
  executable: string;
  /** threads_per_process: the host program runs this many predictions at once on threads. */
  concurrency: number;
  log: Logger;
}

/** Lines of the process's stderr kept to explain an exit that happens before the host program could say why. */
const STDERR_TAIL_LINES = 5;

/**
 * Starts one Python process running the host program on the predictor file. Messages cross the pipe as a JSON header
 * line, followed, for payloads and results, by their JSON text as `length` raw bytes, so neither is parsed twice nor
 * escaped into a string. The predictor's own prints go to stderr, which is logged.
 */
export function spawnPythonWorker(options: PythonWorkerOptions): WorkerChannel {
  const child = spawn(options.executable, ["-u", HOST_PROGRAM], {
    stdio: ["pipe", "pipe", "pipe"],
    // The predictor's folder, so a model file beside it opens by its bare name.
    cwd: dirname(options.path),
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
  });
  let exited = false;
  const stderrTail: string[] = [];
  const channel: WorkerChannel = {
    send: (message) => writeMessage(child.stdin, message),
    kill: () => {
      if (!exited) child.kill("SIGKILL");
    },
    onMessage: () => undefined,
    onExit: () => undefined,
  };
  const exit = (reason: string): void => {
    if (exited) return;
    exited = true;
    channel.onExit(reason);
  };

  child.on("error", (error: NodeJS.ErrnoException) => {
    if (child.pid !== undefined) return; // Running: the exit event tells the rest.
    exit(
      error.code === "ENOENT"
        ? `python_executable "${options.executable}" was not found; install Python 3 or set predictor.python_executable to the interpreter's path`
        : `cannot start python_executable "${options.executable}": ${error.message}`,
    );
  });
  child.stdin.on("error", () => undefined); // A dead process's pipe: its exit is reported on its own.
  let pipesClosed = false;
  child.on("close", () => {
    pipesClosed = true;
  });
  child.on("exit", (code, signal) => {
    const report = (): void => {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      // Before the host program spoke (an interpreter too old to run it, say) stderr is the only explanation.
      const tail = !spoke && stderrTail.length > 0 ? `: ${stderrTail.join(" | ")}` : "";
      exit(code === 0 || signal ? how : `${how}${tail}`);
    };
    // Let the last output arrive first; but a process the predictor started may hold stderr open after the host
    // program is gone, so do not wait for the pipes for long.
    if (pipesClosed) report();
    else {
      child.once("close", report);
      setTimeout(report, 1000).unref();
    }
  });

  let stderrRest = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    const lines = (stderrRest + chunk).split("\n");
    stderrRest = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      stderrTail.push(line.trim());
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      options.log.info({ api: options.api, pid: child.pid, stream: "stderr" }, line);
    }
  });

  let spoke = false;
  child.stdout.on(
    "data",
    frameReader((message) => {
      spoke = true;
      channel.onMessage(message);
    }),
  );

  writeHeader(child.stdin, { type: "load", path: options.path, config: options.config, threads: options.concurrency });
  return channel;
}

function writeHeader(stdin: NodeJS.WritableStream, header: object): void {
  stdin.write(`${JSON.stringify(header)}\n`);
}

function writeMessage(stdin: NodeJS.WritableStream, message: HostMessage): void {
  if (message.type === "predict") {
    const body = Buffer.from(message.payloadJson, "utf8");
    stdin.write(`${JSON.stringify({ type: "predict", id: message.id, request_id: message.requestId, length: body.length })}\n`);
    stdin.write(body);
  } else {
    writeHeader(stdin, message);
  }
}

/** The host program's header, as it writes it. */
type PythonHeader =
  | { type: "loaded" | "ready" }
  | { type: "failed"; phase: "load" | "setup"; message: string }
  | { type: "result"; id: number; status: "completed"; length: number }
  | { type: "result"; id: number; status: "failed"; error: string; traceback?: string };

/** Splits the host program's output into messages: header lines, each completed result followed by its bytes. */
function frameReader(onMessage: (message: WorkerMessage) => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  let awaiting: { id: number; length: number } | undefined;
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      if (awaiting) {
        if (buffered.length < awaiting.length) return;
        const resultJson = buffered.subarray(0, awaiting.length).toString("utf8");
        buffered = buffered.subarray(awaiting.length);
        // Python nests as deep as its recursion limit allows; the runtime carries only what its own surfaces accept.
        const outcome: WorkerOutcome = isTooDeep(resultJson) ? { status: "failed", error: RESULT_TOO_DEEP } : { status: "completed", resultJson };
        onMessage({ type: "result", id: awaiting.id, outcome });
        awaiting = undefined;
        continue;
      }
      const newline = buffered.indexOf(10);
      if (newline < 0) return;
      const header = JSON.parse(buffered.subarray(0, newline).toString("utf8")) as PythonHeader;
      buffered = buffered.subarray(newline + 1);
      if (header.type === "result") {
        if (header.status === "completed") awaiting = { id: header.id, length: header.length };
        else onMessage({ type: "result", id: header.id, outcome: { status: "failed", error: header.error, ...(header.traceback ? { traceback: header.traceback } : {}) } });
      } else {
        onMessage(header);
      }
    }
  };
}
