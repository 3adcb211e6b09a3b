// The embeddable consent widget (docs/widget.md). A signup page adds a container and
//   <script src="https://<service>/widget.js" data-session="<token>" data-target="<container id>" async></script>
// (or the script tag alone: the widget then goes right after it). In its own Shadow DOM it shows the
// exact EULA text of the session, checks the text's SHA-256 against the published hash, and records
// what it showed and the user's answer. Everything is built with textContent: no text from the
// service is ever parsed as HTML.
import { fetchSession, sendDecision, WidgetError, type DecisionAnswer, type Manifest, type SessionText } from './api.js';
import { sha256Hex } from './digest.js';
import { Presence } from './presence.js';
import { STYLES } from './styles.js';

const WIDGET = 'assentmark-widget/1';

/** What a refusal means for the person in front of the form, by problem code (docs/problems.md). */
const PLAIN: Record<string, string> = {
  acceptance_session_expired: 'This consent form has expired: it can only be used for a limited time. Nothing was recorded. Reload the page to get a new one.',
  acceptance_session_used: 'This consent form has already been used: an answer was recorded once and cannot be given again with the same form. Nothing more was recorded. Reload the page if you need to answer again.',
  acceptance_session_not_found: 'This consent form is not valid. Nothing was recorded. Reload the page; if this happens again, contact the site.',
  acceptance_session_wrong_origin: 'This consent form belongs to another website and cannot be used here. Nothing was recorded.',
  text_hash_mismatch: 'The text shown here is not the published version of these terms, so it cannot be accepted. Nothing was recorded. Reload the page.',
  presentation_mismatch: 'This consent form was changed on its way to you, so your answer was not recorded. Reload the page.',
};
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

class ConsentWidget {
  readonly #root: ShadowRoot;
  readonly #box: HTMLElement;

  constructor(private readonly host: HTMLElement, private readonly base: string, private readonly token: string) {
    this.#root = host.attachShadow({ mode: 'open' });
    const style = el('style');
    style.textContent = STYLES;
    this.#box = el('section', { class: 'am', 'aria-label': 'Terms of service' });
    this.#root.append(style, this.#box);
  }

  async start(): Promise<void> {
    this.#box.replaceChildren(el('p', { role: 'status' }, 'Loading the terms…'));
    let s: SessionText;
    try {
      s = await fetchSession(this.base, this.token);
    } catch (e) {
      this.#fail(e);
      return;
    }
    await this.#render(s);
  }

  async #render(s: SessionText): Promise<void> {
    const title = el('h2', { id: 'am-title' }, s.title);
    const version = el('p', { class: 'version' }, `Version ${s.version}`);
    const text = el('div', { id: 'am-text', class: 'text', tabindex: '0', role: 'document', 'aria-label': `Full text of ${s.title}`, 'aria-describedby': 'am-hint' });
    text.textContent = s.text;
    const hint = el('p', { id: 'am-hint', class: 'hint' }, 'Scroll inside the box to read the full text.');
    const agree = el('input', { type: 'checkbox', id: 'am-agree', 'aria-describedby': 'am-status' });
    const label = el('label', { for: 'am-agree' }, s.consent_text);
    const consent = el('div', { class: 'consent' });
    consent.append(agree, label);
    const accept = el('button', { type: 'button', class: 'primary', id: 'am-accept' }, s.accept_text);
    const decline = el('button', { type: 'button', class: 'secondary', id: 'am-decline' }, s.decline_text);
    const actions = el('div', { class: 'actions' });
    actions.append(accept, decline);
    const status = el('p', { id: 'am-status', class: 'status', role: 'status', 'aria-live': 'polite' });
    this.#box.setAttribute('aria-labelledby', 'am-title');
    this.#box.removeAttribute('aria-label');
    // Nothing can be answered before the text on screen is checked.
    accept.disabled = decline.disabled = agree.disabled = true;
    this.#box.replaceChildren(title, version, text, hint, consent, actions, status);

