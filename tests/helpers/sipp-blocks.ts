// SIPp scenarios with marked blocks (<!-- name --> … <!-- /name -->): one file covers the
// ways a call can go, and a test keeps the blocks of the way it wants (runSipp's rewrite).

/** A rewrite that removes every marked block whose name is not in `keep`. */
export function keepBlocks(...keep: string[]): (xml: string) => string {
  return (xml) =>
    xml.replace(/<!-- ([a-z-]+) -->[\s\S]*?<!-- \/\1 -->/g, (block, name: string) =>
      keep.includes(name) ? block : '',
    );
}
