// The small line-based markup the dossier templates produce. Templates own the words; this parser
// and the renderer own the layout. Pure: text in, blocks out.
export type Block =
  | { kind: 'title'; text: string; subtitle?: string }
  | { kind: 'heading'; level: 1 | 2; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'bullet'; text: string }
  | { kind: 'note'; text: string }
  | { kind: 'formula'; text: string }
  | { kind: 'kv'; rows: Array<{ key: string; value: string; mono: boolean }> }
  | { kind: 'hash'; label: string; value: string }
  | { kind: 'code'; lines: string[] }
  | { kind: 'directive'; name: string; arg: string }
  | { kind: 'rule' }
  | { kind: 'pagebreak' };

/**
 * Lines: `::title T | S`, `# H1`, `## H2`, `* bullet`, `> note`, `~ formula` (a displayed line), `| key | value` (`|=` for a monospace
 * value), `= label | hex`, `---`, `@pagebreak`, `@name arg` (a block the renderer draws from data),
 * ``` fenced monospace ```, `\` to start a literal line; any other non-blank line is a paragraph.
 */
export function parseMarkup(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let code: string[] | null = null;
  for (const line of lines) {
    if (code) {
      if (line.trim() === '```') {
        blocks.push({ kind: 'code', lines: code });
        code = null;
      } else code.push(line);
      continue;
    }
    const t = line.trim();
    if (t === '') continue;
    if (t === '```') code = [];
    else if (t.startsWith('\\')) blocks.push({ kind: 'paragraph', text: t.slice(1) });
    else if (t.startsWith('::title ')) {
      const [title, subtitle] = splitOnce(t.slice(8), ' | ');
      blocks.push({ kind: 'title', text: title, ...(subtitle ? { subtitle } : {}) });
    } else if (t.startsWith('## ')) blocks.push({ kind: 'heading', level: 2, text: t.slice(3) });
    else if (t.startsWith('# ')) blocks.push({ kind: 'heading', level: 1, text: t.slice(2) });
    else if (t.startsWith('* ')) blocks.push({ kind: 'bullet', text: t.slice(2) });
    else if (t.startsWith('> ')) blocks.push({ kind: 'note', text: t.slice(2) });
    else if (t.startsWith('~ ')) blocks.push({ kind: 'formula', text: t.slice(2) });
    else if (t.startsWith('|')) {
      const mono = t.startsWith('|=');
      const [key, value] = splitOnce(t.slice(mono ? 2 : 1).trimStart(), ' | ');
      const row = { key: key.trim(), value: value ?? '', mono };
      const last = blocks.at(-1);
      if (last?.kind === 'kv') last.rows.push(row);
      else blocks.push({ kind: 'kv', rows: [row] });
    } else if (t.startsWith('= ')) {
      const [label, value] = splitOnce(t.slice(2), ' | ');
      blocks.push({ kind: 'hash', label, value: value ?? '' });
    } else if (t === '---') blocks.push({ kind: 'rule' });
    else if (t === '@pagebreak') blocks.push({ kind: 'pagebreak' });
    else if (/^@[a-z][a-z0-9-]*( |$)/.test(t)) {
      const [name, arg] = splitOnce(t.slice(1), ' ');
      blocks.push({ kind: 'directive', name, arg: arg ?? '' });
    } else blocks.push({ kind: 'paragraph', text: t });
  }
  if (code) blocks.push({ kind: 'code', lines: code });
  return blocks;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}
