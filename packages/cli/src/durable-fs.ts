/** File-system steps shared by everything in the agent that writes files meant to survive a crash. */
import { open } from "node:fs/promises";

/** Makes a rename or a new file in `dir` durable by syncing the directory (best effort). */
export const syncDir = async (dir: string): Promise<void> => {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not every file system can sync a directory
  }
};
