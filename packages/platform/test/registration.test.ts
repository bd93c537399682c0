/** Bootstrap registration (spec §3) and certificate sessions with JWTs (spec §8). */
import { describe, expect, it } from "vitest";
import { authenticateRestToken, findRegistration, listErrors } from "../src/index.js";
import { connackCode, delivered, ofType, Sim, TENANT } from "./support/sim.js";

const bootstrap = (s: Sim, key: string, id: string) => {
  const out = s.connect(key, id, "management/devicebootstrap", "bs-secret");
  s.subscribe(key, "s/dcr");
  return out;
};
const poll = (s: Sim, key: string) => delivered(s.publish(key, "s/ucr", ""), "s/dcr");
const statuses = (s: Sim, id: string) => findRegistration(s.state, id)?.history.map((h) => h.status);

describe("bootstrap", () => {
  it("answers 70 only on the first poll after acceptance; earlier polls get nothing", () => {
    const s = new Sim({ seed: 42 });
    s.step({ type: "admin-register", deviceId: "dev1" });
    expect(findRegistration(s.state, "dev1")?.status).toBe("WAITING_FOR_CONNECTION");
    expect(connackCode(bootstrap(s, "b", "dev1"))).toBe(0);

    // Accepting before the device asked is refused (spec §3.2).
    expect(ofType(s.step({ type: "admin-accept", deviceId: "dev1" }), "admin-result")[0]?.ok).toBe(false);

    expect(poll(s, "b")).toEqual([]);
    expect(findRegistration(s.state, "dev1")?.status).toBe("PENDING_ACCEPTANCE");
    expect(poll(s, "b")).toEqual([]);
    expect(ofType(s.step({ type: "admin-accept", deviceId: "dev1" }), "admin-result")[0]?.ok).toBe(true);

    const [credentials] = poll(s, "b");
    expect(credentials).toMatch(new RegExp(`^70,${TENANT},device_dev1,[A-Za-z0-9]{16}$`));
    expect(statuses(s, "dev1")).toEqual(["WAITING_FOR_CONNECTION", "PENDING_ACCEPTANCE", "ACCEPTED"]);
    expect(findRegistration(s.state, "dev1")?.polls).toBe(3);
    // Re-polling re-delivers the same credentials.
    expect(poll(s, "b")).toEqual([credentials]);

    // The device reconnects with them (same ClientId): the bootstrap session is replaced.
    const [, tenant, user, password = ""] = (credentials ?? "").split(",");
    const out = s.connect("d", "d:dev1", `${tenant}/${user}`, password);
    expect(connackCode(out)).toBe(0);
    expect(ofType(out, "disconnect")).toMatchObject([{ clientKey: "b" }]);
  });

  it("passwords are deterministic from the seed and differ between devices", () => {
    const run = (seed: number) => {
      const s = new Sim({ seed, autoAccept: true });
      return ["a", "b"].map((id) => {
        s.step({ type: "admin-register", deviceId: id });
        bootstrap(s, id, id);
        poll(s, id);
        return poll(s, id)[0];
      });
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)[0]).not.toEqual(run(7)[1]);
    expect(run(7)).not.toEqual(run(8));
  });

  it("autoAccept accepts on the first poll and hands out credentials on the next one", () => {
    const s = new Sim({ autoAccept: true });
    s.step({ type: "admin-register", deviceId: "dev1" });
    bootstrap(s, "b", "dev1");
    expect(poll(s, "b")).toEqual([]);
    expect(findRegistration(s.state, "dev1")?.status).toBe("ACCEPTED");
    expect(poll(s, "b")).toHaveLength(1);
  });

  it("polls for an unregistered id are silent (spec gap 17)", () => {
    const s = new Sim();
    bootstrap(s, "b", "ghost");
    expect(poll(s, "b")).toEqual([]);
    expect(poll(s, "b")).toEqual([]);
    expect(findRegistration(s.state, "ghost")).toBeUndefined();
    expect(listErrors(s.state)).toEqual([]);
  });

  it("autoAccept registers and accepts an id that polls without a prior registration", () => {
    const s = new Sim({ autoAccept: true });
    bootstrap(s, "b", "ghost");
    expect(poll(s, "b")).toEqual([]);
    expect(findRegistration(s.state, "ghost")?.status).toBe("ACCEPTED");
    expect(poll(s, "b")).toHaveLength(1);
    expect(listErrors(s.state)).toEqual([]);
  });

  it("blocking disconnects the bootstrap session and refuses later bootstrap connects with 5", () => {
    const s = new Sim();
    s.step({ type: "admin-register", deviceId: "dev1" });
    bootstrap(s, "b", "dev1");
    poll(s, "b");
    const out = s.step({ type: "admin-block", deviceId: "dev1" });
    expect(ofType(out, "disconnect")).toMatchObject([{ clientKey: "b", reason: "device blocked" }]);
    expect(findRegistration(s.state, "dev1")?.status).toBe("BLOCKED");
    expect(connackCode(s.connect("b", "dev1", "management/devicebootstrap", "bs-secret"))).toBe(5);
    expect(connackCode(s.connect("b", "dev1", "management/devicebootstrap", "wrong"))).toBe(4);
  });

  it("bootstrap sessions may only publish on s/ucr", () => {
    const s = new Sim();
    bootstrap(s, "b", "dev1");
    expect(ofType(s.publish("b", "s/us", "100"), "disconnect")).toHaveLength(1);
  });
});

