// The admin UI: a login form, then a shell (header, section navigation, main) whose main
// shows one page per location hash (#/bans, #/config …). Every page is a module with
// render(main) that returns its own clean-up (closing a live stream, a timer).

import { get, onUnauthorized, post, request, setCsrfToken } from '../lib/api.ts';
import { button, h, replace } from '../lib/dom.ts';
import { loginForm, type SessionInfo } from '../lib/login.ts';
import { accountsPage } from './pages/accounts.ts';
import { auditPage } from './pages/audit.ts';
import { bansPage } from './pages/bans.ts';
import { callsPage } from './pages/calls.ts';
import { cdrsPage } from './pages/cdrs.ts';
import { configPage } from './pages/config.ts';
import { dashboardPage } from './pages/dashboard.ts';
import { registrationsPage } from './pages/registrations.ts';
import { routingPage } from './pages/routing.ts';

export interface Page {
  path: string;
  title: string;
  render(main: HTMLElement, params: URLSearchParams): (() => void) | undefined;
}

const PAGES: Page[] = [
  dashboardPage,
  bansPage,
  registrationsPage,
  callsPage,
  accountsPage,
  cdrsPage,
  routingPage,
  configPage,
  auditPage,
];

const root = document.getElementById('app')!;
let cleanup: (() => void) | undefined;

async function start(): Promise<void> {
  onUnauthorized(() => showLogin('Your session ended; log in again.'));
  try {
    const session = await get<SessionInfo>('/api/v1/session');
    enter(session);
  } catch {
    showLogin();
  }
}

function showLogin(notice?: string): void {
  cleanup?.();
  cleanup = undefined;
  document.title = 'Log in — tollgate';
  replace(
    root,
    h(
      'main',
      { class: 'login-page', id: 'main' },
      loginForm({
        heading: 'tollgate administration',
        notice,
        withTotp: true,
        submit: (body) => post<SessionInfo>('/api/v1/session', { ...body, kind: 'admin' }),
        done: enter,
      }),
    ),
  );
}

function enter(session: SessionInfo): void {
  setCsrfToken(session.csrfToken);
  const main = h('main', { id: 'main', attrs: { tabindex: '-1' } });
  const links = PAGES.map((p) =>
    h('li', null, h('a', { attrs: { href: `#/${p.path}`, 'data-page': p.path } }, p.title)),
  );
  const menu = h('ul', { id: 'nav-list' }, ...links);
  const toggle = h(
    'button',
    {
      class: 'btn plain nav-toggle',
      attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'nav-list' },
      on: {
        click: () => {
          const open = toggle.getAttribute('aria-expanded') !== 'true';
          toggle.setAttribute('aria-expanded', String(open));
          menu.classList.toggle('open', open);
        },
      },
    },
    'Menu',
  );
  const logout = button('Log out', async () => {
    await request('DELETE', '/api/v1/session').catch(() => undefined);
    setCsrfToken('');
    showLogin('You are logged out.');
  });
  replace(
    root,
    // Not an #main link: the hash is the page's address here.
    h(
      'button',
      { class: 'skip', attrs: { type: 'button' }, on: { click: () => main.focus() } },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'tollgate'),
      h('span', { class: 'who' }, `Signed in as ${session.name}`),
      logout,
    ),
    h(
      'div',
      { class: 'shell' },
      h('nav', { attrs: { 'aria-label': 'Sections' } }, toggle, menu),
      main,
    ),
  );
  const show = () => {
    const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
    const page = PAGES.find((p) => p.path === path) ?? PAGES[0]!;
    cleanup?.();
    replace(main);
    for (const a of links.map((li) => li.firstChild as HTMLAnchorElement)) {
      if (a.dataset.page === page.path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    menu.classList.remove('open');
    toggle.setAttribute('aria-expanded', 'false');
    document.title = `${page.title} — tollgate`;
    cleanup = page.render(main, new URLSearchParams(query));
  };
  window.onhashchange = () => {
    show();
    // Screen readers start at the new page; the view starts at its top, header included.
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  };
  show();
}

void start();
