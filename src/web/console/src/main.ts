// The investigator console: sign in, find a subject, read its timeline, run a verification, issue
// and download a dossier, check the ledger. Views are chosen by the URL's hash (#/subject/<id>,
// #/ledger); each view replaces <main> and moves the keyboard focus to its heading.
import { ApiError, call, setSession, signIn, signOut, whoAmI, type Me } from './api';
import { ago, append, byId, clear, field, h, messageBox, when } from './dom';
import { FileProblem, parseSamples, parseSuspectLabels } from './samples';
import { subjectSuggestions } from './subject-search';
import type { Checkpoint, IssuedDossier, LedgerJob, LedgerStatus, Screening, Timeline } from './types';
import { decisionLabel, decisionWords, eventWords } from './words';

let me: Me | null = null;
const main = byId('main');

function show(title: string, ...nodes: Array<Node | null>): void {
  clear(main);
  document.title = `${title} — assentmark console`;
  const heading = h('h1', { tabindex: -1, id: 'page-h' }, title);
  append(main, heading, ...nodes);
  heading.focus();
}

function renderHeader(): void {
  const nav = byId('nav');
  const who = byId('who');
  clear(who);
  nav.hidden = !me;
  who.hidden = !me;
  if (!me) return;
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', () => void doSignOut());
  append(who, h('span', {}, 'Signed in as ', h('strong', {}, me.name), ` (${me.role})`), out);
  for (const a of Array.from(nav.querySelectorAll('a'))) {
    const current = a.getAttribute('href') === (location.hash.startsWith('#/ledger') ? '#/ledger' : '#/');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function doSignOut(): Promise<void> {
  try {
    await signOut();
  } catch (e) {
    // A session that already ended is signed out all the same.
    if (!(e instanceof ApiError && e.status === 401)) {
      main.prepend(messageBox('error', `Signing out failed: ${errorText(e)}`));
      return;
    }
  }
  me = null;
  setSession(null);
  history.replaceState(null, '', '#/');
  renderSignIn('You are signed out.');
}

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.fields.length ? `${e.detail} ${e.fields.map((f) => `${f.field}: ${f.message}`).join('; ')}` : e.detail;
  if (e instanceof FileProblem) return e.message;
  return 'Something went wrong in the page. Reload it and try again.';
}

/** A failure of a call: an ended session goes back to sign-in, anything else is shown where it happened. */
function failed(e: unknown, where: HTMLElement): void {
  if (e instanceof ApiError && e.status === 401) {
    me = null;
    setSession(null);
    renderSignIn('Your session has ended. Please sign in again.');
    return;
  }
  // The message of an earlier success would read as if it were about this attempt.
  for (const old of Array.from(main.querySelectorAll(':scope > .msg-ok'))) old.remove();
  clear(where);
  where.appendChild(messageBox('error', errorText(e)));
  where.focus();
}

// ---- sign-in ----

function renderSignIn(notice?: string): void {
  renderHeader();
  const key = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', spellcheck: 'false', required: true, autocapitalize: 'off' });
  const out = h('div', { id: 'signin-message', tabindex: -1 });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { 'aria-labelledby': 'page-h', novalidate: true },
    field('API key', key, 'Paste the investigator or admin API key you were given (it starts with “am_”). It is used once to start a session and is not stored by this page.'),
    button);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = key.value.trim();
    if (!value) {
      failed(new FileProblem('Enter your API key.'), out);
      key.focus();
      return;
    }
    button.disabled = true;
    signIn(value)
      .then((m) => {
        key.value = '';
        me = m;
        setSession(m);
        void route();
      })
      .catch((e: unknown) => {
        button.disabled = false;
        failed(e, out);
      });
  });
  show('Sign in', notice ? messageBox('info', notice) : null, h('p', {}, 'This console is for investigators and administrators. Sign in to look up a subject, run a verification and issue evidence dossiers.'), form, out);
}

// ---- find a subject ----

