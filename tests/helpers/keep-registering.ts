// A legitimate phone that keeps registering (SIPp register.xml, one REGISTER with digest
// auth per run) until told to stop: what a customer sees while an attack is going on.
//
//   const phone = keepRegistering(t, { netns: link.a.ns, localIp: link.a.v4,
//     target: { ip: link.b.v4, port: 5060 }, transport: 'udp', account });
//   ... attack ...
//   const { ok, failed, failures, times } = await phone.stop();   // failed === 0: never refused
//
// Every registration is timed by SIPp (first REGISTER to 200 OK, retransmissions included),
// and stop() prints the phone's p50/p99 with t.log: a phone that is still served but waits
// seconds for it shows up in the test's output, not only in its success count.
import type { ExecutionContext } from 'ava';
import { runSipp, type SippOptions } from './sipp.ts';
import { PHONE_ARGS, type ResponseTimes, summarize } from './sipp-stats.ts';

export interface RegistrationTally {
  ok: number;
  failed: number;
  /** SIPp's output of the failed runs (the last 4000 characters of each). */
  failures: string[];
  /** Registration times of the successful runs, in ms. */
  times: ResponseTimes;
}

export interface RegistrationLoop {
  /** Registrations so far. */
  tally(): RegistrationTally;
  /** Resolves once `n` more registrations have succeeded; rejects after timeoutMs. */
  waitForSuccesses(n: number, timeoutMs: number): Promise<void>;
  /** Finishes the registration in progress, logs the registration times, returns the tally. */
  stop(): Promise<RegistrationTally>;
}

export function keepRegistering(
  t: ExecutionContext,
  o: Omit<SippOptions, 'scenario' | 'calls' | 'rate'>,
): RegistrationLoop {
  let ok = 0;
  let failed = 0;
  const failures: string[] = [];
  const rtts: number[] = [];
  let stopped = false;
  // Resolved each time a registration ends, so waiting needs no polling.
  let wake: () => void = () => {};
  const loop = (async () => {
    while (!stopped) {
      // A lost REGISTER is retransmitted after 500 ms (T1); 15 s bounds a run that gets no
      // answer at all, so a blocked phone shows up as a failure, not as a hang (5 s was
      // too short for one answered late on a busy machine).
      const r = await runSipp(t, {
        timeoutSeconds: 15,
        ...o,
        scenario: 'register.xml',
        calls: 1,
        measureRtt: true,
        extraArgs: [...PHONE_ARGS, ...(o.extraArgs ?? [])],
      });
      if (r.exitCode === 0 && r.successful === 1) {
        ok++;
        rtts.push(...r.rttMs);
      } else {
        failed++;
        failures.push(r.output);
      }
      wake();
    }
  })();
  const tally = (): RegistrationTally => ({
    ok,
    failed,
    failures: [...failures],
    times: summarize(rtts),
  });
  t.teardown(() => {
    stopped = true;
    return loop;
  });
  return {
    tally,
    waitForSuccesses: async (n, timeoutMs) => {
      const target = ok + n;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`legitimate registrations: ${ok}/${target}, ${failed} failed`)),
          timeoutMs,
        );
      });
      try {
        while (ok < target) {
          const next = new Promise<void>((resolve) => (wake = resolve));
          await Promise.race([next, deadline]);
        }
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => {
      stopped = true;
      await loop;
      const result = tally();
      const { count, p50, p99, max } = result.times;
      t.log(
        `legitimate phone: ${ok} registered, ${failed} failed; registration time p50 ${p50} ms, ` +
          `p99 ${p99} ms, max ${max} ms (${count} timed)`,
      );
      return result;
    },
  };
}
