/** `c8ylink sim --no-json-operations`: the tenant refuses operations as JSON and says so. */
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("c8ylink sim --no-json-operations", () => {
  it.each([
    [[], "operations as JSON (devicecontrol/notifications): on"],
    [
      ["--no-json-operations"],
      "operations as JSON (devicecontrol/notifications): refused (--no-json-operations)",
    ],
  ])("%j prints the JSON operations mode", async (extra, line) => {
    const m = memoryIo();
    const running = main(["sim", "--mqtt-port", "0", "--http-port", "0", "--quiet", ...extra], m.io);
    await waitFor(() => m.text().includes("Ctrl-C to stop"), "the tenant to start");
    expect(m.text()).toContain(line);
    m.interrupt();
    expect(await running).toBe(0);
  });
});
