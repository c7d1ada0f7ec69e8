/**
 * A reader of systemd unit values written from systemd's documented rules, to prove that what
 * render.ts writes reads back as the same argv: specifiers (`%%` → `%`) on the whole line, then
 * words split on whitespace with double/single quotes and C escapes, then, for ExecStart=,
 * `$$` → `$` in each word.
 */
export function parseSystemdWords(line: string, context: 'exec' | 'environment'): string[] {
  const specified = line.replace(/%(.)/gs, (_m, c: string) => {
    if (c === '%') return '%';
    throw new Error(`unexpected specifier %${c}`);
  });
  const words: string[] = [];
  let i = 0;
  const n = specified.length;
  while (i < n) {
    while (i < n && /\s/.test(specified[i]!)) i++;
    if (i >= n) break;
    let word = '';
    let quote: string | null = null;
    for (; i < n; i++) {
      const ch = specified[i]!;
      if (quote === null && /\s/.test(ch)) break;
      if (quote === null && (ch === '"' || ch === "'")) {
        quote = ch;
        continue;
      }
      if (quote !== null && ch === quote) {
        quote = null;
        continue;
      }
      if (ch === '\\') {
        const next = specified[++i];
        if (next === undefined) throw new Error('dangling backslash');
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };
        if (next in simple) word += simple[next];
        else if (next === 'x') {
          const hex = specified.slice(i + 1, i + 3);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error('bad \\x escape');
          word += String.fromCharCode(parseInt(hex, 16));
          i += 2;
        } else throw new Error(`unknown escape \\${next}`);
        continue;
      }
      word += ch;
    }
    if (quote !== null) throw new Error('unterminated quote');
    words.push(context === 'exec' ? word.replace(/\$(\$|[A-Za-z_{])/g, (m, c: string) => {
      if (c === '$') return '$';
      throw new Error(`unexpected variable ${m}`);
    }) : word);
  }
  return words;
}
