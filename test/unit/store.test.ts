import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approve, checkRevoke } from '../../src/grants/rules.ts';
import { JOURNAL_FILE } from '../../src/store/embedded-store.ts';
import { chainHash, readJournal } from '../../src/store/journal.ts';
import { policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, BOB_LEAD, requestGrant, storeFixture, taskDraft } from '../helpers/breakglass.ts';

const active = (f: Awaited<ReturnType<typeof storeFixture>>) => f.store.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id);


/** Rewrites the journal with `edit` applied to every body, recomputing the whole hash chain. */
function rewriteChain(file: string, edit: (body: string) => string): void {
  let prev = '0'.repeat(64);
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const body = edit(line.slice(line.indexOf('"body":') + 7, -1));
    const hash = chainHash(prev, body);
    out.push(`{"hash":"${hash}","prev":"${prev}","body":${body}}`);
    prev = hash;
  }
  writeFileSync(file, `${out.join('\n')}\n`);
}

describe('embedded store: grants', () => {
  it('honours an active grant for its namespace and kind only', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    assert.deepEqual(active(f), ['g-test']);
    assert.deepEqual(f.store.activeGrants('prod', '', 'ConfigMap', 'api', f.now.value), []);
    assert.deepEqual(f.store.activeGrants('staging', 'apps', 'Deployment', 'api', f.now.value), []);
  });

  it('stops honouring a grant once it expires', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    f.now.value = new Date('2026-11-24T12:30:00Z');
    assert.deepEqual(active(f), []);
  });

  it('stops honouring a revoked grant, also after a restart', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.revokeGrant('g-test', (g) => checkRevoke(g, ALICE_ID, policyFrom('{}'), f.now.value), 'alice', f.now.value, 'fixed');
    assert.deepEqual(active(f), []);
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
    assert.equal(again.getGrant('g-test')?.grant.revokedBy, 'alice');
  });

  it('honours a pending grant only after the approval it needs', async () => {
    const f = await storeFixture();
    const p = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}');
    await requestGrant(f, {}, ALICE_ID, p);
    assert.deepEqual(active(f), []);
    await f.store.approveGrant('g-test', (g) => approve(g, BOB_LEAD, p, f.now.value));
    assert.deepEqual(active(f), ['g-test']);
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id), ['g-test']);
  });

  it('replays grants after a restart and still honours them', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id), ['g-test']);
  });

  it('ignores a grant record written by hand (valid chain, no genuine token) and logs it', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.close();
    const file = join(f.dir, JOURNAL_FILE);
    const r = readJournal(readFileSync(file, 'utf8'));
    const original = r.entries[0]!.data as { grant: Record<string, unknown> };
    const body = JSON.stringify({ seq: 2, at: '2026-11-24T12:00:01.000Z', type: 'grant.requested', data: { grant: { ...original.grant, id: 'g-hand', token: 'eyJhbGciOiJFZERTQSJ9.e30.AAAA' } } });
    appendFileSync(file, `{"hash":"${chainHash(r.lastHash, body)}","prev":"${r.lastHash}","body":${body}}\n`);
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id), ['g-test']);
    assert.match(again.getGrant('g-hand')!.ignored!, /unknown key \(no kid\)/);
    assert.match(f.sink.text, /grant ignored/);
  });

  it('ignores a grant whose scope was edited even when the attacker recomputed the whole hash chain', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.close();
    rewriteChain(join(f.dir, JOURNAL_FILE), (b) => b.replace('"name":"api"', '"name":"*"'));
    const again = await f.reopen();
    assert.deepEqual(again.tampered, []);
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
    assert.match(again.getGrant('g-test')!.ignored!, /claims do not match/);
  });

  for (const [what, from, to] of [
    ['subject', '"users":["alice"]', '"users":["mallory"]'],
    ['expiry', '"expiresAt":"2026-11-24T12:30:00.000Z"', '"expiresAt":"2026-11-25T12:30:00.000Z"'],
  ] as const) {
    it(`refuses every grant of a journal whose ${what} was edited in place (hash chain broken)`, async () => {
      const f = await storeFixture();
      await requestGrant(f);
      await f.store.close();
      const file = join(f.dir, JOURNAL_FILE);
      writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
      const again = await f.reopen();
      assert.match(again.tampered[0]!, /hash mismatch/);
      assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
      assert.match(f.sink.text, /JOURNAL TAMPERED/);
    });
  }
});

describe('embedded store: tasks', () => {
  it('records a task durably: it is there after a restart', async () => {
    const f = await storeFixture();
    const { id } = await f.store.recordBypass(taskDraft('uid-1'));
    const again = await f.reopen();
    assert.equal(again.getTask(id)?.state, 'pending');
    assert.deepEqual(again.getTask(id)?.changes, [{ path: 'spec.replicas', before: 3, after: 5 }]);
  });

  it('records one task for a retried admission uid, sequential or concurrent, before and after a restart', async () => {
    const f = await storeFixture();
    const ids = await Promise.all([f.store.recordBypass(taskDraft('uid-1')), f.store.recordBypass(taskDraft('uid-1'))]);
    assert.equal(ids[0]!.id, ids[1]!.id);
    assert.equal((await f.store.recordBypass(taskDraft('uid-1'))).id, ids[0]!.id);
    const again = await f.reopen();
    assert.equal((await again.recordBypass(taskDraft('uid-1'))).id, ids[0]!.id);
    assert.equal(again.listTasks({}).length, 1);
  });
});
