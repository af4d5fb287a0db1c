/**
 * Hostile AdmissionReviews, as an attacker writes them, one table per class of issue 10 (and 11.3):
 * the same bodies are decided in-process (test/unit/gate-attacks.test.ts) and over HTTPS
 * (test/integration/gate-attacks.test.ts). Bodies are JSON text, so `__proto__` keys and integers
 * beyond 2^53 arrive exactly as an API server would send them.
 */
import { ARGO_CONTROLLER, deployment, edit, HPA, reviewJson, type RequestSpec } from './reviews.ts';

export interface AttackCase {
  readonly name: string;
  readonly body: string;
  readonly want: 'allowed' | 'warned' | 'denied';
  readonly rule?: string;
  /** a guarded path the decision must name */
  readonly guarded?: string;
  /** a policy other than the example policy (unit tests only) */
  readonly policy?: string;
}

type Obj = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary object shapes
type Loose = Obj & { spec: any; metadata: any; [field: string]: any };

const PROTO = '@PROTO@';

/** JSON text of a review; `@PROTO@` becomes `__proto__` and `"@INT:<digits>@"` a bare integer. */
export function body(spec: RequestSpec): string {
  return JSON.stringify(reviewJson(spec))
    .replaceAll(`"${PROTO}"`, '"__proto__"')
    .replace(/"@INT:(-?[0-9]+)@"/g, '$1');
}

const int = (digits: string) => `@INT:${digits}@`;

const TRACKING = 'argocd.argoproj.io/tracking-id';

/** A Deployment GitOps owns only through argocd-controller's managedFields entry (no marker). */
export function managedOnly(fn: (o: Loose) => void = () => {}): Obj {
  return edit(deployment(), (o) => {
    o.metadata.annotations = {};
    fn(o as Loose);
  });
}

const argoFields = (o: Obj) => (o as Loose).metadata.managedFields[0].fieldsV1 as Obj;
const update = (oldObject: Obj, object: Obj, over: Partial<RequestSpec> = {}): string => body({ oldObject, object, ...over });

