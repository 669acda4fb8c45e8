// The deciders' presence bucket `marina_deciders` (@marina/contracts' PRESENCE_BUCKET) over
// JetStream KV: TTL = lease, one value per key (created in start.ts like the other buckets).
import type { KV } from "@nats-io/kv";
import type { PresenceBucket } from "./kv.js";

export function presenceBucketOf(kv: KV): PresenceBucket {
  return {
    get: (key) => kv.get(key),
    put: (key, data) => kv.put(key, data),
    delete: (key) => kv.delete(key),
    async keys() {
      const out: string[] = [];
      for await (const k of await kv.keys()) out.push(k);
      return out;
    },
  };
}
