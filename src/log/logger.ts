import { pino, type Logger } from 'pino';

/** Structured logs. Authorization headers and anything named like a secret are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'assentmark' },
    redact: {
      paths: ['req.headers.authorization', '*.token', '*.key', '*.secret', '*.password', '*.wrapped_key'],
      censor: '[redacted]',
    },
  });
}
