import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops, serviceAdmin } from '../ops-api.ts';
import { useProcesses } from './topology-view.tsx';

/** Break the shop and watch it heal: process control, and the provider's and carrier's knobs. */
export function FaultsView() {
  const processes = useProcesses();
  const queries = useQueryClient();
  const [done, setDone] = useState<string | null>(null);
  const control = useMutation({
    mutationFn: ({ name, action }: { name: string; action: string }) =>
      ops<{ state: string }>(`processes/${name}/${action}`, { method: 'POST' }),
    onSuccess: (_answer, { name, action }) => {
      setDone(`${action} ${name}: sent`);
      void queries.invalidateQueries({ queryKey: ['processes'] });
    },
  });
  return (
    <>
      <h1>Faults</h1>
      <p>Kill is a crash (the supervisor restarts the process); stop keeps it down until you start it.</p>
      {done ? <p role="status">{done}</p> : null}
      <ProblemMessage error={control.error} title="The supervisor refused" />
      <table aria-label="Process control">
        <thead>
          <tr>
            <th scope="col">Process</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {processes.data?.processes.map((process) => (
            <tr key={process.name}>
              <th scope="row">{process.name}</th>
              <td className={`state-${process.state}`}>{process.state}</td>
              <td>
                {(['kill', 'stop', 'start', 'restart'] as const).map((action) => (
                  <button
                    key={action}
                    type="button"
                    className={action === 'kill' ? 'danger' : 'secondary'}
                    aria-label={`${action[0]?.toUpperCase()}${action.slice(1)} ${process.name}`}
                    disabled={action === 'start' ? process.state !== 'stopped' : process.state === 'stopped'}
                    onClick={() => control.mutate({ name: process.name, action })}
                  >
                    {action}
                  </button>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="panels">
        <Knobs
          service="payment-provider"
          title="Payment provider"
          fields={[
            ['decline_rate', 'Decline rate (0–1)', 'number'],
            ['refund_failure_rate', 'Refund failure rate (0–1)', 'number'],
            ['latency_ms', 'Latency (ms)', 'number'],
            ['outage', 'Outage', 'boolean'],
          ]}
        />
        <Knobs
          service="carrier"
          title="Carrier"
          fields={[
            ['failure_rate', 'Refusal rate (0–1)', 'number'],
            ['lost_rate', 'Lost rate (0–1)', 'number'],
            ['delivery_ms', 'Transit time (ms)', 'number'],
            ['latency_ms', 'Latency (ms)', 'number'],
            ['outage', 'Outage', 'boolean'],
          ]}
        />
      </div>
    </>
  );
}

type Field = readonly [name: string, label: string, kind: 'number' | 'boolean'];

function Knobs({ service, title, fields }: { service: string; title: string; fields: readonly Field[] }) {
  const queries = useQueryClient();
  const knobs = useQuery({
    queryKey: ['knobs', service],
    queryFn: () => serviceAdmin<Record<string, number | boolean>>(service, 'knobs'),
  });
  const [draft, setDraft] = useState<Record<string, number | boolean>>({});
  const save = useMutation({
    mutationFn: () => serviceAdmin(service, 'knobs', { method: 'PUT', body: draft }),
    onSuccess: () => {
      setDraft({});
      void queries.invalidateQueries({ queryKey: ['knobs', service] });
    },
  });
  const value = (name: string) => draft[name] ?? knobs.data?.[name];
  return (
    <section aria-label={`${title} knobs`}>
      <h2>{title} knobs</h2>
      <ProblemMessage error={knobs.error ?? save.error} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          save.mutate();
        }}
      >
        {fields.map(([name, label, kind]) => (
          <div key={name}>
            <label htmlFor={`${service}-${name}`}>{label}</label>{' '}
            {kind === 'boolean' ? (
              <input
                id={`${service}-${name}`}
                type="checkbox"
                checked={value(name) === true}
                onChange={(event) => setDraft({ ...draft, [name]: event.target.checked })}
              />
            ) : (
              <input
                id={`${service}-${name}`}
                type="number"
                step="any"
                min={0}
                value={String(value(name) ?? '')}
                onChange={(event) => setDraft({ ...draft, [name]: Number(event.target.value) })}
              />
            )}
          </div>
        ))}
        <button type="submit">Apply {title.toLowerCase()} knobs</button>
      </form>
      {save.isSuccess ? <p role="status">Applied.</p> : null}
    </section>
  );
}
