// Tables of records: a <caption>, column headers with scope, and on a narrow screen each row
// becomes a card whose cells are labelled by their column (style.css reads data-label).

import { type Child, h, replace } from './dom.ts';

export interface Column<T> {
  label: string;
  /** Text (textContent) or a node (a button, a list). */
  cell: (row: T) => Child;
  class?: string;
}

export interface DataTable<T> {
  element: HTMLElement;
  table: HTMLTableElement;
  setRows(rows: readonly T[], empty?: string): void;
}

export function dataTable<T>(caption: string, columns: Column<T>[]): DataTable<T> {
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'data' },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ...columns.map((c) => h('th', { attrs: { scope: 'col' }, class: c.class }, c.label)),
      ),
    ),
    body,
  );
  return {
    element: h('div', { class: 'table-wrap' }, table),
    table,
    setRows(rows, empty = 'Nothing to show.') {
      if (rows.length === 0) {
        replace(
          body,
          h('tr', { class: 'empty' }, h('td', { attrs: { colspan: columns.length } }, empty)),
        );
        return;
      }
      replace(
        body,
        ...rows.map((row) =>
          h(
            'tr',
            null,
            ...columns.map((c) =>
              h('td', { class: c.class, attrs: { 'data-label': c.label } }, c.cell(row)),
            ),
          ),
        ),
      );
    },
  };
}

/** A status line that screen readers announce (role=status) and errors that they announce at once. */
export function statusLine(): {
  element: HTMLElement;
  ok(message: string): void;
  error(message: string): void;
  clear(): void;
} {
  const element = h('p', { class: 'status', attrs: { role: 'status', 'aria-live': 'polite' } });
  return {
    element,
    ok(message) {
      element.className = 'status ok';
      element.textContent = message;
    },
    error(message) {
      element.className = 'status error';
      element.textContent = message;
    },
    clear() {
      element.className = 'status';
      element.textContent = '';
    },
  };
}

/**
 * Asks before a destructive action, in a native <dialog> (modal, focus kept inside, Escape
 * cancels). Resolves true when confirmed.
 */
export function confirmAction(question: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const yes = h(
      'button',
      { class: 'btn danger', attrs: { type: 'submit', value: 'yes' } },
      confirmLabel,
    );
    const no = h(
      'button',
      { class: 'btn plain', attrs: { type: 'submit', value: 'no' } },
      'Cancel',
    );
    const headingId = `confirm-${Date.now()}`;
    const dialog = h(
      'dialog',
      { class: 'confirm', attrs: { 'aria-labelledby': headingId } },
      h(
        'form',
        { attrs: { method: 'dialog' } },
        h('p', { id: headingId }, question),
        h('div', { class: 'actions' }, no, yes),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'yes');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
