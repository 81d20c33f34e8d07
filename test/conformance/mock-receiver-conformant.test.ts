import { afterEach } from "vitest";
import type { MockReceiver } from "../../toolkit/receiver/receiver.js";
import { startReceiver } from "../../toolkit/receiver/receiver.js";
import { describeConformantReceiver } from "./helpers/conformant-receiver-suite.js";
import { useCertificates } from "./helpers/fixtures.js";

const fixtures = useCertificates();
const open: MockReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

// The project's mock receiver with its defaults (no quirks, no rules) is conformant.
describeConformantReceiver(
  "the mock receiver",
  async ({ secret, basic, mtls }) => {
    const certs = fixtures.certs();
    const receiver = await startReceiver({
      ...(mtls ? { tls: certs.server, clientCa: certs.ca.cert } : {}),
      ...(secret === undefined ? {} : { secret }),
      ...(basic === undefined ? {} : { basic }),
    });
    open.push(receiver);
    return `${receiver.url}/hook`;
  },
  () => fixtures.certs(),
);
