// Files tollgatectl reads for a command and sends to the daemon (which never opens a path a
// console user names): bounded, UTF-8, a clear error naming the file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BillingErrors } from '../control/billing/errors.ts';
import { MAX_TARIFF_FILE_BYTES } from '../control/billing/tariff-csv.ts';
import { ControlErrors } from '../control/errors.ts';

export function readTariffFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ControlErrors.TG_CONSOLE_USAGE(
      `tariffs import: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_TARIFF_FILE_BYTES)
      throw new BillingErrors.TG_BILLING_TARIFF_TOO_BIG(size, MAX_TARIFF_FILE_BYTES);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, null);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
