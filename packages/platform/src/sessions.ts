/**
 * MQTT sessions: CONNECT (protocol level, ClientId, authentication), SUBSCRIBE/UNSUBSCRIBE and
 * disconnection (spec §1.3, §1.4, §1.10, §2.5, §8.2, §9).
 *
 * Authentication (checked in this order; first failure wins):
 * 1. protocol level other than 3/4 → 1; ClientId not `[d:]<id>[:<xid>]` with a valid id → 2;
 *    MQTT 3.1 with a ClientId of 24+ characters → 5.
 * 2. A presented certificate decides alone (spec §1.1: the certificate, if any, is what is
 *    used): the CN must equal the ClientId's id and be trusted, else 5; its user is
 *    auto-registered. Username/password are ignored.
 * 3. No username or an empty password → 5 (CONNACK 4 is never sent for an empty password).
 * 4. `management/devicebootstrap`: wrong password → 4; registration BLOCKED → 5; otherwise a
 *    bootstrap session (allowed even for ids that are not registered: their polls go
 *    unanswered, spec gap 17).
 * 5. `<tenant>/<user>`: unknown tenant or user, or wrong password → 4; disabled (blocked) user → 5.
 *
 * Duplicate ClientIds (same device identifier): the new connection wins, the old one gets a
 * `disconnect` (MQTT 3.1.1 [MQTT-3.1.4-2], spec gap 2). A CONNECT on a client key that already
 * has a session replaces that session without a separate disconnect.
 *
 * Subscriptions: only exact downstream topics are granted (no wildcards, spec gap 13).
 * Bootstrap sessions: `s/dcr`, `s/e`. Device sessions: `s/ds`, `s/e`, `s/dt`, `s/dc/<X-ID>`,
 * `s/dat` for certificate sessions only, and the JSON via MQTT topics `error` and
 * `devicecontrol/notifications` (spec §2.7; JSON is an add-on of device sessions, bootstrap
 * stays SmartREST). `devicecontrol/notifications` is refused with 0x80 when the option
 * `jsonOperations` is false; once granted, the session's not yet forwarded PENDING operations
 * follow the SUBACK (notifications.ts). Everything else (publish topics such as `s/us`,
 * unknown topics, QoS outside 0–2) gets 0x80. `s/dd` needs a default X-ID in the ClientId.
 * With `refuseSubscribeBeforeDevice`, a device session's subscriptions are refused while its
 * device does not exist (what the real platform does, spec §2.5). The model's default is off
 * (the engine subscribes in the same tick as its first `100`, and the pinned fake-world traces
 * rely on it); the simulated tenant turns it on. A granted subscription that receives
 * operations marks the existing device CONNECTED (`c8y_Connection`, spec §9).
 *
 * `admin-refuse-next-connect` makes the device id's next CONNECT fail once with 3 or 5 (after
 * the ClientId checks, before authentication). Certificates: certificates.ts.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  parseClientId,
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_ERRORS,
  TOPIC_STATIC_DOWN,
  TOPIC_TEMPLATE_STATUS,
  TOPIC_TOKEN_DOWN,
  validateDeviceId,
  validateXid,
} from "@c8ylink/core";
import { markConnection } from "./availability.js";
import { certificateLogin } from "./certificates.js";
import { byExternalId } from "./inventory.js";
import { TOPIC_JSON_ERRORS } from "./jsonapi.js";
import { assoc, dissoc, lookup } from "./json.js";
import {
  type ClientConnect,
  type ClientSubscribe,
  type ClientUnsubscribe,
  type ConnackCode,
  type QoS,
  type Session,
  SUBACK_FAILURE,
} from "./model.js";
import { notifyNotForwarded, TOPIC_OPERATION_NOTIFICATIONS } from "./notifications.js";

/** Downstream topic of the ClientId's default collection (spec §1.3, §6.1). */
export const TOPIC_DEFAULT_DOWN = "s/dd";
import { certificateUser } from "./registration.js";
import { dropSession, emit, logConnection, putSession, sessionOf, type Tx } from "./tx.js";

export const BOOTSTRAP_TENANT = "management";
export const BOOTSTRAP_USER = "devicebootstrap";

