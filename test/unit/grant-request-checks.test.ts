import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newGrant, type GrantRequest } from '../../src/grants/rules.ts';
import { examplePolicy, NOW, policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, REQUEST } from '../helpers/breakglass.ts';

const policy = examplePolicy(); // protectedNamespaces: [prod]
const bySelector = policyFrom('protectedNamespaces: {selector: {matchLabels: {driftgate.io/protected: "true"}}}');
const request = (over: Partial<GrantRequest>, p = policy) => newGrant({ ...REQUEST, ...over }, ALICE_ID, p, NOW, 'g-1');
const deployment = (over: Partial<{ group: string; kind: string; name: string }>) => ({ resources: [{ group: 'apps', kind: 'Deployment', name: 'api', ...over }] });

describe('grant requests that can never match are refused, saying why', () => {
  for (const [name, over, message] of [
    ['namespace *', { namespace: '*' }, /namespace "\*": a grant names one namespace exactly/],
    ['a namespace glob', { namespace: 'prod-*' }, /"\*" and globs match none/],
    ['a namespace with capitals', { namespace: 'Prod' }, /"Prod" is not a namespace name/],
    ['a namespace with a space', { namespace: 'prod ns' }, /is not a namespace name/],
    ['an unprotected namespace', { namespace: 'staging' }, /namespace staging is not protected \(protectedNamespaces: prod\): .* no grant is needed/],
    ['group *', deployment({ group: '*' }), /group "\*" matches no group/],
    ['a group glob', deployment({ group: 'apps*' }), /group "\*" matches no group/],
    ['a group that is not an API group', deployment({ group: 'Apps Group' }), /is not an API group name/],
    ['kind *', deployment({ kind: '*' }), /kind "\*" matches no kind/],
    ['a kind glob', deployment({ kind: 'Deploy*' }), /kind "\*" matches no kind/],
    ['a kind that is not a kind', deployment({ kind: 'deployment/api' }), /is not a kind/],
    ['a name with a slash', deployment({ name: 'api/scale' }), /cannot contain "\/"/],
    ['a name glob with too many stars', deployment({ name: 'a*a*a*a*a*a*b' }), /the name glob has 6 "\*": a glob may have at most 4/],
    ['a name glob that is too long', deployment({ name: `${'a'.repeat(300)}*` }), /the name glob is 301 characters long/],
    ['a name longer than any object name', deployment({ name: 'a'.repeat(254) }), /at most 253 characters/],
    ['a path that starts with a list item', { paths: ['[name=app].image'] }, /path "\[name=app\].image": an object starts with a field name/],
    ['a path that is the placeholder from a usage line', { paths: ['<path>'] }, /path "<path>": "<path>" is not a field name/],
    ['a path that is an ellipsis', { paths: ['...'] }, /path "...": empty segment/],
    ['a path under status', { paths: ['status.replicas'] }, /is a runtime field .* never guarded/],
    ['a path that is server-set metadata', { paths: ['/metadata/managedFields'] }, /is a runtime field/],
    ['the last-applied annotation', { paths: ['metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]'] }, /is a runtime field/],
    ['a metadata field that does not exist', { paths: ['metadata.lables[team]'] }, /metadata has no field "lables"/],
    ['a path glob over the caps', { paths: ['metadata.annotations[*a*a*a*a*a*a*a*a*b]'] }, /key glob .* has 9 "\*"/],
    ['reason "..." copied from a denial', { reason: '...' }, /reason "..." is the placeholder from the example command/],
    ['reason "…"', { reason: '…' }, /reason "…" is the placeholder/],
    ['reason <reason>', { reason: '<reason>' }, /reason "<reason>" is the placeholder/],
    ['a quoted empty reason', { reason: '""' }, /reason .* is the placeholder/],
    ['incident INC-... copied from a denial', { incident: 'INC-...' }, /incident "INC-..." is the placeholder .*\(e.g. INC-4711\)/],
    ['incident INC-…', { incident: 'INC-…' }, /incident "INC-…" is the placeholder/],
    ['incident INC-', { incident: 'INC-' }, /incident "INC-" is the placeholder/],
    ['incident <incident>', { incident: '<incident>' }, /is the placeholder/],
    ['the CONNECT operation', { operations: ['CONNECT'] }, /operation "CONNECT": a grant covers CREATE, UPDATE or DELETE/],
    ['every authenticated identity as subject', { subjects: { groups: ['system:authenticated'] } }, /subject group "system:authenticated" is everyone: .* name them/],
    ['every service account as subject', { subjects: { users: ['alice'], groups: ['system:serviceaccounts'] } }, /subject group "system:serviceaccounts" is everyone's workloads/],
    ['unauthenticated requests as subject', { subjects: { groups: ['system:unauthenticated'] } }, /is everyone/],
    ['the anonymous user as subject', { subjects: { users: ['system:anonymous'] } }, /subject user "system:anonymous" is everyone/],
    ['a subject glob', { subjects: { users: ['ali*'] } }, /subject user "ali\*": "\*" matches nobody/],
    ['an empty subject', { subjects: { groups: [''] } }, /subject group "": name a group/],
  ] as [string, Partial<GrantRequest>, RegExp][]) {
    it(`refuses ${name}`, () => {
      assert.throws(() => request(over), { code: 'INVALID_REQUEST', message });
    });
  }

  for (const [name, over, p] of [
    ['a protected namespace', {}, policy],
    ['any well-formed namespace when protection is by label selector', { namespace: 'staging' }, bySelector],
    ['a name glob with up to four stars', deployment({ name: 'api-*-v*-*-*' }), policy],
    ['a name of *', deployment({ name: '*' }), policy],
    ['the core group', { resources: [{ group: '', kind: 'ConfigMap', name: 'settings' }] }, policy],
    ['an RBAC-style name with colons', { resources: [{ group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', name: 'system:deployer' }] }, policy],
    ['a path copied from a denial', { paths: ['spec.template.spec.containers[name=app].image'] }, policy],
    ['a JSON pointer path', { paths: ['/spec/replicas'] }, policy],
    ['a team group and one service account as subjects', { subjects: { users: ['system:serviceaccount:ci:deployer'], groups: ['oncall'] } }, policy],
    ['an annotation path glob', { paths: ['metadata.annotations[example.com/*]'] }, policy],
    ['a labels path', { paths: ['metadata.labels'] }, policy],
    ['a top-level data key of a ConfigMap', { paths: ['data[app.properties]'] }, policy],
    ['a reason that ends with an ellipsis', { reason: 'OOM kills, raising the limit...' }, policy],
    ['an incident from a tracker', { incident: 'PD-Q1W2E3' }, policy],
  ] as [string, Partial<GrantRequest>, typeof policy][]) {
    it(`accepts ${name}`, () => {
      assert.equal(request(over, p).state, 'active');
    });
  }
});
