/** Assertions several test files share. */
import * as assert from 'uvu/assert';
import { InputError } from '../harness/util/errors.ts';

/** fn must throw an InputError whose message mentions every needle. */
export function throwsInput(fn: () => unknown, ...needles: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError, `expected an InputError, got ${String(e)}`);
    for (const n of needles) assert.ok((e as Error).message.includes(n), `'${(e as Error).message}' does not mention ${n}`);
    return;
  }
  assert.unreachable(`expected an InputError mentioning ${needles.join(', ')}`);
}