type Authenticated = Pick<Session, "kind" | "auth" | "username">;
interface Refusal {
  readonly code: ConnackCode;
  readonly reason: string;
}
const refusal = (code: ConnackCode, reason: string): E.Either<Refusal, Authenticated> =>
  E.left({ code, reason });

const authenticate = (tx: Tx, input: ClientConnect, deviceId: string): E.Either<Refusal, Authenticated> => {
  const { config } = tx.s;
  if (input.certificate !== undefined) {
    const login = certificateLogin(tx, input.certificate, deviceId);
    if (E.isLeft(login)) return refusal(5, login.left);
    return E.right({ kind: "device", auth: "certificate", username: login.right.username });
  }
  if (input.certificateCn !== null) {
    const cn = input.certificateCn;
    if (cn !== deviceId) return refusal(5, "certificate CN does not match the ClientId");
    if (!config.trustedCertificates.includes(cn)) return refusal(5, "certificate not trusted");
    const user = certificateUser(tx, cn);
    if (user.disabled) return refusal(5, "device user disabled");
    return E.right({ kind: "device", auth: "certificate", username: user.username });
  }
  const { username, password } = input;
  if (username === null || password === null || password === "") return refusal(5, "no credentials");
  const slash = username.indexOf("/");
  const tenant = slash < 0 ? "" : username.slice(0, slash);
  const user = username.slice(slash + 1);
  if (tenant === BOOTSTRAP_TENANT && user === BOOTSTRAP_USER) {
    if (password !== config.bootstrapPassword) return refusal(4, "wrong bootstrap password");
    if (tx.s.registrations.get(deviceId)?.status === "BLOCKED") return refusal(5, "registration blocked");
    return E.right({ kind: "bootstrap", auth: "password", username: user });
  }
  const known = tenant === config.tenantId ? tx.s.users.get(user) : undefined;
  if (known === undefined || known.password === null || known.password !== password)
    return refusal(4, "bad username or password");
  if (known.disabled) return refusal(5, "device user disabled");
  return E.right({ kind: "device", auth: "password", username: user });
};

export const connect = (tx: Tx, input: ClientConnect): void => {
  const { clientKey, clientId } = input;
  const refuse = ({ code, reason }: Refusal) => {
    emit(tx, { type: "connack", clientKey, code });
    logConnection(tx, { clientKey, clientId, event: "refused", code, reason });
  };
  const level = input.protocolLevel ?? 4;
  if (level !== 3 && level !== 4) return refuse({ code: 1, reason: `unsupported protocol level ${level}` });
  const parsed = parseClientId(clientId);
  if (E.isLeft(parsed)) return refuse({ code: 2, reason: parsed.left.reason });
  if (level === 3 && clientId.length >= 24)
    return refuse({ code: 5, reason: "ClientId too long for MQTT 3.1" });
  const { deviceId } = parsed.right;
  const forced = lookup(tx.s.refuseNextConnect, deviceId);
  if (forced !== undefined) {
    tx.s = { ...tx.s, refuseNextConnect: dissoc(tx.s.refuseNextConnect, deviceId) };
    return refuse({ code: forced, reason: `refused once on request (admin-refuse-next-connect ${forced})` });
  }
  const auth = authenticate(tx, input, deviceId);
  if (E.isLeft(auth)) return refuse(auth.left);

  if (sessionOf(tx.s, clientKey) !== undefined)
    dropSession(tx, clientKey, "replaced by a new CONNECT", { notify: false, event: "disconnected" });
  const previous = tx.s.liveSessions.get(deviceId);
  if (previous !== undefined)
    dropSession(tx, previous, `duplicate ClientId: ${deviceId} connected again`, {
      notify: true,
      event: "dropped",
    });

  const { defaultXid } = parsed.right;
  putSession(tx, {
    clientKey,
    clientId,
    deviceId,
    ...auth.right,
    subscriptions: {},
    connectedMs: tx.now,
    ...(defaultXid === undefined ? {} : { defaultXid }),
    ...(input.will === undefined ? {} : { will: input.will }),
  });
  tx.s = { ...tx.s, liveSessions: tx.s.liveSessions.set(deviceId, clientKey) };
  emit(tx, { type: "connack", clientKey, code: 0 });
  logConnection(tx, { clientKey, clientId, event: "connected", code: 0 });
};

