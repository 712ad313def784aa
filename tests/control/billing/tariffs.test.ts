// Tariffs: longest prefix, parent tariffs, exact match; CSV in and out, refused whole.
import test from 'ava';
import { parseMoney } from '../../../src/control/billing/money.ts';
import { TariffBook } from '../../../src/control/billing/tariffs.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const CSV = `tariff,prefix,price,connect_fee,increments,parent,description
retail,49,0.020,0,60/60,,Germany
retail,4915,0.090,0.01,30/6,,"Germany, mobile"
retail,,0.50,0,60/60,,everything else
gold,49,0.015,0,1/1,retail,Germany (gold)
`;

function book(t: import('ava').ExecutionContext) {
  const dir = tempDir(t);
  const store = Store.open(dir);
  t.teardown(() => store.close());
  return { store, dir, tariffs: new TariffBook(store) };
}

test('longest prefix wins; a parent answers what the tariff lacks; + and 00 are dropped', (t) => {
  const { tariffs } = book(t);
  t.deepEqual(tariffs.importCsv(CSV), { tariffs: 2, rates: 4 });
  t.is<unknown, unknown>(tariffs.lookup('retail', '491701234')?.rate.prefix, '49');
  t.is<unknown, unknown>(tariffs.lookup('retail', '+4915112345')?.rate.prefix, '4915');
  t.is<unknown, unknown>(tariffs.lookup('retail', '004930123')?.rate.prefix, '49');
  t.is<unknown, unknown>(tariffs.lookup('retail', '3312345')?.rate.prefix, '', 'catch-all');
  const gold = tariffs.lookup('gold', '4915112345');
  t.is<unknown, unknown>(gold?.rate.prefix, '49', 'gold has 49 itself: its own longest match wins');
  t.is<unknown, unknown>(gold?.depth, 0);
  const inherited = tariffs.lookup('gold', '3312345');
  t.is<unknown, unknown>(inherited?.tariff, 'retail');
  t.is<unknown, unknown>(inherited?.depth, 1);
  t.is<unknown, unknown>(tariffs.lookup('nosuch', '49'), undefined);
});

test('exact match (vgetpriceexactmatch) only takes a prefix equal to the number', (t) => {
  const { tariffs } = book(t);
  tariffs.importCsv(CSV);
  t.is<unknown, unknown>(tariffs.lookup('retail', '4915', true)?.rate.prefix, '4915');
  t.is<unknown, unknown>(tariffs.lookup('retail', '49151', true), undefined);
});

test('export reads back to the same rates; amounts stay exact', (t) => {
  const { tariffs } = book(t);
  tariffs.importCsv(CSV);
  const out = tariffs.exportCsv();
  const { tariffs: again } = book(t);
  again.importCsv(out);
  t.is<unknown, unknown>(again.exportCsv(), out);
  t.is<unknown, unknown>(again.lookup('retail', '4915')?.rate.connectFee, parseMoney('0.01'));
  t.regex(out, /"Germany, mobile"/);
});

test('a bad file is refused whole with line-numbered errors, and nothing is stored', (t) => {
  const { tariffs, store } = book(t);
  tariffs.importCsv(CSV);
  const before = tariffs.exportCsv();
  const bad = `tariff,prefix,price,increments
retail,49,0.030,60/60
retail,33,abc,60/60
retail,44,0.1,60/x
bad name,1,0.1,1/1
retail,49,0.1,1/1
`;
  const err = t.throws(() => tariffs.importCsv(bad));
  t.is<unknown, unknown>((err as { code?: string }).code, 'TG_BILLING_TARIFF_CSV');
  t.regex(err!.message, /line 3: bad price "abc"/);
  t.regex(err!.message, /line 4: increments "60\/x"/);
  t.regex(err!.message, /line 5: tariff "bad name"/);
  t.regex(err!.message, /line 6: tariff retail already has prefix "49"/);
  t.notRegex(err!.message, /line 2:/);
  t.is<unknown, unknown>(tariffs.exportCsv(), before, 'the good line 2 was not imported either');
  t.is<unknown, unknown>(store.tables.tariffs.get('retail')?.rates.length, 3);
  t.regex(t.throws(() => tariffs.importCsv('tariff,price\nx,1\n'))!.message, /lacks prefix/);
  t.regex(
    t.throws(() => tariffs.importCsv('tariff,prefix,price,colour\n'))!.message,
    /unknown column/,
  );
  t.regex(
    t.throws(() => tariffs.importCsv(`${CSV}retail,1,0.1,0,1/1,gold,\n`))!.message,
    /line 6: tariff retail has parent \(none\) on line 2/,
  );
});

test('tariffs survive a restart', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  new TariffBook(store).importCsv(CSV);
  await store.close();
  const again = Store.open(dir);
  t.teardown(() => again.close());
  const tariffs = new TariffBook(again);
  t.is<unknown, unknown>(tariffs.lookup('gold', '4930')?.rate.pricePerMinute, parseMoney('0.015'));
  t.deepEqual(
    tariffs.list().map((x) => [x.name, x.parent, x.rates]),
    [
      ['gold', 'retail', 1],
      ['retail', null, 3],
    ],
  );
});
