// The app's Bus over a NATS connection (connected by @marina/runtime's
// connectNatsWithRetry); tracks the connected state from the client's status events.
import { type Logger, watchNatsStatus } from "@marina/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Bus } from "./app.js";

export class NatsBus implements Bus {
  #connected = true;
  readonly nc: NatsConnection;

  constructor(nc: NatsConnection, log: Logger) {
    this.nc = nc;
    watchNatsStatus(nc, log, (connected) => {
      this.#connected = connected;
    });
  }

  publish(subject: string, data: Uint8Array): void {
    this.nc.publish(subject, data);
  }

  isConnected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }
}