const VPA_POLICY = 'protectedNamespaces: [prod]\ndelegations:\n  - name: vpa\n    managers: [vpa-updater]';
const apiItem = (fields: Obj): Obj => ({ 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': fields } } } } });
const entry = (manager: string, fieldsV1: Obj, operation = 'Apply'): Obj => ({ manager, operation, apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1 });
/** The Deployment with vpa-updater owning the memory limit (taken from argocd-controller earlier). */
const vpaOwnsMemory = (fn: (o: Loose) => void = () => {}): Obj =>
  edit(deployment(), (o) => {
    delete o.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"api"}']['f:resources'];
    o.metadata.managedFields.push(entry('vpa-updater', apiItem({ 'f:resources': { 'f:limits': { 'f:memory': {} } } }), 'Update'));
    fn(o as Loose);
  });

/**
 * Item 1, the other direction: a delegation by `managers` trusts stored managedFields, which a client writes
 * (or shapes with `kubectl apply --server-side --field-manager=vpa-updater` and unchanged values). Handing
 * the delegated manager a field without changing it would make the next write's change "delegated".
 */
const delegationClaims: AttackCase[] = [
  {
    name: 'denies giving a delegated manager co-ownership of the image with the value unchanged (the next set image would be delegated)',
    policy: VPA_POLICY,
    body: update(deployment(), edit(deployment(), (o) => o.metadata.managedFields.push(entry('vpa-updater', apiItem({ 'f:image': {} }))))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=vpa-updater]',
  },
  {
    name: 'denies a delegated manager claiming spec whole alongside an allowed rollout restart',
    policy: VPA_POLICY,
    body: update(
      deployment(),
      edit(deployment(), (o) => {
        o.metadata.managedFields.push(entry('vpa-updater', { 'f:spec': {} }));
        o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-24T12:00:00Z' };
      }),
    ),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=vpa-updater]',
  },
  {
    name: 'denies a delegated manager claiming a container Git does not declare (adding it next would be delegated)',
    policy: VPA_POLICY,
    body: update(deployment(), edit(deployment(), (o) => o.metadata.managedFields.push(entry('vpa-updater', { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"sidecar"}': {} } } } } })))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=vpa-updater]',
  },
  {
    name: 'denies widening an existing delegated entry by one more field (the image)',
    policy: VPA_POLICY,
    body: update(vpaOwnsMemory(), vpaOwnsMemory((o) => (o.metadata.managedFields[1].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"api"}']['f:image'] = {}))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=vpa-updater]',
  },
  {
    name: 'allows a change to a field the delegated manager already owned (delegated)',
    policy: VPA_POLICY,
    body: update(vpaOwnsMemory(), vpaOwnsMemory((o) => (o.spec.template.spec.containers[0].resources.limits.memory = '1Gi'))),
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'allows the same co-ownership when no delegation names the manager (it delegates nothing)',
    body: update(deployment(), edit(deployment(), (o) => o.metadata.managedFields.push(entry('vpa-updater', apiItem({ 'f:image': {} }))))),
    want: 'allowed',
    rule: 'no-guarded-change',
  },
];

/** Item 1: removing or shrinking a GitOps manager's ownership is a guarded change. */
const ownership: AttackCase[] = [
  {
    name: 'denies emptying managedFields (managedFields: [{}]) on an object GitOps owns only through them',
    body: update(managedOnly(), managedOnly((o) => (o.metadata.managedFields = []))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=argocd-controller]',
  },
  {
    name: "denies an SSA --force-conflicts takeover that moves every field to the writer's manager",
    body: update(managedOnly(), managedOnly((o) => (o.metadata.managedFields = [{ ...o.metadata.managedFields[0], manager: 'kubectl' }]))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=argocd-controller]',
  },
  {
    name: "denies emptying the GitOps manager's fieldsV1",
    body: update(managedOnly(), managedOnly((o) => (o.metadata.managedFields[0].fieldsV1 = {}))),
    want: 'denied',
  },
  {
    name: "denies dropping the GitOps manager's fieldsV1 altogether",
    body: update(managedOnly(), managedOnly((o) => delete o.metadata.managedFields[0].fieldsV1)),
    want: 'denied',
  },
  {
    name: 'denies renaming the GitOps manager (argocd-controller → argocd-controller-old)',
    body: update(managedOnly(), managedOnly((o) => (o.metadata.managedFields[0].manager = 'argocd-controller-old'))),
    want: 'denied',
  },
  {
    name: 'denies taking one field (the image) from the GitOps manager without changing its value',
    body: update(
      managedOnly(),
      managedOnly((o) => {
        const spec = argoFields(o)['f:spec'] as Loose;
        delete spec['f:template']['f:spec']['f:containers']['k:{"name":"api"}']['f:image'];
        o.metadata.managedFields.push({ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { '.': {}, 'f:image': {} } } } } } } });
      }),
    ),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=argocd-controller]',
  },
  {
    name: 'denies a takeover by a delegated field manager (its fields would be "delegated" on the next write)',
    policy: 'protectedNamespaces: [prod]\ndelegations:\n  - name: vpa\n    managers: [vpa-updater]',
    body: update(
      managedOnly(),
      managedOnly((o) => {
        delete (argoFields(o)['f:spec'] as Loose)['f:template'];
        o.metadata.managedFields.push({ manager: 'vpa-updater', operation: 'Update', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { '.': {}, 'f:image': {}, 'f:resources': { 'f:limits': { 'f:memory': {} } } } } } } } } });
      }),
    ),
    want: 'denied',
  },
  ...delegationClaims,
  {
    name: 'denies removing the GitOps manager entry of a tracked object too',
    body: update(deployment(), edit(deployment(), (o) => (o.metadata.managedFields = []))),
    want: 'denied',
    guarded: 'metadata.managedFields[manager=argocd-controller]',
  },
  {
    name: 'allows an HPA replicas change that moves spec.replicas to the HPA (delegated)',
    body: update(
      managedOnly(),
      managedOnly((o) => {
        o.spec.replicas = 7;
        delete (argoFields(o)['f:spec'] as Loose)['f:replicas'];
        o.metadata.managedFields.push({ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } });
      }),
      { user: HPA, groups: ['system:serviceaccounts'] },
    ),
    want: 'allowed',
  },
  {
    name: 'allows an apply that releases fields to nobody while the GitOps entry keeps the rest',
    body: update(managedOnly(), managedOnly((o) => delete (argoFields(o)['f:metadata'] as Loose)['f:labels'])),
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'allows the GitOps controller itself to rewrite its managedFields',
    body: update(managedOnly(), managedOnly((o) => (o.metadata.managedFields = [])), { user: ARGO_CONTROLLER }),
    want: 'allowed',
    rule: 'gitops-controller',
  },
];

