import { VERSION } from "../version.js";

/** What `init` is asked to make. */
export interface InitProject {
  /** The API name: the URL path segment the predictor is served under. */
  apiName: string;
  language: "typescript" | "python";
}

/** One file `init` writes, relative to the project folder. */
export interface InitFile {
  path: string;
  /** One line for the summary `init` prints. */
  purpose: string;
  content: string;
}

/** The port `serve` listens on by default, and where the template's reports go (a `receiver --port 9000`). */
export const defaultServePort = 8888;
export const receiverPort = 9000;

/** The JSON a request sends to the template predictor; printed in the curl lines, so it must stay what predict() wants. */
export const examplePayload = { text: "hello predictor runtime" };

/** The RealtimeAPI twin of the template's AsyncAPI: same predictor, answers with the result directly. */
export function realtimeApiName(apiName: string): string {
  return `${apiName}-now`;
}

/** The files of a new project, in the order they are listed. */
export function projectFiles(project: InitProject): InitFile[] {
  const files: InitFile[] = [
    { path: "cortex.yaml", purpose: `the APIs ${project.apiName} (queued, webhook) and ${realtimeApiName(project.apiName)} (answers at once)`, content: cortexYaml(project) },
  ];
  if (project.language === "typescript") {
    files.push(
      { path: "predictor.ts", purpose: "the predictor class, typed with predictor-runtime's Predictor", content: typescriptPredictor() },
      { path: "tsconfig.json", purpose: "strict type-checking: npm run typecheck", content: tsconfigJson() },
    );
  } else {
    files.push({ path: "predictor.py", purpose: "a Cortex PythonPredictor, run unchanged", content: pythonPredictor() });
  }
  files.push({ path: "package.json", purpose: "npm start serves cortex.yaml", content: packageJson(project) });
  return files;
}

function cortexYaml({ apiName, language }: InitProject): string {
  const predictor =
    language === "typescript"
      ? ["    type: typescript", "    path: predictor.ts"]
      : ["    type: python", "    path: predictor.py             # defines class PythonPredictor", "    # python_executable: .venv/bin/python   # default: python3 on PATH"];
  return [
    "# The APIs `npm start` serves (predictor-runtime serve --config cortex.yaml) on http://127.0.0.1:8888.",
    '# Every key and its default: the predictor-runtime README, "cortex.yaml reference".',
    `- name: ${apiName}`,
    `  kind: AsyncAPI                   # POST /${apiName} queues a task, answers {"id"}; GET /${apiName}/ID polls it`,
    "  predictor:",
    ...predictor,
    "    config: { suffix: \"!\" }        # passed to the predictor's constructor",
    "  webhook:",
    "    post_inference_hooks: [callback]",
    `    default_callback_url: http://127.0.0.1:${receiverPort}/hook   # \`npx predictor-runtime receiver --port ${receiverPort}\` shows them`,
    '    allow_networks: [127.0.0.0/8, "::1/128"]           # callbacks to loopback must be allowed explicitly',
    "",
    `- name: ${realtimeApiName(apiName)}`,
    `  kind: RealtimeAPI                # POST /${realtimeApiName(apiName)} answers with the result`,
    "  predictor:",
    ...predictor,
    "    config: { suffix: \"!\" }",
    "",
  ].join("\n");
}

function typescriptPredictor(): string {
  return `import type { PredictContext, Predictor } from "predictor-runtime";

/** The JSON body of a request: \`POST /NAME\` with {"text": "..."}. */
export interface Payload {
  text: string;
}

/** What predict() returns: the task's result in the webhook report and the status answer. */
export interface Result {
  words: number;
  shout: string;
}

/**
 * Constructed once with \`predictor.config\` from cortex.yaml; setup() is awaited once before the API is ready;
 * predict() runs per task. A thrown error fails that task, and only that task, with its message.
 */
export default class TextPredictor implements Predictor<Payload, Result> {
  readonly #suffix: string;

  constructor(config: Record<string, unknown>) {
    this.#suffix = typeof config.suffix === "string" ? config.suffix : "";
  }

  async setup(): Promise<void> {
    // Load a model or other slow state here.
  }

  predict(payload: Payload, requestId: string, context: PredictContext): Result {
    if (typeof payload?.text !== "string") {
      throw new Error('expected a JSON body like {"text": "hello"}');
    }
    context.signal.throwIfAborted();
    const words = payload.text.split(/\\s+/).filter((word) => word !== "").length;
    return { words, shout: payload.text.toUpperCase() + this.#suffix };
  }
}
`;
}

function pythonPredictor(): string {
  return `class PythonPredictor:
    """A Cortex predictor: constructed once with predictor.config from cortex.yaml, then predict() per task.

    An exception fails that task, and only that task, with its message and traceback.
    """

    def __init__(self, config):
        # Load a model or other slow state here.
        self.suffix = config.get("suffix", "")

    def predict(self, payload, request_id):
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str):
            raise ValueError('expected a JSON body like {"text": "hello"}')
        return {"words": len(text.split()), "shout": text.upper() + self.suffix}
`;
}

function tsconfigJson(): string {
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      types: ["node"],
      skipLibCheck: true,
    },
    include: ["*.ts", "**/*.ts"],
    exclude: ["node_modules"],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function packageJson({ apiName, language }: InitProject): string {
  const manifest: Record<string, unknown> = {
    name: apiName,
    private: true,
    type: "module",
    scripts: {
      start: "predictor-runtime serve --config cortex.yaml",
      ...(language === "typescript" ? { typecheck: "tsc --noEmit" } : {}),
    },
    dependencies: { "predictor-runtime": `^${VERSION}` },
    ...(language === "typescript" ? { devDependencies: { "@types/node": "^20.19.0", typescript: "^5.9.3" } } : {}),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