export const disconnect = (tx: Tx, clientKey: string, clean: boolean): void =>
  dropSession(tx, clientKey, clean ? "client disconnected" : "connection lost", {
    notify: false,
    event: "disconnected",
  });

/** `admin-refuse-next-connect`: the device's next CONNECT gets `code` once. */
export const adminRefuseNextConnect = (tx: Tx, deviceId: string, code: 3 | 5): void => {
  const valid = validateDeviceId(deviceId);
  if (E.isLeft(valid)) return emit(tx, { type: "admin-result", ok: false, detail: valid.left.reason });
  tx.s = { ...tx.s, refuseNextConnect: assoc(tx.s.refuseNextConnect, deviceId, code) };
  emit(tx, {
    type: "admin-result",
    ok: true,
    detail: `the next CONNECT of ${deviceId} gets CONNACK ${code}`,
  });
};

/** Topics on which a session receives operations: holding one makes the device CONNECTED (§2.5). */
const receivesOperations = (topic: string): boolean =>
  topic === TOPIC_STATIC_DOWN ||
  topic === TOPIC_DEFAULT_DOWN ||
  topic === TOPIC_OPERATION_NOTIFICATIONS ||
  topic.startsWith("s/dc/");

const DEVICE_TOPICS: readonly string[] = [
  TOPIC_STATIC_DOWN,
  TOPIC_ERRORS,
  TOPIC_TEMPLATE_STATUS,
  TOPIC_JSON_ERRORS,
];

const mayDeliver = (tx: Tx, session: Session, topic: string): boolean => {
  if (session.kind === "bootstrap") return topic === TOPIC_CREDENTIALS_DOWN || topic === TOPIC_ERRORS;
  const known =
    DEVICE_TOPICS.includes(topic) ||
    (topic === TOPIC_TOKEN_DOWN && session.auth === "certificate") ||
    (topic === TOPIC_OPERATION_NOTIFICATIONS && tx.s.config.jsonOperations) ||
    (topic === TOPIC_DEFAULT_DOWN && session.defaultXid !== undefined) ||
    (topic.startsWith("s/dc/") && E.isRight(validateXid(topic.slice("s/dc/".length))));
  if (!known) return false;
  return !tx.s.config.refuseSubscribeBeforeDevice || byExternalId(tx.s, session.deviceId) !== undefined;
};

const isQoS = (qos: number): qos is QoS => qos === 0 || qos === 1 || qos === 2;

/** Input from a client key without a session: close it (publishing before authenticating, spec §1.10). */
export const notConnected = (tx: Tx, clientKey: string): void =>
  emit(tx, { type: "disconnect", clientKey, reason: "no session for this client" });

export const subscribe = (tx: Tx, input: ClientSubscribe): void => {
  const session = sessionOf(tx.s, input.clientKey);
  if (session === undefined) return notConnected(tx, input.clientKey);
  let subscriptions = session.subscriptions;
  const granted = input.topics.map(({ topic, qos }) => {
    if (!isQoS(qos) || !mayDeliver(tx, session, topic)) return SUBACK_FAILURE;
    subscriptions = assoc(subscriptions, topic, qos);
    return qos;
  });
  const updated = { ...session, subscriptions };
  putSession(tx, updated);
  emit(tx, { type: "suback", clientKey: session.clientKey, granted });
  const device = byExternalId(tx.s, session.deviceId);
  if (
    device !== undefined &&
    input.topics.some(({ topic }, i) => receivesOperations(topic) && granted[i] !== SUBACK_FAILURE)
  )
    markConnection(tx, device, true);
  const operationsGranted = input.topics.some(
    ({ topic }, i) => topic === TOPIC_OPERATION_NOTIFICATIONS && granted[i] !== SUBACK_FAILURE,
  );
  if (operationsGranted) notifyNotForwarded(tx, updated);
};

export const unsubscribe = (tx: Tx, input: ClientUnsubscribe): void => {
  const session = sessionOf(tx.s, input.clientKey);
  if (session === undefined) return notConnected(tx, input.clientKey);
  putSession(tx, {
    ...session,
    subscriptions: input.topics.reduce((subs, topic) => dissoc(subs, topic), session.subscriptions),
  });
  emit(tx, { type: "unsuback", clientKey: session.clientKey });
};
