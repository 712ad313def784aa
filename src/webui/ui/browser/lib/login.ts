// The login form shared by the admin UI and the enduser portal: name, password and, for the
// admin, a one-time code (TOTP) when the account has one. The server decides; the form only
// says what it answered (a wrong password and an unknown name read the same).

import type { ApiError } from './api.ts';
import { field, h } from './dom.ts';
import { statusLine } from './table.ts';

/** What POST and GET /api/v1/session answer. */
export interface SessionInfo {
  kind: 'admin' | 'user';
  name: string;
  /** Sent back as X-CSRF-Token on every state-changing request. */
  csrfToken: string;
  /** ms since epoch. */
  expiresAt: number;
}

export interface LoginOptions {
  heading: string;
  notice?: string;
  withTotp: boolean;
  submit(body: { username: string; password: string; totp?: string }): Promise<SessionInfo>;
  done(session: SessionInfo): void;
}

export function loginForm(o: LoginOptions): HTMLElement {
  const username = h('input', {
    attrs: { name: 'username', autocomplete: 'username', required: true, maxlength: 64 },
  });
  const password = h('input', {
    attrs: {
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxlength: 128,
    },
  });
  const totp = h('input', {
    attrs: {
      name: 'totp',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6,8}',
      maxlength: 8,
    },
  });
  const status = statusLine();
  if (o.notice) status.ok(o.notice);
  const submit = h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Log in');
  const form = h(
    'form',
    {
      class: 'login card',
      attrs: { 'aria-labelledby': 'login-heading', novalidate: false },
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          status.ok('Checking…');
          try {
            const session = await o.submit({
              username: username.value.trim(),
              password: password.value,
              ...(o.withTotp && totp.value.trim() ? { totp: totp.value.trim() } : {}),
            });
            password.value = '';
            o.done(session);
          } catch (err) {
            const e = err as ApiError;
            status.error(
              e.status === 429
                ? 'Too many attempts: wait a minute and try again.'
                : e.code === 'TOTP_REQUIRED' || /totp|one-time/i.test(e.message)
                  ? 'Enter the one-time code from your authenticator app.'
                  : e.status === 401 || e.status === 403
                    ? 'Wrong name, password or code.'
                    : e.message,
            );
            if (e.code === 'TOTP_REQUIRED') totp.focus();
            else password.select();
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('h1', { id: 'login-heading' }, o.heading),
    field('Name', username),
    field('Password', password),
    o.withTotp ? field('One-time code', totp, 'Only if two-factor login is set up for you') : null,
    submit,
    status.element,
  );
  queueMicrotask(() => username.focus());
  return form;
}
