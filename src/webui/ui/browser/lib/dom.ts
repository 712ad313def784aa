// The one way the UI builds DOM: h('td', { class: 'ip' }, ban.ip). Every string child
// becomes a Text node (textContent), never markup, so a User-Agent like
// `<script>alert(1)</script>` shows as those characters and nothing runs. There is no
// innerHTML anywhere in the UI; attributes are set one by one, and event handler attributes
// (on*) and inline styles are refused (the CSP forbids them anyway: script-src 'self').

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  /** Plain attributes: aria-*, role, type, name, href (checked below), for, … */
  attrs?: Record<string, string | number | boolean | undefined>;
  /** Event listeners, added with addEventListener. */
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
}

/** Attributes that could run code or load from elsewhere if a value were attacker-made. */
const FORBIDDEN = /^(on|style$|srcdoc$|formaction$)/i;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props?.class) el.className = props.class;
  if (props?.id) el.id = props.id;
  for (const [name, value] of Object.entries(props?.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    setAttr(el, name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(props?.on ?? {})) {
    el.addEventListener(type, listener as EventListener);
  }
  append(el, ...children);
  return el;
}

/** Sets one attribute, refusing handlers, inline styles and non-local links. */
export function setAttr(el: Element, name: string, value: string): void {
  if (FORBIDDEN.test(name)) throw new Error(`attribute ${name} is not allowed`);
  if ((name === 'href' || name === 'src' || name === 'action') && !isLocalUrl(value))
    throw new Error(`${name} must be a local address`);
  el.setAttribute(name, value);
}

/** Only same-origin paths and fragments: nothing the UI links to lives elsewhere. */
function isLocalUrl(value: string): boolean {
  return /^(#|\/(?!\/)|\?)/.test(value) || value === '';
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** Replaces every child of parent. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** Sets an element's text (textContent: never parsed as markup). */
export function text(el: Element, value: string | number): void {
  el.textContent = String(value);
}

/** An <input> with its <label>, the pair every form field here is made of. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  if (!input.id) input.id = uniqueId('f');
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h(
    'div',
    { class: 'field' },
    h('label', { attrs: { for: input.id } }, label),
    input,
    hintEl,
  );
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function button(
  label: string,
  onClick: (event: MouseEvent) => void,
  opts: { kind?: 'primary' | 'danger' | 'plain'; ariaLabel?: string; type?: string } = {},
): HTMLButtonElement {
  return h(
    'button',
    {
      class: `btn ${opts.kind ?? 'plain'}`,
      attrs: { type: opts.type ?? 'button', 'aria-label': opts.ariaLabel },
      on: { click: onClick },
    },
    label,
  );
}

/** Calls fn at most once per `ms` of quiet (search boxes). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A submit handler that keeps the browser from navigating and runs fn instead. */
export function onSubmit(fn: () => unknown): (event: SubmitEvent) => void {
  return (event) => {
    event.preventDefault();
    void fn();
  };
}

/** A page's search bar: a toolbar form (role search) that runs `fn` on submit. */
export function searchForm(fn: () => unknown, ...children: Child[]): HTMLFormElement {
  return h(
    'form',
    { class: 'toolbar', attrs: { role: 'search' }, on: { submit: onSubmit(fn) } },
    ...children,
  );
}
