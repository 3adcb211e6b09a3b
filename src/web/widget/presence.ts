// What the manifest says about how the text was presented: time the widget was on screen (in view
// and the tab visible) and whether the text box was scrolled to its end.

export class Presence {
  #visibleMs = 0;
  #since: number | null = null;
  #inView = false;
  #scrolledToEnd = false;

  constructor(private readonly root: Element, private readonly text: HTMLElement) {
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) this.#inView = e.isIntersecting;
      this.#update();
    });
    io.observe(root);
    document.addEventListener('visibilitychange', () => this.#update());
    text.addEventListener('scroll', () => this.#checkScroll(), { passive: true });
    this.#checkScroll();
  }

  /** True once the end of the text has been in the box (at once when it fits without scrolling). */
  get scrolledToEnd(): boolean {
    this.#checkScroll();
    return this.#scrolledToEnd;
  }

  get timeOnScreenMs(): number {
    this.#update();
    return Math.round(this.#visibleMs);
  }

  #checkScroll(): void {
    const t = this.text;
    if (t.scrollTop + t.clientHeight >= t.scrollHeight - 2) this.#scrolledToEnd = true;
  }

  #update(): void {
    const now = performance.now();
    if (this.#since !== null) this.#visibleMs += now - this.#since;
    this.#since = this.#inView && document.visibilityState === 'visible' ? now : null;
  }
}
