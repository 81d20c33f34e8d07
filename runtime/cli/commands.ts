import type { Command } from "commander";
import { registerCertsCommand } from "../../toolkit/cli/certs-command.js";
import { registerConformCommand } from "../../toolkit/cli/conform-command.js";
import { registerReceiverCommand } from "../../toolkit/cli/receiver-command.js";
import { registerInitCommand } from "./init-command.js";
import { registerRedeliverCommand } from "./redeliver-command.js";
import { registerServeCommand } from "./serve-command.js";

/** A CLI verb: adds itself to the program. One module per verb keeps main.ts free of verb details. */
export type RegisterCommand = (program: Command) => void;

/** Every verb of the CLI, in the order `--help` lists them. */
export const commandModules: RegisterCommand[] = [
  registerServeCommand,
  registerRedeliverCommand,
  registerInitCommand,
  registerCertsCommand,
  registerReceiverCommand,
  registerConformCommand,
];
