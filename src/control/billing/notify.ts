// Refusals and blocks, told to the operator. Every refused call is counted per rule and
// logged with its rule (at most LOG_PER_10S lines per 10 s: a dialler must not fill the
// disk; the rest are counted). With sendadminemailnotifications 2 an account blocked by a
// spend or fraud rule is also mailed to adminemail through the SMTP relay (nodemailer):
// once per account and rule per hour, at most MAILS_PER_HOUR mails an hour in all, sent in
// the background (a slow relay never holds a call), each with a 10 s deadline per step.
// Level 1 mails system events only (mass bans), 0 nothing.
import nodemailer, { type Transporter } from 'nodemailer';
import type { ConfigView, Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { Refusal } from './policy.ts';

export const NOTIFY_KEYS = [
  'sendadminemailnotifications',
  'adminemail',
  'smtpserver',
  'smtpport',
  'smtpsecurity',
  'smtpuser',
  'smtppassword',
  'smtpfrom',
] as const;
type NotifyConfig = ConfigView<(typeof NOTIFY_KEYS)[number]>;

const LOG_PER_10S = 50;
const MAILS_PER_HOUR = 30;
const HOUR = 3_600_000;
const DEADLINE_MS = 10_000;

/** The rules that mean an account is blocked (mailed at level 2). Per-call rules are not. */
export const BLOCK_RULES = new Set([
  'maxmonthlycredit',
  'maxdailycredit',
  'maxdailycreditforenduser',
  'maxdailycreditforts',
  'checkmaxdyndailycredit',
  'maxslperday',
  'maxslpermonth',
  'autoban',
  'credit',
]);

export interface Mail {
  subject: string;
  text: string;
}

export class Notifier {
  readonly #config: NotifyConfig;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #counts = new Map<string, number>();
  readonly #mailed = new Map<string, number>();
  #logWindow = 0;
  #logLines = 0;
  #suppressed = 0;
  #mailHour = 0;
  #mailsThisHour = 0;
  #transport: Transporter | undefined;
  #transportKey = '';
  #sending = new Set<Promise<void>>();
  /** Mails handed to the relay (tests wait on it). */
  sent = 0;
  failed = 0;

  constructor(settings: Settings, log: Logger, now: () => number = Date.now) {
    this.#config = settings.view(NOTIFY_KEYS);
    this.#log = log;
    this.#now = now;
  }

  refused(r: Refusal): void {
    this.#counts.set(r.rule, (this.#counts.get(r.rule) ?? 0) + 1);
    const now = this.#now();
    const window = Math.floor(now / 10_000);
    if (window !== this.#logWindow) {
      if (this.#suppressed > 0)
        this.#log.warn(
          { suppressed: this.#suppressed },
          'call refusal log lines left out (too many)',
        );
      this.#logWindow = window;
      this.#logLines = 0;
      this.#suppressed = 0;
    }
    if (++this.#logLines <= LOG_PER_10S)
      this.#log.warn(
        {
          rule: r.rule,
          status: r.status,
          account: r.account,
          ip: r.call.source.ip,
          dialled: r.call.dialled.slice(0, 32),
          callId: r.call.callId.slice(0, 64),
          ...(r.detail ? { detail: r.detail } : {}),
        },
        `call refused: ${r.reason}`,
      );
    else this.#suppressed++;
    if (
      r.account !== undefined &&
      BLOCK_RULES.has(r.rule) &&
      this.#config.sendadminemailnotifications >= 2
    ) {
      const key = `${r.account}\n${r.rule}`;
      const last = this.#mailed.get(key);
      if (last !== undefined && now - last < HOUR) return;
      this.#mailed.set(key, now);
      if (this.#mailed.size > 10_000) this.#mailed.delete(this.#mailed.keys().next().value!);
      this.mail({
        subject: `tollgate: account ${r.account} blocked (${r.rule})`,
        text: [
          `Calls of account ${r.account} are refused by rule ${r.rule}: ${r.reason}.`,
          r.detail ? `Detail: ${r.detail}` : '',
          `Last refused call: to ${r.call.dialled.slice(0, 32)} from ${r.call.source.ip} at ${new Date(r.call.at).toISOString()}.`,
          'See "tollgatectl users" for its spend and limits. Further refusals of this account by this rule are not mailed for an hour.',
        ]
          .filter(Boolean)
          .join('\n'),
      });
    }
  }

  /** A system event (mass ban, a caller banned): mailed at level 1 and above. */
  systemEvent(subject: string, text: string): void {
    this.#log.warn({ event: subject }, text);
    if (this.#config.sendadminemailnotifications >= 1)
      this.mail({ subject: `tollgate: ${subject}`, text });
  }

  /** Refusals counted per rule since start. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort((a, b) => b[1] - a[1]));
  }

  /** Sends in the background; false when not sent (no relay or address, or over the hourly cap). */
  mail(mail: Mail): boolean {
    const cfg = this.#config;
    if (cfg.adminemail === '' || cfg.smtpserver === '') return false;
    const hour = Math.floor(this.#now() / HOUR);
    if (hour !== this.#mailHour) {
      this.#mailHour = hour;
      this.#mailsThisHour = 0;
    }
    if (++this.#mailsThisHour > MAILS_PER_HOUR) {
      if (this.#mailsThisHour === MAILS_PER_HOUR + 1)
        this.#log.warn(
          { cap: MAILS_PER_HOUR },
          'admin mail cap reached this hour: further notifications only logged',
        );
      return false;
    }
    const transport = this.#transportFor(cfg);
    const sending = transport
      .sendMail({ from: cfg.smtpfrom, to: cfg.adminemail, subject: mail.subject, text: mail.text })
      .then(
        () => {
          this.sent++;
        },
        (err: Error) => {
          this.failed++;
          this.#log.error(
            { err: err.message, relay: cfg.smtpserver },
            'admin notification not sent',
          );
        },
      )
      .finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
    return true;
  }

  /** Resolves when every mail handed over so far has been sent or has failed. */
  async drain(): Promise<void> {
    await Promise.all([...this.#sending]);
  }

  close(): void {
    this.#transport?.close();
    this.#transport = undefined;
  }

  #transportFor(cfg: NotifyConfig): Transporter {
    const key = [
      cfg.smtpserver,
      cfg.smtpport,
      cfg.smtpsecurity,
      cfg.smtpuser,
      cfg.smtppassword,
    ].join('\n');
    if (this.#transport && key === this.#transportKey) return this.#transport;
    this.#transport?.close();
    this.#transport = nodemailer.createTransport({
      host: cfg.smtpserver,
      port: cfg.smtpport,
      secure: cfg.smtpsecurity === 'tls',
      requireTLS: cfg.smtpsecurity === 'starttls',
      ignoreTLS: cfg.smtpsecurity === 'none',
      ...(cfg.smtpuser !== '' ? { auth: { user: cfg.smtpuser, pass: cfg.smtppassword } } : {}),
      connectionTimeout: DEADLINE_MS,
      greetingTimeout: DEADLINE_MS,
      socketTimeout: DEADLINE_MS,
      tls: { rejectUnauthorized: true },
    });
    this.#transportKey = key;
    return this.#transport;
  }
}
