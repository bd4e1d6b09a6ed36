import { useQueries } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemError } from '../../shared/problem.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { serviceAdmin } from '../ops-api.ts';
import { useProcesses } from './topology-view.tsx';

interface Mismatch {
  at: string;
  subject: string | null;
  input: unknown;
  control: unknown;
  candidate: unknown;
}

interface Experiment {
  name: string;
  mode: 'control' | 'shadow' | 'candidate';
  candidate_percent: number;
  compared: number;
  mismatches: number;
  candidate_errors: number;
  candidate_answers: number;
  recent: Mismatch[];
}

const modeText = (experiment: Experiment) =>
  experiment.mode === 'candidate'
    ? `new for ${experiment.candidate_percent} %, shadow for the rest`
    : experiment.mode === 'shadow'
      ? 'shadow: old answers, new compared'
      : 'old only';

/**
 * Branch-by-abstraction experiments of every instance (pricing's discount engine): which
 * implementation answers, how many answers were compared and differed, and each difference with
 * what was asked and both answers.
 */
export function ExperimentsView() {
  const processes = useProcesses();
  const names = processes.data?.processes.map((process) => process.name) ?? [];
  const [open, setOpen] = useState<string | null>(null);
  const reports = useQueries({
    queries: names.map((name) => ({
      queryKey: ['experiments', name],
      queryFn: async () => {
        try {
          return (await serviceAdmin<{ experiments: Experiment[] }>(name, 'experiments?limit=20'))
            .experiments;
        } catch (error) {
          // A service that runs no experiment has no such route.
          if (error instanceof ProblemError && error.problem.status === 404) return [];
          throw error;
        }
      },
      refetchInterval: 3_000,
    })),
  });
  const rows = names.flatMap((name, index) =>
    (reports[index]?.data ?? []).map((experiment) => ({ instance: name, experiment })),
  );
  const differences = rows.flatMap(({ instance, experiment }) =>
    experiment.recent.map((mismatch, at) => ({
      key: `${instance}-${experiment.name}-${at}`,
      instance,
      experiment,
      mismatch,
    })),
  );
  return (
    <>
      <h1>Experiments</h1>
      <p>
        A rewrite running beside the code it replaces: in shadow both answer every input, the old answer is
        returned, and every difference is kept here.
      </p>
      {reports.map((report, index) =>
        report.error ? (
          <ProblemMessage key={names[index]} error={report.error} title={`${names[index]}`} />
        ) : null,
      )}
      {rows.length === 0 ? <p>No service runs an experiment.</p> : null}
      <table aria-label="Experiments">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Experiment</th>
            <th scope="col">Mode</th>
            <th scope="col">Compared</th>
            <th scope="col">Differed</th>
            <th scope="col">New one failed</th>
            <th scope="col">Answered by the new one</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ instance, experiment }) => (
            <tr key={`${instance}-${experiment.name}`}>
              <th scope="row">{instance}</th>
              <td>{experiment.name}</td>
              <td>{modeText(experiment)}</td>
              <td>{experiment.compared}</td>
              <td className={experiment.mismatches > 0 ? 'state-failed' : undefined}>
                {experiment.mismatches}
              </td>
              <td className={experiment.candidate_errors > 0 ? 'state-failed' : undefined}>
                {experiment.candidate_errors}
              </td>
              <td>{experiment.candidate_answers}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Differences</h2>
      {differences.length === 0 ? <p>No difference so far.</p> : null}
      <ul aria-label="Differences">
        {differences.map(({ key, instance, experiment, mismatch }) => (
          <li key={key}>
            <button type="button" className="secondary" onClick={() => setOpen(open === key ? null : key)}>
              {open === key ? 'Hide' : 'Inspect'}
            </button>{' '}
            {new Date(mismatch.at).toLocaleTimeString()} · {instance} · {experiment.name} ·{' '}
            {mismatch.subject ?? 'no customer'}
            {open === key ? (
              <pre className="json">
                {JSON.stringify(
                  { asked: mismatch.input, old: mismatch.control, new: mismatch.candidate },
                  null,
                  2,
                )}
              </pre>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}
