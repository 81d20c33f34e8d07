import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { XMLParser } from "fast-xml-parser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkIds } from "../../toolkit/conformance/check-catalog.js";
import { jsonReportSchema, type JsonReport } from "../../toolkit/conformance/output/json-report.js";
import { startReceiver, type MockReceiver } from "../../toolkit/receiver/receiver.js";
import { makeTempDir } from "../toolkit/helpers/temp-dir.js";
import { basicFlag, credentials } from "./helpers/fixtures.js";
import { runCli } from "./helpers/processes.js";

/** `--json` validates against its schema, `--junit` parses and counts what the table and JSON count. */

const open: MockReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});
let dir: string;
let removeDir: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove: removeDir } = await makeTempDir("conform-output"));
});
afterAll(() => removeDir());

/** A receiver that breaks two clauses (stale timestamps pass, wrong passwords get 403), checked without --mtls. */
async function twiceFlawedReceiver(): Promise<string> {
  const receiver = await startReceiver({
    secret: credentials.secret,
    basic: { username: credentials.username, password: credentials.password },
    quirks: ["signature-ignore-stale", "basic-403-on-wrong"],
  });
  open.push(receiver);
  return `${receiver.url}/hook`;
}

const flags = ["--secret", credentials.secret, "--basic", basicFlag];
const expectedFailures = ["signature.rejects-stale", "basic.rejects-wrong"];
const mtlsIds = checkIds.filter((id) => id.startsWith("mtls."));

interface JunitTestcase {
  "@_name": string;
  "@_classname": string;
  "@_time": string;
  failure?: { "@_message": string; "@_type": string; "#text": string };
  skipped?: { "@_message": string };
  "system-out"?: string;
}

interface JunitDocument {
  testsuites: {
    "@_tests": string;
    "@_failures": string;
    "@_skipped": string;
    testsuite: { "@_name": string; "@_tests": string; "@_failures": string; "@_skipped": string; "@_errors": string; testcase: JunitTestcase[] };
  };
}

async function readJunit(file: string): Promise<JunitDocument> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_", isArray: (name) => name === "testcase" });
  return parser.parse(await readFile(file, "utf8")) as JunitDocument;
}

