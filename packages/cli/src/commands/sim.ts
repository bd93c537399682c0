/**
 * `c8ylink sim` — the simulated Cumulocity tenant alone, until interrupted.
 */
import {
  adminTokenProblem,
  allowedHostProblem,
  createLocalCa,
  describeTrustedCertificate,
  issueDeviceCertificate,
  readServerCredentials,
  type LocalCa,
  formatLogEntry,
  isLoopbackHost,
  startSimulatedTenant,
} from "@c8ylink/sim";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { flag, int, parse, str, UsageError } from "../args.js";
import type { Io } from "../io.js";

export const SIM_HELP = `Usage: c8ylink sim [options]

Runs a simulated Cumulocity tenant (the @c8ylink/platform model on an embedded MQTT
broker) with a JSON admin API, until Ctrl-C. Connect any MQTT device to it.

  --host HOST                 interface to bind (default 127.0.0.1; anything else is
                              reachable from other machines: a warning says so)
  --mqtt-port PORT            MQTT over TCP (default 1883; 0 = any free port)
  --ws-port PORT              also MQTT over WebSocket on ws://HOST:PORT/mqtt (default off)
  --http-port PORT            admin API (default 8080; 0 = any free port)
  --tenant-id ID              tenant id in credentials (default t100)
  --bootstrap-password PW     password of management/devicebootstrap (default bootstrap-secret)
  --auto-accept               accept device registrations as soon as a device asks
  --token TOKEN               access token of the admin API (default: random for each run;
                              or C8YLINK_SIM_TOKEN, which other users cannot see in ps)
  --allow-host NAME           another name the admin API answers to in the Host header
                              (repeatable; e.g. a Docker service name)
  --no-json-operations        refuse subscriptions to devicecontrol/notifications (operations
                              as JSON), like a broker without JSON via MQTT
  --tls DIR                   also MQTT over TLS (mqtts://HOST:8883): creates or reuses a local
                              CA in DIR (ca.pem, ca.key) and a server certificate for
                              localhost/127.0.0.1 (server.pem, server.key), and trusts ca.pem
                              for certificate logins with auto-registration (needs openssl)
  --mqtts-port PORT           port of the TLS listener (default 8883; 0 = any free port)
  --issue-cert ID             with --tls DIR: write a device certificate DIR/ID.pem + DIR/ID.key
                              (CN = ID, signed by DIR's CA), print how to connect, and exit;
                              repeatable. A running sim on DIR accepts it at once.
  --rate-limit N[:Q]          at most N publishes per second per connection, Q more queued
                              (default 0); beyond that the connection is closed (spec §1.11)
  --allow-subscribe-before-device
                              grant subscriptions before the device exists (the real platform
                              refuses them, spec §2.5; so does this tenant by default)
  --binary-limit MIB[:TOTAL]  largest binary a device or the admin may upload, and all
                              binaries together, in MiB (default 64:512; held in memory)
  --quiet                     do not print the timeline
  -h, --help                  this help

Admin API (JSON): GET /devices, /devices/:id, /measurements?device=, /events?device=,
/alarms?device=, /operations?device=&status=, /operations/:id, /registrations, /errors,
/connections, /trusted-certificates; POST /registrations {deviceId},
/registrations/:id/accept, /registrations/:id/block, /operations {deviceId, fragments,
description?}, /alarms/:id/acknowledge, /alarms/:id/clear,
/devices/:id/refuse-next-connect {code: 3|5}, /trusted-certificates (a CA PEM);
DELETE /devices/:id, /trusted-certificates/:fingerprint. File transfer (admin): GET/POST
/repository/firmware|software|configuration {name, version, binaryId|url, type?},
POST /operation-forms/firmware-update|software-install|send-configuration|
get-configuration|get-log-file|apply-device-profile {deviceId, …}; SIM-ONLY fault
injection for binary downloads: GET/POST/DELETE /http-faults {cutAfterBytes|status|corrupt,
times}.

REST API for devices (file transfer, docs/sim.md), on the same port with the device's MQTT
credentials (Authorization: Basic <tenant>/<user>:<password>) or the admin token:
GET /identity/externalIds/c8y_Serial/:id; POST /event/events {source:{id}, type, time, text};
POST|PUT|GET|DELETE /event/events/:id/binaries (multipart part "file" or a raw body);
POST|GET /inventory/binaries, GET|DELETE /inventory/binaries/:id. Downloads carry
Content-Length, ETag, Digest (sha-256) and honour Range: bytes=N- — sim conveniences: the
real platform promises neither Range nor Digest.

The printed URL (http://HOST:PORT/?token=…) opens the tenant's web page: the device tree,
live measurement charts, operations, alarms, events and registrations.

A new device, step by step (as on a real tenant):
  1. register its serial: POST /registrations {"deviceId":"<id>"} (or on the web page);
  2. start it with the bootstrap user: c8ylink run --url mqtt://127.0.0.1:<port>
     --device-id <id> --bootstrap-password <password> (it polls s/ucr and waits);
  3. accept it: POST /registrations/<id>/accept (or Accept on the page); the device
     receives its credentials (70 on s/dcr), reconnects as itself and comes online.
  With --auto-accept, steps 1 and 3 happen by themselves when the device asks.

Every admin request needs the access token printed at start: open the printed URL
(the browser keeps it as a cookie) or send
  curl -H "Authorization: Bearer $C8YLINK_SIM_TOKEN" http://127.0.0.1:8080/devices
Requests from other web sites, other origins or other Host names are refused. MQTT
clients need the platform credentials as on a real tenant (never anonymous).`;

