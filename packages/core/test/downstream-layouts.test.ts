/**
 * The building blocks of the downstream table (columns, layouts, the device-profile sections)
 * on their own, not only through the templates that use them: the exact refusal of each
 * column and section, the edges of `integer`'s range, and each guard (`is`) refusing what its
 * decoder never yields (a non-object, a missing or wrong field, a constant that differs).
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import {
  deviceProfile,
  flag,
  groupField,
  integer,
  isArrayOf,
  isObject,
  isString,
  record,
  relayState,
  repeated,
  required,
  softwareAction,
  text,
  values,
  withConstants,
  withoutTrailingEmpty,
  type Layout,
} from "../src/smartrest/downstream-layouts.js";

const left = <A>(r: E.Either<string, A>): string | undefined => (E.isLeft(r) ? r.left : undefined);

describe("columns", () => {
  it("required refuses the empty field by name and guards non-empty strings only", () => {
    expect(required.decode("")).toEqual(E.left("must not be empty"));
    expect(required.decode("x")).toEqual(E.right("x"));
    expect(required.is("x")).toBe(true);
    expect(required.is("")).toBe(false);
    expect(required.is(1)).toBe(false);
    expect(required.is(undefined)).toBe(false);
  });

  it("integer accepts both ends of its range and refuses one past each, naming range and field", () => {
    const port = integer(1, 65535);
    expect(port.decode("1")).toEqual(E.right(1));
    expect(port.decode("65535")).toEqual(E.right(65535));
    expect(port.decode("0")).toEqual(E.left("not an integer in [1, 65535]: '0'"));
    expect(port.decode("65536")).toEqual(E.left("not an integer in [1, 65535]: '65536'"));
    expect(port.is(1)).toBe(true);
    expect(port.is(65535)).toBe(true);
    expect(port.is(0)).toBe(false);
    expect(port.is(65536)).toBe(false);
    expect(port.is(1.5)).toBe(false);
    expect(port.is("5")).toBe(false);
  });

  // Oracle: BigInt arithmetic on the digits, not Number().
  test.prop([
    fc.integer({ min: 0, max: 20 }),
    fc.integer({ min: 0, max: 20 }),
    fc.stringMatching(/^[0-9+\-e. ]{0,4}$/),
  ])("integer(min, max) accepts exactly the digit strings whose value is in [min, max]", (a, b, raw) => {
    const [min, max] = a <= b ? [a, b] : [b, a];
    const inRange = /^[0-9]+$/.test(raw) && BigInt(raw) >= BigInt(min) && BigInt(raw) <= BigInt(max);
    const decoded = integer(min, max).decode(raw);
    expect(decoded).toEqual(
      inRange ? E.right(Number(BigInt(raw))) : E.left(`not an integer in [${min}, ${max}]: '${raw}'`),
    );
  });

  it("oneOf lists the values it expected and the field it got", () => {
    expect(relayState.decode("x")).toEqual(E.left("expected one of OPEN/CLOSED, got 'x'"));
    expect(relayState.decode("CLOSE")).toEqual(E.right("CLOSED"));
    expect(softwareAction.decode("remove")).toEqual(E.left("expected one of install/delete, got 'remove'"));
  });

  it("flag reads true/false in any case and the empty field as false, and names what it refused", () => {
    expect(flag.decode("")).toEqual(E.right(false));
    expect(flag.decode("FALSE")).toEqual(E.right(false));
    expect(flag.decode("True")).toEqual(E.right(true));
    expect(flag.decode("yes")).toEqual(E.left("not a boolean: 'yes'"));
    expect(flag.decode(" ")).toEqual(E.left("not a boolean: ' '"));
    expect(flag.is(false)).toBe(true);
    expect(flag.is("true")).toBe(false);
    expect(flag.is(0)).toBe(false);
  });
});

describe("guards and helpers", () => {
  it("isObject is true for objects and arrays only", () => {
    expect(isObject({})).toBe(true);
    expect(isObject([])).toBe(true);
    expect(isObject(null)).toBe(false);
    expect(isObject(undefined)).toBe(false);
    expect(isObject("x")).toBe(false);
    expect(isObject(1)).toBe(false);
  });

  it("isArrayOf wants an array whose every item passes", () => {
    expect(isArrayOf([], isString)).toBe(true);
    expect(isArrayOf(["a", "b"], isString)).toBe(true);
    expect(isArrayOf(["a", 1], isString)).toBe(false);
    expect(isArrayOf([1], isString)).toBe(false);
    expect(isArrayOf("ab", isString)).toBe(false);
    expect(isArrayOf({ length: 0 }, isString)).toBe(false);
    expect(isArrayOf(undefined, isString)).toBe(false);
  });

  it("withoutTrailingEmpty drops only the empty fields at the end", () => {
    expect(withoutTrailingEmpty(["", "", ""])).toEqual([]);
    expect(withoutTrailingEmpty([])).toEqual([]);
    expect(withoutTrailingEmpty(["", "a", "", ""])).toEqual(["", "a"]);
  });

  it("record names the field that a column refused", () => {
    const layout = record<{ name: string; port: number }>({ name: required, port: integer(1, 65535) });
    expect(layout.decode(["", "1"])).toEqual(E.left("name: must not be empty"));
    expect(layout.decode(["a", "0"])).toEqual(E.left("port: not an integer in [1, 65535]: '0'"));
  });

  it("repeated and values guard an object holding a list of valid items under their key", () => {
    const states = values("relayStates", "relayState", relayState);
    expect(states.is({ relayStates: ["OPEN", "CLOSED"] })).toBe(true);
    expect(states.is({ relayStates: ["CLOSE"] })).toBe(false);
    expect(states.is({})).toBe(false);
    expect(states.is(null)).toBe(false);
    expect(states.is(["OPEN"])).toBe(false);
    const names = repeated("names", record<{ name: string }>({ name: required }));
    expect(names.is({ names: [{ name: "a" }] })).toBe(true);
    expect(names.is({ names: [{ name: "" }] })).toBe(false);
    expect(names.is(undefined)).toBe(false);
  });
});

describe("layouts built at test time: wire fields and encoding", () => {
  it("record lists its fields in column order and encodes each with its column", () => {
    const layout = record<{ host: string; port: number; on: boolean }>({
      host: required,
      port: integer(1, 65535),
      on: flag,
    });
    expect(layout.fields).toEqual(["host", "port", "on"]);
    expect(layout.encode({ host: "h", port: 8080, on: false })).toEqual(["h", "8080", "false"]);
    expect(layout.decode(layout.encode({ host: "h", port: 1, on: true }))).toEqual(
      E.right({ host: "h", port: 1, on: true }),
    );
  });

  it("integer encodes as plain decimal digits", () => {
    expect(integer(0, Number.MAX_SAFE_INTEGER).encode(9007199254740991)).toBe("9007199254740991");
    expect(integer(0, 10).encode(0)).toBe("0");
  });

  it("a repeated group is one field named (a, b)* and encodes and decodes item after item", () => {
    expect(groupField(["name", "version", "url"])).toBe("(name, version, url)*");
    const layout = repeated("items", record<{ a: string; b: string }>({ a: required, b: text }));
    expect(layout.fields).toEqual(["(a, b)*"]);
    expect(
      layout.encode({
        items: [
          { a: "1", b: "" },
          { a: "2", b: "x" },
        ],
      }),
    ).toEqual(["1", "", "2", "x"]);
    expect(layout.decode(["1", "", "2", "x", "", ""])).toEqual(
      E.right({
        items: [
          { a: "1", b: "" },
          { a: "2", b: "x" },
        ],
      }),
    );
  });

  it("a list of values is one field named (name)* and encodes and decodes value after value", () => {
    const layout = values("relayStates", "relayState", relayState);
    expect(layout.fields).toEqual(["(relayState)*"]);
    expect(layout.encode({ relayStates: ["OPEN", "CLOSED"] })).toEqual(["OPEN", "CLOSED"]);
    expect(layout.decode(["OPEN", "CLOSE", ""])).toEqual(E.right({ relayStates: ["OPEN", "CLOSED"] }));
    expect(layout.decode(["OPEN", "x"])).toEqual(
      E.left("relayStates[1] expected one of OPEN/CLOSED, got 'x'"),
    );
  });
});

describe("withConstants", () => {
  // Built inside each test: Stryker activates a mutant only while tests run, so a layout built
  // when the file loads would keep the unmutated closures.
  const patchLayout = () =>
    withConstants(record<{ name: string }>({ name: required }), { isPatch: true, kind: "patch" });

  it("decodes with every constant added and encodes the wrapped layout's fields only", () => {
    const layout = patchLayout();
    expect(layout.fields).toEqual(["name"]);
    expect(layout.encode({ name: "a", isPatch: true, kind: "patch" })).toEqual(["a"]);
    expect(layout.decode(["a"])).toEqual(E.right({ name: "a", isPatch: true, kind: "patch" }));
  });

  it("guards the layout's payload carrying every constant, each with its own value", () => {
    const layout = patchLayout();
    expect(layout.is({ name: "a", isPatch: true, kind: "patch" })).toBe(true);
    expect(layout.is({ name: "a", isPatch: true, kind: "full" })).toBe(false);
    expect(layout.is({ name: "a", isPatch: false, kind: "patch" })).toBe(false);
    expect(layout.is({ name: "a" })).toBe(false);
    expect(layout.is({ name: "", isPatch: true, kind: "patch" })).toBe(false);
    expect(layout.is({ isPatch: true, kind: "patch" })).toBe(false);
    expect(layout.is(null)).toBe(false);
  });

  it("refuses a non-object even when the wrapped layout's guard would accept it", () => {
    // A layout whose payload is a string: "a".length === 1, so only the object check refuses it.
    const word: Layout<string> = {
      fields: ["w"],
      decode: (f) => E.right(f[0] ?? ""),
      encode: (w) => [w],
      is: isString,
    };
    expect(withConstants(word, { length: 1 }).is("a")).toBe(false);
  });
});

describe("deviceProfile", () => {
  type Software = { name: string; action: "install" | "delete" };
  const profileLayout = () => deviceProfile(record<Software>({ name: required, action: softwareAction }));
  const fw = { name: "fw", version: "1.0", url: "http://fw", isPatch: false, dependency: "" };

  it("lists its wire fields by section and encodes an absent firmware as $FW and five empty fields", () => {
    const profile = profileLayout();
    expect(profile.fields).toEqual([
      "$FW",
      "name",
      "version",
      "url",
      "isPatch",
      "dependency",
      "$SW",
      "(name, action)*",
      "$CONF",
      "(url, type)*",
    ]);
    const sw = [{ name: "a", action: "install" as const }];
    const conf = [{ url: "http://c", type: "t" }];
    expect(profile.encode({ software: sw, configuration: conf })).toEqual([
      "$FW",
      "",
      "",
      "",
      "",
      "",
      "$SW",
      "a",
      "install",
      "$CONF",
      "http://c",
      "t",
    ]);
    expect(profile.encode({ firmware: fw, software: [], configuration: [] })).toEqual([
      "$FW",
      "fw",
      "1.0",
      "http://fw",
      "false",
      "",
      "$SW",
      "$CONF",
    ]);
  });

  it("an absent firmware is no key at all, not a key holding undefined", () => {
    const profile = profileLayout();
    for (const row of [[], ["$FW"], ["$FW", "", "", "", "", ""], ["$SW", "a", "install"]]) {
      const decoded = profile.decode(row);
      expect(E.isRight(decoded) && "firmware" in decoded.right).toBe(false);
    }
    expect(profile.decode(["$FW", "fw", "1.0", "http://fw"])).toStrictEqual(
      E.right({ firmware: fw, software: [], configuration: [] }),
    );
  });

  it("tolerates empty fields before the first marker and refuses anything else there", () => {
    const profile = profileLayout();
    expect(profile.decode(["", "", "$SW", "a", "install"])).toStrictEqual(
      E.right({ software: [{ name: "a", action: "install" }], configuration: [] }),
    );
    expect(profile.decode(["x", "$FW"])).toEqual(E.left("expected $FW, $SW or $CONF before 'x'"));
  });

  it("refuses a section given twice, naming it", () => {
    const profile = profileLayout();
    expect(profile.decode(["$SW", "$CONF", "$SW"])).toEqual(E.left("duplicate $SW section"));
    expect(profile.decode(["$FW", "$FW"])).toEqual(E.left("duplicate $FW section"));
  });

  it("names the firmware field a column refused", () => {
    const profile = profileLayout();
    expect(profile.decode(["$FW", "", "1.0"])).toEqual(E.left("firmware name: must not be empty"));
    expect(profile.decode(["$FW", "fw", "", "", "maybe"])).toEqual(
      E.left("firmware isPatch: not a boolean: 'maybe'"),
    );
  });

  it("without name, version and url the firmware is absent, up to exactly five fields", () => {
    const profile = profileLayout();
    expect(profile.decode(["$FW", "", "", "", "true", "1.0"])).toStrictEqual(
      E.right({ software: [], configuration: [] }),
    );
    expect(profile.decode(["$FW", "", "", "", "true", "1.0", "x"])).toEqual(
      E.left("firmware: expected at most 5 field(s)"),
    );
    expect(profile.decode(["$FW", "", "", "", "", "", "", ""])).toStrictEqual(
      E.right({ software: [], configuration: [] }),
    );
  });

  it("names the software or configuration group and field that was refused", () => {
    const profile = profileLayout();
    expect(profile.decode(["$SW", "a", "install", "", "delete"])).toEqual(
      E.left("software[1] name: must not be empty"),
    );
    expect(profile.decode(["$CONF", "http://c", "t", "", "t"])).toEqual(
      E.left("configuration[1] url: must not be empty"),
    );
    expect(left(profile.decode(["$SW", "a", "remove"]))).toBe(
      "software[0] action: expected one of install/delete, got 'remove'",
    );
  });

  it("guards a profile: an object with valid lists, and a firmware only if the key is there", () => {
    const profile = profileLayout();
    const ok = {
      software: [{ name: "a", action: "install" }],
      configuration: [{ url: "http://c", type: "" }],
    };
    expect(profile.is(ok)).toBe(true);
    expect(profile.is({ ...ok, firmware: fw })).toBe(true);
    expect(profile.is({ ...ok, firmware: undefined })).toBe(false);
    expect(profile.is({ ...ok, firmware: { ...fw, name: "" } })).toBe(false);
    expect(profile.is({ ...ok, software: [{ name: "a", action: "remove" }] })).toBe(false);
    expect(profile.is({ ...ok, software: undefined })).toBe(false);
    expect(profile.is({ ...ok, configuration: [{ url: "", type: "" }] })).toBe(false);
    expect(profile.is({ ...ok, configuration: "none" })).toBe(false);
    expect(profile.is(null)).toBe(false);
    expect(profile.is("profile")).toBe(false);
  });
});
