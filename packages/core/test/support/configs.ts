/** The configuration most engine transition tests start from: device dev2, id-less operations. */
export const dev2Static = {
  deviceId: "dev2",
  auth: { mode: "password", tenant: "t7", user: "device_dev2", password: "pw" },
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  seed: 7,
  operations: "static",
};
