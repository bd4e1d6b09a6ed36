import { AppError } from '@mercato/chassis';

/** identity's stable error codes. Login failures never say whether the email exists. */
export const identityErrors = {
  emailTaken: () =>
    new AppError({
      code: 'IDENTITY.EMAIL_TAKEN',
      kind: 'conflict',
      message: 'An account with this email already exists',
    }),
  badCredentials: () =>
    new AppError({
      code: 'IDENTITY.BAD_CREDENTIALS',
      kind: 'unauthenticated',
      message: 'Email or password is wrong',
    }),
  throttled: (retryAfterSeconds: number) =>
    new AppError({
      code: 'IDENTITY.LOGIN_THROTTLED',
      kind: 'rate_limited',
      message: `Too many failed logins; try again in ${retryAfterSeconds} s`,
      retryAfterSeconds,
      details: { retry_after_seconds: retryAfterSeconds },
    }),
  /** Said only after the right password, so it tells a guesser nothing. */
  userBlocked: () =>
    new AppError({
      code: 'IDENTITY.USER_BLOCKED',
      kind: 'forbidden',
      message: 'This account is blocked; contact support',
    }),
  unknownUser: (userId: string) =>
    new AppError({ code: 'IDENTITY.USER_NOT_FOUND', kind: 'not_found', message: `No user ${userId}` }),
  invalidRefreshToken: () =>
    new AppError({
      code: 'IDENTITY.INVALID_REFRESH_TOKEN',
      kind: 'unauthenticated',
      message: 'The refresh token is unknown, expired or revoked',
    }),
  refreshTokenReused: () =>
    new AppError({
      code: 'IDENTITY.REFRESH_TOKEN_REUSED',
      kind: 'unauthenticated',
      message: 'The refresh token was already used; its session has been revoked',
    }),
};