const application = (syncPolicy: unknown, tracked = false): Obj => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'payments', namespace: 'prod', ...(tracked ? { annotations: { [TRACKING]: 'root:argoproj.io/Application:prod/payments' } } : {}) },
  spec: { project: 'default', ...(syncPolicy === undefined ? {} : { syncPolicy }) },
});
const appKind = { kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' }, resource: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applications' } };
const pdb = (selector: unknown): Obj => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: 'api', namespace: 'prod', annotations: { [TRACKING]: 'payments:policy/PodDisruptionBudget:prod/api' } },
  spec: { maxUnavailable: 1, ...(selector === undefined ? {} : { selector }) },
});
const pdbKind = { kind: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' }, resource: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' } };

/** Item 2: `{}` and `[]` are values; null may equal absent. */
const empties: AttackCase[] = [
  {
    name: 'denies removing spec.syncPolicy.automated: {} from an Application nothing else marks as owned (auto-sync off)',
    body: body({ oldObject: application({ automated: {} }), object: application({}), ...appKind }),
    want: 'denied',
    rule: 'guarded-change',
    guarded: 'spec.syncPolicy.automated',
  },
  {
    name: 'denies removing the whole syncPolicy that held automated: {}',
    body: body({ oldObject: application({ automated: {} }), object: application(undefined), ...appKind }),
    want: 'denied',
    guarded: 'spec.syncPolicy.automated',
  },
  {
    name: 'denies setting automated: {} to null',
    body: body({ oldObject: application({ automated: {} }, true), object: application({ automated: null }, true), ...appKind }),
    want: 'denied',
  },
  {
    name: "denies removing a GitOps-owned PodDisruptionBudget's selector: {} (all pods → no pods)",
    body: body({ oldObject: pdb({}), object: pdb(undefined), ...pdbKind }),
    want: 'denied',
    guarded: 'spec.selector',
  },
  {
    name: 'denies removing an empty pod securityContext: {}',
    body: update(
      edit(deployment(), (o) => (o.spec.template.spec.securityContext = {})),
      deployment(),
    ),
    want: 'denied',
    guarded: 'spec.template.spec.securityContext',
  },
  {
    name: 'denies adding an empty list (tolerations: [])',
    body: update(deployment(), edit(deployment(), (o) => (o.spec.template.spec.tolerations = []))),
    want: 'denied',
    guarded: 'spec.template.spec.tolerations',
  },
  {
    // The API server drops the nulls of typed fields before admission, so a null that reaches the
    // webhook is one it stores (a Secret's `data.k: null` is kept as an empty value): a value.
    name: 'denies a null where the field was absent (a null that reaches the webhook is stored)',
    body: update(deployment(), edit(deployment(), (o) => (o.spec.paused = null))),
    want: 'denied',
    guarded: 'spec.paused',
  },
];

const configMap = (name: string, metadata: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'prod', ...metadata }, data: { a: 'b' } });
const cmKind = { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } };
const create = (refs: unknown[], over: Partial<RequestSpec> = {}) => body({ operation: 'CREATE', object: configMap('made-by-hand', { ownerReferences: refs }), ...cmKind, ...over });
const ref = (kind: string, controller: boolean) => ({ apiVersion: 'apps/v1', kind, name: 'x', uid: 'u-1', controller, blockOwnerDeletion: true });

