// zod parsing that fails with a ValidationError naming each bad field (used by routes and services).
import type { z } from 'zod';
import { ValidationError } from '../problems/app-error.js';

export type InputPart = 'body' | 'query' | 'path' | 'header';

/** Parses `value` with a zod schema or throws a ValidationError naming each bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: InputPart = 'body'): z.infer<S> {
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
