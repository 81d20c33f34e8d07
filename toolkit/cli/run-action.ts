import { ToolkitError } from "../errors.js";

/** Exit codes of contract section 5: 1 a job failed, 2 bad usage or bad config. */
const exitCode = { failed: 1, usage: 2 } as const;

/**
 * Runs a verb's action and turns its errors into a message on stderr and an exit code, so the CLI never dies
 * with a stack trace. A ToolkitError is the user's to fix (exit 2); anything else is a failure (exit 1). Error
 * messages never carry secrets, so printing them is safe.
 */
export async function runAction(verb: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`predictor-runtime ${verb}: ${message}\n`);
    process.exitCode = error instanceof ToolkitError ? exitCode.usage : exitCode.failed;
  }
}