/** Item 3: client-supplied ownerReferences are no evidence that a controller made the object. */
const ownerRefs: AttackCase[] = [
  { name: 'denies a hand-made ConfigMap with a controller ownerReference to a ReplicaSet', body: create([ref('ReplicaSet', true)]), want: 'denied', rule: 'unmanaged-create' },
  { name: 'denies one with a controller ownerReference to a Deployment', body: create([ref('Deployment', true)]), want: 'denied', rule: 'unmanaged-create' },
  { name: 'denies one with several ownerReferences, one a controller', body: create([ref('StatefulSet', false), ref('ReplicaSet', true)]), want: 'denied', rule: 'unmanaged-create' },
  { name: 'denies one owned by an Argo CD Application object', body: create([{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'payments', uid: 'u', controller: true }]), want: 'denied', rule: 'unmanaged-create' },
  {
    name: 'allows the same create by a system writer (identity, not the reference)',
    body: create([ref('ReplicaSet', true)], { user: 'system:kube-controller-manager', groups: [] }),
    want: 'allowed',
    rule: 'system-writer',
  },
];

const secret = (data: Obj, key = 'data'): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 's', namespace: 'prod', annotations: { [TRACKING]: 'payments:/Secret:prod/s' } },
  [key]: data,
});
const secretKind = { kind: { group: '', version: 'v1', kind: 'Secret' }, resource: { group: '', version: 'v1', resource: 'secrets' } };
const owned = (data: Obj): Obj => ({ ...configMap('cm', { annotations: { [TRACKING]: 'payments:/ConfigMap:prod/cm' } }), data });

/** Item 4: prototype-named keys are keys like any other. */
const protoKeys: AttackCase[] = [
  {
    name: 'denies adding the data key __proto__ to a GitOps-owned Secret',
    body: body({ oldObject: secret({ password: 'czNjcmV0' }), object: secret({ password: 'czNjcmV0', [PROTO]: 'ZXZpbA==' }), ...secretKind }),
    want: 'denied',
    guarded: 'data.__proto__',
  },
  {
    name: 'denies changing a Secret data key named constructor',
    body: body({ oldObject: secret({ constructor: 'YQ==' }), object: secret({ constructor: 'Yg==' }), ...secretKind }),
    want: 'denied',
    guarded: 'data.constructor',
  },
  {
    name: 'denies adding stringData hasOwnProperty to a Secret',
    body: body({ oldObject: secret({ a: 'b' }, 'stringData'), object: secret({ a: 'b', hasOwnProperty: 'x' }, 'stringData'), ...secretKind }),
    want: 'denied',
    guarded: 'stringData.hasOwnProperty',
  },
  {
    name: 'denies adding the ConfigMap key toString',
    body: body({ oldObject: owned({ a: 'b' }), object: owned({ a: 'b', toString: 'x' }), ...cmKind }),
    want: 'denied',
    guarded: 'data.toString',
  },
  {
    name: 'denies adding the label __proto__',
    body: update(deployment(), deployment({ labels: { [PROTO]: 'x' } })),
    want: 'denied',
    guarded: 'metadata.labels.__proto__',
  },
  {
    name: 'denies adding the annotation prototype',
    body: update(deployment(), deployment({ annotations: { prototype: 'x' } })),
    want: 'denied',
    guarded: 'metadata.annotations.prototype',
  },
  {
    name: 'denies changing an env var named __proto__',
    body: update(
      edit(deployment(), (o) => (o.spec.template.spec.containers[0].env = [{ name: PROTO, value: 'a' }])),
      edit(deployment(), (o) => (o.spec.template.spec.containers[0].env = [{ name: PROTO, value: 'b' }])),
    ),
    want: 'denied',
    guarded: 'spec.template.spec.containers[name=api].env[name=__proto__].value',
  },
  {
    name: 'decides a list field named constructor (no crash on a prototype-named list)',
    body: update(deployment(), edit(deployment(), (o) => (o.spec.constructor = [{ name: 'x' }]))),
    want: 'denied',
  },
  {
    name: 'allows a __proto__ label on an object nothing marks as GitOps-owned',
    body: update(configMap('free'), configMap('free', { labels: { [PROTO]: 'x' } }), cmKind),
    want: 'allowed',
    rule: 'not-gitops-owned',
  },
];

