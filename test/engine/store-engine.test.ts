import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteTaskStore } from "../../runtime/store/sqlite-task-store.js";
import { storeEngine } from "../helpers/store-engine.js";
import { describeEngineContract } from "./engine-contract.js";

// SQLite on a file in a temp dir, in its worker thread (serve's default); `reopen` is a restart on the same file.
describeEngineContract("StoreEngine over SqliteTaskStore", (hooks) => {
  const dir = mkdtempSync(join(tmpdir(), "store-engine-"));
  const dataDir = join(dir, "data");
  return {
    engine: storeEngine("sqlite", new SqliteTaskStore({ dataDir }), hooks),
    reopen: (reopenedHooks) => storeEngine("sqlite", new SqliteTaskStore({ dataDir }), reopenedHooks),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
