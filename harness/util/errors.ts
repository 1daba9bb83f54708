/**
 * Errors the user can fix by changing their input. The CLI maps them to exit code 2;
 * anything else is a bug and keeps its stack trace.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** A bit-exactness check failed: exit code 1. */
export class VerificationError extends Error {
  override name = 'VerificationError';
}

/** Throws an InputError unless `value` is an integer in [min, max]. */
export function requireInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
