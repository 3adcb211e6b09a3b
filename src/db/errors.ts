/** A unique-constraint violation (SQLSTATE 23505), from pg or PGlite; optionally on a named constraint. */
export function isUniqueViolation(e: unknown, constraintPrefix?: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string } | null;
  if (!err || err.code !== '23505') return false;
  if (!constraintPrefix) return true;
  return (err.constraint ?? err.message ?? '').includes(constraintPrefix);
}
