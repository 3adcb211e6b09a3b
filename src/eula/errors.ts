import { DomainError } from '../http/problem.js';

export type EulaErrorCode = 'eula_not_found' | 'eula_version_conflict' | 'eula_not_effective' | 'eula_highlight_not_in_text';

const STATUS: Record<EulaErrorCode, [number, string]> = {
  eula_not_found: [404, 'EULA version not found'],
  eula_version_conflict: [409, 'EULA version already published with different content'],
  eula_not_effective: [404, 'No version in effect'],
  eula_highlight_not_in_text: [400, 'Highlighted clause not in text'],
};

export class EulaError extends DomainError {
  constructor(code: EulaErrorCode, detail: string, ext: Record<string, unknown> = {}) {
    super(code, STATUS[code][0], STATUS[code][1], detail, ext);
  }
}
