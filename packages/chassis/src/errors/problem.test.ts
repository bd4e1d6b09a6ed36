import { describe, expect, it } from 'vitest';
import { AppError, notFound, validationFailed } from './app-error.ts';
import { toProblem } from './problem.ts';

describe('toProblem', () => {
  it('maps an AppError to its status, stable code and retryability', () => {
    const problem = toProblem(
      notFound('CATALOG.PRODUCT_NOT_FOUND', 'Product p1 does not exist'),
      '/products/p1',
    );
    expect(problem).toEqual({
      type: 'urn:mercato:problem:CATALOG.PRODUCT_NOT_FOUND',
      title: 'Not Found',
      status: 404,
      detail: 'Product p1 does not exist',
      code: 'CATALOG.PRODUCT_NOT_FOUND',
      retryable: false,
      instance: '/products/p1',
    });
  });

  it('carries validation issues as an errors member', () => {
    const problem = toProblem(validationFailed([{ field: 'query.page', message: 'too small' }]));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'query.page', message: 'too small' }]);
    expect(problem.detail).toBe('query.page: too small');
  });

  it('never lets a detail replace a standard member (a detail named status once made a 500)', () => {
    const problem = toProblem(
      new AppError({
        code: 'ORDER.NOT_CANCELLABLE',
        kind: 'conflict',
        message: 'shipped',
        details: { status: 'shipped', code: 'X', type: 'y', order_status: 'shipped' },
      }),
    );
    expect(problem).toMatchObject({
      status: 409,
      code: 'ORDER.NOT_CANCELLABLE',
      type: 'urn:mercato:problem:ORDER.NOT_CANCELLABLE',
      order_status: 'shipped',
    });
  });

  it('marks unavailable and timeout errors retryable by default', () => {
    expect(toProblem(new AppError({ code: 'X.DOWN', kind: 'unavailable', message: 'down' })).retryable).toBe(
      true,
    );
    expect(toProblem(new AppError({ code: 'X.SLOW', kind: 'timeout', message: 'slow' })).status).toBe(504);
  });

  it('keeps framework client errors as 4xx', () => {
    const problem = toProblem({
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      message: 'Request body is too large',
    });
    expect(problem).toMatchObject({
      status: 413,
      code: 'HTTP.FST_ERR_CTP_BODY_TOO_LARGE',
      title: 'Content Too Large',
    });
  });

  it('hides the details of unexpected errors behind an opaque 500', () => {
    const problem = toProblem(new Error('password=hunter2 in connection string'));
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });
});
