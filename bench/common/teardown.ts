// A benchmark's clean-up list: helpers written for ava register with `scope.teardown(fn)`
// (the same shape as ava's t.teardown), and `cleanup()` runs them newest first, at the end,
// on failure and on Ctrl-C, so no namespace, daemon or load generator is left behind.
export function teardownScope() {
  const teardowns: (() => unknown)[] = [];
  const scope = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  async function cleanup(): Promise<void> {
    for (const fn of teardowns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  }
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  return { scope, cleanup };
}
