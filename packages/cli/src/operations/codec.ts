/**
 * The `"operations"` section of the `c8ylink run` config file (docs/operations.md): one handler
 * per operation fragment, either a command (`run`) or a list of steps (`download`, `run`,
 * `restart`). Decoded strictly with io-ts (an unknown key is refused with the nearest valid
 * one), then checked as a whole: placeholders must name fields the fragment has, a download's
 * file name must stay inside the work directory, a restart step needs a state directory.
 * Every problem names its key: `operations.c8y_Firmware.steps[2].run: ...`.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, intRange, refine, strictObject, type DecodeProblem } from "@c8ylink/core";
import { templateProblem } from "./fields.js";

const NonEmpty = refine(t.string, "NonEmptyString", (s) =>
  s.length === 0 ? "must not be empty" : undefined,
);

const Argv = refine(t.readonlyArray(t.string), "Argv", (argv) =>
  argv.length === 0
    ? 'must list the program and its arguments, e.g. ["/usr/bin/flash", "{url}"]'
    : argv[0] === ""
      ? "the program (first element) must not be empty"
      : undefined,
);

const Env = t.record(t.string, t.string);

export const PARAMETER_MODES = ["none", "stdout", "stdout-lines"] as const;
export const FAILURE_REASONS = ["stderr", "stdout", "exit-code"] as const;
const oneOf = <L extends string>(name: string, values: readonly L[]) =>
  new t.Type<L, L, unknown>(
    name,
    (u): u is L => values.includes(u as L),
    (u, c) =>
      values.includes(u as L)
        ? t.success(u as L)
        : t.failure(
            u,
            c,
            `must be one of ${values.map((v) => `"${v}"`).join(", ")} (got ${JSON.stringify(u)})`,
          ),
    t.identity,
  );

const Result = strictObject(
  "Result",
  {},
  {
    successExitCodes: refine(t.readonlyArray(intRange("exit code", 0, 255)), "ExitCodes", (codes) =>
      codes.length === 0 ? "must list at least one exit code" : undefined,
    ),
    parameters: oneOf("Parameters", PARAMETER_MODES),
    failureReason: oneOf("FailureReason", FAILURE_REASONS),
  },
);

const TIMEOUT = intRange("timeoutSeconds", 1, 7 * 24 * 3600);

/** What a `run` (handler or step) may say besides the command. */
const runProps = {
  env: Env,
  timeoutSeconds: TIMEOUT,
  shell: t.boolean,
  result: Result,
};

const RunStep = strictObject("RunStep", { run: Argv }, { ...runProps, idempotent: t.boolean });
const DownloadStep = strictObject(
  "DownloadStep",
  { download: NonEmpty, to: NonEmpty },
  { sha256: NonEmpty, timeoutSeconds: TIMEOUT },
);
const RestartStep = strictObject(
  "RestartStep",
  { restart: Argv },
  { timeoutSeconds: TIMEOUT, shell: t.boolean },
);

export type RunStepConfig = t.TypeOf<typeof RunStep>;
export type DownloadStepConfig = t.TypeOf<typeof DownloadStep>;
export type RestartStepConfig = t.TypeOf<typeof RestartStep>;
export type StepConfig =
  | ({ readonly kind: "run" } & RunStepConfig)
  | ({ readonly kind: "download" } & DownloadStepConfig)
  | ({ readonly kind: "restart" } & RestartStepConfig);

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

type RawStep = RunStepConfig | DownloadStepConfig | RestartStepConfig;
const VERBS = ["run", "download", "restart"] as const;

/**
 * A step is told apart by its verb (`run`, `download`, `restart`), then decoded strictly. The
 * decoded value is the input unchanged (an enclosing strict object keeps its input's values);
 * `kind` is added once the whole section is decoded.
 */
const Step = new t.Type<RawStep, RawStep, unknown>(
  "Step",
  (u): u is RawStep => isRecord(u),
  (u, c) => {
    const verbs = isRecord(u) ? VERBS.filter((k) => Object.hasOwn(u, k)) : [];
    if (verbs.length !== 1)
      return t.failure(
        u,
        c,
        verbs.length === 0
          ? 'a step is { "run": [...] }, { "download": "{url}", "to": "<file>" } or { "restart": [...] }'
          : `a step does one thing: it has ${verbs.map((v) => `"${v}"`).join(" and ")}`,
      );
    const codec = verbs[0] === "run" ? RunStep : verbs[0] === "download" ? DownloadStep : RestartStep;
    return (codec as t.Type<RawStep, RawStep, unknown>).validate(u, c);
  },
  t.identity,
);

const withKind = (step: RawStep): StepConfig =>
  "run" in step
    ? { kind: "run", ...step }
    : "download" in step
      ? { kind: "download", ...(step as DownloadStepConfig) }
      : { kind: "restart", ...(step as RestartStepConfig) };

/** What to tell the platform after a SUCCESSFUL operation: `firmware` sends `115,<name>,<version>,<url>`. */
const Report = oneOf("Report", ["firmware"] as const);

const RunHandler = strictObject("RunHandler", { run: Argv }, { ...runProps, report: Report });
const StepsHandler = strictObject(
  "StepsHandler",
  {
    steps: refine(t.readonlyArray(Step), "Steps", (s) =>
      s.length === 0 ? "must list at least one step" : undefined,
    ),
  },
  { report: Report },
);

export type HandlerConfig =
  | ({ readonly kind: "run" } & t.TypeOf<typeof RunHandler>)
  | ({ readonly kind: "steps" } & Omit<t.TypeOf<typeof StepsHandler>, "steps"> & {
        readonly steps: readonly StepConfig[];
      });

