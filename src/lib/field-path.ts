/**
 * Field paths: where a change is inside an object.
 *
 * A path is a list of segments. Map keys are `key` segments; items of associative lists (containers,
 * env, ports, …) are `item` segments addressed by their merge key, never by index, so a path stays
 * true when a list is reordered. Printed form: `spec.template.spec.containers[name=api].image`,
 * `metadata.annotations[kubectl.kubernetes.io/restartedAt]`.
 */
export type Segment =
  | { readonly k: 'key'; readonly key: string }
  | { readonly k: 'item'; readonly keys: Readonly<Record<string, string | number | boolean>> };

export type FieldPath = readonly Segment[];

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function keySeg(key: string): Segment {
  return { k: 'key', key };
}

export function itemSeg(keys: Record<string, string | number | boolean>): Segment {
  return { k: 'item', keys };
}

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (seg.k === 'key') {
      if (IDENT.test(seg.key)) out += out === '' ? seg.key : `.${seg.key}`;
      else out += `[${seg.key}]`;
    } else {
      out += `[${Object.entries(seg.keys).map(([k, v]) => `${k}=${String(v)}`).join(',')}]`;
    }
  }
  return out === '' ? '(object)' : out;
}

/** Top-level key of a path, e.g. `metadata` or `spec`. */
export function head(path: FieldPath): string | undefined {
  const first = path[0];
  return first?.k === 'key' ? first.key : undefined;
}
