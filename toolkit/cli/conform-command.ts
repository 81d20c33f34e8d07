import { constants } from "node:fs";
import { access, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Option, type Command } from "commander";
import type { RegisterCommand } from "../../runtime/cli/commands.js";
import type { ReportFormat } from "../../runtime/tasks/task.js";
import { toJsonReport } from "../conformance/output/json-report.js";
import { toJunitXml } from "../conformance/output/junit-report.js";
import { ProgressLine } from "../conformance/output/progress-line.js";
import { summaryLine, toTable } from "../conformance/output/table-report.js";
import { runConformance } from "../conformance/run-conformance.js";
import { ToolkitError, ToolkitErrorCode } from "../errors.js";
import { runAction } from "./run-action.js";

interface ConformFlags {
  format: ReportFormat;
  secret?: string;
  basic?: string;
  mtls?: string;
  junit?: string;
  json?: boolean;
}

/** `predictor-runtime conform URL`: checks a webhook receiver clause by clause (contract section 6). */
export const registerConformCommand: RegisterCommand = (program: Command) => {
  program
    .command("conform")
    .description("check that a webhook receiver acknowledges reports and refuses bad signatures, credentials and certificates; exit 0 only if every applicable check passes")
    .argument("<url>", "the receiver's URL, http:// or https:// (for a private CA without --mtls, set NODE_EXTRA_CA_CERTS)")
    .addOption(new Option("--format <format>", "report bodies to send").choices(["cortex", "launch"]).default("cortex"))
    .option("--secret <whsec>", "the receiver's Standard Webhooks secret: sign every delivery and run the signature checks")
    .option("--basic <user:pass>", "basic credentials: send them with every delivery and run the basic auth checks")
    .option("--mtls <dir>", "certificate fixtures from `predictor-runtime certs`: present DIR/client.pem, trust DIR/ca.pem, run the client certificate checks")
    .option("--junit <file>", "also write the results as JUnit XML to FILE")
    .option("--json", 'print {"passed", "checks": [...]} on stdout instead of the table (progress stays on stderr)')
    .action((url: string, flags: ConformFlags) => runAction("conform", () => conform(url, flags)));
};

async function conform(url: string, flags: ConformFlags): Promise<void> {
  if (flags.junit !== undefined) await checkWritable(flags.junit);
  const progress = new ProgressLine(process.stderr);
  const report = await runConformance({
    url,
    format: flags.format,
    ...(flags.secret === undefined ? {} : { secret: flags.secret }),
    ...(flags.basic === undefined ? {} : { basic: flags.basic }),
    ...(flags.mtls === undefined ? {} : { mtls: flags.mtls }),
    onProgress: (event) => progress.update(event),
  });
  progress.finish();
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(toJsonReport(report), null, 2)}\n`);
    process.stderr.write(`${summaryLine(report)}\n`);
  } else {
    process.stdout.write(toTable(report, { width: process.stdout.columns ?? 120 }));
  }
  if (flags.junit !== undefined) {
    await writeReport(flags.junit, toJunitXml(report));
    process.stderr.write(`JUnit report written to ${resolve(flags.junit)}\n`);
  }
  process.exitCode = report.passed ? 0 : 1;
}

/** Fails before any delivery is sent when the JUnit file could not be written at the end. */
async function checkWritable(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK);
  } catch (error) {
    throw new ToolkitError(ToolkitErrorCode.outputUnwritable, `cannot write the JUnit report to ${resolve(file)}: its directory does not exist or is not writable`, {
      cause: error,
    });
  }
}

async function writeReport(file: string, content: string): Promise<void> {
  try {
    await writeFile(file, content, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ToolkitError(ToolkitErrorCode.outputUnwritable, `cannot write the JUnit report to ${resolve(file)} (${code})`, { cause: error });
  }
}