function findForm(initial = ''): HTMLFormElement {
  const input = h('input', { type: 'text', name: 'subject', required: true, value: initial, autocomplete: 'off', spellcheck: 'false', maxlength: 256 });
  const wrap = field('Subject identifier', input, 'The user id your service recorded with the acceptance (letters are case-sensitive). Type its first characters to see the subjects that start with them.');
  const go = (s: string) => {
    location.hash = `#/subject/${encodeURIComponent(s)}`;
  };
  const { list, status } = subjectSuggestions(input, go, (e) => failed(e, status));
  // The popup list sits under the input, over what follows.
  const combo = h('div', { class: 'combo' });
  input.replaceWith(combo);
  append(combo, input, list);
  const form = h('form', { role: 'search', class: 'find' }, wrap, h('button', { type: 'submit' }, 'Show timeline'), status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const s = input.value.trim();
    if (!s) {
      input.focus();
      return;
    }
    go(s);
  });
  return form;
}

function renderFind(): void {
  show('Find a subject', h('p', {}, 'Enter a subject, or the start of one to choose from the matches, to see everything recorded about it: acceptances, declines and withdrawals of the terms, watermark keys, verifications and dossiers.'), findForm());
}

// ---- a subject ----

async function renderSubject(subject: string, flash?: HTMLElement): Promise<void> {
  show(`Subject ${subject}`, h('p', { role: 'status' }, 'Loading the timeline…'));
  const box = h('div', { tabindex: -1 });
  let t: Timeline;
  try {
    t = await call<Timeline>('GET', `/v1/subjects/${encodeURIComponent(subject)}/timeline`);
  } catch (e) {
    show(`Subject ${subject}`, findForm(subject), box);
    failed(e, box);
    return;
  }
  const investigator = me?.role === 'investigator';
  const parts: Array<Node | null> = [findForm(subject)];
  if (flash) parts.push(flash);
  if (t.events.length === 0) {
    parts.push(messageBox('info', `Nothing is recorded for the subject “${subject}”. Check the identifier: it must match exactly, including upper and lower case.`));
    show(`Subject ${subject}`, ...parts);
    return;
  }
  parts.push(summary(t), timelineList(t));
  if (investigator) parts.push(verificationPanel(t), dossierPanel(t));
  else parts.push(h('section', { 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, 'Verifications and dossiers'), h('p', {}, 'Running a verification and issuing a dossier need an investigator key; you are signed in with an admin key.')));
  show(`Subject ${subject}`, ...parts);
  if (flash) flash.focus();
}

function summary(t: Timeline): HTMLElement {
  const count = (k: string) => t.events.filter((e) => e.kind === k).length;
  const items: Array<[string, number]> = [
    ['Acceptances', count('accepted')], ['Declines', count('declined')], ['Withdrawals', count('withdrawn')], ['Watermark key versions', count('watermark_key')],
    ['Verification plans', count('verification_plan')], ['Verifications', count('verification') + count('llm_verification')], ['Dossiers', count('dossier')],
  ];
  return h('section', { 'aria-labelledby': 'sum-h' }, h('h2', { id: 'sum-h', class: 'visually-hidden' }, 'Summary'), h('dl', { class: 'summary' }, ...items.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v)))));
}

