import { readCertificateFile } from "../certs/certificate-files.js";
import type { ReceiverOptions } from "./receiver-options.js";

/** Where the receiver's TLS files are: directories laid out by `predictor-runtime certs --out DIR`. */
export interface ReceiverTlsDirs {
  /** Serve HTTPS with `server.pem` and `server-key.pem` from here. */
  tlsDir?: string;
  /** Ask clients for a certificate trusted by `ca.pem` from here; also the server certificate unless `tlsDir`. */
  mtlsDir?: string;
}

/**
 * Reads the TLS part of the receiver options, as `--tls DIR` and `--mtls DIR` do. A missing file raises
 * CERT_FILE_MISSING naming it and the `certs` command that makes it.
 */
export async function loadReceiverTls(dirs: ReceiverTlsDirs): Promise<Pick<ReceiverOptions, "tls" | "clientCa">> {
  const serverDir = dirs.tlsDir ?? dirs.mtlsDir;
  if (serverDir === undefined) return {};
  const tls = {
    cert: await readCertificateFile(serverDir, "server", "cert"),
    key: await readCertificateFile(serverDir, "server", "key"),
  };
  if (dirs.mtlsDir === undefined) return { tls };
  return { tls, clientCa: await readCertificateFile(dirs.mtlsDir, "ca", "cert") };
}
