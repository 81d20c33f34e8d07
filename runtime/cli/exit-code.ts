/** Exit codes of contract section 5. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** A check or job failed. */
  failed: 1,
  /** Bad usage or bad config. */
  usage: 2,
} as const;
