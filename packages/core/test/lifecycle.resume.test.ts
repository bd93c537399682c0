/**
 * Issue 12, resumable operations: an operation of a fragment in `resumableOperations` found
 * EXECUTING at the start is handed to the application again with `resumed: true` (its status
 * then follows the application's result, exactly once) instead of being failed; other
 * fragments keep the old rule. Both modes: by id (504–506) and static (501–503).
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeConfig, formatProblems, openEntries } from "@c8ylink/core";
import { Harness } from "./support/harness.js";

const TOPIC = "devicecontrol/notifications";

const byIdConfig = {
  deviceId: "dev1",
  auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
  supportedOperations: ["c8y_Firmware", "c8y_Command", "c8y_Restart"],
  resumableOperations: ["c8y_Firmware"],
  seed: 3,
};
const staticConfig = { ...byIdConfig, operations: "static" };

const firmware = (id: string) =>
  JSON.stringify({
    id,
    deviceId: "900",
    status: "PENDING",
    creationTime: "2026-11-29T10:00:00Z",
    c8y_Firmware: { name: "fw", version: "2.0", url: "http://x/fw.bin" },
  });
const command = (id: string, text: string) =>
  JSON.stringify({
    id,
    deviceId: "900",
    status: "PENDING",
    creationTime: "2026-11-29T10:00:00Z",
    c8y_Command: { text },
  });

const online = (config: Record<string, unknown>, durable: Record<string, unknown> = {}): Harness => {
  const h = new Harness(config);
  h.bringOnline(durable);
  h.flush();
  return h;
};

const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));

describe("resumable operations by id", () => {
  it("hands an executing resumable operation out again after a crash and reports its result once", () => {
    const h = online(byIdConfig);
    h.deliver(TOPIC, firmware("41"));
    h.deliver(TOPIC, command("42", "long job"));
    h.persistAll();
    h.flush();
    expect(h.handedOut.map((o) => [o.key, o.resumed])).toEqual([
      ["id-41", undefined],
      ["id-42", undefined],
    ]);
    const after = online(byIdConfig, Object.fromEntries(h.storage)); // crash
    expect(after.handedOut).toMatchObject([
      {
        key: "id-41",
        fragment: "c8y_Firmware",
        resumed: true,
        operation: { template: "515", version: "2.0" },
      },
    ]);
    // Not resumable: failed as before, and not handed out again.
    expect(statusRows(after)).toEqual(["505,42,c8ylink restarted while the operation was executing"]);
    after.finish("id-41", { status: "successful" });
    after.flush();
    expect(statusRows(after)).toEqual([
      "505,42,c8ylink restarted while the operation was executing",
      "506,41",
    ]);
    expect(openEntries(after.state.journal)).toEqual([]);
  });

  it("resumes again after a second crash during the resumption", () => {
    const h = online(byIdConfig);
    h.deliver(TOPIC, firmware("51"));
    h.persistAll();
    h.flush();
    const first = Object.fromEntries(h.storage);
    const second = online(byIdConfig, first);
    expect(second.handedOut).toHaveLength(1);
    // The disk after the second crash: the first run's records with the second run's writes.
    const disk = { ...first, ...Object.fromEntries(second.storage) };
    const third = online(byIdConfig, Object.fromEntries(Object.entries(disk).filter(([, v]) => v !== null)));
    expect(third.handedOut).toMatchObject([{ key: "id-51", resumed: true }]);
    third.finish("id-51", { status: "failed", reason: "verify failed" });
    third.flush();
    expect(statusRows(third)).toEqual(["505,51,verify failed"]);
  });

  it("without the option an executing firmware update is failed at the restart (the default)", () => {
    const { resumableOperations: _r, ...plain } = byIdConfig;
    const h = online(plain);
    h.deliver(TOPIC, firmware("61"));
    h.persistAll();
    h.flush();
    const after = online(plain, Object.fromEntries(h.storage));
    expect(after.handedOut).toEqual([]);
    expect(statusRows(after)).toEqual(["505,61,c8ylink restarted while the operation was executing"]);
  });
});

describe("resumable operations, static mode", () => {
  it("hands out the executing line again and ends it with 503 once; other fragments fail", () => {
    const h = online(staticConfig);
    h.deliver("s/ds", "515,dev1,fw,2.0,http://x/fw.bin\n511,dev1,sleep 100");
    h.persistAll();
    h.flush();
    h.persistAll();
    expect(h.handedOut).toHaveLength(2);
    const after = online(staticConfig, Object.fromEntries(h.storage));
    expect(after.handedOut).toMatchObject([{ fragment: "c8y_Firmware", resumed: true }]);
    after.finish(after.handedOut[0]!.key, { status: "successful" });
    after.flush();
    const rows = statusRows(after);
    expect(rows.filter((r) => r.startsWith("503"))).toEqual(["503,c8y_Firmware"]);
    expect(rows).toContain("502,c8y_Command,c8ylink restarted while the operation was executing");
    expect(rows.filter((r) => r.startsWith("502,c8y_Firmware"))).toEqual([]);
  });
});

describe("resumableOperations in the configuration", () => {
  const ok = { deviceId: "dev1", auth: { mode: "certificate" } };
  const problems = (input: unknown): string => {
    const result = decodeConfig(input);
    return E.isLeft(result) ? formatProblems(result.left) : "";
  };

  it("defaults to none and keeps the given fragments", () => {
    const plain = decodeConfig(ok);
    const given = decodeConfig({ ...ok, resumableOperations: ["c8y_Firmware"] });
    expect(E.isRight(plain) && plain.right.resumableOperations).toEqual([]);
    expect(E.isRight(given) && given.right.resumableOperations).toEqual(["c8y_Firmware"]);
  });

  it("names the key of a wrong value or a misspelling", () => {
    expect(problems({ ...ok, resumableOperations: [""] })).toContain("resumableOperations.0");
    expect(problems({ ...ok, resumableOperations: "c8y_Firmware" })).toContain("resumableOperations");
    expect(problems({ ...ok, resumableOperation: [] })).toContain('did you mean "resumableOperations"?');
  });
});
