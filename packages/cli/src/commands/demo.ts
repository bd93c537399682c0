export const DEMO_HELP = "Usage: c8ylink demo";
export const demoCommand = (): number => 0;
