import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePorts } from "../src/ports.js";

describe("freePort", () => {
  it("never hands out the same port twice and each one can be bound", async () => {
    const ports = await freePorts(40);
    expect(new Set(ports).size).toBe(40);
    const port = await freePort();
    expect(ports).not.toContain(port);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  });
});
