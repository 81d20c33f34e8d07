import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../runtime/config/load-config.js";
import { DEFAULT_RETRY_SCHEDULE_S } from "../../runtime/config/schema.js";
import { ConfigError, ErrorCode } from "../../runtime/errors.js";
import { writeCertificates } from "../../toolkit/certs/certificate-files.js";

const dir = mkdtempSync(join(tmpdir(), "config-test-"));
writeFileSync(join(dir, "p.ts"), "export default class P { predict() { return 1; } }");
beforeAll(() => writeCertificates(dir));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, "cortex.yaml");
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(text, file, { env });
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ErrorCode.configInvalid);
    return (error as ConfigError).message.split("\n");
  }
  throw new Error("expected the config to be refused");
}

const minimal = `- name: sum
  kind: AsyncAPI
  predictor:
    type: typescript
    path: p.ts
`;

describe("loadConfig: a valid file", () => {
  it("fills every documented default and resolves paths against the config's folder", () => {
    const config = parse(minimal);
    expect(config.apis).toHaveLength(1);
    const api = config.apis[0]!;
    expect(api).toMatchObject({
      name: "sum",
      kind: "AsyncAPI",
      predictor: { type: "typescript", path: join(dir, "p.ts"), config: {}, processesPerReplica: 1, threadsPerProcess: 1, inProcess: false, pythonExecutable: "python3" },
      webhook: {
        callbackEnabled: false,
        timeoutMs: 10_000,
        ignoreTimeout: false,
        retryScheduleMs: DEFAULT_RETRY_SCHEDULE_S.map((s) => s * 1000),
        allowNetworks: [],
      },
      maxReplicaConcurrency: 1024,
    });
    expect(api.predictor.predictTimeoutMs).toBeUndefined();
    expect(api.webhook.signingSecret).toBeUndefined();
  });

  it("reads every key of contract section 1", () => {
    const config = parse(
      `- name: full-api
  kind: AsyncAPI
  predictor:
    type: typescript
    path: p.ts
    config: { offset: 3, nested: { a: [1, 2] } }
    threads_per_process: 4
    predict_timeout_s: 1.5
  webhook:
    post_inference_hooks: [callback]
    default_callback_url: http://127.0.0.1:9000/hook
    default_callback_auth:
      kind: mtls
      cert: client.pem
      key: client-key.pem
      ca: ca.pem
    signing_secret: \${WEBHOOK_SECRET}
    timeout_s: 2
    ignore_timeout: true
    retry_schedule_s: [0, 0.5]
    allow_networks: [127.0.0.0/8, "::1/128", 10.1.2.3]
  autoscaling:
    max_replica_concurrency: 7
`,
      { WEBHOOK_SECRET: SECRET },
    );
    const api = config.apis[0]!;
    expect(api.predictor).toEqual({
      type: "typescript",
      path: join(dir, "p.ts"),
      config: { offset: 3, nested: { a: [1, 2] } },
      processesPerReplica: 1,
      threadsPerProcess: 4,
      inProcess: false,
      pythonExecutable: "python3",
      predictTimeoutMs: 1500,
    });
    expect(api.webhook).toMatchObject({
      callbackEnabled: true,
      defaultCallbackUrl: "http://127.0.0.1:9000/hook",
      signingSecret: SECRET,
      timeoutMs: 2000,
      ignoreTimeout: true,
      retryScheduleMs: [0, 500],
      allowNetworks: ["127.0.0.0/8", "::1/128", "10.1.2.3"],
    });
    expect(api.webhook.defaultCallbackAuth).toEqual({
      kind: "mtls",
      cert: expect.stringContaining("BEGIN CERTIFICATE"),
      key: expect.stringContaining("BEGIN PRIVATE KEY"),
      ca: expect.stringContaining("BEGIN CERTIFICATE"),
    });
    expect(api.maxReplicaConcurrency).toBe(7);
  });

  it("freezes the result", () => {
    const config = parse(minimal);
    expect(Object.isFrozen(config.apis[0]!.webhook.retryScheduleMs)).toBe(true);
    expect(() => {
      (config.apis as unknown as unknown[]).push({});
    }).toThrow();
  });

  it("interpolates ${NAME} after parsing, so a value cannot inject YAML, and $${ writes a literal", () => {
    const config = parse(
      `- name: sum
  kind: AsyncAPI
  predictor:
    type: typescript
    path: p.ts
    config: { text: "\${INJECT}", literal: "$\${NOT_A_VAR}" }
`,
      { INJECT: "a\n- name: evil" },
    );
    expect(config.apis).toHaveLength(1);
    expect(config.apis[0]!.predictor.config).toEqual({ text: "a\n- name: evil", literal: "${NOT_A_VAR}" });
  });

  it("warns (without failing) about settings that do nothing", () => {
    const config = parse(`${minimal}  webhook:
    default_callback_url: http://127.0.0.1:9/hook
    allow_networks: [127.0.0.1]
- name: now
  kind: RealtimeAPI
  predictor: { type: typescript, path: p.ts }
  webhook: { post_inference_hooks: [callback] }
`);
    expect(config.warnings.join("\n")).toMatch(/post_inference_hooks does not list callback/);
    expect(config.warnings.join("\n")).toMatch(/RealtimeAPI.*ignored/);
    expect(config.apis[1]!.webhook.callbackEnabled).toBe(false);
  });
});

