// Child process: Herald's Teams emulator from the bundle built by run.mjs, limits and auth
// off, on a free loopback port. Prints one line `READY <json>` and runs until killed.
const [bundle, users] = process.argv.slice(2);
const { startEmulator } = await import(bundle);
const emu = await startEmulator({
  port: 0,
  limits: false,
  auth: false,
  org: { users: Number(users), teams: 2, chats: 1, blockedShare: 0, uninstalledShare: 0 },
});
process.stdout.write(`READY ${JSON.stringify({ url: emu.url, serviceUrl: emu.connectorUrl })}\n`);
const stop = () => {
  emu.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
