import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests start real servers and child processes; the default 5 s is too tight on a shared 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // vitest's default is one file at a time on 2 cores (cores - 1). Most suites spend their time waiting on child
    // processes and sockets, so three files at once finish the suite in far less time on this 2-core machine.
    maxWorkers: 3,
    // Each worker process keeps its module cache from one test file to the next instead of importing (and
    // transforming) the runtime again for every file: on this 2-core machine that was a third of the suite's CPU.
    // Test files still run their own top-level code and hooks; no test mocks modules or changes globals.
    isolate: false,
  },
});