describe("loadConfig: one message per problem, with file, line and key path", () => {
  it("reports a wrong type exactly in the contract's format", () => {
    const problems = problemsOf(`${minimal}  webhook:\n    timeout_s: ten\n`);
    expect(problems).toEqual([`${file}:7 apis[0].webhook.timeout_s: must be number`]);
  });

  it("reports every problem of the file at once, sorted by line", () => {
    const problems = problemsOf(`- name: Sum
  kind: AsyncApi
  predictor:
    type: javascript
    path: p.ts
    threads: 3
  autoscaling: { max_replica_concurency: 3 }
`);
    expect(problems).toEqual([
      `${file}:1 apis[0].name: must be 1 to 63 characters of a-z, 0-9 and - (it becomes a URL path segment)`,
      `${file}:2 apis[0].kind: must be one of AsyncAPI, RealtimeAPI`,
      `${file}:4 apis[0].predictor.type: must be one of typescript, python`,
      `${file}:6 apis[0].predictor.threads: unknown key (did you mean threads_per_process?); allowed here: type, path, config, processes_per_replica, threads_per_process, in_process, python_executable, predict_timeout_s`,
      `${file}:7 apis[0].autoscaling.max_replica_concurency: unknown key (did you mean max_replica_concurrency?); allowed here: max_replica_concurrency`,
    ]);
  });

  it("names a missing required key at its parent's line", () => {
    expect(problemsOf(`- name: sum\n  kind: AsyncAPI\n  predictor:\n    type: typescript\n`)).toEqual([
      `${file}:4 apis[0].predictor.path: is required but missing`,
    ]);
  });

  it("checks callback auth by its kind", () => {
    expect(problemsOf(`${minimal}  webhook:\n    default_callback_auth: { kind: basic, username: u }\n`)).toEqual([
      `${file}:7 apis[0].webhook.default_callback_auth.password: is required but missing`,
    ]);
    expect(problemsOf(`${minimal}  webhook:\n    default_callback_auth: { kind: oauth }\n`)).toEqual([
      `${file}:7 apis[0].webhook.default_callback_auth.kind: must be one of basic, mtls`,
    ]);
  });

  it("refuses a missing environment variable by name, once, without a second complaint about its shape", () => {
    expect(problemsOf(`${minimal}  webhook:\n    signing_secret: \${NOT_SET_ANYWHERE}\n`)).toEqual([
      `${file}:7 apis[0].webhook.signing_secret: environment variable NOT_SET_ANYWHERE is not set; export it before starting (or write $\${ for a literal \${)`,
    ]);
  });

  it("never echoes a secret value in its messages", () => {
    const password = "hunter2-very-secret";
    const badSecret = "whsec_!!not-base64!!";
    const secretProblems = problemsOf(`${minimal}  webhook:\n    signing_secret: \${SECRET}\n`, { SECRET: badSecret });
    expect(secretProblems).toEqual([expect.stringMatching(/signing_secret: is not whsec_ followed by base64/)]);
    expect(secretProblems.join("\n")).not.toContain("not-base64");
    const authProblems = problemsOf(
      `${minimal}  webhook:
    default_callback_auth:
      kind: basic
      username: u
      password: \${PASSWORD}
      extra: \${PASSWORD}
`,
      { PASSWORD: password },
    );
    expect(authProblems).toEqual([expect.stringMatching(/default_callback_auth.extra: unknown key/)]);
    expect(authProblems.join("\n")).not.toContain(password);
  });

  it("checks values beyond their types: names, URLs, networks, files, secrets", () => {
    const problems = problemsOf(`- name: healthz
  kind: AsyncAPI
  predictor: { type: typescript, path: missing.ts }
  webhook:
    default_callback_url: ftp://example.com/hook
    signing_secret: whsec_
    allow_networks: [10.0.0.0/33, not-a-net]
    default_callback_auth: { kind: mtls, cert: nope.pem, key: p.ts }
- name: sum
  kind: AsyncAPI
  predictor: { type: typescript, path: p.ts }
- name: sum
  kind: RealtimeAPI
  predictor: { type: typescript, path: p.ts }
`);
    const text = problems.join("\n");
    expect(text).toContain(`${file}:1 apis[0].name: "healthz" is taken by the runtime's own routes`);
    expect(text).toContain(`${file}:3 apis[0].predictor.path: ${join(dir, "missing.ts")} is not a file (paths are relative to the config file's folder)`);
    expect(text).toContain(`${file}:5 apis[0].webhook.default_callback_url: uses ftp:, but only http and https callbacks are sent`);
    expect(text).toContain(`${file}:6 apis[0].webhook.signing_secret: is not whsec_ followed by base64`);
    expect(text).toContain(`${file}:7 apis[0].webhook.allow_networks[0]: "10.0.0.0/33" has prefix length 33`);
    expect(text).toContain(`${file}:7 apis[0].webhook.allow_networks[1]: "not-a-net" is not an IP range`);
    expect(text).toContain(`${file}:8 apis[0].webhook.default_callback_auth.cert: cannot read ${join(dir, "nope.pem")}: ENOENT`);
    expect(text).toContain(`${file}:12 apis[2].name: "sum" is already the name of apis[1]; API names must be unique`);
  });

  it("refuses client certificates that cannot work: not PEM, or a key that does not match", () => {
    const mtls = (cert: string, key: string) => `${minimal}  webhook:\n    default_callback_auth: { kind: mtls, cert: ${cert}, key: ${key} }\n`;
    expect(problemsOf(mtls("p.ts", "client-key.pem"))).toEqual([
      `${file}:7 apis[0].webhook.default_callback_auth.cert: ${join(dir, "p.ts")} is not a PEM certificate (text starting with -----BEGIN CERTIFICATE-----)`,
    ]);
    const mismatch = problemsOf(mtls("client.pem", "server-key.pem"));
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatch(/default_callback_auth\.key: .*server-key\.pem does not belong to cert \(their public keys differ\)/);
    expect(mismatch[0]).not.toContain("PRIVATE KEY-----\n");
  });

  it("refuses a default_callback_url whose IP literal allow_networks does not admit", () => {
    const problems = problemsOf(`${minimal}  webhook:\n    default_callback_url: http://2130706433/hook\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^.*:7 apis\[0\]\.webhook\.default_callback_url: refused: .*127\.0\.0\.1.*allow_networks/);
  });

  it("refuses credentials inside a callback URL", () => {
    expect(problemsOf(`${minimal}  webhook:\n    default_callback_url: http://user:pw@127.0.0.1/hook\n`)).toEqual([
      `${file}:7 apis[0].webhook.default_callback_url: carries credentials in the URL; pass them as callback auth (kind: basic) instead`,
    ]);
  });

  it("reports YAML syntax errors with their line", () => {
    const problems = problemsOf(`- name: sum\n  kind: AsyncAPI\n  predictor: { type: typescript, path: p.ts\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${file.replace(/[/.]/g, "\\$&")}:\\d+: YAML syntax: `));
    expect(problemsOf(`- name: x\n  predictor: { a: \${B} }\n`)).toHaveLength(1);
  });

  it("explains an empty file, a mapping instead of a list, and an empty list", () => {
    expect(problemsOf("")[0]).toContain("the file is empty; it should be a YAML list of APIs");
    expect(problemsOf("name: sum\n")[0]).toContain("the file must be a YAML list of APIs");
    expect(problemsOf("[]\n")[0]).toContain("lists no APIs; add at least one");
  });

  it("says how to fix a missing file", () => {
    const missing = join(dir, "absent.yaml");
    expect(() => loadConfig(missing)).toThrow(`${missing}: file not found; create it or pass --config PATH`);
  });
});

