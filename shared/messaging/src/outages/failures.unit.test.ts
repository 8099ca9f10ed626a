import { describe, expect, it } from 'vitest';
import { DependencyError, PermanentError } from '../errors';
import { classifyFailure } from './failures';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  it('when the database is shut down, read-only, full or unreachable, then it is the database dependency', () => {
    for (const code of ['57P01', '57P03', '08006', '08001', '25006', '53300', 'ECONNREFUSED', 'ECONNRESET']) {
      expect(classifyFailure(pgError(code)), code).toEqual({ kind: 'dependency', dependency: 'database' });
    }
    for (const message of ['Connection terminated unexpectedly', 'timeout exceeded when trying to connect', 'Query read timeout', 'database "payment" is not currently accepting connections']) {
      expect(classifyFailure(new Error(message)), message).toEqual({ kind: 'dependency', dependency: 'database' });
    }
  });

  it('when a handler names a dependency, then that dependency', () => {
    expect(classifyFailure(new DependencyError('smtp', new Error('connect ECONNREFUSED')))).toEqual({ kind: 'dependency', dependency: 'smtp' });
  });

  it('when the broker channel is closed, then it is the broker', () => {
    const closed = Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' });
    expect(classifyFailure(closed)).toEqual({ kind: 'dependency', dependency: 'broker' });
  });

  it("when the statement itself fails (constraint, deadlock, serialization, bug), then it is the handler's own failure", () => {
    for (const error of [pgError('23505'), pgError('40P01'), pgError('40001'), new TypeError('undefined is not a function'), 'a string']) {
      expect(classifyFailure(error)).toEqual({ kind: 'handler' });
    }
    expect(classifyFailure(new PermanentError('no such SKU'))).toEqual({ kind: 'permanent' });
  });
});
