import { HttpError } from '@troupe/platform';
import { UnknownSkuError } from '../domain/place-order';

/** The domain's refusals that are the client's mistake, as the HTTP errors that say so; anything else as it is. */
export function asHttpError(error: unknown): unknown {
  if (error instanceof UnknownSkuError) {
    return new HttpError(400, `invalid request: ${error.field}: ${error.message}`, [{ field: error.field, message: error.message }]);
  }
  return error;
}
