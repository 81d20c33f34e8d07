import { resolve } from "node:path";
import { Option, type Command } from "commander";
import type { RegisterCommand } from "../../runtime/cli/commands.js";
import { writeCertificates } from "../certs/certificate-files.js";
import { defaultServerHosts } from "../certs/generate-certificates.js";
import { runAction } from "./run-action.js";

interface CertsFlags {
  out: string;
  keyType: "ec" | "rsa";
  serverHost?: string[];
}

/** `predictor-runtime certs --out DIR`: writes the certificate fixtures of contract section 6. */
export const registerCertsCommand: RegisterCommand = (program: Command) => {
  program
    .command("certs")
    .description("write test certificates for mTLS: a CA, a server and a client certificate, and an expired, a wrong-EKU and a foreign-CA client")
    .requiredOption("--out <dir>", "directory to write NAME.pem and NAME-key.pem into (created if missing; older fixtures are replaced)")
    .addOption(new Option("--key-type <type>", "key algorithm").choices(["ec", "rsa"]).default("ec"))
    .option(
      "--server-host <host>",
      `a DNS name or IP the server certificate is valid for; repeat for several (default: ${defaultServerHosts.join(", ")})`,
      (host: string, hosts: string[] | undefined) => [...(hosts ?? []), host],
    )
    .action((flags: CertsFlags) =>
      runAction("certs", async () => {
        const written = await writeCertificates(flags.out, {
          keyType: flags.keyType,
          ...(flags.serverHost === undefined ? {} : { serverHosts: flags.serverHost }),
        });
        const dir = resolve(flags.out);
        process.stdout.write(
          [
            `wrote ${written.length} files to ${dir} (private keys mode 0600; test use only):`,
            "  ca.pem                      the CA that signs the server and the good clients",
            `  server.pem                  for ${(flags.serverHost ?? defaultServerHosts).join(", ")} (serverAuth)`,
            "  client.pem                  a good client certificate (clientAuth)",
            "  client-expired.pem          expired a day ago",
            "  client-wrong-eku.pem        serverAuth only, no clientAuth",
            "  client-foreign-ca.pem       signed by foreign-ca.pem, which the receiver does not trust",
            "each NAME.pem has its key in NAME-key.pem. Next:",
            `  predictor-runtime receiver --mtls ${flags.out}`,
            "",
          ].join("\n"),
        );
      }),
    );
};
