/**
 * Where the policy comes from and how it is kept current. `--config` (or DRIFTGATE_CONFIG) names the
 * file; with neither and no ./driftgate.yaml, the embedded example policy is used. A reload (SIGHUP
 * or the file changing) that fails keeps the last good policy and logs every problem.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, errorMessage } from '../errors.ts';
import { loadExamplePolicy, loadPolicyFile } from './load.ts';
import type { Policy } from './policy.ts';

export const DEFAULT_CONFIG_FILE = 'driftgate.yaml';

export interface PolicySource {
  /** the policy file, or undefined for the embedded example */
  readonly file: string | undefined;
  readonly description: string;
}

export function resolvePolicySource(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): PolicySource {
  const named = flag ?? env.DRIFTGATE_CONFIG;
  if (named) return { file: resolve(named), description: resolve(named) };
  if (existsSync(DEFAULT_CONFIG_FILE)) return { file: resolve(DEFAULT_CONFIG_FILE), description: resolve(DEFAULT_CONFIG_FILE) };
  return { file: undefined, description: 'embedded example policy (no --config, no ./driftgate.yaml)' };
}

export function loadFromSource(src: PolicySource): Policy {
  return src.file ? loadPolicyFile(src.file) : loadExamplePolicy();
}

export class PolicyHolder {
  #policy: Policy;
  readonly source: PolicySource;
  #lastError: string | undefined;
  #missing = false;

  constructor(source: PolicySource, initial: Policy) {
    this.source = source;
    this.#policy = initial;
  }

  current = (): Policy => this.#policy;

  get lastReloadError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Re-reads the source; returns true when the new policy is in force. A policy file that is gone is
   * reported once, not at every reload (SIGHUP, ConfigMap symlink swaps) until it is back.
   */
  reload(logger: Logger): boolean {
    const file = this.source.file;
    if (file && !existsSync(file)) {
      const first = !this.#missing;
      this.#missing = true;
      this.#lastError = `policy file ${file} is missing`;
      if (first) logger.error({ source: this.source.description }, 'policy file removed: keeping the last good policy until the file is back');
      else logger.debug({ source: this.source.description }, 'policy file still missing: keeping the last good policy');
      return false;
    }
    this.#missing = false;
    try {
      this.#policy = loadFromSource(this.source);
      this.#lastError = undefined;
      logger.info({ source: this.source.description }, 'policy reloaded');
      return true;
    } catch (err) {
      this.#lastError = errorMessage(err);
      const problems = err instanceof ConfigError ? err.problems : [errorMessage(err)];
      logger.error({ source: this.source.description, problems }, 'policy reload refused: keeping the last good policy');
      return false;
    }
  }

  /** Reloads on SIGHUP and when the file changes; returns a function that stops watching. */
  watch(logger: Logger): () => void {
    const onHup = (): void => {
      this.reload(logger);
    };
    process.on('SIGHUP', onHup);
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const file = this.source.file;
    if (file) {
      // Watch the directory: editors and ConfigMap volumes replace the file rather than write it.
      const name = basename(file);
      try {
        watcher = watch(dirname(file), (_event, changed) => {
          if (changed !== null && changed !== name && changed !== '..data') return;
          clearTimeout(timer);
          timer = setTimeout(() => this.reload(logger), 250);
        });
        watcher.unref();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'cannot watch the policy file; reload with SIGHUP');
      }
    }
    return () => {
      process.off('SIGHUP', onHup);
      clearTimeout(timer);
      watcher?.close();
    };
  }
}
