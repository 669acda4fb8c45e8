import { z } from "zod";

/**
 * A field that was removed: absent is fine, present is refused (VALIDATION_FAILED) under
 * the field's own path with `message` saying where the setting went — rather than a bare
 * "unrecognized key" that leaves the reader guessing.
 */
export function retired(message: string) {
  return z.never({ error: message }).optional().meta({ description: message });
}
