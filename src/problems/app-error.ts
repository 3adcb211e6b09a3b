// The one error type a client can be told about: a registered code, a detail a person can act on,
// and optional extension members (RFC 9457). How it is sent is http/'s business.
import type { ProblemCode } from './registry.js';

export interface FieldError {
  field: string;
  message: string;
}

export class AppError<C extends ProblemCode = ProblemCode> extends Error {
  constructor(
    readonly code: C,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** Bad fields of a request, each named; `where` says which part (body, query, path, header). */
export class ValidationError extends AppError<'validation_failed'> {
  constructor(readonly errors: FieldError[], where = 'request') {
    const first = errors[0];
    const detail = first
      ? `${where} field "${first.field}" ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : ''}`
      : `${where} is invalid`;
    super('validation_failed', detail, { errors });
  }
}
