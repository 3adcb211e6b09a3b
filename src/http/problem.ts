// RFC 9457 problem details. Every error leaves the service as one of these.
import type { Response } from 'express';
import { z } from 'zod';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Base for every domain error: a stable code, an HTTP status and a detail a person can act on. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class HttpError extends DomainError {}

export interface FieldError {
  field: string;
  message: string;
}

export class ValidationError extends DomainError {
  constructor(readonly errors: FieldError[], where = 'request') {
    const first = errors[0];
    const detail = first
      ? `${where} field "${first.field}" ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : ''}`
      : `${where} is invalid`;
    super('validation_failed', 400, 'Request validation failed', detail, { errors });
  }
}

export function problemType(code: string): string {
  return `urn:assentmark:problem:${code}`;
}

export function sendProblem(res: Response, status: number, code: string, title: string, detail: string, ext: Record<string, unknown> = {}): void {
  const body: ProblemBody = { type: problemType(code), title, status, detail, code, ...ext };
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}

/** Parses `value` with a zod schema or throws a ValidationError naming each bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path' | 'header' = 'body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({ field: i.path.length ? i.path.map(String).join('.') : '(root)', message: describeIssue(i) }));
  throw new ValidationError(errors, where);
}

function describeIssue(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return 'is required';
  if (i.code === 'unrecognized_keys') return `has unknown field(s): ${i.keys.join(', ')}`;
  return i.message.charAt(0).toLowerCase() + i.message.slice(1);
}
