import { InvalidArgumentError, type Command } from "commander";
import { parseSince } from "../shared/since.js";
import { redactCallbackUrl } from "../webhook/callback-url.js";
import type { RegisterCommand } from "./commands.js";
import { ExitCode } from "./exit-code.js";
import { integerOption } from "./serve-command.js";

interface RedeliverOptions {
  api: string;
  since: string;
  url: string;
  apiKeyEnv?: string;
  pageSize: number;
}

/** One page's answer of `POST /NAME/redeliver-failed`. */
interface RedeliverPage {
  redelivered: number;
  task_ids: string[];
  more: boolean;
}

/**
 * `predictor-runtime redeliver --api NAME --since 2h`: sends again every report of an API that finally failed, for
 * tasks finished since then, as Svix, Stripe and GitHub let operators do after a receiver outage.
 *
 * It asks the running server (`POST /NAME/redeliver-failed`, a page at a time) rather than opening the data dir:
 * the server owns its store while it runs (SQLite has one owner at a time; with a shared engine any server will
 * do), and it is the server's dispatcher that must send the reports now.
 */
export const registerRedeliverCommand: RegisterCommand = (program: Command) => {
  program
    .command("redeliver")
    .description("send again every finally-failed webhook report of an API whose task finished since a time (asks the running server)")
    .requiredOption("--api <name>", "the API whose failed reports to redeliver")
    .requiredOption("--since <when>", "tasks finished since: a duration back from now (90s, 30m, 2h, 7d) or an ISO 8601 time", (value: string) => {
      if ("problem" in parseSince(value, Date.now())) throw new InvalidArgumentError("expected a duration such as 30m, 2h or 7d, or an ISO 8601 time");
      return value;
    })
    .option("--url <url>", "base URL of the running server", "http://127.0.0.1:8888")
    .option("--api-key-env <NAME>", "environment variable holding an API key of the API (when it has networking.api_keys)")
    .option("--page-size <n>", "reports redelivered per request", integerOption(1, 1000), 100)
    .action(async (options: RedeliverOptions) => {
      process.exitCode = await redeliver(options);
    });
};

async function redeliver(options: RedeliverOptions): Promise<number> {
  const since = parseSince(options.since, Date.now());
  if ("problem" in since) {
    process.stderr.write(`predictor-runtime redeliver: ${since.problem}\n`);
    return ExitCode.usage;
  }
  const headers: Record<string, string> = {};
  if (options.apiKeyEnv !== undefined) {
    const key = process.env[options.apiKeyEnv];
    if (key === undefined || key === "") {
      process.stderr.write(`predictor-runtime redeliver: the environment variable ${options.apiKeyEnv} (--api-key-env) is not set\n`);
      return ExitCode.usage;
    }
    headers.authorization = `Bearer ${key}`;
  }
  // One fixed cutoff for every page: a relative --since would drift while paging.
  const sinceIso = new Date(since.at).toISOString();
  let base: URL;
  try {
    base = new URL(`${encodeURIComponent(options.api)}/redeliver-failed`, options.url.endsWith("/") ? options.url : `${options.url}/`);
  } catch {
    process.stderr.write(`predictor-runtime redeliver: --url ${options.url} is not a URL; give the server's base URL, e.g. http://127.0.0.1:8888\n`);
    return ExitCode.usage;
  }
  base.searchParams.set("since", sinceIso);
  base.searchParams.set("limit", String(options.pageSize));
  process.stderr.write(`redelivering failed reports of API ${options.api} for tasks finished since ${sinceIso} (${redactCallbackUrl(options.url)})\n`);
  let total = 0;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(base, { method: "POST", headers });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      process.stderr.write(`predictor-runtime redeliver: cannot reach ${redactCallbackUrl(options.url)} (${cause}); is the server running there? (--url)\n`);
      return ExitCode.failed;
    }
    const text = await response.text();
    if (response.status !== 200) {
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // Not JSON: show the text as it came.
      }
      process.stderr.write(`predictor-runtime redeliver: the server answered ${response.status}: ${message}\n`);
      return response.status >= 400 && response.status < 500 ? ExitCode.usage : ExitCode.failed;
    }
    const page = JSON.parse(text) as RedeliverPage;
    total += page.redelivered;
    for (const id of page.task_ids) process.stdout.write(`${id}\n`);
    process.stderr.write(`  ${total} redelivered so far\n`);
    if (!page.more || page.redelivered === 0) break;
  }
  process.stderr.write(`done: ${total} report${total === 1 ? "" : "s"} of API ${options.api} scheduled again; GET /${options.api}/ID shows each one's webhook\n`);
  return ExitCode.ok;
}