describe("certificate sessions", () => {
  const decodeClaims = (token: string) =>
    JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;

  it("s/uat answers 71 with a JWT whose iat/exp come from the input clock and the lifetime option", () => {
    const s = new Sim({ trustedCertificates: ["cert1"], tokenLifetimeSeconds: 600 });
    expect(connackCode(s.connect("c", "d:cert1", null, null, "cert1"))).toBe(0);
    s.subscribe("c", "s/dat");
    const [line = ""] = delivered(s.publish("c", "s/uat", ""), "s/dat");
    expect(line).toMatch(/^71,[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = decodeClaims(line.slice(3));
    expect(claims).toMatchObject({
      sub: "device_cert1",
      ten: TENANT,
      iat: s.now / 1000,
      exp: s.now / 1000 + 600,
    });
    // Deterministic: the same request at the same time gives the same token.
    const again = new Sim({ trustedCertificates: ["cert1"], tokenLifetimeSeconds: 600 });
    again.connect("c", "d:cert1", null, null, "cert1");
    again.subscribe("c", "s/dat");
    expect(delivered(again.publish("c", "s/uat", ""), "s/dat")).toEqual([line]);
  });

  it("the token opens the REST API for its device until it expires; tampered or foreign tokens do not", () => {
    const s = new Sim({ trustedCertificates: ["cert1"], tokenLifetimeSeconds: 600 });
    s.connect("c", "d:cert1", null, null, "cert1");
    s.subscribe("c", "s/dat");
    const [line = ""] = delivered(s.publish("c", "s/uat", ""), "s/dat");
    const token = line.slice(3);
    expect(authenticateRestToken(s.state, token, s.now)).toEqual({
      ok: true,
      username: "device_cert1",
      deviceId: "cert1",
    });
    const refused = (t: string, nowMs: number) => {
      const login = authenticateRestToken(s.state, t, nowMs);
      return login.ok ? "accepted" : login.reason;
    };
    expect(refused(token, s.now + 599_000)).toBe("accepted");
    expect(refused(token, s.now + 600_000)).toBe("token expired");
    const [header = "", claims = "", signature = ""] = token.split(".");
    const forged = Buffer.from(
      JSON.stringify({ ...decodeClaims(token), exp: s.now / 1000 + 999_999 }),
    ).toString("base64url");
    expect(refused(`${header}.${forged}.${signature}`, s.now)).toMatch(/signature does not match/);
    expect(refused(`${header}.${claims}`, s.now)).toMatch(/not a JWT/);
    // Issued by another tenant (same user name, same time): not this tenant's token.
    const other = new Sim({ tenantId: "t999", trustedCertificates: ["cert1"], tokenLifetimeSeconds: 600 });
    other.connect("c", "d:cert1", null, null, "cert1");
    other.subscribe("c", "s/dat");
    const [foreign = ""] = delivered(other.publish("c", "s/uat", ""), "s/dat");
    expect(refused(foreign.slice(3), s.now)).toBe("token of another tenant");
  });

  it("password sessions cannot subscribe s/dat and get no token", () => {
    const s = new Sim({ users: [{ username: "device_dev1", password: "pw" }] });
    s.connect("c", "dev1", `${TENANT}/device_dev1`, "pw");
    expect(ofType(s.subscribe("c", "s/dat"), "suback")[0]?.granted).toEqual([0x80]);
    expect(ofType(s.publish("c", "s/uat", ""), "deliver")).toEqual([]);
  });

  it("a blocked certificate device is refused with 5", () => {
    const s = new Sim({ trustedCertificates: ["cert1"] });
    s.connect("c", "d:cert1", null, null, "cert1");
    expect(ofType(s.step({ type: "admin-block", deviceId: "cert1" }), "disconnect")).toHaveLength(1);
    expect(connackCode(s.connect("c", "d:cert1", null, null, "cert1"))).toBe(5);
  });
});
