import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation, useSearchParams } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { signIn } from '../../shared/session.ts';

function useAfterSignIn() {
  const [params] = useSearchParams();
  const [, navigate] = useLocation();
  const next = params.get('next');
  return () => navigate(next?.startsWith('/') ? next : '/');
}

export function SignInPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const done = useAfterSignIn();
  const login = useMutation({
    mutationFn: () => unwrap(edge.POST('/api/auth/login', { body: { email, password } })),
    onSuccess: (tokens) => {
      signIn(tokens.access_token);
      done();
    },
  });
  return (
    <>
      <h1>Sign in</h1>
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
        <button type="submit" disabled={login.isPending}>
          Sign in
        </button>
      </form>
      <ProblemMessage error={login.error} title="Could not sign in" />
      <p>
        New here? <Link href="/register">Create an account</Link>
      </p>
    </>
  );
}

export function RegisterPage() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const done = useAfterSignIn();
  const register = useMutation({
    mutationFn: async () => {
      await unwrap(edge.POST('/api/auth/register', { body: { email, password, name } }));
      return unwrap(edge.POST('/api/auth/login', { body: { email, password } }));
    },
    onSuccess: (tokens) => {
      signIn(tokens.access_token);
      done();
    },
  });
  return (
    <>
      <h1>Create an account</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          register.mutate();
        }}
      >
        <label htmlFor="name">Name</label>
        <input id="name" required value={name} onChange={(event) => setName(event.target.value)} />
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
          minLength={8}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <button type="submit" disabled={register.isPending}>
          Create account
        </button>
      </form>
      <ProblemMessage error={register.error} title="Could not create the account" />
    </>
  );
}
