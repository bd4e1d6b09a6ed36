import type { ExperimentReport } from '@mercato/chassis';
import { adminClient, fail } from './admin-client.ts';

const usage = 'usage: mercato experiments <service> [--limit N]';

/**
 * `mercato experiments pricing`: a service's branch-by-abstraction experiments (its
 * `/admin/experiments`): the mode each runs in, how many answers were compared and how many
 * differed, then the latest differences, each with what was asked and both answers.
 */
export async function experimentsCommand(args: string[], dataDir: string): Promise<number> {
  const [service, flag, value] = args;
  if (!service || service.startsWith('--')) return fail(usage);
  if (flag !== undefined && (flag !== '--limit' || !/^\d{1,3}$/.test(value ?? ''))) return fail(usage);
  const limit = Math.min(100, Number(value ?? 5));
  const call = await adminClient(service, dataDir);
  if (typeof call === 'string') return fail(call);
  try {
    const { ok, body } = await call('GET', `/admin/experiments?limit=${limit}`);
    if (!ok) return fail(`${service} answered ${JSON.stringify(body)}`);
    const { experiments } = body as { experiments: ExperimentReport[] };
    if (experiments.length === 0) process.stdout.write(`${service} runs no experiment\n`);
    for (const experiment of experiments) {
      const share =
        experiment.mode === 'candidate' ? ` (candidate answers for ${experiment.candidate_percent} %)` : '';
      process.stdout.write(
        `${experiment.name}: ${experiment.mode}${share}; ${experiment.compared} compared, ${experiment.mismatches} differed, ${experiment.candidate_errors} candidate errors${experiment.ignored ? `, ${experiment.ignored} ignored (known to be in flight)` : ''}${experiment.shed ? `, ${experiment.shed} not compared (shed under load)` : ''}; ${experiment.candidate_answers} answered by the candidate alone\n`,
      );
      for (const mismatch of experiment.recent)
        process.stdout.write(
          `  ${mismatch.at}  ${mismatch.subject ?? '-'}\n    asked:     ${JSON.stringify(mismatch.input)}\n    control:   ${JSON.stringify(mismatch.control)}\n    candidate: ${JSON.stringify(mismatch.candidate)}\n`,
        );
    }
    return 0;
  } catch (error) {
    return fail((error as Error).message);
  }
}
