/** Device creation and hierarchy (spec §2.3, §4.1) and the inventory answers 106 / 124. */
import { describe, expect, it } from "vitest";
import { findDevice, listDevices, listErrors } from "../src/index.js";
import { plain } from "./support/plain.js";
import { delivered, deviceUsers, Sim } from "./support/sim.js";

const online = () => {
  const s = new Sim({ users: deviceUsers("dev1", "dev2") });
  s.device("c", "dev1", "s/ds", "s/e");
  return s;
};

describe("device creation", () => {
  it("100 creates the device with the ClientId's id as c8y_Serial and is a no-op afterwards", () => {
    const s = online();
    s.publish("c", "s/us", "100,My Pump,acme_Pump");
    s.publish("c", "s/us", "100,Other,other");
    expect(listDevices(s.state)).toMatchObject([
      {
        externalId: "dev1",
        name: "My Pump",
        type: "acme_Pump",
        parent: null,
        fragments: { c8y_IsDevice: {}, com_cumulocity_model_Agent: {} },
      },
    ]);
  });

  it("any data for an unknown root creates it with the defaults", () => {
    const s = online();
    s.publish("c", "s/us", "211,21.5");
    expect(findDevice(s.state, "dev1")).toMatchObject({ name: "MQTT Device dev1", type: "c8y_MQTTDevice" });
  });

  it("101 nests children via s/us/<parent>; unknown s/us/<child> becomes a first-level child", () => {
    const s = online();
    s.publish("c", "s/us", "100\n101,dev1-valve,Valve");
    s.publish("c", "s/us/dev1-valve", "101,dev1-valve-sensor,Sensor,,false");
    s.publish("c", "s/us/dev1-auto", "200,c8y_Temperature,T,1");
    expect(findDevice(s.state, "dev1")?.children).toEqual(["dev1-valve", "dev1-auto"]);
    expect(findDevice(s.state, "dev1-valve")).toMatchObject({
      parent: "dev1",
      name: "Valve",
      type: "c8y_MQTTChildDevice",
      children: ["dev1-valve-sensor"],
      fragments: { c8y_IsDevice: {} },
    });
    expect(findDevice(s.state, "dev1-valve-sensor")).toMatchObject({ parent: "dev1-valve", fragments: {} });
    expect(findDevice(s.state, "dev1-auto")).toMatchObject({ parent: "dev1", name: "MQTT Device dev1-auto" });
  });

  it("a topic naming another device's child is refused on s/e", () => {
    const s = online();
    s.publish("c", "s/us", "101,dev1-child");
    s.device("c2", "dev2", "s/e");
    const out = s.publish("c2", "s/us/dev1-child", "211,5");
    expect(delivered(out, "s/e")).toEqual(["41,211,dev1-child does not belong to device dev2"]);
  });

  it("102 creates services as child additions; 104 on the service topic sets the status", () => {
    const s = online();
    s.publish("c", "s/us", "102,dev1-db,systemd,Database,up");
    s.publish("c", "s/us/dev1-db", "104,down");
    expect(findDevice(s.state, "dev1")?.services).toEqual(["dev1-db"]);
    expect(findDevice(s.state, "dev1-db")).toMatchObject({
      kind: "service",
      type: "c8y_Service",
      name: "Database",
      fragments: { serviceType: "systemd", status: "down" },
    });
  });
});

describe("answers on s/ds", () => {
  it("105 → 106 with the child ids (a bare 106 without children)", () => {
    const s = online();
    expect(delivered(s.publish("c", "s/us", "105"), "s/ds")).toEqual(["106"]);
    s.publish("c", "s/us", "101,k1\n101,k2");
    expect(delivered(s.publish("c", "s/us", "105"), "s/ds")).toEqual(["106,k1,k2"]);
  });

  it("123 → 124 with the managed object id of the addressed device", () => {
    const s = online();
    s.publish("c", "s/us", "100\n101,k1");
    expect(delivered(s.publish("c", "s/us", "123"), "s/ds")).toEqual([
      `124,${findDevice(s.state, "dev1")?.id}`,
    ]);
    expect(delivered(s.publish("c", "s/us/k1", "123"), "s/ds")).toEqual([
      `124,${findDevice(s.state, "k1")?.id}`,
    ]);
  });

  it("600 → 601 and 602 → 603", () => {
    const s = online();
    expect(delivered(s.publish("c", "s/us", "600"), "s/ds")).toEqual(["601,2025.0.0"]);
    const [ids = ""] = delivered(s.publish("c", "s/us", "602"), "s/ds");
    expect(ids).toMatch(/^603,100,101,102,.*,510,511,.*,603$/);
  });
});

