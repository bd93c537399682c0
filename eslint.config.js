// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** The core and the platform model are pure reducers: no I/O, no clock, no ambient randomness. */
const impure =
  "packages/core and packages/platform are pure: time and randomness arrive in inputs/state, I/O belongs to interpreters";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/.c8ylink/**",
      "coverage/**",
      "reports/**",
      ".stryker-tmp*/**",
      "tmp/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JavaScript entry points run on Node.
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", URL: "readonly", console: "readonly" } },
  },
  {
    // The simulated tenant's web page: plain ES modules that run in the browser.
    files: ["packages/sim/web/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: {
        window: "readonly",
        document: "readonly",
        fetch: "readonly",
        EventSource: "readonly",
        ResizeObserver: "readonly",
        Node: "readonly",
        HTMLElement: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        console: "readonly",
      },
    },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["packages/core/src/**/*.ts", "packages/platform/src/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        { name: "Date", message: impure },
        { name: "performance", message: impure },
        { name: "setTimeout", message: impure },
        { name: "setInterval", message: impure },
        { name: "setImmediate", message: impure },
        { name: "clearTimeout", message: impure },
        { name: "clearInterval", message: impure },
        { name: "queueMicrotask", message: impure },
        { name: "process", message: impure },
        { name: "require", message: impure },
        { name: "fetch", message: impure },
        { name: "crypto", message: impure },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: impure },
        { object: "globalThis", message: impure },
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: impure },
            {
              group: [
                "mqtt",
                "mqtt/*",
                "fs",
                "fs/*",
                "net",
                "tls",
                "os",
                "path",
                "child_process",
                "crypto",
                "timers",
                "timers/*",
                "perf_hooks",
                "worker_threads",
                "http",
                "https",
                "dgram",
                "dns",
              ],
              message: impure,
            },
          ],
        },
      ],
    },
  },
);
