import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';
import { createContextKey, type Interceptor } from '@connectrpc/connect';
import { Counter, type Registry } from 'prom-client';
import { type Authenticator, mayRead } from '../auth/token-verifier.ts';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/create-logger.ts';
import { currentRequestContext } from '../logging/request-context.ts';
import type { SpiffeId } from '../tls/spiffe-id.ts';
import { type CallPolicy, loadCallPolicy } from './call-policy-schema.ts';

/** The identity the caller's client certificate proves, set by the gRPC server for each call. */
export const peerIdentityKey = createContextKey<SpiffeId | undefined>(undefined, {
  description: 'the caller identity from its client certificate',
});

/**
 * Who may call this service's methods, from the policy file (`deploy/policy.yaml`), followed as the
 * file changes: a new policy applies from the next call, a file that does not parse keeps the one in
 * force (and says why in the log).
 */
export interface CallAuthorizer {
  /** Whether `caller` may call `method` (`mercato.order.v1.OrderService/GetOrder`) on this service. */
  allows: (caller: SpiffeId | undefined, method: string) => boolean;
  /** Whether the policy lets `caller` act for no user on `method` (its `withoutUser` entry). */
  withoutUser: (caller: SpiffeId, method: string) => boolean;
  /** Reads the file again now (the watch calls it); resolves false when the file was refused. */
  reload: () => Promise<boolean>;
  close: () => void;
}

/** The allowed callers of one method under a policy, for the service `service`. */
export function allowedCallers(policy: CallPolicy, service: string, method: string): readonly string[] {
  const rules = policy.services[service]?.grpc ?? {};
  const wildcard = `${method.slice(0, method.indexOf('/'))}/*`;
  return [...(rules[method] ?? []), ...(rules[wildcard] ?? [])];
}

export async function loadCallAuthorizer(options: {
  file: string;
  service: string;
  logger: Logger;
  registry: Registry;
}): Promise<CallAuthorizer> {
  const { file, service, logger } = options;
  let policy = await loadCallPolicy(file);
  const reload = async () => {
    try {
      const next = await loadCallPolicy(file);
      if (JSON.stringify(next) !== JSON.stringify(policy)) {
        policy = next;
        logger.info({ file }, 'call policy reloaded');
      }
      return true;
    } catch (error) {
      logger.error({ err: error, file }, 'call policy refused; the one in force stays');
      return false;
    }
  };
  let pending: NodeJS.Timeout | undefined;
  // The folder, not the file: an editor or `mv` replaces the file, which a watch on it would lose;
  // and any change in it, since a Kubernetes ConfigMap volume swaps a `..data` link instead.
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, () => {
    clearTimeout(pending);
    pending = setTimeout(() => void reload(), 100);
  });
  return {
    allows: (caller, method) =>
      caller !== undefined &&
      caller.trustDomain === policy.trustDomain &&
      allowedCallers(policy, service, method).includes(caller.name),
    withoutUser: (caller, method) =>
      (policy.services[service]?.withoutUser?.[method] ?? []).includes(caller.name),
    reload,
    close: () => {
      clearTimeout(pending);
      watcher.close();
    },
  };
}

/**
 * Refuses a call whose caller the policy does not allow: PERMISSION_DENIED (`<SERVICE>.CALL_NOT_ALLOWED`),
 * counted in `rpc_server_denied_total` by caller and method. An allowed call's user is then the one
 * its token proves (checked here against identity's keys; `x-mercato-user-id` alone is not believed),
 * kept with the caller in the request context for `mayActFor`, and its token travels on.
 */
export function authorizationInterceptor(
  authorizer: CallAuthorizer,
  service: string,
  registry: Registry,
  authenticate?: Authenticator,
): Interceptor {
  const denied = new Counter({
    name: 'rpc_server_denied_total',
    help: 'gRPC calls refused because the call policy does not allow their caller (PERMISSION_DENIED)',
    labelNames: ['caller', 'rpc_method'] as const,
    registers: [registry],
  });
  const code = `${service.replaceAll('-', '_').toUpperCase()}.CALL_NOT_ALLOWED`;
  return (next) => async (request) => {
    const method = `${request.service.typeName}/${request.method.name}`;
    const caller = request.contextValues.get(peerIdentityKey);
    if (!authorizer.allows(caller, method)) {
      denied.inc({ caller: caller?.name ?? 'unknown', rpc_method: method });
      throw new AppError({
        code,
        kind: 'forbidden',
        message: `${caller?.id ?? 'a caller without an identity'} may not call ${method}`,
      });
    }
    const header = request.header.get('authorization') ?? undefined;
    // No way to check a token (identity unknown here) is no user: owner checks then fail closed.
    const principal = header && authenticate ? await authenticate(header) : undefined;
    const context = currentRequestContext();
    if (context && caller) {
      context.userId = principal?.userId;
      context.userToken = principal ? header : undefined;
      context.authorization = {
        caller: caller.name,
        withoutUser: authorizer.withoutUser(caller, method),
        ...(principal ? { user: principal } : {}),
      };
    }
    return next(request);
  };
}

/**
 * Whether the call being served may act on `customerId`'s resources. Under a call policy (mutual
 * TLS): when it carries that customer's token or an admin's, or comes from a caller the policy lets
 * act without a user on this method. Without one, the caller is trusted with the user, as the
 * gateway checked it (the platform's boundary is then the gateway).
 */
export function mayActFor(customerId: string): boolean {
  const authorization = currentRequestContext()?.authorization;
  if (!authorization) return true;
  if (authorization.user) return mayRead(authorization.user, customerId);
  return authorization.withoutUser;
}

/** Whether the call being served is under a call policy (its user checked by `mayActFor`). */
export const usersChecked = (): boolean => currentRequestContext()?.authorization !== undefined;
