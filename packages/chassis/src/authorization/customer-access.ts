import { type Authenticator, mayRead } from '../auth/token-verifier.ts';

/**
 * Whether a request to a service's HTTP API may read `customerId`'s resources, from the
 * `Authorization` header it carries (the gateway passes the user's token on to the read models).
 * Under a call policy (mutual TLS, `MERCATO_POLICY_FILE`): only with that customer's token or an
 * admin's; a token that does not verify is a 401 (the authenticator's AppError). Without one, the
 * caller is trusted with the customer it names, as the gateway checked it.
 */
export type CustomerAccess = (authorization: string | undefined, customerId: string) => Promise<boolean>;

export function customerAccess(enforced: boolean, authenticate: Authenticator | undefined): CustomerAccess {
  if (!enforced) return async () => true;
  return async (authorization, customerId) => {
    // No token, or no way to check one (identity unknown here): nothing is another's to read.
    if (!authorization || !authenticate) return false;
    return mayRead(await authenticate(authorization), customerId);
  };
}
