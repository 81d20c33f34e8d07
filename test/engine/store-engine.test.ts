import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import { storeEngine } from "../helpers/store-engine.js";
import { describeEngineContract } from "./engine-contract.js";

/** SQLite on a file in a temp dir, its engine in `thread`; `reopen` is a restart on the same file. */
function onFile(thread: "worker" | "main") {
  return (hooks: Parameters<typeof storeEngine>[2]) => {
    const dir = mkdtempSync(join(tmpdir(), "store-engine-"));
    const dataDir = join(dir, "data");
    return {
      engine: storeEngine("sqlite", new SqliteTaskStore({ dataDir, thread }), hooks),
      reopen: (reopenedHooks: Parameters<typeof storeEngine>[2]) => storeEngine("sqlite", new SqliteTaskStore({ dataDir, thread }), reopenedHooks),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  };
}

// The whole contract with SQLite in the main thread: a worker thread costs a second or more to start (it loads
// TypeScript), once per test and again per restart. SqliteTaskStore answers alike in either thread (see
// test/store/sqlite-task-store.test.ts); the sections most sensitive to the timing of a store in another thread (a
// task's life, stop and restart, close) run again in the worker thread, serve's default.
describeEngineContract("StoreEngine over SqliteTaskStore in the main thread", onFile("main"));
describeEngineContract("StoreEngine over SqliteTaskStore in its worker thread (serve's default)", onFile("worker"), { sections: ["1.", "6.", "8."] });
