/** `driftgate review [--config FILE] REVIEW.json`: decide one AdmissionReview offline, with the server's code. */
import { readFileSync } from 'node:fs';
import { reviewBody, systemClock } from '../admission/review.ts';
import { errorMessage } from '../errors.ts';
import { NO_GRANTS } from '../grants/grant.ts';
import { createLogger } from '../log.ts';
import { loadFromSource, resolvePolicySource } from '../policy/source.ts';

export interface ReviewCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => string;
}

/** Returns the exit code: 0 allowed, 1 denied, 2 invalid input or config. */
export async function reviewCommand(file: string, opts: { config?: string }, io: ReviewCommandIo): Promise<number> {
  let body: string;
  try {
    body = file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr(`driftgate: cannot read ${file}: ${errorMessage(err)}`);
    return 2;
  }
  const policy = loadFromSource(resolvePolicySource(opts.config)); // throws ConfigError → exit 2
  const result = await reviewBody(body, {
    policy: () => policy,
    clock: systemClock,
    grants: NO_GRANTS,
    tasks: undefined,
    cluster: undefined,
    logger: createLogger('silent'),
  });
  io.stdout(JSON.stringify(result.review, null, 2));
  if (result.outcome === 'errored') {
    io.stderr(`driftgate: ${result.review.response.status?.message.replace(/^driftgate: /, '') ?? 'invalid review'}`);
    return 2;
  }
  return result.review.response.allowed ? 0 : 1;
}

