/**
 * A strict reader for the small subset of TOML that `config/gitleaks.toml` uses; tests only.
 *
 * Supported: `# comments`; `[table]` and `[[array.of.tables]]` headers with bare dotted keys;
 * `key = value` with a bare key; values: basic strings ("…" with the escapes \" and \\ only),
 * literal strings ('…' and '''…''' on one line), integers, decimal floats, booleans, and arrays
 * of those (which may span lines, with comments and a trailing comma).
 * Anything else (inline tables, dotted keys, multi-line strings, dates, other escapes) is an
 * error naming the line, so the config cannot drift into syntax this reader would misread.
 */

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** A syntax error or an unsupported construct, with its 1-based line number. */
export class TomlSubsetError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`toml line ${line}: ${message}`);
    this.name = 'TomlSubsetError';
  }
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Reader {
  private pos = 0;
  private line = 1;
  readonly root: TomlTable = {};
  private current: TomlTable = this.root;
  /** Tables opened by a `[header]`, to reject a second header for the same table. */
  private readonly declared = new Set<TomlTable>();

  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new TomlSubsetError(this.line, message);
  }

  private peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  private startsWith(token: string): boolean {
    return this.text.startsWith(token, this.pos);
  }

  private skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  private skipComment(): void {
    if (this.peek() !== '#') return;
    while (this.pos < this.text.length && this.peek() !== '\n') this.pos++;
  }

  /** Whitespace, newlines and comments: between statements and inside arrays. */
  private skipBlank(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      if (this.peek() === '\r' && this.peek(1) === '\n') this.pos++;
      if (this.peek() !== '\n') return;
      this.pos++;
      this.line++;
    }
  }

  /** After a statement: optional spaces and comment, then a newline or the end. */
  private endOfStatement(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.peek() === '\r') this.pos++;
    if (this.pos >= this.text.length) return;
    if (this.peek() !== '\n') this.fail('expected the end of the line');
  }

  parse(): TomlTable {
    for (;;) {
      this.skipBlank();
      if (this.pos >= this.text.length) return this.root;
      if (this.startsWith('[[')) this.arrayTableHeader();
      else if (this.peek() === '[') this.tableHeader();
      else this.keyValue();
      this.endOfStatement();
    }
  }

  private headerPath(close: string): string[] {
    const end = this.text.indexOf(close, this.pos);
    const newline = this.text.indexOf('\n', this.pos);
    if (end < 0 || (newline >= 0 && end > newline)) this.fail(`header without "${close}"`);
    const path = this.text.slice(this.pos, end).trim().split('.');
    for (const part of path) if (!BARE_KEY.test(part)) this.fail('header keys must be bare keys');
    this.pos = end + close.length;
    return path;
  }

  /** Walks to the parent of the last path segment, creating tables and entering arrays' last element. */
  private parentOf(path: string[]): TomlTable {
    let table = this.root;
    for (const part of path.slice(0, -1)) {
      const next: TomlValue | undefined = table[part];
      if (next === undefined) {
        const created: TomlTable = {};
        table[part] = created;
        table = created;
      } else if (isTable(next)) {
        table = next;
      } else if (Array.isArray(next) && isTable(next.at(-1))) {
        table = next.at(-1) as TomlTable;
      } else {
        this.fail(`"${part}" is not a table`);
      }
    }
    return table;
  }

  private tableHeader(): void {
    this.pos++;
    const path = this.headerPath(']');
    const parent = this.parentOf(path);
    const name = path.at(-1) as string;
    const existing = parent[name];
    if (existing !== undefined && (!isTable(existing) || this.declared.has(existing))) this.fail(`table [${path.join('.')}] defined twice`);
    const table = isTable(existing) ? existing : {};
    parent[name] = table;
    this.declared.add(table);
    this.current = table;
  }

  private arrayTableHeader(): void {
    this.pos += 2;
    const path = this.headerPath(']]');
    const parent = this.parentOf(path);
    const name = path.at(-1) as string;
    const existing = parent[name];
    if (existing !== undefined && !Array.isArray(existing)) this.fail(`[[${path.join('.')}]] collides with a value`);
    const list = existing ?? [];
    const table: TomlTable = {};
    list.push(table);
    parent[name] = list;
    this.current = table;
  }

  private keyValue(): void {
    const match = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.pos));
    if (!match) this.fail('expected a bare key, a [table] or a [[table]]');
    const key = match[0];
    this.pos += key.length;
    this.skipSpaces();
    if (this.peek() === '.') this.fail('dotted keys are not supported');
    if (this.peek() !== '=') this.fail(`expected "=" after "${key}"`);
    this.pos++;
    this.skipSpaces();
    if (Object.hasOwn(this.current, key)) this.fail(`key "${key}" defined twice`);
    this.current[key] = this.value();
  }

  private value(): TomlValue {
    if (this.startsWith("'''")) return this.literalString("'''");
    if (this.peek() === "'") return this.literalString("'");
    if (this.startsWith('"""')) this.fail('multi-line basic strings are not supported');
    if (this.peek() === '"') return this.basicString();
    if (this.peek() === '[') return this.array();
    if (this.peek() === '{') this.fail('inline tables are not supported');
    const rest = this.text.slice(this.pos);
    const word = /^(?:true|false|[+-]?\d+(?:\.\d+)?)(?=[\s,\]#]|$)/.exec(rest);
    if (!word) this.fail('unsupported value');
    this.pos += word[0].length;
    if (word[0] === 'true') return true;
    if (word[0] === 'false') return false;
    return Number(word[0]);
  }

  private literalString(quote: string): string {
    this.pos += quote.length;
    const end = this.text.indexOf(quote, this.pos);
    const newline = this.text.indexOf('\n', this.pos);
    if (end < 0 || (newline >= 0 && newline < end)) this.fail('literal strings must end on the line they start');
    const value = this.text.slice(this.pos, end);
    this.pos = end + quote.length;
    // ''' followed by another ' would be part of the string in real TOML: refuse the ambiguity
    if (quote === "'''" && this.peek() === "'") this.fail("a ''' string may not end with a quote");
    return value;
  }

  private basicString(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') {
        const escaped = this.peek();
        if (escaped !== '"' && escaped !== '\\') this.fail('only \\" and \\\\ escapes are supported');
        out += escaped;
        this.pos++;
      } else {
        out += c;
      }
    }
  }

  private array(): TomlValue[] {
    this.pos++;
    const items: TomlValue[] = [];
    for (;;) {
      this.skipBlank();
      if (this.peek() === ']') {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipBlank();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ']') this.fail('expected "," or "]" in an array');
    }
  }
}

/** Parses TOML text in the supported subset; throws {@link TomlSubsetError} on anything else. */
export function parseTomlSubset(text: string): TomlTable {
  return new Reader(text).parse();
}
