// Suggestions for the subject box as the investigator types (GET /v1/subjects?prefix=…): the
// WAI-ARIA combobox pattern with a list popup. Arrow keys move through the suggestions (the input
// keeps the focus; aria-activedescendant names the active one), Enter or a click picks one, Escape
// closes the list; without a pick, Enter submits what was typed, as before.
import { ApiError, call } from './api';
import { clear, h, when } from './dom';

interface Found {
  prefix: string;
  subjects: Array<{ subject: string; records: number; last_recorded_at: string }>;
  more: boolean;
}

const MIN_CHARS = 2;
const LIMIT = 10;
const DEBOUNCE_MS = 200;

let lists = 0;

/**
 * Makes `input` a combobox; returns the popup list (to place right after the input, in a
 * `.combo` box) and the status line that says how many subjects match.
 */
export function subjectSuggestions(input: HTMLInputElement, pick: (subject: string) => void, onError: (e: unknown) => void): { list: HTMLUListElement; status: HTMLElement } {
  const id = `subject-suggestions-${++lists}`;
  const list = h('ul', { id, role: 'listbox', class: 'suggestions', 'aria-label': 'Matching subjects', hidden: true });
  const status = h('p', { class: 'hint suggest-status', role: 'status' });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', id);

  let options: HTMLLIElement[] = [];
  let subjects: string[] = [];
  let active = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Answers can arrive out of order: only the latest request's is shown.
  let asked = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
    for (const o of options) o.setAttribute('aria-selected', 'false');
  };
  const open = () => {
    if (options.length === 0) return;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  };
  const activate = (i: number) => {
    if (options.length === 0) return;
    open();
    active = (i + options.length) % options.length;
    options.forEach((o, j) => o.setAttribute('aria-selected', j === active ? 'true' : 'false'));
    const o = options[active]!;
    input.setAttribute('aria-activedescendant', o.id);
    o.scrollIntoView({ block: 'nearest' });
  };
  const choose = (subject: string) => {
    input.value = subject;
    close();
    pick(subject);
  };

  const show = (found: Found) => {
    clear(list);
    subjects = found.subjects.map((s) => s.subject);
    options = found.subjects.map((s, i) => {
      const o = h('li', { id: `${id}-${i}`, role: 'option', 'aria-selected': 'false', class: 'suggestion' },
        h('span', { class: 'suggestion-id' }, s.subject),
        h('span', { class: 'suggestion-meta' }, `${s.records} ${s.records === 1 ? 'record' : 'records'}, latest ${when(s.last_recorded_at)}`));
      // mousedown would move the focus out of the input (and close the list) before the click.
      o.addEventListener('mousedown', (ev) => ev.preventDefault());
      o.addEventListener('click', () => choose(s.subject));
      return o;
    });
    for (const o of options) list.appendChild(o);
    active = -1;
    input.removeAttribute('aria-activedescendant');
    const n = found.subjects.length;
    status.textContent = n === 0
      ? `No subject starts with “${found.prefix}”.`
      : found.more
        ? `More than ${n} subjects start with “${found.prefix}”; the first ${n} are listed (type more to narrow them down). Use the down arrow to choose.`
        : `${n} ${n === 1 ? 'subject starts' : 'subjects start'} with “${found.prefix}”. Use the down arrow to choose.`;
    if (n) open();
    else close();
  };

  const search = async (prefix: string) => {
    const mine = ++asked;
    try {
      const found = await call<Found>('GET', `/v1/subjects?prefix=${encodeURIComponent(prefix)}&limit=${LIMIT}`);
      if (mine === asked) show(found);
    } catch (e) {
      if (mine !== asked) return;
      close();
      if (e instanceof ApiError && e.status === 401) onError(e);
      else status.textContent = e instanceof ApiError ? `Suggestions are unavailable: ${e.detail}` : 'Suggestions are unavailable.';
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const prefix = input.value;
    if (prefix.length < MIN_CHARS) {
      asked++;
      clear(list);
      options = [];
      subjects = [];
      close();
      status.textContent = '';
      return;
    }
    timer = setTimeout(() => void search(prefix), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      activate(active + 1);
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      activate(active < 0 ? options.length - 1 : active - 1);
    } else if (ev.key === 'Enter' && !list.hidden && active >= 0) {
      ev.preventDefault();
      choose(subjects[active]!);
    } else if (ev.key === 'Escape' && !list.hidden) {
      ev.preventDefault();
      close();
    }
  });
  input.addEventListener('blur', close);
  return { list, status };
}
