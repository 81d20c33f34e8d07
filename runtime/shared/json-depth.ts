/** Deepest nesting of arrays and objects the runtime accepts in a body as sent, or returns as a result (contract section 3). */
export const MAX_JSON_DEPTH = 256;

/**
 * How deeply arrays and objects nest in JSON text, counted on the text itself, without parsing it: a scan of the
 * brackets outside strings. Stops counting once `limit` is passed (the answer is then `limit + 1`), so the cost
 * is bounded by the text's length and nothing recursive ever sees the value. The text need not be valid JSON:
 * the depth check runs before the parser, whose own error is clearer for malformed text.
 */
export function jsonDepth(text: string, limit: number = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c /* \ */) index++;
      else if (code === 0x22 /* " */) inString = false;
      continue;
    }
    if (code === 0x22) inString = true;
    else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/** True when the JSON text nests arrays and objects deeper than `limit`. */
export function isTooDeep(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  return jsonDepth(text, limit) > limit;
}
