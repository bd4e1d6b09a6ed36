import { explain, type Problem, ProblemError } from './problem.ts';

/** What went wrong, said plainly, in a live region so it is announced and findable by role. */
export function ProblemMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const problem: Problem =
    error instanceof ProblemError
      ? error.problem
      : { status: 0, title: 'Error', detail: (error as Error).message ?? String(error), code: 'CLIENT' };
  return (
    <div role="alert" className="problem">
      {title ? <strong>{title}: </strong> : null}
      {explain(problem)}
      <span className="problem-code"> ({problem.code})</span>
    </div>
  );
}