/** The environment variable that gives the admin API's access token. */
export const SIM_TOKEN_ENV = "C8YLINK_SIM_TOKEN";

const port = (value: number | undefined, fallback: number, name: string): number => {
  const p = value ?? fallback;
  if (p > 65535) throw new UsageError(`--${name} must be a port number (0-65535), got ${p}`);
  return p;
};

/** `--rate-limit N[:Q]`. */
const rateLimitOf = (value: string | undefined): { perSecond: number; queue: number } | undefined => {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?::(\d+))?$/.exec(value);
  const perSecond = Number(m?.[1]);
  const queue = Number(m?.[2] ?? 0);
  if (m === null || perSecond < 1 || !Number.isSafeInteger(perSecond) || !Number.isSafeInteger(queue))
    throw new UsageError(`--rate-limit must be N or N:Q with N ≥ 1 publishes per second, got "${value}"`);
  return { perSecond, queue };
};

const MIB = 1024 * 1024;

/** `--binary-limit MIB[:TOTAL]` in bytes. */
const binaryLimitsOf = (
  value: string | undefined,
): { maxFileBytes: number; maxTotalBytes: number } | undefined => {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?::(\d+))?$/.exec(value);
  const file = Number(m?.[1]);
  const total = Number(m?.[2] ?? Math.max(512, file));
  if (m === null || file < 1 || total < file || total > 1024 * 1024)
    throw new UsageError(
      `--binary-limit must be MIB or MIB:TOTAL_MIB with 1 ≤ MIB ≤ TOTAL_MIB (megabytes), got "${value}"`,
    );
  return { maxFileBytes: file * MIB, maxTotalBytes: total * MIB };
};

