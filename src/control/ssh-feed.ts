// sshd's failed logins, read from its log lines, for the guard: an SSH password guesser is
// counted and banned like a SIP one (auth-fail, method 'SSH', through the same rules, so
// maxfailedauthenabledip and friends say after how many failures).
//
// What counts: one "Failed <method> for [invalid user ]USER from IP port PORT ssh2" line per
// failed attempt (sshd(8), auth.c auth_log). "Invalid user …" and "Connection closed by …
// [preauth]" lines describe the same attempt again and are not counted.
//
// Parsed defensively: the user name is the client's own text and may itself read
// "x from 10.0.0.9 port 22", so the address is taken from the END of the line (sshd writes
// the user first, then " from IP port PORT ssh2"), must be a valid IP, and lines are bounded.
// The journal's JSON export (journalctl -o json) gives the message in MESSAGE; a MESSAGE
// that is not a string (journald's byte array for non-UTF-8 text) is ignored.
import { canonicalIp } from '../ip.ts';

export const MAX_LINE = 16 * 1024;
const FAILED =
  /\bFailed (password|publickey|keyboard-interactive\/pam|none) for (invalid user )?(.{0,256}) from ([0-9A-Fa-f:.]{2,45}) port (\d{1,5})(?: ssh2)?(?::.*)?$/;

export interface SshFailure {
  ip: string;
  port: number;
  user: string;
  method: string;
  invalidUser: boolean;
}

/** One sshd message (a plain log line, any prefix) → the failure it reports, if any. */
export function parseSshdMessage(message: string): SshFailure | null {
  if (message.length > MAX_LINE) return null;
  const m = FAILED.exec(message.trimEnd());
  if (!m) return null;
  const ip = canonicalIp(m[4]!);
  const port = Number(m[5]);
  if (ip === null || port < 1 || port > 65_535) return null;
  return {
    ip,
    port,
    // Control characters out, bounded: it is only ever logged and shown.
    user: m[3]!.replace(/\p{Cc}/gu, '?').slice(0, 64),
    method: m[1]!,
    invalidUser: m[2] !== undefined,
  };
}

/** One line of `journalctl -o json` → the failure it reports, if any. */
export function parseJournalLine(line: string): SshFailure | null {
  if (line.length > MAX_LINE) return null;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null) return null;
  const message = (entry as { MESSAGE?: unknown }).MESSAGE;
  return typeof message === 'string' ? parseSshdMessage(message) : null;
}

/** A line from either source: JSON when it looks like it, else a plain log line. */
export function parseFeedLine(line: string): SshFailure | null {
  return line.trimStart().startsWith('{') ? parseJournalLine(line) : parseSshdMessage(line);
}
