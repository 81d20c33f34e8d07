/**
 * JSON text embedded as it is when a view or report is serialized: a predict() result stays the text it was
 * serialized to once, where predict() ran, and is never parsed or serialized again on its way out.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object's members, where a member may be JSON text to embed verbatim; undefined members are left out. */
export type JsonMembers = Readonly<Record<string, unknown>>;

/**
 * `JSON.stringify(members)`, byte for byte, except that {@link RawJson} members are embedded as their text. Only
 * top-level members may be raw, which is all a report or a status answer needs.
 */
export function stringifyMembers(members: JsonMembers): string {
  let text = "{";
  for (const key of Object.keys(members)) {
    const value = members[key];
    if (value === undefined) continue;
    const json = value instanceof RawJson ? value.text : JSON.stringify(value);
    if (json === undefined) continue; // Functions and symbols, as JSON.stringify drops them.
    text += `${text.length === 1 ? "" : ","}${JSON.stringify(key)}:${json}`;
  }
  return `${text}}`;
}

/** The members with every {@link RawJson} parsed: the object a client would get by parsing the text. */
export function parseMembers(members: JsonMembers): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const key of Object.keys(members)) {
    const value = members[key];
    if (value !== undefined) object[key] = value instanceof RawJson ? (JSON.parse(value.text) as unknown) : value;
  }
  return object;
}
