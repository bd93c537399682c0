/** fast-check arbitraries for every typed operation (510–532), shared by codec tests. */
import { fc } from "../../../../test/support/property.js";
import type {
  Operation,
  OperationTemplateId,
  RelayState,
  SoftwareAction,
} from "../../src/smartrest/downstream.js";

/** Values never equal to a device-profile section marker (those cannot round-trip by design). */
const str = fc
  .oneof(fc.string(), fc.string({ unit: "binary" }))
  .filter((s) => !["$FW", "$SW", "$CONF"].includes(s));
const nonEmpty = str.filter((s) => s !== "");
const base = <T extends OperationTemplateId, F extends string>(template: T, fragment: F) => ({
  template: fc.constant(template),
  fragment: fc.constant(fragment),
  deviceId: nonEmpty,
});
const relay = fc.constantFrom<RelayState>("OPEN", "CLOSED");
const action = fc.constantFrom<SoftwareAction>("install", "delete");
const change = fc.record({ name: nonEmpty, version: str, url: str, action });
const typedChange = fc.record({ name: nonEmpty, version: str, softwareType: str, url: str, action });
const firmware = fc.record({
  name: nonEmpty,
  version: str,
  url: str,
  isPatch: fc.boolean(),
  dependency: str,
});
const configuration = fc.array(fc.record({ url: nonEmpty, type: str }), { maxLength: 4 });

export const OPERATION_ARBITRARIES: {
  readonly [K in OperationTemplateId]: fc.Arbitrary<Extract<Operation, { template: K }>>;
} = {
  "510": fc.record(base("510", "c8y_Restart")),
  "511": fc.record({ ...base("511", "c8y_Command"), text: str }),
  "513": fc.record({ ...base("513", "c8y_Configuration"), config: str }),
  "515": fc.record({
    ...base("515", "c8y_Firmware"),
    name: nonEmpty,
    version: nonEmpty,
    url: nonEmpty,
    isPatch: fc.constant(false as const),
  }),
  "516": fc.record({
    ...base("516", "c8y_SoftwareList"),
    software: fc.array(fc.record({ name: nonEmpty, version: str, url: str }), { maxLength: 4 }),
  }),
  "517": fc.record({ ...base("517", "c8y_MeasurementRequestOperation"), requestName: str }),
  "518": fc.record({ ...base("518", "c8y_Relay"), relayState: relay }),
  "519": fc.record({ ...base("519", "c8y_RelayArray"), relayStates: fc.array(relay, { maxLength: 8 }) }),
  "520": fc.record(base("520", "c8y_UploadConfigFile")),
  "521": fc.record({ ...base("521", "c8y_DownloadConfigFile"), url: nonEmpty }),
  "522": fc.record({
    ...base("522", "c8y_LogfileRequest"),
    logFile: nonEmpty,
    dateFrom: str,
    dateTo: str,
    searchText: str,
    maximumLines: fc.nat(),
  }),
  "523": fc.record({
    ...base("523", "c8y_CommunicationMode"),
    mode: fc.constantFrom("SMS" as const, "IP" as const),
  }),
  "524": fc.record({ ...base("524", "c8y_DownloadConfigFile"), url: nonEmpty, type: nonEmpty }),
  "525": fc.record({
    ...base("525", "c8y_Firmware"),
    name: nonEmpty,
    version: nonEmpty,
    url: nonEmpty,
    dependency: str,
    isPatch: fc.constant(true as const),
  }),
  "526": fc.record({ ...base("526", "c8y_UploadConfigFile"), type: nonEmpty }),
  "527": fc.record(
    {
      ...base("527", "c8y_DeviceProfile"),
      firmware,
      software: fc.array(change, { maxLength: 4 }),
      configuration,
    },
    { requiredKeys: ["template", "fragment", "deviceId", "software", "configuration"] },
  ),
  "528": fc.record({ ...base("528", "c8y_SoftwareUpdate"), software: fc.array(change, { maxLength: 4 }) }),
  "529": fc.record({
    ...base("529", "c8y_SoftwareUpdate"),
    software: fc.array(typedChange, { maxLength: 4 }),
  }),
  "530": fc.record({
    ...base("530", "c8y_RemoteAccessConnect"),
    hostname: nonEmpty,
    port: fc.integer({ min: 1, max: 65535 }),
    connectionKey: nonEmpty,
  }),
  "531": fc.record(
    {
      ...base("531", "c8y_DeviceProfile"),
      firmware,
      software: fc.array(typedChange, { maxLength: 4 }),
      configuration,
    },
    { requiredKeys: ["template", "fragment", "deviceId", "software", "configuration"] },
  ),
  "532": fc.record({
    ...base("532", "c8y_ParameterUpdate"),
    parameters: fc.array(fc.record({ path: nonEmpty, type: str, value: str }), { maxLength: 4 }),
  }),
};

export const anyOperation: fc.Arbitrary<Operation> = fc.oneof(...Object.values(OPERATION_ARBITRARIES));
