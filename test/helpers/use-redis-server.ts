import { afterAll, beforeAll } from "vitest";
import { startRedisServer, type RedisServer } from "./redis-server.js";

/**
 * One redis-server for the enclosing describe block: started in its beforeAll, stopped in its afterAll. The object
 * answers for that server once the block's tests (or later hooks) run.
 */
export function useRedisServer(options: { appendfsync?: "always" | "everysec" | "no" } = {}): RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer(options);
  });
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): RedisServer => {
    if (server === undefined) throw new Error("the redis-server starts in beforeAll: use it inside a test or a later hook");
    return server;
  };
  return {
    get port() {
      return started().port;
    },
    get dir() {
      return started().dir;
    },
    get url() {
      return started().url;
    },
    stop: (stopOptions) => started().stop(stopOptions),
    restart: () => started().restart(),
  };
}
