import { defineConfig } from "vitest/config";

// Unit tests are pure and fast; integration tests start real mariadbd and nats-server
// processes, so they run in forked workers with generous timeouts and limited parallelism
// (the machines have 2 cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          sequence: { groupOrder: 0 },
          include: [
            "test/**/*.test.ts",
            "packages/*/test/**/*.test.ts",
            "services/*/test/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          // after the unit tests; its own worker limit (servers are heavy on 2 cores)
          sequence: { groupOrder: 1 },
          include: ["packages/*/test/**/*.int.test.ts", "services/*/test/**/*.int.test.ts"],
          pool: "forks",
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ["packages/lab/test/global-setup.ts"],
        },
      },
    ],
  },
});