    // What is checked is what is on screen: the text node's content, not the string that was fetched.
    let shownSha: string;
    try {
      shownSha = await sha256Hex(text.textContent ?? '');
    } catch (e) {
      this.#fail(e);
      return;
    }
    if (shownSha !== s.text_sha256) {
      this.#fail(new WidgetError('The text shown here is not the published version of these terms, so it cannot be accepted. Nothing was recorded. Reload the page.', 'text_hash_mismatch'));
      return;
    }
    if (text.scrollHeight <= text.clientHeight + 2) hint.textContent = 'The full text is shown above.';
    accept.disabled = decline.disabled = agree.disabled = false;
    // The markup as first shown, complete: nothing in it changes before the user acts.
    const markupSha = await sha256Hex(this.#root.innerHTML);
    const presence = new Presence(this.#box, text);

    const manifest = (): Manifest => ({
      widget: WIDGET, text_sha256: shownSha, markup_sha256: markupSha,
      viewport: { width: Math.round(window.innerWidth), height: Math.round(window.innerHeight), device_pixel_ratio: window.devicePixelRatio || 1 },
      scrolled_to_end: presence.scrolledToEnd, time_on_screen_ms: presence.timeOnScreenMs,
      consent_text: label.textContent ?? '', accept_text: accept.textContent ?? '', decline_text: decline.textContent ?? '',
    });
    const say = (message: string, error = false) => {
      status.textContent = message;
      status.className = error ? 'status error' : 'status';
    };
    agree.addEventListener('change', () => {
      agree.removeAttribute('aria-invalid');
      if (agree.checked) say('');
    });
    const decide = async (decision: 'accept' | 'decline') => {
      if (decision === 'accept' && !agree.checked) {
        agree.setAttribute('aria-invalid', 'true');
        say(`To accept, first tick the box “${s.consent_text}”.`, true);
        agree.focus();
        return;
      }
      accept.disabled = decline.disabled = agree.disabled = true;
      say('Recording your answer…');
      try {
        const locale = LOCALE.test(navigator.language) ? navigator.language : 'und';
        const answer = await sendDecision(this.base, this.token, { decision, manifest: manifest(), page_url: location.href, locale, client_time: new Date().toISOString() });
        this.#done(s, answer);
      } catch (e) {
        this.#fail(e, true);
      }
    };
    accept.addEventListener('click', () => void decide('accept'));
    decline.addEventListener('click', () => void decide('decline'));
    this.host.dispatchEvent(new CustomEvent('assentmark:ready', { bubbles: true, composed: true }));
  }

  #done(s: SessionText, a: DecisionAnswer): void {
    const when = new Date(a.record.server_time ?? Date.now()).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
    const message = a.decision === 'accepted'
      ? `Thank you. Your acceptance of ${s.title} (version ${s.version}) was recorded on ${when}.`
      : `Your decision not to accept ${s.title} (version ${s.version}) was recorded on ${when}.`;
    const done = el('p', { class: 'done', role: 'status', tabindex: '-1' }, message);
    const ref = el('p', { class: 'small' }, `Reference: ${a.record.id}`);
    this.#box.replaceChildren(done, ref);
    done.focus();
    this.host.dispatchEvent(new CustomEvent('assentmark:decision', { bubbles: true, composed: true, detail: { decision: a.decision, record_id: a.record.id } }));
  }

  /** `answering`: the failure came after the user answered (else while the form was being shown). */
  #fail(e: unknown, answering = false): void {
    const code = e instanceof WidgetError ? e.code : null;
    const detail = e instanceof Error ? e.message : 'Something went wrong.';
    const message = (code && PLAIN[code]) || detail;
    const heading = el('p', { class: 'error' }, answering ? 'Your answer could not be recorded.' : 'This consent form cannot be shown.');
    const alert = el('div', { role: 'alert', tabindex: '-1', id: 'am-error' });
    alert.append(heading, el('p', {}, message));
    this.#box.replaceChildren(alert);
    alert.focus();
    // The service's own explanation, for the site's developers.
    this.host.dispatchEvent(new CustomEvent('assentmark:error', { bubbles: true, composed: true, detail: { code, message: detail } }));
  }
}

function boot(script: HTMLScriptElement): void {
  const token = script.dataset.session ?? '';
  const targetId = script.dataset.target;
  let host = targetId ? document.getElementById(targetId) : null;
  if (!host) {
    host = el('div', { class: 'assentmark-consent' });
    script.after(host);
  }
  const base = new URL(script.src, location.href).origin;
  void new ConsentWidget(host, base, token).start();
}

const current = document.currentScript;
if (current instanceof HTMLScriptElement) {
  // A data-target container later in the page than the script: wait for the document to be parsed.
  if (current.dataset.target && !document.getElementById(current.dataset.target) && document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => boot(current), { once: true });
  } else boot(current);
}