describe("loadConfig: predictor hosts", () => {
  writeFileSync(join(dir, "predictor.py"), "class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n    def predict(self, payload):\n        return payload\n");

  it("reads python predictors, processes_per_replica, in_process and python_executable", () => {
    const config = parse(`- name: py
  kind: AsyncAPI
  predictor: { type: python, path: predictor.py, processes_per_replica: 3, threads_per_process: 2, python_executable: .venv/bin/python }
- name: ts
  kind: RealtimeAPI
  predictor: { type: typescript, path: p.ts, in_process: true, processes_per_replica: 4 }
- name: on-path
  kind: RealtimeAPI
  predictor: { type: python, path: predictor.py, python_executable: python3.11 }
`);
    expect(config.apis[0]!.predictor).toMatchObject({ type: "python", processesPerReplica: 3, threadsPerProcess: 2, inProcess: false, pythonExecutable: join(dir, ".venv/bin/python") });
    // in_process runs on the one event loop: processes_per_replica cannot apply, and a warning says so.
    expect(config.apis[1]!.predictor).toMatchObject({ type: "typescript", processesPerReplica: 1, inProcess: true });
    expect(config.warnings.join("\n")).toMatch(/runs in_process: processes_per_replica 4 is ignored/);
    expect(config.apis[2]!.predictor.pythonExecutable).toBe("python3.11");
  });

  it("refuses host settings that do not fit the predictor's type", () => {
    const problems = problemsOf(`- name: py
  kind: AsyncAPI
  predictor: { type: python, path: predictor.py, in_process: true }
- name: ts
  kind: AsyncAPI
  predictor: { type: typescript, path: p.ts, python_executable: python3 }
- name: not-py
  kind: AsyncAPI
  predictor: { type: python, path: p.ts }
`);
    expect(problems).toEqual([
      `${file}:3 apis[0].predictor.in_process: a python predictor always runs in its own processes; remove in_process (it is for typescript predictors)`,
      `${file}:6 apis[1].predictor.python_executable: only python predictors have an interpreter; remove python_executable or set type: python`,
      `${file}:9 apis[2].predictor.path: a python predictor is a .py file defining class PythonPredictor; p.ts is not one`,
    ]);
    expect(problemsOf("- name: ruby\n  kind: AsyncAPI\n  predictor: { type: ruby, path: p.ts, processes_per_replica: 0 }\n")).toEqual([
      `${file}:3 apis[0].predictor.type: must be one of typescript, python`,
      `${file}:3 apis[0].predictor.processes_per_replica: must be >= 1`,
    ]);
  });
});
