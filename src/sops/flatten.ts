/**
 * The flat metadata layout of the dotenv and INI stores (sops `stores/flatten.go`):
 * `age__list_0__map_recipient` ⇄ `{age: [{recipient}]}`.
 */

const MAP_SEP = '__map_';
const LIST_SEP = '__list_';

export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

/** Nested metadata → `{flatKey: value}`, in walk order. */
export function flattenMetadata(value: Record<string, PlainValue>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (prefix: string, v: PlainValue): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(prefix + LIST_SEP + i, item));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) walk(prefix === '' ? k : prefix + MAP_SEP + k, item);
    } else if (v !== null) {
      out.push([prefix, String(v)]);
    }
  };
  walk('', value);
  return out;
}

/** `{flatKey: value}` → nested metadata. Keys without separators stay top-level. */
export function unflattenMetadata(flat: ReadonlyArray<[string, string]>): Record<string, PlainValue> {
  const root: Record<string, PlainValue> = {};
  for (const [flatKey, value] of flat) {
    const parts = flatKey.split(/(?=__(?:map|list)_)/);
    const head = parts.shift() ?? '';
    const steps: Array<string | number> = [head];
    for (const part of parts) {
      if (part.startsWith(LIST_SEP)) {
        const index = Number(part.slice(LIST_SEP.length));
        if (!Number.isInteger(index) || index < 0 || index > 10_000) return root;
        steps.push(index);
      } else steps.push(part.slice(MAP_SEP.length));
    }
    let node: Record<string, PlainValue> | PlainValue[] = root;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as string | number;
      const last = i === steps.length - 1;
      const nextIsIndex = typeof steps[i + 1] === 'number';
      const container = node as Record<string | number, PlainValue>;
      if (last) {
        container[step] = value;
      } else {
        let child = container[step];
        if (child === undefined || child === null || typeof child !== 'object') {
          child = nextIsIndex ? [] : {};
          container[step] = child;
        }
        node = child as Record<string, PlainValue> | PlainValue[];
      }
    }
  }
  return root;
}
