// What the test can run on, checked once for plans and verifications alike, so that a plan that is
// recorded can always be run: each label below its sample's num_classes, and no two-class samples.
// The field names are the request's (samples.<i>.<field>, suspect_labels.<i>).
import { AppError } from '../problems/app-error.js';

export interface SampleLabels {
  owner_label: number;
  num_classes: number;
  suspect_label?: number;
}

export function twoClassDetail(): string {
  return 'k = 2 is refused: with two classes the watermark label is simply "the other label", so an independent model that disagrees with the owner matches it (p0 = 1) and the test has no power. Use samples from models with at least 3 classes.';
}

/** A 400 naming the field (`samples.3.owner_label`; the detail says `samples[3].owner_label`) of a label not below num_classes. */
export function labelOutOfRange(field: string, value: number, numClasses: number): AppError {
  return new AppError('invalid_item', `${field.replace(/\.(\d+)/g, '[$1]')} = ${value} is out of range for num_classes ${numClasses} (labels are 0 to ${numClasses - 1})`, {
    errors: [{ field, message: 'must be less than num_classes' }],
  });
}

/** Refuses the first sample the test cannot run on (two classes: 422; a label out of range: 400). */
export function checkSamples(samples: readonly SampleLabels[]): void {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (s.num_classes === 2) throw new AppError('two_class_unsupported', `samples[${i}]: ${twoClassDetail()}`);
    if (s.owner_label >= s.num_classes) throw labelOutOfRange(`samples.${i}.owner_label`, s.owner_label, s.num_classes);
    if (s.suspect_label !== undefined && s.suspect_label >= s.num_classes) throw labelOutOfRange(`samples.${i}.suspect_label`, s.suspect_label, s.num_classes);
  }
}
