// The few global options both commands share: --data DIR, --socket PATH, --config FILE.
// They are taken out of argv wherever they appear; the rest is returned in order.
export interface GlobalOptions {
  data?: string;
  socket?: string;
  config?: string;
  help: boolean;
}

const WITH_VALUE = new Set(['--data', '--socket', '--config']);

export function splitGlobalOptions(argv: readonly string[]): {
  options: GlobalOptions;
  rest: string[];
} {
  const options: GlobalOptions = { help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (WITH_VALUE.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (!value) throw new Error(`${name} needs a value`);
      options[name.slice(2) as 'data' | 'socket' | 'config'] = value;
    } else if (arg === '--help' || arg === '-h') {
      options.help = true;
    } else {
      rest.push(arg);
    }
  }
  return { options, rest };
}