describe("inventory fragments", () => {
  it("writes the documented fragments", () => {
    const s = online();
    s.publish(
      "c",
      "s/us",
      [
        "110,SN1,Model X,1.0",
        "111,imei1,,imsi1",
        "112,52.1,13.2,,5",
        '113,"a=1\nb=2"',
        "114,c8y_Restart,c8y_Command",
        "115,fw,1.2,http://fw",
        "116,a,1,u1,b,,u2",
        "117,10",
        "117,20",
        "118,syslog",
        "120,ssh,http://conf,,2024-01-01T00:00:00Z",
        "122,agent,1.0,,me",
        "143,apt,docker",
        "150,ssh,,vnc",
      ].join("\n"),
    );
    expect(listErrors(s.state)).toEqual([]);
    expect(findDevice(s.state, "dev1")?.fragments).toMatchObject({
      c8y_Hardware: { serialNumber: "SN1", model: "Model X", revision: "1.0" },
      c8y_Mobile: { imei: "imei1", imsi: "imsi1" },
      c8y_Position: { lat: 52.1, lng: 13.2, accuracy: 5 },
      c8y_Configuration: { config: "a=1\nb=2" },
      c8y_SupportedOperations: ["c8y_Restart", "c8y_Command"],
      c8y_Firmware: { name: "fw", version: "1.2", url: "http://fw" },
      c8y_SoftwareList: [
        { name: "a", version: "1", url: "u1" },
        { name: "b", url: "u2" },
      ],
      c8y_RequiredAvailability: { responseInterval: 10 },
      c8y_SupportedLogs: ["syslog"],
      c8y_Configuration_ssh: { name: "ssh", type: "ssh", url: "http://conf", time: "2024-01-01T00:00:00Z" },
      c8y_Agent: { name: "agent", version: "1.0", maintainer: "me" },
      c8y_SupportedSoftwareTypes: ["apt", "docker"],
      c8y_RemoteAccessSupportedProtocols: ["ssh", "vnc"],
    });
    s.publish("c", "s/us", "107,c8y_Hardware,c8y_Mobile\n143");
    const fragments = findDevice(s.state, "dev1")?.fragments ?? {};
    expect(Object.keys(fragments)).not.toContain("c8y_Hardware");
    expect(Object.keys(fragments)).not.toContain("c8y_SupportedSoftwareTypes");
  });

  it("140/141/142 maintain the advanced software list; 140,,,, clears it", () => {
    const s = online();
    s.publish("c", "s/us", "140,a,1,apt,,b,2");
    s.publish("c", "s/us", "141,c,3,docker,http://c");
    s.publish("c", "s/us", "142,a,1");
    expect(findDevice(s.state, "dev1")?.fragments["c8y_SoftwareList"]).toEqual([
      { name: "b", version: "2" },
      { name: "c", version: "3", softwareType: "docker", url: "http://c" },
    ]);
    s.publish("c", "s/us", "140,,,,");
    expect(findDevice(s.state, "dev1")?.fragments["c8y_SoftwareList"]).toEqual([]);
  });

  it("hostile ids such as __proto__ are ordinary keys", () => {
    const s = online();
    s.publish("c", "s/us/__proto__", "101,constructor");
    expect(findDevice(s.state, "__proto__")?.children).toEqual(["constructor"]);
    expect(JSON.parse(JSON.stringify(s.state))).toEqual(plain(s.state));
  });
});
