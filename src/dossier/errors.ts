import { DomainError } from '../http/problem.js';

export type DossierErrorCode = 'nothing_to_issue' | 'verification_not_of_subject' | 'dossier_not_found' | 'render_failed';

const STATUS: Record<DossierErrorCode, [number, string]> = {
  nothing_to_issue: [422, 'No evidence for this subject'],
  verification_not_of_subject: [422, 'Verification not of this subject'],
  dossier_not_found: [404, 'Dossier not found'],
  render_failed: [500, 'Dossier rendering failed'],
};

export class DossierError extends DomainError {
  constructor(code: DossierErrorCode, detail: string, ext: Record<string, unknown> = {}) {
    super(code, STATUS[code][0], STATUS[code][1], detail, ext);
  }
}
