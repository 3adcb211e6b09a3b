// RFC 9457 problem details: how an AppError (or anything else) leaves the service.
import type { Response } from 'express';
import { AppError } from '../problems/app-error.js';
import { PROBLEMS, type ProblemCode } from '../problems/registry.js';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return `urn:assentmark:problem:${code}`;
}

export function sendProblem(res: Response, code: ProblemCode, detail: string, ext: Record<string, unknown> = {}): void {
  const { status, title } = PROBLEMS[code];
  const body: ProblemBody = { type: problemType(code), title, status, detail, code, ...ext };
  if (status === 401) res.set('WWW-Authenticate', 'Bearer');
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}

export function sendAppError(res: Response, err: AppError): void {
  sendProblem(res, err.code, err.detail, err.extensions);
}

export { AppError };
