/** A unique-constraint violation (SQLSTATE 23505), from pg or PGlite; optionally on a named constraint. */
export function isUniqueViolation(e: unknown, constraintPrefix?: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string } | null;
  if (!err || err.code !== '23505') return false;
  if (!constraintPrefix) return true;
  return (err.constraint ?? err.message ?? '').includes(constraintPrefix);
}

/** Socket errors of the connection to the database server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN']);

/**
 * SQLSTATEs of a server that is going away or not taking connections: class 08 (connection
 * exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now) and 53300 (too
 * many connections).
 */
function isConnectionSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** What pg and pg-pool say, without a code, when a connection is lost, cannot be had, or was lost before. */
const CONNECTION_MESSAGES = [
  /^Connection terminated unexpectedly$/,
  /^Connection terminated due to connection timeout$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Query read timeout$/,
];

/**
 * The database could not be reached or the connection was lost: the request may succeed later
 * unchanged. Everything else (a constraint, a syntax error, a refused permission) is not an outage.
 * The one place that decides this, for the HTTP answer and the ledger appender alike.
 */
export function isConnectionError(e: unknown): boolean {
  for (let err = e, depth = 0; err && typeof err === 'object' && depth < 5; depth++) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || isConnectionSqlState(code))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(message))) return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}
