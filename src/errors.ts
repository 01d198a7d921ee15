/**
 * A mistake the user can fix: a bad study file, a missing column, an unknown
 * study. It prints as one line naming the file, the field and the fix; the CLI
 * exits 2 on it and never prints a stack trace.
 */
export class UserError extends Error {
  constructor(
    /** Dotted path of the offending field, e.g. `space.units.min` or `data.train`. */
    readonly field: string,
    /** What is wrong, e.g. `min (600) is greater than max (100)`. */
    readonly problem: string,
    /** What to do about it, e.g. `swap min and max`. */
    readonly fix: string,
    /** The file the field lives in, when there is one. */
    readonly file?: string,
  ) {
    super(formatUserError(file, field, problem, fix));
    this.name = 'UserError';
  }

  /** The same error, attributed to `file` and with `prefix` put before its field. */
  within(file: string | undefined, prefix = ''): UserError {
    const field = prefix && this.field ? `${prefix}.${this.field}` : prefix || this.field;
    return new UserError(field, this.problem, this.fix, file ?? this.file);
  }
}

function formatUserError(file: string | undefined, field: string, problem: string, fix: string): string {
  const where = [file, field].filter((s) => s).join(': ');
  const line = `${where ? `${where}: ` : ''}${problem}${fix ? ` (fix: ${fix})` : ''}`;
  // One line, always: a YAML message or a cell value must not break it.
  return line.replace(/\s*\n\s*/g, ' ');
}
