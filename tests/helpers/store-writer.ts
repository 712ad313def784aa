// Child process for the crash test: commits generation 1, then keeps committing
// transactions that each write the same generation to two keys, until it is killed. After
// each commit it prints "committed <generation>", so the test kills it mid-loop by counting
// commits rather than by sleeping.
import { Store } from '../../src/store/store.ts';

const store = Store.open(process.argv[2]!);
const meta = store.tables.meta;
store.durable(() => {
  meta.put('a', 1);
  meta.put('b', 1);
});
process.stdout.write('committed 1\n');
for (let generation = 2; ; generation++) {
  store.durable(() => {
    meta.put('a', generation);
    // A large value makes each transaction long enough to be cut in the middle.
    meta.put('padding', 'x'.repeat(200_000 + (generation % 7)));
    meta.put('b', generation);
  });
  process.stdout.write(`committed ${generation}\n`);
}
