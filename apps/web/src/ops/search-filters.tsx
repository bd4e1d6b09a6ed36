import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'wouter';
import { useProcesses } from './views/topology-view.tsx';

/**
 * A search form's filters kept in the URL (so a filtered view is a link): a draft edited in the
 * form, applied to the URL on submit, and the applied filters as a query string for the API.
 */
export function useSearchFilters<Name extends string>(names: readonly Name[]) {
  const [params, setParams] = useSearchParams();
  const processes = useProcesses();
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(names.map((name) => [name, params.get(name) ?? ''])),
  );
  const query = new URLSearchParams();
  for (const name of names) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  const change = (name: Name, value: string) => setDraft({ ...draft, [name]: value });

  const text = (name: Name, label: string) => (
    <label>
      {label} <input value={draft[name] ?? ''} onChange={(event) => change(name, event.target.value)} />
    </label>
  );
  /** A choice among `options` (value, or value and label), with "any" first. */
  const choice = (name: Name, label: string, options: readonly (string | readonly [string, string])[]) => (
    <label>
      {label}{' '}
      <select value={draft[name] ?? ''} onChange={(event) => change(name, event.target.value)}>
        <option value="">any</option>
        {options.map((option) => {
          const [value, text] = typeof option === 'string' ? [option, option] : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
  /** The platform's processes, as the supervisor lists them, plus any named in `extra`. */
  const service = (name: Name, extra: readonly string[] = []) =>
    choice(name, 'Service', [...extra, ...(processes.data?.processes.map((process) => process.name) ?? [])]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setParams(Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== '')));
  };
  return { params, query, text, choice, service, submit };
}
