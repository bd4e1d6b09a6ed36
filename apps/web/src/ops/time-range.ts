import { createContext, useContext } from 'react';

/** The window every view looks at (traces, logs, charts): the last N minutes. */
export const rangeChoices = [5, 15, 60, 0] as const;
export const TimeRange = createContext<{ minutes: number; setMinutes: (minutes: number) => void }>({
  minutes: 15,
  setMinutes: () => undefined,
});
export const useSince = (): number | undefined => {
  const { minutes } = useContext(TimeRange);
  return minutes === 0 ? undefined : Date.now() - minutes * 60_000;
};
