import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops } from '../ops-api.ts';
import type { RegistryInstance, RegistrySnapshot, ReleaseStep } from '../ops-types.ts';

/** An instance's share of its service's calls (%), from the registry's weights. */
function shares(instances: readonly RegistryInstance[]): Map<string, number> {
  const serving = instances.filter((instance) => instance.ready);
  const total = serving.reduce((sum, instance) => sum + instance.weight, 0);
  return new Map(
    instances.map((instance) => [
      instance.instance,
      instance.ready && total > 0 ? Math.round((100 * instance.weight) / total) : 0,
    ]),
  );
}

const stateOf = (instance: RegistryInstance) =>
  instance.draining ? 'draining' : instance.ready ? 'ready' : 'starting';

/**
 * Every instance the registry holds, by service: its version, its role (a blue-green standby), its
 * share of calls (a canary's weight), its state; a rollback for a service with a standby set; and
 * the steps of this run's releases as they happen.
 */
export function ReleasesView() {
  const queries = useQueryClient();
  const registry = useQuery({
    queryKey: ['registry'],
    queryFn: () => ops<RegistrySnapshot>('registry'),
    refetchInterval: 1_000,
  });
  const steps = useQuery({
    queryKey: ['release-steps'],
    queryFn: () => ops<{ steps: ReleaseStep[] }>('releases'),
    refetchInterval: 1_000,
  });
  const [done, setDone] = useState<string | null>(null);
  const rollback = useMutation({
    mutationFn: (service: string) =>
      ops<{ service: string; active: string[]; took_ms: number }>('rollbacks', {
        method: 'POST',
        body: { service },
      }),
    onSuccess: (result) => {
      setDone(`${result.service} rolled back in ${result.took_ms} ms: ${result.active.join(', ')} active`);
      void queries.invalidateQueries({ queryKey: ['registry'] });
      void queries.invalidateQueries({ queryKey: ['release-steps'] });
    },
  });
  const services = Object.entries(registry.data?.services ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <>
      <h1>Instances and releases</h1>
      <p>
        Released with{' '}
        <code>npm run mercato -- release &lt;service&gt; --strategy rolling|blue-green|canary</code>; a
        service with a standby set (blue-green) rolls back here in one step.
      </p>
      {done ? <p role="status">{done}</p> : null}
      <ProblemMessage error={registry.error} title="The registry is unavailable" />
      <ProblemMessage error={rollback.error} title="The rollback was refused" />
      <table aria-label="Instances">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Instance</th>
            <th scope="col">Version</th>
            <th scope="col">Role</th>
            <th scope="col">Share of calls</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {services.flatMap(([service, instances]) => {
            const share = shares(instances);
            const hasStandby = instances.some((instance) => instance.role === 'standby');
            return instances.map((instance, index) => (
              <tr key={instance.instance} aria-label={instance.instance}>
                <th scope="row">{index === 0 ? service : ''}</th>
                <td>{instance.instance}</td>
                <td>{instance.version}</td>
                <td>
                  {instance.role}
                  {instance.canary ? ' (canary)' : ''}
                </td>
                <td>{share.get(instance.instance)} %</td>
                <td className={`state-${stateOf(instance)}`}>{stateOf(instance)}</td>
                <td>
                  {index === 0 && hasStandby ? (
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Roll back ${service}`}
                      disabled={rollback.isPending}
                      onClick={() => rollback.mutate(service)}
                    >
                      roll back
                    </button>
                  ) : null}
                </td>
              </tr>
            ));
          })}
        </tbody>
      </table>
      <h2>Release steps</h2>
      <ProblemMessage error={steps.error} title="Release steps are unavailable" />
      {steps.data && steps.data.steps.length === 0 ? <p>No release has run on this platform yet.</p> : null}
      <table aria-label="Release steps">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Service</th>
            <th scope="col">Step</th>
            <th scope="col">Instance</th>
            <th scope="col">What happened</th>
          </tr>
        </thead>
        <tbody>
          {steps.data?.steps.map((step) => (
            <tr key={step.seq}>
              <td>{new Date(step.at).toLocaleTimeString()}</td>
              <td>{step.service}</td>
              <td>{step.step}</td>
              <td>{step.instance ?? ''}</td>
              <td>{step.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
