/**
 * `driftgate journal verify`: checks the embedded journal's keyed chain with the installation's chain
 * key, against the anchor kept with the keys and against any `--expect-head` taken from outside (a
 * bypass's `validate.driftgate.io/journal` audit annotation, the `driftgate_journal_records`/`driftgate_journal_head` metrics).
 * Exit 0 intact, 1 failed verification, 2 cannot check (no file, no key).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { DriftgateError } from '../errors.ts';
import { loadChainKey } from '../keys/journal-key.ts';
import { ANCHOR_FILE } from '../store/embedded-store.ts';
import { formatAnchor, parseAnchor, readAnchor, verifyJournalFile, type Anchor } from '../store/journal.ts';
import { CliExit } from './exit.ts';

interface VerifyOptions {
  readonly keysDir?: string;
  readonly anchor?: string;
  readonly expectHead: string[];
}

export function verifyJournal(file: string, o: VerifyOptions, stdout: (s: string) => void): number {
  if (!existsSync(file)) throw new CliExit(2, `driftgate: no journal ${file} (give the path, e.g. <data-dir>/journal.jsonl)`);
  const keysDir = o.keysDir ?? join(dirname(file), 'keys');
  const anchorFile = o.anchor ?? join(keysDir, ANCHOR_FILE);
  const anchors: (Anchor & { from: string })[] = o.expectHead.map((h) => ({ ...parseAnchor(h), from: `--expect-head ${h}` }));
  let key;
  let missingAnchor = false;
  try {
    key = loadChainKey(keysDir, false);
    const saved = readAnchor(anchorFile);
    if (saved) anchors.unshift({ ...saved, from: `the anchor ${anchorFile}` });
    else missingAnchor = true;
  } catch (err) {
    if (err instanceof DriftgateError && err.code === 'INPUT_INVALID') throw new CliExit(2, `driftgate: ${err.message}`);
    if (err instanceof DriftgateError) return report(file, [err.message], 0, stdout);
    throw err;
  }
  const r = verifyJournalFile(file, key, anchors);
  const problems = [...r.problems];
  if (missingAnchor && r.count > 0) problems.push(`the anchor ${anchorFile} is missing: a cut tail cannot be ruled out`);
  if (problems.length > 0) return report(file, problems, r.count, stdout);
  const checked = anchors.length > 0 ? `; matches ${anchors.map((a) => a.from).join(', ')}` : '';
  stdout(`${file}: ${r.count} records, keyed chain intact, head ${formatAnchor({ count: r.count, head: r.lastHash })}${checked}${r.tornTail ? ' (an incomplete last line from a crash is ignored)' : ''}`);
  return 0;
}

function report(file: string, problems: readonly string[], trusted: number, stdout: (s: string) => void): number {
  stdout(`${file}: VERIFICATION FAILED (${trusted} records trusted):\n  ${problems.join('\n  ')}\nSee docs/runbook.md "Journal verification fails".`);
  return 1;
}

export function journalCommand(out: { stdout: (s: string) => void }): Command {
  const journal = new Command('journal').description('inspect the embedded store\'s journal');
  journal
    .command('verify')
    .description('check the journal\'s keyed chain, its anchor, and heads seen elsewhere (exit 1 on tampering, 2 when it cannot be checked)')
    .argument('[file]', 'journal file', 'data/journal.jsonl')
    .addOption(new Option('--keys-dir <dir>', 'the server\'s keys directory (chain key and anchor; default <journal dir>/keys)').env('DRIFTGATE_KEYS_DIR'))
    .option('--anchor <file>', 'the anchor file (default <keys-dir>/journal.anchor)')
    .option('--expect-head <seq:mac>', 'a record that must be in the journal, e.g. from a bypass\'s validate.driftgate.io/journal audit annotation (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action((file: string, o: VerifyOptions) => {
      throw new CliExit(verifyJournal(file, o, out.stdout));
    });
  return journal;
}
