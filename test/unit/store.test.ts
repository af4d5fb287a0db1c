import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approve, checkRevoke } from '../../src/grants/rules.ts';
import { EmbeddedStore, JOURNAL_FILE } from '../../src/store/embedded-store.ts';
import { chainKeyFrom, loadChainKey, type ChainKey } from '../../src/keys/journal-key.ts';
import { GENESIS, readJournal } from '../../src/store/journal.ts';
import { verifyJournal } from '../../src/cli/journal-command.ts';
import { examplePolicy, policyFrom } from '../helpers/deps.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { reviewBody } from '../../src/admission/review.ts';
import { createLogger } from '../../src/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { ALICE_ID, BOB_LEAD, requestGrant, storeFixture, taskDraft } from '../helpers/breakglass.ts';

const active = (f: Awaited<ReturnType<typeof storeFixture>>) => f.store.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id);


const chainKey = (f: { dir: string }) => loadChainKey(join(f.dir, 'keys'), false);
/** An attacker who can write the data directory but cannot read the keys directory. */
const guessedKey = chainKeyFrom(Buffer.alloc(32));

/**
 * Rewrites the journal with `edit` applied to every body (null: drop the record), renumbering and
 * recomputing the whole chain with `key` (the installation's key: an attacker who stole it).
 */
function rewriteChain(file: string, key: ChainKey, edit: (body: string) => string | null): void {
  let prev = GENESIS;
  let seq = 0;
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const edited = edit(line.slice(line.indexOf('"body":') + 7, -1));
    if (edited === null) continue;
    seq += 1;
    const body = edited.replace(/^\{"seq":\d+/, `{"seq":${seq}`);
    const mac = key.mac(prev, body);
    out.push(`{"mac":"${mac}","prev":"${prev}","body":${body}}`);
    prev = mac;
  }
  writeFileSync(file, `${out.join('\n')}\n`);
}

const PENDING_POLICY = 'protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}';

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

  it('calls afterReplay once, after the journal is read, and still honours the replayed grants (serve compacts the heap there)', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.close();
    let calls = 0;
    const again = await EmbeddedStore.open(f.dir, f.keys, createLogger('silent'), () => f.now.value, { afterReplay: () => (calls += 1) });
    try {
      assert.equal(calls, 1);
      assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id), ['g-test']);
    } finally {
      await again.close();
    }
  });

  it('ignores a grant record written by hand with the stolen chain key (valid chain, no genuine token) and logs it', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.close();
    const file = join(f.dir, JOURNAL_FILE);
    const r = readJournal(readFileSync(file, 'utf8'), chainKey(f));
    const original = r.entries[0]!.data as { grant: Record<string, unknown> };
    const body = JSON.stringify({ seq: 2, at: '2026-11-24T12:00:01.000Z', type: 'grant.requested', data: { grant: { ...original.grant, id: 'g-hand', token: 'eyJhbGciOiJFZERTQSJ9.e30.AAAA' } } });
    appendFileSync(file, `{"mac":"${chainKey(f).mac(r.lastHash, body)}","prev":"${r.lastHash}","body":${body}}\n`);
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value).map((g) => g.id), ['g-test']);
    assert.match(again.getGrant('g-hand')!.ignored!, /unknown key \(no kid\)/);
    assert.match(f.sink.text, /grant ignored/);
  });

  it('ignores a grant whose scope was edited even when the attacker recomputed the chain and the anchor with the stolen chain key', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.close();
    rewriteChain(join(f.dir, JOURNAL_FILE), chainKey(f), (b) => b.replace('"name":"api"', '"name":"*"'));
    writeFileSync(join(f.dir, 'keys', 'journal.anchor'), JSON.stringify(readJournalHead(f))); // and the anchor
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
      assert.match(again.tampered[0]!, /MAC mismatch/);
      assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
      assert.match(f.sink.text, /JOURNAL TAMPERED/);
    });
  }
});

