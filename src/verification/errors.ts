import { DomainError } from '../http/problem.js';

export type DetectionErrorCode =
  | 'invalid_item'
  | 'unknown_subjects'
  | 'insufficient_samples'
  | 'two_class_unsupported'
  | 'plan_not_found'
  | 'plan_mismatch'
  | 'verification_not_found';

const STATUS: Record<DetectionErrorCode, [number, string]> = {
  invalid_item: [400, 'Invalid item'],
  unknown_subjects: [422, 'Unknown subjects'],
  insufficient_samples: [422, 'Too few marked samples to decide'],
  two_class_unsupported: [422, 'Two-class models are not supported'],
  plan_not_found: [404, 'Verification plan not found'],
  plan_mismatch: [422, 'Submission does not match the plan'],
  verification_not_found: [404, 'Verification not found'],
};

export class DetectionError extends DomainError {
  constructor(code: DetectionErrorCode, detail: string, ext: Record<string, unknown> = {}) {
    super(code, STATUS[code][0], STATUS[code][1], detail, ext);
  }
}
