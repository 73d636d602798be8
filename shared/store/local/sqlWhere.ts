/** Collects `AND`-ed conditions with positional `?` parameters, for the list queries' optional filters. */
export class SqlWhere {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];

  /** `clause` holds one `?`, bound to `value`. */
  add(clause: string, value: unknown): this {
    this.params.push(value);
    this.clauses.push(clause);
    return this;
  }

  /** `WHERE …`, or nothing when no filter was given. */
  toString(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }

  /** `LIMIT ?`, or nothing when there is no limit. Call it last: its parameter goes at the end. */
  limit(limit: number | undefined): string {
    if (limit === undefined) return '';
    this.params.push(limit);
    return 'LIMIT ?';
  }
}
