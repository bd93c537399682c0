/**
 * Device registration and credentials (spec §3, §8): the admin side (register, accept, block,
 * delete), bootstrap polling on `s/ucr` → `70` on `s/dcr`, certificate auto-registration and
 * `s/uat` → `71` on `s/dat`.
 *
 * Decisions (spec gaps 8, 9, 17):
 * - Polling for an id that was never registered, or whose registration is BLOCKED, is silently
 *   ignored (a blocked device's bootstrap connect is already refused with CONNACK 5; a session
 *   open when the block happens is disconnected) — except that with `autoAccept` a poll for an
 *   unregistered id registers it first (and so is accepted at once).
 * - The first poll moves WAITING_FOR_CONNECTION to PENDING_ACCEPTANCE (to ACCEPTED at once with
 *   `autoAccept`); credentials are created on the first poll that finds the registration
 *   ACCEPTED — never on the poll that caused the acceptance. Later polls re-deliver the same
 *   credentials (a device that lost the QoS 0 `70` can still finish).
 * - Credentials: user `device_<id>`, password derived from the state's seed.
 * - Re-registering a BLOCKED id replaces the blocked entry (stands in for "delete, then
 *   register again"); re-registering any other state is refused.
 * - Certificate users are `device_<CN>` without a password, created at the first connect.
 */
import {
  TOKEN_CODEC,
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_TOKEN_DOWN,
  CREDENTIALS_CODEC,
  validateDeviceId,
} from "@c8ylink/core";
import { derivePassword } from "./hash.js";
import { byExternalId, subtree } from "./inventory.js";
import type { Registration, RegistrationStatus, Session, User } from "./model.js";
import { deviceToken } from "./token.js";
import { deliverRow, dropSession, emit, liveSession, type Tx } from "./tx.js";

export const deviceUsername = (deviceId: string): string => `device_${deviceId}`;

const putRegistration = (tx: Tx, registration: Registration): void => {
  tx.s = { ...tx.s, registrations: tx.s.registrations.set(registration.deviceId, registration) };
};

const moveTo = (tx: Tx, registration: Registration, status: RegistrationStatus): Registration => {
  const moved = { ...registration, status, history: [...registration.history, { status, atMs: tx.now }] };
  putRegistration(tx, moved);
  return moved;
};

export const putUser = (tx: Tx, user: User): void => {
  tx.s = { ...tx.s, users: tx.s.users.set(user.username, user) };
};

const result = (tx: Tx, ok: boolean, detail: string) => emit(tx, { type: "admin-result", ok, detail });

// ---------------------------------------------------------------------------------------------
// Admin

export const adminRegister = (tx: Tx, deviceId: string): void => {
  const valid = validateDeviceId(deviceId);
  if (valid._tag === "Left") return result(tx, false, valid.left.reason);
  const existing = tx.s.registrations.get(deviceId);
  if (existing !== undefined && existing.status !== "BLOCKED")
    return result(tx, false, `${deviceId} is already registered (${existing.status})`);
  putRegistration(tx, {
    deviceId,
    status: "WAITING_FOR_CONNECTION",
    history: [{ status: "WAITING_FOR_CONNECTION", atMs: tx.now }],
    polls: 0,
  });
  result(tx, true, `${deviceId} registered`);
};

export const adminAccept = (tx: Tx, deviceId: string): void => {
  const registration = tx.s.registrations.get(deviceId);
  // Only a request the device has already made can be accepted (spec §3.2).
  if (registration?.status !== "PENDING_ACCEPTANCE")
    return result(
      tx,
      false,
      `${deviceId} is not pending acceptance (${registration?.status ?? "not registered"})`,
    );
  moveTo(tx, registration, "ACCEPTED");
  result(tx, true, `${deviceId} accepted`);
};

/** Blocks the registration and disables the device's users; its live session is closed. */
export const adminBlock = (tx: Tx, deviceId: string): void => {
  const registration = tx.s.registrations.get(deviceId);
  const users = tx.s.users.values().filter((u) => u.deviceId === deviceId);
  if (registration === undefined && users.length === 0)
    return result(tx, false, `nothing to block for ${deviceId}`);
  if (registration !== undefined && registration.status !== "BLOCKED") moveTo(tx, registration, "BLOCKED");
  for (const user of users) putUser(tx, { ...user, disabled: true });
  const session = liveSession(tx.s, deviceId);
  if (session !== undefined)
    dropSession(tx, session.clientKey, "device blocked", { notify: true, event: "dropped" });
  result(tx, true, `${deviceId} blocked`);
};

