/**
 * Loading a policy: YAML text → schema validation → compilation. All-or-nothing: any problem refuses
 * the whole file, and the error lists every problem with its path in the file.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { core } from 'zod';
import { policySchema } from './schema.ts';
import { compilePolicy, type Policy } from './policy.ts';
import { ConfigError, DriftgateError, errorMessage } from '../errors.ts';

export const EXAMPLE_POLICY_URL = new URL('../../examples/driftgate.yaml', import.meta.url);

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function formatIssue(issue: core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `${issuePath(issue.path)}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${issuePath(issue.path)}: ${issue.message}`;
}

export function parsePolicy(text: string, source: string): Policy {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = text.split('\n');
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const first = e.message.split('\n')[0] ?? e.message;
        const line = e.linePos?.[0].line;
        const src = line ? (lines[line - 1] ?? '') : '';
        // The most common slip: a bracketed path inside a flow list, e.g. paths: [a.b[c]]
        const hint = /\[[^\]"']*\[/.test(src) ? ' (hint: quote paths that contain [ ] inside a [ ] list: paths: ["a.b[c]"])' : '';
        return `YAML: ${first.replace(/:$/, '')}${hint}`;
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 50 }) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(top level): expected a mapping of policy keys']);
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map(formatIssue));
  const { policy, problems } = compilePolicy(parsed.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return policy;
}

export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DriftgateError('CONFIG_UNREADABLE', `cannot read policy file ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return parsePolicy(text, file);
}

export function loadExamplePolicy(): Policy {
  return parsePolicy(readFileSync(EXAMPLE_POLICY_URL, 'utf8'), 'embedded example policy');
}
