/**
 * `c8ylink sim` — the simulated Cumulocity tenant alone, until interrupted.
 */
import {
  adminTokenProblem,
  allowedHostProblem,
  formatLogEntry,
  isLoopbackHost,
  startSimulatedTenant,
} from "@c8ylink/sim";
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
  --quiet                     do not print the timeline
  -h, --help                  this help

Admin API (JSON): GET /devices, /devices/:id, /measurements?device=, /events?device=,
/alarms?device=, /operations?device=&status=, /operations/:id, /registrations, /errors,
/connections; POST /registrations {deviceId}, /registrations/:id/accept,
/registrations/:id/block, /operations {deviceId, fragments, description?};
DELETE /devices/:id.

The printed URL (http://HOST:PORT/?token=…) opens the tenant's web page: the device tree,
live measurement charts, operations, alarms, events and registrations.

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
    quiet: { type: "boolean" },
  });
  if (flag(args, "help")) {
    io.out(SIM_HELP);
    return 0;
  }
  const wsPort = int(args, "ws-port");
  const tenantId = str(args, "tenant-id");
  const bootstrapPassword = str(args, "bootstrap-password");
  const quiet = flag(args, "quiet");
  const host = str(args, "host") ?? "127.0.0.1";
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
      mqttPort: port(int(args, "mqtt-port"), 1883, "mqtt-port"),
      wsPort: wsPort === undefined ? false : port(wsPort, 0, "ws-port"),
      httpPort: port(int(args, "http-port"), 8080, "http-port"),
      ...(given === undefined ? {} : { adminToken: given.token }),
      ...(allowedHosts.length === 0 ? {} : { allowedHosts }),
      jsonOperations: !flag(args, "no-json-operations"),
      platform: {
        autoAccept: flag(args, "auto-accept"),
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
  // The banner is the one place the token is printed (the timeline never carries it).
  const reachable =
    host === "0.0.0.0" || host === "::"
      ? `http://127.0.0.1:${new URL(tenant.adminUrl).port}`
      : tenant.adminUrl;
  const token = tenant.adminToken;
  io.out(`simulated tenant ready
  MQTT:      ${tenant.mqttUrl}${tenant.wsUrl === undefined ? "" : `\n  WebSocket: ${tenant.wsUrl}`}
  admin API: ${tenant.adminUrl} (every request needs the access token; ${given === undefined ? "a random one for this run" : `from ${given.source}`})
  open:      ${reachable}/?token=${token}  (the web page: devices, live charts, operations)
  scripts:   curl -H "Authorization: Bearer ${token}" ${reachable}/devices
  bootstrap: management/devicebootstrap / ${bootstrapPassword ?? "bootstrap-secret"}; registrations ${flag(args, "auto-accept") ? "auto-accepted" : "need POST /registrations/:id/accept"}
  operations as JSON (devicecontrol/notifications): ${tenant.state().config.jsonOperations ? "on" : "refused (--no-json-operations)"}
Ctrl-C to stop.`);
  await io.interrupted;
  await tenant.close();
  return 0;
};
