// Reads JSON request bodies, in place of body-parser: each route's byte limit (refused on the
// declared Content-Length before a byte is read, or as soon as a chunked body passes it, without
// waiting for the rest), UTF-8 only (a fatal decoder: bad bytes are refused, never replaced),
// then JSON.parse and the strict scan of json-strict.ts. docs/input-rules.md.
import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../problems/app-error.js';
import { fieldName, locateEnd, MAX_JSON_DEPTH, strictJsonIssue, type StrictJsonIssue } from './json-strict.js';
import { decodeUtf8, firstInvalidUtf8 } from './utf8.js';

export interface BodyLimit {
  bytes: number;
  /** As configured, e.g. "2mb" (for details). */
  label: string;
}

const UNITS: Record<string, number> = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

/** A body limit as configured ("2mb", "128mb", "512kb", "1000"): binary units, like body-parser's. */
export function bodyLimit(label: string): BodyLimit {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?\s*$/i.exec(label);
  if (!m) throw new Error(`body limit "${label}" is not a size such as 2mb, 512kb or 1000 (bytes)`);
  return { bytes: Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!), label };
}

/** The middleware: `limitOf(path)` gives the route's limit. */
export function jsonBodies(limitOf: (path: string) => BodyLimit): RequestHandler {
  return (req, res, next) => {
    const limit = limitOf(req.path);
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit.bytes) {
      next(tooLarge(res, limit, `declares ${declared} bytes`));
      return;
    }
    if (!hasBody(req) || !req.is(['application/json', 'application/*+json'])) {
      next();
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (encoding !== 'identity' || (charset !== undefined && !/^utf-?8$/i.test(charset))) {
      next(new AppError('unsupported_encoding', `Send the body as UTF-8 JSON without content encoding (got ${encoding !== 'identity' ? `Content-Encoding: ${encoding}` : `charset=${charset}`}).`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      next(err);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit.bytes) {
        // Stop reading: the connection closes after the answer, the rest is never read.
        req.pause();
        settle(tooLarge(res, limit, 'has passed it'));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      try {
        const body = Buffer.concat(chunks, size);
        if (body.length > 0) req.body = parseJsonBody(body);
        settle();
      } catch (e) {
        settle(e);
      }
    };
    const onAbort = (): void => settle(new AppError('request_aborted', 'The client closed the request before the body was read.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  };
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

function tooLarge(res: Response, limit: BodyLimit, what: string): AppError {
  // Answer and close: an unread body is not drained (it may never come).
  res.set('Connection', 'close');
  return new AppError('body_too_large', `The request body ${what}: the limit of this route is ${limit.label} (${limit.bytes} bytes); split the request. Nothing was recorded.`, { limit_bytes: limit.bytes });
}

/** A JSON body's value, or the AppError that refuses it (invalid UTF-8, not JSON, strict-scan issues). */
export function parseJsonBody(bytes: Buffer): unknown {
  const text = decodeUtf8(bytes);
  if (text === null) throw invalidUtf8(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('malformed_json', 'The request body is not valid JSON; check quoting and trailing commas.');
  }
  const issue = strictJsonIssue(text);
  if (issue) throw strictError(issue);
  return value;
}

function invalidUtf8(bytes: Buffer): AppError {
  const offset = firstInvalidUtf8(bytes);
  if (offset < 0) return new AppError('invalid_utf8', 'The request body is not valid UTF-8; send it as UTF-8. Nothing was recorded.');
  const at = `byte ${offset} (0x${bytes[offset]!.toString(16).padStart(2, '0')})`;
  const where = locateEnd(bytes.subarray(0, offset).toString('utf8'));
  const message = `is not valid UTF-8: ${at} does not begin a well-formed sequence`;
  const ext = { offset };
  if (where.in === 'string') {
    const field = fieldName(where.path);
    return new AppError('invalid_utf8', `body field "${field}" ${message}; send text as UTF-8. Nothing was recorded.`, { ...ext, errors: [{ field, message }] });
  }
  if (where.in === 'member_name') {
    const inside = where.path.length ? `of "${fieldName(where.path)}"` : 'of the body';
    return new AppError('invalid_utf8', `a member name ${inside} ${message}; send text as UTF-8. Nothing was recorded.`, ext);
  }
  return new AppError('invalid_utf8', `The request body ${message}; send it as UTF-8. Nothing was recorded.`, ext);
}

function strictError(issue: StrictJsonIssue): AppError {
  switch (issue.kind) {
    case 'duplicate_member': {
      const field = fieldName([...issue.path, issue.member]);
      const inside = issue.path.length ? `in "${fieldName(issue.path)}"` : 'in the body';
      return new AppError('duplicate_member', `member "${issue.member}" appears more than once ${inside} (at "${field}"): send each member once; a parser keeps only one of them, so the record would not be what was sent`, { errors: [{ field, message: 'appears more than once' }] });
    }
    case 'lone_surrogate': {
      const field = fieldName(issue.path);
      const what = issue.memberName ? (issue.path.length ? `a member name of "${field}"` : 'a member name of the body') : `body field "${field}"`;
      const message = 'contains a \\u escape of a lone surrogate (U+D800-U+DFFF without its pair): not a Unicode character, with no canonical JSON form';
      return new AppError('not_canonical', `${what} ${message}`, { errors: [{ field, message }] });
    }
    case 'too_deep':
      return new AppError('json_too_deep', `The body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (at "${fieldName(issue.path.slice(0, 3))}…"); no documented body nests more than four.`);
  }
}
