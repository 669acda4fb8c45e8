// marina watch: a live view of the cluster. On a terminal the screen is redrawn in place on
// every message (topology tree, running operation, latest events); otherwise, and with
// --json, one line per message.
import type { Context } from "../context.js";
import { printJsonLine } from "../context.js";
import { lastTopology, readPublished } from "../events-stream.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatPublished, type Published } from "../format/stream.js";
import { renderWatch, type WatchModel } from "../format/watch-view.js";
import { jsonOf } from "./events.js";
import { Redraw } from "./redraw.js";

export interface WatchOptions {
  /** Replay what was published since then, so a running operation shows at once. */
  readonly since: Date;
  /** Events kept on screen. */
  readonly events: number;
}

export async function watchCommand(ctx: Context, o: WatchOptions): Promise<ExitCode> {
  const nc = await ctx.connect();
  const screen = ctx.out.isTTY ? new Redraw(ctx.out.stream) : undefined;
  let model: WatchModel = {
    cluster: ctx.cluster,
    topology: null,
    operation: null,
    events: [],
    connected: true,
  };
  let caughtUp = false;
  const draw = () => {
    if (screen && caughtUp) screen.draw(renderWatch(model, ctx.now(), ctx.out.style));
  };
  const apply = (p: Published) => {
    switch (p.kind) {
      case "topology":
        model = { ...model, topology: p.topology };
        break;
      case "operation":
        model = { ...model, operation: { at: p.at, event: p.operation } };
        break;
      case "event":
        model = {
          ...model,
          events: [...model.events, { at: p.at, event: p.event }].slice(-o.events),
        };
        break;
    }
  };
  const last = await lastTopology(nc, ctx.cluster);
  if (last) {
    apply(last);
    if (!screen) print(ctx, last);
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") {
        model = { ...model, connected: s.type === "reconnect" };
        if (!screen)
          ctx.out.warn(
            s.type === "disconnect" ? "NATS disconnected; reconnecting" : "NATS reconnected",
          );
        draw();
      }
    }
  })();
  // The clock on screen and a running operation's duration move without messages too.
  const tick = screen ? setInterval(draw, 1000) : undefined;
  try {
    await readPublished(
      nc,
      {
        cluster: ctx.cluster,
        since: o.since,
        follow: true,
        signal: ctx.signal,
        onCaughtUp: () => {
          caughtUp = true;
          draw();
        },
        onInvalid: (subject, message) => {
          if (!screen) ctx.out.warn(`skipped an invalid message on ${subject}: ${message}`);
        },
      },
      (p) => {
        // The replay may hold the last topology read above, or older ones: not news.
        if (
          p.kind === "topology" &&
          model.topology &&
          p.topology.generation <= model.topology.generation &&
          p.topology.epoch <= model.topology.epoch
        )
          return;
        apply(p);
        if (screen) draw();
        else print(ctx, p);
      },
    );
  } finally {
    clearInterval(tick);
    screen?.done();
  }
  return EXIT.ok;
}

function print(ctx: Context, p: Published): void {
  if (ctx.out.json) printJsonLine(ctx, jsonOf(p));
  else ctx.out.line(formatPublished(p, ctx.out.style));
}
