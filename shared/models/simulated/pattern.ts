import type { Rng } from './rng.ts';

/*
 * Strings that match a JSON Schema `pattern`, for the simple patterns output schemas use
 * (`^[A-Z]{3}$`, `^INV-\d{4,6}$`, `^(low|high)$`): literals, escapes (\d \w \s and escaped
 * punctuation), `.`, character classes with ranges (negated ones over printable ASCII),
 * groups with alternation, and the quantifiers ? * + {n} {n,} {n,m}. Anything else
 * (lookaround, backreferences, \b, \p{…}) is not supported: `samplePattern` returns
 * undefined and the caller falls back. Every sample is checked against the real RegExp,
 * so a string this returns always matches.
 */

type Node = { set: string[]; min: number; max: number } | { alts: Node[][]; min: number; max: number };

class Unsupported extends Error {}

const DIGITS = chars('0', '9');
const WORD = [...chars('a', 'z'), ...chars('A', 'Z'), ...DIGITS, '_'];
const PRINTABLE = chars('!', '~');
/** How far past its minimum an unbounded quantifier (`*`, `+`, `{n,}`) repeats. */
const UNBOUNDED_EXTRA = 3;

function chars(from: string, to: string): string[] {
  const out: string[] = [];
  for (let c = from.codePointAt(0)!; c <= to.codePointAt(0)!; c++) out.push(String.fromCodePoint(c));
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Node[][] {
    const alts = this.alternatives();
    if (this.i < this.src.length) throw new Unsupported(`unexpected ${this.src[this.i]}`);
    return alts;
  }

  private alternatives(): Node[][] {
    const alts = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Node[] {
    const seq: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const ch = this.src[this.i]!;
      // Anchors are zero-width: a sample of the whole pattern satisfies them.
      if (ch === '^' || ch === '$') {
        this.i++;
        continue;
      }
      seq.push(this.quantified(this.atom()));
    }
    return seq;
  }

  private atom(): Node {
    const ch = this.src[this.i++]!;
    if (ch === '(') {
      if (this.src[this.i] === '?') {
        if (this.src[this.i + 1] !== ':') throw new Unsupported('lookaround or named group');
        this.i += 2;
      }
      const alts = this.alternatives();
      if (this.src[this.i++] !== ')') throw new Unsupported('unclosed group');
      return { alts, min: 1, max: 1 };
    }
    if (ch === '[') return { set: this.charClass(), min: 1, max: 1 };
    if (ch === '\\') return { set: this.escape(), min: 1, max: 1 };
    if (ch === '.') return { set: WORD, min: 1, max: 1 };
    if ('*+?{'.includes(ch)) throw new Unsupported('quantifier without atom');
    return { set: [ch], min: 1, max: 1 };
  }

  private escape(): string[] {
    const ch = this.src[this.i++];
    if (ch === undefined) throw new Unsupported('trailing backslash');
    if (ch === 'd') return DIGITS;
    if (ch === 'w') return WORD;
    if (ch === 's') return [' '];
    if (/[A-Za-z0-9]/.test(ch)) throw new Unsupported(`escape \\${ch}`);
    return [ch];
  }

  private charClass(): string[] {
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const set = new Set<string>();
    while (this.i < this.src.length && this.src[this.i] !== ']') {
      const from = this.src[this.i] === '\\' ? (this.i++, this.escape()) : [this.src[this.i++]!];
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && from.length === 1 && this.i + 1 < this.src.length) {
        this.i++;
        const to = this.src[this.i] === '\\' ? (this.i++, this.escape()) : [this.src[this.i++]!];
        if (to.length !== 1) throw new Unsupported('range to a class');
        for (const c of chars(from[0]!, to[0]!)) set.add(c);
      } else {
        for (const c of from) set.add(c);
      }
    }
    if (this.src[this.i++] !== ']') throw new Unsupported('unclosed class');
    const members = negated ? PRINTABLE.filter((c) => !set.has(c)) : [...set];
    if (members.length === 0) throw new Unsupported('empty class');
    return members;
  }

  private quantified(node: Node): Node {
    const ch = this.src[this.i];
    let min = 1;
    let max = 1;
    if (ch === '?') [min, max] = [0, 1];
    else if (ch === '*') [min, max] = [0, UNBOUNDED_EXTRA];
    else if (ch === '+') [min, max] = [1, 1 + UNBOUNDED_EXTRA];
    else if (ch === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) throw new Unsupported('malformed {n,m}');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? min + UNBOUNDED_EXTRA : Number(m[3]);
      this.i += m[0].length - 1;
    } else return node;
    this.i++;
    if (this.src[this.i] === '?') this.i++; // lazy: same language
    return { ...node, min, max };
  }
}

/** `shortest` repeats every quantified part its minimum number of times. */
function render(seq: Node[], rng: Rng, shortest: boolean): string {
  let out = '';
  for (const node of seq) {
    const times = shortest ? node.min : rng.int(node.min, node.max);
    for (let k = 0; k < times; k++) out += 'set' in node ? rng.pick(node.set) : render(rng.pick(node.alts), rng, shortest);
  }
  return out;
}

/**
 * A string matching `pattern` that also satisfies `accept` (length limits), or undefined
 * when the pattern uses a feature this sampler does not know or no draw fitted.
 *
 * @example samplePattern('^[A-Z]{3}$', rng) // e.g. 'QKD'
 */
export function samplePattern(pattern: string, rng: Rng, accept: (s: string) => boolean = () => true): string | undefined {
  let regex: RegExp;
  let alts: Node[][];
  try {
    regex = new RegExp(pattern, 'u');
    alts = new Parser(pattern).parse();
  } catch {
    return undefined;
  }
  // Every other try is the shortest form, which a tight maxLength usually needs.
  for (let tries = 0; tries < 16; tries++) {
    const sample = render(rng.pick(alts), rng, tries % 2 === 1);
    if (regex.test(sample) && accept(sample)) return sample;
  }
  return undefined;
}