/** Removes the device with its subtree, its users and its registration; closes its session. */
export const adminDeleteDevice = (tx: Tx, deviceId: string): void => {
  const device = byExternalId(tx.s, deviceId);
  if (device === undefined) return result(tx, false, `unknown device ${deviceId}`);
  const removed = subtree(tx.s, device.id);
  const removedIds = new Set(removed.map((mo) => mo.id));
  const removedExternal = new Set(removed.map((mo) => mo.externalId));
  let { managedObjects, identities, users } = tx.s;
  for (const mo of removed) {
    managedObjects = managedObjects.delete(mo.id);
    identities = identities.delete(mo.externalId);
  }
  const parent = device.parentId === null ? undefined : managedObjects.get(device.parentId);
  if (parent !== undefined) {
    managedObjects = managedObjects.set(parent.id, {
      ...parent,
      childDevices: parent.childDevices.filter((id) => !removedIds.has(id)),
      childAdditions: parent.childAdditions.filter((id) => !removedIds.has(id)),
    });
  }
  for (const user of users.values())
    if (user.deviceId !== undefined && removedExternal.has(user.deviceId))
      users = users.delete(user.username);
  tx.s = { ...tx.s, managedObjects, identities, users, registrations: tx.s.registrations.delete(deviceId) };
  const session = liveSession(tx.s, deviceId);
  if (session !== undefined)
    dropSession(tx, session.clientKey, "device deleted", { notify: true, event: "dropped" });
  result(tx, true, `${deviceId} deleted`);
};

// ---------------------------------------------------------------------------------------------
// Device side

/** An empty publish on `s/ucr` from a bootstrap session. */
export const pollCredentials = (tx: Tx, session: Session): void => {
  const found = tx.s.registrations.get(session.deviceId) ?? autoRegistration(tx, session.deviceId);
  if (found === undefined || found.status === "BLOCKED") return;
  const registration = { ...found, polls: found.polls + 1 };
  putRegistration(tx, registration);
  if (registration.status === "WAITING_FOR_CONNECTION") {
    const pending = moveTo(tx, registration, "PENDING_ACCEPTANCE");
    if (tx.s.config.autoAccept) moveTo(tx, pending, "ACCEPTED");
    return;
  }
  if (registration.status !== "ACCEPTED") return;
  const user = credentialsFor(tx, registration);
  if (user.password === null) return;
  const row = CREDENTIALS_CODEC.encode({
    tenant: tx.s.config.tenantId,
    username: user.username,
    password: user.password,
  });
  deliverRow(tx, session, TOPIC_CREDENTIALS_DOWN, row);
};

/**
 * With `autoAccept`, a device that asks without a prior registration is registered by its
 * request (as if an administrator had registered it just before); otherwise nothing.
 */
const autoRegistration = (tx: Tx, deviceId: string): Registration | undefined => {
  if (!tx.s.config.autoAccept || validateDeviceId(deviceId)._tag === "Left") return undefined;
  const registration: Registration = {
    deviceId,
    status: "WAITING_FOR_CONNECTION",
    history: [{ status: "WAITING_FOR_CONNECTION", atMs: tx.now }],
    polls: 0,
  };
  putRegistration(tx, registration);
  return registration;
};

/** The registration's device user, created on first use. */
const credentialsFor = (tx: Tx, registration: Registration): User => {
  const existing = registration.username === undefined ? undefined : tx.s.users.get(registration.username);
  if (existing !== undefined) return existing;
  const username = deviceUsername(registration.deviceId);
  const [password, seed] = derivePassword(tx.s.seed, `${tx.s.config.tenantId}/${username}`);
  const user: User = {
    username,
    password,
    origin: "registration",
    deviceId: registration.deviceId,
    disabled: false,
  };
  tx.s = { ...tx.s, seed };
  putUser(tx, user);
  putRegistration(tx, { ...registration, username });
  return user;
};

/** The certificate user of `cn`, auto-registered on first connect. */
export const certificateUser = (tx: Tx, cn: string): User => {
  const username = deviceUsername(cn);
  const existing = tx.s.users.get(username);
  if (existing !== undefined) return existing;
  const user: User = { username, password: null, origin: "certificate", deviceId: cn, disabled: false };
  putUser(tx, user);
  return user;
};

/**
 * An empty publish on `s/uat`: a token for certificate sessions; others are ignored. With
 * `tokenRenewalAfterHalfLife`, a request before half of the current token's lifetime has passed
 * gets the current token again (spec §8.1).
 */
export const requestToken = (tx: Tx, session: Session): void => {
  if (session.auth !== "certificate") return;
  const { config } = tx.s;
  const current = tx.s.tokens.get(session.username);
  const stillYoung =
    config.tokenRenewalAfterHalfLife &&
    current !== undefined &&
    tx.now < current.issuedMs + (config.tokenLifetimeSeconds * 1000) / 2;
  const token = stillYoung ? current.token : deviceToken(config, session.username, tx.now);
  if (!stillYoung) tx.s = { ...tx.s, tokens: tx.s.tokens.set(session.username, { token, issuedMs: tx.now }) };
  deliverRow(tx, session, TOPIC_TOKEN_DOWN, TOKEN_CODEC.encode({ token }));
};
