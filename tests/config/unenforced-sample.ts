// Picks a key this version does not enforce, for the tests of how such keys are refused.
import type { KeySpec } from '../../src/config/schema.ts';

/**
 * A key this version does not enforce, with a value other than its default (as text and as
 * parsed), for the tests of how such keys are refused. Picked at run time: as the open issues
 * land, the keys not enforced change (and may run out: then those tests only say so).
 */
export function unenforcedSample(
  specs: readonly KeySpec[],
): { name: string; text: string; value: number | boolean | string } | undefined {
  for (const spec of specs) {
    if (spec.status.state !== 'not-enforced') continue;
    if (spec.type === 'bool')
      return { name: spec.name, text: String(!spec.default), value: !spec.default };
    if (spec.type === 'enum' && spec.values) {
      const other = Object.keys(spec.values).find((v) => v !== String(spec.default));
      if (other === undefined) continue;
      const numeric = /^-?\d+$/.test(other);
      return { name: spec.name, text: other, value: numeric ? Number(other) : other };
    }
    if (spec.type === 'int' && typeof spec.default === 'number') {
      const v =
        spec.default + 1 <= (spec.max ?? Number.MAX_SAFE_INTEGER)
          ? spec.default + 1
          : spec.default - 1;
      return { name: spec.name, text: String(v), value: v };
    }
  }
  return undefined;
}
