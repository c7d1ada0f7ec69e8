/** Order-sensitive comparison form of a tree: maps become entry lists, bytes become base64. */
export type Canonical = null | boolean | number | string | Canonical[] | { entries: Array<[string, Canonical]> } | { bytes: string };

export function canonical(value: unknown): Canonical {
  if (value instanceof Map) return { entries: [...value].map(([k, v]) => [String(k), canonical(v)]) };
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return { entries: Object.entries(value).map(([k, v]) => [k, canonical(v)]) };
  if (value === undefined) return null;
  return value as Canonical;
}