describe("--json", () => {
  it("prints a document valid against the published schema on stdout, progress on stderr, and exits 1", async () => {
    const run = await runCli(["conform", await twiceFlawedReceiver(), ...flags, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    const document = JSON.parse(run.stdout) as JsonReport;
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(jsonReportSchema);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    expect(document.passed).toBe(false);
    expect(document.checks.map((check) => check.id)).toEqual(checkIds);
    expect(document.checks.filter((check) => check.verdict === "fail").map((check) => check.id)).toEqual(expectedFailures);
    for (const check of document.checks) expect(Object.keys(check)).toEqual(["id", "clause", "source", "verdict", "detail", ...(check.fix === undefined ? [] : ["fix"])]);

    // Progress: a line per finished check when stderr is not a terminal, and the summary.
    expect(run.stderr).toMatch(/^conform: 24 checks against http:\/\/127\.0\.0\.1:\d+\/hook$/m);
    expect(run.stderr).toContain("[15/24] fail signature.rejects-stale");
    expect(run.stderr).toContain("[24/24] skip mtls.rejects-foreign-ca");
    expect(run.stderr).toContain("24 checks: 17 passed, 2 failed, 5 skipped; the receiver fails");
    expect(run.stderr).not.toContain("\u001b[");
  }, 60_000);

  it("the schema refuses documents that break the shape (so validating proves something)", () => {
    const validate = new Ajv2020({ strict: true }).compile(jsonReportSchema);
    const check = { id: "ack.completed", clause: "c", source: "Cortex", verdict: "pass", detail: "d" };
    expect(validate({ passed: true, checks: [check] })).toBe(true);
    expect(validate({ passed: true, checks: [{ ...check, verdict: "fail" }] })).toBe(false);
    expect(validate({ passed: true, checks: [{ ...check, source: "Svix" }] })).toBe(false);
    expect(validate({ passed: true, checks: [{ ...check, extra: 1 }] })).toBe(false);
    expect(validate({ passed: "yes", checks: [] })).toBe(false);
  });
});

describe("--junit", () => {
  it("combines with --json: the XML parses, with one testcase per check and the same failures and skips", async () => {
    const file = join(dir, "with-json.xml");
    const run = await runCli(["conform", await twiceFlawedReceiver(), ...flags, "--json", "--junit", file]);
    expect(run.code, run.stderr).toBe(1);
    const document = JSON.parse(run.stdout) as JsonReport;
    const junit = await readJunit(file);
    const suite = junit.testsuites.testsuite;

    const count = (verdict: string): number => document.checks.filter((check) => check.verdict === verdict).length;
    expect([suite["@_tests"], suite["@_failures"], suite["@_skipped"], suite["@_errors"]]).toEqual(["24", String(count("fail")), String(count("skip")), "0"]);
    expect([junit.testsuites["@_tests"], junit.testsuites["@_failures"], junit.testsuites["@_skipped"]]).toEqual(["24", "2", "5"]);
    expect(suite.testcase.map((testcase) => testcase["@_name"].split(":")[0])).toEqual(checkIds);

    for (const [index, check] of document.checks.entries()) {
      const testcase = suite.testcase[index];
      expect(testcase?.["@_name"]).toBe(`${check.id}: ${check.clause}`);
      expect(testcase?.["@_classname"]).toBe(`conform.${check.id.split(".")[0]}`);
      expect(Number(testcase?.["@_time"])).toBeGreaterThanOrEqual(0);
      if (check.verdict === "fail") {
        expect(testcase?.failure?.["@_message"]).toBe(check.detail);
        expect(testcase?.failure?.["#text"]).toContain(`fix: ${check.fix}`);
        expect(testcase?.skipped).toBeUndefined();
      } else if (check.verdict === "skip") {
        expect(testcase?.skipped?.["@_message"]).toBe(check.detail);
        expect(testcase?.failure).toBeUndefined();
      } else {
        expect(testcase?.["system-out"]).toBe(check.detail);
      }
    }
    expect(run.stderr).toContain(`JUnit report written to ${file}`);
  }, 60_000);

  it("counts the same failures as the table", async () => {
    const file = join(dir, "with-table.xml");
    const run = await runCli(["conform", await twiceFlawedReceiver(), ...flags, "--junit", file]);
    expect(run.code, run.stderr).toBe(1);
    // Table rows start with the check id; its verdict is the next column.
    const tableVerdicts = Object.fromEntries(
      run.stdout
        .split("\n")
        .map((line) => /^([a-z]+\.[a-z0-9-]+)\s+(pass|FAIL|skip)\b/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1], match[2]]),
    );
    expect(Object.keys(tableVerdicts)).toEqual(checkIds);
    const tableFailures = Object.keys(tableVerdicts).filter((id) => tableVerdicts[id] === "FAIL");
    expect(tableFailures).toEqual(expectedFailures);
    expect(run.stdout).toContain("24 checks: 17 passed, 2 failed, 5 skipped; the receiver fails");

    const suite = (await readJunit(file)).testsuites.testsuite;
    const junitFailures = suite.testcase.filter((testcase) => testcase.failure !== undefined).map((testcase) => testcase["@_name"].split(":")[0]);
    expect(junitFailures).toEqual(tableFailures);
    expect(Number(suite["@_failures"])).toBe(tableFailures.length);
    const junitSkips = suite.testcase.filter((testcase) => testcase.skipped !== undefined).map((testcase) => testcase["@_name"].split(":")[0]);
    expect(junitSkips).toEqual(Object.keys(tableVerdicts).filter((id) => tableVerdicts[id] === "skip"));
    expect(junitSkips).toEqual(expect.arrayContaining(mtlsIds));
  }, 60_000);
});