function timelineList(t: Timeline): HTMLElement {
  const list = h('ol', { class: 'timeline' });
  for (const e of t.events) {
    const w = eventWords(t, e);
    const li = h('li', { class: `ev ev-${e.kind}` },
      h('p', { class: 'ev-when' }, when(e.at), h('span', { class: 'ev-seq' }, ` · ledger entry ${e.ledger.seq}`)),
      h('p', { class: 'ev-title' }, w.title),
      w.details.length ? h('ul', { class: 'ev-details' }, ...w.details.map((d) => h('li', {}, d))) : null);
    if (e.kind === 'dossier') {
      const d = t.dossiers.find((x) => x.id === e.id);
      if (d) li.appendChild(downloads(d));
    }
    list.appendChild(li);
  }
  return h('section', { 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h' }, 'Timeline'), h('p', { class: 'hint' }, 'Oldest first, in the order the ledger recorded them. Times are in UTC.'), list);
}

function downloads(d: { id: string; links: { pdf: string; signature: string } }): HTMLElement {
  return h('p', { class: 'downloads' },
    h('a', { href: d.links.pdf, download: `dossier-${d.id}.pdf`, class: 'button-link' }, 'Download the PDF'),
    ' ',
    h('a', { href: d.links.signature, download: `dossier-${d.id}.pdf.sig`, class: 'button-link secondary' }, 'Download its signature (.sig)'));
}

function text(name: string, opts: { required?: boolean; value?: string; max?: number } = {}): HTMLInputElement {
  return h('input', { type: 'text', name, required: opts.required ?? true, value: opts.value ?? '', maxlength: opts.max ?? 200, autocomplete: 'off' });
}

function verificationPanel(t: Timeline): HTMLElement {
  const out = h('div', { tabindex: -1, class: 'result' });
  const caseRef = text('case_ref');
  const name = text('suspect_name');
  const version = text('suspect_version', { max: 100 });
  const observed = h('textarea', { name: 'observed_at', required: true, rows: 2, maxlength: 2000 });
  const source = h('fieldset', {}, h('legend', {}, 'Samples'));
  const useFile = h('input', { type: 'radio', name: 'source', value: 'file', id: 'src-file', checked: true });
  const usePlan = h('input', { type: 'radio', name: 'source', value: 'plan', id: 'src-plan', disabled: t.plans.length === 0 });
  const file = h('input', { type: 'file', name: 'samples', accept: '.json,.csv,application/json,text/csv' });
  const plan = h('select', { name: 'plan' }, ...t.plans.map((p) => h('option', { value: p.id }, `Case “${p.case_ref}”: ${p.sample_count} samples, ${when(p.created_at)}`)));
  const labels = h('input', { type: 'file', name: 'suspect_labels', accept: '.json,.csv,.txt,application/json,text/csv,text/plain' });
  const fileFields = h('div', { class: 'sub' }, field('Samples file (JSON or CSV)', file, 'CSV columns: input_sha256, owner_label, suspect_label, num_classes. JSON: a list of such objects, or a saved request with "samples".'));
  const planFields = h('div', { class: 'sub' }, field('Pre-registered plan', plan), field('Suspect answers file', labels, 'One label per sample, in the plan\'s order: a JSON list, or one number a line.'));
  const sync = () => {
    fileFields.hidden = !useFile.checked;
    planFields.hidden = !usePlan.checked;
  };
  useFile.addEventListener('change', sync);
  usePlan.addEventListener('change', sync);
  append(source,
    h('div', { class: 'radio' }, useFile, h('label', { for: 'src-file' }, 'Upload a samples file')),
    h('div', { class: 'radio' }, usePlan, h('label', { for: 'src-plan' }, t.plans.length ? 'Use a pre-registered plan' : 'Use a pre-registered plan (none names this subject)')),
    fileFields, planFields);
  sync();
  const button = h('button', { type: 'submit' }, 'Run the verification');
  // novalidate: the page's own messages (in plain words, announced) replace the browser's bubbles.
  const form = h('form', { 'aria-labelledby': 'ver-h', novalidate: true },
    field('Case reference', caseRef), field('Suspect model name', name), field('Suspect model version', version),
    field('Where and how the suspect model was observed', observed, 'A URL, an API or a marketplace listing, and when.'), source, button);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      button.disabled = true;
      try {
        const missing = [[caseRef, 'Case reference'], [name, 'Suspect model name'], [version, 'Suspect model version'], [observed, 'Where the model was observed']].find(([c]) => !(c as HTMLInputElement).value.trim());
        if (missing) throw new FileProblem(`Fill in “${missing[1] as string}”.`);
        const suspect = { name: name.value.trim(), version: version.value.trim(), observed_at: observed.value.trim() };
        let body: Record<string, unknown>;
        if (usePlan.checked) {
          const f = labels.files?.[0];
          if (!f) throw new FileProblem('Choose the file with the suspect model\'s answers.');
          body = { case_ref: caseRef.value.trim(), suspect, plan_id: plan.value, suspect_labels: parseSuspectLabels(await f.text()) };
        } else {
          const f = file.files?.[0];
          if (!f) throw new FileProblem('Choose a samples file.');
          body = { case_ref: caseRef.value.trim(), suspect, subjects: [t.subject], samples: parseSamples(await f.text()) };
        }
        const s = await call<Screening>('POST', '/v1/verifications', body);
        const mine = s.results.find((r) => r.subject === t.subject) ?? s.results[0];
        const flash = h('div', { tabindex: -1, class: 'msg msg-ok', role: 'status' },
          h('p', {}, h('strong', {}, `Verification recorded: ${mine ? decisionLabel[mine.decision] : 'no result'}.`)),
          mine ? h('p', {}, decisionWords(mine.decision, mine)) : null);
        await renderSubject(t.subject, flash);
      } catch (e) {
        button.disabled = false;
        failed(e, out);
      }
    })();
  });
  return h('section', { 'aria-labelledby': 'ver-h', class: 'panel' }, h('h2', { id: 'ver-h' }, 'Run a verification'),
    h('p', {}, 'Test a suspect model\'s answers against this subject\'s watermark. The outcome is recorded in the ledger, whatever it is.'), form, out);
}

