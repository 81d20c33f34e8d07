/** A request target split into its path and query, taken literally (no URL resolution). */
export interface RequestTarget {
  path: string;
  params: URLSearchParams;
}

/**
 * Splits `/hook?a=1` into path and query. Parsing with `new URL(target, base)` would read `//host/x` as a host
 * and `/a/../b` as `/b`; a receiver author wants to see the path exactly as it was sent.
 */
export function splitTarget(target: string | undefined): RequestTarget {
  const text = target ?? "/";
  const question = text.indexOf("?");
  return question === -1 ? { path: text, params: new URLSearchParams() } : { path: text.slice(0, question), params: new URLSearchParams(text.slice(question + 1)) };
}

/** Query parameters as recorded: a repeated name gives an array. */
export function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}