const Handler = new t.Type<HandlerConfig, HandlerConfig, unknown>(
  "Handler",
  (u): u is HandlerConfig => isRecord(u) && typeof u.kind === "string",
  (u, c) => {
    if (!isRecord(u) || Object.hasOwn(u, "run") === Object.hasOwn(u, "steps"))
      return t.failure(
        u,
        c,
        isRecord(u) && Object.hasOwn(u, "run")
          ? 'a handler has either "run" or "steps", not both'
          : 'expected a handler: { "run": ["/path/cmd", "{field}"] } or { "steps": [...] } (docs/operations.md)',
      );
    if (Object.hasOwn(u, "run")) {
      const decoded = RunHandler.validate(u, c);
      return E.isLeft(decoded) ? decoded : t.success({ kind: "run" as const, ...decoded.right });
    }
    const decoded = StepsHandler.validate(u, c);
    return E.isLeft(decoded)
      ? decoded
      : t.success({ kind: "steps" as const, ...decoded.right, steps: decoded.right.steps.map(withKind) });
  },
  t.identity,
);

/** The `operations` section: fragment → handler. */
export const OperationsCodec = t.record(t.string, Handler);
export type OperationsConfig = Readonly<Record<string, HandlerConfig>>;

/** `steps.2.run.0` (io-ts path) → `steps[2].run[0]` (how the docs and the user write it). */
const bracketed = (path: string): string => path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");

/** The checks io-ts cannot make alone: placeholders, file names, restart needs a state dir. */
const semanticProblems = (fragment: string, handler: HandlerConfig, stateDir: boolean): DecodeProblem[] => {
  const problems: DecodeProblem[] = [];
  const at = (path: string, message: string) => problems.push({ path: `${fragment}.${path}`, message });
  const checkArgv = (path: string, argv: readonly string[], shell: boolean | undefined) =>
    argv.forEach((arg, i) => {
      if (shell === true && i === 0 && /[{}]/.test(arg.replace(/\{\{|\}\}/g, ""))) {
        at(
          `${path}[0]`,
          'a shell script takes no placeholders (a field value would be read as shell code): pass fields as arguments after the script and use "$1", "$2", … or the environment',
        );
        return;
      }
      const problem = templateProblem(arg, fragment);
      if (problem !== undefined) at(`${path}[${i}]`, problem);
    });
  const checkEnv = (path: string, env: Readonly<Record<string, string>> | undefined) => {
    for (const [name, value] of Object.entries(env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        at(`${path}.${name}`, "is not a valid environment variable name");
      const problem = templateProblem(value, fragment);
      if (problem !== undefined) at(`${path}.${name}`, problem);
    }
  };
  if (handler.report === "firmware" && fragment !== "c8y_Firmware")
    at("report", `"firmware" reports the installed firmware: only for c8y_Firmware (this is ${fragment})`);
  if (handler.kind === "run") {
    checkArgv("run", handler.run, handler.shell);
    checkEnv("env", handler.env);
    return problems;
  }
  const files = new Set<string>();
  handler.steps.forEach((step, i) => {
    const path = `steps[${i}]`;
    switch (step.kind) {
      case "run":
        checkArgv(`${path}.run`, step.run, step.shell);
        checkEnv(`${path}.env`, step.env);
        return;
      case "restart":
        checkArgv(`${path}.restart`, step.restart, step.shell);
        if (!stateDir)
          at(
            `${path}.restart`,
            "a restart step needs --state-dir (or stateDir): without it the operation's progress cannot survive the reboot",
          );
        return;
      case "download": {
        for (const key of ["download", "sha256"] as const) {
          const value = step[key];
          const problem = value === undefined ? undefined : templateProblem(value, fragment);
          if (problem !== undefined) at(`${path}.${key}`, problem);
        }
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(step.to))
          at(
            `${path}.to`,
            `must be a plain file name in the operation's work directory (got ${JSON.stringify(step.to)})`,
          );
        else if (files.has(step.to))
          at(`${path}.to`, `"${step.to}" is already the file of an earlier download`);
        files.add(step.to);
        return;
      }
    }
  });
  return problems;
};

/**
 * Decodes the `operations` section; problems are named from the config file's root
 * (`operations.<fragment>.steps[i].<key>`).
 */
export const decodeOperations = (
  input: unknown,
  options: { readonly stateDir: boolean },
): E.Either<DecodeProblem[], OperationsConfig> => {
  const name = (problems: readonly DecodeProblem[]) =>
    problems.map((p) => ({ ...p, path: bracketed(p.path === "" ? "operations" : `operations.${p.path}`) }));
  const decoded = decode(OperationsCodec, input);
  if (E.isLeft(decoded)) return E.left(name(decoded.left));
  const problems: DecodeProblem[] = [];
  for (const [fragment, handler] of Object.entries(decoded.right)) {
    if (fragment.trim() === "" || /[,"\n]/.test(fragment))
      problems.push({ path: fragment, message: "is not an operation fragment name" });
    problems.push(...semanticProblems(fragment, handler, options.stateDir));
  }
  return problems.length > 0 ? E.left(name(problems)) : E.right(decoded.right);
};

/** Fragments whose handler restarts the device: the core must hand them out again after it. */
export const resumableFragments = (operations: OperationsConfig): string[] =>
  Object.entries(operations)
    .filter(([, h]) => h.kind === "steps" && h.steps.some((s) => s.kind === "restart"))
    .map(([fragment]) => fragment);

/** Whether a handler downloads files (then `run` needs the tenant's HTTP URL for the transfer). */
export const downloadsFiles = (operations: OperationsConfig): boolean =>
  Object.values(operations).some((h) => h.kind === "steps" && h.steps.some((s) => s.kind === "download"));
