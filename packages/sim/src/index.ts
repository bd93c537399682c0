/**
 * @c8ylink/sim — a simulated Cumulocity tenant you can connect to: the pure
 * `@c8ylink/platform` model hosted on an embedded aedes MQTT broker (TCP and optionally
 * WebSocket), with a local JSON admin API and a live timeline. See README.md.
 */
export {
  startSimulatedTenant,
  WS_PATH,
  type SimulatedTenant,
  type SimulatedTenantOptions,
} from "./tenant.js";
export { MAX_BODY_BYTES, type SimAdminInput, type SimAdminResult } from "./admin.js";
export { adminTokenProblem, allowedHostProblem, isLoopbackHost, newAdminToken } from "./access.js";
export { formatLogEntry, type SimLogEntry } from "./log.js";
export {
  commonName,
  createLocalCa,
  describeTrustedCertificate,
  issueDeviceCertificate,
  presentedCertificate,
  readServerCredentials,
  type DeviceCertificate,
  type LocalCa,
} from "./certs.js";
