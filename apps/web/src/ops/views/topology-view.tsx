import { useQuery } from '@tanstack/react-query';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops } from '../ops-api.ts';
import { breakerStates, type ProcessInfo, type ServiceFigures } from '../ops-types.ts';
import { ReadModelsPanel } from './read-models-panel.tsx';
import { RedChart } from './red-chart.tsx';

const uptime = (startedAt: number | null, now: number) => {
  if (startedAt === null) return '–';
  const seconds = Math.max(0, Math.round((now - startedAt) / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
};

export function useProcesses() {
  return useQuery({
    queryKey: ['processes'],
    queryFn: () => ops<{ now: number; processes: ProcessInfo[] }>('processes'),
    refetchInterval: 1_000,
  });
}

/** Every process and its health; RED per service; breakers, outbox backlog, consumer and read-model lag. */
export function TopologyView() {
  const processes = useProcesses();
  const metrics = useQuery({
    queryKey: ['metrics'],
    queryFn: () => ops<{ services: ServiceFigures[] }>('metrics'),
    refetchInterval: 2_000,
  });
  const figures = metrics.data?.services ?? [];
  const now = processes.data?.now ?? Date.now();
  return (
    <>
      <h1>Topology and health</h1>
      <ProblemMessage error={processes.error} title="Process state is unavailable" />
      <table aria-label="Processes">
        <thead>
          <tr>
            <th scope="col">Process</th>
            <th scope="col">State</th>
            <th scope="col">PID</th>
            <th scope="col">Restarts</th>
            <th scope="col">Uptime</th>
            <th scope="col">Last exit</th>
            <th scope="col">Metrics</th>
          </tr>
        </thead>
        <tbody>
          {processes.data?.processes.map((process) => (
            <tr key={process.name} aria-label={process.name}>
              <th scope="row">{process.name}</th>
              <td className={`state-${process.state}`}>{process.state}</td>
              <td>{process.pid ?? '–'}</td>
              <td>{process.restarts}</td>
              <td>{uptime(process.started_at, now)}</td>
              <td>
                {process.last_exit
                  ? `${process.last_exit.signal ?? `code ${process.last_exit.code}`} at ${new Date(process.last_exit.at).toLocaleTimeString()}`
                  : '–'}
              </td>
              <td>
                {figures.find((figure) => figure.service === process.name)?.up ? 'scraped' : 'no answer'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <div className="panels">
        <section aria-label="Breakers">
          <h2>Circuit breakers</h2>
          <table aria-label="Breakers">
            <thead>
              <tr>
                <th scope="col">Caller → dependency</th>
                <th scope="col">State</th>
                <th scope="col">Times opened</th>
              </tr>
            </thead>
            <tbody>
              {figures.flatMap((figure) =>
                (figure.latest?.breakers ?? []).map((breaker) => {
                  const state = breakerStates[breaker.state] ?? String(breaker.state);
                  return (
                    <tr
                      key={`${figure.service}-${breaker.dependency}`}
                      aria-label={`${figure.service} → ${breaker.dependency}`}
                    >
                      <th scope="row">
                        {figure.service} → {breaker.dependency}
                      </th>
                      <td className={`breaker-${state}`}>{state}</td>
                      <td>{breaker.opened}</td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </section>
        <section aria-label="Backlogs and lag">
          <h2>Outbox backlog and consumer lag</h2>
          <table aria-label="Backlogs">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Outbox backlog</th>
                <th scope="col">Consumer lag</th>
              </tr>
            </thead>
            <tbody>
              {figures
                .filter(
                  (figure) =>
                    figure.latest &&
                    (figure.latest.outboxBacklog !== null || figure.latest.consumerLag.length > 0),
                )
                .map((figure) => (
                  <tr key={figure.service}>
                    <th scope="row">{figure.service}</th>
                    <td>{figure.latest?.outboxBacklog ?? '–'}</td>
                    <td>
                      {figure.latest?.consumerLag.map((lag) => `${lag.group}: ${lag.messages}`).join(', ') ||
                        '–'}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </section>
        <ReadModelsPanel />
      </div>

      <h2>RED per service</h2>
      <p className="note">
        Rate, error % and p99 of HTTP and gRPC served, scraped from each /metrics every 2 s.
      </p>
      <div className="charts">
        {figures.map((figure) => (
          <RedChart key={figure.service} service={figure.service} points={figure.series} />
        ))}
      </div>
    </>
  );
}
