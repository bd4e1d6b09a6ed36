import { QueryClient, QueryClientProvider, useMutation } from '@tanstack/react-query';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Redirect, Route, Router, Switch } from 'wouter';
import '../shared/styles.css';
import './ops.css';
import { edge, unwrap } from '../shared/edge-client.ts';
import { ProblemMessage } from '../shared/problem-message.tsx';
import { signIn, signOut, useSession } from '../shared/session.ts';
import { rangeChoices, TimeRange } from './time-range.ts';
import { DeadLettersView } from './views/dead-letters-view.tsx';
import { ExperimentsView } from './views/experiments-view.tsx';
import { FaultsView } from './views/faults-view.tsx';
import { LogsView } from './views/logs-view.tsx';
import { ReleasesView } from './views/releases-view.tsx';
import { SagasView } from './views/sagas-view.tsx';
import { TopologyView } from './views/topology-view.tsx';
import { TracesView } from './views/traces-view.tsx';

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 0, refetchOnWindowFocus: false } },
});

const views = [
  ['/', 'Topology'],
  ['/sagas', 'Sagas'],
  ['/traces', 'Traces'],
  ['/logs', 'Logs'],
  ['/dead-letters', 'Dead letters'],
  ['/releases', 'Releases'],
  ['/experiments', 'Experiments'],
  ['/faults', 'Faults'],
] as const;

function AdminSignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation({
    mutationFn: () => unwrap(edge.POST('/api/auth/login', { body: { email, password } })),
    onSuccess: (tokens) => signIn(tokens.access_token),
  });
  return (
    <main>
      <h1>Mercato ops console</h1>
      <p>Sign in with an account that has the admin role (the demo admin: admin@mercato.test).</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          login.mutate();
        }}
      >
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <ProblemMessage error={login.error} title="Could not sign in" />
    </main>
  );
}

function Console() {
  const session = useSession();
  const [minutes, setMinutes] = useState(15);
  if (!session) return <AdminSignIn />;
  if (!session.roles.includes('admin'))
    return (
      <main>
        <h1>Mercato ops console</h1>
        <div role="alert" className="problem">
          Access denied: {session.email} does not have the admin role. The console and the supervisor API are
          for operators only.
        </div>
        <button type="button" onClick={signOut}>
          Sign in as someone else
        </button>
      </main>
    );
  return (
    <TimeRange.Provider value={{ minutes, setMinutes }}>
      <header className="top">
        <Link href="/" className="brand">
          Mercato ops
        </Link>
        <nav aria-label="Console">
          {views.map(([href, label]) => (
            <Link key={href} href={href}>
              {label}
            </Link>
          ))}
        </nav>
        <label className="range">
          Time range{' '}
          <select value={minutes} onChange={(event) => setMinutes(Number(event.target.value))}>
            {rangeChoices.map((choice) => (
              <option key={choice} value={choice}>
                {choice === 0 ? 'everything kept' : `last ${choice} min`}
              </option>
            ))}
          </select>
        </label>
        <span className="who">{session.email}</span>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main className="wide">
        <Switch>
          <Route path="/" component={TopologyView} />
          <Route path="/sagas">{() => <SagasView />}</Route>
          <Route path="/sagas/:id">
            {(params) => <SagasView selected={decodeURIComponent(params.id)} />}
          </Route>
          <Route path="/traces">{() => <TracesView />}</Route>
          <Route path="/traces/:id">{(params) => <TracesView selected={params.id} />}</Route>
          <Route path="/logs" component={LogsView} />
          <Route path="/dead-letters" component={DeadLettersView} />
          <Route path="/releases" component={ReleasesView} />
          <Route path="/experiments" component={ExperimentsView} />
          <Route path="/faults" component={FaultsView} />
          <Route>
            <Redirect to="/" />
          </Route>
        </Switch>
      </main>
    </TimeRange.Provider>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <Router base="/ops">
          <Console />
        </Router>
      </QueryClientProvider>
    </StrictMode>,
  );
