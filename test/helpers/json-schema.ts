import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: under Node's ESM the default import is module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

/**
 * An ajv for the JSON Schema 2020-12 dialect (the one OpenAPI 3.1 schemas are written in), strict, with formats
 * (`date-time`) checked rather than ignored.
 */
export function createAjv2020(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}
