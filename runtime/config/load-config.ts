import { Ajv, type ErrorObject } from "ajv";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import { ConfigError, type ConfigProblem } from "../errors.js";
import type { CallbackAuth } from "../tasks/task.js";
import { parseCidr } from "../webhook/cidr.js";
import { parseCallbackUrl } from "../webhook/callback-url.js";
import { clientCertificateProblem } from "../webhook/client-certificate.js";
import { NetworkGuard } from "../webhook/network-guard.js";
import { decodeSigningSecret } from "../webhook/signature.js";
import type { ApiConfig, RuntimeConfig } from "./api-config.js";
import { interpolateEnv } from "./env-interpolation.js";
import { configSchema, MAX_TIMER_S, RESERVED_API_NAMES, type RawApiSpec } from "./schema.js";

type KeyPath = (string | number)[];

// verbose: errors carry their parentSchema, from which "unknown key" messages list the keys allowed there.
const ajv = new Ajv({ allErrors: true, useDefaults: true, discriminator: true, strict: true, verbose: true });
const validateConfig = ajv.compile<RawApiSpec[]>(configSchema);

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Where `${NAME}` references are looked up; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, validates and freezes cortex.yaml. Throws a {@link ConfigError} listing every problem found, each naming
 * the file, the line where known, and the key path; values are never echoed, since they may be secrets.
 */
export function loadConfig(file: string, options: LoadConfigOptions = {}): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found; create it or pass --config PATH" : (error as Error).message;
    throw new ConfigError([{ file, path: "", message: reason }]);
  }
  return parseConfig(text, file, options);
}

/** {@link loadConfig} for text already read; `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, file: string, options: LoadConfigOptions = {}): RuntimeConfig {
  try {
    return parseConfigText(text, file, options);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // A config nested so deeply that a parser or walker ran out of stack: a bad config, not a crash.
    throw new ConfigError([{ file, path: "", message: `the file could not be read as a config (${(error as Error).message}); is it nested far deeper than a config needs?` }]);
  }
}

/** Most alias expansions a config may make: plenty for shared blocks, far too few for a "billion laughs" bomb. */
const MAX_ALIAS_COUNT = 1000;

function parseConfigText(text: string, file: string, options: LoadConfigOptions): RuntimeConfig {
  const lineCounter = new LineCounter();
  // Unique keys are checked below, where the duplicate's key path can be named.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  const [syntaxError, ...consequences] = doc.errors;
  if (syntaxError) {
    // The first syntax error usually causes the rest; listing them all buries it.
    const line = syntaxError.linePos?.[0].line ?? lineCounter.linePos(syntaxError.pos[0]).line;
    const more = consequences.length > 0 ? ` (fix this first; ${consequences.length} more error(s) follow from it)` : "";
    throw new ConfigError([{ file, line, path: "", message: `YAML syntax: ${syntaxError.message.split("\n")[0]}${more}` }]);
  }

  const locate = (path: KeyPath, pointAtKey = false): number | undefined => lineOf(doc, lineCounter, path, pointAtKey);
  const problem = (path: KeyPath, message: string, pointAtKey = false): void => {
    const formatted = formatKeyPath(path);
    // One message per key: ajv can fail a key twice (an enum and the discriminator over it).
    if (problems.some((found) => found.path === formatted)) return;
    problems.push({ file, line: locate(path, pointAtKey), path: formatted, message });
  };

  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== undefined) {
    throw new ConfigError([
      {
        file,
        line: duplicate.offset === undefined ? undefined : lineCounter.linePos(duplicate.offset).line,
        path: formatKeyPath(duplicate.path),
        message: `the key "${duplicate.key}" appears twice in the same mapping; keep one of them`,
      },
    ]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    let firstAlias: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        firstAlias = node.range?.[0];
        return visit.BREAK;
      },
    });
    throw new ConfigError([
      {
        file,
        line: firstAlias === undefined ? undefined : lineCounter.linePos(firstAlias).line,
        path: "",
        message: `YAML aliases (*name) expand to too many nodes (${error.message.toLowerCase()}); a config needs few aliases, write the values out instead`,
      },
    ]);
  }
  if (data === null || data === undefined) {
    throw new ConfigError([{ file, path: "", message: "the file is empty; it should be a YAML list of APIs (see cortex.yaml in the README)" }]);
  }
  const unresolved = interpolateEnv(data, options.env ?? process.env).problems;
  for (const found of unresolved) problem(found.path, found.message);
  const unresolvedPaths = new Set(unresolved.map((found) => formatKeyPath(found.path)));

  if (!validateConfig(data)) {
    for (const error of validateConfig.errors ?? []) {
      const { path, message, pointAtKey } = describeSchemaError(error);
      // A value still holding an unresolved ${NAME} already has its message; its shape is beside the point.
      if (!unresolvedPaths.has(formatKeyPath(path))) problem(path, message, pointAtKey);
    }
  }
  if (problems.length > 0) throw new ConfigError(sortByLine(problems));

  const specs = data as RawApiSpec[];
  const dir = dirname(resolve(file));
  const warnings: string[] = [];
  const apis = specs.map((spec, index) => resolveApi(spec, index, dir, problem, warnings));
  const seen = new Map<string, number>();
  specs.forEach((spec, index) => {
    const first = seen.get(spec.name);
    if (first !== undefined) problem([index, "name"], `"${spec.name}" is already the name of apis[${first}]; API names must be unique`);
    else seen.set(spec.name, index);
  });
  if (problems.length > 0) throw new ConfigError(sortByLine(problems));
  return deepFreeze({ file, dir, apis, warnings });
}

