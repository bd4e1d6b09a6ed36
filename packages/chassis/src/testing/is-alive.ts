/** Whether a process with this pid exists (signal 0 probes without sending anything). */
export const isAlive = (pid: number | null | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
