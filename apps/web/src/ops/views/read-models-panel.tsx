import { useQueries } from '@tanstack/react-query';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { serviceAdmin } from '../ops-api.ts';

interface GenerationJson {
  generation: number;
  status: string;
  position: string | null;
  events_applied: number;
  rejected: number;
  lag: { events: number; seconds: number } | null;
}

const readModelServices = ['order-view', 'analytics'];

/** Each read model's generations: status, checkpoint (log position), events applied, lag (GET /admin/read-model). */
export function ReadModelsPanel() {
  const models = useQueries({
    queries: readModelServices.map((service) => ({
      queryKey: ['read-model', service],
      queryFn: () =>
        serviceAdmin<{ read_model: string; generations: GenerationJson[] }>(service, 'read-model'),
      refetchInterval: 3_000,
    })),
  });
  return (
    <section aria-label="Read models">
      <h2>Read models</h2>
      {models.map((model, index) =>
        model.error ? (
          <ProblemMessage
            key={readModelServices[index]}
            error={model.error}
            title={readModelServices[index]}
          />
        ) : null,
      )}
      <table aria-label="Read model generations">
        <thead>
          <tr>
            <th scope="col">Read model</th>
            <th scope="col">Generation</th>
            <th scope="col">Checkpoint</th>
            <th scope="col">Applied</th>
            <th scope="col">Lag</th>
          </tr>
        </thead>
        <tbody>
          {models.flatMap((model) =>
            (model.data?.generations ?? []).map((generation) => (
              <tr key={`${model.data?.read_model}-${generation.generation}`}>
                <th scope="row">{model.data?.read_model}</th>
                <td>
                  g{generation.generation} ({generation.status})
                </td>
                <td>{generation.position ?? '–'}</td>
                <td>
                  {generation.events_applied}
                  {generation.rejected > 0 ? `, ${generation.rejected} rejected` : ''}
                </td>
                <td>
                  {generation.lag
                    ? `${generation.lag.events} events, ${generation.lag.seconds.toFixed(1)} s`
                    : '–'}
                </td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </section>
  );
}
