import type { JsonSchema } from "./openapi-types.js";

/**
 * Turns shared schema objects into `#/components/schemas/NAME` references. Schemas are written once, as plain
 * objects next to the code that builds the data they describe; wherever one of the named objects appears (by
 * identity) inside another schema or the document, it is replaced by a `$ref`, so the document names each concept
 * once and the source modules stay free of OpenAPI plumbing.
 */
export class ComponentRefs {
  readonly #names: ReadonlyMap<object, string>;

  /** `named` maps each shared schema object to its component name. */
  constructor(named: ReadonlyMap<object, string>) {
    const seen = new Set<string>();
    for (const name of named.values()) {
      if (seen.has(name)) throw new Error(`two schemas are both named ${name}`);
      seen.add(name);
    }
    this.#names = named;
  }

  /** A deep copy of `value` in which every named schema is a `$ref`. */
  refer<T>(value: T): T {
    return this.#copy(value, undefined) as T;
  }

  /** `components.schemas`: each named schema, its own named parts referenced. */
  schemas(): Record<string, JsonSchema> {
    const schemas: Record<string, JsonSchema> = {};
    for (const [schema, name] of this.#names) schemas[name] = this.#copy(schema, schema) as JsonSchema;
    return schemas;
  }

  #copy(value: unknown, root: object | undefined): unknown {
    if (value === null || typeof value !== "object") return value;
    const name = this.#names.get(value);
    if (name !== undefined && value !== root) return { $ref: `#/components/schemas/${name}` };
    if (Array.isArray(value)) return value.map((item: unknown) => this.#copy(item, root));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.#copy(item, root)]));
  }
}
