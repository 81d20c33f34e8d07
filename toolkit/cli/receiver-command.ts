import { InvalidArgumentError, Option, type Command } from "commander";
import type { RegisterCommand } from "../../runtime/cli/commands.js";
import type { Delivery } from "../receiver/delivery.js";
import { startReceiver } from "../receiver/receiver.js";
import type { ReceiverOptions } from "../receiver/receiver-options.js";
import { receiverQuirkNames, type ReceiverQuirk } from "../receiver/receiver-quirks.js";
import { loadReceiverTls } from "../receiver/receiver-tls.js";
import { readRulesFile } from "../receiver/rules/rules-file.js";
import { parseBasicCredentials } from "../receiver/verdicts/basic-verdict.js";
import { runAction } from "./run-action.js";

interface ReceiverFlags {
  port: number;
  host: string;
  tls?: string;
  mtls?: string;
  basic?: string;
  secret?: string;
  toleranceS: number;
  rules?: string;
  enforce: boolean;
  quirk?: ReceiverQuirk[];
  quiet?: boolean;
  allowResend?: string[];
  maxStoredMib: number;
}

/** `predictor-runtime receiver`: runs the mock webhook receiver of contract section 6 until SIGINT or SIGTERM. */
export const registerReceiverCommand: RegisterCommand = (program: Command) => {
  program
    .command("receiver")
    .description("run a mock webhook receiver that records, verifies and misbehaves (admin API and live page under /_/)")
    .option("--port <port>", "port to listen on (0 picks a free one)", wholeNumber(0, 65535), 9000)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--tls <dir>", "serve HTTPS with DIR/server.pem and DIR/server-key.pem (from `predictor-runtime certs`)")
    .option("--mtls <dir>", "also ask clients for a certificate trusted by DIR/ca.pem; refused clients are answered 401/403")
    .option("--basic <user:pass>", "check Authorization: Basic against these credentials")
    .option("--secret <whsec>", "check Standard Webhooks signatures with this secret (whsec_...)")
    .option("--tolerance-s <seconds>", "how far webhook-timestamp may be from now, either way", wholeNumber(0, 10 ** 9), 300)
    .option("--rules <file>", 'JSON file of answers and faults: {"rules": [...]}')
    .option("--no-enforce", "record failed verdicts but answer by the rules instead of 401/403")
    .addOption(
      new Option("--quirk <name>", "a deliberate verification flaw, to see a conformance suite catch it; repeat for several")
        .choices(receiverQuirkNames)
        .argParser((name: string, names: ReceiverQuirk[] | undefined) => {
          if (!(receiverQuirkNames as string[]).includes(name)) throw new InvalidArgumentError(`Allowed choices are ${receiverQuirkNames.join(", ")}.`);
          return [...(names ?? []), name as ReceiverQuirk];
        }),
    )
    .option(
      "--allow-resend <prefix>",
      "a URL prefix (besides loopback) the live page may resend a recorded delivery to; repeat for several",
      (prefix: string, prefixes: string[] | undefined) => [...(prefixes ?? []), prefix],
    )
    .option("--quiet", "do not print a line per delivery")
    .option("--max-stored-mib <mib>", "recorded body text kept over all deliveries; the oldest deliveries are dropped past it", wholeNumber(1, 65536), 256)
    .action((flags: ReceiverFlags) => runAction("receiver", () => runReceiver(flags)));
};

async function runReceiver(flags: ReceiverFlags): Promise<void> {
  const options: ReceiverOptions = {
    port: flags.port,
    host: flags.host,
    enforce: flags.enforce,
    quirks: flags.quirk ?? [],
    signatureToleranceS: flags.toleranceS,
    maxStoredBytes: flags.maxStoredMib * 1024 * 1024,
    ...(await loadReceiverTls({ ...(flags.tls === undefined ? {} : { tlsDir: flags.tls }), ...(flags.mtls === undefined ? {} : { mtlsDir: flags.mtls }) })),
    ...(flags.basic === undefined ? {} : { basic: parseBasicCredentials(flags.basic) }),
    ...(flags.secret === undefined ? {} : { secret: flags.secret }),
    ...(flags.allowResend === undefined ? {} : { resendAllow: flags.allowResend }),
    ...(flags.rules === undefined ? {} : { rules: (await readRulesFile(flags.rules)).rules }),
    ...(flags.quiet ? {} : { onDelivery: (delivery: Delivery) => process.stdout.write(`${deliveryLine(delivery)}\n`) }),
  };
  const receiver = await startReceiver(options);
  process.stdout.write(`${banner(receiver.url, flags, receiver.rules.length)}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(received);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await receiver.close();
  process.stdout.write(`receiver closed (${signal}) after ${receiver.deliveries.length} deliveries\n`);
}

/** What the receiver listens on and checks; secrets appear only as "set". */
function banner(url: string, flags: ReceiverFlags, ruleCount: number): string {
  const checks = [
    ...(flags.mtls === undefined ? [] : ["client certificate (mTLS)"]),
    ...(flags.basic === undefined ? [] : ["basic auth"]),
    ...(flags.secret === undefined ? [] : [`Standard Webhooks signature (tolerance ${flags.toleranceS} s)`]),
  ];
  const enforcement = checks.length === 0 ? "" : flags.enforce ? "; failures answered 401/403" : "; failures only recorded (--no-enforce)";
  return [
    `receiver listening on ${url}`,
    `  live page   ${url}/_/`,
    `  deliveries  ${url}/_/deliveries`,
    `  checks      ${checks.length === 0 ? "none" : checks.join(", ")}${enforcement}`,
    ...(flags.quirk === undefined ? [] : [`  quirks      ${flags.quirk.join(", ")} (deliberately not conformant)`]),
    `  rules       ${ruleCount === 0 ? 'none: every request gets 200 {"ok":true}' : `${ruleCount} from ${flags.rules ?? "options"}`}`,
    "stop with Ctrl-C",
  ].join("\n");
}

/** `10:49:45.123 POST /hook -> 200 basic=pass signature=fail tls=-` */
function deliveryLine(delivery: Delivery): string {
  const { basic, signature, tls } = delivery.verdicts;
  const tlsText = tls === null ? "-" : tls.authorized ? "pass" : `fail(${tls.error ?? "?"})`;
  const answer = delivery.response.fault ?? String(delivery.response.status);
  return `${delivery.received_at.slice(11, 23)} ${delivery.method} ${delivery.url} -> ${answer} basic=${basic ?? "-"} signature=${signature ?? "-"} tls=${tlsText}`;
}

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return value;
  };
}
