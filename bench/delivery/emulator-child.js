// Child process: Herald's Teams emulator (compiled, dist/) with the options given as JSON in
// argv[2]. Prints `READY <json>` (its URLs and app id) and runs until SIGTERM.
import { startEmulator } from "../../dist/emulator/index.js";

const options = JSON.parse(process.argv[2] ?? "{}");
const emu = await startEmulator({ port: 0, ...options });
process.stdout.write(
  `READY ${JSON.stringify({ url: emu.url, connectorUrl: emu.connectorUrl, tokenUrl: emu.tokenUrl, appId: emu.appId })}\n`,
);
const stop = () => {
  emu.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
