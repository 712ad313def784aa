// A benchmark's clean-up list: helpers written for ava register with `scope.teardown(fn)`
// (the same shape as ava's t.teardown), and `cleanup()` runs them newest first, once, at the
// end, on failure, on Ctrl-C or SIGTERM and when the run outlives `runBoundMs`, so no
// namespace, daemon or load generator is left behind. `aborts` stops load generators in
// progress (give its signal to SIPp runs); `pidsToKill` are killed even on a sudden exit.
export function teardownScope(options: { runBoundMs?: number } = {}) {
  const teardowns: (() => unknown)[] = [];
  const scope = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const aborts = new AbortController();
  const pidsToKill = new Set<number>();
  let cleaning: Promise<void> | undefined;
  /** Runs the teardowns once, newest first; a second caller waits for the same run. */
  function cleanup(): Promise<void> {
    cleaning ??= (async () => {
      aborts.abort();
      for (const fn of teardowns.splice(0).reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`cleanup: ${(err as Error).message}`);
        }
      }
    })();
    return cleaning;
  }
  process.once('exit', () => {
    for (const pid of pidsToKill) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already stopped by its teardown.
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().then(() => process.exit(130)));
  }
  const { runBoundMs } = options;
  if (runBoundMs !== undefined) {
    setTimeout(() => {
      console.error(`bench: still running after ${runBoundMs / 60_000} min, giving up`);
      void cleanup().then(() => process.exit(1));
    }, runBoundMs).unref();
  }
  return { scope, cleanup, aborts, pidsToKill };
}
