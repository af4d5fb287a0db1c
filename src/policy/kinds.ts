/** Kind selectors in the policy: `apps/Deployment`, `core/ConfigMap`, `Deployment` (any group), `*`. */
export type KindMatcher = (group: string, kind: string) => boolean;

export function parseKindSelector(sel: string): KindMatcher {
  const s = sel.trim();
  if (s === '*') return () => true;
  const slash = s.lastIndexOf('/');
  if (slash < 0) {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(s)) throw new Error(`"${sel}" is not a kind (want Kind or group/Kind)`);
    return (_g, k) => k === s;
  }
  const group = s.slice(0, slash);
  const kind = s.slice(slash + 1);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) throw new Error(`"${sel}" is not a kind (want Kind or group/Kind)`);
  const g = group === 'core' || group === 'v1' ? '' : group;
  return (gr, k) => gr === g && k === kind;
}

export function anyKind(matchers: readonly KindMatcher[]): KindMatcher {
  if (matchers.length === 0) return () => true;
  return (g, k) => matchers.some((m) => m(g, k));
}
