import { mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { RESERVED_API_NAMES } from "../config/schema.js";
import type { RegisterCommand } from "./commands.js";
import { ExitCode } from "./exit-code.js";
import { defaultServePort, examplePayload, projectFiles, realtimeApiName, receiverPort, type InitProject } from "./init-templates.js";

interface InitFlags {
  python?: boolean;
  name?: string;
}

/** API names the runtime refuses (contract section 1), plus the suffix room the RealtimeAPI twin needs. */
const apiNamePattern = /^[a-z0-9-]{1,59}$/;
const reservedNames = new Set<string>([...RESERVED_API_NAMES, "console"]);

/** `predictor-runtime init [DIR] [--python]`: writes a new project that `npm start` serves. */
export const registerInitCommand: RegisterCommand = (program: Command) => {
  program
    .command("init")
    .description("start a project in DIR (default: here): cortex.yaml, a typed predictor (or a Cortex PythonPredictor), tsconfig.json, package.json")
    .argument("[dir]", "folder to write into (created if missing)", ".")
    .option("--python", "write a Cortex PythonPredictor (predictor.py) instead of a TypeScript predictor")
    .option("--name <name>", "the API name, the URL path it is served under (default: from the folder's name)")
    .action(async (dir: string, flags: InitFlags) => {
      process.exitCode = await init(dir, flags);
    });
};

async function init(dir: string, flags: InitFlags): Promise<number> {
  const folder = resolve(dir);
  const apiName = flags.name ?? apiNameFromFolder(folder);
  if (!apiNamePattern.test(apiName) || reservedNames.has(apiName)) {
    process.stderr.write(
      `predictor-runtime init: ${JSON.stringify(apiName)} cannot be an API name: use 1 to 59 of a-z, 0-9 and -, ` +
        `not one of ${[...reservedNames].join(", ")} (pass --name my-api)\n`,
    );
    return ExitCode.usage;
  }
  const project: InitProject = { apiName, language: flags.python ? "python" : "typescript" };
  const files = projectFiles(project);

  const existing = files.filter((file) => existsSync(join(folder, file.path))).map((file) => file.path);
  if (existing.length > 0) {
    process.stderr.write(
      `predictor-runtime init: refusing to overwrite ${existing.join(", ")} in ${folder}; ` +
        "move them away or give another folder: predictor-runtime init DIR\n",
    );
    return ExitCode.usage;
  }

  try {
    await mkdir(folder, { recursive: true });
    // "wx": a file that appeared since the check above is still never overwritten.
    for (const file of files) await writeFile(join(folder, file.path), file.content, { flag: "wx" });
  } catch (error) {
    process.stderr.write(`predictor-runtime init: cannot write into ${folder}: ${(error as Error).message}\n`);
    return ExitCode.usage;
  }
  process.stdout.write(nextSteps(folder, project, files.map((file) => [file.path, file.purpose] as const)));
  return ExitCode.ok;
}

/** The folder's name as an API name: lower case, other characters as `-`; `predictor` when nothing is left. */
function apiNameFromFolder(folder: string): string {
  const name = basename(folder)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 59)
    .replace(/-+$/, "");
  return name === "" || reservedNames.has(name) ? "predictor" : name;
}

function nextSteps(folder: string, project: InitProject, files: ReadonlyArray<readonly [string, string]>): string {
  const fromHere = relative(process.cwd(), folder);
  const where = fromHere.startsWith("..") ? folder : fromHere;
  const width = Math.max(...files.map(([path]) => path.length)) + 2;
  const body = JSON.stringify(examplePayload);
  const base = `localhost:${defaultServePort}`;
  const lines = [
    `Wrote a ${project.language === "typescript" ? "TypeScript" : "Python"} predictor project to ${folder}:`,
    ...files.map(([path, purpose]) => `  ${path.padEnd(width)}${purpose}`),
    "",
    "Next:",
    ...(where === "" ? [] : [`  cd ${shellQuote(where)}`]),
    "  npm install",
    ...(project.language === "python" ? ["  # Python: the runtime runs predictor.py with python3 (set python_executable in cortex.yaml for a venv)"] : []),
    `  npm start                                 # serves http://127.0.0.1:${defaultServePort}`,
    `  npx predictor-runtime receiver --port ${receiverPort}  # in another terminal: shows each webhook report`,
    "Then, from a third terminal:",
    `  curl -s -X POST ${base}/${realtimeApiName(project.apiName)} -H 'content-type: application/json' -d '${body}'`,
    `  curl -s -X POST ${base}/${project.apiName} -H 'content-type: application/json' -d '${body}'`,
    `  curl -s ${base}/${project.apiName}/ID    # ID from the answer above: status and result`,
    "",
  ];
  return lines.join("\n");
}

/** Quotes a path for a POSIX shell when it needs it. */
function shellQuote(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
