import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GrantIndex } from '../../src/grants/grant-index.ts';
import { grant, NOW } from '../helpers/deps.ts';

describe('grant index', () => {
  it('finds grants by exact name and by glob, for that namespace and kind only', () => {
    const exact = grant({ id: 'exact' });
    const glob = grant({ id: 'glob', resources: [{ group: 'apps', kind: 'Deployment', name: 'a*' }] });
    const other = grant({ id: 'other', resources: [{ group: 'apps', kind: 'Deployment', name: 'web' }] });
    const index = new GrantIndex([exact, glob, other]);
    assert.deepEqual(index.lookup('prod', 'apps', 'deployment', 'api', NOW).map((g) => g.id), ['exact', 'glob']);
    assert.deepEqual(index.lookup('prod', 'apps', 'StatefulSet', 'api', NOW), []);
    assert.deepEqual(index.lookup('dev', 'apps', 'Deployment', 'api', NOW), []);
  });

  it('lists a grant naming two globs of one kind once', () => {
    const g = grant({ resources: [{ group: 'apps', kind: 'Deployment', name: 'api-*' }, { group: 'apps', kind: 'Deployment', name: 'web-*' }] });
    assert.equal(new GrantIndex([g]).lookup('prod', 'apps', 'Deployment', 'api-1', NOW).length, 1);
  });

  it('leaves out grants that are not active at the time asked', () => {
    const g = grant();
    assert.deepEqual(new GrantIndex([g]).lookup('prod', 'apps', 'Deployment', 'api', new Date(g.expiresAt)), []);
  });
});
