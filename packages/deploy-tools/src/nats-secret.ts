// Passwords for nats-server.env. nats-server parses a `$VAR`'s value as config text, not
// as a plain string: a value starting with a digit is read as a number and refused, and
// "true", "no", … would be booleans. So a password here is letters and digits, a letter
// first. Pure: the random bytes are given.
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALPHANUMERIC = `${LETTERS}0123456789`;

/** `length` characters (default 32, about 190 bits), unbiased: bytes past a multiple are skipped. */
export function natsSecret(randomBytes: (n: number) => Uint8Array, length = 32): string {
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      const alphabet = out.length === 0 ? LETTERS : ALPHANUMERIC;
      const limit = 256 - (256 % alphabet.length);
      if (b >= limit) continue;
      out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Whether nats-server reads `value`, given as a variable, as this very string. */
export const isNatsSafeSecret = (value: string): boolean =>
  /^[A-Za-z][A-Za-z0-9]*$/.test(value) && !/^(true|false|yes|no|on|off)$/i.test(value);
