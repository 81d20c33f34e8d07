/** Units a `--since` duration may use, in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time given as a duration back from `now` (`90s`, `30m`, `2h`, `7d`) or as an ISO 8601 timestamp
 * (`2026-11-22T09:00:00Z`); epoch milliseconds, or a problem a user can act on.
 */
export function parseSince(text: string, now: number): { at: number } | { problem: string } {
  const trimmed = text.trim();
  const duration = /^(\d+(?:\.\d+)?)([smhd])$/.exec(trimmed);
  // No earlier than 1970: nothing finished before, and an earlier time has no RFC 3339 form to answer with.
  if (duration !== null) return { at: Math.max(0, now - Number(duration[1]) * UNIT_MS[duration[2]!]!) };
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (!Number.isNaN(at)) return { at };
  }
  return { problem: `since must be a duration such as 90s, 30m, 2h or 7d, or an ISO 8601 time such as 2026-11-22T09:00:00Z (got "${text.slice(0, 40)}")` };
}
