// Background CPU work (dossier rendering) runs in worker threads at a lower scheduling priority,
// so that on a machine with few cores the request thread gets a core first when both are ready.
// On Linux a thread has its own nice value: setpriority(PRIO_PROCESS, tid) changes that thread
// alone. Elsewhere this does nothing rather than renice the whole process.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the calling thread's priority by `increment` nice steps (at most to 19). Returns the
 * thread id and its nice value, or null where a single thread's priority cannot be set (not
 * Linux, or the main thread, whose priority is the process's).
 */
export function lowerThreadPriority(increment: number): { tid: number; nice: number } | null {
  let tid: number;
  try {
    // "<pid>/task/<tid>"
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(tid) || tid <= 0 || tid === process.pid) return null;
  try {
    const nice = Math.min(19, getPriority(tid) + increment);
    setPriority(tid, nice);
    return { tid, nice: getPriority(tid) };
  } catch {
    return null;
  }
}