function dossierPanel(t: Timeline): HTMLElement {
  const out = h('div', { tabindex: -1, class: 'result' });
  const caseRef = text('case_ref');
  const requestedBy = text('requested_by', { value: me?.name ?? '' });
  const forName = text('prepared_for_name');
  const firm = text('prepared_for_firm');
  const checks = t.verifications.map((v) => h('input', { type: 'checkbox', name: 'verification', value: v.id, id: `v-${v.id}`, checked: true }));
  const list = h('fieldset', {}, h('legend', {}, 'Verifications to include'),
    ...(t.verifications.length ? t.verifications.map((v, i) => h('div', { class: 'radio' }, checks[i]!, h('label', { for: `v-${v.id}` }, `Case “${v.case_ref}”: ${decisionLabel[v.decision]} (${when(v.created_at)})`))) : [h('p', {}, 'No verification is recorded for this subject: the dossier will hold the assent evidence only.')]));
  const button = h('button', { type: 'submit' }, 'Issue the dossier');
  const form = h('form', { 'aria-labelledby': 'dos-h', novalidate: true }, field('Case reference', caseRef), field('Requested by', requestedBy), field('Prepared for (name)', forName), field('Prepared for (firm)', firm), list, button);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      button.disabled = true;
      try {
        const missing = [[caseRef, 'Case reference'], [requestedBy, 'Requested by'], [forName, 'Prepared for (name)'], [firm, 'Prepared for (firm)']].find(([c]) => !(c as HTMLInputElement).value.trim());
        if (missing) throw new FileProblem(`Fill in “${missing[1] as string}”.`);
        const d = await call<IssuedDossier>('POST', '/v1/dossiers', {
          subject: t.subject, case_ref: caseRef.value.trim(), requested_by: requestedBy.value.trim(),
          prepared_for: { name: forName.value.trim(), firm: firm.value.trim() },
          verification_ids: checks.filter((c) => c.checked).map((c) => c.value),
        });
        const flash = h('div', { tabindex: -1, class: 'msg msg-ok', role: 'status' }, h('p', {}, h('strong', {}, `Dossier issued (${d.pages} pages).`)), downloads(d));
        await renderSubject(t.subject, flash);
      } catch (e) {
        button.disabled = false;
        failed(e, out);
      }
    })();
  });
  return h('section', { 'aria-labelledby': 'dos-h', class: 'panel' }, h('h2', { id: 'dos-h' }, 'Issue a dossier'),
    h('p', {}, 'A signed PDF of this subject\'s evidence for counsel, with a detached signature file beside it.'), form, out);
}

// ---- ledger status ----