/** `--issue-cert`: device certificates signed by the CA in `dir`, then exit. */
const issueCertificates = (dir: string, ids: readonly string[], io: Io): number => {
  const absolute = resolve(dir);
  try {
    const ca = createLocalCa(absolute);
    for (const id of ids) {
      const cert = issueDeviceCertificate(absolute, id);
      io.out(`device certificate for ${id} (CN=${id}, signed by ${ca.caPem})
  certificate: ${cert.cert}
  key:         ${cert.key}
  connect:     ClientId d:${id}, no username/password, TLS to the sim's mqtts:// port, trusting ${ca.caPem}
  e.g.         mosquitto_pub -h 127.0.0.1 -p 8883 --cafile ${ca.caPem} --cert ${cert.cert} --key ${cert.key} -i d:${id} -t s/us -m 100`);
    }
  } catch (e) {
    io.err(`c8ylink sim: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  return 0;
};

export const simCommand = async (argv: readonly string[], io: Io): Promise<number> => {
  const args = parse("sim", argv, {
    host: { type: "string" },
    "mqtt-port": { type: "string" },
    "ws-port": { type: "string" },
    "http-port": { type: "string" },
    "tenant-id": { type: "string" },
    "bootstrap-password": { type: "string" },
    "auto-accept": { type: "boolean" },
    token: { type: "string" },
    "allow-host": { type: "string", multiple: true },
    "no-json-operations": { type: "boolean" },
    tls: { type: "string" },
    "mqtts-port": { type: "string" },
    "issue-cert": { type: "string", multiple: true },
    "rate-limit": { type: "string" },
    "binary-limit": { type: "string" },
    "allow-subscribe-before-device": { type: "boolean" },
    quiet: { type: "boolean" },
  });
  if (flag(args, "help")) {
    io.out(SIM_HELP);
    return 0;
  }
  const tlsDir = str(args, "tls");
  const issue = args.values["issue-cert"];
  const toIssue = Array.isArray(issue) ? issue : [];
  if (toIssue.length > 0) {
    if (tlsDir === undefined) throw new UsageError("--issue-cert needs --tls DIR (the CA that signs it)");
    return issueCertificates(tlsDir, toIssue, io);
  }
  const rateLimit = rateLimitOf(str(args, "rate-limit"));
  const binaries = binaryLimitsOf(str(args, "binary-limit"));
  let ca: LocalCa | undefined;
  if (tlsDir !== undefined) {
    try {
      ca = createLocalCa(resolve(tlsDir));
    } catch (e) {
      io.err(
        `c8ylink sim: cannot create the TLS certificates: ${e instanceof Error ? e.message : String(e)}`,
      );
      return 1;
    }
  }
  const wsPort = int(args, "ws-port");
  const tenantId = str(args, "tenant-id");
  const bootstrapPassword = str(args, "bootstrap-password");
  const quiet = flag(args, "quiet");
  const host = str(args, "host") ?? "127.0.0.1";
  // Port numbers are usage errors (exit 2), checked before anything binds.
  const mqttPort = port(int(args, "mqtt-port"), 1883, "mqtt-port");
  const httpPort = port(int(args, "http-port"), 8080, "http-port");
  const wsListen = wsPort === undefined ? false : port(wsPort, 0, "ws-port");
  const flagToken = str(args, "token");
  const envToken = io.env[SIM_TOKEN_ENV];
  // An empty variable counts as unset (`C8YLINK_SIM_TOKEN= c8ylink sim`).
  const given: { token: string; source: string } | undefined =
    flagToken !== undefined
      ? { token: flagToken, source: "--token" }
      : envToken !== undefined && envToken !== ""
        ? { token: envToken, source: SIM_TOKEN_ENV }
        : undefined;
  if (given !== undefined) {
    const problem = adminTokenProblem(given.token);
    if (problem !== undefined) throw new UsageError(`${given.source}: ${problem}`);
  }
  const allowHost = args.values["allow-host"];
  const allowedHosts = Array.isArray(allowHost) ? allowHost : [];
  for (const name of allowedHosts) {
    const problem = allowedHostProblem(name);
    if (problem !== undefined) throw new UsageError(`--allow-host ${problem}`);
  }
  if (!isLoopbackHost(host))
    io.err(
      `c8ylink sim: warning: --host ${host} is not a loopback address, so other machines can reach the ` +
        `admin API and the MQTT broker. Whoever gets the access token can create operations, and an agent ` +
        `running with --shell executes c8y_Command operations as shell commands; the admin API is plain ` +
        `HTTP, so the token can be read on the way. Devices still need the platform credentials (no ` +
        `anonymous MQTT)${bootstrapPassword === undefined ? ", but the default bootstrap password is public: set --bootstrap-password" : ""}. ` +
        `Bind 127.0.0.1 unless other machines must connect.`,
    );
  let tenant;
  try {
    tenant = await startSimulatedTenant({
      host,
      mqttPort,
      wsPort: wsListen,
      httpPort,
      ...(given === undefined ? {} : { adminToken: given.token }),
      ...(allowedHosts.length === 0 ? {} : { allowedHosts }),
      jsonOperations: !flag(args, "no-json-operations"),
      ...(binaries === undefined ? {} : { binaries }),
      ...(ca === undefined
        ? {}
        : {
            tls: {
              ...readServerCredentials(ca),
              port: port(int(args, "mqtts-port"), 8883, "mqtts-port"),
            },
          }),
      platform: {
        autoAccept: flag(args, "auto-accept"),
        ...(rateLimit === undefined ? {} : { rateLimit }),
        ...(flag(args, "allow-subscribe-before-device") ? { refuseSubscribeBeforeDevice: false } : {}),
        ...(tenantId === undefined ? {} : { tenantId }),
        ...(bootstrapPassword === undefined ? {} : { bootstrapPassword }),
      },
      onLog: (entry) => {
        if (!quiet || entry.kind === "listening") io.out(formatLogEntry(entry));
      },
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.err(
      `c8ylink sim: cannot start: ${message}${/EADDRINUSE/.test(message) ? " (port in use: choose another with --mqtt-port / --http-port, or 0)" : ""}`,
    );
    return 1;
  }
  if (ca !== undefined) {
    const trusted = tenant.step({
      type: "admin-trust-certificate",
      certificate: describeTrustedCertificate(readFileSync(ca.caPem, "utf8"), {
        name: "c8ylink sim local CA",
      }),
    });
    if (!trusted.ok) io.err(`c8ylink sim: warning: the local CA was not trusted: ${trusted.detail}`);
  }
  // The banner is the one place the token is printed (the timeline never carries it).
  const reachable =
    host === "0.0.0.0" || host === "::"
      ? `http://127.0.0.1:${new URL(tenant.adminUrl).port}`
      : tenant.adminUrl;
  const token = tenant.adminToken;
  io.out(`simulated tenant ready
  MQTT:      ${tenant.mqttUrl}${tenant.wsUrl === undefined ? "" : `\n  WebSocket: ${tenant.wsUrl}`}${
    tenant.mqttsUrl === undefined || ca === undefined
      ? ""
      : `\n  TLS:       ${tenant.mqttsUrl} (server certificate signed by ${ca.caPem}; device certificates of that CA log in with ClientId d:<CN>: c8ylink sim --tls ${tlsDir ?? ""} --issue-cert <deviceId>)`
  }
  admin API: ${tenant.adminUrl} (every request needs the access token; ${given === undefined ? "a random one for this run" : `from ${given.source}`})
  open:      ${reachable}/?token=${token}  (the web page: devices, live charts, operations)
  scripts:   curl -H "Authorization: Bearer ${token}" ${reachable}/devices
  bootstrap: management/devicebootstrap / ${bootstrapPassword ?? "bootstrap-secret"}; registrations ${flag(args, "auto-accept") ? "auto-accepted" : "need POST /registrations/:id/accept (the whole sequence: c8ylink sim --help)"}
  REST:      ${reachable}/event/events, /event/events/:id/binaries, /inventory/binaries for devices with Basic <tenant>/<user>:<password> (their MQTT login) or Bearer <the JWT of 71> (certificate devices); binaries in memory, at most ${(binaries?.maxFileBytes ?? 64 * MIB) / MIB} MiB each (c8ylink sim --help)
  operations as JSON (devicecontrol/notifications): ${tenant.state().config.jsonOperations ? "on" : "refused (--no-json-operations)"}
Ctrl-C to stop.`);
  await io.interrupted;
  await tenant.close();
  return 0;
};
