/**
 * `c8ylink sim` — the simulated Cumulocity tenant alone, until interrupted.
 */
import { startSimulatedTenant, formatLogEntry } from "@c8ylink/sim";
import { flag, int, parse, str, UsageError } from "../args.js";
import type { Io } from "../io.js";

export const SIM_HELP = `Usage: c8ylink sim [options]

Runs a simulated Cumulocity tenant (the @c8ylink/platform model on an embedded MQTT
broker) with a JSON admin API, until Ctrl-C. Connect any MQTT device to it.

  --host HOST                 interface to bind (default 127.0.0.1)
  --mqtt-port PORT            MQTT over TCP (default 1883; 0 = any free port)
  --ws-port PORT              also MQTT over WebSocket on ws://HOST:PORT/mqtt (default off)
  --http-port PORT            admin API (default 8080; 0 = any free port)
  --tenant-id ID              tenant id in credentials (default t100)
  --bootstrap-password PW     password of management/devicebootstrap (default bootstrap-secret)
  --auto-accept               accept device registrations as soon as a device asks
  --quiet                     do not print the timeline
  -h, --help                  this help

Admin API (JSON): GET /devices, /devices/:id, /measurements?device=, /events?device=,
/alarms?device=, /operations?device=&status=, /operations/:id, /registrations, /errors,
/connections; POST /registrations {deviceId}, /registrations/:id/accept,
/registrations/:id/block, /operations {deviceId, fragments, description?};
DELETE /devices/:id.`;

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
  // Port numbers are usage errors (exit 2), checked before anything binds.
  const mqttPort = port(int(args, "mqtt-port"), 1883, "mqtt-port");
  const httpPort = port(int(args, "http-port"), 8080, "http-port");
  const wsListen = wsPort === undefined ? false : port(wsPort, 0, "ws-port");
  let tenant;
  try {
    tenant = await startSimulatedTenant({
      host: str(args, "host") ?? "127.0.0.1",
      mqttPort,
      wsPort: wsListen,
      httpPort,
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
  io.out(`simulated tenant ready
  MQTT:      ${tenant.mqttUrl}${tenant.wsUrl === undefined ? "" : `\n  WebSocket: ${tenant.wsUrl}`}
  admin API: ${tenant.adminUrl}
  bootstrap: management/devicebootstrap / ${bootstrapPassword ?? "bootstrap-secret"}; registrations ${flag(args, "auto-accept") ? "auto-accepted" : "need POST /registrations/:id/accept"}
Ctrl-C to stop.`);
  await io.interrupted;
  await tenant.close();
  return 0;
};
