/**
 * The parts of OpenAPI 3.1 this runtime writes, typed just enough to catch a misspelt field at compile time. The
 * tests validate the whole document against the official OpenAPI 3.1 schema.
 */

/** A JSON Schema (2020-12 dialect, as OpenAPI 3.1 uses). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** OpenAPI Media Type Object. */
export interface MediaTypeObject {
  schema: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}

/** OpenAPI Header Object (a response header). */
export interface HeaderObject {
  description?: string;
  required?: boolean;
  schema: JsonSchema;
}

/** OpenAPI Response Object. */
export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaTypeObject>;
}

/** OpenAPI Parameter Object. */
export interface ParameterObject {
  name: string;
  in: "query" | "header" | "path";
  description?: string;
  required?: boolean;
  schema: JsonSchema;
  example?: unknown;
}

/** OpenAPI Request Body Object. */
export interface RequestBodyObject {
  description?: string;
  required?: boolean;
  content: Record<string, MediaTypeObject>;
}

/** OpenAPI Operation Object. */
export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: ParameterObject[];
  requestBody?: RequestBodyObject;
  responses: Record<string, ResponseObject>;
  callbacks?: Record<string, CallbackObject>;
  /** Alternatives, each naming the schemes it needs; `{}` means none is needed. */
  security?: Array<Record<string, string[]>>;
}

/** OpenAPI Security Scheme Object (the kinds this runtime declares). */
export type SecuritySchemeObject =
  | { type: "http"; scheme: "bearer" | "basic"; description?: string }
  | { type: "apiKey"; in: "header"; name: string; description?: string };

/** OpenAPI Path Item Object (only the methods this runtime serves). */
export interface PathItemObject {
  summary?: string;
  description?: string;
  parameters?: ParameterObject[];
  get?: OperationObject;
  post?: OperationObject;
  delete?: OperationObject;
}

/** OpenAPI Callback Object: runtime expression -> the request the runtime sends there. */
export type CallbackObject = Record<string, PathItemObject>;

/** OpenAPI Tag Object. */
export interface TagObject {
  name: string;
  description?: string;
}

/** The OpenAPI 3.1 document `GET /openapi.json` serves. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string; license?: { name: string; identifier?: string } };
  tags: TagObject[];
  paths: Record<string, PathItemObject>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes?: Record<string, SecuritySchemeObject> };
}
