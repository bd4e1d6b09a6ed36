import { useSyncExternalStore } from 'react';

/** Who is signed in: the access token and what it says about its holder. */
export interface Session {
  accessToken: string;
  userId: string;
  email: string;
  name: string;
  roles: string[];
  /** Epoch ms. */
  expiresAt: number;
}

const KEY = 'mercato.session';
const listeners = new Set<() => void>();
let cached: { raw: string | null; session: Session | null } = { raw: null, session: null };

/** The claims of a JWT, read (not verified: the gateway verifies every call). */
function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
}

export function sessionFromToken(accessToken: string): Session {
  const claims = claimsOf(accessToken);
  return {
    accessToken,
    userId: String(claims.sub ?? ''),
    email: String(claims.email ?? ''),
    name: String(claims.name ?? ''),
    roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
    expiresAt: Number(claims.exp ?? 0) * 1000,
  };
}

export function currentSession(): Session | null {
  const raw = localStorage.getItem(KEY);
  if (raw !== cached.raw) {
    let session: Session | null = null;
    try {
      session = raw ? (JSON.parse(raw) as Session) : null;
    } catch {
      session = null;
    }
    cached = { raw, session };
  }
  const session = cached.session;
  return session && session.expiresAt > Date.now() ? session : null;
}

export function signIn(accessToken: string): Session {
  const session = sessionFromToken(accessToken);
  localStorage.setItem(KEY, JSON.stringify(session));
  for (const listener of listeners) listener();
  return session;
}

export function signOut(): void {
  localStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => event.key === KEY && listener();
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
};

export const useSession = (): Session | null => useSyncExternalStore(subscribe, currentSession);
