/** `c8ylink sim --help` tells a device developer the whole registration sequence (issue 9). */
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

describe("c8ylink sim --help", () => {
  it("gives the registration sequence: register, start with the bootstrap user, accept", async () => {
    const m = memoryIo();
    expect(await main(["sim", "--help"], m.io)).toBe(0);
    const text = m.text();
    expect(text).toContain('POST /registrations {"deviceId":"<id>"}');
    expect(text).toContain("--bootstrap-password <password>");
    expect(text).toContain("POST /registrations/<id>/accept");
    expect(text).toContain("With --auto-accept, steps 1 and 3 happen by themselves");
  });
});
