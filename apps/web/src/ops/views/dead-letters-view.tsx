import { useMutation, useQueries, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemError } from '../../shared/problem.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { serviceAdmin } from '../ops-api.ts';
import { useProcesses } from './topology-view.tsx';

interface DeadLetter {
  id: number;
  group: string;
  message_id: string;
  destination: string;
  error: string;
  attempts: number;
  dead_at: string;
  replayed_at: string | null;
  envelope: unknown;
}

/** Every service's dead letters: what failed and why, the message itself, and replay. */
export function DeadLettersView() {
  const processes = useProcesses();
  const names = processes.data?.processes.map((process) => process.name) ?? [];
  const queries = useQueryClient();
  const [open, setOpen] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const lists = useQueries({
    queries: names.map((name) => ({
      queryKey: ['dead-letters', name],
      queryFn: async () => {
        try {
          return (await serviceAdmin<{ items: DeadLetter[] }>(name, 'dead-letters?all=true')).items;
        } catch (error) {
          // A service without consumers has no dead letters (and no such route).
          if (error instanceof ProblemError && error.problem.status === 404) return [];
          throw error;
        }
      },
      refetchInterval: 3_000,
    })),
  });
  const replay = useMutation({
    mutationFn: ({ service, id }: { service: string; id: number }) =>
      serviceAdmin<{ outcome: string }>(service, `dead-letters/${id}/replay`, { method: 'POST' }),
    onSuccess: (answer, { service, id }) => {
      setOutcome(`Replayed dead letter ${id} of ${service}: ${answer.outcome}`);
      void queries.invalidateQueries({ queryKey: ['dead-letters', service] });
    },
  });
  const letters = names.flatMap((name, index) =>
    (lists[index]?.data ?? []).map((letter) => ({ service: name, letter })),
  );
  return (
    <>
      <h1>Dead letters</h1>
      <p>Messages a consumer gave up on (unreadable, or failed every attempt), kept with the reason.</p>
      {outcome ? <p role="status">{outcome}</p> : null}
      <ProblemMessage error={replay.error} title="Replay failed" />
      {lists.map((list, index) =>
        list.error ? (
          <ProblemMessage key={names[index]} error={list.error} title={`${names[index]}`} />
        ) : null,
      )}
      {letters.length === 0 ? <p>No dead letters.</p> : null}
      <table aria-label="Dead letters">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Group</th>
            <th scope="col">Message</th>
            <th scope="col">Reason</th>
            <th scope="col">Attempts</th>
            <th scope="col">Dead at</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {letters.map(({ service, letter }) => {
            const key = `${service}-${letter.id}`;
            return (
              <tr key={key}>
                <td>{service}</td>
                <td>{letter.group}</td>
                <td>
                  {letter.destination}
                  {open === key ? (
                    <pre className="json">{JSON.stringify(letter.envelope, null, 2)}</pre>
                  ) : null}
                </td>
                <td>{letter.error}</td>
                <td>{letter.attempts}</td>
                <td>
                  {new Date(letter.dead_at).toLocaleTimeString()}
                  {letter.replayed_at
                    ? ` · replayed ${new Date(letter.replayed_at).toLocaleTimeString()}`
                    : ''}
                </td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => setOpen(open === key ? null : key)}
                  >
                    {open === key ? 'Hide' : 'Inspect'}
                  </button>{' '}
                  <button
                    type="button"
                    aria-label={`Replay dead letter ${letter.id} of ${service}`}
                    disabled={letter.replayed_at !== null || replay.isPending}
                    onClick={() => replay.mutate({ service, id: letter.id })}
                  >
                    Replay
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
