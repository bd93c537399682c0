export const SIM_HELP = "Usage: c8ylink sim";
export const simCommand = (): number => 0;