async function renderLedger(): Promise<void> {
  show('Ledger status', h('p', { role: 'status' }, 'Loading…'));
  const parts: Array<Node | null> = [];
  const box = h('div', { tabindex: -1 });
  try {
    const cp = await call<Checkpoint>('GET', '/v1/ledger/checkpoints/latest').catch((e: unknown) => {
      if (e instanceof ApiError && e.code === 'no_checkpoint') return null;
      throw e;
    });
    const status = me?.role === 'admin' ? await call<LedgerStatus>('GET', '/v1/admin/ledger/status') : null;
    const dl = h('dl', { class: 'facts' });
    const fact = (k: string, v: Node | string) => append(dl, h('dt', {}, k), h('dd', {}, v));
    if (cp) {
      const age = (Date.now() - new Date(cp.time).getTime()) / 1000;
      fact('Latest signed checkpoint', `covers ${cp.size} entries; signed ${when(cp.time)} (${ago(Math.max(0, age))})`);
      fact('Ledger name (origin)', cp.origin);
    } else fact('Latest signed checkpoint', 'none yet (one is signed within seconds of the first entries)');
    if (status) {
      const since = cp ? status.size - cp.size : 0;
      fact('Entries in the ledger', since > 0 ? `${status.size} (${since} recorded since the latest checkpoint; the next one will cover them)` : String(status.size));
      const last = status.last_verification;
      fact('Last full verification', last ? jobWords(last) : 'none has finished since the service started');
      if (status.running_verification) fact('Running now', `started ${when(status.running_verification.started_at)}, ${status.running_verification.entries_checked} entries checked so far`);
    }
    parts.push(dl);
    if (status) parts.push(verifyLedgerPanel(status));
    else parts.push(h('p', { class: 'hint' }, 'The results of full ledger verifications are shown to administrators.'));
  } catch (e) {
    show('Ledger status', box);
    failed(e, box);
    return;
  }
  show('Ledger status', ...parts);
}

/** Admins: start a full verification of the ledger and follow it until it finishes. */
function verifyLedgerPanel(status: LedgerStatus): HTMLElement {
  const out = h('div', { tabindex: -1, class: 'result' });
  const button = h('button', { type: 'button' }, 'Verify the whole ledger now');
  button.disabled = status.running_verification !== null;
  button.addEventListener('click', () => {
    void (async () => {
      button.disabled = true;
      try {
        const job = await call<LedgerJob & { id: string }>('POST', '/v1/admin/ledger/verifications');
        clear(out);
        out.appendChild(messageBox('info', 'Checking every entry and checkpoint of the ledger…'));
        let j: LedgerJob = job;
        while (j.state === 'running') {
          await new Promise((r) => setTimeout(r, 1000));
          j = await call<LedgerJob>('GET', `/v1/admin/ledger/verifications/${encodeURIComponent(job.id)}`);
        }
        await renderLedger();
      } catch (e) {
        button.disabled = false;
        failed(e, out);
      }
    })();
  });
  return h('section', { 'aria-labelledby': 'lv-h' }, h('h2', { id: 'lv-h' }, 'Full verification'),
    h('p', {}, 'Re-checks every ledger entry and every signed checkpoint while the service runs. It also runs on a schedule when the service is configured to.'), button, out);
}

function jobWords(j: NonNullable<LedgerStatus['last_verification']>): string {
  if (j.state === 'error') return `could not finish (${j.error ?? 'unknown error'}), ${when(j.started_at)}`;
  const r = j.result;
  if (!r) return `started ${when(j.started_at)}`;
  const by = j.trigger === 'admin' ? 'started by an administrator' : 'scheduled';
  return r.ok
    ? `intact: all ${r.size} entries and their checkpoints checked, finished ${when(j.finished_at ?? j.started_at)} (${by})`
    : `FAULT at ledger entry ${r.fault?.seq ?? '?'}: ${r.fault?.reason ?? 'see the service log'} (finished ${when(j.finished_at ?? j.started_at)}, ${by})`;
}

// ---- routing ----

async function route(): Promise<void> {
  if (!me) {
    renderSignIn();
    return;
  }
  renderHeader();
  const hash = location.hash;
  if (hash.startsWith('#/subject/')) {
    let subject: string;
    try {
      subject = decodeURIComponent(hash.slice('#/subject/'.length));
    } catch {
      renderFind();
      return;
    }
    await renderSubject(subject);
  } else if (hash === '#/ledger') await renderLedger();
  else renderFind();
}

window.addEventListener('hashchange', () => void route());
// The skip link must not change the hash: the hash names the view.
document.querySelector('.skip')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

async function start(): Promise<void> {
  try {
    me = await whoAmI();
    setSession(me);
  } catch {
    me = null;
  }
  await route();
}

void start();