describe('embedded store: attacks on the journal (issue 11)', () => {
  it('a cut-off revocation (last line deleted) is detected at restart: nothing honoured, nothing written, not ready', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.revokeGrant('g-test', (g) => checkRevoke(g, ALICE_ID, policyFrom('{}'), f.now.value), 'alice', f.now.value, 'fixed');
    await f.store.close();
    const file = join(f.dir, JOURNAL_FILE);
    const text = readFileSync(file, 'utf8');
    assert.match(text.trim().split('\n').at(-1)!, /"type":"grant.revoked"/);
    truncateSync(file, text.lastIndexOf('\n', text.length - 2) + 1);
    const again = await f.reopen();
    assert.match(again.tampered[0]!, /says 2 records, the journal has 1 trusted/);
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
    assert.match(again.notReady()[0]!, /failed verification/);
    const metrics = await new Metrics({ store: again, policy: examplePolicy, now: () => f.now.value }, false).registry.metrics();
    assert.match(metrics, /^driftgate_store_tampered 1$/m);
    await assert.rejects(again.recordBypass(taskDraft('uid-x')), { code: 'STORE_UNAVAILABLE' });
    assert.match(f.sink.text, /JOURNAL TAMPERED/);
    const out: string[] = [];
    assert.equal(verifyJournal(file, { expectHead: [] }, (l) => out.push(l)), 1);
    assert.match(out.join('\n'), /VERIFICATION FAILED[\s\S]*records 2–2 are missing/);
  });

  it('refuses to approve a grant whose record gained a forged approval (chain and anchor recomputed with the stolen chain key)', async () => {
    const twoApprovals = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 2, approvers: {groups: [sre-leads]}}}');
    const f = await storeFixture();
    await requestGrant(f, {}, ALICE_ID, twoApprovals);
    await f.store.close();
    rewriteChain(join(f.dir, JOURNAL_FILE), chainKey(f), (b) => b.replace('"approvals":[]', '"approvals":[{"by":"dave","at":"2026-11-24T12:00:00.000Z"}]'));
    writeFileSync(join(f.dir, 'keys', 'journal.anchor'), JSON.stringify(readJournalHead(f)));
    const again = await f.reopen();
    assert.equal(again.getGrant('g-test')!.grant.approvals.length, 1);
    await assert.rejects(again.approveGrant('g-test', (g) => approve(g, BOB_LEAD, twoApprovals, f.now.value)), { code: 'CONFLICT', message: /does not match its signature/ });
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
  });

  for (const [who, key] of [['without the chain key', () => guessedKey], ['with the stolen chain key', chainKey]] as const) {
    it(`a pending grant edited to active and the chain recomputed ${who} is not honoured`, async () => {
      const f = await storeFixture();
      await requestGrant(f, {}, ALICE_ID, policyFrom(PENDING_POLICY));
      await f.store.close();
      rewriteChain(join(f.dir, JOURNAL_FILE), key(f), (b) => b.replace('"state":"pending-approval"', '"state":"active"'));
      const again = await f.reopen();
      assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
      assert.match(again.getGrant('g-test')?.ignored ?? again.tampered[0]!, who.startsWith('without') ? /journal tampered|MAC mismatch/ : /token says pending-approval, the stored grant says active/);
    });

    it(`a deleted task.recorded line, chain recomputed ${who}, is detected by journal verify and at restart`, async () => {
      const f = await storeFixture();
      const first = await f.store.recordBypass(taskDraft('uid-1'));
      const second = await f.store.recordBypass(taskDraft('uid-2'));
      await f.store.close();
      const file = join(f.dir, JOURNAL_FILE);
      rewriteChain(file, key(f), (b) => (b.includes(first.id) ? null : b));
      const out: string[] = [];
      assert.equal(verifyJournal(file, { expectHead: [second.record!] }, (l) => out.push(l)), 1);
      assert.match(out.join('\n'), who.startsWith('without') ? /MAC mismatch/ : /anchor .* says 2 records, the journal has 1/);
      assert.match(out.join('\n'), /VERIFICATION FAILED/);
      const again = await f.reopen();
      assert.ok(again.tampered.length > 0);
    });
  }

  it('journal verify passes an intact journal and checks a head from a bypass audit annotation and the metrics', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    const deps = { policy: examplePolicy, clock: { now: () => f.now.value }, grants: f.store, tasks: f.store, cluster: undefined, logger: createLogger('silent') };
    const bypass = await reviewBody(fixtureText('10-alice-set-resources-deployment.json'), deps);
    assert.equal(bypass.review.response.allowed, true);
    const annotation = bypass.review.response.auditAnnotations!.journal!;
    assert.match(annotation, /^2:[0-9a-f]{16}$/);
    await f.store.recordBypass(taskDraft('uid-2'));
    const metrics = new Metrics({ store: f.store, policy: examplePolicy, now: () => f.now.value, journal: () => f.store.anchor }, false);
    const text = await metrics.registry.metrics();
    const records = Number(/^driftgate_journal_records (\d+)$/m.exec(text)![1]);
    const head = Number(/^driftgate_journal_head (\d+)$/m.exec(text)![1]);
    assert.equal(records, 3);
    const fromMetrics = `${records}:${head.toString(16).padStart(12, '0')}`;
    await f.store.close();
    const out: string[] = [];
    assert.equal(verifyJournal(join(f.dir, JOURNAL_FILE), { expectHead: [annotation, fromMetrics] }, (l) => out.push(l)), 0);
    assert.match(out[0]!, /3 records, keyed chain intact, head 3:[0-9a-f]{16}; matches the anchor .*, --expect-head 2:.*, --expect-head 3:/);
  });

  it('a revocation carries a signed proof; a revocation written by hand is reported (and still revokes)', async () => {
    const f = await storeFixture();
    await requestGrant(f);
    await f.store.revokeGrant('g-test', (g) => checkRevoke(g, ALICE_ID, policyFrom('{}'), f.now.value), 'alice', f.now.value);
    await f.store.close();
    const file = join(f.dir, JOURNAL_FILE);
    assert.match(readFileSync(file, 'utf8'), /"proof":"eyJ/);
    rewriteChain(file, chainKey(f), (b) => b.replace(/"proof":"[^"]+"/, '"proof":"forged"'));
    writeFileSync(join(f.dir, 'keys', 'journal.anchor'), JSON.stringify(readJournalHead(f)));
    const again = await f.reopen();
    assert.deepEqual(again.activeGrants('prod', 'apps', 'Deployment', 'api', f.now.value), []);
    assert.match(f.sink.text, /revocation record without a genuine signature/);
  });
});

function readJournalHead(f: { dir: string }): { count: number; head: string } {
  const r = readJournal(readFileSync(join(f.dir, JOURNAL_FILE), 'utf8'), chainKey(f));
  return { count: r.count, head: r.lastHash };
}

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
