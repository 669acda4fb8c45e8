import { z } from "zod";

/** How a rebuild's stream is compressed (cmd.rebuild, the agents' send/receive). */
export const Compression = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  z.strictObject({ kind: z.literal("pigz"), level: z.number().int().min(1).max(9).default(1) }),
  z.strictObject({ kind: z.literal("zstd"), level: z.number().int().min(1).max(19).default(1) }),
]);

export type Compression = z.infer<typeof Compression>;
