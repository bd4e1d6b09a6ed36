export interface StatusRow {
  service: string;
  pid: number | null | undefined;
  url: string;
  grpc?: string | undefined;
  database: string | null;
}

/** A fixed-width table of what runs where, for the console. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  const header = ['SERVICE', 'PID', 'URL', 'GRPC', 'DATABASE'];
  const cells = rows.map((row) => [
    row.service,
    String(row.pid ?? '-'),
    row.url,
    row.grpc ?? '-',
    row.database ?? '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column]?.length ?? 0)),
  );
  const render = (cell: string[]) =>
    cell
      .map((value, column) => value.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), ...cells.map(render)].join('\n');
}
