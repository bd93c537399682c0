/**
 * @c8ylink/platform — a Cumulocity tenant's MQTT side as a pure, deterministic model:
 * `platformStep(state, input) → { state, outputs }`. See README.md for the inputs, outputs and
 * the documented decisions.
 */
export * from "./model.js";
export { initialPlatform, platformStep, PlatformInputCodec } from "./step.js";
export * from "./queries.js";
export { PMap, PVec } from "./persistent.js";
export { serializePlatformField, serializePlatformRow, serializePlatformRows } from "./csv.js";
export { staticRows } from "./operations.js";
export { readStaticRow, STATIC_UPSTREAM_IDS } from "./rows.js";
export { isoFromMs } from "./time.js";
export { ErrorCode } from "./errors.js";
export { incomingPublishBytes, PLATFORM_MAX_MESSAGE_BYTES } from "./packet-size.js";
export { BOOTSTRAP_TENANT, BOOTSTRAP_USER } from "./sessions.js";
export { operationNotification, TOPIC_OPERATION_NOTIFICATIONS } from "./notifications.js";
export { parseJsonTopic, TOPIC_JSON_ERRORS, type JsonTopic } from "./jsonapi.js";
export { notifiesRealtime, storesData } from "./data.js";
export { UNAVAILABILITY_ALARM, requiredIntervalMinutes } from "./availability.js";
export { TOPIC_DEFAULT_DOWN } from "./sessions.js";
export {
  authenticateRestLogin,
  authenticateRestToken,
  findEvent,
  mayWriteFor,
  type RestLogin,
} from "./rest.js";
