/** Collects `AND`-ed conditions with numbered parameters, for the list queries' optional filters. */
export class SqlWhere {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];

  /** `clause` holds one `?`, replaced by the next `$n`. */
  add(clause: string, value: unknown): this {
    this.params.push(value);
    this.clauses.push(clause.replace('?', `$${this.params.length}`));
    return this;
  }

  /** `WHERE …`, or nothing when no filter was given. */
  toString(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }

  /** `LIMIT $n`; a NULL limit means no limit in Postgres. */
  limit(limit: number | undefined): string {
    this.params.push(limit ?? null);
    return `LIMIT $${this.params.length}`;
  }
}
