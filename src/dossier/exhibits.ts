// Exhibit letters as a court filing uses them: A … Z, then AA, AB, … (like spreadsheet columns).
export function exhibitLetter(index: number): string {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
