/**
 * Id-less mode (issue 8): status rows restored after a crash or re-sent after a connection
 * loss must not act on an operation they were not meant for, and the platform's `s/e` answer
 * to a status row that matched nothing resynchronises. Each case is a failing fake world
 * reduced to its steps (seeds named below, `--operations static --devices 3`).
 */
import { describe, expect, it } from "vitest";
import { Harness } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const config = dev2Static;

const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));

const journal = (key: string, fragment: string, raw: string[]) => ({
  [`journal/${key}`]: {
    key,
    seq: 1,
    deviceId: "dev2",
    fragment,
    raw,
    failure: null,
    stage: "executing",
    order: 1,
  },
});

const outboxRow = (ref: number, line: string, opKey?: string) => ({
  [`outbox/${String(ref).padStart(12, "0")}`]: {
    ref,
    cls: "operation-status",
    topic: "s/us",
    line,
    bytes: line.length,
    template: line.split(",")[0],
    ...(opKey === undefined ? {} : { opKey }),
  },
});

/** Boots from `durable`, delivers `answer` on s/ds while settling, then lets settling end. */
const reboot = (durable: Record<string, unknown>, answer?: string): Harness => {
  const h = new Harness(config);
  h.start(durable);
  h.connack();
  h.suback();
  h.persistAll();
  h.ackAll();
  if (answer !== undefined) h.deliver("s/ds", answer);
  h.advance(60_000);
  h.flush();
  return h;
};

describe("id-less status rows after a restart", () => {
  it("withdraws a restored 501 whose operation had already ended (seed 47)", () => {
    const h = reboot(outboxRow(12, "501,c8y_Restart", "op-5#executing"));
    expect(statusRows(h)).toEqual([]);
    expect(h.state.counters.droppedByReason["operation-status-withdrawn"]).toBe(1);
  });

  it("sends a restored 507 only once its group is quiet, after our own restart's 503 (seed 104)", () => {
    const h = reboot({
      ...journal("op-1", "c8y_Restart", ["510", "dev2"]),
      ...outboxRow(3, "507,c8y_Restart,c8ylink: a status row may have been applied twice"),
    });
    expect(statusRows(h)).toEqual([
      "503,c8y_Restart",
      "507,c8y_Restart,c8ylink: a status row may have been applied twice",
    ]);
  });

  it("ends a stray restart started by a 501 re-sent after the reboot successfully (seed 280)", () => {
    // The answer lists `510,dev2`: our restart still PENDING, or an identical newer one.
    const h = reboot(
      {
        ...journal("op-1", "c8y_Restart", ["510", "dev2"]),
        ...outboxRow(2, "501,c8y_Restart", "op-1#executing"),
      },
      "510,dev2",
    );
    const rows = statusRows(h);
    expect(rows.filter((r) => r.startsWith("507"))).toEqual([]);
    expect(rows).toEqual(["501,c8y_Restart", "503,c8y_Restart", "503,c8y_Restart"]);
  });
});

describe("a restart that absorbed an identical PENDING line, after the reboot (seed 6122681)", () => {
  // Two `510,dev2` lines while PENDING: a redelivery, or a second restart that a replayed 501
  // set EXECUTING together with ours. The 500 after the reboot lists only PENDING operations,
  // so nothing would ever name the second one again.
  const restart = (order: number) => ({
    ...journal("op-1", "c8y_Restart", ["510", "dev2"]),
    "journal/op-1": { ...journal("op-1", "c8y_Restart", ["510", "dev2"])["journal/op-1"], order },
  });

  it("ends any other EXECUTING restart of the device once its own 503 is acknowledged", () => {
    const h = reboot(restart(2));
    expect(statusRows(h)).toEqual(["503,c8y_Restart", "503,c8y_Restart"]);
  });

  it("sends nothing more for a restart that never absorbed a line", () => {
    const h = reboot(restart(1));
    expect(statusRows(h)).toEqual(["503,c8y_Restart"]);
  });
});

describe("resynchronising on s/e (seed 602)", () => {
  const crashedCommand = {
    ...journal("op-1", "c8y_Command", ["511", "dev2", "ls"]),
    ...outboxRow(2, "501,c8y_Command", "op-1#executing"),
  };
  const failed = "502,c8y_Command,c8ylink restarted while the operation was executing";
  const nothingExecuting = "41,502,No EXECUTING operation with fragment c8y_Command for device dev2";

  it("takes an unlisted 501 as applied, and sends 501 and the terminal row again when the platform proves otherwise", () => {
    // The answer came too late to list the operation: the prefix rule takes its 501 as applied.
    const h = reboot(crashedCommand);
    expect(statusRows(h)).toEqual([failed]);
    h.deliver("s/e", nothingExecuting);
    h.flush();
    expect(h.rowsOn("s/us").at(-1)).toBe("500");
    // The operation is still PENDING: its line comes back.
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    expect(statusRows(h)).toEqual([failed, "501,c8y_Command", failed]);
    expect(h.handedOut).toEqual([]);
  });

  it("does not resynchronise when the line does not come back (a replayed terminal row caused the error)", () => {
    const h = reboot(crashedCommand);
    h.deliver("s/e", nothingExecuting);
    h.flush();
    h.advance(60_000);
    h.flush();
    expect(statusRows(h)).toEqual([failed]);
  });

  it("ignores the error when s/e is not subscribed: nothing to probe", () => {
    const h = new Harness({ ...config, subscribeErrors: false });
    h.bringOnline(crashedCommand);
    h.flush();
    h.deliver("s/e", nothingExecuting);
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    expect(statusRows(h).filter((r) => r === "501,c8y_Command")).toEqual([]);
  });
});