const runAsUser = (v: string) => edit(deployment(), (o) => (o.spec.template.spec.securityContext = { runAsUser: int(v) }));

/** Item 5: integers beyond 2^53 compare exactly. */
const integers: AttackCase[] = [
  { name: 'denies runAsUser 9007199254740993 → 9007199254740992', body: update(runAsUser('9007199254740993'), runAsUser('9007199254740992')), want: 'denied', guarded: 'spec.template.spec.securityContext.runAsUser' },
  { name: 'denies 2^63-1 → 2^63-2', body: update(runAsUser('9223372036854775807'), runAsUser('9223372036854775806')), want: 'denied' },
  { name: 'denies a negative big integer change', body: update(runAsUser('-9007199254740993'), runAsUser('-9007199254740992')), want: 'denied' },
  {
    name: 'denies a big integer changed inside an atomic list',
    body: update(
      edit(deployment(), (o) => (o.spec.template.spec.securityContext = { supplementalGroups: [int('12345678901234567')] })),
      edit(deployment(), (o) => (o.spec.template.spec.securityContext = { supplementalGroups: [int('12345678901234568')] })),
    ),
    want: 'denied',
  },
  {
    name: 'sees an unchanged big integer as unchanged (a rollout restart still passes)',
    body: update(
      runAsUser('9007199254740993'),
      edit(runAsUser('9007199254740993'), (o) => (o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-24T12:00:00Z' })),
    ),
    want: 'warned',
    rule: 'allowance',
  },
];

const restartedAt = (v: unknown) => edit(deployment(), (o) => (o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': v }));

/** Item 10 (part): only a text restartedAt is a rollout restart. */
const restarts: AttackCase[] = [
  { name: 'denies a numeric restartedAt', body: update(deployment(), restartedAt(1732449600)), want: 'denied' },
  { name: 'denies a map under restartedAt', body: update(deployment(), restartedAt({ image: 'evil:1' })), want: 'denied' },
  { name: 'denies a list under restartedAt', body: update(deployment(), restartedAt(['x'])), want: 'denied' },
  { name: 'denies a boolean restartedAt', body: update(deployment(), restartedAt(true)), want: 'denied' },
  { name: 'denies replacing a text restartedAt with a map', body: update(restartedAt('2026-11-24T11:00:00Z'), restartedAt({ a: 'b' })), want: 'denied' },
  { name: 'allows a text restartedAt (kubectl rollout restart)', body: update(deployment(), restartedAt('2026-11-24T12:00:00Z')), want: 'warned', rule: 'allowance' },
];

export const ATTACKS: Readonly<Record<string, readonly AttackCase[]>> = {
  'managedFields ownership (item 1)': ownership,
  'empty is a value (item 2)': empties,
  'client-supplied ownerReferences (item 3)': ownerRefs,
  'prototype-named keys (item 4)': protoKeys,
  'integers beyond 2^53 (item 5)': integers,
  'non-text restartedAt (item 10)': restarts,
};

/** A CREATE (or DELETE) whose own managedFields has an argocd-controller entry listing `n` env vars. */
export function bigManagedFields(n: number, operation: 'CREATE' | 'DELETE'): string {
  const env = Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
  const fields: Obj = { '.': {}, 'f:name': {} };
  for (let i = 0; i < n; i += 1) fields[`k:{"name":"VAR_${i}"}`] = { '.': {}, 'f:name': {}, 'f:value': {} };
  const obj = edit(managedOnly(), (o) => {
    o.spec.template.spec.containers[0].env = env;
    o.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"api"}']['f:env'] = fields;
  });
  return operation === 'CREATE' ? body({ operation, object: obj }) : body({ operation, oldObject: obj });
}
