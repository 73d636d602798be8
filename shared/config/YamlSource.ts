import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigIssue } from '../core/errors.ts';
import { formatPath, type PathSegment } from './describe.ts';

/**
 * One parsed YAML (or JSON) file that remembers where every value came from, so an issue found
 * in the plain data can name its line and column. Built with `readYamlSource`.
 */
export class YamlSource {
  readonly issues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    readonly data: unknown,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Record a problem at `path`. The line points at the value, or at the key when `at: 'key'`
   * (unknown and secret keys); a path that is not in the file points at its nearest ancestor.
   */
  report(path: readonly PathSegment[], message: string, at: 'key' | 'value' = 'value'): void {
    this.issues.push({ file: this.file, path: formatPath(path), message, ...this.locate(path, at) });
  }

  /** The issues in file order (the order an editor shows them); issues without a line come first. */
  issuesInOrder(): ConfigIssue[] {
    return [...this.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }

  /** Line and column (1-based) of the node at `path`, or of its nearest ancestor in the file. */
  locate(path: readonly PathSegment[], at: 'key' | 'value' = 'value'): { line?: number; column?: number } {
    let node: unknown = this.doc.contents;
    let offset: number | undefined = path.length === 0 ? rangeStart(node) : undefined;
    for (const [i, seg] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyStart = rangeStart(pair.key);
        node = pair.value;
        offset = last && at === 'key' ? keyStart : (rangeStart(node) ?? keyStart);
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (node === undefined) break;
        offset = rangeStart(node);
      } else {
        break;
      }
    }
    if (offset === undefined) return {};
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

function rangeStart(node: unknown): number | undefined {
  return node !== null && typeof node === 'object' && 'range' in node ? (node as Node).range?.[0] : undefined;
}

/**
 * Read and parse a YAML or JSON file. A missing file or a syntax error throws a ConfigError
 * naming the line and column; everything else is left to the caller's schema.
 *
 * @example
 * const src = await readYamlSource('mesh.yaml', 'create mesh.yaml or pass --config');
 * src.data // plain JS value
 */
export async function readYamlSource(file: string, missingHint: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read it (${code ?? String(cause)})`;
    throw new ConfigError([{ file, path: '', message: `${what}: ${missingHint}` }], { cause });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => {
        const { line, col } = lines.linePos(err.pos[0]);
        return { file, path: '', message: `not valid YAML: ${err.message.split('\n')[0] ?? err.message}`, line, column: col };
      }),
    );
  }
  return new YamlSource(file, doc.toJS({ maxAliasCount: 100 }) as unknown, doc, lines);
}
