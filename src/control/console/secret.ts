// Reading a password for `--password-stdin` the way docker login and passwd do: on a
// terminal, a prompt that does not echo (asked twice, so a typo is not locked in); from a
// pipe, the first line. Either way the password never appears in argv, so `ps`, /proc and
// the shell's history do not see it.
import { ControlErrors } from '../errors.ts';

/** Longer than any password the users service accepts (128), short enough to bound memory. */
export const MAX_SECRET_BYTES = 4096;
/** A script that says --password-stdin and then sends nothing must not hang for ever. */
export const STDIN_DEADLINE_MS = 120_000;

export interface SecretInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** The password from a terminal prompt (no echo, twice) or the first line of a pipe. */
export async function readSecret(
  input: SecretInput = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (input.isTTY && input.setRawMode) {
    const first = await promptNoEcho(input, output, 'Password: ');
    const again = await promptNoEcho(input, output, 'Again: ');
    if (first !== again) throw usage('the two passwords differ; nothing changed');
    return first;
  }
  return firstLine(input);
}

function usage(text: string): Error {
  return new ControlErrors.TG_CONSOLE_USAGE(text);
}

/** One line typed with echo off (raw mode): Enter ends it, Backspace edits, Ctrl-C/D aborts. */
export function promptNoEcho(
  input: SecretInput,
  output: NodeJS.WritableStream,
  prompt: string,
): Promise<string> {
  // Echo goes off before the prompt appears: whoever waits for the prompt to type must not
  // find the terminal still echoing (a script or a fast typist would see the password).
  input.setRawMode!(true);
  output.write(prompt);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: Error | null) => {
      input.off('data', onData);
      input.setRawMode!(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') return done(null);
        if (c === '\u0003' || c === '\u0004') return done(usage('no password given'));
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
        else typed += c;
        if (typed.length > MAX_SECRET_BYTES) return done(usage('the password is too long'));
      }
    };
    input.on('data', onData);
  });
}

/** The first line of a pipe (up to MAX_SECRET_BYTES), without its line ending. */
export function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (err) return reject(err);
      const line = buffered.split(/\r?\n/, 1)[0] ?? '';
      if (line === '') return reject(usage('--password-stdin: stdin gave no password'));
      resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      if (buffered.includes('\n')) finish(null);
      else if (buffered.length > MAX_SECRET_BYTES) finish(usage('the password is too long'));
    };
    const onEnd = () => finish(null);
    const onError = (err: Error) => finish(err);
    const timer = setTimeout(
      () => finish(usage(`--password-stdin: nothing read in ${STDIN_DEADLINE_MS / 1000}s`)),
      STDIN_DEADLINE_MS,
    );
    timer.unref();
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
