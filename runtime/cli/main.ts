import { Command, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { commandModules } from "./commands.js";
import { ExitCode } from "./exit-code.js";

/** Builds the `predictor-runtime` program with every verb registered. */
export function buildProgram(): Command {
  const program = new Command("predictor-runtime")
    .description("Serve TypeScript predictors with queued async tasks and durable, signed webhook reports.")
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  for (const register of commandModules) register(program);
  return program;
}

/** Runs the CLI and resolves to its exit code; never calls process.exit itself, so tests can drive it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    throw error;
  }
}
