// nats-server 2.9.10 crashes on a message get (`$JS.API.STREAM.MSG.GET`) that reaches a
// stream while another client is creating it: the stream is registered before its store
// exists, and jsMsgGetRequest dereferences the nil store (v2.9.10 jetstream_api.go:3028).
// Seen in CI: a test that bound the lease bucket and read it while the decider created it
// killed the server (reproduced: 15 creations in 20 with bare gets in flight). Marina's own
// readers ask for stream info first, which narrows the window (0 crashes in 15 tries
// without this guard), so this is defence: stream info and consumers are safe at any time;
// a stream that has ever stored a message (last_seq > 0) has its store; one that never has
// may still be being created, and is read only after a moment.

/** Long enough for a creation in flight to have set its store up. */
export const YOUNG_STREAM_WAIT_MS = 500;

/** Resolves when a stream with this `last_seq` is safe to read with a message get. */
export async function settledForReads(
  lastSeq: number,
  waitMs = YOUNG_STREAM_WAIT_MS,
): Promise<void> {
  if (lastSeq > 0) return;
  await new Promise((r) => setTimeout(r, waitMs));
}
