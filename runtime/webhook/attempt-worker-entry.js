// Entry of the webhook attempt thread. Worker threads do not inherit the main thread's TypeScript loader, so this
// file (plain JavaScript, like bin/) registers tsx and then loads the worker itself.
import { register } from "tsx/esm/api";

register();
await import("./attempt-worker.ts");
