import { dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's folders whose frames are the runtime's own, not the predictor's. */
const RUNTIME_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const INTERNAL_PREFIXES = [RUNTIME_ROOT + sep, pathToFileUrlPrefix(RUNTIME_ROOT)];
const NODE_MODULES = `${sep}node_modules${sep}`;

function pathToFileUrlPrefix(path: string): string {
  return `file://${path}/`;
}

/** True for a stack frame of the runtime itself, Node's internals, a dependency, or a module loaded from a data: URL. */
function isInternalFrame(frame: string): boolean {
  return (
    INTERNAL_PREFIXES.some((prefix) => frame.includes(prefix)) ||
    frame.includes(NODE_MODULES) ||
    frame.includes("node:internal") ||
    /\(node:[a-z_]+[:)]/.test(frame) ||
    frame.includes("data:")
  );
}

/**
 * The stack of an error predict() threw, as a client may see it (Launch `traceback`, failed reports): the message
 * and the predictor's own frames only. Frames of the runtime, of Node and of dependencies say nothing to the
 * predictor's author and show the server's layout; a frame in a `data:` URL would carry a whole transpiled source.
 */
export function predictorTraceback(stack: string): string {
  const lines = stack.split("\n");
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  if (firstFrame === -1) return stack;
  const frames = lines.slice(firstFrame).filter((line) => /^\s+at /.test(line) && !isInternalFrame(line));
  return [...lines.slice(0, firstFrame), ...frames].join("\n");
}
