import { readFile } from "node:fs/promises";
import { ToolkitError, ToolkitErrorCode } from "../../errors.js";
import type { RulesDocument } from "./receiver-rule.js";
import { parseRulesDocument } from "./rule-schema.js";

/** Reads and validates a `{"rules": [...]}` JSON file; every error names the file. */
export async function readRulesFile(path: string): Promise<RulesDocument> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new ToolkitError(ToolkitErrorCode.rulesFileUnreadable, `rules file ${path} ${reason}`, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ToolkitError(ToolkitErrorCode.rulesFileUnreadable, `rules file ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseRulesDocument(document);
  } catch (error) {
    if (error instanceof ToolkitError) throw new ToolkitError(error.code, `rules file ${path}: ${error.message}`, { cause: error });
    throw error;
  }
}
