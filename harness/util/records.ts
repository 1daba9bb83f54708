/** Records keyed by names a user typed. */

/**
 * Sets `key` as an own, enumerable property, also for names like `__proto__` that plain
 * assignment would swallow, so that a later own-property check reports them as unknown.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
