import { z } from "zod";
import { errorCodeList } from "./errors.js";

// The structured error every reply and result carries (its own file: the command reply,
// exec results, agent results and the dry-run report all use it).

/** Limits of an error's text; errorBody() clips to them, so any input can be answered. */
export const ERROR_MESSAGE_MAX = 4096;
export const ERROR_PATH_MAX = 512;
export const VERB_MAX = 64;

export const ErrorBody = z.strictObject({
  code: z.enum(errorCodeList),
  message: z.string().max(ERROR_MESSAGE_MAX),
  /** Dotted path of the offending field, e.g. `target` or `compression.level`. */
  path: z.string().max(ERROR_PATH_MAX).optional(),
  retryable: z.boolean(),
});

export type ErrorBody = z.infer<typeof ErrorBody>;
