/**
 * Every error the toolkit raises on purpose. Code branches on `code` (or `instanceof`), never on message text;
 * messages say what is wrong and how to fix it, and never contain a password, signing secret or private key.
 */
export const ToolkitErrorCode = {
  /** A certificate or key file the receiver needs is missing or unreadable (CLI exit code 2). */
  certFileMissing: "CERT_FILE_MISSING",
  /** `--basic` or `basic` is not `USER:PASS` with a non-empty user (CLI exit code 2). */
  basicInvalid: "BASIC_CREDENTIALS_INVALID",
  /** The signing secret is not `whsec_<base64>` (CLI exit code 2). */
  secretInvalid: "SIGNING_SECRET_INVALID",
  /** A rules document does not match the rule schema; the message names the bad field. */
  rulesInvalid: "RULES_INVALID",
  /** The rules file cannot be read or is not JSON (CLI exit code 2). */
  rulesFileUnreadable: "RULES_FILE_UNREADABLE",
  /** A receiver or certificate option has a wrong value (CLI exit code 2). */
  optionInvalid: "OPTION_INVALID",
  /** The receiver's port is taken on that address (CLI exit code 2: pick another port). */
  portInUse: "PORT_IN_USE",
  /** `waitFor` reached its timeout before enough deliveries were recorded. */
  waitTimeout: "WAIT_TIMEOUT",
  /** The receiver was closed while something still waited on it. */
  receiverClosed: "RECEIVER_CLOSED",
  /** The URL given to `conform` is not an http(s) URL, carries credentials, or is http with `--mtls` (CLI exit code 2). */
  urlInvalid: "URL_INVALID",
  /** A report file (`conform --junit FILE`) cannot be written (CLI exit code 2). */
  outputUnwritable: "OUTPUT_UNWRITABLE",
} as const;

/** One of the stable codes in {@link ToolkitErrorCode}. */
export type ToolkitErrorCodeValue = (typeof ToolkitErrorCode)[keyof typeof ToolkitErrorCode];

/** Base class of every deliberate toolkit error. */
export class ToolkitError extends Error {
  override readonly name: string = "ToolkitError";

  constructor(
    readonly code: ToolkitErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