function resolveApi(
  spec: RawApiSpec,
  index: number,
  dir: string,
  problem: (path: KeyPath, message: string) => void,
  warnings: string[],
): ApiConfig {
  const at = (...rest: KeyPath): KeyPath => [index, ...rest];
  if ((RESERVED_API_NAMES as readonly string[]).includes(spec.name)) {
    problem(at("name"), `"${spec.name}" is taken by the runtime's own routes (${RESERVED_API_NAMES.join(", ")}); choose another name`);
  }

  const predictorPath = resolveFrom(dir, spec.predictor.path);
  if (!isFile(predictorPath)) {
    problem(at("predictor", "path"), `${predictorPath} is not a file (paths are relative to the config file's folder)`);
  }

  const python = spec.predictor.type === "python";
  if (python && spec.predictor.in_process) {
    problem(at("predictor", "in_process"), "a python predictor always runs in its own processes; remove in_process (it is for typescript predictors)");
  }
  if (!python && spec.predictor.python_executable !== undefined) {
    problem(at("predictor", "python_executable"), "only python predictors have an interpreter; remove python_executable or set type: python");
  }
  if (python && !predictorPath.endsWith(".py")) {
    problem(at("predictor", "path"), `a python predictor is a .py file defining class PythonPredictor; ${spec.predictor.path} is not one`);
  }
  if (spec.predictor.in_process && spec.predictor.processes_per_replica > 1) {
    warnings.push(`apis[${index}] (${spec.name}) runs in_process: processes_per_replica ${spec.predictor.processes_per_replica} is ignored (one event loop); threads_per_process still bounds predictions at once`);
  }
  const executable = spec.predictor.python_executable ?? "python3";
  // With a slash it is a path (a venv's .venv/bin/python), relative to the config file; without one, PATH finds it.
  const pythonExecutable = executable.includes("/") ? resolveFrom(dir, executable) : executable;

  const hook = spec.webhook;
  const callbackEnabled = hook.post_inference_hooks.includes("callback");
  let allowNetworksValid = true;
  hook.allow_networks.forEach((entry, i) => {
    const parsed = parseCidr(entry);
    if ("problem" in parsed) {
      problem(at("webhook", "allow_networks", i), parsed.problem);
      allowNetworksValid = false;
    }
  });
  if (hook.default_callback_url !== undefined) {
    const parsed = parseCallbackUrl(hook.default_callback_url);
    if ("problem" in parsed) {
      problem(at("webhook", "default_callback_url"), parsed.problem);
    } else if (allowNetworksValid) {
      // The same rule as a callback_url given at submit: an IP literal outside allow_networks is refused up front.
      const refusal = new NetworkGuard({ allowNetworks: hook.allow_networks }).refusedLiteral(parsed.url.hostname);
      if (refusal !== undefined) problem(at("webhook", "default_callback_url"), `refused: ${refusal.message}`);
    }
  }
  let defaultCallbackAuth: CallbackAuth | undefined;
  const auth = hook.default_callback_auth;
  if (auth?.kind === "basic") {
    defaultCallbackAuth = { kind: "basic", username: auth.username, password: auth.password };
  } else if (auth?.kind === "mtls") {
    let readable = true;
    const read = (key: "cert" | "key" | "ca"): string => {
      const path = resolveFrom(dir, auth[key]!);
      try {
        return readFileSync(path, "utf8");
      } catch (error) {
        problem(at("webhook", "default_callback_auth", key), `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        readable = false;
        return "";
      }
    };
    defaultCallbackAuth = { kind: "mtls", cert: read("cert"), key: read("key") };
    if (auth.ca !== undefined) defaultCallbackAuth.ca = read("ca");
    const unusable = readable ? clientCertificateProblem(defaultCallbackAuth) : undefined;
    if (unusable !== undefined) {
      problem(at("webhook", "default_callback_auth", unusable.field), `${resolveFrom(dir, auth[unusable.field]!)} ${unusable.message}`);
    }
  }
  if (hook.signing_secret !== undefined) {
    const decoded = decodeSigningSecret(hook.signing_secret);
    if ("problem" in decoded) problem(at("webhook", "signing_secret"), decoded.problem);
    else if (decoded.key.length < 24) {
      warnings.push(`apis[${index}].webhook.signing_secret is ${decoded.key.length} bytes; Standard Webhooks recommends 24 to 64 random bytes`);
    }
  }

  for (const [keyIndex, key] of spec.networking.api_keys.entries()) {
    // Never quote the key: it is a secret, and the message goes to a terminal and CI logs.
    if (!/^[\x21-\x7e]+$/.test(key)) {
      problem(at("networking", "api_keys", keyIndex), "must be visible ASCII characters without spaces (it is sent in an Authorization header); check the environment variable it comes from");
    } else if (key.length < 16) {
      warnings.push(`apis[${index}].networking.api_keys[${keyIndex}] is ${key.length} characters; use a random key of 32 or more (openssl rand -hex 32)`);
    }
  }

  if (spec.kind === "RealtimeAPI" && (callbackEnabled || hook.default_callback_url !== undefined)) {
    warnings.push(
      `apis[${index}] (${spec.name}) is a RealtimeAPI: it answers with the result, so post_inference_hooks and default_callback_url are ignored; its other webhook settings apply to requests that name a response_webhook (Modelbit)`,
    );
  } else if (!callbackEnabled && hook.default_callback_url !== undefined) {
    warnings.push(`apis[${index}] (${spec.name}) has a default_callback_url but post_inference_hooks does not list callback, so no report is sent`);
  }

  const api: ApiConfig = {
    name: spec.name,
    kind: spec.kind,
    predictor: {
      type: spec.predictor.type,
      path: predictorPath,
      config: spec.predictor.config,
      processesPerReplica: spec.predictor.in_process ? 1 : spec.predictor.processes_per_replica,
      threadsPerProcess: spec.predictor.threads_per_process,
      inProcess: spec.predictor.in_process,
      pythonExecutable,
      ...(spec.predictor.predict_timeout_s === undefined ? {} : { predictTimeoutMs: spec.predictor.predict_timeout_s * 1000 }),
    },
    webhook: {
      callbackEnabled: callbackEnabled && spec.kind === "AsyncAPI",
      ...(hook.default_callback_url === undefined ? {} : { defaultCallbackUrl: hook.default_callback_url }),
      ...(defaultCallbackAuth === undefined ? {} : { defaultCallbackAuth }),
      ...(hook.signing_secret === undefined ? {} : { signingSecret: hook.signing_secret }),
      timeoutMs: hook.timeout_s * 1000,
      ignoreTimeout: hook.ignore_timeout,
      retryScheduleMs: hook.retry_schedule_s.map((seconds) => seconds * 1000),
      allowNetworks: hook.allow_networks,
    },
    maxReplicaConcurrency: spec.autoscaling.max_replica_concurrency,
    apiKeySha256: spec.networking.api_keys.map((key) => sha256Hex(key)),
  };
  return api;
}

/** Turns one ajv error into a message a user can act on, at the key it concerns. */
function describeSchemaError(error: ErrorObject): { path: KeyPath; message: string; pointAtKey: boolean } {
  const path: KeyPath = error.instancePath
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const params = error.params as Record<string, unknown>;
  const allowed = (schema: unknown): string[] =>
    schema !== null && typeof schema === "object" && "properties" in schema ? Object.keys((schema as { properties: object }).properties) : [];
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const keys = allowed(error.parentSchema);
      const hint = closest(key, keys);
      return {
        path: [...path, key],
        message: `unknown key${hint ? ` (did you mean ${hint}?)` : ""}; allowed here: ${keys.join(", ")}`,
        pointAtKey: true,
      };
    }
    case "required":
      return { path: [...path, String(params.missingProperty)], message: "is required but missing", pointAtKey: false };
    case "enum":
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).join(", ")}`, pointAtKey: false };
    case "const":
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}`, pointAtKey: false };
    case "discriminator":
      return { path: [...path, "kind"], message: "must be basic or mtls", pointAtKey: false };
    case "pattern":
      if (path.at(-1) === "name") return { path, message: "must be 1 to 63 characters of a-z, 0-9 and - (it becomes a URL path segment)", pointAtKey: false };
      if (path.at(-1) === "signing_secret") return { path, message: "must be a Standard Webhooks secret: whsec_ followed by base64", pointAtKey: false };
      return { path, message: error.message ?? "is invalid", pointAtKey: false };
    case "type":
      if (path.length === 0) return { path, message: "the file must be a YAML list of APIs (each item starts with `- name: ...`)", pointAtKey: false };
      return { path, message: error.message ?? "has the wrong type", pointAtKey: false };
    case "maximum":
      if (params.limit === MAX_TIMER_S) {
        return { path, message: `must be at most ${MAX_TIMER_S} seconds (about 24.8 days, the longest wait a timer holds)`, pointAtKey: false };
      }
      return { path, message: error.message ?? "is too large", pointAtKey: false };
    case "minItems":
      if (path.length === 0) return { path, message: "lists no APIs; add at least one", pointAtKey: false };
      return { path, message: error.message ?? "has too few items", pointAtKey: false };
    default:
      return { path, message: error.message ?? "is invalid", pointAtKey: false };
  }
}

/** The first key that appears twice in one mapping, with its key path (walked without recursion), or undefined. */
function firstDuplicateKey(doc: Document): { path: KeyPath; key: string; offset: number | undefined } | undefined {
  const pending: Array<{ node: unknown; path: KeyPath }> = [{ node: doc.contents, path: [] }];
  while (pending.length > 0) {
    const { node, path } = pending.pop()!;
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          return { path: [...path, String(key)], key: String(key), offset: (pair.key as Node | null)?.range?.[0] };
        }
        seen.add(key);
        if (!isAlias(pair.value)) pending.push({ node: pair.value, path: [...path, String(key)] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        if (!isAlias(item)) pending.push({ node: item, path: [...path, index] });
      });
    }
  }
  return undefined;
}

/** `[0, "webhook", "timeout_s"]` -> `apis[0].webhook.timeout_s`. */
function formatKeyPath(path: KeyPath): string {
  let text = "apis";
  for (const segment of path) text += typeof segment === "number" ? `[${segment}]` : `.${segment}`;
  return text;
}

/** The 1-based line of the deepest node on `path` (or of its key), or undefined. */
function lineOf(doc: Document, lineCounter: LineCounter, path: KeyPath, pointAtKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let located: Node | undefined = node as Node | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
      if (!pair) break;
      if (pointAtKey && segment === path.at(-1) && isScalar(pair.key)) {
        located = pair.key;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment];
    } else {
      break;
    }
    if (node && typeof node === "object" && "range" in node) located = node as Node;
  }
  const offset = located?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

function sortByLine(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

function resolveFrom(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The allowed key nearest to a misspelt one, if it is close enough to be a likely typo (or a shortened form). */
function closest(word: string, candidates: string[]): string | undefined {
  const extended = candidates.find((candidate) => word.length >= 4 && candidate.startsWith(word));
  if (extended) return extended;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** SHA-256 of a key, hex: what the runtime keeps of an API key (see ApiConfig.apiKeySha256). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
